#!/usr/bin/env bash
# Replaces, after tsc has built provider/dist, the two entry points a process starts from with one file each:
#   provider/dist/cli/main.js            the `vhd` command (provider/bin/vhd.js requires it)
#   provider/dist/resource/provider.js   the DifferencingDisk implementation the dynamic-provider plugin requires by name
#                                        (resource/shim.ts; the name is frozen in every stack's state, so it stays)
# Why (issue 11): resolving and loading ~100 module files (ours, commander's, crc-32's) cost every `vhd` run and the
# plugin's first call 60-90 ms of CPU, most of it in Node.js's module loader (stat, open, read, wrap, compile per
# file), on top of Node.js's own start-up; one file each cuts that to about a third. Every other file of dist/ stays
# tsc's, one module per source, for the library's importers (dist/index.js) and its types.
# What stays out of the bundles: ssh2 (a native optional part, loaded on the first dial of a remote host only) and
# provider/package.json (main.ts reads the version from it at run time, two folders up from dist/cli/ as before).
# A subcommand of `vhd` still runs its module's code only when argv names it (esbuild keeps an `import()` lazy).
# The source maps point into provider/**/*.ts as tsc's do (no sources embedded): `node --enable-source-maps` gives
# TypeScript positions.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"$ROOT/node_modules/.bin/esbuild" provider/cli/main.ts provider/resource/provider.ts \
  --bundle --platform=node --target=node20 --format=cjs \
  --outbase=provider --outdir=provider/dist \
  --external:ssh2 --external:../../package.json \
  --sourcemap --sources-content=false \
  --log-level=warning
