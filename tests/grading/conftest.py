"""Fixtures of the grading tests: real services, started once per session and stopped at
the end (tests/grading/services.py says how)."""

import pytest

from tests.grading import services


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server on a free local port (``.create_database(name)``)."""
    try:
        with services.postgres_server() as server:
            yield server
    except RuntimeError as error:  # missing or broken PostgreSQL: say how to get it
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def dask_scheduler():
    """The address of a local Dask scheduler with two one-thread workers, each a process."""
    with services.dask_cluster(workers=2) as address:
        yield address
