"""One access line per request, never with a credential in it; JSON logs on request."""

import json
import logging
import subprocess
import sys

import pytest

from opsconsole.access_log import redact_url
from tests.factories import make_token
from tests.live import BASE_DIR, running_console


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/api/v1/alerts/?token=oc_abcdefgh_secret", "/api/v1/alerts/?token=REDACTED"),
        ("/x?api_key=1&status=firing", "/x?api_key=REDACTED&status=firing"),
        ("/x?X-Amz-Signature=abc&page=2", "/x?X-Amz-Signature=REDACTED&page=2"),
        ("/x?access_token=abc", "/x?access_token=REDACTED"),
        ("/x?password=hunter2", "/x?password=REDACTED"),
        ("/x?q=oc_abcdefgh_secretsecret", "/x?q=REDACTED"),
        ("/oops/oc_abcdefgh_secretsecret/", "/oops/REDACTED/"),
        ("/api/v1/alerts/?status=firing&search=disk", "/api/v1/alerts/?status=firing&search=disk"),
        ("/metrics/", "/metrics/"),
    ],
)
def test_credentials_in_urls_are_redacted(url, expected):
    assert redact_url(url) == expected


def test_a_request_leaves_one_line_with_the_token_prefix_and_no_key(db, client, caplog):
    token, key = make_token()
    with caplog.at_level(logging.INFO, logger="opsconsole.access"):
        client.get(f"/api/v1/alerts/?status=firing&token={key}", HTTP_AUTHORIZATION=f"Token {key}")
    lines = [record.getMessage() for record in caplog.records if record.name == "opsconsole.access"]
    assert len(lines) == 1
    method, path, status, duration, who, address = lines[0].split(" ")
    assert (method, path, status) == ("GET", "/api/v1/alerts/?status=firing&token=REDACTED", "200")
    assert duration.endswith("ms") and float(duration[:-2]) > 0
    assert (who, address) == (f"user=token:{token.prefix}", "address=127.0.0.1")
    assert key not in caplog.text


def test_a_session_request_names_the_user(staff_client, staff_user, caplog):
    with caplog.at_level(logging.INFO, logger="opsconsole.access"):
        staff_client.get("/")
    assert "GET / 200 " in caplog.text and f"user={staff_user.username} " in caplog.text


def test_json_logs_are_one_object_per_line():
    code = "import logging; logging.getLogger('opsconsole.audit').warning('login failed username=%r', 'x')"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "LOG_FORMAT": "json", "SECRET_KEY": "x" * 50, "OPSCONSOLE_VAR_DIR": "/tmp"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    record = json.loads(result.stderr.strip().splitlines()[-1])
    assert record["logger"] == "opsconsole.audit"
    assert record["level"] == "WARNING"
    assert record["message"] == "login failed username='x'"
    assert {"time", "process"} <= record.keys()


def test_a_bad_log_format_is_one_line():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "LOG_FORMAT": "xml", "SECRET_KEY": "x" * 50, "OPSCONSOLE_VAR_DIR": "/tmp"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "opsconsole: configuration error: LOG_FORMAT='xml' is neither plain nor json; for example LOG_FORMAT=json"
    ]


def test_daphnes_own_access_log_redacts_and_leaves_http_to_ours():
    with running_console("services") as console:
        import requests

        requests.get(f"{console.url}/api/v1/alerts/?token=oc_abcdefgh_pastedkey", timeout=10)
        process = console.processes[0][0]
        console.stop_web(0)
        process.log.seek(0)
        output = process.log.read().decode()
    assert "pastedkey" not in output
    assert "GET /api/v1/alerts/?token=REDACTED 401" in output
    assert '"GET /api/v1/alerts/' not in output  # daphne's own line for the request is not written too
