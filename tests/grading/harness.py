"""What every grading test needs: a scratch course folder and the grading command."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Short enough that the interrupt-swallowing submission costs seconds, long enough for the
# slowest honest cell (importing SciPy on a busy 2-core machine) with a wide margin.
TEST_CELL_TIMEOUT = 8


def grading_environment(cell_timeout=TEST_CELL_TIMEOUT):
    """The environment `make grade` has: the venv first on PATH (nbgrader runs `alembic` and the
    kernel runs `python` from PATH), the test's short cell limit, and no outside gradebook."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env["COURSEKIT_CELL_TIMEOUT"] = str(cell_timeout)
    env.pop("COURSEKIT_GRADEBOOK_URL", None)  # never touch a developer's real gradebook
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def make_course(folder, *, with_release=True):
    """A course folder like the repository's: config, solutions/ and (optionally) exercises/."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", folder)
    shutil.copytree(REPO / "solutions", folder / "solutions")
    if with_release:
        shutil.copytree(REPO / "exercises", folder / "exercises")
    return folder


def run_grading(course_root, *args, timeout=600, cell_timeout=TEST_CELL_TIMEOUT):
    """Run `python -m grading <args>` on a course folder, as the Makefile does."""
    return subprocess.run(
        [sys.executable, "-m", "grading", "--course-dir", str(course_root), *args],
        cwd=REPO,
        env=grading_environment(cell_timeout),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,  # callers assert on the return code with the output in the message
    )
