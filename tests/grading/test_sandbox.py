"""Hostile submissions against the sandboxed grader (issue 14): every notebook's kernel runs under
bubblewrap, so a submission cannot read or change the course, reach the network or outlive its
grading, and the other students' scores stay full and unchanged.

All hostile submissions and two honest ones are graded in ONE run (two jobs at once, each
autograde starts a sandboxed kernel); the tests below each check one outcome of that run.
"""

import csv
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from grading.feedback import hidden_test_lines
from grading.sandbox import INSTALL_COMMAND, UID_BASE
from tests.grading import submissions as build
from tests.grading.harness import REPO, grading_environment, make_course, run_grading

ASSIGNMENT = "00-distances"
HONEST = ("honest_a", "honest_b")
FULL_SCORE = 8.0  # every autograded point; the written answer waits for a human
ORPHAN_MARKER = "coursekit-test-orphan-7f3a"

SOLUTIONS = build.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
CORRECT_MANHATTAN = build.cell_by_id(SOLUTIONS, "manhattan").source
CORRECT_MINKOWSKI = build.cell_by_id(SOLUTIONS, "minkowski").source


def snooper(root):
    """Try to read every course file, by absolute and by relative path."""
    targets = [
        root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        root / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        root / "nbgrader_config.py",
        root / "gradebook.db",
        root / ".git" / "config",
        root / "autograded" / "snooper" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",  # hidden tests
        root / "submitted" / "honest_a" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        Path("/root/.bash_history"),
        f"../../../solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        f"../../honest_a/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
    ]
    return f"""\
import os
for path in {[str(t) for t in targets]!r}:
    try:
        with open(path, 'rb') as file:
            print('READ', path, file.read()[:2000])
    except OSError as error:
        print('HIDDEN', path, type(error).__name__)
print('LISTING', sorted(os.listdir('/')), sorted(os.listdir('..')))
"""


def writer(root):
    """Try to append to every course file; write where it may (its folder, /tmp)."""
    targets = [root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
               root / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
               root / "nbgrader_config.py", root / "gradebook.db",
               root / "submitted" / "honest_a" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
               REPO / "nbgrader_config.py", "../../../nbgrader_config.py"]
    return f"""\
for path in {[str(t) for t in targets]!r}:
    try:
        with open(path, 'a') as file:
            file.write('# owned')
        print('WROTE', path)
    except OSError as error:
        print('REFUSED', path, type(error).__name__)
with open('scratch.txt', 'w') as file:
    file.write('mine')
with open('/tmp/scratch.txt', 'w') as file:
    file.write('mine')
print('OWN FILES OK')
"""


ORPHANS = f"""\
import os, subprocess, sys
for _ in range(50):  # detached: a new session each, as a daemon would
    subprocess.Popen(['{ORPHAN_MARKER}', '600'], executable='/bin/sleep',
                     start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print('STARTED 50')
"""

FORK_BOMB = f"""\
import os, sys
started = 0
try:
    while True:
        if os.fork() == 0:
            os.execv('/bin/sleep', ['{ORPHAN_MARKER}', '600'])
        started += 1
except OSError as error:
    print('FORK REFUSED after', started, type(error).__name__)
"""

# Address space without end, 1 GiB at a time (untouched: touching 4 GiB takes this machine ~40 s,
# and the cell's time limit ends such a bomb).
MEMORY_BOMB = """\
hoard = []
while True:
    hoard.append(np.empty(2**27))
"""

BIG_FILE = """\
chunk = b'x' * 2**20
try:
    with open('big.bin', 'wb') as file:
        for _ in range(1024):
            file.write(chunk)
            file.flush()
    print('WROTE 1 GiB')
except OSError as error:
    print('FILE LIMIT', error)
"""

ENDLESS_OUTPUT = "while True:\n    print('x' * 1000)\n"

PROC_READER = """\
import os
pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
for pid in pids:
    try:
        print('PROC', pid, open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' '))
    except OSError as error:
        print('PROC', pid, type(error).__name__)
print('PIDS', len(pids), 'UID', os.getuid())
"""

