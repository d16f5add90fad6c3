#!/usr/bin/env bash
# Property-based fuzz of the REST API with schemathesis against the server's
# own /openapi.json: every operation, valid and invalid inputs, as an admin.
# Fails on any 5xx, any answer that breaks the documented schema, status
# codes or content types.
#
#   scripts/api_fuzz.sh                 # 60 examples per operation
#   EXAMPLES=300 scripts/api_fuzz.sh
#
# Uses the dev build (the one the tests use) and a Python venv under
# ~/.cache with the schemathesis version pinned in scripts/fuzz-requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attain-target}"
EXAMPLES="${EXAMPLES:-60}"
PORT="${PORT:-18474}"
VENV="${ATTAIN_FUZZ_VENV:-$HOME/.cache/attain-venv}"

WANT="$(sed -n 's/^schemathesis==//p' scripts/fuzz-requirements.txt)"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $WANT"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r scripts/fuzz-requirements.txt
fi

cargo build --locked --quiet --bin attain
BIN="$CARGO_TARGET_DIR/debug/attain"
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
    # Wait for the server to exit before removing its folder: a job it is
    # still running (a training the fuzzer started) may be writing there.
    if [ -n "$SERVER" ]; then
        kill "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
export ATTAIN_DATA_DIR="$WORK" ATTAIN_MODELS_DIR="$WORK/models"
unset ATTAIN_DATABASE_URL

"$BIN" generate --out "$WORK/org" --reps 24 --months 26 >/dev/null
"$BIN" ingest "$WORK/org" >/dev/null
"$BIN" forecast --horizon 6 --origins 6 --backtest-paths 50 >/dev/null 2>&1
TOKEN="$("$BIN" token create --role admin --name fuzz | tail -n 1)"
ATTAIN_LOG=warn "$BIN" serve --addr "127.0.0.1:$PORT" 2>"$WORK/serve.log" &
SERVER=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break
    sleep 0.1
done

CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
run() {
    "$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" \
        -H "Authorization: Bearer $TOKEN" \
        --checks "$CHECKS" \
        --phases examples,coverage,fuzzing \
        --seed 7 --no-color \
        --generation-database none \
        --request-timeout 120 \
        "$@"
}
status=0
# Every operation but training, then training with few examples (each
# accepted request starts a real training job).
run --max-examples "$EXAMPLES" --exclude-path /v1/models/train || status=$?
run --max-examples 5 --include-path /v1/models/train || status=$?
fivexx="$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" | awk '/^attain_http_requests_total/ && /status="5/ { s += $NF } END { print s + 0 }')"
echo "5xx answers counted by the server: $fivexx"
if [ "$fivexx" != 0 ]; then
    grep -i "error" "$WORK/serve.log" | tail -n 20 >&2 || true
    status=1
fi
exit "$status"
