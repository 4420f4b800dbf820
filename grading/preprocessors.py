"""Two nbgrader preprocessors that nbgrader_config.py plugs into autograding and feedback.

nbgrader imports this module (through nbgrader_config.py) on every run, so it imports only what
nbgrader has already loaded.
"""

from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells

HIDDEN_TESTS_BEGIN = "BEGIN HIDDEN TESTS"


class OverwriteKnownCells(OverwriteCells):
    """nbgrader's OverwriteCells, except that a cell the gradebook does not know becomes an
    ordinary, ungraded cell.

    Such a cell is a test the source no longer has (the student worked on an older release) or
    grading metadata a student made up. nbgrader 0.9.6 deletes only its ``grade_id`` and leaves it
    marked as graded; with ``add_missing_cells`` the next step then fails on ``KeyError:
    'grade_id'`` and the whole submission goes ungraded.
    """

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        nbgrader = cell.metadata.get("nbgrader")
        if nbgrader is not None and "grade_id" not in nbgrader:
            del cell.metadata["nbgrader"]
        return cell, resources


class HideHiddenTestTracebacks(NbGraderPreprocessor):
    """Cut error tracebacks of hidden-test cells to ``ExceptionName: message``.

    nbgrader's ClearHiddenTests removes the hidden code from a cell's source but not from its
    outputs, and a traceback quotes the failing line of the hidden test. Run this before
    ClearHiddenTests (which removes the marker this looks for).
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_TESTS_BEGIN in cell.source:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [
                        f"{output.get('ename', 'Error')}: {output.get('evalue', '')}",
                        "(A hidden test failed; its code and traceback are not shown.)",
                    ]
        return cell, resources
