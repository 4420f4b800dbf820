"""Grades for a learning management system: ``python -m grading grade --format canvas|moodle``.

The status CSV (``grades.csv``: one row per submission, with status and reason) stays what the
instructor reads; these exports are what the LMS imports: one row per student, one column per
assignment, named by the assignment's folder (``00-distances``...).

canvas
    Canvas's gradebook import (Grades > Import) reads a CSV whose first columns identify the
    student, ``Student, ID, SIS User ID, SIS Login ID, Section``, followed by one column per
    assignment; a column that matches no assignment of the course creates a new one. This
    follows Ohio State's guide to that import, which lists the required columns:
    https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades
    The nbgrader student id goes into ``Student`` and ``SIS Login ID``; ``ID``, ``SIS User ID``
    and ``Section`` stay empty. This assumes the JupyterHub user names are the students' SIS
    login ids (as with an LTI or SSO login); otherwise fill those columns from Canvas's own
    gradebook export before importing.
moodle
    Moodle's "Import > CSV file" reads any CSV with a header row; on its preview page the
    teacher maps one column to a user field ("Map from" ``Username``, "Map to" ``username``)
    and each other column to a grade item or a new one (MoodleDocs, "Grade import":
    https://docs.moodle.org/311/en/Grade_import). Columns: ``Username`` (the nbgrader student
    id), then one per assignment.

What a submission without a final score exports as: an empty cell. That covers ``failed``
(no score exists) and ``needs manual grading`` (the autograded part is not the grade: a written
answer or a tampering review is still open), and an assignment the student did not submit.
Nothing provisional reaches students; run ``grade`` again after formgrader and export again.
Moodle reads an empty cell (or ``-``) as "no grade" (grade/import/csv/classes/load_data.php,
``update_grade_item``), so importing one over a grade entered by hand in Moodle removes it.
"""

import csv
from pathlib import Path

from grading.grade import GRADED, write_csv

FORMATS = ("status", "canvas", "moodle")
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDENTITY = ("Username",)


def final_score(row):
    """The cell for one submission: its score when final, else empty."""
    return f"{row.score:g}" if row.status == GRADED and row.score is not None else ""


def score_table(rows):
    """``(assignments, {student: {assignment: cell}})`` from status rows."""
    assignments = sorted({row.assignment for row in rows})
    students = {}
    for row in rows:
        students.setdefault(row.student, {})[row.assignment] = final_score(row)
    return assignments, students


def identity(format_name, student):
    """The identifying cells of one student's row."""
    if format_name == "canvas":
        return [student, "", "", student, ""]
    return [student]


def lms_table(rows, format_name):
    """The header and the rows (lists of cells, sorted by student) of an LMS export."""
    if format_name not in ("canvas", "moodle"):
        raise ValueError(f"format_name must be 'canvas' or 'moodle', got {format_name!r}")
    assignments, students = score_table(rows)
    columns = CANVAS_IDENTITY if format_name == "canvas" else MOODLE_IDENTITY
    body = [
        identity(format_name, student) + [scores.get(a, "") for a in assignments]
        for student, scores in sorted(students.items())
    ]
    return [*columns, *assignments], body


def write(rows, output, format_name="status"):
    """Write ``rows`` to ``output`` as the status CSV or an LMS import file."""
    if format_name not in FORMATS:
        raise ValueError(f"format_name must be one of {', '.join(FORMATS)}, got {format_name!r}")
    if format_name == "status":
        write_csv(rows, output)
        return
    header, body = lms_table(rows, format_name)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(body)
