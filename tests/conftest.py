import pytest

from tests.factories import make_token, make_user


@pytest.fixture
def staff_user(db):
    return make_user(staff=True)


@pytest.fixture
def plain_user(db):
    return make_user(staff=False)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def staff_token(staff_user):
    """The key of an API token of a staff user."""
    return make_token(staff_user)[1]
