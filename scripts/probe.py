"""The container health check: exit 0 when the web process is ready, 1 (saying what is missing) when not.

Run inside the web container by docker-compose.yml's healthcheck. Standard
library only, so a probe every few seconds costs no Django or Celery import.
It asks over plain HTTP on loopback and whatever ALLOWED_HOSTS and
OPSCONSOLE_HTTPS say: the console answers its probe paths before checking
the Host header and exempts them from the HTTPS redirect (opsconsole/health.py).
``OPSCONSOLE_PROBE_URL`` points it elsewhere (another port, ``/livez``).
"""

import json
import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/readyz"
TIMEOUT_SECONDS = 4


def probe(url: str) -> tuple[bool, str]:
    if not url.startswith(("http://", "https://")):
        return False, f"OPSCONSOLE_PROBE_URL={url!r} is not an http:// or https:// URL"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - scheme checked above
            return response.status == 200, f"{response.status} ready"
    except urllib.error.HTTPError as error:
        try:
            missing = json.loads(error.read()).get("missing")
        except ValueError:
            missing = None
        return False, f"{error.code} missing: {', '.join(missing)}" if missing else f"{error.code} {error.reason}"
    except OSError as error:
        return False, f"no answer from {url}: {error}"


if __name__ == "__main__":
    ready, said = probe(os.environ.get("OPSCONSOLE_PROBE_URL", DEFAULT_URL))
    print(said)
    sys.exit(0 if ready else 1)
