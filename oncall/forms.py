"""The on-call pages' forms, read into the REST serializers' bodies: one set of rules for pages and API."""

from typing import Any

from django.http import QueryDict

BLANK_STEP_ROWS = 2
MEMBER_ROWS = 6


def parse_matchers(text: str) -> dict[str, str] | str:
    """``team=db, env=prod`` as a dict; the words of the problem when it is not that shape."""
    matchers: dict[str, str] = {}
    for part in text.replace("\n", ",").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            return f"{part.strip()!r} is not label=value."
        matchers[key.strip()] = value.strip()
    return matchers


def policy_body(post: QueryDict) -> tuple[dict[str, Any], dict[str, str]]:
    """The policy form as a PolicySerializer body, and problems the form itself found."""
    problems: dict[str, str] = {}
    matchers = parse_matchers(post.get("matchers", ""))
    if isinstance(matchers, str):
        problems["matchers"] = matchers
        matchers = {}
    steps = []
    for index in range(int(post.get("step_rows", "0") or 0)):
        target = post.get(f"step-{index}-target", "")
        if not target:
            continue  # an empty row is no step
        step: dict[str, Any] = {"target": target, "wait_minutes": post.get(f"step-{index}-wait", "5") or "5"}
        if target == "schedule":
            step["schedule"] = post.get(f"step-{index}-schedule") or None
        elif target == "users":
            step["users"] = post.getlist(f"step-{index}-users")
        elif target == "channel":
            step["channel"] = post.get(f"step-{index}-channel") or None
        steps.append(step)
    body = {
        "name": post.get("name", "").strip(),
        "position": post.get("position", "0") or "0",
        "matchers": matchers,
        "severities": post.getlist("severities"),
        "repeat": post.get("repeat", "0") or "0",
        "unacknowledge_after": post.get("unacknowledge_after", "").strip() or None,
        "is_default": post.get("is_default") == "on",
        "enabled": post.get("enabled") == "on",
        "steps": steps,
    }
    return body, problems


def flat_errors(errors: Any, prefix: str = "") -> dict[str, str]:
    """DRF's nested errors as ``{"steps.1.users": "…"}`` for the form to show beside its field."""
    if isinstance(errors, dict):
        flat: dict[str, str] = {}
        for key, value in errors.items():
            flat.update(flat_errors(value, f"{prefix}{key}."))
        return flat
    if isinstance(errors, list) and errors and all(isinstance(item, (dict, list)) for item in errors):
        flat = {}
        for index, item in enumerate(errors):
            flat.update(flat_errors(item, f"{prefix}{index}."))
        return flat
    if isinstance(errors, list):
        return {prefix.rstrip("."): " ".join(str(item) for item in errors)} if errors else {}
    return {prefix.rstrip("."): str(errors)}
