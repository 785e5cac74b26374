#!/usr/bin/env bash
# Fuzzes the running service from its own OpenAPI document with schemathesis:
# every operation, positive and negative inputs, and the response checks
# below. Any failure fails the script; fixes go into the service or the spec,
# never into a baseline file.
#
# The venv is created under $SPORTS_SERVICE_CACHE (default
# $HOME/.cache/sports-service) and reused when present. The service is the
# built binary on a free loopback port with a temporary DATA_DIR.
#
# Environment: ST_MAX_EXAMPLES (per operation and phase, default 25),
# ST_MAX_TIME (seconds, default 150: fuzzing and stateful phases repeat until
# it is spent), ST_SEED (default 1, for reproducible
# runs), ARTIFACTS_DIR (the JUnit report goes there when set).
#
# The service runs with sign-in on (AUTH_ENABLED=true, a first admin): the
# run fuzzes with a valid admin token (every operation reachable), then once
# more without a token (ST_NO_TOKEN_TIME seconds, default 30), where every
# /ch11 answer but the token endpoint's must be a documented 401.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
cache="${SPORTS_SERVICE_CACHE:-$HOME/.cache/sports-service}"
venv="$cache/venv"
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

work=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/sports-service" .
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin_password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
ENV_FILE=/dev/null LISTEN_ADDR="127.0.0.1:$port" DATA_DIR="$work/data" LOG_LEVEL=warn \
  AUTH_ENABLED=true JWT_SIGNING_KEYS="st:$(head -c 32 /dev/urandom | base64 -w0)" \
  ADMIN_USERNAME=st-admin ADMIN_PASSWORD="$admin_password" \
  "$work/sports-service" >"$work/service.log" 2>&1 &
pid=$!
# The binary checks its own readiness (the image has no curl either).
for _ in $(seq 1 300); do
  if ENV_FILE=/dev/null LISTEN_ADDR="127.0.0.1:$port" "$work/sports-service" healthcheck >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$work/service.log"; exit 1; fi
  sleep 0.1
done

# The first admin is created in the background once the database answers.
token=""
for _ in $(seq 1 100); do
  token=$(curl -fsS -d grant_type=password -d username=st-admin --data-urlencode "password=$admin_password" \
    "http://127.0.0.1:$port/ch11/login/token" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' 2>/dev/null) && break
  sleep 0.1
done
[[ -n "$token" ]] || { echo "could not sign in as the first admin"; cat "$work/service.log"; exit 1; }

report=()
if [[ -n "${ARTIFACTS_DIR:-}" ]]; then
  mkdir -p "$ARTIFACTS_DIR"
  report=(--report junit --report-junit-path "$ARTIFACTS_DIR/schemathesis-junit.xml")
fi

status=0
start=$SECONDS
st_run() { # NAME MAX_TIME PHASES [st options]
  local name=$1 max_time=$2 phases=$3
  shift 3
  local junit=()
  if ((${#report[@]})); then
    junit=(--report junit --report-junit-path "$ARTIFACTS_DIR/schemathesis-$name-junit.xml")
  fi
  echo "== schemathesis, $name"
  "$venv/bin/st" run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases "$phases" \
    --max-examples "${ST_MAX_EXAMPLES:-25}" \
    --max-time "$max_time" \
    --seed "${ST_SEED:-1}" \
    --workers 2 \
    --request-timeout 10 \
    --suppress-health-check too_slow,filter_too_much \
    --no-color \
    "${junit[@]}" "$@" || status=$?
}
st_run admin-token "${ST_MAX_TIME:-150}" examples,coverage,fuzzing,stateful -H "Authorization: Bearer $token"
st_run no-token "${ST_NO_TOKEN_TIME:-30}" examples,coverage
echo "schemathesis took $((SECONDS - start))s"

# The service must not have logged a server error while being fuzzed.
if grep -q '"level":"ERROR"' "$work/service.log"; then
  echo "the service logged errors during the run:"; grep '"level":"ERROR"' "$work/service.log" | head -20
  status=1
fi
exit "$status"
