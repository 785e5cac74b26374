#!/bin/bash
# Same-run comparison of the log output (issue #18): four builds of the
# service, each against bare Gin (bench/cmd/baseline), wrk -t2 -c32 on the
# trivial route. Five rounds in a Latin square: every build takes every
# position in the round once (a first version that only alternated the order
# showed that the middle slot loses up to 15 %). Build into one directory:
#   svc-handwritten  the service as committed (handlers/accesslog.go + internal/logbuf)
#   svc-library      newLoggers returns handlers.SlogAccessLog(logger) for JSON too, and
#                    startLogging writes through zapcore.BufferedWriteSyncer (Size 64 KiB,
#                    FlushInterval LOG_FLUSH_INTERVAL) instead of logbuf
#   svc-zapbuf       only the writer replaced (hand-written encoder over zap's buffer)
#   svc-slogbuf      only the encoder replaced (slog's JSON handler over logbuf)
#   baseline         go build ./bench/cmd/baseline
# then: DIR=that-directory D=5s bash bench/logwriter-compare.sh
# docs/performance.md ("Log output: hand-written vs library") has the figures.
set -u
cd "${DIR:-.}"
D=${D:-5s}
NAMES=(handwritten slog+logbuf handwritten+zapbuf slog+zapbuf gin)
BINS=(svc-handwritten svc-slogbuf svc-zapbuf svc-library)
free() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PIDS=(); PORTS=()
for i in 0 1 2 3; do p=$(free); rm -rf d$i; mkdir -p d$i
  ENV_FILE=/dev/null LISTEN_ADDR=127.0.0.1:$p DATA_DIR=d$i ./${BINS[$i]} > log$i.jsonl 2>err$i & PIDS+=($!); PORTS+=($p); done
for p in "${PORTS[@]}"; do for k in $(seq 100); do curl -sf http://127.0.0.1:$p/ch11/flask/index -o body && break; sleep 0.2; done; done
CT=$(curl -sI http://127.0.0.1:${PORTS[0]}/ch11/flask/index | awk -F': ' 'tolower($1)=="content-type"{print $2}' | tr -d '\r')
p=$(free); ./baseline -addr 127.0.0.1:$p -route /ch11/flask/index -body-file body -content-type "$CT" >/dev/null 2>&1 & PIDS+=($!); PORTS+=($p)
sleep 1
for r in 0 1 2 3 4; do
  line="round $((r+1))"; declare -A res=()
  for s in 0 1 2 3 4; do i=$(( (r + s) % 5 ))
    res[$i]=$(wrk -t2 -c32 -d$D http://127.0.0.1:${PORTS[$i]}/ch11/flask/index | awk '/Requests\/sec/{print $2}'); done
  for i in 0 1 2 3 4; do line="$line ${NAMES[$i]}=${res[$i]}"; done; echo "$line"
done
kill "${PIDS[@]}"; wait 2>/dev/null
for i in 0 1 2 3; do echo "${NAMES[$i]} access lines: $(grep -c '"msg":"request"' log$i.jsonl)"; done
