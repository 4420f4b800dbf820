"""Command line: ``python -m grading release|grade|feedback`` (run from the repository root)."""

import argparse
import sys
import textwrap

from grading.course import Course, use_this_python

DESCRIPTION = """\
The course's nbgrader pipeline. Settings (folders, gradebook URL, time limits) are in
nbgrader_config.py; the gradebook URL can be overridden with COURSEKIT_GRADEBOOK_URL and the
per-cell time limit (default 60 s) with COURSEKIT_CELL_TIMEOUT."""

RELEASE_HELP = """\
Regenerate exercises/<assignment>/ from solutions/<assignment>/ for every assignment
(make exercises). Solutions become stubs raising NotImplementedError, hidden tests are removed,
outputs are cleared, and each cell's id is its grade_id, so the output is byte-identical from run
to run and changes only when the source does. The course gradebook is not touched."""

GRADE_HELP = """\
Autograde every submission found as submitted/<student>/<assignment>/<notebook>.ipynb
(make grade) and write a CSV with one row per submission and the columns
student, assignment, score, max_score, status, reason.

status is "graded", "needs manual grading" (a written answer awaits a grade in formgrader; score
is the autograded part), or "failed" (the kernel died, a cell ran past its time limit, the file
was unreadable...; score is empty and reason says what happened). One submission failing never
stops the others. A submission is autograded again only if it, its assignment's source or the
config changed (or with --force); its old grades are removed first, so a failed re-grade cannot
leave a stale score. The exit status is 0 when every submission has its row, 1 when an assignment
could not be loaded into the gradebook.

Defences: each submission runs in its own process under a memory cap (--memory-gb), output
beyond 100,000 characters per cell is dropped, and code that patches what the tests rely on
(np.allclose = ..., __eq__, setattr, exec, a rebound np...) is found by reading the notebook
outside the kernel: its autograded points are withheld and the status says "needs manual
grading" with the finding, for an instructor to review in formgrader. With --jobs N, N
submissions are graded at once."""

FEEDBACK_HELP = """\
Write feedback/<student>/<assignment>/<notebook>.html for every autograded submission
(make feedback; run grade first). The HTML shows the student's code, the visible tests and the
scores; hidden tests and their tracebacks are removed. Failed submissions get no feedback.
The exit status is 1 when the feedback of some submission could not be generated."""


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m grading",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--course-dir",
        default=".",
        help="folder holding nbgrader_config.py (default: current folder)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary, text in (
        ("release", "regenerate exercises/ from solutions/ (make exercises)", RELEASE_HELP),
        ("grade", "autograde submitted/ and write grades.csv (make grade)", GRADE_HELP),
        ("feedback", "write feedback HTML for graded submissions (make feedback)", FEEDBACK_HELP),
    ):
        command = commands.add_parser(
            name,
            help=summary,
            description=text,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "grade":
            command.add_argument(
                "--output",
                default=None,
                help="CSV file to write (default: grades.csv in the course folder)",
            )
            command.add_argument(
                "--force",
                action="store_true",
                help="autograde every submission again, even unchanged ones "
                "(this discards their manual grades)",
            )
            command.add_argument(
                "--jobs",
                type=int,
                default=1,
                help="submissions to autograde at the same time, each in its own process "
                "(default 1; at most the number of CPU cores is useful)",
            )
            command.add_argument(
                "--memory-gb",
                type=float,
                default=None,
                help="address space one submission's grading may use, kernel included "
                "(default 4; raise it for assignments that train big models)",
            )
            command.add_argument(
                "--submission-timeout",
                type=float,
                default=None,
                help="seconds one submission may take in all (default: the sum "
                "of its cells' limits plus 120 s)",
            )
    args = parser.parse_args(argv)

    use_this_python()
    try:
        course = Course.load(args.course_dir)
    except FileNotFoundError as error:
        parser.error(str(error))

    if args.command == "release":
        from grading.release import ReleaseError, release

        try:
            release(course)
        except ReleaseError as error:
            print(textwrap.indent(str(error), "  "), file=sys.stderr)
            return 1
        return 0
    if args.command == "grade":
        from grading.grade import grade

        output = args.output or course.root / "grades.csv"
        from grading.grade import DEFAULT_MEMORY_GB

        if args.jobs < 1:
            parser.error(f"--jobs must be at least 1, got {args.jobs}")
        if args.memory_gb is not None and args.memory_gb <= 0:
            parser.error(f"--memory-gb must be positive, got {args.memory_gb}")
        _, setup_errors = grade(
            course, output, force=args.force, submission_timeout=args.submission_timeout,
            jobs=args.jobs, memory_gb=args.memory_gb or DEFAULT_MEMORY_GB,
        )
        return 1 if setup_errors else 0
    from grading.feedback import feedback

    _, failed = feedback(course)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
