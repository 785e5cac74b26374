#!/usr/bin/env bash
# Reports known vulnerabilities that the service's code can reach, and fails
# on any. govulncheck is pinned; its database is built locally from the
# golang.org/x/vulndb module (its data/osv entries), because CI reaches the Go
# module proxy but not vuln.go.dev. VULNDB_VERSION picks the snapshot
# (default: the newest the proxy has, so new advisories are seen).
set -euo pipefail
cd "$(dirname "$0")/.."
GOVULNCHECK_VERSION=v1.1.4
cache="${SPORTS_SERVICE_CACHE:-$HOME/.cache/sports-service}"
bin="$cache/bin"
mkdir -p "$bin"

if ! "$bin/govulncheck" -version 2>/dev/null | grep -q "govulncheck@$GOVULNCHECK_VERSION"; then
  GOBIN="$bin" go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
fi

version="${VULNDB_VERSION:-$(cd "$cache" && go list -m -f '{{.Version}}' golang.org/x/vulndb@latest)}"
db="$cache/vulndb/$version"
if [[ ! -f "$db/index/db.json" ]]; then
  src=$(cd "$cache" && go mod download -json "golang.org/x/vulndb@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  GOBIN="$bin" go install "golang.org/x/vulndb/cmd/indexdb@$version"
  rm -rf "$db.tmp"
  "$bin/indexdb" -vulns "$src/data/osv" -out "$db.tmp"
  mv "$db.tmp" "$db"
fi
echo "govulncheck $GOVULNCHECK_VERSION, database golang.org/x/vulndb@$version"
"$bin/govulncheck" -db "file://$db" ./...
