"""Daphne serving TLS itself: pages and live frames work over https and wss.

The direct socket write (``realtime.transport._write_through``) reads
attributes of Twisted's plain TCP connection; a TLS connection is a wrapper
without them and must take the usual path.
"""

import asyncio
import datetime
import json
import ssl

import pytest
import requests
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from realtime.tests.sockets import alert
from tests.live import BIN, QUIET_JOBS, _spawn, free_port, run_coroutine, running_console

pytestmark = pytest.mark.services


def self_signed(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def test_frames_reach_a_socket_over_tls(tmp_path):
    key_path, cert_path = self_signed(tmp_path)
    with running_console("services", extra_env=QUIET_JOBS) as console:
        port = free_port()
        endpoint = f"ssl:{port}:interface=127.0.0.1:privateKey={key_path}:certKey={cert_path}"
        process = _spawn([str(BIN / "daphne"), "-e", endpoint, "opsconsole.asgi:application"], console.env)
        console.processes.append((process, None))  # stopped with the others
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        url = f"https://127.0.0.1:{port}"
        _wait_healthy_tls(url, process)

        async def scenario():
            async with websockets.connect(
                f"wss://127.0.0.1:{port}/ws/alerts",
                ssl=unverified,
                additional_headers={"Authorization": f"Token {console.token}"},
            ) as sock:
                hello = json.loads(await asyncio.wait_for(sock.recv(), 10))
                await asyncio.to_thread(console.publish, "alerts", "alert", alert(title="over tls"))
                frames = [json.loads(await asyncio.wait_for(sock.recv(), 10)) for _ in range(1)]
                return hello, frames

        hello, frames = run_coroutine(scenario())
    assert hello["type"] == "connection"
    assert [(frame["type"], frame["data"]["title"]) for frame in frames] == [("alert", "over tls")]


def _wait_healthy_tls(url, process):
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the TLS daphne exited"
        try:
            if requests.get(f"{url}/healthz", verify=False, timeout=2).status_code == 200:  # noqa: S501 - our own cert
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not become healthy")
