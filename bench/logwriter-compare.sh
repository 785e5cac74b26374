#!/bin/bash
# Same-run comparison of the log output (issue #18): four builds of the
# service, each against bare Gin (bench/cmd/baseline), wrk -t2 -c32 on the
# trivial route, rounds alternating the order. Build into one directory:
#   svc-handwritten  the service as committed (handlers/accesslog.go + internal/logbuf)
#   svc-library      newLoggers returns handlers.SlogAccessLog(logger) for JSON too, and
#                    startLogging writes through zapcore.BufferedWriteSyncer (Size 64 KiB,
#                    FlushInterval LOG_FLUSH_INTERVAL) instead of logbuf
#   svc-zapbuf       only the writer replaced (hand-written encoder over zap's buffer)
#   svc-slogbuf      only the encoder replaced (slog's JSON handler over logbuf)
#   baseline         go build ./bench/cmd/baseline
# then: cd DIR && ROUNDS=5 D=5s bash logwriter-compare.sh
# docs/performance.md ("Log output: hand-written vs library") has the figures.
set -u
cd "${DIR:-.}"
ROUNDS=${ROUNDS:-5}; D=${D:-5s}
free() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PA=$(free); PB=$(free); PC=$(free); PD=$(free); PG=$(free)
rm -rf dA dB dC dD; mkdir -p dA dB dC dD
ENV_FILE=/dev/null LISTEN_ADDR=127.0.0.1:$PA DATA_DIR=dA ./svc-handwritten > logA.jsonl 2>errA & A=$!
ENV_FILE=/dev/null LISTEN_ADDR=127.0.0.1:$PB DATA_DIR=dB ./svc-library > logB.jsonl 2>errB & B=$!
ENV_FILE=/dev/null LISTEN_ADDR=127.0.0.1:$PC DATA_DIR=dC ./svc-zapbuf > logC.jsonl 2>errC & C=$!
ENV_FILE=/dev/null LISTEN_ADDR=127.0.0.1:$PD DATA_DIR=dD ./svc-slogbuf > logD.jsonl 2>errD & DD=$!
for p in $PA $PB $PC $PD; do for i in $(seq 100); do curl -sf http://127.0.0.1:$p/ch11/flask/index -o body && break; sleep 0.2; done; done
CT=$(curl -sI http://127.0.0.1:$PA/ch11/flask/index | awk -F': ' 'tolower($1)=="content-type"{print $2}' | tr -d '\r')
./baseline -addr 127.0.0.1:$PG -route /ch11/flask/index -body-file body -content-type "$CT" >/dev/null 2>&1 & G=$!
sleep 1
rps() { wrk -t2 -c32 -d$D http://127.0.0.1:$1/ch11/flask/index | awk '/Requests\/sec/{print $2}'; }
for r in $(seq $ROUNDS); do
  if (( r % 2 )); then a=$(rps $PA); b=$(rps $PB); c=$(rps $PC); d=$(rps $PD); g=$(rps $PG); else g=$(rps $PG); d=$(rps $PD); c=$(rps $PC); b=$(rps $PB); a=$(rps $PA); fi
  echo "round $r handwritten=$a slog+zapbuf=$b handwritten-encoder+zapbuf=$c slog+logbuf=$d gin=$g"
done
kill $A $B $C $DD $G; wait 2>/dev/null
echo "access lines: A=$(grep -c '"msg":"request"' logA.jsonl) B=$(grep -c '"msg":"request"' logB.jsonl) C=$(grep -c '"msg":"request"' logC.jsonl) D=$(grep -c '"msg":"request"' logD.jsonl)"
head -c 600 logA.jsonl | tail -c 300; echo; grep -m1 '"msg":"request"' logA.jsonl; grep -m1 '"msg":"request"' logB.jsonl
