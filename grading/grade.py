"""``python -m grading grade``: autograde every submission and write one CSV row per submission.

Each submission ``submitted/<student>/<assignment>/`` is autograded by ``nbgrader autograde`` in
its own process (with its own process group and an overall time limit), so a notebook that kills
its kernel, loops forever or floods memory ends that one process and is recorded as ``failed``
with the reason; the other submissions are graded as usual.

Row status:
  graded                the score is final (autograded tests, plus manual grades if any);
  needs manual grading  a written answer waits for a grade in formgrader; the score is the
                        autograded part (pending answers count 0 until graded);
  failed                autograding did not finish (dead kernel, cell time limit, bad file...);
                        score is empty, never a silent 0, and the reason says what happened.

A submission is autograded again only when it changed (or its assignment's source, or
nbgrader_config.py, or COURSEKIT_CELL_TIMEOUT), or with ``--force``, so manual grades entered in
formgrader survive a second ``grade``. Before a submission is autograded again, its old grades
(auto and manual), autograded notebook and feedback are removed, so a failed re-grade can never
leave an earlier score behind.

Defences (each tested in tests/grading):
  * the notebook's kernel runs in a bubblewrap sandbox (grading.sandbox, unless
    ``sandbox=False``, i.e. ``--unsafe-no-sandbox``): an unprivileged user with no network,
    no view of the course or other submissions, a writable copy of its own folder, a private
    /tmp, limits on processes, CPU seconds, file size and open files; all its processes end with
    its grading. A submitted folder with symbolic links is not graded; outputs that quote a
    hidden test are removed and reported as tampering. ``reason`` is one line; nbgrader's whole
    log (its head and tail past 1.1 MB, see read_log) is kept in
    ``autograded/<student>/<assignment>.log``;
  * the notebook's kernel and nbgrader run under a memory cap (``memory_gb``, default 4 GiB of
    address space): a submission that allocates without end fails alone;
  * output beyond 100,000 characters per cell is dropped while the cell runs (BoundedExecute);
  * before scores are kept, grading.integrity reads the submitted code outside the kernel for
    ways to fool the tests (patched comparison or assert functions, ``__eq__``, a rebound ``np``,
    setattr/exec, ...). A finding withholds the autograded points (manual score 0 on every test
    cell) and sets the status to "needs manual grading": an instructor reviews it in formgrader
    and clears the override if it was harmless.
  * ``jobs`` submissions are graded at the same time, each in its own process.
"""

import concurrent.futures
import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grading import gradebook

COLUMNS = ("student", "assignment", "score", "max_score", "status", "reason")
GRADED, NEEDS_MANUAL, FAILED = "graded", "needs manual grading", "failed"
STATE_FILE = ".coursekit-grading.json"  # inside autograded/: what was graded, from which files
KERNEL_STARTUP_ALLOWANCE = 120  # seconds on top of the cells' own limits (kernel start, I/O)
DEFAULT_MEMORY_GB = 4.0  # address space per grading process; `import torch` alone takes ~1 GiB
TAMPERING = "suspected tampering"
LOG_HEAD_BYTES, LOG_TAIL_BYTES = 100_000, 1_000_000  # what is kept of a long nbgrader log


@dataclass
class Row:
    student: str
    assignment: str
    score: object  # float, or None when failed
    max_score: object
    status: str
    reason: str

    def as_csv(self):
        return {
            "student": self.student,
            "assignment": self.assignment,
            "score": "" if self.score is None else f"{self.score:g}",
            "max_score": "" if self.max_score is None else f"{self.max_score:g}",
            "status": self.status,
            "reason": self.reason,
        }


