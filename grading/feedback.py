"""``python -m grading feedback``: feedback HTML for every autograded submission.

What the HTML may show is decided in nbgrader_config.py (GenerateFeedback.preprocessors): the
hidden tests and their tracebacks are removed (see grading.preprocessors).
"""

from nbgrader.api import Gradebook, MissingEntry


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
