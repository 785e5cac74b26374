#!/usr/bin/env bash
# The cost of sign-in on a read, end to end: the same binary twice, one with
# AUTH_ENABLED=false and one with AUTH_ENABLED=true (wrk sends a viewer's
# token), GET /ch11/player/get/1 with wrk, the two alternating run by run
# (docs/performance.md's method). Prints each run and the median ratio.
#
#   bash bench/auth-wrk.sh            # RUNS=5 DURATION=5s CONNS=32 THREADS=2
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=auto
runs=${RUNS:-5} duration=${DURATION:-5s} conns=${CONNS:-32} threads=${THREADS:-2}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/sports-service" .
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # NAME PORT [VAR=VALUE...]
  local name=$1 port=$2
  shift 2
  env ENV_FILE=/dev/null LISTEN_ADDR="127.0.0.1:$port" DATA_DIR="$work/$name" LOG_LEVEL=warn "$@" \
    "$work/sports-service" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    ENV_FILE=/dev/null LISTEN_ADDR="127.0.0.1:$port" "$work/sports-service" healthcheck >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$work/$name.log"; exit 1
}
off_port=$(free_port); on_port=$(free_port)
start off "$off_port"
start on "$on_port" AUTH_ENABLED=true JWT_SIGNING_KEYS="b1:$(head -c 32 /dev/urandom | base64 -w0)" \
  ADMIN_USERNAME=bench-admin ADMIN_PASSWORD=bench-admin-password

token_of() { # PORT USER PASSWORD
  curl -fsS -d grant_type=password -d "username=$2" -d "password=$3" "http://127.0.0.1:$1/ch11/login/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
admin=""
for _ in $(seq 1 100); do admin=$(token_of "$on_port" bench-admin bench-admin-password 2>/dev/null) && break; sleep 0.1; done
player='{"player_id":1,"fname":"Ann","lname":"Lee","age":20,"birthday":"2004-01-02","date_started":"2020-05-01"}'
curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$player" "http://127.0.0.1:$off_port/ch11/player/add"
curl -fsS -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $admin" -d "$player" "http://127.0.0.1:$on_port/ch11/player/add"
curl -fsS -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $admin" \
  -d '{"login_id":2,"username":"bench-viewer","password":"bench-viewer-password"}' "http://127.0.0.1:$on_port/ch11/login/add"
viewer=$(token_of "$on_port" bench-viewer bench-viewer-password)

rps() { # PORT [header]
  local out
  out=$(wrk -t"$threads" -c"$conns" -d"$duration" "${@:2}" "http://127.0.0.1:$1/ch11/player/get/1")
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "wrk saw errors: $out" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
echo "run off_rps on_rps on/off"
ratios=() offs=() ons=()
for i in $(seq 1 "$runs"); do
  if ((i % 2)); then
    on=$(rps "$on_port" -H "Authorization: Bearer $viewer"); off=$(rps "$off_port")
  else
    off=$(rps "$off_port"); on=$(rps "$on_port" -H "Authorization: Bearer $viewer")
  fi
  r=$(python3 -c "print(f'{$on/$off:.3f}')")
  echo "$i $off $on $r"
  ratios+=("$r") offs+=("$off") ons+=("$on")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "median: off $(median "${offs[@]}") req/s, on $(median "${ons[@]}") req/s, ratio on/off $(median "${ratios[@]}")"
