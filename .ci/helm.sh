#!/usr/bin/env bash
# The Helm CLI the chart's tests use (deploy/helm_test.go in `go test ./...`,
# deploy/kube/): `bash .ci/kube.sh helm` builds it from the Go module proxy
# (v3.22.1 with the flags of Helm's Makefile: its version, and the Kubernetes
# version of its client-go, without which `helm template`/`helm lint` assume
# Kubernetes 1.20), cached; this links it as $SPORTS_SERVICE_CACHE/kube/bin/helm,
# where the tests look without $HELM, and prints that path:
#
#   HELM=$(bash .ci/helm.sh | tail -n1)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
link=${SPORTS_SERVICE_CACHE:-$HOME/.cache/sports-service}/kube/bin/helm
helm=$(bash "$repo_root/.ci/kube.sh" helm | tail -n1)
[[ -x $helm ]] || { echo "helm: kube.sh helm printed no executable: $helm" >&2; exit 1; }
mkdir -p "$(dirname "$link")"
ln -sfn "$helm" "$link"
echo "$link"
