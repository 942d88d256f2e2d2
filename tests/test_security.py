"""Security by default: who may see what, escaping, deployment checks, no secrets in the repo."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from alerts.tests.factories import make_alert, make_incident
from tests.factories import make_user

BASE_DIR = Path(__file__).resolve().parent.parent
PAGES = ["/", "/metrics/", "/alerts/", "/incidents/", "/silences/"]
API_READS = [
    "/api/v1/alerts/",
    "/api/v1/incidents/",
    "/api/v1/rules/",
    "/api/v1/silences/",
    "/api/v1/stats/",
    "/api/v1/metrics/series/",
    "/api/v1/metrics/latest/",
    "/api/v1/metrics/query/?name=cpu_percent",
]
API_WRITES = [
    ("/api/v1/alerts/", {"source": "s", "title": "t"}),
    ("/api/v1/incidents/", {"title": "t"}),
    ("/api/v1/metrics/ingest/", {"points": [{"name": "m", "value": 1}]}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_of_every_page_are_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_a_non_staff_account_gets_403_on_every_page_and_endpoint(client):
    incident = make_incident()
    client.force_login(make_user(staff=False))
    for path in [*PAGES, f"/incidents/{incident.pk}/", *API_READS]:
        assert client.get(path).status_code == 403, path
    for path, body in API_WRITES:
        assert client.post(path, body, content_type="application/json").status_code == 403, path


@pytest.mark.django_db
def test_every_session_write_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(staff=True))
    alert = make_alert()
    writes = [*API_WRITES, (f"/api/v1/alerts/{alert.pk}/acknowledge/", {}), (f"/api/v1/alerts/{alert.pk}/resolve/", {})]
    for path, body in writes:
        assert client.post(path, body, content_type="application/json").status_code == 403, path
    assert (
        client.patch(f"/api/v1/alerts/{alert.pk}/", {"title": "x"}, content_type="application/json").status_code == 403
    )
    assert client.delete(f"/api/v1/alerts/{alert.pk}/").status_code == 403


@pytest.mark.django_db
def test_user_text_is_escaped_in_server_rendered_pages(staff_client):
    payload = '<script>alert("x")</script>'
    alert = make_alert(title=payload, message=payload, labels={"host": payload})
    incident = make_incident(title=payload, summary=payload, alert_ids=[alert.pk])
    for path in ["/alerts/", "/incidents/", f"/incidents/{incident.pk}/", "/"]:
        body = staff_client.get(path).content.decode()
        assert "<script>alert(" not in body, path


def test_deployment_checks_are_clean_with_debug_off_behind_https(tmp_path):
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "OPSCONSOLE_HTTPS": "1",
        "OPSCONSOLE_VAR_DIR": str(tmp_path),
    }
    env.pop("DEBUG", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_no_secret_or_default_password_is_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=BASE_DIR, capture_output=True, text=True).stdout.split()
    suspicious = re.compile(
        r"(SECRET_KEY\s*=\s*['\"][^'\"$]{8,}|BEGIN (RSA |EC )?PRIVATE KEY"
        r"|password\s*=\s*['\"](admin|password|changeme)['\"])",
        re.I,
    )
    offenders = []
    for name in tracked:
        path = BASE_DIR / name
        if (
            path.suffix in {".py", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".env", ".sh", ".md", ""}
            and path.is_file()
            and suspicious.search(path.read_text(errors="ignore"))
        ):
            offenders.append(name)
    assert offenders == []


@pytest.mark.django_db
def test_every_page_sends_the_security_headers(staff_client):
    incident = make_incident()
    alert = make_alert()
    pages = [
        *PAGES,
        f"/incidents/{incident.pk}/",
        f"/alerts/{alert.pk}/",
        "/admin/",
        "/admin/alerts/alert/",
        "/api/v1/docs/",
        "/no-such-page/",
    ]
    for path in pages:
        response = staff_client.get(path)
        directives = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'", path
        assert response["Referrer-Policy"] == "same-origin", path
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert "camera=()" in response["Permissions-Policy"], path
    assert "Content-Security-Policy" in Client().get("/login/")


# A <script> without src (other than a JSON data block), an on…= handler or a
# style= attribute is what the CSP refuses at run time; caught here at once.
INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style", re.I
)


def test_no_template_or_static_html_holds_inline_script_or_style():
    offenders = [
        f"{path.relative_to(BASE_DIR)}: {match.group(0)}"
        for path in sorted((BASE_DIR / "templates").rglob("*.html"))
        for match in INLINE_CODE.finditer(path.read_text())
    ]
    assert offenders == []
