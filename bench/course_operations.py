"""Benchmark: how long the course's own operations take.

* the book build — the command ``make book`` runs (``jupyter-book build . -W --keep-going``),
  full setting and quick setting (``COURSEKIT_QUICK=1``, as ``make book-quick``), each into a
  fresh temporary folder so that no cached notebook outputs are reused (the repository's
  ``_build/`` is never touched; ``make``'s prerequisite checks are not timed);
* every lab (``book/**/*-lab.ipynb``) in the full and the quick setting: the seconds each
  build spent executing it (a fresh kernel each, its start included), as the build's own
  jupyter-cache records them, so that no lab is run a third time;
* autograding: the reference solution of every assignment (``solutions/<a>/<a>.ipynb``)
  submitted by one student to a scratch copy of the course and graded by
  ``python -m grading grade`` (``make grade``, one job); the time per submission is the one
  the grader logs.

``--quick`` is a smoke test of the script (< 60 s on an idle machine): no book build; the first
lab is executed in the quick setting by jupyter-cache (``jcache``, the executor the build uses)
into a fresh cache, and its time is read back the same way; one assignment graded. The full
run takes long: two builds that execute every lab (expect most of an hour on 2 cores).

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

from _common import ROOT, LoadMonitor, machine_lines, markdown_table, parse_args, timed, write

LAB_TIMEOUT = 1800
BOOK_TIMEOUT = 4 * 3600


def labs():
    """Every lab notebook of the book, in the table of contents' order."""
    entries = re.findall(r"file:\s*(\S+-lab)\s*$", (ROOT / "_toc.yml").read_text(), re.MULTILINE)
    return [ROOT / f"{entry}.ipynb" for entry in entries]


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


def executed_seconds(folder):
    """``{lab path: seconds}`` of the notebooks executed into the jupyter-cache under
    ``folder``; a lab that failed or was not executed has no entry."""
    from jupyter_cache import get_cache

    databases = list(Path(folder).rglob("global.db"))
    if not databases:
        return {}
    cache = get_cache(databases[0].parent)
    return {Path(record.uri).resolve(): record.data["execution_seconds"]
            for record in cache.list_cache_records()}


def build_book(quick):
    """``(seconds, outcome, lab_seconds)`` of one book build into a fresh temporary folder;
    ``lab_seconds`` is :func:`executed_seconds` of the build's cache."""
    with tempfile.TemporaryDirectory(prefix="course-bench-book-") as output:
        command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
                   "-W", "--keep-going", "--path-output", output]
        result, seconds = timed(subprocess.run, command, cwd=ROOT, env=environment(quick),
                                capture_output=True, text=True, timeout=BOOK_TIMEOUT, check=False)
        lab_seconds = executed_seconds(output)
    outcome = "ok" if result.returncode == 0 else f"failed (exit {result.returncode})"
    return seconds, outcome, lab_seconds


def execute_labs(paths, quick):
    """:func:`executed_seconds` of ``paths`` executed by ``jcache`` (the build's executor)
    into a fresh cache, without building the book."""
    jcache = str(Path(sys.executable).parent / "jcache")
    with tempfile.TemporaryDirectory(prefix="course-bench-labs-") as cache:
        for arguments in (["notebook", "-p", cache, "add", *map(str, paths)],
                          ["project", "-p", cache, "execute", "--timeout", str(LAB_TIMEOUT)]):
            subprocess.run([jcache, *arguments], cwd=ROOT, env=environment(quick),
                           capture_output=True, text=True, timeout=LAB_TIMEOUT, check=False)
        return executed_seconds(cache)


def lab_cell(lab_seconds, path):
    """The time and outcome cells of one lab, from ``{lab path: seconds}``."""
    seconds = lab_seconds.get(path.resolve())
    return ["—", "failed or not executed"] if seconds is None else [f"{seconds:.1f}", "ok"]


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
        *machine_lines(["coursekit", "jupyter-book", "jupyter-cache", "nbclient", "nbgrader",
                        "torch"], args.quick),
    ]
    body = []
    if args.quick:
        body += ["Book build: skipped in the quick setting.", ""]
        quick_labs, full_labs, timed_labs = execute_labs(labs()[:1], True), {}, labs()[:1]
    else:
        full_time, full_outcome, full_labs = build_book(False)
        quick_time, quick_outcome, quick_labs = build_book(True)
        rows = [["full (`make book`)", seconds_cell(full_time), full_outcome],
                ["quick (`make book-quick`)", seconds_cell(quick_time), quick_outcome]]
        body += ["## Book build", "",
                 *markdown_table(["setting", "wall time, s", "outcome"], rows), ""]
        timed_labs = labs()
    lab_rows = [[path.relative_to(ROOT).as_posix(), *lab_cell(quick_labs, path),
                 *(lab_cell(full_labs, path) if full_labs else ["—", "not run (--quick)"])]
                for path in timed_labs]
    source = "by `jcache`, no build" if args.quick else "by the two builds above"
    body += [f"## Labs (as executed {source})", "",
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
