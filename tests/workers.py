"""Keeps pytest-xdist workers (``make test`` runs several) out of each other's Redis keys.

Loaded with ``-p tests.workers`` (pyproject's ``addopts``), so it runs before
Django reads its settings: each worker's channel layer, replay buffer, cache
and Celery queues get a prefix of their own. pytest-django already gives each
worker its own test databases (a ``_gwN`` suffix), and every live console a
fault or browser test starts has its own database and prefix anyway.
"""

import os

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    os.environ["OPSCONSOLE_REDIS_PREFIX"] = f"{os.environ.get('OPSCONSOLE_REDIS_PREFIX', 'opsconsole')}-{_worker}"
