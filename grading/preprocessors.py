"""The nbgrader preprocessors that nbgrader_config.py plugs into autograding and feedback.

nbgrader imports this module (through nbgrader_config.py) on every run, so it imports only what
nbgrader has already loaded.
"""

from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Integer

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


class RemoveLeakedHiddenTests(NbGraderPreprocessor):
    """Replace every output that quotes a hidden test by a note (grading.feedback explains how
    a submission can print one). Run it before ClearHiddenTests, which removes the hidden code
    this looks for."""

    def preprocess(self, nb, resources):
        from grading.feedback import remove_leaked_hidden_tests

        remove_leaked_hidden_tests(nb)
        return nb, resources


class BoundedExecute(Execute):
    """nbgrader's Execute, keeping at most ``max_output_chars`` characters of output per cell.

    The outputs of a cell are held in the grader's memory while the cell runs, so a student loop
    that prints without end would grow the grading process until the machine runs out of memory,
    long before the cell's time limit stops it. Past the limit, further printed and displayed
    output of that cell is dropped and one line says so. Errors are always kept: nbgrader decides
    whether a test passed by looking for them. (nbgrader's LimitOutput trims lines afterwards,
    too late to save the memory.)
    """

    max_output_chars = Integer(
        100_000, help="characters of output kept per cell while it runs (-1: no limit)"
    ).tag(config=True)

    def output(self, outs, msg, display_id, cell_index):
        kept = self._kept_chars.get(cell_index, 0)
        if kept == TRUNCATED_ALREADY and msg["msg_type"] in DROPPABLE:
            return None
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or out.output_type not in DROPPABLE or self.max_output_chars < 0:
            return out
        room = self.max_output_chars - kept
        if output_size(out) <= room:
            self._kept_chars[cell_index] = kept + output_size(out)
            return out
        # the kernel batches printed text, so one message can hold megabytes: keep what fits
        if out.output_type == "stream":
            out["text"] = out["text"][:max(room, 0)]
        else:
            outs.remove(out)
        outs.append(new_output("stream", name="stdout",  # stderr would fail the test
                               text=TRUNCATED.format(limit=self.max_output_chars)))
        self._kept_chars[cell_index] = TRUNCATED_ALREADY
        return out

    def preprocess(self, nb, resources=None, km=None):
        self._kept_chars = {}  # cell index -> characters of output kept so far
        # The kernel runs in the sandbox the grader prepared (grading.sandbox); without one,
        # and without --unsafe-no-sandbox, this raises instead of running the notebook.
        from grading.sandbox import SandboxedKernelManager, sandbox_from_environment

        if km is None and sandbox_from_environment() is not None:
            self.kernel_manager_class = SandboxedKernelManager
            self.on_notebook_start = self.lock_kernel_runtime
        return super().preprocess(nb, resources, km)

    def lock_kernel_runtime(self, **kwargs):
        """nbclient's hook once the kernel is ready, before any cell runs (see
        SandboxedKernelManager.lock_runtime)."""
        self.km.lock_runtime()


TRUNCATED = "\n... output truncated by the grader after {limit} characters ...\n"
TRUNCATED_ALREADY = float("inf")
DROPPABLE = ("stream", "display_data", "execute_result")


def output_size(out):
    """Characters an output holds: its text, or the size of its data."""
    if "text" in out:
        return len(out["text"])
    return sum(len(str(value)) for value in out.get("data", {}).values())
