"""The grader's questions to nbgrader's gradebook, in one place.

The gradebook is nbgrader's database (SQLite by default, PostgreSQL when
COURSEKIT_GRADEBOOK_URL says so); every function opens it at ``course.db_url`` for one query.
"""

import re
import tempfile
from pathlib import Path

DEFAULT_COURSE = "default_course"  # what nbgrader.api.Gradebook() files things under by default


def forget_grades(course, student, assignment):
    """Remove a submission's grades, automatic and manual (nothing if it has none)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url) as gradebook:
        try:
            gradebook.remove_submission(assignment, student)
        except MissingEntry:
            pass


def withhold_autograded_points(course, student, assignment):
    """Manual score 0 on every autograded test of the submission, flagged for review."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade_cell in notebook.grades:
                if grade_cell.auto_score is not None:
                    grade_cell.manual_score = 0.0
                    grade_cell.needs_manual_grade = True
        gradebook.db.commit()


def load_assignment(course, assignment):
    """generate_assignment with the real gradebook but a scratch release folder.

    The assignment is filed under a course that exists: nbgrader's ``CourseDirectory.course_id``
    defaults to "", for which its gradebook creates no course row, and PostgreSQL (unlike
    SQLite, which does not check foreign keys) then refuses the assignment. Without a
    course_id in nbgrader_config.py it goes to "default_course", the course nbgrader's
    ``Gradebook()`` creates by default.
    """
    course_id = course.setting("CourseDirectory", "course_id", "") or DEFAULT_COURSE
    with tempfile.TemporaryDirectory(prefix="coursekit-grade-") as scratch:
        api = course.api(release_directory=str(Path(scratch) / "release"), course_id=course_id)
        result = api.generate_assignment(assignment, force=True, create=True)
    if result["success"]:
        return None
    errors = re.findall(r"^\s*(\w*Error\b.*)$", result.get("log", ""), flags=re.MULTILINE)
    return f"could not load {assignment} into the gradebook: {errors[-1] if errors else result}"


def submissions_of(course, assignment):
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gradebook:
        return [(s.student.id, assignment) for s in gradebook.assignment_submissions(assignment)]


def find_submission(course, student, assignment):
    """(score, max_score, pending grade names, lost-points names) or None if not graded."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None
        grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
        # sorted: PostgreSQL returns the grades in no fixed order, and a row must not depend on it
        pending = sorted(g.name for g in grades if g.needs_manual_grade)
        lost = sorted(
            g.name for g in grades if not g.needs_manual_grade and (g.score or 0) < g.max_score
        )
        return submission.score, submission.max_score, pending, lost


def max_score(course, assignment):
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url) as gradebook:
        try:
            return gradebook.find_assignment(assignment).max_score
        except MissingEntry:
            return None
