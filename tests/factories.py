"""Test data: users and tokens made the way the product makes them."""

import itertools

from django.contrib.auth import get_user_model

from accounts.tokens import issue_token
from metrics.points import parse_points

_numbers = itertools.count(1)
PASSWORD = "correct-horse-battery-staple-9"


def make_user(*, staff=True, superuser=False, username=None, **fields):
    username = username or f"user{next(_numbers)}"
    return get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=staff or superuser, is_superuser=superuser, **fields
    )


def make_token(user=None, name="test"):
    """A ``(token, key)`` pair for ``user`` (a new staff user by default)."""
    return issue_token(user or make_user(), name=name)


def make_points(*points):
    """Points shaped like the ingest body's, validated as the API would (``InvalidPoints`` if not)."""
    return parse_points({"points": list(points)})
