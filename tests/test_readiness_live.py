"""/readyz on real consoles: a stopped Celery worker, and a full SQLite disk (issue 15, acceptance)."""

import contextlib
import errno
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.faults.probes import call
from tests.live import _output, _spawn, running_console

WORKER_MISSED_WITHIN_SECONDS = 60
BACK_WITHIN_SECONDS = 60
TMPFS_SIZE = "16m"


def readiness(url):
    """(status, body) of GET /readyz; status None when no HTTP answer came."""
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError as error:
        return None, str(error)


def poll_until(url, wanted, within):
    """Poll /readyz every half second until ``wanted(status, body)``; the answer and seconds taken, or the last one."""
    started = time.monotonic()
    answer = readiness(url)
    while not wanted(*answer) and time.monotonic() - started < within:
        time.sleep(0.5)
        answer = readiness(url)
    return answer, time.monotonic() - started


@pytest.mark.services
def test_readyz_names_the_worker_within_60_s_of_it_stopping_and_is_200_again_after_it_restarts():
    with running_console("services") as console:
        (status, body), _ = poll_until(console.url, lambda status, body: status == 200, 30)
        assert status == 200, body
        worker = console.workers[0]
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)

        (status, body), missed_after = poll_until(
            console.url, lambda status, body: status == 503, WORKER_MISSED_WITHIN_SECONDS + 15
        )
        assert status == 503, f"/readyz still {status} {missed_after:.0f} s after the worker stopped: {body}"
        assert body["status"] == "unavailable" and body["missing"] == ["worker"], body
        assert missed_after <= WORKER_MISSED_WITHIN_SECONDS

        console.workers[0] = restarted = _spawn(worker.args, console.env)
        (status, body), back_after = poll_until(console.url, lambda status, body: status == 200, BACK_WITHIN_SECONDS)
        assert status == 200, f"/readyz not 200 {back_after:.0f} s after the worker restarted: {body}\n" + _output(
            restarted
        )
        print(f"\nreadyz: 503 (worker) {missed_after:.1f} s after it stopped; 200 {back_after:.1f} s after restart")


@contextlib.contextmanager
def small_disk(directory):
    """A tmpfs of its own: a disk the test can fill without touching anyone else's."""
    directory.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.fail(f"This test mounts a tmpfs (it needs root with CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "--lazy", str(directory)], check=True)


def fill(directory, name="filler"):
    """Write a file until the disk refuses more; the file, and proof that the next byte fails too."""
    filler = directory / name
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 1):  # big pieces, then what is left byte by byte
            with contextlib.suppress(OSError):
                while True:
                    os.write(descriptor, b"\0" * size)
    finally:
        os.close(descriptor)
    with pytest.raises(OSError) as refused:
        (directory / "one-more-byte").write_bytes(b"\0")
    assert refused.value.errno == errno.ENOSPC
    return filler


def writes_until_refused(console, disk, attempts=40):
    """POST alerts on the full disk until one is refused; the ids of those acknowledged first.

    SQLite's write-ahead log may still own free pages when the disk fills, so
    the first writes can commit; each refusal or commit is followed by filling
    whatever space it freed, and a write must then be refused with 503 (never
    a 500) before the log's own room is used up.
    """
    acknowledged = []
    for attempt in range(attempts):
        write = call(console, "POST", "/api/v1/alerts/", {"source": "disk", "title": f"full {attempt}"}, timeout=10)
        if write.status == 503:
            return acknowledged
        assert write.status == 201, f"a write with the disk full: {write}"
        acknowledged.append(write.body["id"])
        fill(disk, name=f"filler-{attempt}")
    pytest.fail(f"{attempts} writes committed on a full disk: {acknowledged}")


def test_embedded_readyz_is_503_while_the_sqlite_disk_is_full_and_200_when_space_returns(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        database = f"sqlite:///{disk / 'opsconsole.sqlite3'}"
        with running_console("embedded", extra_env={"DATABASE_URL": database}) as console:
            (status, body), _ = poll_until(console.url, lambda status, body: status == 200, 30)
            assert status == 200, body
            assert Path(disk / "opsconsole.sqlite3").stat().st_size > 0  # the console's database is on this disk

            filler = fill(disk)
            (status, body), full_after = poll_until(console.url, lambda status, body: status == 503, 10)
            assert status == 503, f"/readyz {status} with the disk full: {body}"
            assert body["missing"] == ["database"], body
            acknowledged = writes_until_refused(console, disk)

            filler.unlink()
            (status, body), back_after = poll_until(console.url, lambda status, body: status == 200, 10)
            assert status == 200, f"/readyz {status} {back_after:.0f} s after space returned: {body}"
            for alert_id in acknowledged:  # what was acknowledged before the refusal was committed
                kept = call(console, "GET", f"/api/v1/alerts/{alert_id}/", timeout=10)
                assert kept.status == 200, f"acknowledged alert {alert_id} lost: {kept}"
            print(
                f"\nreadyz: 503 {full_after:.1f} s after the disk filled, 200 {back_after:.1f} s after it had room;"
                f" {len(acknowledged)} write(s) committed into the log's own pages before one was refused"
            )
