#!/usr/bin/env bash
# Builds the Eureka server jar in registry/ unless a jar built from the same
# pom.xml and sources is already cached, and prints the jar's path on the last
# line of stdout. Idempotent: a second run with nothing changed builds nothing.
#
#   jar=$(bash .ci/registry.sh | tail -n1)
#
# The cache key is a hash of registry/pom.xml and everything under
# registry/src, so any change to them builds a new jar. Maven's own cache is
# ~/.m2 (the cold build downloads about 100 MB).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
registry_dir="$repo_root/registry"
cache_dir="${SPORTS_SERVICE_CACHE:-$HOME/.cache/sports-service}/registry"

# Hash file names and contents in a fixed order so the key is the same on any
# machine and in any checkout folder.
source_hash=$(
  cd "$registry_dir" &&
    find pom.xml src -type f -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-16
)
jar="$cache_dir/eureka-server-$source_hash.jar"

if [[ -s "$jar" ]]; then
  echo "registry: cached jar is up to date" >&2
else
  for tool in java mvn; do
    command -v "$tool" >/dev/null || { echo "registry: $tool is not installed" >&2; exit 1; }
  done
  echo "registry: building the Eureka server with Maven ($source_hash)" >&2
  started=$SECONDS
  # Build in a copy so concurrent runs and the developer's own target/ do not
  # interfere with each other.
  build_dir=$(mktemp -d)
  trap 'rm -rf "$build_dir"' EXIT
  cp -R "$registry_dir/pom.xml" "$registry_dir/src" "$build_dir/"
  mvn -B -q -DskipTests -f "$build_dir/pom.xml" package >&2
  mkdir -p "$cache_dir"
  # Write under a temporary name and rename, so a reader never sees half a jar.
  cp "$build_dir/target/eureka-server.jar" "$jar.tmp.$$"
  mv -f "$jar.tmp.$$" "$jar"
  echo "registry: built in $((SECONDS - started)) s" >&2
fi

echo "$jar"
