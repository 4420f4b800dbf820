"""Benchmark: how many submissions per minute the grader grades, and where the time goes.

N generated submissions of Assignment 0 (default 200; a fixed mix: 40% the reference solution,
25% wrong answers, 15% the untouched release, 20% hostile: a kernel that kills itself, a cell
that patches ``np.allclose``, a cell that reads the instructor's solutions by a relative path)
are graded three times, each in a fresh copy of the course, by ``python -m grading grade``:
``--jobs 1`` and ``--jobs 2`` on the default SQLite gradebook, and ``--scheduler`` on a local
Dask cluster (a scheduler and two one-thread workers, separate processes) with a PostgreSQL
gradebook (a throwaway server, Debian's ``postgresql``). The wall time of each ``grade`` command
is timed, from start to CSV; starting the cluster and the server is not. The three runs must
give the same rows (checked).

On a subset (default 20 of the N, the same mix) the grader runs again with ``--jobs 1`` and a
timer inside every process it starts: each process that imports ``nbgrader.api`` (the grade
command itself and each ``nbgrader autograde``) adds up the wall time spent in nbgrader's
``Gradebook`` (its methods, opening and closing it) and in SQLAlchemy's ``Session`` (``execute``,
``flush``, ``commit``, ``rollback``, which is where the queries, lazy loads and commits that
nbgrader's preprocessors make outside ``Gradebook`` methods go); nested calls count once. The
gradebook's share is that sum over the run's wall time, once on SQLite and once on PostgreSQL.
The same subset with ``--unsafe-no-sandbox`` (when the grader has that flag) gives the sandbox's
overhead per submission: the difference of the median times the grader logs per submission
(the difference of the wall times over the subset's size is shown too). The subset runs follow
each other, not interleaved: run the benchmark on an otherwise idle machine.

Run (from the repository root; the full run takes about an hour on 2 cores)::

    .venv/bin/python bench/grading_throughput.py            # writes bench/results/grading.md
    .venv/bin/python bench/grading_throughput.py --submissions 6 --subset 3 --output /tmp/x
    .venv/bin/python bench/grading_throughput.py --quick    # smoke test: 4 submissions
"""

import argparse
import collections
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, ROOT, LoadMonitor, machine_lines, markdown_table, write

from tests.grading import submissions as build
from tests.grading.services import dask_cluster, postgres_server

ASSIGNMENT = "00-distances"
GRADE_TIMEOUT = 6 * 3600
WRONG_MANHATTAN = "def manhattan(X, W):\n    return np.zeros((len(X), len(W)))\n"
PATCHER = "import numpy as np\nnp.allclose = lambda *args, **kwargs: True\n"
READER = ("import pathlib\nprint(pathlib.Path('../../../solutions/00-distances/"
          "00-distances.ipynb').read_text()[:3000])\n")

# Put on PYTHONPATH for the instrumented runs: a sitecustomize that times nbgrader's gradebook
# in every process that imports nbgrader.api (kernels never do, so they pay nothing).
TIMER = '''
import atexit, importlib.abc, importlib.machinery, os, sys, threading, time

_state, _total = threading.local(), [0.0, 0]


def _timed(function):
    def wrapper(*args, **kwargs):
        if getattr(_state, "inside", False):
            return function(*args, **kwargs)
        _state.inside, start = True, time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _total[0] += time.perf_counter() - start
            _total[1] += 1
            _state.inside = False
    return wrapper


def _instrument(api):
    from sqlalchemy.orm import Session
    for name in ("execute", "flush", "commit", "rollback"):
        setattr(Session, name, _timed(getattr(Session, name)))
    for name, value in list(vars(api.Gradebook).items()):
        if callable(value) and (not name.startswith("_") or name == "__init__"):
            setattr(api.Gradebook, name, _timed(value))
    atexit.register(_report)


def _report():
    try:
        path = os.path.join(os.environ["COURSEKIT_GRADEBOOK_TIMES"], f"{os.getpid()}.txt")
        with open(path, "a") as file:
            file.write(f"{_total[0]} {_total[1]}\\n")
    except OSError:
        pass


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "nbgrader.api":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _instrument(module)
        spec.loader.exec_module = exec_module
        return spec


if os.environ.get("COURSEKIT_GRADEBOOK_TIMES"):
    sys.meta_path.insert(0, _Finder())
'''


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="grading throughput: --jobs 1, --jobs 2, "
                                     "a 2-worker Dask cluster; sandbox and gradebook costs")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 4 submissions, a subset of 2 (not a result)")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help="folder for the Markdown results (default: bench/results)")
    parser.add_argument("--submissions", type=int, default=None,
                        help="submissions to generate (default 200; 4 with --quick)")
    parser.add_argument("--subset", type=int, default=None,
                        help="submissions for the sandbox and gradebook runs (default 20)")
    args = parser.parse_args(argv)
    args.submissions = args.submissions or (4 if args.quick else 200)
    args.subset = min(args.subset or (2 if args.quick else 20), args.submissions)
    if args.submissions < 1 or args.subset < 1:
        parser.error("--submissions and --subset must be positive")
    return args


