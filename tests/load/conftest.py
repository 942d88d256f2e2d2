"""The load suite: real daphne processes on Postgres and Redis, driven by socket swarms in child processes.

One console of the production shape (two daphne processes, Celery worker
and beat with the periodic jobs at their default intervals) serves the
socket and write tests in turn; each module closes its sockets before the
next begins. ``bench/soak.py`` starts its own.

Every figure a test measures is printed with the machine's load average
(``pytest -s`` shows them): the CI host has two cores and is shared, so a
number means little without the load it was taken under.
"""

import resource

import pytest

from tests.live import SWARM_CAPS, running_console


@pytest.fixture(scope="session", autouse=True)
def _room_for_thousands_of_sockets():
    """One file descriptor per socket on the client side; the swarm processes inherit this limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture(scope="session")
def console():
    with running_console("services", web_processes=2, extra_env=SWARM_CAPS) as console:
        yield console
