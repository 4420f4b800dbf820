"""The course folder as nbgrader sees it: config, folders, assignments and submissions."""

import copy
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"


@dataclass
class Course:
    """A course folder: the folder holding ``nbgrader_config.py`` and the loaded config."""

    root: Path
    config: object  # traitlets.config.Config

    @classmethod
    def load(cls, folder="."):
        """Load ``<folder>/nbgrader_config.py``; raise ``FileNotFoundError`` if it is missing."""
        folder = Path(folder).resolve()
        if not (folder / CONFIG_FILE).is_file():
            raise FileNotFoundError(
                f"{folder} has no {CONFIG_FILE}: run from the repository root or pass --course-dir"
            )
        config = PyFileConfigLoader(CONFIG_FILE, path=str(folder)).load_config()
        root = Path(config.CourseDirectory.get("root", str(folder))).resolve()
        return cls(root=root, config=config)

    def setting(self, section, name, default):
        """One config value, e.g. ``course.setting("CourseDirectory", "db_url", None)``."""
        return self.config[section].get(name, default) if section in self.config else default

    def folder(self, name, default):
        """A CourseDirectory folder (``source_directory``, ``submitted_directory``...) as a Path."""
        return self.root / self.setting("CourseDirectory", name, default)

    @property
    def source(self):
        return self.folder("source_directory", "source")

    @property
    def release(self):
        return self.folder("release_directory", "release")

    @property
    def submitted(self):
        return self.folder("submitted_directory", "submitted")

    @property
    def autograded(self):
        return self.folder("autograded_directory", "autograded")

    @property
    def feedback(self):
        return self.folder("feedback_directory", "feedback")

    @property
    def db_url(self):
        return self.setting(
            "CourseDirectory", "db_url", "sqlite:///" + str(self.root / "gradebook.db")
        )

    def assignments(self):
        """Assignment ids: the folders of the source directory that hold a notebook."""
        if not self.source.is_dir():
            return []
        return sorted(
            path.name
            for path in self.source.iterdir()
            if path.is_dir() and not path.name.startswith(".") and any(path.glob("*.ipynb"))
        )

    def source_notebooks(self, assignment):
        return sorted((self.source / assignment).glob("*.ipynb"))

    def submissions(self):
        """(student, assignment) pairs found as ``submitted/<student>/<assignment>/`` folders."""
        return student_assignments(self.submitted)

    def autograded_submissions(self):
        """(student, assignment) pairs whose autograded notebook is in ``autograded/``."""
        return student_assignments(self.autograded, with_notebook=True)

    def api(self, **overrides):
        """An ``NbGraderAPI`` on this course; ``overrides`` replace CourseDirectory settings."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = copy.deepcopy(self.config)
        for name, value in overrides.items():
            config.CourseDirectory[name] = value
        return NbGraderAPI(CourseDirectory(config=config), config=config)


def use_this_python():
    """Put this interpreter's folder first on PATH.

    nbgrader runs ``alembic`` from PATH to create the gradebook, and the ``python3`` kernel spec
    starts ``python`` from PATH: both must be the course's virtual environment, not the system's.
    """
    bin_dir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "").split(os.pathsep)
    if not path or path[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *path])


def student_assignments(folder, *, with_notebook=False):
    """(student, assignment) pairs laid out as ``folder/<student>/<assignment>/``."""
    if not folder.is_dir():
        return []
    return sorted(
        (student.name, assignment.name)
        for student in folder.iterdir()
        if student.is_dir() and not student.name.startswith(".")
        for assignment in student.iterdir()
        if assignment.is_dir()
        and not assignment.name.startswith(".")
        and (not with_notebook or any(assignment.glob("*.ipynb")))
    )