def grade(course, output, *, force=False, submission_timeout=None, jobs=1,
          memory_gb=DEFAULT_MEMORY_GB, log=print, scheduler=None, sandbox=True):
    """Autograde everything in submitted/ and write ``output`` (CSV).

    ``jobs`` submissions are autograded at the same time (each in its own process); progress is
    logged as each one finishes. With ``scheduler`` (``tcp://HOST:8786``) each submission is
    graded on a Dask cluster instead (grading.cluster; the gradebook must be PostgreSQL) and
    ``jobs`` is ignored. Returns ``(rows, setup_errors)``: the CSV rows, and the reasons
    some assignments could not be loaded into the gradebook (their submissions' rows say failed).

    ``sandbox`` (default True) runs every notebook's kernel in a bubblewrap sandbox
    (grading.sandbox); it raises ``grading.sandbox.SandboxUnavailable``, naming the install
    command, before grading anything when bubblewrap is missing here (with ``scheduler``, a
    worker without it fails its submissions with that message). ``sandbox=False`` is
    ``--unsafe-no-sandbox``: the submitted code can then read and change the whole course.
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if not memory_gb > 0:
        raise ValueError(f"memory_gb must be positive, got {memory_gb!r}")
    if sandbox and not scheduler:  # on a cluster each worker checks (a failed row says why)
        from grading.sandbox import check_available

        check_available()
    submissions = course.submissions()
    if not submissions:
        log(f"no submissions in {course.submitted} (expected <student>/<assignment>/ folders)")
    state = load_state(course)
    sources = set(course.assignments())
    # the gradebook learns each assignment once, before any worker starts writing to it
    setup_errors = {
        assignment: sync_gradebook(course, assignment, force=force)
        for assignment in sorted({a for _, a in submissions} & sources)
    }

    def grade_one(student, assignment):
        """(row, outcome to remember or None, seconds it took)."""
        started = time.monotonic()
        if assignment not in sources:
            row, outcome = failed(student, assignment, None, f"no assignment {assignment!r} in "
                                  f"{course.source.name}/"), None
        elif setup_errors[assignment]:
            row, outcome = failed(student, assignment, None, setup_errors[assignment]), None
        else:
            row, outcome = grade_submission(course, state.get(f"{student}/{assignment}", {}),
                                            student, assignment, force, submission_timeout,
                                            memory_gb, sandbox=sandbox)
        return row, outcome, time.monotonic() - started

    rows = []
    if scheduler:  # one Dask task per submission; bookkeeping stays here (grading.cluster)
        from grading.cluster import ClusterExecutor

        pool = ClusterExecutor(scheduler, course.db_url)
    else:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    with pool:
        futures = {pool.submit(grade_one, student, assignment): (student, assignment)
                   for student, assignment in submissions}
        for future in concurrent.futures.as_completed(futures):
            try:
                row, outcome, seconds = future.result()
            except Exception as error:  # on a cluster: a worker lost or broken, not this loop
                if not scheduler:
                    raise
                reason = " ".join(f"the cluster could not grade it: {type(error).__name__}: "
                                  f"{error}".split())
                row, outcome, seconds = failed(*futures[future], None, reason[:300]), None, 0.0
            if outcome is not None:
                state[f"{row.student}/{row.assignment}"] = outcome
                save_state(course, state)
            rows.append(row)
            log(progress_line(len(rows), len(submissions), row, seconds))
    write_csv(rows, output)
    log(f"wrote {len(rows)} rows to {output}")
    return rows, [error for error in setup_errors.values() if error]


def progress_line(done, total, row, seconds):
    score = "-" if row.score is None else f"{row.score:g}"
    out_of = "?" if row.max_score is None else f"{row.max_score:g}"
    detail = f" ({row.reason})" if row.reason else ""
    return (f"[{done}/{total}] {row.student} / {row.assignment}: {row.status}, "
            f"{score}/{out_of} in {seconds:.1f} s{detail}")


def failed(student, assignment, max_score, reason):
    return Row(student, assignment, None, max_score, FAILED, reason)


# --- one submission --------------------------------------------------------------------------


def grade_submission(course, previous, student, assignment, force, submission_timeout,
                     memory_gb=DEFAULT_MEMORY_GB, *, sandbox=True):
    """Autograde one submission unless it is up to date; return ``(row, outcome)``, where
    ``outcome`` is what to remember about this run (``previous`` when nothing was done)."""
    fingerprint = submission_fingerprint(course, student, assignment)
    if (
        not force
        and previous.get("fingerprint") == fingerprint
        and is_recorded(course, student, assignment, previous)
    ):
        outcome = previous
    else:
        outcome = autograde(course, student, assignment, submission_timeout, memory_gb,
                            sandbox=sandbox)
        outcome["fingerprint"] = fingerprint
        if outcome["status"] != FAILED:
            outcome["findings"] = outcome.pop("leaks", []) + [
                str(f) for f in tampering_findings(course, student, assignment)]
            if outcome["findings"]:
                gradebook.withhold_autograded_points(course, student, assignment)
    if outcome["status"] == FAILED:
        max_score = gradebook.max_score(course, assignment)
        return failed(student, assignment, max_score, outcome["reason"]), outcome
    row = row_from_gradebook(course, student, assignment)
    if outcome.get("findings"):
        warning = (f"{TAMPERING}, autograded points withheld until an instructor reviews it "
                   f"in formgrader: {'; '.join(outcome['findings'])}")
        row.reason = "; ".join(filter(None, [warning, row.reason]))
    return row, outcome


def tampering_findings(course, student, assignment):
    """grading.integrity's findings in the submitted notebooks, judged against the source:
    only cells identical to a locked source cell are trusted."""
    from grading.integrity import check_notebook

    findings = []
    for source_path in course.source_notebooks(assignment):
        submitted = course.submitted / student / assignment / source_path.name
        notebook = nbformat.read(submitted, as_version=4)
        findings += check_notebook(notebook, trusted=locked_cells(source_path))
    return findings


def locked_cells(path):
    """grade_id -> source of every locked cell of a source notebook."""
    cells = nbformat.read(path, as_version=4).cells
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in cells
        if cell.metadata.get("nbgrader", {}).get("locked")
    }


def is_recorded(course, student, assignment, previous):
    """Whether the result of an earlier run is still where it should be."""
    if previous.get("status") == FAILED:
        return True
    notebook_folder = course.autograded / student / assignment
    return notebook_folder.is_dir() and gradebook.find_submission(course, student, assignment) is not None


def autograde(course, student, assignment, submission_timeout=None, memory_gb=DEFAULT_MEMORY_GB,
              *, sandbox=True):
    """Run ``nbgrader autograde`` on one submission in a child process; return the outcome.

    The outcome is ``{"status": "autograded", "leaks": [...]}`` (``leaks``: outputs that quoted
    a hidden test and were removed, see grading.feedback) or ``{"status": "failed", "reason":
    ...}``. With ``sandbox`` (the default) the notebook's kernel runs in a bubblewrap sandbox
    (grading.sandbox). nbgrader's whole log goes to ``autograded/<student>/<assignment>.log``
    (for instructors; see log_path).
    """
    forget_submission(course, student, assignment)
    missing = missing_notebooks(course, student, assignment)
    if missing:
        return {"status": FAILED, "reason": f"no {', '.join(missing)} in the submitted folder"}
    odd = not_plain_files(course.submitted / student / assignment)
    if odd:  # nbgrader would copy what a link points to (solutions/...) into autograded/
        return {"status": FAILED, "reason": "the submitted folder holds symbolic links or special "
                f"files, which are not graded: {', '.join(odd[:5])}"}
    limit = submission_timeout or notebook_time_limit(course, assignment)
    command = [
        sys.executable, "-m", "grading.limited", f"{memory_gb:g}",  # memory cap, kernel included
        sys.executable,
        "-m",
        "nbgrader",
        "autograde",
        assignment,
        "--student",
        student,
        "--force",
    ]
    from grading.sandbox import Limits, SandboxUnavailable, prepared

    if sandbox:

        # CPU seconds per process: never more than the whole submission may take
        context = prepared(course, student, assignment,
                           limits=Limits(cpu_seconds=int(limit) + 1))
    else:
        context = contextlib.nullcontext({**os.environ, "COURSEKIT_SANDBOX": "off"})
    try:
        with context as env, tempfile.TemporaryFile() as log_file:
            process = subprocess.Popen(
                command,
                cwd=course.root,
                env=autograde_environment(env),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one process group: a timeout kills nbgrader, children
            )
            try:
                process.wait(timeout=limit)
                timed_out = False
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                timed_out = True
            log = read_log(log_file)
    except SandboxUnavailable as error:
        return {"status": FAILED, "reason": one_line(str(error))}
    if timed_out:
        forget_submission(course, student, assignment)
        keep_log(course, student, assignment, log)
        return {
            "status": FAILED,
            "reason": f"grading the notebook took longer than {limit:g} s in all and was stopped",
        }
    if process.returncode != 0:
        forget_submission(course, student, assignment)  # no partial grades left in the gradebook
        where = keep_log(course, student, assignment, log)
        return {"status": FAILED,
                "reason": f"{explain_failure(log, process.returncode)} (log: {where})"}
    leaks = remove_leaks(course, student, assignment)
    keep_log(course, student, assignment, log)
    return {"status": "autograded", "leaks": leaks}


def read_log(log_file):
    """nbgrader's log (a binary file), or its head and tail when it is long: the kernel writes
    to the same file (a submission can fill it up to the sandbox's file size limit, 256 MiB,
    which would then be held in the grader's memory and kept on disk for each such submission)."""
    size = log_file.seek(0, os.SEEK_END)
    log_file.seek(0)
    if size <= LOG_HEAD_BYTES + LOG_TAIL_BYTES:
        return log_file.read().decode("utf-8", errors="replace")
    head = log_file.read(LOG_HEAD_BYTES).decode("utf-8", errors="replace")
    log_file.seek(size - LOG_TAIL_BYTES)
    tail = log_file.read().decode("utf-8", errors="replace")
    cut = size - LOG_HEAD_BYTES - LOG_TAIL_BYTES
    return f"{head}\n... {cut} bytes of the log cut by the grader ...\n{tail}"


def log_path(course, student, assignment):
    """``autograded/<student>/<assignment>.log``: beside the autograded folder, not in it, so that
    it outlives a failed run (which leaves no folder) and nbgrader never copies it to feedback."""
    return course.autograded / student / f"{assignment}.log"


def keep_log(course, student, assignment, log):
    """Write nbgrader's whole log beside the autograded notebook; return its path, relative."""
    path = log_path(course, student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(log, encoding="utf-8")
    return str(path.relative_to(course.root))


def one_line(text):
    return " ".join(text.split())


def not_plain_files(folder):
    """Paths (relative) in ``folder`` that are neither plain files nor folders, links included."""
    odd = []
    for path in sorted(Path(folder).rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            odd.append(str(path.relative_to(folder)))
    return odd


def remove_leaks(course, student, assignment):
    """Remove outputs that quote a hidden test from the autograded notebooks; return findings."""
    from grading.feedback import remove_leaked_hidden_tests

    findings = []
    for path in sorted((course.autograded / student / assignment).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        cells = remove_leaked_hidden_tests(notebook)
        if cells:
            nbformat.write(notebook, path)
            findings += [f"{cell}: its output quoted a hidden test (removed)" for cell in cells]
    return findings


def autograde_environment(base=None):
    """The child's environment (from ``base``, default ours): nbgrader_config.py must load,
    and must import this package."""
    env = dict(os.environ if base is None else base)
    # traitlets only logs a broken config file and goes on with defaults: never grade that way
    env["TRAITLETS_APPLICATION_RAISE_CONFIG_FILE_ERROR"] = "1"
    package_parent = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    return env


def explain_failure(log, returncode):
    """A one-line reason for a failed ``nbgrader autograde``, from its log."""
    if "DeadKernelError" in log or "Kernel died" in log:
        return (
            "the kernel died while running the notebook (the code called os._exit or exit, "
            "crashed, or ran out of memory); it was not graded"
        )
    timeout = re.search(r"CellTimeoutError: .*?after (\d+) seconds", log)
    if timeout or "CellTimeoutError" in log:
        seconds = f" of {timeout.group(1)} s" if timeout else ""
        preview = re.search(r"Here is a preview of the cell contents:\s*-+\s*\n(.+)", log)
        cell = f"; the cell begins: {preview.group(1).strip()[:80]!r}" if preview else ""
        return (
            f"a cell ran past its time limit{seconds} (nbgrader_config.py) and grading was "
            f"stopped{cell}"
        )
    if returncode < 0:
        return f"nbgrader was killed by signal {-returncode} (out of memory?)"
    # the last exception line of the traceback, e.g. "nbformat.reader.NotJSONError: ..."
    errors = re.findall(r"^\s*((?:\w+\.)*\w*(?:Error|Exception)\b.*)$", log, flags=re.MULTILINE)
    errors = [line for line in errors if not line.startswith("NbGraderException")]
    detail = errors[-1].strip() if errors else f"exit status {returncode}"
    return f"nbgrader autograde failed: {detail[:200]}"


def forget_submission(course, student, assignment):
    """Remove a submission's grades (auto and manual), autograded notebook and feedback."""
    gradebook.forget_grades(course, student, assignment)
    for folder in (
        course.autograded / student / assignment,
        course.feedback / student / assignment,
    ):
        shutil.rmtree(folder, ignore_errors=True)


def missing_notebooks(course, student, assignment):
    submitted = course.submitted / student / assignment
    return [
        path.name
        for path in course.source_notebooks(assignment)
        if not (submitted / path.name).is_file()
    ]


def notebook_time_limit(course, assignment):
    """Overall limit for one submission: every source code cell at its own limit, plus startup."""
    cell_limit = course.setting("Execute", "timeout", 30)
    timeout_func = course.setting("Execute", "timeout_func", None)
    total = KERNEL_STARTUP_ALLOWANCE
    for path in course.source_notebooks(assignment):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                total += (timeout_func(cell) if timeout_func else cell_limit) or cell_limit
    return total


# --- rows from the gradebook ------------------------------------------------------------------


def sync_gradebook(course, assignment, *, force=False):
    """Record the assignment's current cells, tests and points in the gradebook.

    Autograding restores locked cells from, and scores against, what the gradebook holds, so it
    must match solutions/. Returns None, or the reason the gradebook could not be updated.
    """
    error = gradebook.load_assignment(course, assignment)
    if error and force and "submissions associated with it" in error:
        for student, _ in gradebook.submissions_of(course, assignment):
            forget_submission(course, student, assignment)
        error = gradebook.load_assignment(course, assignment)
    if error and "submissions associated with it" in error:
        return (
            f"{course.source.name}/{assignment} added or removed graded cells after "
            "submissions were graded; run grade --force to regrade all of them"
        )
    return error


def row_from_gradebook(course, student, assignment):
    found = gradebook.find_submission(course, student, assignment)
    if found is None:
        return failed(
            student,
            assignment,
            gradebook.max_score(course, assignment),
            "autograding reported success but left no grades in the gradebook",
        )
    score, max_score, pending, lost = found
    notes = []
    if pending:
        notes.append(f"awaiting a manual grade: {', '.join(pending)}; score is the autograded part")
    if lost:
        notes.append(f"lost points in: {', '.join(lost)}")
    restored = restored_cells(course, student, assignment)
    if restored:
        notes.append(f"deleted cells restored from the source: {', '.join(restored)}")
    status = NEEDS_MANUAL if pending else GRADED
    return Row(student, assignment, score, max_score, status, "; ".join(notes))


def restored_cells(course, student, assignment):
    """grade_ids of cells that nbgrader put back because the student had deleted them."""
    restored = []
    for path in sorted((course.autograded / student / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if "was missing from the submission" in cell.source.split("\n", 1)[0]:
                restored.append(cell.metadata.get("nbgrader", {}).get("grade_id", "?"))
    return restored


# --- bookkeeping -----------------------------------------------------------------------------


def submission_fingerprint(course, student, assignment):
    """SHA-256 of everything that decides a grade: the submission, the source, the config."""
    digest = hashlib.sha256()
    folders = (course.submitted / student / assignment, course.source / assignment)
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if ".ipynb_checkpoints" in path.parts:
                continue
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            with open(path, "rb") as file:  # in blocks: a huge submitted file stays on disk
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
        digest.update(b"\1")
    digest.update((course.root / "nbgrader_config.py").read_bytes())
    digest.update(os.environ.get("COURSEKIT_CELL_TIMEOUT", "").encode())
    return digest.hexdigest()


def load_state(course):
    try:
        return json.loads((course.autograded / STATE_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def save_state(course, state):
    course.autograded.mkdir(parents=True, exist_ok=True)
    (course.autograded / STATE_FILE).write_text(json.dumps(state, indent=1, sort_keys=True))


def write_csv(rows, output):
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS)
        writer.writeheader()
        for row in sorted(rows, key=lambda r: (r.student, r.assignment)):
            writer.writerow(row.as_csv())
