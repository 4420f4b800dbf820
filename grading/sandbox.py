"""The sandbox a submission's kernel runs in: bubblewrap, an unprivileged user, rlimits.

A submission is code from a stranger, run on the instructor's machine. nbgrader itself (trusted)
runs outside; only the notebook's *kernel* is sandboxed. :class:`SandboxedKernelManager`, which
``grading.preprocessors.BoundedExecute`` uses, prefixes the kernel's command with::

    prlimit <limits> -- bwrap <mounts, namespaces> -- setpriv <uid of a free slot> -- python -m ipykernel ...

and talks to the kernel over Unix sockets (``transport = "ipc"``) in a per-submission runtime
folder bound into the sandbox: unlike loopback TCP, socket files work across network namespaces.
Inside the sandbox the kernel

* sees a read-only system (``/usr``, ``/etc``), the Python installation, the virtual
  environment, the ``coursekit`` package and its data folder, and nothing else of the machine:
  not the course folder (``solutions/``, ``exercises/``, ``nbgrader_config.py``, the gradebook,
  ``.git``, ``autograded/``, ``feedback/``, other students' ``submitted/`` folders), not
  ``/root``, ``/home``, ``/run`` (no database or other sockets), the host's ``/tmp`` or ``/proc``;
* has as its working folder (the path of ``autograded/<student>/<assignment>/``, where nbgrader
  starts it) a writable *copy* of ``submitted/<student>/<assignment>/`` (plus the source's data
  files, as nbgrader adds them), not the autograded notebook that holds the hidden tests; the
  copy and ``$HOME`` are made on tmpfs inside (``work_bytes``, and ``/tmp``), so nothing it
  writes lands on the grader's disk;
* imports nothing from its working folder (``PYTHONSAFEPATH``): a submitted or written
  ``ipykernel_launcher.py``, ``numpy.py`` or ``scipy/`` cannot replace the kernel or a library;
* cannot reach its own kernel's sockets once the kernel is ready (``lock_runtime``), so a process
  it starts cannot send the kernel code between two cells;
* has a private ``/tmp`` (tmpfs, ``tmp_bytes``), its own network namespace with nothing but a
  loopback device (no network, no port on the grading machine), its own PID namespace (it sees
  only its own processes; all of them are killed when the kernel ends or the grader goes away,
  ``--die-with-parent``), its own IPC and UTS namespaces and a new session (no terminal);
* runs as a real unprivileged uid (``UID_BASE`` + a slot number, one slot per submission being
  graded at the same time on this machine, held by a file lock) with no capabilities and
  ``no_new_privs``, so ``RLIMIT_NPROC`` counts only that submission's processes and threads;
* is limited in processes and threads (``nproc``), CPU seconds per process (``cpu_seconds``),
  size of any file it writes (``fsize_bytes``) and open files (``nofile``); the address-space
  cap of ``grading.limited`` (``--memory-gb``) is inherited, and the output per cell and the
  wall time per cell are limited by BoundedExecute and nbgrader's timeout.

When the grader is not root, bubblewrap makes an unprivileged user namespace instead and the
kernel keeps the instructor's uid (still inside the same mounts and namespaces); no process
limit is set then, since it would count every process of that user.

The grader hands the sandbox to nbgrader's process in the environment variable ``SANDBOX_ENV``
(JSON); ``SANDBOX_ENV=off`` (``python -m grading grade --unsafe-no-sandbox``) runs kernels
without it. With neither, the kernel manager refuses to start a kernel: a stray ``nbgrader
autograde`` never runs a stranger's code unprotected.
"""

import contextlib
import fcntl
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

