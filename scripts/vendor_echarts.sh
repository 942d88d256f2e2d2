#!/usr/bin/env bash
# Copy the pinned ECharts build and its licences from npm into static/vendor/echarts/.
# The result is committed: ops consoles run on closed networks, so the pages
# must never load ECharts from a CDN. The version is pinned exactly in
# package.json and package-lock.json; `npm ci` refuses a lock that disagrees.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --silent
source=node_modules/echarts
target=static/vendor/echarts
rm -rf "$target" && mkdir -p "$target/licenses"
cp "$source/dist/echarts.min.js" "$target/"
# Apache-2.0 asks for LICENSE and NOTICE to travel with every copy.
cp "$source/LICENSE" "$target/"
if [[ -f "$source/NOTICE" ]]; then cp "$source/NOTICE" "$target/"; fi
# LICENSE points at licenses/ for the third-party code it embeds (d3), and the
# bundle compiles in zrender, whose BSD licence asks for its notice too.
if compgen -G "$source/licenses/*" >/dev/null; then cp "$source"/licenses/* "$target/licenses/"; fi
cp node_modules/zrender/LICENSE "$target/licenses/LICENSE-zrender"
node -p "require('./$source/package.json').version" > "$target/VERSION"
echo "vendored echarts $(cat "$target/VERSION") into $target"
