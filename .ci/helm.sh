#!/usr/bin/env bash
# Builds the Helm CLI the chart's tests use (deploy/helm_test.go,
# deploy/kube/) from the Go module proxy, cached, and prints its path:
#
#   HELM=$(bash .ci/helm.sh | tail -n1)
#
# No release download is reachable here, so this is `go install` of the
# pinned module with the ldflags of Helm's own Makefile: the version (else
# `helm version` says "v3.22") and the Kubernetes version of its client-go
# (else `helm template` and `helm lint` assume Kubernetes 1.20, and a chart
# that needs a newer one cannot be rendered offline).
#
# The binary is cached where .ci/kube.sh keeps it,
# $SPORTS_SERVICE_CACHE/kube/bin/helm-VERSION-GOVERSION/helm (built with the
# same flags, so neither builds it twice), and linked as
# $SPORTS_SERVICE_CACHE/kube/bin/helm, where the tests look without $HELM.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
helm_version=v3.22.1
cache=${SPORTS_SERVICE_CACHE:-$HOME/.cache/sports-service}/kube
# go.mod's toolchain (the standard library's security fixes), whatever the
# helm module asks for.
export GOTOOLCHAIN=auto
go_version=$(cd "$repo_root" && go env GOVERSION)
export GOTOOLCHAIN=$go_version
bin=$cache/bin/helm-$helm_version-$go_version/helm
link=$cache/bin/helm

log() { printf 'helm: %s\n' "$*" >&2; }

if [[ -x $bin ]] && [[ $("$bin" version --template '{{.Version}}' 2>/dev/null) == "$helm_version" ]]; then
  ln -sfn "$bin" "$link"
  echo "$link"
  exit 0
fi

mkdir -p "$(dirname "$bin")" "$cache/logs"
log "building helm $helm_version (go install, cached afterwards as $bin)"
# Helm's Makefile derives the Kubernetes version from its client-go module:
# v0.37.x is Kubernetes 1.37.
gomod=$(go mod download -json "helm.sh/helm/v3@$helm_version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
client_go=$(awk '$1 == "k8s.io/client-go" {print $2}' "$gomod")
[[ $client_go =~ ^v0\.([0-9]+)\. ]] || { log "ERROR: cannot read client-go's version from $gomod"; exit 1; }
k8s_minor=${BASH_REMATCH[1]}
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! GOBIN=$tmp CGO_ENABLED=0 go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$helm_version" >"$cache/logs/helm-build.log" 2>&1; then
  tail -n 30 "$cache/logs/helm-build.log" >&2
  log "ERROR: go install helm.sh/helm/v3/cmd/helm@$helm_version failed (log: $cache/logs/helm-build.log)"
  exit 1
fi
install -m 0755 "$tmp/helm" "$bin.tmp"
mv -f "$bin.tmp" "$bin"
ln -sfn "$bin" "$link"
log "$("$bin" version --short) (Kubernetes 1.$k8s_minor for offline rendering)"
echo "$link"
