#!/usr/bin/env bash
# Creates (or reuses) the Python venv of the interop tests, with the real
# py_eureka_client from PyPI, and prints the venv's python on the last line
# of stdout.
#
#   EUREKA_PYTHON=$(bash .ci/python-peers.sh | tail -n1)
#
# The venv is $SPORTS_SERVICE_CACHE/interop-venv (default
# $HOME/.cache/sports-service), separate from schemathesis's so that neither
# pin moves the other.
set -euo pipefail

PY_EUREKA_CLIENT_VERSION=0.13.3
venv="${SPORTS_SERVICE_CACHE:-$HOME/.cache/sports-service}/interop-venv"
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("py_eureka_client"))' 2>/dev/null || true)
if [[ "$installed" != "$PY_EUREKA_CLIENT_VERSION" ]]; then
  echo "python peers: installing py_eureka_client $PY_EUREKA_CLIENT_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "py_eureka_client==$PY_EUREKA_CLIENT_VERSION" >&2
else
  echo "python peers: py_eureka_client $installed is installed" >&2
fi
echo "$venv/bin/python"
