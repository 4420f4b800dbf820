"""Every assignment through the grader: the reference solution earns every autograded point,
the untouched release earns none and is still recorded, and neither is flagged for tampering.
All submissions are graded in one `grade --jobs 2` run."""

import csv

import pytest

from tests.grading import submissions as build
from tests.grading.harness import REPO, make_course, run_grading

pytestmark = pytest.mark.slow

ASSIGNMENTS = sorted(p.parent.name for p in (REPO / "solutions").glob("*/*.ipynb"))


def notebook(folder, assignment):
    return build.read(REPO / folder / assignment / f"{assignment}.ipynb")


def autograded_points(source):
    return sum(c.metadata["nbgrader"]["points"] for c in source.cells if build.is_test(c))


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("every-assignment"))
    for assignment in ASSIGNMENTS:
        build.submit(root, "reference", assignment, notebook("solutions", assignment))
        build.submit(root, "untouched", assignment, notebook("exercises", assignment))
    # The course's own cell limit, not the harness's short one: two kernels share two cores
    # here, and a torch cell of Assignment 3 or 4 can then take longer than 8 s.
    result = run_grading(root, "grade", "--jobs", "2", timeout=1800, cell_timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(root / "grades.csv", newline="", encoding="utf-8") as file:
        return {(row["student"], row["assignment"]): row for row in csv.DictReader(file)}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_earns_every_autograded_point(rows, assignment):
    row = rows["reference", assignment]
    assert row["status"] != "failed", row["reason"]
    assert float(row["score"]) == autograded_points(notebook("solutions", assignment)), row
    assert "tampering" not in row["reason"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_earns_nothing_and_is_recorded(rows, assignment):
    row = rows["untouched", assignment]
    assert row["status"] in ("graded", "needs manual grading"), row["reason"]
    assert float(row["score"]) == 0.0
    assert "tampering" not in row["reason"]
