"""Builders for submitted notebooks: honest, tampered and hostile students.

Each builder starts from the committed source or release notebook, so the submissions follow
the assignment as it is now instead of going stale as committed fixture files would.
"""

import copy
from pathlib import Path

import nbformat

# A cell that kills its own kernel: nbclient sees a dead kernel, nbgrader gives up.
KERNEL_KILLER = "import os\nos._exit(0)"

# A loop that survives the kernel interrupt: only the per-cell time limit stops it.
INTERRUPT_SWALLOWER = """\
import time
while True:
    try:
        time.sleep(0.1)
    except KeyboardInterrupt:
        pass
"""


def read(path):
    return nbformat.read(Path(path), as_version=4)


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_test(cell):
    """A graded code cell: the visible and hidden tests."""
    nbgrader = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and nbgrader.get("grade") and not nbgrader.get("solution")


def cell_by_id(notebook, cell_grade_id):
    matches = [cell for cell in notebook.cells if grade_id(cell) == cell_grade_id]
    assert len(matches) == 1, f"expected one cell {cell_grade_id!r}, found {len(matches)}"
    return matches[0]


def with_cell_source(notebook, cell_grade_id, source):
    """A copy of `notebook` whose cell `cell_grade_id` holds `source`."""
    notebook = copy.deepcopy(notebook)
    cell_by_id(notebook, cell_grade_id).source = source
    return notebook


def with_solution_from(notebook, solutions, cell_grade_id):
    """A copy of `notebook` with one answer cell taken from the solutions notebook."""
    return with_cell_source(notebook, cell_grade_id, cell_by_id(solutions, cell_grade_id).source)


def without_test_cells(notebook):
    """A copy of `notebook` with every test cell deleted (the student hopes they score free)."""
    notebook = copy.deepcopy(notebook)
    notebook.cells = [cell for cell in notebook.cells if not is_test(cell)]
    return notebook


def with_made_up_test(notebook, points=5):
    """A copy of `notebook` with a test cell of the student's own making, worth `points`."""
    notebook = copy.deepcopy(notebook)
    cell = nbformat.v4.new_code_cell("assert True  # free points?")
    cell.id = "made-up-test"
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "made_up_test",
        "locked": True,
        "points": points,
        "schema_version": 3,
        "solution": False,
    }
    notebook.cells.append(cell)
    return notebook


def submit(course_root, student, assignment, notebook):
    """Write `notebook` as submitted/<student>/<assignment>/<assignment>.ipynb."""
    folder = Path(course_root) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    nbformat.write(notebook, path)
    return path
