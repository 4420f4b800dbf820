"""Grading many: `grade --scheduler` on a real Dask cluster with a real PostgreSQL gradebook.

The same four submissions of Assignment 0 are graded twice, in two copies of the course: once
with `--jobs 1` on the default SQLite gradebook, once through a local Dask scheduler with two
worker processes on a PostgreSQL server started for the session (tests/grading/services.py).
The rows must be the same, and the scores must be in PostgreSQL.
"""

import concurrent.futures
import csv
import os
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import inspect, text

from grading import gradebook as grader_gradebook
from grading.course import Course
from tests.grading import services
from tests.grading import submissions as build
from tests.grading.harness import REPO, grading_environment, make_course

ASSIGNMENT = "00-distances"


def students():
    """One submission per outcome: full marks with a written answer pending, partial, zero,
    and a kernel that dies (failed)."""
    solutions = build.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    release = build.read(REPO / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    return {
        "reference": solutions,
        "manhattan_only": build.with_solution_from(release, solutions, "manhattan"),
        "untouched": release,
        "kernel_killer": build.with_cell_source(release, "manhattan", build.KERNEL_KILLER),
    }


def course_with_submissions(folder):
    root = make_course(folder)
    for student, notebook in students().items():
        build.submit(root, student, ASSIGNMENT, notebook)
    return root


def grade(root, *args, gradebook_url=None, timeout=900):
    """`python -m grading grade ARGS` on a course, with `make grade`'s environment."""
    env = grading_environment()
    if gradebook_url:
        env["COURSEKIT_GRADEBOOK_URL"] = gradebook_url
    return subprocess.run(
        [sys.executable, "-m", "grading", "--course-dir", str(root), "grade", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


@pytest.fixture
def venv_on_path(monkeypatch):
    """nbgrader runs `alembic` from PATH when it creates a gradebook."""
    monkeypatch.setenv("PATH", os.pathsep.join([os.path.dirname(sys.executable),
                                                os.environ.get("PATH", "")]))


@pytest.fixture(scope="module")
def one_job(tmp_path_factory):
    root = course_with_submissions(tmp_path_factory.mktemp("one-job"))
    result = grade(root, "--jobs", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    return read_rows(root / "grades.csv")


@pytest.fixture(scope="module")
def on_cluster(tmp_path_factory, postgres, dask_scheduler):
    """(course root, gradebook URL, rows, grade's output) of a grading through the cluster."""
    root = course_with_submissions(tmp_path_factory.mktemp("cluster"))
    url = postgres.create_database("cluster_grading")
    result = grade(root, "--scheduler", dask_scheduler, "--format", "moodle",
                   gradebook_url=url)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, url, read_rows(root / "grades.csv"), result.stdout


@pytest.mark.slow
def test_cluster_rows_equal_the_rows_of_one_job(one_job, on_cluster):
    _, _, rows, _ = on_cluster
    assert rows == one_job
    assert {row["status"] for row in rows.values()} == {
        "graded", "needs manual grading", "failed"}


@pytest.mark.slow
def test_cluster_grading_logs_one_progress_line_per_submission(on_cluster):
    _, _, _, stdout = on_cluster
    assert sum(line.startswith("[") and "/4] " in line for line in stdout.splitlines()) == 4


@pytest.mark.slow
def test_format_moodle_writes_the_import_file_beside_the_status_csv(on_cluster):
    root, _, rows, _ = on_cluster
    with open(root / "grades-moodle.csv", newline="", encoding="utf-8") as file:
        exported = list(csv.reader(file))
    assert exported[0] == ["Username", ASSIGNMENT]
    final = {s: r["score"] for s, r in rows.items() if r["status"] == "graded"}
    assert dict(exported[1:]) == {s: final.get(s, "") for s in rows}
    assert "" in dict(exported[1:]).values()  # the failed and the pending rows


@pytest.mark.slow
def test_cluster_scores_are_in_the_postgresql_gradebook(on_cluster):
    _, url, rows, _ = on_cluster
    with Gradebook(url) as gradebook:
        for student, row in rows.items():
            if row["status"] == "failed":
                with pytest.raises(MissingEntry):
                    gradebook.find_submission(ASSIGNMENT, student)
            else:
                submission = gradebook.find_submission(ASSIGNMENT, student)
                assert submission.score == float(row["score"]), student
                assert submission.max_score == float(row["max_score"]) == 10.0


@pytest.mark.slow
def test_second_cluster_run_keeps_unchanged_submissions(on_cluster, dask_scheduler):
    root, url, rows, _ = on_cluster
    notebook = root / "autograded" / "reference" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    before = notebook.stat().st_mtime_ns
    result = grade(root, "--scheduler", dask_scheduler, gradebook_url=url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert read_rows(root / "grades.csv") == rows
    assert notebook.stat().st_mtime_ns == before  # not autograded again


def test_scheduler_with_a_sqlite_gradebook_is_refused(tmp_path):
    root = make_course(tmp_path / "course", with_release=False)
    result = grade(root, "--scheduler", "tcp://127.0.0.1:9", timeout=120)
    assert result.returncode == 2
    assert "PostgreSQL" in result.stderr and "COURSEKIT_GRADEBOOK_URL" in result.stderr
    assert not (root / "gradebook.db").exists()


@pytest.mark.slow
def test_nbgrader_creates_its_tables_in_an_empty_postgresql_database(postgres, venv_on_path):
    url = postgres.create_database("empty_at_first")
    with Gradebook(url) as gradebook:
        tables = set(inspect(gradebook.engine).get_table_names())
        version = gradebook.db.execute(text("SELECT version_num FROM alembic_version")).all()
    assert {"assignment", "student", "submitted_assignment", "grade", "alembic_version"} <= tables
    assert len(version) == 1


@pytest.mark.slow
# nbgrader's add_submission warns so with a single writer on SQLite as well: its own quirk
@pytest.mark.filterwarnings("ignore:Object of type <SubmittedAssignment> not in session")
def test_concurrent_gradebook_writers_keep_every_write(postgres, venv_on_path):
    url = postgres.create_database("concurrent_writers")
    with Gradebook(url) as gradebook:  # created once before the writers, as grade() does
        gradebook.add_assignment(ASSIGNMENT)

    def write(number):
        with Gradebook(url) as gradebook:  # its own engine and connection
            gradebook.update_or_create_student(f"student{number:02d}", first_name=str(number))
            gradebook.add_submission(ASSIGNMENT, f"student{number:02d}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(24)))
    with Gradebook(url) as gradebook:
        assert len(gradebook.students) == 24
        assert len(gradebook.assignment_submissions(ASSIGNMENT)) == 24


@pytest.mark.slow
def test_an_assignment_loads_into_an_empty_postgresql_gradebook(postgres, venv_on_path,
                                                                 monkeypatch, tmp_path):
    # nbgrader files an assignment under CourseDirectory.course_id, "" unless configured, for
    # which it creates no course row: PostgreSQL checks the foreign key that SQLite ignores.
    url = postgres.create_database("load_assignment")
    monkeypatch.setenv("COURSEKIT_GRADEBOOK_URL", url)
    course = Course.load(make_course(tmp_path / "course", with_release=False))
    assert course.db_url == url
    assert grader_gradebook.load_assignment(course, ASSIGNMENT) is None
    assert grader_gradebook.max_score(course, ASSIGNMENT) == 10.0


@pytest.mark.slow
def test_a_worker_that_cannot_grade_fails_its_rows_not_the_run(postgres, tmp_path):
    root = make_course(tmp_path / "course")
    build.submit(root, "untouched", ASSIGNMENT, students()["untouched"])
    url = postgres.create_database("broken_worker")
    with services.dask_cluster(workers=1, importable=False) as address:
        result = grade(root, "--scheduler", address, gradebook_url=url)
    assert result.returncode == 0, result.stdout + result.stderr
    row = read_rows(root / "grades.csv")["untouched"]
    assert row["status"] == "failed"
    assert row["reason"].startswith("the cluster could not grade it: ")
    assert "\n" not in row["reason"] and len(row["reason"]) <= 300
