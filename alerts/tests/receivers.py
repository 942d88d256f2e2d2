"""Webhook receivers on loopback for the notification tests: real HTTP servers in threads."""

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from typing import Any

Answer = Callable[["Receiver", int, dict[str, str], bytes], tuple[int, dict[str, str]]]


def ok(receiver: "Receiver", number: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
    return 200, {}


class Receiver:
    """Answers each POST with ``answer(receiver, n, headers, body)`` after ``delay`` seconds; keeps every request."""

    def __init__(self, answer: Answer = ok, delay: float = 0.0) -> None:
        self.answer, self.delay = answer, delay
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append((self.path, dict(self.headers), body))
                    number = len(receiver.requests)
                time.sleep(receiver.delay)
                code, headers = receiver.answer(receiver, number, dict(self.headers), body)
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.url = self.base + "/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[tuple[int | None, str]]:
        """(alert id, event) of every request, in arrival order."""
        with self.lock:
            return [(json.loads(body)["alert"]["id"], json.loads(body)["event"]) for _, _, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Silent:
    """Accepts connections (the kernel's backlog does) and never answers a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def close(self) -> None:
        self.sock.close()


def allow_loopback_receivers(settings: Any) -> None:
    """Let a test page receivers on loopback, which production denies by default.

    Everything else stays denied: link-local, the cloud metadata address, unspecified.
    """
    settings.OPSCONSOLE_WEBHOOK_DENY_NETWORKS = [
        ip_network(net) for net in ("169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128")
    ]
