#!/usr/bin/env bash
# Builds the Jaeger all-in-one binary used by the integration tests, once.
#
# The binary is cached outside the work tree (building it takes ~3 minutes on
# 2 cores), so later runs on the same machine only print its path. The build
# uses the pinned tool module in tools/jaeger (a `tool` directive in its
# go.mod): `go install ...@version` refuses modules with replace directives.
#
# The last line on stdout is the binary's path; build output goes to stderr.
set -euo pipefail

JAEGER_VERSION=v1.76.0
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/sports-service/jaeger"
bin="$cache_dir/jaeger-$JAEGER_VERSION"

if [[ ! -x "$bin" ]]; then
	mkdir -p "$cache_dir"
	echo "building jaeger $JAEGER_VERSION into $bin (takes a few minutes)" >&2
	tmp="$bin.tmp.$$"
	trap 'rm -f "$tmp"' EXIT
	(cd "$repo_root/tools/jaeger" && go build -o "$tmp" github.com/jaegertracing/jaeger/cmd/jaeger) >&2
	# Rename last so an interrupted build never leaves a half-written binary.
	mv "$tmp" "$bin"
fi

echo "$bin"
