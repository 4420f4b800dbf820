"""Benchmark: how long the course's own operations take.

* the book build — the command ``make book`` runs (``jupyter-book build . -W --keep-going``),
  full setting and quick setting (``COURSEKIT_QUICK=1``, as ``make book-quick``), each into a
  fresh temporary folder so that no cached notebook outputs are reused (the repository's
  ``_build/`` is never touched; ``make``'s prerequisite checks are not timed);
* every lab (``book/**/*-lab.ipynb``) executed on its own by nbclient, in the full and the
  quick setting (a fresh kernel each; the time includes starting the kernel);
* autograding: the reference solution of every assignment (``solutions/<a>/<a>.ipynb``)
  submitted by one student to a scratch copy of the course and graded by
  ``python -m grading grade`` (``make grade``, one job); the time per submission is the one
  the grader logs.

``--quick`` is a smoke test of the script (< 60 s on an idle machine): no book build, the first
lab in the quick setting only, one assignment graded. The full run takes long (the book build
executes every lab; expect tens of minutes on 2 cores).

Run::

    .venv/bin/python bench/course_operations.py           # writes bench/results/course.md
    .venv/bin/python bench/course_operations.py --quick   # smoke test
"""

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from _common import ROOT, LoadMonitor, machine_lines, markdown_table, parse_args, timed, write
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

LAB_TIMEOUT = 1800
BOOK_TIMEOUT = 4 * 3600


def labs():
    """Every lab notebook of the book, in chapter order."""
    return sorted((ROOT / "book").glob("*/*-lab.ipynb"))


def assignments():
    """The names of the assignments that have a solution notebook."""
    return sorted(path.parent.name for path in (ROOT / "solutions").glob("*/*.ipynb"))


def environment(quick):
    """The current environment with the venv first on PATH and the course setting chosen."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("MPLBACKEND", None)  # the labs must draw their figures as the book does
    env.pop("COURSEKIT_QUICK", None)
    if quick:
        env["COURSEKIT_QUICK"] = "1"
    return env


def build_book(quick):
    """``(seconds, outcome)`` of one full book build into a fresh temporary folder."""
    with tempfile.TemporaryDirectory(prefix="course-bench-book-") as output:
        command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
                   "-W", "--keep-going", "--path-output", output]
        result, seconds = timed(subprocess.run, command, cwd=ROOT, env=environment(quick),
                                capture_output=True, text=True, timeout=BOOK_TIMEOUT, check=False)
    outcome = "ok" if result.returncode == 0 else f"failed (exit {result.returncode})"
    return seconds, outcome


def run_lab(path, quick):
    """``(seconds, outcome)`` of executing one lab notebook in a fresh kernel."""
    notebook = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environment(quick))  # the kernel inherits this process's environment
    try:
        client = NotebookClient(notebook, timeout=LAB_TIMEOUT, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        _, seconds = timed(client.execute)
        outcome = "ok"
    except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError) as error:
        # a failing lab is a result to report, not a crash
        seconds, outcome = float("nan"), f"failed: {type(error).__name__}"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return seconds, outcome


def grade_submissions(names):
    """``[(assignment, seconds, score)]``: each reference solution autograded once."""
    with tempfile.TemporaryDirectory(prefix="course-bench-grading-") as folder:
        root = Path(folder)
        shutil.copy(ROOT / "nbgrader_config.py", root)
        shutil.copytree(ROOT / "solutions", root / "solutions")
        shutil.copytree(ROOT / "exercises", root / "exercises")
        for name in names:
            submitted = root / "submitted" / "reference" / name
            submitted.mkdir(parents=True)
            shutil.copy(ROOT / "solutions" / name / f"{name}.ipynb", submitted)
        result = subprocess.run(
            [sys.executable, "-m", "grading", "--course-dir", str(root), "grade", "--jobs", "1"],
            cwd=ROOT, env=environment(False), capture_output=True, text=True, timeout=3600,
            check=False,
        )
    # progress lines: "[1/5] reference / 00-distances: graded, 10/10 in 12.3 s"
    pattern = re.compile(r"\] reference / (\S+): [^,]+, (\S+) in ([\d.]+) s")
    found = {m[1]: (float(m[3]), m[2]) for m in pattern.finditer(result.stdout + result.stderr)}
    return [(name, *found.get(name, (float("nan"), f"failed (exit {result.returncode})")))
            for name in names]


def seconds_cell(seconds):
    return "—" if math.isnan(seconds) else f"{seconds:.1f}"  # NaN: not measured


def main(argv=None):
    args = parse_args("the course's operations: book build, labs, autograding", argv)
    monitor = LoadMonitor()
    lines = [
        "# Course operations",
        "",
        "Written by `bench/course_operations.py` (its docstring says what each time covers).",
        "",
        *machine_lines(["coursekit", "jupyter-book", "nbclient", "nbgrader", "torch"], args.quick),
    ]
    body = []
    if args.quick:
        body += ["Book build: skipped in the quick setting.", ""]
    else:
        rows = [[setting, seconds_cell(s), outcome]
                for setting, (s, outcome) in [("full (`make book`)", build_book(False)),
                                              ("quick (`make book-quick`)", build_book(True))]]
        body += ["## Book build", "",
                 *markdown_table(["setting", "wall time, s", "outcome"], rows), ""]
    lab_rows = []
    for path in labs()[:1] if args.quick else labs():
        quick_time, quick_outcome = run_lab(path, True)
        full_time, full_outcome = ("not run (--quick)",) * 2 if args.quick else run_lab(path, False)
        cells = [path.relative_to(ROOT).as_posix(), seconds_cell(quick_time), quick_outcome]
        if not args.quick:
            cells += [seconds_cell(full_time), full_outcome]
        else:
            cells += ["—", full_outcome]
        lab_rows.append(cells)
        print(cells, flush=True)
    body += ["## Labs", "",
             *markdown_table(["lab", "quick, s", "quick outcome", "full, s", "full outcome"],
                             lab_rows), ""]
    names = assignments()[:1] if args.quick else assignments()
    grade_rows = [[name, seconds_cell(s), score] for name, s, score in grade_submissions(names)]
    body += ["## Autograding (one submission each: the reference solution)", "",
             *markdown_table(["assignment", "seconds per submission", "score (autograded points / maximum)"], grade_rows)]
    lines += [*monitor.lines(paired=False), "", *body]
    write(args.output, "course.md", lines)


if __name__ == "__main__":
    main()
