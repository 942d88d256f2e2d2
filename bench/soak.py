#!/usr/bin/env python
"""Issue 8: the memory of a daphne process stays flat (within ±10 %) over a 5-minute soak after warm-up.

    .venv/bin/python bench/soak.py [--minutes 5] [--warmup-seconds 60] [--sockets 1000] [--rate 50]
                                   [--every 5] [--tolerance 0.10] [--web-processes 2]

Starts the production shape with ``--web-processes`` daphne processes (plus
the Celery worker and beat running the periodic jobs at their default
intervals) on a throwaway Postgres database and Redis prefix, connects ``--sockets``
WebSockets to it, and keeps ``--rate`` REST writes a second going
(create / acknowledge / resolve, open-loop, as in the load tests) through
the warm-up and the soak. Every ``--every`` seconds it samples each daphne
process's resident set size (psutil) and prints it; a process's drift is
(max - min) / mean of its samples after the warm-up, and the largest counts.

Needs ``DATABASE_URL`` (Postgres; default postgres://postgres@127.0.0.1:5432/postgres)
and ``REDIS_URL`` (default redis://127.0.0.1:6379/0). Exit status: 0 when the
drift is within ``--tolerance``; 1 when it is not; 2 when the traffic itself
failed (a write failed, or a socket missed an event) — memory that stays flat
while the server drops work proves nothing.
"""

import argparse
import contextlib
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the soak after the warm-up")
    parser.add_argument("--warmup-seconds", type=float, default=60.0, help="traffic before the samples that count")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="REST writes a second")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--tolerance", type=float, default=0.10, help="largest allowed (max - min) / mean")
    parser.add_argument("--client-processes", type=int, default=2)
    # As in bench/load.py: one per core of this 2-core host.
    parser.add_argument("--web-processes", type=int, default=2)
    return parser.parse_args(argv)


def drift(samples):
    """(max - min) / mean of ``samples``: 0 for a perfectly flat line."""
    return (max(samples) - min(samples)) / (sum(samples) / len(samples))


def sample_rss(processes, seconds, every, log):
    """Per process, ``(elapsed seconds, RSS bytes)`` every ``every`` s for ``seconds``, printed as they come."""
    samples: list[list[tuple[float, int]]] = [[] for _ in processes]
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        sizes = [process.memory_info().rss for process in processes]
        for kept, rss in zip(samples, sizes, strict=False):
            kept.append((elapsed, rss))
        log(f"  t={elapsed:6.1f} s  rss=" + "  ".join(f"{rss / MIB:7.1f} MiB" for rss in sizes))
        time.sleep(max(0.0, every - (time.monotonic() - started - elapsed)))
    return samples


def soak(args, log=print):
    """Run the soak; returns the exit status described in the module docstring."""
    import psutil

    from tests.live import SWARM_CAPS, running_console
    from tests.load.swarm import PacedWriter, load_average, swarms

    total_seconds = args.warmup_seconds + args.minutes * 60
    console_env = {"web_processes": args.web_processes, "extra_env": SWARM_CAPS}
    with running_console("services", **console_env) as console, contextlib.ExitStack() as stack:
        daphnes = [psutil.Process(process.pid) for process, _command in console.processes]
        started = swarms(stack, console.urls, console.token, args.sockets, args.client_processes)
        connects = [swarm.connected(timeout=300) for swarm in started]
        connected = sum(report["connected"] for report in connects)
        log(
            f"{connected} of {args.sockets} sockets connected in "
            f"{max(r['seconds'] for r in connects):.1f} s; {load_average()}"
        )
        if connected != args.sockets:
            log(f"FAIL: sockets did not all connect: {[e for r in connects for e in r['errors']]}")
            return 2
        writer = PacedWriter(console.urls, console.token, rate=args.rate, seconds=total_seconds)
        writing = threading.Thread(target=writer.run, name="soak-writer")
        writing.start()
        log(
            f"daphne pids {[daphne.pid for daphne in daphnes]}: RSS every {args.every:g} s, "
            f"{args.warmup_seconds:g} s warm-up then {args.minutes:g} min"
        )
        samples = sample_rss(daphnes, total_seconds, args.every, log)
        writing.join()
        delivered = [swarm.expect(writer.results.events, timeout=60) for swarm in started]
        final_load = load_average()

    writes = writer.results
    missing = sum(report["events_missing"] for report in delivered)
    log(
        f"writes: {writes.sent} sent at {args.rate:g}/s, {len(writes.errors)} failed, latency "
        f"p50 {writes.percentile(0.5) * 1000:.0f} ms p99 {writes.percentile(0.99) * 1000:.0f} ms; "
        f"events: {sum(r['sockets_complete'] for r in delivered)} of {args.sockets} sockets got all "
        f"{len(writes.events)}, {missing} (socket, event) pairs missing"
    )
    found = 0.0
    for daphne, kept in zip(daphnes, samples, strict=False):
        counted = [rss for elapsed, rss in kept if elapsed >= args.warmup_seconds]
        found = max(found, drift(counted))
        log(
            f"daphne {daphne.pid}, RSS after warm-up ({len(counted)} samples): min {min(counted) / MIB:.1f} MiB, "
            f"max {max(counted) / MIB:.1f} MiB, mean {sum(counted) / len(counted) / MIB:.1f} MiB; "
            f"first {counted[0] / MIB:.1f}, last {counted[-1] / MIB:.1f}; drift {drift(counted) * 100:.1f} %"
        )
    log(f"largest drift {found * 100:.1f} % (limit {args.tolerance * 100:g} %); {final_load}")
    if writes.errors or missing:
        socket_errors = sorted({error for report in delivered for error in report["errors"]})[:3]
        log(
            f"FAIL: the traffic failed (first write errors: {writes.errors[:3]}; socket errors: {socket_errors}), "
            "so the memory figure proves nothing"
        )
        return 2
    if found > args.tolerance:
        log("FAIL: memory is not flat")
        return 1
    log("OK: memory is flat")
    return 0


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    sys.path.insert(0, str(REPO))
    os.chdir(REPO)
    return soak(args, log=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
