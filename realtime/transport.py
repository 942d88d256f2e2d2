"""Whether a socket's peer is keeping up: Twisted's send-buffer signal, made visible to a consumer.

Daphne hands a consumer's frames to Twisted, which buffers whatever the
kernel will not take yet, without limit. A peer that stops reading would
make that buffer grow for as long as events keep coming. Twisted already
knows when its buffer passes 64 KiB: it pauses the connection's registered
push producer, and resumes it once everything is written. ``WriteFlow`` is
that producer for a WebSocket, so :class:`realtime.delivery.Outbox` can hold
frames in its own bounded queue instead, and give up on the peer when that
queue is full.

Outside daphne (``WebsocketCommunicator`` in tests, another ASGI server)
there is no transport to ask; the socket is then treated as always writable.
"""

import functools
import logging

logger = logging.getLogger(__name__)

SCOPE_KEY = "opsconsole.transport"


class WriteFlow:
    """A Twisted streaming producer whose only product is the ``paused`` flag.

    It takes the place of the producer already registered on the transport
    (daphne's HTTP channel, left over from the upgrade) and passes every call
    on to it, so what Twisted did before still happens.
    """

    def __init__(self, protocol):
        self.paused = False
        self.on_resume = None  # set by the socket's Outbox
        self._protocol = protocol
        self._previous = getattr(protocol.transport, "producer", None)
        if self._previous is not None:
            protocol.unregisterProducer()
        protocol.registerProducer(self, True)

    @classmethod
    def attach(cls, scope):
        """The flow of the scope's connection, or None when the server gives no access to one."""
        protocol = scope.get(SCOPE_KEY)
        if protocol is None:
            return None
        try:
            return cls(protocol)
        except Exception:  # noqa: BLE001 - an unusual transport (TLS wrapper) just goes unwatched
            logger.warning("Cannot watch the send buffer of %r; this socket is not flow-controlled", protocol)
            return None

    def allow_slow_close(self, seconds):
        """Give the peer ``seconds`` (not autobahn's usual one) to answer our close before the connection is dropped.

        What is already written, up to the close frame, reaches a peer that
        reads within that time; after it, the server drops the connection and
        everything still buffered for it.
        """
        self._protocol.closeHandshakeTimeout = seconds

    def pauseProducing(self):  # noqa: N802 - Twisted's IPushProducer
        self.paused = True
        if self._previous is not None:
            self._previous.pauseProducing()

    def resumeProducing(self):  # noqa: N802
        self.paused = False
        if self._previous is not None:
            self._previous.resumeProducing()
        if self.on_resume is not None:
            self.on_resume()

    def stopProducing(self):  # noqa: N802
        self.paused = True
        self.on_resume = None
        if self._previous is not None:
            self._previous.stopProducing()


def _daphne_protocol(send):
    # Daphne's send is ``partial(server.handle_reply, protocol)``; the
    # protocol is an autobahn WebSocket protocol over a Twisted transport.
    if isinstance(send, functools.partial) and send.args and hasattr(send.args[0], "registerProducer"):
        return send.args[0]
    return None


def with_write_flow(app):
    """ASGI middleware: put the connection's protocol in the scope for :meth:`WriteFlow.attach`.

    It must wrap the whole WebSocket stack: only the outermost application
    sees the server's own ``send``.
    """

    async def application(scope, receive, send):
        if scope["type"] == "websocket":
            protocol = _daphne_protocol(send)
            if protocol is not None:
                scope = {**scope, SCOPE_KEY: protocol}
        return await app(scope, receive, send)

    return application
