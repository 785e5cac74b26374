#!/usr/bin/env bash
# Runs each Go fuzz target for a short, bounded time (FUZZTIME, default 15s).
# The committed corpora under */testdata/fuzz/ also run as plain tests in
# `go test ./...`; this adds new generated inputs on top. A failing input is
# written under that target's testdata/fuzz/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-15s}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# package target
targets=(
  ./handlers FuzzAddBodies
  ./handlers FuzzUpdateBodies
  ./handlers FuzzPasswordBodies
  ./handlers FuzzJSONAccessLog
  ./handlers FuzzConditionalHeaders
  ./handlers FuzzIdempotencyKey
  ./models FuzzParseDate
  ./legacy/flask/schedule FuzzSchedule
  ./legacy/django/forms FuzzParsePlayerForm
  ./legacy/django/forms FuzzParseOfficialForm
  ./legacy/django/forms FuzzParseGameForm
  ./legacy/django/forms FuzzParseLoginForm
)
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pkg=${targets[i]} target=${targets[i + 1]}
  echo "== $pkg $target ($fuzztime)"
  # Quiet on success; on failure the whole output, so that CI's log says
  # why (a crasher's input, or a worker that died).
  if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
    cat "$log"
    exit 1
  fi
  tail -n 3 "$log"
done
