"""The full grading cycle on Assignment 0: honest, untouched, tampered and hostile submissions.

One `grade` call autogrades all of them (each autograde starts a kernel, ~5-10 s), a second call
checks re-grading, and one `feedback` call renders the HTML.
"""

import builtins
import csv
import io
import keyword
import re
import tokenize

import pytest
from nbgrader.api import Gradebook, MissingEntry

from tests.grading import submissions as build
from tests.grading.harness import REPO, TEST_CELL_TIMEOUT, make_course, run_grading

pytestmark = pytest.mark.slow

ASSIGNMENT = "00-distances"
WRITTEN_ANSWER = "written_quantization_k"
MAX_SCORE = 10.0
MANHATTAN_POINTS = 2.0  # test_manhattan (1) + test_manhattan_hidden (1)


def source_notebook():
    return build.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


def release_notebook():
    return build.read(REPO / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


def autograded_points(notebook):
    """Points of the code test cells: what the autograder can award without a human."""
    return sum(
        cell.metadata["nbgrader"]["points"] for cell in notebook.cells if build.is_test(cell)
    )


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        return reader.fieldnames, {row["student"]: row for row in reader}


def gradebook_url(root):
    return f"sqlite:///{root / 'gradebook.db'}"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course with one submission per behaviour under test, graded in one `grade` call."""
    root = make_course(tmp_path_factory.mktemp("course"))
    solutions, release = source_notebook(), release_notebook()
    students = {
        "reference": solutions,
        "untouched": release,
        "tampered": build.with_cell_source(release, "test_manhattan", "assert True"),
        "kernel_killer": build.with_cell_source(release, "manhattan", build.KERNEL_KILLER),
        "endless_loop": build.with_cell_source(release, "manhattan", build.INTERRUPT_SWALLOWER),
        # Manhattan solved, every test cell deleted: the restored tests must run and score.
        "tests_deleted": build.without_test_cells(
            build.with_solution_from(release, solutions, "manhattan")
        ),
        "made_up_test": build.with_made_up_test(release),
        "resubmitter": solutions,  # graded now, replaced by a kernel killer later
    }
    for student, notebook in students.items():
        build.submit(root, student, ASSIGNMENT, notebook)
    result = run_grading(root, "grade")
    return root, result


@pytest.fixture(scope="module")
def grades(course):
    root, result = course
    assert result.returncode == 0, result.stdout + result.stderr
    return read_csv(root / "grades.csv")[1]


@pytest.fixture(scope="module")
def regraded(course, grades):
    """After the first run: the instructor grades one written answer by hand, the resubmitter
    replaces a good notebook by a kernel killer, and `grade` runs again (CSV to --output)."""
    root, _ = course
    with Gradebook(gradebook_url(root)) as gradebook:
        answer = gradebook.find_grade(WRITTEN_ANSWER, ASSIGNMENT, ASSIGNMENT, "reference")
        answer.manual_score = 2.0
        answer.needs_manual_grade = False
        gradebook.db.commit()
    build.submit(
        root,
        "resubmitter",
        ASSIGNMENT,
        build.with_cell_source(release_notebook(), "manhattan", build.KERNEL_KILLER),
    )
    output = root / "exports" / "second.csv"
    result = run_grading(root, "grade", "--output", str(output))
    assert result.returncode == 0, result.stdout + result.stderr
    return read_csv(output)[1], result.stdout


@pytest.fixture(scope="module")
def feedback(course, grades):
    root, _ = course
    result = run_grading(root, "feedback")
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "feedback"


# --- the CSV -------------------------------------------------------------------------------


def test_csv_has_the_documented_columns_and_one_row_per_submission(course, grades):
    root, _ = course
    columns, rows = read_csv(root / "grades.csv")
    assert columns == ["student", "assignment", "score", "max_score", "status", "reason"]
    assert len(rows) == 8 and {row["assignment"] for row in rows.values()} == {ASSIGNMENT}


def test_grade_prints_one_progress_line_per_submission(course, grades):
    _, result = course
    progress = [line for line in result.stdout.splitlines() if re.match(r"\[\d+/8\] ", line)]
    assert len(progress) == 8


# --- honest and tampered submissions ----------------------------------------------------------


def test_reference_solution_scores_every_autograded_point(grades):
    row = grades["reference"]
    assert float(row["score"]) == autograded_points(source_notebook()) == 8.0
    assert float(row["max_score"]) == MAX_SCORE
    assert row["status"] == "needs manual grading"  # the written answer waits for a human
    assert WRITTEN_ANSWER in row["reason"]


def test_untouched_release_scores_zero_and_is_recorded(grades):
    row = grades["untouched"]
    assert (float(row["score"]), float(row["max_score"]), row["status"]) == (
        0.0,
        MAX_SCORE,
        "graded",
    )


def test_edited_locked_test_is_restored_and_scores_like_untouched(course, grades):
    root, _ = course
    assert (grades["tampered"]["score"], grades["tampered"]["status"]) == (
        grades["untouched"]["score"],
        grades["untouched"]["status"],
    )
    graded = build.read(root / "autograded" / "tampered" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    restored = build.cell_by_id(graded, "test_manhattan").source
    assert restored == build.cell_by_id(release_notebook(), "test_manhattan").source


# --- hostile submissions ------------------------------------------------------------------------


def test_kernel_killer_is_failed_with_the_reason_not_zero(grades):
    row = grades["kernel_killer"]
    assert row["status"] == "failed" and row["score"] == ""
    assert "kernel died" in row["reason"]


def test_interrupt_swallowing_loop_is_stopped_by_the_cell_time_limit(grades):
    row = grades["endless_loop"]
    assert row["status"] == "failed" and row["score"] == ""
    assert f"time limit of {TEST_CELL_TIMEOUT} s" in row["reason"]


def test_deleted_tests_are_restored_and_run_instead_of_scoring_free(grades):
    row = grades["tests_deleted"]
    # Without add_missing_cells the deleted cells would be skipped; restored, they run: the
    # solved Manhattan task scores, the unsolved ones score nothing.
    assert float(row["score"]) == MANHATTAN_POINTS
    assert "restored" in row["reason"] and "test_minkowski_hidden" in row["reason"]


def test_made_up_test_cell_is_ignored_not_paid_and_not_fatal(grades):
    row = grades["made_up_test"]
    assert (float(row["score"]), float(row["max_score"]), row["status"]) == (
        0.0,
        MAX_SCORE,
        "graded",
    )


def test_hostile_submissions_leave_no_partial_grades_in_the_gradebook(course, grades):
    root, _ = course
    with Gradebook(gradebook_url(root)) as gradebook:
        for student in ("kernel_killer", "endless_loop"):
            with pytest.raises(MissingEntry):
                gradebook.find_submission(ASSIGNMENT, student)


# --- re-grading -----------------------------------------------------------------------------


def test_failed_regrade_replaces_the_earlier_score(course, grades, regraded):
    assert float(grades["resubmitter"]["score"]) == 8.0
    row = regraded[0]["resubmitter"]
    assert row["status"] == "failed" and row["score"] == "" and "kernel died" in row["reason"]
    root, _ = course
    with Gradebook(gradebook_url(root)) as gradebook, pytest.raises(MissingEntry):
        gradebook.find_submission(ASSIGNMENT, "resubmitter")  # the old 8 points are gone too
    assert not (root / "autograded" / "resubmitter" / ASSIGNMENT).exists()


def test_unchanged_submissions_keep_their_manual_grades_on_regrade(regraded):
    rows, stdout = regraded
    assert (float(rows["reference"]["score"]), rows["reference"]["status"]) == (MAX_SCORE, "graded")
    assert rows["untouched"]["score"] == "0"
    # only the changed submission was autograded again: the others took no kernel start
    times = dict(re.findall(r"\] (\w+) / .* in ([\d.]+) s", stdout))
    assert all(float(t) < 2.0 for student, t in times.items() if student != "resubmitter")


# --- feedback ---------------------------------------------------------------------------------


def hidden_only_names(notebook):
    """Python names that appear in hidden test regions and nowhere else in the notebook.

    Builtins and short names (`range`, `copy`) are left out: the HTML page's own scripts use them.
    """

    def names(code):
        tokens = tokenize.generate_tokens(io.StringIO(code).readline)
        return {token.string for token in tokens if token.type == tokenize.NAME}

    hidden, visible = set(), set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        inside, secret_lines, shown_lines = False, [], []
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            else:
                (secret_lines if inside else shown_lines).append(line)
        hidden |= names("\n".join(secret_lines) + "\n")
        visible |= names("\n".join(shown_lines) + "\n")
    return {
        name
        for name in hidden - visible
        if len(name) >= 5 and not keyword.iskeyword(name) and not hasattr(builtins, name)
    }


def test_feedback_is_written_for_graded_submissions_only(feedback):
    for student in ("reference", "untouched", "tampered", "tests_deleted"):
        assert (feedback / student / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file(), student
    assert not (feedback / "kernel_killer").exists()


def test_feedback_never_shows_hidden_test_code(feedback):
    secret = hidden_only_names(source_notebook())
    assert len(secret) > 10  # the check below must have something to look for
    for student in ("reference", "untouched", "tests_deleted"):
        html = (feedback / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        shown = {name for name in secret if re.search(rf"\b{re.escape(name)}\b", html)}
        assert not shown, f"{student}'s feedback shows hidden test code: {sorted(shown)}"


def test_failed_hidden_tests_are_reported_without_their_traceback(feedback):
    html = (feedback / "untouched" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert html.count("A hidden test failed") == 3  # one per hidden test cell


# --- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["release", "grade", "feedback"])
def test_each_command_documents_itself(command):
    result = run_grading(REPO, command, "--help")
    assert result.returncode == 0
    assert f"make {'exercises' if command == 'release' else command}" in result.stdout


def test_grade_help_names_the_csv_columns():
    result = run_grading(REPO, "grade", "--help")
    assert "student, assignment, score, max_score, status, reason" in result.stdout
