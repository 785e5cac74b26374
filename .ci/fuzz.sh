#!/usr/bin/env bash
# Runs each Go fuzz target for a short, bounded time (FUZZTIME, default 15s).
# The committed corpora under */testdata/fuzz/ also run as plain tests in
# `go test ./...`; this adds new generated inputs on top. A failing input is
# written under that target's testdata/fuzz/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-15s}"

# package target
targets=(
  ./handlers FuzzAddBodies
  ./handlers FuzzUpdateBodies
  ./handlers FuzzPasswordBodies
  ./handlers FuzzJSONAccessLog
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
  go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tail -n 3
  # pipefail carries go test's status through tail.
done
