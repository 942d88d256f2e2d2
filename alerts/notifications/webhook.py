"""Webhook sends: a signed JSON POST, redirects handled so a notification is never quietly lost.

Signatures follow Standard Webhooks (https://www.standardwebhooks.com/):
``webhook-id`` stays the same across retries of one delivery (receivers
deduplicate on it), ``webhook-timestamp`` is the attempt's time (receivers
reject old ones: no replays), ``webhook-signature`` is ``v1,<base64
HMAC-SHA256 of "id.timestamp.body">``.
"""

import http.client
import ssl
import time
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from standardwebhooks import Webhook

from alerts.notifications.targets import GuardedHTTPConnection, GuardedHTTPSConnection, SendError, url_problem

MAX_REDIRECTS = 5
MAX_ANSWER_BYTES = 64 * 1024  # read (and forget) this much of an answer so the connection ends cleanly
FOLLOWED = (307, 308)  # these keep the method and body by definition
REFUSED_REDIRECTS = (301, 302, 303)  # clients turn these into a GET without the body


def signature_headers(secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    # Secrets made here are ``whsec_<base64>``; an older free-text secret signs with its raw bytes.
    signer = Webhook(secret) if secret.startswith("whsec_") else Webhook(secret.encode())
    at = at.astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signer.sign(message_id, at, body.decode()),
    }


def _post(url: str, body: bytes, headers: dict[str, str], deadline: float, timeout: float) -> tuple[int, str | None]:
    parts = urlsplit(url)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SendError(f"No answer within {timeout:g} s.", retry=True)
    host = parts.hostname or ""
    connection: http.client.HTTPConnection
    if parts.scheme.lower() == "https":
        connection = GuardedHTTPSConnection(host, parts.port, timeout=remaining)
    else:
        connection = GuardedHTTPConnection(host, parts.port, timeout=remaining)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_ANSWER_BYTES)
        return response.status, response.getheader("Location")
    except SendError:
        raise
    except TimeoutError:
        raise SendError(f"No answer within {timeout:g} s.", retry=True) from None
    except ssl.SSLError:
        raise SendError(f"The TLS handshake with {host} failed (certificate or protocol).", retry=True) from None
    except http.client.HTTPException:
        raise SendError(f"{host} did not answer in HTTP.", retry=True) from None
    except OSError:
        raise SendError(f"The connection to {host} broke off.", retry=True) from None
    finally:
        connection.close()


def send_webhook(url: str, secret: str, message_id: str, body: bytes, timeout: float) -> int:
    """POST ``body`` to ``url``; the answer's status when 2xx, else :class:`SendError`.

    The whole send, redirects included, ends within ``timeout`` seconds.
    """
    headers = {"Content-Type": "application/json", "User-Agent": "opsconsole"}
    headers |= signature_headers(secret, message_id, body, datetime.now(UTC))
    deadline = time.monotonic() + timeout
    for _hop in range(MAX_REDIRECTS + 1):
        status, location = _post(url, body, headers, deadline, timeout)
        if 200 <= status < 300:
            return status
        if status in FOLLOWED:
            if not location:
                raise SendError(f"HTTP {status} redirect without a Location header.", retry=False, code=status)
            target = urljoin(url, location)
            problem = url_problem(target)
            if problem:
                raise SendError(f"HTTP {status} redirect to a refused target: {problem}", retry=False, code=status)
            url = target
            continue
        if status in REFUSED_REDIRECTS:
            raise SendError(
                f"HTTP {status} redirect not followed: it would turn the POST into a GET without the "
                "notification. Point the channel at the final URL (307 and 308 are followed).",
                retry=False,
                code=status,
            )
        if 300 <= status < 400:
            raise SendError(f"HTTP {status}: not a redirect a notification can follow.", retry=False, code=status)
        raise SendError(f"HTTP {status}", retry=status >= 500 or status == 429, code=status)
    raise SendError(f"More than {MAX_REDIRECTS} redirects.", retry=False)
