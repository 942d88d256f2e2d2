"""The shape of an API key, ``oc_<prefix>_<secret>``, free of models.

Apart from ``accounts.tokens`` so that the access log, imported by the ASGI
application before any app is loaded, can recognise a key without importing
models.
"""

import re
import secrets

KEY_SCHEME = "oc"
PREFIX_BYTES = 6
PREFIX_LENGTH = len(secrets.token_urlsafe(PREFIX_BYTES))  # 8 url-safe characters
SECRET_BYTES = 32
# Anything that looks like a key, for redaction (looser than a valid key on purpose).
KEY_SHAPED = re.compile(rf"\b{KEY_SCHEME}_[A-Za-z0-9_-]{{{PREFIX_LENGTH},}}")
