"""``python -m grading feedback``: feedback HTML for every autograded submission.

What the HTML may show is decided in nbgrader_config.py (GenerateFeedback.preprocessors): the
hidden tests and their tracebacks are removed (see grading.preprocessors).

Hidden tests run in the student's kernel, and IPython keeps the source of every cell it ran
(``In``, ``_ih``, ``_i3``, ``linecache``): a later student cell, or a student function that a
hidden test calls, can print a hidden test. ``remove_leaked_hidden_tests`` removes every output
that quotes a line of a hidden test; the grader runs it on the autograded notebook (and reports
a tampering finding), and the feedback step runs it again (RemoveLeakedHiddenTests).
It cannot recognise a quote the student encoded (reversed, base64...): the grader's tampering
scan flags the history names and ``linecache`` in the code instead.
"""

import json

from nbformat.v4 import new_output
from nbgrader.api import Gradebook, MissingEntry

HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
MIN_QUOTED_CHARS = 10  # a hidden line this long found in an output is a quote, not a chance
LEAK_NOTE = "(output removed by the grader: it quoted a hidden test)"


def feedback(course, log=print):
    """Generate ``feedback/<student>/<assignment>/*.html`` for every autograded submission.

    Returns ``(done, failed)``: the (student, assignment) pairs that got feedback and those whose
    feedback could not be generated. Submissions whose autograding failed have no autograded
    notebook, and so no feedback.
    """
    api = course.api()
    done, failed = [], []
    submissions = course.autograded_submissions()
    if not submissions:
        log(f"no autograded submissions in {course.autograded} (run grade first)")
    for student, assignment in submissions:
        with Gradebook(course.db_url) as gradebook:
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:
                log(f"{student} / {assignment}: skipped, not in the gradebook (run grade first)")
                continue
            pending = submission.needs_manual_grade
        result = api.generate_feedback(assignment, student, force=True)
        if not result["success"]:
            log(f"{student} / {assignment}: feedback failed\n{result.get('log', '')}")
            failed.append((student, assignment))
            continue
        note = " (written answers not graded yet)" if pending else ""
        log(f"{student} / {assignment}: feedback written{note}")
        done.append((student, assignment))
    return done, failed


def hidden_test_lines(notebook):
    """The lines of the notebook's hidden tests long enough to recognise in an output, except
    lines the visible code holds too (a visible test's traceback may quote those)."""
    hidden, visible = set(), set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        inside = False
        for line in cell.source.splitlines():
            if HIDDEN_BEGIN in line:
                inside = True
            elif HIDDEN_END in line:
                inside = False
            elif len(line.strip()) >= MIN_QUOTED_CHARS:
                (hidden if inside else visible).add(line.strip())
    lines = set()
    for line in hidden - visible:
        # as printed, and as it stands inside a printed str or JSON (print(In))
        lines.update({line, repr(line)[1:-1], json.dumps(line)[1:-1]})
    return lines


def remove_leaked_hidden_tests(notebook):
    """Replace, in place, every output of ``notebook`` that quotes a hidden test by a note.

    Returns the cells (grade_id, or ``cell <index>``) whose outputs were changed. A hidden-test
    cell's own traceback quotes its code as nbgrader runs it: it is left to
    HideHiddenTestTracebacks; its printed output and error message are checked like any other.
    """
    hidden = hidden_test_lines(notebook)
    changed = []
    if not hidden:
        return changed
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        own_hidden = HIDDEN_BEGIN in cell.source
        outputs = []
        for output in cell.get("outputs", []):
            if quotes(output_text(output, with_traceback=not own_hidden), hidden):
                if output.get("output_type") == "error":  # keep the failure, lose the text
                    output["evalue"] = LEAK_NOTE
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {LEAK_NOTE}"]
                else:
                    output = new_output("stream", name="stdout", text=LEAK_NOTE + "\n")
                label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
                if label not in changed:
                    changed.append(label)
            outputs.append(output)
        cell["outputs"] = outputs
    return changed


def output_text(output, *, with_traceback=True):
    """Everything an output shows, as one string."""
    kind = output.get("output_type")
    if kind == "stream":
        return "".join(output.get("text", ""))
    if kind == "error":
        parts = [output.get("ename", ""), output.get("evalue", "")]
        if with_traceback:
            parts += output.get("traceback", [])
        return "\n".join(parts)
    values = output.get("data", {}).values()
    return "\n".join("".join(v) if isinstance(v, list) else str(v) for v in values)


def quotes(text, hidden_lines):
    return any(line in text for line in hidden_lines)