PARENT_KILLER = """\
import os, signal
for kill in (lambda: os.kill(os.getppid(), signal.SIGKILL), lambda: os.kill(1, signal.SIGKILL),
             lambda: os.killpg(0, signal.SIGKILL)):
    try:
        kill()
    except OSError as error:
        print('REFUSED', error)
"""


def network(port):
    return f"""\
import socket
for host in ('127.0.0.1', {socket.gethostname()!r}):
    try:
        socket.create_connection((host, {port}), timeout=2).close()
        print('CONNECTED', host)
    except OSError as error:
        print('NO NETWORK', host, type(error).__name__)
"""


HISTORY_LEAK = "print(In)\nprint(_ih[-2])\n\n" + CORRECT_MINKOWSKI

# A wrong answer (every distance 1 too large) for the attacks that try to pass it anyway.
WRONG_MANHATTAN = CORRECT_MANHATTAN + """

_right = manhattan
def manhattan(X, W):
    return _right(X, W) + 1.0
"""

# Code that, run inside the kernel, silences every failed assert (no error output, and an "ok"
# reply): the tampering scan would flag it in a cell, so the attacks below smuggle it in.
SILENCER = """\
ip = get_ipython()
ip.set_custom_exc((AssertionError,), lambda *a, **k: None)
def clear(result):
    result.error_in_exec = None
ip.events.register('post_run_cell', clear)
"""

# A process the cell starts reads the kernel's connection file and has the kernel run SILENCER
# between this cell and the tests (the scan reads no string).
KERNEL_CLIENT = f'''\
import subprocess, sys, time
code = r"""
import glob, time
import jupyter_client
found = glob.glob('/tmp/coursekit-sandbox-*/run/*.json')
print('CONNECTION FILES', found, flush=True)
kc = jupyter_client.BlockingKernelClient(connection_file=found[0])
kc.load_connection_file()
kc.start_channels()
kc.execute({SILENCER!r})
time.sleep(5)
"""
subprocess.Popen([sys.executable, "-c", code])
time.sleep(5)
'''

# A module in the working folder that patches NumPy's comparisons where the scan never looks.
NUMPY_PATCHER = """\
import os, sys
_here = {here}
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _here]
del sys.modules[__name__]
import numpy as _np
_np.allclose = lambda *a, **k: True
_np.array_equal = lambda *a, **k: True
_np.testing.assert_allclose = lambda *a, **k: None
import {name}
"""
# submitted as numpy.py (the locked setup cell imports numpy), and written as scipy/__init__.py
# by the cell itself (the tests import scipy after it)
SUBMITTED_NUMPY = NUMPY_PATCHER.format(here="os.path.dirname(os.path.abspath(__file__))",
                                       name="numpy")
MODULE_WRITER = f"""\
import os
os.makedirs('scipy', exist_ok=True)
with open('scipy/__init__.py', 'w') as file:
    file.write({NUMPY_PATCHER.format(
        here="os.path.dirname(os.path.dirname(os.path.abspath(__file__)))", name="scipy")!r})
"""

# A submitted ipykernel_launcher.py: `python -m ipykernel_launcher` would run it as the kernel.
HOSTILE_LAUNCHER = """\
import os, sys
sys.path = [p for p in sys.path if p not in ("", os.getcwd())]
from IPython.core import interactiveshell as shell
shell.InteractiveShell.showtraceback = lambda self, *a, **k: None
shell.ExecutionResult.error_in_exec = property(lambda self: None, lambda self, value: None)
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""

WRONG_ANSWER_ATTACKS = {"kernel_client": KERNEL_CLIENT, "module_shadow": MODULE_WRITER,
                        "launcher": ""}

# 600 MiB in 200 MiB files (each under the file size limit) in the working folder.
DISK_FILLER = """\
written = 0
try:
    for i in range(3):
        with open(f'fill{i}.bin', 'wb') as file:
            for _ in range(200):
                file.write(b'x' * 2**20)
                written += 1
    print('WROTE', written, 'MiB')
