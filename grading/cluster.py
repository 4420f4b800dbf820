"""Grading on a Dask distributed cluster: ``python -m grading grade --scheduler tcp://HOST:8786``.

The machine that runs ``grade`` (the client) keeps all the bookkeeping, as with ``--jobs``: it
loads each assignment into the gradebook before any submission is graded, and it writes the
state file and the CSV as the rows come back. Only the grading of one submission (the function
``grade()`` would run in a thread) travels to the cluster, as one Dask task per submission.

What every worker needs:
  * the course folder at the same path as on the client (the same machine, or a shared folder),
    the course's virtual environment, and bubblewrap for the sandbox;
  * ``grading`` importable: start the worker from the course folder with ``PYTHONPATH`` set
    to it, e.g. ``PYTHONPATH=$PWD .venv/bin/dask worker tcp://HOST:8786 --nthreads 1``;
  * network access to the gradebook, which must therefore be a database server: PostgreSQL,
    ``COURSEKIT_GRADEBOOK_URL=postgresql+psycopg://USER@HOST:PORT/DB``. A SQLite file is
    refused, since workers on other machines cannot share it safely.

The client's ``COURSEKIT_GRADEBOOK_URL`` and ``COURSEKIT_CELL_TIMEOUT`` go with each task, so
``nbgrader autograde`` on a worker reads the same gradebook and limits as the client. One
cluster serves one ``grade`` run at a time.
"""

import concurrent.futures
import os

FORWARDED = ("COURSEKIT_GRADEBOOK_URL", "COURSEKIT_CELL_TIMEOUT")
CONNECT_TIMEOUT = 30  # seconds to reach the scheduler
WORKERS_TIMEOUT = 120  # seconds to wait for the first worker to join


def require_shared_gradebook(db_url):
    """Raise ``ValueError`` unless ``db_url`` is a gradebook every worker can write to."""
    if not isinstance(db_url, str):
        raise TypeError(f"db_url must be a SQLAlchemy URL string, got {db_url!r}")
    if db_url.split(":", 1)[0].split("+", 1)[0] != "postgresql":
        raise ValueError(
            f"grading on a cluster needs a PostgreSQL gradebook that every worker can reach, "
            f"not {db_url.split('://', 1)[0]}: set COURSEKIT_GRADEBOOK_URL="
            "postgresql+psycopg://USER@HOST:PORT/DBNAME (see the instructor's guide)"
        )


def forwarded_environment():
    """The client's settings that decide a grade (None: unset, and unset on the worker too)."""
    return {name: os.environ.get(name) for name in FORWARDED}


def run_with_environment(environment, function, *args):
    """On a worker: take the client's settings and this interpreter's PATH, then call."""
    from grading.course import use_this_python

    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    use_this_python()
    return function(*args)


def connect(address):
    """A ``distributed.Client`` on the scheduler at ``address``, once a worker has joined."""
    from distributed import Client

    if not isinstance(address, str) or "://" not in address:
        raise ValueError(f"scheduler must be an address like tcp://HOST:8786, got {address!r}")
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except OSError as error:
        raise ConnectionError(f"no Dask scheduler answers at {address}: {error}") from error
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except TimeoutError as error:
        client.close()
        raise ConnectionError(
            f"the Dask scheduler at {address} has no worker after {WORKERS_TIMEOUT} s: start "
            "one with `dask worker " + address + "`"
        ) from error
    return client


class ClusterExecutor(concurrent.futures.Executor):
    """A ``concurrent.futures`` executor whose calls run as tasks on a Dask cluster.

    ``submit`` returns a ``concurrent.futures.Future`` (Dask's ``ClientExecutor`` wraps its own
    futures), so the code that waits for threads waits for the cluster the same way. Every call
    is a new task (``pure=False``): grading the same submission twice is never deduplicated.
    """

    def __init__(self, address, db_url):
        require_shared_gradebook(db_url)
        self.client = connect(address)
        self.executor = self.client.get_executor(pure=False)
        self.environment = forwarded_environment()

    def submit(self, fn, /, *args, **kwargs):
        if kwargs:
            raise TypeError("ClusterExecutor.submit takes positional arguments only")
        return self.executor.submit(run_with_environment, self.environment, fn, *args)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self.executor.shutdown(wait=wait)
        self.client.close()
