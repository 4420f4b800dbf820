"""``python -m grading release``: regenerate exercises/ from solutions/, deterministically.

nbgrader's ``generate_assignment`` does the work (solutions -> stubs, hidden tests removed,
locked cells marked read-only) into a scratch folder with a scratch gradebook, so the course's
gradebook is not touched. Its output is then normalised so that the committed release changes
only when the source does: each cell's ``id`` is its ``grade_id`` (or the source cell's id),
outputs and execution counts are empty, and nbformat writes keys in sorted order.
"""

import shutil
import tempfile
from pathlib import Path

import nbformat


class ReleaseError(RuntimeError):
    """generate_assignment failed; the message holds nbgrader's log."""


def release(course, log=print):
    """Regenerate ``<release>/<assignment>/`` for every assignment in the source folder."""
    assignments = course.assignments()
    if not assignments:
        raise ReleaseError(f"no assignments (folders with a notebook) in {course.source}")
    for assignment in assignments:
        generate_release(course, assignment, course.release / assignment)
        log(f"released {assignment} -> {(course.release / assignment).relative_to(course.root)}")
    for orphan in sorted(set(release_folders(course)) - set(assignments)):
        log(
            f"warning: {course.release.name}/{orphan} has no source in {course.source.name}/; "
            "delete it if the assignment was retired"
        )
    return assignments


def release_folders(course):
    if not course.release.is_dir():
        return []
    return [path.name for path in course.release.iterdir() if path.is_dir()]


def generate_release(course, assignment, destination):
    """Write the student version of ``assignment`` to ``destination`` (replacing it)."""
    destination = Path(destination)
    with tempfile.TemporaryDirectory(prefix="coursekit-release-") as scratch:
        scratch = Path(scratch)
        api = course.api(
            release_directory=str(scratch / "release"),
            db_url="sqlite:///" + str(scratch / "gradebook.db"),
        )
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise ReleaseError(
                f"nbgrader could not generate {assignment}:\n{result.get('log', '')}"
                f"\n{result.get('error', '')}"
            )
        generated = scratch / "release" / assignment
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(generated, destination)
    source_ids = {
        path.name: cell_ids(nbformat.read(path, as_version=4))
        for path in course.source_notebooks(assignment)
    }
    for path in sorted(destination.glob("*.ipynb")):
        normalise(path, source_ids.get(path.name, []))


def cell_ids(notebook):
    return [cell.get("id") for cell in notebook.cells]


def normalise(path, source_ids):
    """Rewrite a generated notebook so that its bytes depend only on the source notebook."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        source_id = source_ids[index] if index < len(source_ids) else None
        cell.id = grade_id or source_id or f"cell-{index}"
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(notebook)  # also rejects duplicate ids
    nbformat.write(notebook, path)
