"""The ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsconsole.settings")
django_application = get_asgi_application()

# A request's thread gives up the GIL at every database or Redis round trip,
# then waits for the event loop thread, busy feeding sockets, to hand it back:
# up to Python's 5 ms switch interval each time, a dozen times a request.
# bench/load.py, 1,000 sockets and 50 writes/s: p99 262 ms at 5 ms, 219 ms here.
sys.setswitchinterval(0.0005)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402 - needs Django set up

from realtime.auth import websocket_auth  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402
from realtime.schedule import ensure_in_process_scheduler  # noqa: E402
from realtime.transport import with_write_flow  # noqa: E402

router = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": with_write_flow(websocket_auth(URLRouter(websocket_urlpatterns))),
    }
)


async def application(scope, receive, send):
    # Daphne has no lifespan events, so the embedded scheduler starts with the
    # first connection in any server; `manage.py serve` starts it at once.
    ensure_in_process_scheduler()
    await router(scope, receive, send)