except OSError as error:
    print('STOPPED after', written, 'MiB:', error)
"""

# Too deep for the tampering scan's recursion (it used to end the whole grading run).
DEEP_EXPRESSION = "x = " + "1 + " * 1000 + "1\n"

# 100 MiB into the grader's log: the kernel's original stderr, a deleted temporary file.
LOG_FLOOD = """\
import os, stat
for fd in range(3, 256):
    try:
        info = os.fstat(fd)
    except OSError:
        continue
    if stat.S_ISREG(info.st_mode) and info.st_nlink == 0:
        for _ in range(100):
            os.write(fd, b'x' * 2**20)
        print('FLOODED', fd)
"""


class Listener:
    """A TCP server on the grading machine that counts who connects."""

    def __init__(self):
        self.server = socket.create_server(("", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.server.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


def course_files(root):
    """SHA-256 of every file a submission must not change: the course and all submissions."""
    hashes = {}
    for folder in ("solutions", "exercises", "submitted", ".git"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and not path.is_symlink():
                hashes[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    hashes["nbgrader_config.py"] = hashlib.sha256((root / "nbgrader_config.py").read_bytes()).hexdigest()
    return hashes


def marked_processes():
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and ORPHAN_MARKER.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("sandbox"))
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n\tsecret = course history\n")
    listener = Listener()
    manhattan_attacks = {
        "snooper": snooper(root),
        "writer": writer(root),
        "orphans": ORPHANS,
        "fork_bomb": FORK_BOMB,
        "memory_bomb": MEMORY_BOMB,
        "big_file": BIG_FILE,
        "proc_reader": PROC_READER,
        "network": network(listener.port),
        "os_exit": build.KERNEL_KILLER,
        "endless_output": ENDLESS_OUTPUT,
        "parent_killer": PARENT_KILLER,
        "disk_filler": DISK_FILLER,
        "log_flood": LOG_FLOOD,
        "deep_expression": DEEP_EXPRESSION,
    }
    for student in HONEST:
        build.submit(root, student, ASSIGNMENT, SOLUTIONS)
    for student, attack in manhattan_attacks.items():
        build.submit(root, student, ASSIGNMENT,
                     build.with_cell_source(SOLUTIONS, "manhattan",
                                            attack + "\n\n" + CORRECT_MANHATTAN))
    # a wrong Manhattan distance, and an attack that tries to make the tests pass it anyway
    for student, attack in WRONG_ANSWER_ATTACKS.items():
        build.submit(root, student, ASSIGNMENT,
                     build.with_cell_source(SOLUTIONS, "manhattan",
                                            attack + "\n\n" + WRONG_MANHATTAN))
    (root / "submitted" / "module_shadow" / ASSIGNMENT / "numpy.py").write_text(SUBMITTED_NUMPY)
    (root / "submitted" / "launcher" / ASSIGNMENT / "ipykernel_launcher.py").write_text(
        HOSTILE_LAUNCHER)
    build.submit(root, "history_leak", ASSIGNMENT,
                 build.with_cell_source(SOLUTIONS, "minkowski", HISTORY_LEAK))
    build.submit(root, "symlinker", ASSIGNMENT, SOLUTIONS)
    (root / "submitted" / "symlinker" / ASSIGNMENT / "answers.ipynb").symlink_to(
        root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    before = course_files(root)
    try:
        result = run_grading(root, "grade", "--jobs", "2", timeout=1200)
    finally:
        listener.close()
    assert result.returncode == 0, result.stdout + result.stderr
    feedback = run_grading(root, "feedback", timeout=1200)
    with open(root / "grades.csv", newline="", encoding="utf-8") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    return {"root": root, "rows": rows, "before": before, "after": course_files(root),
            "listener": listener, "stdout": result.stdout, "feedback": feedback,
            "leftovers": marked_processes()}


def outputs_of(root, student, grade_id="manhattan"):
    graded = build.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    return "".join(out.get("text", "") for out in build.cell_by_id(graded, grade_id).outputs)


@pytest.mark.slow
def test_every_submission_has_its_row(graded):
    assert len(graded["rows"]) == 21, graded["stdout"]


@pytest.mark.slow
@pytest.mark.parametrize("student", HONEST)
def test_honest_submissions_keep_every_point(graded, student):
    row = graded["rows"][student]
    assert float(row["score"]) == FULL_SCORE, row
    assert "tampering" not in row["reason"]


@pytest.mark.slow
def test_no_course_file_or_submission_changed(graded):
    assert graded["after"] == graded["before"]


@pytest.mark.slow
def test_course_files_are_invisible_from_the_kernel(graded):
    text = outputs_of(graded["root"], "snooper")
    own_copy = graded["root"] / "autograded" / "snooper" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    # what it reads at its autograded notebook's path is its own submitted copy: no hidden tests
    assert [line.split()[1] for line in text.splitlines() if line.startswith("READ")] == [
        str(own_copy)]
    assert "BEGIN HIDDEN TESTS" not in text
    assert text.count("HIDDEN ") == 10
    listing = text.split("LISTING", 1)[1]
    for name in ("solutions", "exercises", "nbgrader_config.py", "gradebook.db", ".git"):
        assert name not in listing
    assert float(graded["rows"]["snooper"]["score"]) == FULL_SCORE


@pytest.mark.slow
def test_course_files_cannot_be_written_but_the_own_copy_can(graded):
    text = outputs_of(graded["root"], "writer")
    assert "WROTE" not in text and text.count("REFUSED") == 7
    assert "OWN FILES OK" in text
    assert float(graded["rows"]["writer"]["score"]) == FULL_SCORE


@pytest.mark.slow
def test_background_processes_and_fork_bombs_end_with_their_grading(graded):
    assert "STARTED 50" in outputs_of(graded["root"], "orphans")
    assert graded["leftovers"] == []


@pytest.mark.slow
def test_fork_bomb_meets_the_process_limit_and_is_graded(graded):
    text = outputs_of(graded["root"], "fork_bomb")
    started = int(text.split("FORK REFUSED after", 1)[1].split()[0])
    assert 0 < started < 256
    assert float(graded["rows"]["fork_bomb"]["score"]) == FULL_SCORE


@pytest.mark.slow
def test_memory_bomb_gets_a_memory_error_and_loses_that_cell(graded):
    row = graded["rows"]["memory_bomb"]
    assert float(row["score"]) == FULL_SCORE - 2.0, row  # the two Manhattan tests
    graded_notebook = build.read(graded["root"] / "autograded" / "memory_bomb" / ASSIGNMENT
                                 / f"{ASSIGNMENT}.ipynb")
    errors = [out.ename for out in build.cell_by_id(graded_notebook, "manhattan").outputs
              if out.output_type == "error"]
    assert errors == ["MemoryError"]


@pytest.mark.slow
def test_file_size_is_limited(graded):
    text = outputs_of(graded["root"], "big_file")
    assert "FILE LIMIT" in text and "File too large" in text


@pytest.mark.slow
def test_kernel_sees_only_its_own_processes(graded):
    text = outputs_of(graded["root"], "proc_reader")
    pids = int(text.split("PIDS", 1)[1].split()[0])
    assert pids <= 4, text  # bubblewrap's init, the kernel, and what it runs
    for grader_process in ("nbgrader autograde", "grading.limited", "-m pytest"):
        assert grader_process not in text
    uid = int(text.split("UID", 1)[1].split()[0])
    assert UID_BASE <= uid < UID_BASE + 64


@pytest.mark.slow
def test_kernel_has_no_network(graded):
    text = outputs_of(graded["root"], "network")
    assert "CONNECTED" not in text and text.count("NO NETWORK") == 2
    assert graded["listener"].connections == 0


@pytest.mark.slow
@pytest.mark.parametrize("student", ["os_exit", "parent_killer"])
def test_a_kernel_that_ends_itself_fails_alone_with_a_one_line_reason(graded, student):
    row = graded["rows"][student]
    assert row["status"] == "failed" and row["score"] == ""
    assert "kernel died" in row["reason"] and "\n" not in row["reason"]
    log = graded["root"] / "autograded" / student / f"{ASSIGNMENT}.log"
    assert log.is_file() and "DeadKernelError" in log.read_text()


@pytest.mark.slow
def test_endless_output_fails_on_the_time_limit_with_a_one_line_reason(graded):
    row = graded["rows"]["endless_output"]
    assert row["status"] == "failed"
    assert "time limit" in row["reason"] and "\n" not in row["reason"]


@pytest.mark.slow
def test_symbolic_links_in_a_submission_are_refused(graded):
    row = graded["rows"]["symlinker"]
    assert row["status"] == "failed" and "symbolic links" in row["reason"]
    assert not (graded["root"] / "autograded" / "symlinker" / ASSIGNMENT / "answers.ipynb").exists()


@pytest.mark.slow
def test_printed_history_is_removed_and_reported_as_tampering(graded):
    row = graded["rows"]["history_leak"]
    assert row["status"] == "needs manual grading" and float(row["score"]) == 0.0
    assert "quoted a hidden test" in row["reason"] and "IPython's history" in row["reason"]
    text = outputs_of(graded["root"], "history_leak", "minkowski")
    assert "output removed by the grader" in text


@pytest.mark.slow
def test_no_hidden_test_text_in_any_output_or_feedback(graded):
    root = graded["root"]
    hidden = {line for line in hidden_test_lines(build.read(
        root / "autograded" / "honest_a" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")) if "'" not in line}
    assert hidden
    assert graded["feedback"].returncode == 0, graded["feedback"].stdout + graded["feedback"].stderr
    for student in graded["rows"]:
        path = root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        if path.exists():
            notebook = build.read(path)
            for cell in notebook.cells:
                if cell.cell_type == "code" and "BEGIN HIDDEN TESTS" not in cell.source:
                    text = str(cell.get("outputs", []))
                    assert not [line for line in hidden if line in text], (student, cell.source)
    feedback = list((root / "feedback").rglob("*"))
    assert any(path.suffix == ".html" for path in feedback)
    assert not [path for path in feedback if path.suffix == ".log"]
    for path in feedback:
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not [line for line in hidden if line in text], path


@pytest.mark.slow
def test_a_process_the_submission_starts_cannot_reach_its_own_kernel(graded):
    row = graded["rows"]["kernel_client"]  # its wrong answer fails the two Manhattan tests
    assert float(row["score"]) == FULL_SCORE - 2.0 and "tampering" not in row["reason"], row


@pytest.mark.slow
def test_modules_in_the_working_folder_replace_no_library(graded):
    row = graded["rows"]["module_shadow"]  # numpy.py submitted, scipy/ written by the cell
    assert float(row["score"]) == FULL_SCORE - 2.0, row


@pytest.mark.slow
def test_a_submitted_kernel_launcher_is_not_run(graded):
    row = graded["rows"]["launcher"]
    assert float(row["score"]) == FULL_SCORE - 2.0, row


@pytest.mark.slow
def test_writing_without_end_fills_the_sandbox_tmpfs_not_the_grader_disk(graded):
    text = outputs_of(graded["root"], "disk_filler")
    assert "No space left on device" in text, text
    written = int(text.split("STOPPED after", 1)[1].split()[0])
    assert 400 <= written < 600
    assert float(graded["rows"]["disk_filler"]["score"]) == FULL_SCORE


@pytest.mark.slow
def test_a_flooded_log_is_kept_as_head_and_tail(graded):
    assert "FLOODED" in outputs_of(graded["root"], "log_flood")
    log = graded["root"] / "autograded" / "log_flood" / f"{ASSIGNMENT}.log"
    assert log.stat().st_size < 2 * 2**20 and "cut by the grader" in log.read_text()
    assert float(graded["rows"]["log_flood"]["score"]) == FULL_SCORE


@pytest.mark.slow
def test_code_too_deep_to_scan_is_withheld_for_review_and_the_run_goes_on(graded):
    row = graded["rows"]["deep_expression"]
    assert row["status"] == "needs manual grading" and float(row["score"]) == 0.0, row
    assert "nested too deeply to be checked" in row["reason"]


@pytest.mark.slow
def test_grading_without_bubblewrap_stops_and_names_the_install_command(tmp_path):
    root = make_course(tmp_path / "course", with_release=False)
    build.submit(root, "honest_a", ASSIGNMENT, SOLUTIONS)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))  # no /usr/bin: no bwrap
    result = subprocess.run(
        [sys.executable, "-m", "grading", "--course-dir", str(root), "grade"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert INSTALL_COMMAND in result.stderr and "--unsafe-no-sandbox" in result.stderr
    assert not (root / "autograded").exists()


IMPORTS_COURSEKIT = """\
import coursekit
print('COURSEKIT AT', coursekit.__file__)
"""


@pytest.mark.slow
def test_the_coursekit_the_kernel_imports_is_visible_whichever_checkout_grades(tmp_path):
    # A second checkout (a worktree, last year's course) graded with the venv of the first,
    # whose editable install points at the first: the kernel imports the first's coursekit.
    checkout = tmp_path / "checkout"
    for folder in ("grading", "coursekit"):
        shutil.copytree(REPO / folder, checkout / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    root = make_course(tmp_path / "course", with_release=False)
    build.submit(root, "student", ASSIGNMENT, build.with_cell_source(
        SOLUTIONS, "manhattan", IMPORTS_COURSEKIT + "\n" + CORRECT_MANHATTAN))
    env = dict(grading_environment(), PYTHONPATH=str(checkout))
    result = subprocess.run(
        [sys.executable, "-m", "grading", "--course-dir", str(root), "grade"],
        cwd=checkout, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    imported = outputs_of(root, "student")
    assert "COURSEKIT AT" in imported, imported  # not a ModuleNotFoundError
    with open(root / "grades.csv", newline="", encoding="utf-8") as file:
        assert float(next(csv.DictReader(file))["score"]) == FULL_SCORE


# --- without a grading run ---------------------------------------------------------------------


def test_kernel_environment_holds_no_secret_of_the_grader(monkeypatch):
    from grading.sandbox import kernel_environment

    monkeypatch.setenv("COURSEKIT_GRADEBOOK_URL", "postgresql+psycopg://grader:secret@db/nnwt")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    env = kernel_environment()
    assert "secret" not in repr(env)
    assert env["HOME"] == "/tmp/home" and env["OMP_NUM_THREADS"] == "1"


def test_kernel_is_refused_without_a_prepared_sandbox(monkeypatch):
    from grading.sandbox import SANDBOX_ENV, SandboxedKernelManager, SandboxUnavailable

    monkeypatch.delenv(SANDBOX_ENV, raising=False)
    with pytest.raises(SandboxUnavailable, match="python -m grading grade"):
        SandboxedKernelManager()


def test_sandbox_command_hides_the_course_and_drops_privileges(tmp_path):
    from grading.sandbox import STAGED_WORK, Limits, Sandbox

    sandbox = Sandbox(uid=UID_BASE, runtime=str(tmp_path / "run"), work=str(tmp_path / "work"),
                      home=str(tmp_path / "home"), readonly=[sys.prefix], limits=Limits(nproc=64))
    command = sandbox.command("/course/autograded/student/00-distances")
    assert command[0] == "prlimit" and "--nproc=64" in command
    assert "--unshare-net" in command and "--unshare-pid" in command
    assert "--die-with-parent" in command and "--clearenv" in command
    binds = [command[i + 2] for i, arg in enumerate(command) if arg in ("--bind", "--ro-bind")]
    assert not any(path == "/" or path.startswith("/course/solutions") for path in binds)
    # the working folder is a tmpfs, filled from the work copy (bound read-only), not the notebook
    tmpfs = [command[i + 1] for i, arg in enumerate(command) if arg == "--tmpfs"]
    assert "/course/autograded/student/00-distances" in tmpfs
    assert command[command.index(str(tmp_path / "work")) + 1] == STAGED_WORK
    assert command[command.index(str(tmp_path / "work")) - 1] == "--ro-bind"
    drop = command[command.index("setpriv"):]
    assert drop[:4] == ["setpriv", f"--reuid={UID_BASE}", f"--regid={UID_BASE}", "--clear-groups"]
    assert "--no-new-privs" in drop and "--bounding-set=-all" in drop


def test_bad_limits_are_refused_naming_the_limit():
    from grading.sandbox import Limits

    with pytest.raises(ValueError, match="nproc"):
        Limits(nproc=0)


def test_outputs_quoting_a_hidden_test_are_removed_and_nothing_else():
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from grading.feedback import LEAK_NOTE, remove_leaked_hidden_tests

    hidden = "assert np.allclose(manhattan(X_secret, W_secret), expected_secret)"
    test = new_code_cell(f"### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS",
                         outputs=[new_output("error", ename="AssertionError", evalue="",
                                             traceback=[hidden])])
    leak = new_code_cell("print(In)", outputs=[new_output("stream", name="stdout",
                                                          text=repr([test.source]))])
    honest = new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")])
    notebook = new_notebook(cells=[test, leak, honest])
    assert remove_leaked_hidden_tests(notebook) == ["cell 1"]
    assert notebook.cells[1].outputs[0].text == LEAK_NOTE + "\n"
    assert notebook.cells[2].outputs[0].text == "1\n"
    assert notebook.cells[0].outputs[0].traceback == [hidden]  # left to HideHiddenTestTracebacks


# Ways to run code in the kernel that the tampering scan used to miss (each one, in a cell, made
# a wrong answer pass every test).
REACHING_THE_KERNEL = {
    "the shell through IPython": "import IPython\nip = IPython.get_ipython()",
    "get_ipython from IPython": "from IPython import get_ipython",
    "the shell class": "from IPython.core.interactiveshell import InteractiveShell",
    "the kernel": "from ipykernel.kernelbase import Kernel",
    "a client of the kernel": "import jupyter_client",
    "a pickle": "import pickle\npickle.loads(payload)",
    "a pickle through numpy": "x = np.load('x.npy', allow_pickle=True)",
    "a file run as code": "import runpy\nrunpy.run_path('x.py')",
    "the working folder back on the path": "import sys\nsys.path.insert(0, '')",
    "exec through getattr": "run = getattr(getattr(print, '__self__'), 'ex' + 'ec')\nrun(code)",
    "a dunder through getattr": "builtins = getattr(print, '__self__')",
    "exec through attrgetter": "import operator\nrun = operator.attrgetter('exec')",
}


@pytest.mark.parametrize("source", REACHING_THE_KERNEL.values(), ids=REACHING_THE_KERNEL.keys())
def test_code_that_reaches_the_kernel_is_flagged(source):
    from grading.integrity import check_cell

    assert check_cell(source, "answer", {})


@pytest.mark.parametrize("source", [
    "from IPython.display import display, HTML\ndisplay(HTML('<b>done</b>'))",
    "from IPython import display",
    "import IPython.display as ipd",
])
def test_displaying_through_ipython_is_not_flagged(source):
    from grading.integrity import check_cell

    assert check_cell(source, "answer", {}) == []


def test_a_long_log_is_read_as_head_and_tail(tmp_path):
    from grading.grade import LOG_HEAD_BYTES, LOG_TAIL_BYTES, read_log

    with open(tmp_path / "log", "w+b") as log_file:
        log_file.write(b"start\n" + b"x" * (3 * LOG_TAIL_BYTES) + b"\nTraceback: the end\n")
        text = read_log(log_file)
    assert text.startswith("start") and text.endswith("Traceback: the end\n")
    assert "cut by the grader" in text and len(text) < LOG_HEAD_BYTES + LOG_TAIL_BYTES + 100
