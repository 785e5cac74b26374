#!/usr/bin/env bash
# Paired wrk runs of PATCH .../update with and without If-Match against one
# service (embedded FerretDB), plus the service as it was before versions
# (BASE_BIN, optional). Usage: bench/ifmatch/run.sh [runs] [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3} secs=${2:-5} conns=${CONNS:-4}
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/svc" .
start() { # bin port
  LISTEN_ADDR=127.0.0.1:$2 DATA_DIR="$tmp/data$2" ENV_FILE=/dev/null LOG_LEVEL=error "$1" >/dev/null 2>&1 &
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/health/ready" >/dev/null && break; sleep 0.1; done
  for i in $(seq "$conns"); do
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$2/ch11/player/add" \
      -d "{\"player_id\":$i,\"fname\":\"Ann\",\"lname\":\"Lee\",\"age\":20,\"birthday\":\"2004-01-02\",\"date_started\":\"2020-05-01\"}"
  done
}
rps() { # port if_match
  IF_MATCH=$2 wrk -t"$conns" -c"$conns" -d"${secs}s" -s bench/ifmatch/patch.lua "http://127.0.0.1:$1" | awk '/Requests\/sec/ {print $2}'
}
start "$tmp/svc" 18431
if [ -n "${BASE_BIN:-}" ]; then start "$BASE_BIN" 18432; fi
for r in $(seq "$runs"); do
  without=$(rps 18431 0); with=$(rps 18431 1)
  line="run $r: without If-Match $without req/s, with If-Match $with req/s, ratio $(echo "$with / $without" | bc -l | cut -c1-5)"
  if [ -n "${BASE_BIN:-}" ]; then
    base=$(rps 18432 0); line="$line; before versions $base req/s, without/before $(echo "$without / $base" | bc -l | cut -c1-5)"
  fi
  echo "$line"
done
