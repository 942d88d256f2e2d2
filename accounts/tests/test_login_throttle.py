"""Password logins are throttled per username and per address, with an unlock in the admin (contract, section 11)."""

import logging

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD, make_user

LOGIN_PAGES = ["/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Each attempt hashes a password; the production hasher's cost is the point of it, not of these tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def attempt(page, username, password, address="192.0.2.10"):
    return Client(REMOTE_ADDR=address).post(page, {"username": username, "password": password})


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_the_attempt_after_the_limit_is_refused_even_with_the_right_password(db, page):
    user = make_user(staff=True)
    assert settings.AXES_FAILURE_LIMIT == 10
    for number in range(1, 10):
        answer = attempt(page, user.username, f"wrong-{number}")
        assert answer.status_code == 200, number  # the form again, with its error
    # The tenth failure reaches the limit: from here on, nothing is even checked.
    assert attempt(page, user.username, "wrong-10").status_code == 429
    answer = attempt(page, user.username, PASSWORD)
    assert answer.status_code == 429
    assert b"Too many failed logins" in answer.content
    assert b"Access attempts" in answer.content  # says where the unlock is


def test_one_address_trying_many_usernames_is_locked_out(db):
    users = [make_user(staff=True) for _ in range(11)]
    for user in users[:10]:
        attempt("/login/", user.username, "wrong")
    assert attempt("/login/", users[10].username, PASSWORD).status_code == 429
    # Another address is not affected by this one's failures.
    assert attempt("/login/", users[10].username, PASSWORD, address="198.51.100.7").status_code == 302


def test_one_username_tried_from_many_addresses_is_locked_out(db):
    user = make_user(staff=True)
    for number in range(10):
        attempt("/login/", user.username, "wrong", address=f"203.0.113.{number}")
    assert attempt("/login/", user.username, PASSWORD, address="203.0.113.200").status_code == 429


def test_an_administrator_unlocks_the_account_in_the_admin(db):
    user = make_user(staff=True)
    for _ in range(10):
        attempt("/login/", user.username, "wrong")
    assert attempt("/login/", user.username, PASSWORD).status_code == 429

    admin = Client(REMOTE_ADDR="198.51.100.20")
    admin.force_login(make_user(superuser=True))
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert user.username.encode() in listing.content
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    answer = admin.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert answer.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert attempt("/login/", user.username, PASSWORD).status_code == 302


def test_a_success_clears_the_count_of_earlier_failures(db):
    user = make_user(staff=True)
    for _ in range(9):
        attempt("/login/", user.username, "wrong")
    assert attempt("/login/", user.username, PASSWORD).status_code == 302
    for _ in range(9):
        attempt("/login/", user.username, "wrong")
    assert attempt("/login/", user.username, PASSWORD).status_code == 302


def test_logins_leave_audit_lines_without_the_password(db, caplog):
    user = make_user(staff=True)
    with caplog.at_level(logging.INFO, logger="opsconsole.audit"):
        attempt("/login/", user.username, "hunter2-wrong")
        attempt("/login/", user.username, PASSWORD)
    lines = [record.getMessage() for record in caplog.records if record.name == "opsconsole.audit"]
    assert lines == [
        f"login failed username='{user.username}' address=192.0.2.10 path=/login/",
        f"login succeeded user={user.username} address=192.0.2.10 path=/login/",
    ]
    assert "hunter2" not in caplog.text and PASSWORD not in caplog.text


def test_a_lockout_is_an_audit_line(db, caplog):
    user = make_user(staff=True)
    with caplog.at_level(logging.INFO, logger="opsconsole.audit"):
        for _ in range(10):
            attempt("/login/", user.username, "wrong")
    assert f"login locked out username='{user.username}' address=192.0.2.10 path=/login/" in caplog.text
