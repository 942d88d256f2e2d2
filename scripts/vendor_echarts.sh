#!/usr/bin/env bash
# Copy the pinned ECharts build and its licence from npm into static/vendor/echarts/.
# The result is committed: the console must never load ECharts from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --silent
target=static/vendor/echarts
rm -rf "$target" && mkdir -p "$target"
cp node_modules/echarts/dist/echarts.min.js "$target/"
for file in LICENSE NOTICE; do
  [ -f "node_modules/echarts/$file" ] && cp "node_modules/echarts/$file" "$target/"
done
node -p "require('./node_modules/echarts/package.json').version" > "$target/VERSION"
echo "vendored echarts $(cat "$target/VERSION") into $target"
