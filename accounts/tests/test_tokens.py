"""API tokens: shown once, stored hashed, revocable, accepted as Token or Bearer."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import tokens
from accounts.models import ApiToken
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db


def test_only_a_prefix_and_a_hash_of_the_key_are_stored():
    token, key = make_token()
    row = ApiToken.objects.values().get(pk=token.pk)
    assert key not in str(row)
    assert row["key_hash"] == tokens.hash_key(key)
    assert key.startswith(f"oc_{row['prefix']}_")


def test_a_key_authenticates_as_its_user():
    user = make_user()
    _, key = make_token(user)
    assert tokens.authenticate_key(key).user == user


def test_a_key_with_one_changed_character_is_refused():
    _, key = make_token()
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert tokens.authenticate_key(forged) is None


@pytest.mark.parametrize("garbage", ["", "oc_", "oc_short", "token", "x" * 300, "oc_" + "_" * 40])
def test_malformed_keys_are_refused_without_error(garbage):
    assert tokens.authenticate_key(garbage) is None


def test_a_revoked_token_no_longer_authenticates():
    token, key = make_token()
    assert tokens.revoke(token) is True
    assert tokens.authenticate_key(key) is None


def test_revoking_twice_keeps_the_first_revocation_time():
    token, _ = make_token()
    tokens.revoke(token)
    first = token.revoked_at
    assert tokens.revoke(token) is False
    assert token.revoked_at == first


def test_a_token_of_a_deactivated_user_is_refused():
    user = make_user()
    _, key = make_token(user)
    user.is_active = False
    user.save()
    assert tokens.authenticate_key(key) is None


def test_create_api_token_prints_the_key_on_its_last_line():
    user = make_user(username="agent-owner")
    out = StringIO()
    call_command("create_api_token", "agent-owner", "--name", "agent web-1", stdout=out, stderr=StringIO())
    key = out.getvalue().strip().splitlines()[-1]
    token = tokens.authenticate_key(key)
    assert token.user == user
    assert token.name == "agent web-1"


def test_create_api_token_for_an_unknown_user_is_a_clear_error():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_token", "ghost", stdout=StringIO(), stderr=StringIO())


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "token", "bearer"])
def test_rest_accepts_token_and_bearer_schemes(client, scheme):
    _, key = make_token()
    response = client.get("/api/v1/schema/?format=json", HTTP_AUTHORIZATION=f"{scheme} {key}")
    assert response.status_code == 200


def test_rest_refuses_a_revoked_token_with_401_json(client):
    token, key = make_token()
    tokens.revoke(token)
    response = client.get("/api/v1/schema/?format=json", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_rest_without_credentials_is_401(client):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 401
    assert "credentials were not provided" in response.json()["detail"]


def test_admin_lists_tokens_and_revokes_them(client):
    admin = make_user(superuser=True)
    token, key = make_token()
    client.force_login(admin)
    listing = client.get("/admin/accounts/apitoken/")
    assert token.prefix in listing.content.decode()
    assert key not in listing.content.decode()
    client.post("/admin/accounts/apitoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]})
    assert tokens.authenticate_key(key) is None


def test_ensure_admin_creates_one_admin_only_when_no_superuser_exists():
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert "password:" in out.getvalue()
    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert "password:" not in again.getvalue()
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.filter(is_superuser=True).count() == 1


@pytest.fixture
def clean_failures():
    from django.core.cache import cache

    key = "token-failures:127.0.0.1"  # the test client's address
    cache.delete(key)
    yield lambda: cache.delete(key)
    cache.delete(key)


def test_guessing_tokens_is_throttled_per_address(client, clean_failures):
    codes = [
        client.get("/api/v1/alerts/", HTTP_AUTHORIZATION=f"Token oc_guess{n:04d}_xxxxxxxx").status_code
        for n in range(32)
    ]
    assert codes[:30] == [401] * 30
    assert codes[30:] == [429, 429]
    _, key = make_token()
    assert (
        client.get("/api/v1/alerts/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 429
    )  # until the minute passes
    clean_failures()
    assert client.get("/api/v1/alerts/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_create_api_token_expires_in_sets_the_expiry():
    make_user(username="temporary")
    out = StringIO()
    call_command("create_api_token", "temporary", "--expires-in", "90d", stdout=out, stderr=StringIO())
    token = tokens.authenticate_key(out.getvalue().strip().splitlines()[-1])
    assert token is not None and token.expires_at is not None
    remaining = token.expires_at - timezone.now()
    assert timedelta(days=89, hours=23) < remaining <= timedelta(days=90)


@pytest.mark.parametrize("lifetime", ["90", "0d", "1y", "-5d", "1.5h", "d"])
def test_create_api_token_refuses_a_lifetime_it_cannot_read(lifetime):
    make_user(username="temporary")
    with pytest.raises(CommandError, match="--expires-in: .* m, h, d or w"):
        call_command("create_api_token", "temporary", f"--expires-in={lifetime}", stdout=StringIO(), stderr=StringIO())
    assert not ApiToken.objects.exists()


def test_an_expired_token_is_refused():
    token, key = tokens.issue_token(make_user(), expires_at=timezone.now() - timedelta(seconds=1))
    assert tokens.authenticate_key(key) is None


def test_the_admin_creates_a_token_and_shows_its_key_once(client):
    owner = make_user(username="script-owner")
    client.force_login(make_user(superuser=True))
    answer = client.post("/admin/accounts/apitoken/add/", {"user": owner.pk, "name": "backup job", "expires_at": ""})
    assert answer.status_code == 200
    key = re.search(rb'value="(oc_[^"]+)"', answer.content).group(1).decode()
    token = tokens.authenticate_key(key)
    assert (token.user, token.name) == (owner, "backup job")
    assert key not in str(ApiToken.objects.values().get(pk=token.pk))
    # Nowhere else: the list and the token's own page show the prefix only.
    listing = client.get("/admin/accounts/apitoken/")
    assert token.prefix in listing.content.decode() and key not in listing.content.decode()
    assert key not in client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()


def test_the_admin_lists_when_a_token_was_last_used(client):
    token, key = make_token()
    tokens.authenticate_key(key)
    client.force_login(make_user(superuser=True))
    listing = client.get("/admin/accounts/apitoken/").content.decode()
    assert "Last used at" in listing
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
