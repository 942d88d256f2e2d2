"""The web process's entry point: the application, and the interpreter tuned for serving it.

Only servers import this module (daphne, ``manage.py serve``); tests take
the application from ``opsconsole.routing``, so the tuning below stays out
of the test process.
"""

import gc
import sys

from opsconsole import access_log, server_limits
from opsconsole.routing import application  # noqa: F401 - what the server serves

server_limits.apply()
access_log.redact_daphne_access_log()

# A request's thread gives up the GIL at every database or Redis round trip,
# then waits for the event loop thread, busy feeding sockets, to hand it back:
# up to Python's 5 ms switch interval each time, a dozen times a request.
# bench/load.py, 1,000 sockets and 50 writes/s: p99 262 ms at 5 ms, 219 ms here.
sys.setswitchinterval(0.0005)

# A collection of the oldest generation stops the whole process, the loop
# feeding the sockets and every request thread, for as long as it takes to
# visit every tracked object: 100-400 ms, seven or eight times a minute with
# 1,000 sockets and 50 writes/s (bench/load.py, timed with gc.callbacks).
# What is loaded by now lives as long as the process, so it leaves the
# collector's view (gc.freeze), and the young generation is collected after
# 2,000 new objects instead of 700, the oldest after 100 of the middle
# one's collections instead of 10: a full collection every few minutes.
GC_THRESHOLDS = (2000, 10, 100)
gc.collect()
gc.freeze()
gc.set_threshold(*GC_THRESHOLDS)
