"""The grader's defences on Assignment 0, graded with two jobs at once: memory caps, output
floods, and code that patches what the tests rely on; the honest reference is unaffected."""

import csv

import pytest
from nbgrader.api import Gradebook

from tests.grading import submissions as build
from tests.grading.harness import REPO, make_course, run_grading

pytestmark = pytest.mark.slow

ASSIGNMENT = "00-distances"
MANHATTAN_TESTS = ("test_manhattan", "test_manhattan_hidden")

CORRECT_MANHATTAN = """\
def manhattan(X, W):
    X, W = np.asarray(X, dtype=float), np.asarray(W, dtype=float)
    return np.abs(X[:, None, :] - W[None, :, :]).sum(axis=2)
"""

# 6 GiB of ones: fine on the machine, over the grader's 4 GiB cap.
MEMORY_HOG = CORRECT_MANHATTAN.replace("def manhattan(X, W):\n", (
    "def manhattan(X, W):\n    hoard = np.ones(6 * 2**30 // 8)\n"))
FLOOD = CORRECT_MANHATTAN.replace("def manhattan(X, W):\n", (
    "def manhattan(X, W):\n    for _ in range(2_000):\n        print('x' * 1_000)\n"))
FLOOD_THEN_WRONG = FLOOD.replace("return np.abs", "return 0 * np.abs")
# sys.exit in an answer cell: IPython turns it into an error in that cell, the kernel lives on.
SYS_EXIT = "import sys\nsys.exit('I give up')\n\n" + CORRECT_MANHATTAN
# An import that fails when the cell runs.
IMPORT_ERROR = "import a_module_that_does_not_exist\n\n" + CORRECT_MANHATTAN
# Wrong answers, and the assert helpers the tests use patched so that they cannot say so.
PATCHED_HELPERS = (
    "np.testing.assert_allclose = lambda *args, **kwargs: None\n"
    "np.allclose = lambda *args, **kwargs: True\n\n"
    + CORRECT_MANHATTAN.replace("return np.abs", "return 0 * np.abs")
)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("defences"))
    solutions = build.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    answers = {
        "reference": CORRECT_MANHATTAN,
        "memory_hog": MEMORY_HOG,
        "flooder": FLOOD,
        "flooder_wrong": FLOOD_THEN_WRONG,
        "patcher": PATCHED_HELPERS,
        "sys_exit": SYS_EXIT,
        "import_error": IMPORT_ERROR,
    }
    for student, manhattan in answers.items():
        build.submit(root, student, ASSIGNMENT,
                     build.with_cell_source(solutions, "manhattan", manhattan))
    result = run_grading(root, "grade", "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    with open(root / "grades.csv", newline="", encoding="utf-8") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    return root, rows, result.stdout


def test_parallel_grading_grades_every_submission_once_with_progress(course):
    _, rows, stdout = course
    assert sorted(rows) == ["flooder", "flooder_wrong", "import_error", "memory_hog", "patcher",
                            "reference", "sys_exit"]
    progress = [line for line in stdout.splitlines() if line.startswith("[")]
    assert sorted(line[:5] for line in progress) == [f"[{i}/7]" for i in range(1, 8)]


def test_reference_scores_every_autograded_point_and_is_not_flagged(course):
    _, rows, _ = course
    assert float(rows["reference"]["score"]) == 8.0
    assert "tampering" not in rows["reference"]["reason"]


def manhattan_scores(root, student):
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        return {test: gradebook.find_grade(test, ASSIGNMENT, ASSIGNMENT, student)
                .auto_score for test in MANHATTAN_TESTS}


def test_memory_hog_gets_a_memory_error_loses_those_points_and_the_rest_is_graded(course):
    root, rows, _ = course
    assert rows["memory_hog"]["status"] == "needs manual grading"  # only the written answer
    assert float(rows["memory_hog"]["score"]) == 8.0 - 2.0
    assert manhattan_scores(root, "memory_hog") == {test: 0.0 for test in MANHATTAN_TESTS}
    graded = build.read(root / "autograded" / "memory_hog" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    errors = [out for out in build.cell_by_id(graded, "test_manhattan").outputs
              if out.output_type == "error"]
    assert errors and errors[0].ename == "MemoryError"


def test_output_flood_is_truncated_while_it_runs_and_the_tests_still_count(course):
    root, rows, _ = course
    assert float(rows["flooder"]["score"]) == 8.0
    graded = build.read(root / "autograded" / "flooder" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    text = "".join(out.get("text", "") for out in build.cell_by_id(graded, "test_manhattan").outputs)
    assert len(text) < 200_000  # the cell printed 2 MB
    assert "output truncated by the grader" in text


def test_output_flood_cannot_hide_a_failing_test(course):
    root, rows, _ = course
    assert float(rows["flooder_wrong"]["score"]) == 8.0 - 2.0
    assert manhattan_scores(root, "flooder_wrong") == {test: 0.0 for test in MANHATTAN_TESTS}


def test_patched_assert_helpers_fool_the_kernel_but_earn_no_points(course):
    root, rows, _ = course
    # inside the kernel the patch worked: the wrong answer passed the Manhattan tests ...
    assert manhattan_scores(root, "patcher") == {"test_manhattan": 1.0, "test_manhattan_hidden": 1.0}
    # ... but the grader read the code, withheld every autograded point and says why
    row = rows["patcher"]
    assert float(row["score"]) == 0.0
    assert row["status"] == "needs manual grading"
    assert "suspected tampering" in row["reason"] and "np.testing.assert_allclose" in row["reason"]


def test_exception_at_import_costs_only_the_tests_that_need_the_cell(course):
    root, rows, _ = course
    assert float(rows["import_error"]["score"]) == 8.0 - 2.0
    assert manhattan_scores(root, "import_error") == {test: 0.0 for test in MANHATTAN_TESTS}


def test_sys_exit_is_graded_not_fatal_and_earns_nothing_for_its_cell(course):
    root, rows, _ = course
    row = rows["sys_exit"]
    assert row["status"] == "needs manual grading"  # the written answer, and the finding
    assert manhattan_scores(root, "sys_exit") == {test: 0.0 for test in MANHATTAN_TESTS}
