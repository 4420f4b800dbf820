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
grading" with the finding, for an instructor to review in formgrader.

Sandbox: every notebook's kernel runs under bubblewrap (Debian package bubblewrap; `make grade`
installs it as root) as an unprivileged user, with no network, a read-only system, a private
/tmp and a writable copy of its own submitted folder: it cannot see solutions/, exercises/,
nbgrader_config.py, the gradebook, .git, autograded/, feedback/ or other submissions; limits on
processes, CPU seconds, file size and open files; all its processes end with its grading.
Without bubblewrap grading stops and names the install command; --unsafe-no-sandbox grades
without it. Outputs that quote a hidden test are removed and reported as tampering. reason is
one line; nbgrader's whole log is in autograded/<student>/<assignment>.log.

With --jobs N, N submissions are graded at once;
with --scheduler tcp://HOST:8786 each one is a task on a Dask
cluster (the gradebook must then be PostgreSQL). --format canvas|moodle writes the file those
systems import (the status CSV still goes to grades.csv)."""

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
            command.add_argument(
                "--unsafe-no-sandbox",
                action="store_true",
                help="run every submitted notebook's kernel WITHOUT the bubblewrap sandbox: the "
                "submitted code can then read solutions/ and the hidden tests, change any course "
                "file, use the network and leave processes behind (only for trusted notebooks, "
                "or where bubblewrap cannot run)",
            )
            command.add_argument(
                "--scheduler",
                default=None,
                metavar="ADDRESS",
                help="grade on a Dask distributed cluster, one task per submission, e.g. "
                "tcp://HOST:8786 (needs a PostgreSQL gradebook: COURSEKIT_GRADEBOOK_URL; "
                "workers need the course folder at the same path; --jobs is then ignored)",
            )
            command.add_argument(
                "--format",
                choices=("status", "canvas", "moodle"),
                default="status",
                help="what --output holds: the status CSV (default), or Canvas's or Moodle's "
                "gradebook import (one row per student, one column per assignment, empty "
                "where no final score; the status CSV then goes to grades.csv)",
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
        from grading.sandbox import SandboxUnavailable

        output = args.output or course.root / "grades.csv"
        from grading.grade import DEFAULT_MEMORY_GB

        if args.jobs < 1:
            parser.error(f"--jobs must be at least 1, got {args.jobs}")
        if args.memory_gb is not None and args.memory_gb <= 0:
            parser.error(f"--memory-gb must be positive, got {args.memory_gb}")
        if args.scheduler:
            from grading.cluster import require_shared_gradebook

            try:
                require_shared_gradebook(course.db_url)
            except ValueError as error:
                parser.error(f"--scheduler: {error}")
        status_output = output if args.format == "status" else course.root / "grades.csv"
        if args.format != "status" and not args.output:
            output = course.root / f"grades-{args.format}.csv"
        try:
            rows, setup_errors = grade(
                course, status_output, force=args.force,
                submission_timeout=args.submission_timeout, jobs=args.jobs,
                memory_gb=args.memory_gb or DEFAULT_MEMORY_GB, scheduler=args.scheduler,
                sandbox=not args.unsafe_no_sandbox,
            )
        except SandboxUnavailable as error:  # bubblewrap missing: the message names the fix
            print(f"grade: {error}", file=sys.stderr)
            return 2
        except ConnectionError as error:  # no scheduler, or a scheduler without workers
            print(f"--scheduler: {error}", file=sys.stderr)
            return 2
        if args.format != "status":
            from grading.export import write

            write(rows, output, args.format)
            print(f"wrote the {args.format} import file {output}")
        return 1 if setup_errors else 0
    from grading.feedback import feedback

    _, failed = feedback(course)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
