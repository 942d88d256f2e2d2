"""Who answers what: HTTP through Django, WebSockets through Channels."""

import os
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsconsole.settings")

from opsconsole.environment import load_settings_or_exit

# daphne imports this module first: a wrong setting is one line and exit 2 here too.
load_settings_or_exit()

from opsconsole.request_threads import django_application, on_kept_threads  # noqa: E402

http_application = on_kept_threads(django_application())

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402 - needs Django set up

from realtime.auth import websocket_auth  # noqa: E402
from realtime.lifecycle import announce_start_once  # noqa: E402
from realtime.schedule import ensure_in_process_scheduler  # noqa: E402
from realtime.transport import with_write_flow  # noqa: E402
from realtime.websocket_urls import websocket_urlpatterns  # noqa: E402

router = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": with_write_flow(websocket_auth(URLRouter(websocket_urlpatterns))),
    }
)


from opsconsole.client_address import ClientAddressMiddleware  # noqa: E402

served = ClientAddressMiddleware(router)


_web_announced = False


def announce_web_start():
    # Daphne has no lifespan events: the first connection announces the process.
    # Announcing writes to the database, so off the event loop; once per process.
    global _web_announced
    if not _web_announced:
        _web_announced = True
        threading.Thread(target=announce_start_once, args=("web",), name="announce-web", daemon=True).start()


async def application(scope, receive, send):
    # Daphne has no lifespan events, so the embedded scheduler starts with the
    # first connection in any server; `manage.py serve` starts it at once.
    ensure_in_process_scheduler()
    announce_web_start()
    await served(scope, receive, send)