SANDBOX_ENV = "COURSEKIT_SANDBOX"
OFF = "off"
INSTALL_COMMAND = "sudo apt-get install -y bubblewrap"
UID_BASE = 61000  # the sandboxes' uids: UID_BASE .. UID_BASE + SLOTS - 1 (no login, no files)
SLOTS = 64
SLOT_LOCKS = Path(tempfile.gettempdir()) / "coursekit-sandbox-slots"
KERNEL_HOME = "/tmp/home"  # $HOME inside: a writable folder on the private /tmp
# Where the grader's copies of the submission and of $HOME are bound, read-only, inside; the
# kernel's own writable copies are made from them on tmpfs (Sandbox.command).
STAGED_WORK, STAGED_HOME = "/run/coursekit/work", "/run/coursekit/home"
COPY_IN = f'cp -R {STAGED_WORK}/. . && mkdir -p "$HOME" && cp -R {STAGED_HOME}/. "$HOME" && exec "$@"'
# Environment variables the kernel keeps (everything else, the gradebook URL included, is cut).
KEPT_ENVIRONMENT = ("LANG", "LC_ALL", "COURSEKIT_QUICK", "PYTHONHASHSEED", "MPLBACKEND", "TZ")
THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
# What nbgrader never copies between its folders (CourseDirectory.ignore's default).
IGNORED = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or does not work on this machine."""


@dataclass
class Limits:
    """Resource limits of one submission's kernel and everything it starts."""

    nproc: int = 256  # processes + threads of the sandbox's uid (torch with 1 thread needs ~20)
    cpu_seconds: int = 3600  # per process; the grader sets the submission's overall time limit
    fsize_bytes: int = 256 * 2**20  # largest file it may write
    nofile: int = 1024  # open files
    tmp_bytes: int = 512 * 2**20  # size of the private /tmp (memory)
    work_bytes: int = 512 * 2**20  # size of the writable working folder (memory)

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclass
class Sandbox:
    """One submission's sandbox, as the grader prepared it (paths are absolute)."""

    uid: int  # uid the kernel runs as; None: keep ours (grader not root)
    runtime: str  # connection file and kernel sockets, bound at the same path inside
    work: str  # writable copy of the submission, bound at the kernel's working folder
    home: str  # $HOME, bound at KERNEL_HOME
    readonly: list = field(default_factory=list)  # extra read-only paths (Python, venv, package)
    environment: dict = field(default_factory=dict)  # the kernel's whole environment
    limits: Limits = field(default_factory=Limits)
    bwrap: str = "bwrap"

    def to_json(self):
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text):
        values = json.loads(text)
        values["limits"] = Limits(**values["limits"])
        return cls(**values)

    def command(self, cwd):
        """The command line that runs a kernel command in this sandbox with working folder
        ``cwd`` (the prefix of the kernel's own command)."""
        limits = self.limits
        prefix = ["prlimit", f"--cpu={limits.cpu_seconds}", f"--fsize={limits.fsize_bytes}",
                  f"--nofile={limits.nofile}"]
        if self.uid is not None:
            prefix.append(f"--nproc={limits.nproc}")
        bwrap = [
            self.bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv",
        ]
        for name, value in sorted(self.environment.items()):
            bwrap += ["--setenv", name, value]
        mounts = Mounts()
        mounts.system(limits.tmp_bytes)
        for path in self.readonly:
            mounts.bind(path, path, readonly=True)
        mounts.bind(self.runtime, self.runtime)
        # The writable folders are tmpfs inside, never the grader's disk: a submission that
        # writes without end (files of fsize_bytes each, or millions of empty ones) fills
        # its own tmpfs, not the machine the other submissions are graded on.
        mounts.bind(self.home, STAGED_HOME, readonly=True)
        mounts.bind(self.work, STAGED_WORK, readonly=True)
        mounts.tmpfs(cwd, limits.work_bytes)
        bwrap += mounts.arguments + ["--chdir", cwd, "--"]
        drop = []
        if self.uid is not None:
            drop = ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                    "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--"]
        return prefix + ["--"] + bwrap + drop + ["/bin/sh", "-c", COPY_IN, "sh"]


