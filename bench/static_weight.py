"""Bytes a browser downloads for the dashboard's static files: raw, gzip and brotli.

Compressed as WhiteNoise compresses them at collectstatic (gzip level 9,
brotli quality 11). ``--echarts FILE`` weighs another ECharts build in place
of the vendored one (e.g. the full ``node_modules/echarts/dist/echarts.min.js``).
"""

import argparse
import gzip
from pathlib import Path

import brotli

STATIC = Path(__file__).resolve().parent.parent / "static"
ECHARTS = STATIC / "vendor" / "echarts" / "echarts.min.js"
# What templates/base.html and templates/dashboard.html load, with the modules dashboard.js imports.
DASHBOARD = ["css/console.css", "js/theme.js", "js/dashboard.js", "js/console.js", "js/ui.js", "js/realtime.js"]


def weigh(data):
    return len(data), len(gzip.compress(data, 9)), len(brotli.compress(data))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--echarts", type=Path, default=ECHARTS)
    echarts = parser.parse_args().echarts
    rows = [("echarts.min.js", weigh(echarts.read_bytes()))]
    rows += [(name, weigh((STATIC / name).read_bytes())) for name in DASHBOARD]
    total = tuple(sum(column) for column in zip(*(sizes for _, sizes in rows), strict=True))
    print(f"{'file':<20} {'raw':>10} {'gzip':>10} {'brotli':>10}")
    for name, (raw, gzipped, brotlied) in [*rows, ("dashboard in all", total)]:
        print(f"{name:<20} {raw:>10,} {gzipped:>10,} {brotlied:>10,}")


if __name__ == "__main__":
    main()
