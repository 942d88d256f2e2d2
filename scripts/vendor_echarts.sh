#!/usr/bin/env bash
# Build ECharts with only the charts and components the pages use
# (scripts/echarts_bundle.js) and copy it with its licences into
# static/vendor/echarts/. The result is committed: ops consoles run on closed
# networks, so the pages must never load ECharts from a CDN. ECharts and the
# bundler (esbuild) are pinned exactly in package.json and package-lock.json;
# `npm ci` refuses a lock that disagrees.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --silent
source=node_modules/echarts
target=static/vendor/echarts
rm -rf "$target" && mkdir -p "$target/licenses"
version=$(node -p "require('./$source/package.json').version")
# The full dist/echarts.min.js is 1.1 MB; this one about half (bench/README.md).
node_modules/.bin/esbuild scripts/echarts_bundle.js --bundle --minify --format=iife --global-name=echarts \
  --target=es2020 --legal-comments=eof --log-level=warning --outfile="$target/echarts.min.js" \
  --banner:js="/*! Apache ECharts $version, custom build (scripts/echarts_bundle.js); Apache-2.0, see LICENSE and NOTICE */"
# Apache-2.0 asks for LICENSE and NOTICE to travel with every copy.
cp "$source/LICENSE" "$target/"
if [[ -f "$source/NOTICE" ]]; then cp "$source/NOTICE" "$target/"; fi
# LICENSE points at licenses/ for the third-party code it embeds (d3), and the
# bundle compiles in zrender, whose BSD licence asks for its notice too.
if compgen -G "$source/licenses/*" >/dev/null; then cp "$source"/licenses/* "$target/licenses/"; fi
cp node_modules/zrender/LICENSE "$target/licenses/LICENSE-zrender"
echo "$version" > "$target/VERSION"
echo "vendored echarts $(cat "$target/VERSION") into $target"
