import logging
from collections.abc import Callable
from typing import Any

from daphne.endpoints import build_endpoint_description_strings
from daphne.server import Server  # installs the asyncio reactor; keep before twisted imports
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from twisted.internet import reactor
from twisted.python.failure import Failure

from opsconsole import telemetry
from realtime.schedule import ensure_in_process_scheduler

logger = logging.getLogger(__name__)


class ConsoleServer(Server):  # type: ignore[misc]  # daphne ships no types
    """Daphne's server, saying it serves only once it listens, and remembering a failure to listen."""

    def __init__(self, *args: Any, announce: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.announce = announce
        self.listen_failure: str | None = None

    def listen_success(self, port: Any) -> None:
        super().listen_success(port)
        self.announce()

    def listen_error(self, failure: Failure) -> None:
        self.listen_failure = failure.getErrorMessage()
        super().listen_error(failure)


class Command(BaseCommand):
    help = "Serve the console with daphne; without REDIS_URL the periodic jobs run in this process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: object, host: str, port: int, **options: object) -> None:
        from opsconsole.asgi import application

        if not settings.REDIS_URL:
            # The embedded shape is this one process: counts left by earlier runs start again from zero,
            # as a lone process's would. With REDIS_URL other processes may be counting beside it.
            telemetry.empty_directory()

        def announce() -> None:
            logger.info("Serving on http://%s:%s", host, port)
            self.stdout.write(f"opsconsole is serving on http://{host}:{port}/ (Ctrl-C stops it)")

        server = ConsoleServer(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            # The scheduler needs a running event loop: callLater(0) runs it
            # on the first turn of the reactor's loop (startup triggers fire
            # before the loop runs).
            # (twisted's stub types the module-level reactor as the interface class, self and all)
            ready_callable=lambda: reactor.callLater(0, ensure_in_process_scheduler),  # type: ignore[arg-type]
            websocket_max_message_size=1024 * 1024,
            announce=announce,
        )
        server.run()
        if server.listen_failure is not None:
            # A server that could not listen must not look like one that stopped cleanly.
            raise CommandError(f"cannot listen on {host}:{port}: {server.listen_failure}")
