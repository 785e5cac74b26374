#!/usr/bin/env bash
# Builds the Spring Boot jar of the Maven project in DIR (relative to the
# repository root) unless a jar built from the same pom.xml and sources is
# already cached, and prints the jar's path on the last line of stdout.
# Idempotent: a second run with nothing changed builds nothing.
#
#   jar=$(bash .ci/maven-jar.sh DIR NAME | tail -n1)
#   bash .ci/maven-jar.sh --print-path DIR NAME   # the path only, no build
#
# NAME is the project's <finalName> (target/NAME.jar). The jar is cached as
# $SPORTS_SERVICE_CACHE/$(basename DIR)/NAME-KEY.jar, where KEY is a hash of
# DIR/pom.xml and everything under DIR/src, so any change to them builds a
# new jar; internal/testenv computes the same path. Maven's own cache is
# ~/.m2 (a cold build downloads about 100 MB).
set -euo pipefail

print_only=false
if [[ "${1:-}" == --print-path ]]; then
  print_only=true
  shift
fi
if (($# != 2)); then
  echo "usage: $0 [--print-path] DIR NAME   (e.g. registry eureka-server)" >&2
  exit 2
fi
rel_dir=$1 name=$2
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
project_dir="$repo_root/$rel_dir"
cache_dir="${SPORTS_SERVICE_CACHE:-$HOME/.cache/sports-service}/$(basename "$rel_dir")"
tag=$(basename "$rel_dir")

# Hash file names and contents in a fixed order so the key is the same on any
# machine and in any checkout folder.
source_hash=$(
  cd "$project_dir" &&
    find pom.xml src -type f -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-16
)
jar="$cache_dir/$name-$source_hash.jar"
if $print_only; then
  echo "$jar"
  exit 0
fi

if [[ -s "$jar" ]]; then
  echo "$tag: cached jar is up to date" >&2
else
  for tool in java mvn; do
    command -v "$tool" >/dev/null || { echo "$tag: $tool is not installed" >&2; exit 1; }
  done
  echo "$tag: building $name with Maven ($source_hash)" >&2
  started=$SECONDS
  # Build in a copy so concurrent runs and the developer's own target/ do not
  # interfere with each other.
  build_dir=$(mktemp -d)
  trap 'rm -rf "$build_dir"' EXIT
  cp -R "$project_dir/pom.xml" "$project_dir/src" "$build_dir/"
  mvn -B -q -DskipTests -f "$build_dir/pom.xml" package >&2
  mkdir -p "$cache_dir"
  # Write under a temporary name and rename, so a reader never sees half a jar.
  cp "$build_dir/target/$name.jar" "$jar.tmp.$$"
  mv -f "$jar.tmp.$$" "$jar"
  echo "$tag: built in $((SECONDS - started)) s" >&2
fi

echo "$jar"
