"""Real services for the grading tests and bench/grading_throughput.py: a throwaway PostgreSQL
server (Debian's ``postgresql``: ``initdb`` and ``pg_ctl`` in a temporary folder, on a free
local port) and a local Dask cluster (a scheduler and workers, each its own process).

PostgreSQL refuses to run as root: when the tests run as root (as in CI), the server runs as
Debian's ``postgres`` user (``runuser -u postgres --``) in a folder handed over to that user.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SUPERUSER = "coursekit"  # the server's superuser, trusted on 127.0.0.1 (a throwaway server)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin():
    """The folder of ``initdb`` and ``pg_ctl``: Debian's newest, else the ones on PATH."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                    key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0)
    if debian:
        return debian[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL's initdb is missing: run `make prerequisites` or "
                       "`sudo apt-get install -y postgresql`")


def as_server_user(command):
    """``command`` run as the ``postgres`` user when we are root, else as ourselves."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def as_postgres(folder, *command):
    """Run a PostgreSQL tool in ``folder`` as the server's user; raise if it fails."""
    return subprocess.run(as_server_user([str(part) for part in command]), check=True,
                          capture_output=True, text=True, timeout=120, cwd=folder)


@dataclass
class PostgresServer:
    port: int

    def url(self, database):
        """The SQLAlchemy URL nbgrader's gradebook takes (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name):
        """Create an empty database ``name``; return its URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER,
                             dbname="postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def postgres_server():
    """A running PostgreSQL server in a temporary folder, stopped and removed on exit."""
    tools = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="coursekit-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    try:
        as_postgres(folder, tools / "initdb", "-D", data, "-U", SUPERUSER, "--auth=trust",
                    "--no-sync")
        as_postgres(folder, tools / "pg_ctl", "-D", data, "-l", folder / "server.log", "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "-w", "start")
    except subprocess.CalledProcessError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {error.stderr or error.stdout}") from error
    try:
        yield PostgresServer(port)
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            as_postgres(folder, tools / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def cluster_environment(importable=True):
    """Environment of the scheduler and workers: this venv first, and ``grading`` importable
    (``importable=False``: a worker set up wrongly, without the course on PYTHONPATH)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env.pop("PYTHONPATH", None)
    if importable:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return env


def stop(process):
    """End a process we started, and its process group (the worker's nanny has a child)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def dask_cluster(workers=2, importable=True):
    """``dask scheduler`` and ``workers`` ``dask worker`` processes (one thread each) on
    127.0.0.1; yields the scheduler's address once every worker has joined.
    ``importable=False`` starts workers that cannot import ``grading``."""
    from distributed import Client

    folder = Path(tempfile.mkdtemp(prefix="coursekit-dask-"))
    address = f"tcp://127.0.0.1:{free_port()}"
    started = []

    def start(name, *command):
        log = open(folder / f"{name}.log", "w")  # noqa: SIM115 (closed with the folder)
        started.append(subprocess.Popen(
            [str(BIN / "dask"), *command], cwd=REPO if importable else folder,
            env=cluster_environment(importable), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        ))

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port",
              address.rsplit(":", 1)[1], "--no-dashboard")
        for number in range(workers):
            start(f"worker-{number}", "worker", address, "--nthreads", "1", "--no-dashboard",
                  "--name", f"worker-{number}", "--local-directory", str(folder))
        deadline = time.monotonic() + 120
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=max(1, deadline - time.monotonic()))
        yield address
    finally:
        for process in reversed(started):
            stop(process)
        shutil.rmtree(folder, ignore_errors=True)