class Mounts:
    """bubblewrap's mount arguments: a read-only system, then binds at any depth (the folders
    above a bind are made, world-readable, on bubblewrap's own empty root)."""

    def __init__(self):
        self.arguments = []
        self.covered = []  # trees already mounted: nothing is made inside them
        self.made = set()

    def system(self, tmp_bytes):
        self._mount("--ro-bind", "/usr", "/usr")
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / name
            if path.is_symlink():
                self.arguments += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                self._mount("--ro-bind", str(path), str(path))
        self._mount("--ro-bind", "/etc", "/etc")
        self.arguments += ["--proc", "/proc", "--dev", "/dev"]
        self.covered += ["/proc", "/dev"]
        self.arguments += ["--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
        self.made.add("/tmp")

    def bind(self, source, target, *, readonly=False):
        target = os.path.abspath(target)
        if readonly and any(is_inside(target, tree) for tree in self.covered):
            return  # already visible, read-only (e.g. a Python under /usr)
        self._make_parents(target)
        self._mount("--ro-bind" if readonly else "--bind", source, target)

    def tmpfs(self, target, size):
        """A writable tmpfs of ``size`` bytes at ``target`` (anyone may write: one user inside)."""
        target = os.path.abspath(target)
        self._make_parents(target)
        self.arguments += ["--perms", "1777", "--size", str(size), "--tmpfs", target]
        self.covered.append(target)

    def _make_parents(self, target):
        for parent in reversed(Path(target).parents):
            parent = str(parent)
            if parent == "/" or parent in self.made or any(
                    is_inside(parent, tree) for tree in self.covered):
                continue
            self.arguments += ["--perms", "0755", "--dir", parent]
            self.made.add(parent)

    def _mount(self, how, source, target):
        self.arguments += [how, source, target]
        self.covered.append(target)


def is_inside(path, tree):
    return path == tree or path.startswith(tree.rstrip("/") + "/")


# --- on the grader's side ----------------------------------------------------------------------


def check_available():
    """Raise SandboxUnavailable, with the command that fixes it, unless bubblewrap works here."""
    bwrap = shutil.which("bwrap")
    missing = [tool for tool in ("prlimit", "setpriv") if shutil.which(tool) is None]
    if bwrap is None or missing:
        what = "bubblewrap (bwrap)" if bwrap is None else " and ".join(missing)
        raise SandboxUnavailable(
            f"{what} is not installed, and every submission's kernel runs in a bubblewrap "
            f"sandbox. Install it with:\n    {INSTALL_COMMAND}\n(`make grade` does this itself "
            "when run as root with apt). To grade without any protection from the submitted "
            "code, pass --unsafe-no-sandbox."
        )
    probe = subprocess.run(
        [bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--die-with-parent",
         "--", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap is installed ({bwrap}) but cannot make a sandbox here: "
            f"{probe.stderr.strip() or probe.returncode}. bubblewrap needs root or unprivileged "
            "user namespaces (sysctl kernel.unprivileged_userns_clone=1; in a container, a "
            "seccomp profile that allows them). To grade without any protection from the "
            "submitted code, pass --unsafe-no-sandbox."
        )
    return bwrap


@contextlib.contextmanager
def prepared(course, student, assignment, *, limits=None):
    """Make the sandbox of one submission; yield the environment nbgrader's process needs.

    Holds a uid slot and a scratch folder while the block runs; afterwards every process of
    that uid is killed and the scratch folder removed.
    """
    limits = limits or Limits()
    bwrap = check_available()
    with uid_slot() as uid:
        scratch = Path(tempfile.mkdtemp(prefix="coursekit-sandbox-"))
        try:
            work, home, runtime = scratch / "work", scratch / "home", scratch / "run"
            copy_submission(course, student, assignment, work)
            (home / ".cache").mkdir(parents=True)
            fonts = Path.home() / ".cache" / "matplotlib"  # else each kernel rebuilds it (~s)
            if fonts.is_dir():
                shutil.copytree(fonts, home / ".cache" / "matplotlib")
            runtime.mkdir(mode=0o700)
            if uid is not None:
                for path in (work, home, runtime):
                    chown_tree(path, uid)
            sandbox = Sandbox(
                uid=uid, runtime=str(runtime), work=str(work), home=str(home),
                readonly=readonly_paths(), environment=kernel_environment(), limits=limits,
                bwrap=bwrap,
            )
            env = dict(os.environ)
            env[SANDBOX_ENV] = sandbox.to_json()
            yield env
        finally:
            if uid is not None:
                kill_processes_of(uid)
            shutil.rmtree(scratch, ignore_errors=True)


def copy_submission(course, student, assignment, work):
    """``submitted/<student>/<assignment>/`` with symbolic links kept as links (they point
    nowhere inside), then the source's non-notebook files over it, as nbgrader does."""
    shutil.copytree(course.submitted / student / assignment, work, symlinks=True,
                    ignore=shutil.ignore_patterns(*IGNORED))
    source = course.source / assignment
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and path.suffix != ".ipynb" and not any(
                fnmatch(part, pattern) for part in relative.parts for pattern in IGNORED):
            target = work / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                target.unlink()
            shutil.copy(path, target)


def chown_tree(path, uid):
    os.lchown(path, uid, uid)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, uid)


def readonly_paths():
    """What the kernel must see besides the system: Python, the venv, coursekit and its data."""
    paths = [os.path.realpath(sys.base_prefix), sys.prefix, os.path.realpath(sys.prefix)]
    package = kernel_package()
    if package:
        paths.append(package)
    paths.append(str(coursekit_data_home()))
    extra = os.environ.get("COURSEKIT_SANDBOX_READONLY", "")
    paths += [path for path in extra.split(os.pathsep) if path]
    return sorted({path for path in paths if os.path.exists(path)})


FIND_COURSEKIT = """\
import importlib.util
spec = importlib.util.find_spec("coursekit")
print(spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else "")
"""


@functools.cache
def kernel_package():
    """The coursekit folder a kernel imports, or None: found by the kernel's Python in
    isolated mode, without the grader's PYTHONPATH or working folder, as the sandboxed kernel
    will find it. An editable install may point into another checkout than this grader's;
    guessing "beside the grading package" would leave that one unbound, and every cell that
    imports coursekit would fail without saying why."""
    found = subprocess.run([sys.executable, "-I", "-c", FIND_COURSEKIT], capture_output=True,
                           text=True, check=False, timeout=60).stdout.strip()
    return os.path.realpath(found) if found else None


def coursekit_data_home():
    """coursekit.data.data_home() without importing coursekit (and torch) in the grader."""
    override = os.environ.get("COURSEKIT_DATA", "").strip()
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "coursekit"


def kernel_environment():
    """The kernel's whole environment: no secrets (the gradebook URL), one thread per library."""
    env = {name: os.environ[name] for name in KEPT_ENVIRONMENT if name in os.environ}
    bin_dir = os.path.dirname(sys.executable)
    env.update({
        "PATH": os.pathsep.join([bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": KERNEL_HOME,
        "TMPDIR": "/tmp",
        "USER": "student",
        "LOGNAME": "student",
        "COURSEKIT_DATA": str(coursekit_data_home()),
        # No imports from the working folder: `python -m ipykernel_launcher` would run a submitted
        # ipykernel_launcher.py as the kernel, and IPython puts the folder ahead of site-packages,
        # so a submitted or written scipy/ would replace the library the tests compare against.
        "PYTHONSAFEPATH": "1",
    })
    env.setdefault("LANG", "C.UTF-8")
    env.update({name: "1" for name in THREADS})
    return env


@contextlib.contextmanager
def uid_slot():
    """Yield a uid no other sandbox on this machine uses meanwhile (None when not root)."""
    if os.geteuid() != 0:
        yield None
        return
    SLOT_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for slot in range(SLOTS):
        handle = open(SLOT_LOCKS / f"{slot}.lock", "w")  # noqa: SIM115 (held while grading)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            uid = UID_BASE + slot
            kill_processes_of(uid)  # a grader killed with SIGKILL may have left some
            yield uid
        finally:
            handle.close()
        return
    raise SandboxUnavailable(f"all {SLOTS} sandbox slots are in use on this machine")


def processes_of(uid):
    """PIDs of the processes whose real uid is ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(int(entry))
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def kill_processes_of(uid):
    """SIGKILL every process of a sandbox uid (the PID namespace normally left none)."""
    for _ in range(10):
        pids = processes_of(uid)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --- on nbgrader's side --------------------------------------------------------------------------


def sandbox_from_environment():
    """The Sandbox the grader prepared, None for --unsafe-no-sandbox; raises if neither."""
    value = os.environ.get(SANDBOX_ENV)
    if value == OFF:
        return None
    if not value:
        raise SandboxUnavailable(
            f"no sandbox for the kernel ({SANDBOX_ENV} is not set): autograde with "
            "`python -m grading grade` (make grade), which prepares one"
        )
    return Sandbox.from_json(value)


class SandboxedKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, starting the kernel inside the grader's Sandbox and
    talking to it over Unix sockets in the sandbox's runtime folder."""

    def __init__(self, **kwargs):
        sandbox = sandbox_from_environment()
        runtime = sandbox.runtime
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("connection_file", os.path.join(runtime, "kernel.json"))
        kwargs.setdefault("ip", os.path.join(runtime, "kernel"))
        super().__init__(**kwargs)
        self.sandbox = sandbox

    def lock_runtime(self):
        """Once the kernel is ready (its sockets are bound and the grader connected), take the
        runtime folder away from it: the connection file (with the key that signs messages) is
        removed, and the folder and its socket files become the grader's, mode 0700/0600. A
        process the submission starts can then neither connect to its own kernel, to run code
        between two cells that the tampering scan never read, nor fill the disk there."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.connection_file)
        if self.sandbox.uid is None:
            return  # the kernel has our uid: permissions cannot keep it out
        runtime = self.sandbox.runtime
        for name in os.listdir(runtime):
            path = os.path.join(runtime, name)
            os.lchown(path, os.geteuid(), os.getegid())
            if not os.path.islink(path):
                os.chmod(path, 0o600)
        os.chown(runtime, os.geteuid(), os.getegid())
        os.chmod(runtime, 0o700)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        if self.sandbox.uid is not None:  # the kernel reads its keys as the sandbox's user
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)
        cwd = os.path.abspath(self._launch_args.get("cwd") or os.getcwd())
        return self.sandbox.command(cwd) + command
