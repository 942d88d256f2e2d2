"""Private servers for the fault suite: each module stops its own, never the shared ones."""

import pytest

from tests.faults.servers import private_postgres, private_redis


@pytest.fixture(scope="module")
def redis_server():
    with private_redis() as server:
        yield server


@pytest.fixture(scope="module")
def postgres_server():
    with private_postgres() as server:
        yield server
