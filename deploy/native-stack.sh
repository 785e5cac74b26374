#!/usr/bin/env bash
# The compose stack's gateway + N app instances, natively (no Docker): Debian's
# nginx runs the repository's nginx.conf, rendered with envsubst exactly as
# the official image does, in front of N instances of the service, each with
# its own embedded database, all on loopback. The same layout the deploy
# tests use.
#
#   deploy/native-stack.sh            # 3 instances, gateway on :8080; Ctrl-C stops
#   INSTANCES=2 NGINX_PORT=9090 deploy/native-stack.sh
#   deploy/native-stack.sh --bench    # run the wrk comparison, then stop
#   BENCH_PATHS="/ch11/flask/index" deploy/native-stack.sh --bench
#
# Needs: go, nginx, envsubst (gettext-base); wrk for --bench.
set -euo pipefail
cd "$(dirname "$0")/.."

INSTANCES=${INSTANCES:-3}
NGINX_PORT=${NGINX_PORT:-8080}
FIRST_PORT=${FIRST_PORT:-18001}
BENCH_DURATION=${BENCH_DURATION:-10s}
bench=false
[[ "${1:-}" == "--bench" ]] && bench=true

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	[[ -f "$work/nginx.pid" ]] && kill -QUIT "$(cat "$work/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building the service into $work" >&2
go build -ldflags "-X main.version=$(git describe --tags --always 2>/dev/null || echo dev)" -o "$work/sports-service" .

servers=""
for ((i = 0; i < INSTANCES; i++)); do
	port=$((FIRST_PORT + i))
	mkdir -p "$work/app$i"
	(cd "$work/app$i" && LISTEN_ADDR="127.0.0.1:$port" DATA_DIR="$work/app$i/data" LOG_FORMAT=json \
		exec "$work/sports-service" >"$work/app$i/stdout.log" 2>&1) &
	pids+=($!)
	servers+="server 127.0.0.1:$port max_fails=3 fail_timeout=10s; "
done

# The compose values, with the upstream as static addresses (no Docker DNS).
export NGINX_PORT NGINX_UPSTREAM_SERVERS="$servers" NGINX_RESOLVER=127.0.0.1
export NGINX_BODY_LIMIT=${BODY_LIMIT:-1048576} NGINX_ACCESS_LOG="$work/access.log"
export NGINX_WRITE_RATE=20r/s NGINX_WRITE_BURST=40 NGINX_LOGIN_RATE=30r/m NGINX_LOGIN_BURST=10
mkdir -p "$work/conf.d" "$work/tmp"
# What the image's 20-envsubst-on-templates.sh does: substitute the defined
# variables that match NGINX_ENVSUBST_FILTER (^NGINX_) and nothing else.
envsubst "$(printf '${%s} ' $(env | sed -n 's/^\(NGINX_[A-Z_]*\)=.*/\1/p'))" \
	<nginx.conf >"$work/conf.d/gateway.conf"
user=""
[[ $(id -u) == 0 ]] && user="user root root;"
cat >"$work/nginx.conf" <<EOF
$user
worker_processes 2;
pid $work/nginx.pid;
error_log $work/error.log notice;
events { worker_connections 1024; }
http {
    default_type application/octet-stream;
    client_body_temp_path $work/tmp/client_body;
    proxy_temp_path       $work/tmp/proxy;
    fastcgi_temp_path     $work/tmp/fastcgi;
    uwsgi_temp_path       $work/tmp/uwsgi;
    scgi_temp_path        $work/tmp/scgi;
    include $work/conf.d/*.conf;
}
EOF
nginx -t -q -p "$work" -c "$work/nginx.conf" -e "$work/error.log"

for ((i = 0; i < INSTANCES; i++)); do
	url="http://127.0.0.1:$((FIRST_PORT + i))"
	for _ in $(seq 600); do
		curl -fs -o /dev/null "$url/health/ready" && break
		sleep 0.1
	done
	curl -fs -o /dev/null "$url/health/ready" || { echo "instance $url did not become ready" >&2; exit 1; }
done
nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log"
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$NGINX_PORT/health/live" && break; sleep 0.1; done

gw="http://127.0.0.1:$NGINX_PORT"
one="http://127.0.0.1:$FIRST_PORT"
echo "gateway:   $gw/docs  (access log $work/access.log)" >&2
echo "instances: 127.0.0.1:$FIRST_PORT..$((FIRST_PORT + INSTANCES - 1)) (logs $work/app*/stdout.log)" >&2

if ! $bench; then
	echo "Ctrl-C stops everything" >&2
	wait "${pids[0]}"
	exit 0
fi

# Player 1 on every instance (each has its own database), for /player/get/1.
for ((i = 0; i < INSTANCES; i++)); do
	curl -fs -o /dev/null -H 'Content-Type: application/json' \
		-d '{"player_id":1,"fname":"Ada","lname":"Lovelace","age":36,"birthday":"1990-12-10","date_started":"2010-01-01","game_id":null}' \
		"http://127.0.0.1:$((FIRST_PORT + i))/ch11/player/add" || true
done
for path in ${BENCH_PATHS:-/health/live /ch11/player/get/1}; do
	for target in "$gw" "$one"; do
		label="direct to one instance"
		[[ $target == "$gw" ]] && label="through nginx ($INSTANCES instances)"
		echo "== GET $path, $label"
		echo "\$ wrk -t2 -c32 -d$BENCH_DURATION --latency $target$path"
		wrk -t2 -c32 -d"$BENCH_DURATION" --latency "$target$path" |
			grep -E 'Requests/sec|Non-2xx|Socket errors|^ +(50|90|99)%|Latency '
	done
done