def notebooks():
    """The kinds of submission, in the order the mix cycles through them (20 per cycle)."""
    solutions = build.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    release = build.read(ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    kinds = {
        "correct": solutions,
        "wrong": build.with_cell_source(solutions, "manhattan", WRONG_MANHATTAN),
        "blank": release,
        "hostile-kernel-killer": build.with_cell_source(release, "manhattan",
                                                        build.KERNEL_KILLER),
        "hostile-patcher": build.with_cell_source(solutions, "manhattan", PATCHER +
                                                  build.cell_by_id(solutions, "manhattan").source),
        "hostile-reader": build.with_cell_source(release, "manhattan", READER),
    }
    # 8 correct, 5 wrong, 3 blank, 4 hostile in 20, interleaved so that any prefix is a mix
    cycle = ["correct", "wrong", "blank", "hostile-kernel-killer", "correct", "wrong",
             "hostile-patcher", "correct", "blank", "wrong", "correct", "hostile-reader",
             "correct", "wrong", "blank", "correct", "hostile-kernel-killer", "wrong", "correct",
             "correct"]
    return kinds, cycle


def make_course(folder, count):
    """A course copy with ``count`` submissions of the mix; returns its root."""
    root = Path(folder)
    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions", root / "solutions")
    shutil.copytree(ROOT / "exercises", root / "exercises")
    kinds, cycle = notebooks()
    for number in range(count):
        kind = cycle[number % len(cycle)]
        build.submit(root, f"s{number:04d}-{kind}", ASSIGNMENT, kinds[kind])
    return root


def environment(gradebook_url=None, timer_folder=None, timer_log=None):
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    paths = [str(timer_folder)] if timer_folder else []
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*paths, str(ROOT), env.get("PYTHONPATH")]))
    env.pop("COURSEKIT_GRADEBOOK_URL", None)
    env.pop("COURSEKIT_GRADEBOOK_TIMES", None)
    if gradebook_url:
        env["COURSEKIT_GRADEBOOK_URL"] = gradebook_url
    if timer_log:
        env["COURSEKIT_GRADEBOOK_TIMES"] = str(timer_log)
    return env


def grade(root, *options, env):
    """``(seconds, rows, per-submission seconds)`` of one ``python -m grading grade`` on a
    course copy; the last are the times the grader logs for each submission."""
    command = [sys.executable, "-m", "grading", "--course-dir", str(root), "grade", *options]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=GRADE_TIMEOUT, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(options)} failed:\n{result.stdout[-3000:]}"
                           f"{result.stderr[-3000:]}")
    with open(root / "grades.csv", newline="", encoding="utf-8") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    each = [float(m) for m in re.findall(r"^\[\d+/\d+\] .* in ([\d.]+) s", result.stdout,
                                         flags=re.MULTILINE)]
    return seconds, rows, each


def has_unsafe_flag():
    help_text = subprocess.run([sys.executable, "-m", "grading", "grade", "--help"], cwd=ROOT,
                               env=environment(), capture_output=True, text=True, timeout=300,
                               check=False).stdout
    return "--unsafe-no-sandbox" in help_text


def gradebook_seconds(folder):
    """Seconds in the gradebook, summed over every process that wrote to ``folder``."""
    return sum(float(line.split()[0]) for path in Path(folder).glob("*.txt")
               for line in path.read_text().splitlines() if line.strip())


def throughput_runs(work, count):
    """``[(label, gradebook, seconds, rows)]`` for --jobs 1, --jobs 2 and the cluster."""
    runs = []
    for label, options in (("`--jobs 1`", ["--jobs", "1"]), ("`--jobs 2`", ["--jobs", "2"])):
        root = make_course(work / label.strip("`-").replace(" ", ""), count)
        runs.append((label, "SQLite", *grade(root, *options, env=environment())[:2]))
        print(runs[-1][:3], flush=True)
    with postgres_server() as server, dask_cluster(workers=2) as address:
        root = make_course(work / "cluster", count)
        url = server.create_database("throughput")
        seconds, rows, _ = grade(root, "--scheduler", address, env=environment(url))
        runs.append(("Dask, 2 workers (`--scheduler`)", "PostgreSQL", seconds, rows))
        print(runs[-1][:3], flush=True)
    return runs


