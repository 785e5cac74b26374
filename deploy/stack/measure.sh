#!/usr/bin/env bash
# Measures the running compose stack (not a test; nothing here passes or
# fails on a number): `docker stats` memory of every container at idle and
# under a GET load through the gateway, and the gateway's throughput with 1
# and with 3 app instances, in one run. Start the stack first:
#
#   bash .ci/stack.sh up && eval "$(bash .ci/stack.sh env)"
#   deploy/stack/measure.sh            # prints a Markdown report
#
# STACK_PROJECT / STACK_COMPOSE_FILES name the stack as for the tests
# (default osms / docker-compose.yaml). DURATION (30s), THREADS (2) and
# CONNECTIONS (32) are wrk's; MEASURE_PATH is the GET (default: one stored
# player by id, a database read). The stack is left with one app instance.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
project=${STACK_PROJECT:-osms}
IFS=: read -ra files <<<"${STACK_COMPOSE_FILES:-docker-compose.yaml}"
file_args=()
for f in "${files[@]}"; do file_args+=(-f "$f"); done
gateway=http://127.0.0.1:8080
duration=${DURATION:-30s}
threads=${THREADS:-2}
connections=${CONNECTIONS:-32}

compose() { (cd "$repo_root" && docker compose -p "$project" "${file_args[@]}" "$@"); }
log() { printf '%s\n' "$*" >&2; }

for tool in docker wrk curl jq; do
  command -v "$tool" >/dev/null || { log "measure.sh: $tool not found"; exit 1; }
done
[[ -n $(compose ps -q app) ]] || { log "measure.sh: no running app container in project $project"; exit 1; }

# The record the load reads.
id=$((1000000 + RANDOM * 32768 + RANDOM))
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d "{\"player_id\":$id,\"fname\":\"Bench\",\"lname\":\"Mark\",\"age\":30,\"birthday\":\"1994-01-02\",\"date_started\":\"2015-01-01\"}" \
  "$gateway/ch11/player/add"
path=${MEASURE_PATH:-/ch11/player/get/$id}

# Memory and CPU of every container of the project, as a Markdown table.
stats() {
  echo "| container | memory | CPU |"
  echo "| --- | --- | --- |"
  # shellcheck disable=SC2046 # one argument per container id
  docker stats --no-stream --format '| {{.Name}} | {{.MemUsage}} | {{.CPUPerc}} |' $(compose ps -q) | sort
}

# scale N: N app instances, each answering through the gateway.
scale() {
  local n=$1 seen
  compose up -d --no-build --pull never --wait --wait-timeout 240 --scale "app=$n" >&2
  for _ in $(seq 1 120); do
    seen=$(for _ in $(seq 1 $((n * 10))); do curl -fsS "$gateway/info" | jq -r .instance; done | sort -u | wc -l)
    ((seen == n)) && return 0
    sleep 0.5
  done
  log "measure.sh: only $seen of $n instances answer through the gateway"
  exit 1
}

# back to one instance. The app's SHUTDOWN_DELAY would make compose wait it
# out for each instance removed: a first SIGTERM starts it, and compose's own
# SIGTERM (the second) ends it, as `.ci/stack.sh down` does.
scale_down() {
  local id
  for id in $(compose ps -q app); do
    [[ $(docker inspect -f '{{index .Config.Labels "com.docker.compose.container-number"}}' "$id") == 1 ]] ||
      docker kill --signal TERM "$id" >/dev/null
  done
  sleep 2
  compose up -d --no-build --pull never --wait --scale app=1 >&2
}

# load N: wrk through the gateway with N instances; docker stats two thirds in.
load() {
  local n=$1 out
  scale "$n"
  out=$(mktemp)
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$gateway$path" >"$out" &
  local pid=$!
  local secs=${duration%s}
  sleep $((secs * 2 / 3))
  echo
  echo "### $n app instance(s): \`docker stats --no-stream\` under \`wrk -t$threads -c$connections -d$duration $gateway$path\`"
  echo
  stats
  wait "$pid"
  echo
  echo "wrk, $n app instance(s):"
  echo
  echo '```'
  grep -E 'Requests/sec|Transfer/sec|requests in|Non-2xx|Socket errors|^ +(50|90|99)%' "$out"
  echo '```'
  rm -f "$out"
}

trap 'scale_down >/dev/null 2>&1 || true' EXIT

echo "## Measured in the running stack ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
scale 1
sleep 10 # let the scale-up settle before calling it idle
echo
echo "### Idle, 1 app instance: \`docker stats --no-stream\`"
echo
stats
load 1
load 3
echo
echo "### After the load, back to 1 app instance"
echo
scale_down
stats
