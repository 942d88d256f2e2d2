"""Issue 8: the memory of a daphne process stays flat (±10 %) over a soak after warm-up, measured by ``bench/soak.py``.

``OPSCONSOLE_SOAK=1`` runs the issue's soak: 5 minutes after a 1-minute
warm-up, 1,000 sockets and 50 writes a second on two daphne processes. That
takes about 7 minutes, too long for every CI run, so without the flag CI
runs the same script, never a skip: 60 s after a 15 s warm-up, 200 sockets
and 10 writes a second (what a shared 2-core host sustains next to the other
suites), against the same 10 % limit. In one minute a leak has to be bigger
to cross it (about 20 KB per write, or 100 bytes per event delivered to a
socket, on a ~130 MB process), but such a leak still fails the run, and so
does any failed write or missed event (exit status 2).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FULL = os.environ.get("OPSCONSOLE_SOAK") == "1"
ARGUMENTS = [] if FULL else ["--minutes", "1", "--warmup-seconds", "15", "--sockets", "200", "--rate", "10"]


@pytest.mark.timeout(1200 if FULL else 300)
def test_daphne_memory_stays_within_10_percent_over_the_soak():
    result = subprocess.run(
        [sys.executable, "bench/soak.py", "--tolerance", "0.10", *ARGUMENTS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1100 if FULL else 280,
    )
    print(result.stdout)
    assert result.returncode == 0, (
        f"bench/soak.py exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