def subset_runs(work, count, unsafe_flag):
    """``[(label, seconds, gradebook seconds, median logged seconds per submission)]`` of the
    instrumented ``--jobs 1`` runs."""
    timer = work / "timer"
    timer.mkdir()
    (timer / "sitecustomize.py").write_text(TIMER)
    settings = [("sandbox, SQLite", [], False)]
    if unsafe_flag:
        settings.append(("`--unsafe-no-sandbox`, SQLite", ["--unsafe-no-sandbox"], False))
    settings.append(("sandbox, PostgreSQL", [], True))
    results = []
    with postgres_server() as server:
        for number, (label, options, postgres) in enumerate(settings):
            log = work / f"times-{number}"
            log.mkdir()
            url = server.create_database(f"subset{number}") if postgres else None
            root = make_course(work / f"subset-{number}", count)
            seconds, _, each = grade(root, "--jobs", "1", *options,
                                     env=environment(url, timer_folder=timer, timer_log=log))
            results.append((label, seconds, gradebook_seconds(log), statistics.median(each)))
            print(results[-1], flush=True)
    return results


def projection_rows(per_worker_rate):
    """Minutes for 1,000 submissions on k workers, if throughput grows linearly with k."""
    return [[k, f"{1000 / (per_worker_rate * k):.0f}"] for k in (1, 2, 4, 8, 16, 32)]


def main(argv=None):
    args = parse_args(argv)
    monitor = LoadMonitor()
    unsafe_flag = has_unsafe_flag()
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as folder:
        work = Path(folder)
        runs = throughput_runs(work, args.submissions)
        subset = subset_runs(work, args.subset, unsafe_flag)
    kinds = collections.Counter(name.split("-", 1)[1] for name in runs[0][3])
    same = all(rows == runs[0][3] for *_, rows in runs)
    statuses = collections.Counter(row["status"] for row in runs[0][3].values())
    base = args.submissions / runs[0][2] * 60
    table = [[label, gradebook, f"{seconds:.1f}", f"{args.submissions / seconds * 60:.1f}",
              f"{args.submissions / seconds * 60 / base:.2f}×"]
             for label, gradebook, seconds, _ in runs]
    subset_table = [[label, f"{seconds:.1f}", f"{seconds / args.subset:.2f}", f"{median:.2f}",
                     f"{book:.1f}", f"{100 * book / seconds:.1f}%"]
                    for label, seconds, book, median in subset]
    if unsafe_flag:
        overhead = (f"{subset[0][3] - subset[1][3]:.2f} s per submission (difference of the "
                    f"medians of the logged times; of the wall times: "
                    f"{(subset[0][1] - subset[1][1]) / args.subset:.2f} s)")
    else:
        overhead = "not measured: this grader has no `--unsafe-no-sandbox` flag"
    cluster_rate = args.submissions / runs[2][2] * 60
    lines = [
        "# Grading throughput",
        "",
        "Written by `bench/grading_throughput.py` (its docstring says what each number covers).",
        "",
        *machine_lines(["nbgrader", "dask", "distributed", "psycopg", "SQLAlchemy"], args.quick),
        *monitor.lines(paired=False),
        f"- submissions: {args.submissions} of `{ASSIGNMENT}` ("
        + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) + "); statuses: "
        + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())),
        f"- the three runs gave the same rows: {'yes' if same else 'NO'}",
        "",
        "## Submissions per minute",
        "",
        *markdown_table(["grader", "gradebook", "wall time, s", "submissions per minute",
                         "vs `--jobs 1`"], table),
        "",
        f"## Sandbox and gradebook (`--jobs 1` on a subset of {args.subset})",
        "",
        *markdown_table(["run", "wall time, s", "wall s per submission",
                         "median logged s per submission", "in the gradebook, s",
                         "gradebook share"], subset_table),
        "",
        f"- the sandbox's overhead: {overhead} (target: at most 1 s)",
        f"- `--jobs 2` grades {table[1][4]} as many per minute as `--jobs 1` (target: 1.7×)",
        "",
        "## What it implies for 1,000 submissions",
        "",
        (f"The 2-worker cluster graded {cluster_rate:.1f} per minute, "
         f"{cluster_rate / 2:.1f} per worker. If each worker has its own cores and the "
         "gradebook is far from saturated (its share above), k workers grade k times that:"),
        "",
        *markdown_table(["workers k", "minutes for 1,000 submissions"],
                        projection_rows(cluster_rate / 2)),
    ]
    write(args.output, "grading.md", lines)
    if not same:
        for label, _, _, rows in runs[1:]:
            for student in sorted(set(rows) | set(runs[0][3])):
                if rows.get(student) != runs[0][3].get(student):
                    print(f"{label} differs from {runs[0][0]} for {student}:\n"
                          f"  {runs[0][3].get(student)}\n  {rows.get(student)}", file=sys.stderr)
        sys.exit("the runs disagree: see the differences above")


if __name__ == "__main__":
    main()
