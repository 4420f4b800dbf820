"""Every assignment's source is well formed, and exercises/ is its up-to-date release."""

import re
from pathlib import Path

import nbformat
import pytest
from nbgrader.validator import Validator

from tests.grading.harness import REPO, make_course, run_grading

pytestmark = pytest.mark.slow

ASSIGNMENTS = sorted(p.parent.name for p in (REPO / "solutions").glob("*/*.ipynb"))
NBGRADER_KEYS = {"grade", "solution", "locked", "schema_version", "grade_id"}


def source_path(assignment):
    return REPO / "solutions" / assignment / f"{assignment}.ipynb"


def release_path(root, assignment):
    return Path(root) / "exercises" / assignment / f"{assignment}.ipynb"


def nbgrader_cells(notebook):
    return [cell for cell in notebook.cells if "nbgrader" in cell.metadata]


def split_regions(source):
    """(secret, public): stripped non-blank lines inside / outside BEGIN-END SOLUTION and
    BEGIN-END HIDDEN TESTS regions."""
    secret, public, inside = set(), set(), False
    for line in source.splitlines():
        if "### BEGIN" in line:
            inside = True
        elif "### END" in line:
            inside = False
        elif line.strip():
            (secret if inside else public).add(line.strip())
    return secret, public


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    """`python -m grading release` run on a copy of solutions/ with no exercises/ at all."""
    root = make_course(tmp_path_factory.mktemp("release"), with_release=False)
    result = run_grading(root, "release")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_there_is_at_least_one_assignment():
    assert "00-distances" in ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_cells_carry_exactly_the_nbgrader_metadata(assignment):
    notebook = nbformat.read(source_path(assignment), as_version=4)
    grade_ids = []
    for cell in nbgrader_cells(notebook):
        meta = cell.metadata["nbgrader"]
        expected = NBGRADER_KEYS | ({"points"} if meta["grade"] else set())
        assert set(meta) == expected, f"{meta.get('grade_id')}: keys {sorted(meta)}"
        assert meta["schema_version"] == 3
        assert re.fullmatch(r"[a-zA-Z0-9_-]+", meta["grade_id"])
        assert cell.id == meta["grade_id"], "cell id must be the grade_id (stable release)"
        grade_ids.append(meta["grade_id"])
    assert len(grade_ids) == len(set(grade_ids)), "grade_ids must be unique"


# The total each assignment announces to students; a new assignment adds its line here.
ANNOUNCED_POINTS = {"00-distances": 10, "01-competitive": 20, "02-som": 25, "03-autoencoders": 20,
                    "04-vae": 25, "05-gans-distillation": 25, "06-rbm": 20}


def test_every_assignment_announces_its_total():
    assert sorted(ANNOUNCED_POINTS) == ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_points_add_up_to_the_announced_total(assignment):
    notebook = nbformat.read(source_path(assignment), as_version=4)
    points = [c.metadata["nbgrader"].get("points", 0) for c in nbgrader_cells(notebook)]
    assert sum(points) == ANNOUNCED_POINTS[assignment]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_validates_with_its_own_solutions(assignment):
    # Validator runs the notebook: every test cell must pass on the reference solution.
    # (`nbgrader validate` on the command line exits 0 even when this fails.)
    assert Validator().validate(str(source_path(assignment))) == {}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_byte_identical_to_a_fresh_one(fresh_release, assignment):
    committed = release_path(REPO, assignment).read_bytes()
    assert release_path(fresh_release, assignment).read_bytes() == committed, (
        f"exercises/{assignment} is out of date: run `make exercises` and commit the result"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_solutions_and_no_hidden_tests(assignment):
    source = nbformat.read(source_path(assignment), as_version=4)
    release_text = release_path(REPO, assignment).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in release_text
    release = nbformat.read(release_path(REPO, assignment), as_version=4)
    release_lines = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    secret, shown = set(), set()
    for cell in source.cells:
        cell_secret, cell_public = split_regions(cell.source)
        secret |= cell_secret
        shown |= cell_public
    assert secret - shown, "the source has no solution or hidden-test lines to look for"
    # a secret line may also appear outside the regions (an import, say): that copy is public
    leaked = (secret - shown) & release_lines
    assert not leaked, f"solution or hidden test lines in the release: {sorted(leaked)}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_stubs_raise_and_written_answers_are_blank(assignment):
    release = nbformat.read(release_path(REPO, assignment), as_version=4)
    for cell in nbgrader_cells(release):
        meta = cell.metadata["nbgrader"]
        if meta["solution"] and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source, cell.id
        if meta["solution"] and cell.cell_type == "markdown":
            assert cell.source.strip() == "YOUR ANSWER HERE", cell.id
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
