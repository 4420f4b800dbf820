"""Exports for learning management systems (grading/export.py), from status rows."""

import csv

import pytest

from grading.export import lms_table, write
from grading.grade import FAILED, GRADED, NEEDS_MANUAL, Row


def rows():
    return [
        Row("bob", "00-distances", 7.5, 10.0, GRADED, "lost points in: test_manhattan"),
        Row("alice", "00-distances", 10.0, 10.0, GRADED, ""),
        Row("alice", "01-competitive", 17.0, 20.0, NEEDS_MANUAL, "awaiting a manual grade"),
        Row("carol", "00-distances", None, 10.0, FAILED, "the kernel died"),
        Row("carol", "01-competitive", 20.0, 20.0, GRADED, ""),
    ]


def read(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_canvas_header_is_the_student_columns_then_one_column_per_assignment():
    header, _ = lms_table(rows(), "canvas")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                      "00-distances", "01-competitive"]


def test_moodle_header_is_username_then_one_column_per_assignment():
    header, _ = lms_table(rows(), "moodle")
    assert header == ["Username", "00-distances", "01-competitive"]


def test_one_row_per_student_sorted_by_student():
    _, body = lms_table(rows(), "moodle")
    assert [line[0] for line in body] == ["alice", "bob", "carol"]


def test_canvas_puts_the_student_id_in_student_and_sis_login_id():
    _, body = lms_table(rows(), "canvas")
    assert body[0][:5] == ["alice", "", "", "alice", ""]


def test_a_graded_submission_exports_its_score():
    _, body = lms_table(rows(), "moodle")
    assert body[0][1] == "10" and body[1][1] == "7.5"


def test_a_failed_submission_exports_an_empty_cell():
    _, body = lms_table(rows(), "moodle")
    assert body[2] == ["carol", "", "20"]


def test_a_submission_awaiting_manual_grading_exports_an_empty_cell_not_its_partial_score():
    _, body = lms_table(rows(), "moodle")
    assert body[0] == ["alice", "10", ""]


def test_an_assignment_a_student_did_not_submit_is_an_empty_cell():
    _, body = lms_table(rows(), "canvas")
    assert body[1][5:] == ["7.5", ""]


@pytest.mark.parametrize("format_name", ["canvas", "moodle"])
def test_written_file_holds_the_header_and_the_rows(tmp_path, format_name):
    path = tmp_path / "out" / f"{format_name}.csv"
    write(rows(), path, format_name)
    header, body = lms_table(rows(), format_name)
    assert read(path) == [header, *body]


def test_status_format_writes_the_status_csv(tmp_path):
    path = tmp_path / "grades.csv"
    write(rows(), path, "status")
    assert read(path)[0] == ["student", "assignment", "score", "max_score", "status", "reason"]
    assert len(read(path)) == 1 + len(rows())


def test_an_unknown_format_is_a_value_error_naming_the_argument(tmp_path):
    with pytest.raises(ValueError, match="format_name"):
        write(rows(), tmp_path / "x.csv", "blackboard")
    with pytest.raises(ValueError, match="format_name"):
        lms_table(rows(), "status")
