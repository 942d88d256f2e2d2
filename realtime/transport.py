"""A socket's connection under daphne: whether its peer is keeping up, and the cheap way to write to it.

Daphne hands a consumer's frames to Twisted, which buffers whatever the
kernel will not take yet, without limit. A peer that stops reading would
make that buffer grow for as long as events keep coming. Twisted already
knows when its buffer passes 64 KiB: it pauses the connection's registered
push producer, and resumes it once everything is written. ``WriteFlow`` is
that producer for a WebSocket, so :class:`realtime.delivery.Outbox` can hold
frames in its own bounded queue instead, and give up on the peer when that
queue is full. It also writes pushed frames to the connection directly
(:meth:`WriteFlow.write`), the broadcast path's one per-socket cost.

Outside daphne (``WebsocketCommunicator`` in tests, another ASGI server)
there is no transport to ask; the socket is then treated as always writable.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any

from twisted.internet import tcp

from realtime.frames import Frame

# A WebSocket application: (scope, receive, send) -> awaitable.
ASGIApp = Callable[[dict[str, Any], Any, Any], Any]

logger = logging.getLogger(__name__)

SCOPE_KEY = "opsconsole.transport"


class WriteFlow:
    """A Twisted streaming producer whose only product is the ``paused`` flag.

    It takes the place of the producer already registered on the transport
    (daphne's HTTP channel, left over from the upgrade) and passes every call
    on to it, so what Twisted did before still happens.
    """

    def __init__(self, protocol: Any) -> None:  # autobahn's protocol over a Twisted transport
        self.paused = False
        self.on_resume: Callable[[], None] | None = None  # set by the socket's Outbox
        self._protocol = protocol
        self._previous = getattr(protocol.transport, "producer", None)
        if self._previous is not None:
            protocol.unregisterProducer()
        protocol.registerProducer(self, True)

    @classmethod
    def attach(cls, scope: dict[str, Any]) -> "WriteFlow | None":
        """The flow of the scope's connection, or None when the server gives no access to one."""
        protocol = scope.get(SCOPE_KEY)
        if protocol is None:
            return None
        try:
            return cls(protocol)
        except Exception:  # noqa: BLE001 - an unusual transport (TLS wrapper) just goes unwatched
            logger.warning("Cannot watch the send buffer of %r; this socket is not flow-controlled", protocol)
            return None

    def write(self, frame: Frame) -> bool:
        """Write a :class:`realtime.frames.Frame` straight to the connection; False when it is not open.

        The frame is framed once for every socket it goes to (autobahn's
        prepared messages), and skips the hops from the consumer through
        Channels and daphne to autobahn, each a coroutine or a copy per
        socket and frame. When the connection is not open, the caller
        takes that usual path, which knows what to do with a closing one.
        Without compression (daphne does not offer it) and with nothing in
        autobahn's own queue, the framed bytes go to :func:`_write_through`.
        """
        protocol = self._protocol
        if protocol.state != protocol.STATE_OPEN:
            return False
        message = frame.prepared(protocol.factory)
        if protocol._perMessageCompress is None and not protocol.send_queue:
            _write_through(protocol.transport, message.payloadHybi)
        else:
            protocol.sendPreparedMessage(message)
        return True

    def allow_slow_close(self, seconds: float) -> None:
        """Give the peer ``seconds`` (not autobahn's usual one) to answer our close before the connection is dropped.

        What is already written, up to the close frame, reaches a peer that
        reads within that time; after it, the server drops the connection and
        everything still buffered for it.
        """
        self._protocol.closeHandshakeTimeout = seconds

    def pauseProducing(self) -> None:  # noqa: N802 - Twisted's IPushProducer
        self.paused = True
        if self._previous is not None:
            self._previous.pauseProducing()

    def resumeProducing(self) -> None:  # noqa: N802
        self.paused = False
        if self._previous is not None:
            self._previous.resumeProducing()
        if self.on_resume is not None:
            self.on_resume()

    def stopProducing(self) -> None:  # noqa: N802
        self.paused = True
        self.on_resume = None
        if self._previous is not None:
            self._previous.stopProducing()


def _write_through(transport: Any, data: bytes) -> None:
    """``transport.write(data)``, but straight into the kernel when nothing is queued ahead of it.

    Twisted's ``write`` always queues, registers the socket for writing and
    sends on the loop's next turn, then unregisters it: two ``epoll_ctl``
    calls and a loop turn per frame, ~20 % of a web process's CPU with 1,000
    sockets (``bench/load.py``). With nothing queued ahead, sending now keeps
    the order; what the kernel does not take is queued as usual, which keeps
    flow control (:class:`WriteFlow`) and connection-loss handling Twisted's.
    The attributes read are those of Twisted's ``FileDescriptor`` in the
    pinned release, so only a plain TCP connection takes this path; TLS
    connections always take the usual one.
    """
    if (
        isinstance(transport, tcp.Connection)  # not a TLS wrapper (daphne serving TLS itself), which has none of this
        and not transport.TLS
        and not transport._tempDataLen
        and transport.offset == len(transport.dataBuffer)
        and transport.connected
        and not transport.disconnecting
        and not transport._writeDisconnected
    ):
        sent = transport.writeSomeData(data)
        if sent == len(data):
            return
        if isinstance(sent, int):
            data = data[sent:]
    transport.write(data)


def _daphne_protocol(send: object) -> Any:
    # Daphne's send is ``partial(server.handle_reply, protocol)``; the
    # protocol is an autobahn WebSocket protocol over a Twisted transport.
    if isinstance(send, functools.partial) and send.args and hasattr(send.args[0], "registerProducer"):
        return send.args[0]
    return None


def with_write_flow(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: put the connection's protocol in the scope for :meth:`WriteFlow.attach`.

    It must wrap the whole WebSocket stack: only the outermost application
    sees the server's own ``send``.
    """

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket":
            protocol = _daphne_protocol(send)
            if protocol is not None:
                scope = {**scope, SCOPE_KEY: protocol}
        return await app(scope, receive, send)

    return application
