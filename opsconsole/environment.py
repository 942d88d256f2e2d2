"""Reading configuration from environment variables.

Every setting of the console comes from the environment (12-factor). These
helpers turn a variable into a typed value or fail at start-up with one line
that names the variable, says what was wrong and shows a value that would
work, instead of letting a typo become a silent default.
"""

import os
import sys
from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import overload

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
# What a process exits with when its configuration is wrong (as argparse does for bad usage).
CONFIGURATION_EXIT_CODE = 2


class ConfigurationError(ImproperlyConfigured):
    """A setting read from the environment is missing or malformed; the message is one line."""

    def __init__(self, name: str, problem: str, example: str) -> None:
        self.name = name
        super().__init__(f"{problem}; for example {name}={example}")


@overload
def env_str(name: str) -> str | None: ...
@overload
def env_str(name: str, default: str) -> str: ...
def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    words = ", ".join(sorted(TRUE_WORDS | FALSE_WORDS - {""}))
    raise ConfigurationError(name, f"{name}={raw!r} is not a boolean (use one of {words})", "1")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigurationError(name, f"{name}={raw!r} is not a whole number", str(default)) from None
    if minimum is not None and value < minimum:
        raise ConfigurationError(name, f"{name}={value} is below the minimum of {minimum}", str(default))
    if maximum is not None and value > maximum:
        raise ConfigurationError(name, f"{name}={value} is above the maximum of {maximum}", str(default))
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    example = f"{default:g}"
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigurationError(name, f"{name}={raw!r} is not a number", example) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigurationError(name, f"{name}={raw!r} is not a finite number", example)
    if minimum is not None and value < minimum:
        raise ConfigurationError(name, f"{name}={value:g} is below the minimum of {minimum:g}", example)
    return value


def env_list(name: str, default: Iterable[str] = ()) -> list[str]:
    """A comma-separated list; blanks between commas are ignored."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str, default: Iterable[str] = ()) -> list[IPv4Network | IPv6Network]:
    """A comma-separated list of IP addresses or networks (``10.0.0.5``, ``10.0.0.0/8``, ``::1``)."""
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            problem = f"{name} item {item!r} is not an IP address or network"
            raise ConfigurationError(name, problem, "10.0.0.0/8,::1") from None
    return networks


def load_settings_or_exit() -> None:
    """Load Django's settings now; on a configuration error print its one line and exit with code 2.

    Every entry point (manage.py, the ASGI module daphne imports, the Celery
    app) calls this first, so a wrong setting reads the same everywhere and
    never as a traceback.
    """
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - touching a setting is what loads them
    except ConfigurationError as error:
        print(f"opsconsole: configuration error: {error}", file=sys.stderr)
        sys.exit(CONFIGURATION_EXIT_CODE)
