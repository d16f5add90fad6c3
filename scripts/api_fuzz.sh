#!/usr/bin/env bash
# Property-based fuzz of the REST API with schemathesis against the server's
# own /openapi.json: every operation, valid and invalid inputs, as each role
# (admin, leader, finance, a manager and a rep). Fails on any 5xx, any answer
# that breaks the documented schema, status codes or content types, and any
# answer to the manager's or the rep's token that names a person outside
# their reach (scripts/fuzz/scope_hooks.py).
#
#   scripts/api_fuzz.sh                 # 60 examples per operation as admin, 20 as the others
#   EXAMPLES=300 ROLE_EXAMPLES=100 scripts/api_fuzz.sh
#
# Uses the dev build (the one the tests use) and a Python venv under
# ~/.cache with the schemathesis version pinned in scripts/fuzz-requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attain-target}"
EXAMPLES="${EXAMPLES:-60}"
ROLE_EXAMPLES="${ROLE_EXAMPLES:-20}"
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
# A manager with a team, and a rep in it.
MANAGER="$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "manager_id") m = i; if ($i == "rep_id") r = i }; next }
    $m != "" { n[$m]++ } END { for (k in n) if (n[k] > 1) { print k; exit } }' "$WORK/org/reps.csv")"
REP="$(awk -F, -v boss="$MANAGER" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "manager_id") m = i; if ($i == "rep_id") r = i }; next }
    $m == boss { print $r; exit }' "$WORK/org/reps.csv")"
LEADER="$("$BIN" token create --role leader --name fuzz-leader | tail -n 1)"
FINANCE="$("$BIN" token create --role finance --name fuzz-finance | tail -n 1)"
MANAGER_TOKEN="$("$BIN" token create --role manager --scope "$MANAGER" --name fuzz-manager | tail -n 1)"
REP_TOKEN="$("$BIN" token create --role rep --scope "$REP" --name fuzz-rep | tail -n 1)"
export PYTHONPATH="$PWD/scripts/fuzz" SCHEMATHESIS_HOOKS=scope_hooks FUZZ_REPS_CSV="$WORK/org/reps.csv"
# The fuzzer sends thousands of requests a token; the rate limit is tested elsewhere.
ATTAIN_RATE_LIMIT=0 ATTAIN_LOG=warn "$BIN" serve --addr "127.0.0.1:$PORT" 2>"$WORK/serve.log" &
SERVER=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break
    sleep 0.1
done

CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,no_one_outside_the_reach"
run() {
    local token="$1"
    shift
    "$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" \
        -H "Authorization: Bearer $token" \
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
echo "-- admin"
run "$TOKEN" --max-examples "$EXAMPLES" --exclude-path /v1/models/train || status=$?
run "$TOKEN" --max-examples 5 --include-path /v1/models/train || status=$?
# The other roles: training is the admin's alone (403 for them).
for role in leader finance manager rep; do
    case "$role" in
        leader) token="$LEADER"; scope="" ;;
        finance) token="$FINANCE"; scope="" ;;
        manager) token="$MANAGER_TOKEN"; scope="$MANAGER" ;;
        rep) token="$REP_TOKEN"; scope="$REP" ;;
    esac
    echo "-- $role${scope:+ ($scope)}"
    FUZZ_SCOPE="$scope" run "$token" --max-examples "$ROLE_EXAMPLES" || status=$?
done
fivexx="$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" | awk '/^attain_http_requests_total/ && /status="5/ { s += $NF } END { print s + 0 }')"
echo "5xx answers counted by the server: $fivexx"
if [ "$fivexx" != 0 ]; then
    grep -i "error" "$WORK/serve.log" | tail -n 20 >&2 || true
    status=1
fi
exit "$status"
