"""The API's OpenAPI schema as schemathesis sees it, served in-process; shared by the schema tests."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_token, make_user

# The acceptance: no 5xx and no answer that contradicts the schema. Whether a
# schema-valid body is accepted also depends on data (an unknown username or
# alert id is schema-valid and rightly refused), so that check is not ours.
CONFORMANCE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_key(db):
    return make_token(make_user(superuser=True))[1]


@pytest.fixture
def api_schema(api_key):
    # Like Django's test client: keep the test's connection (and its
    # transaction) open across the requests the WSGI app serves.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi(
        "/api/v1/schema/?format=json", get_wsgi_application(), headers={"Authorization": f"Token {api_key}"}
    )
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
