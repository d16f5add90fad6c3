# Sourced by the browser test and the notebook runner: builds attain,
# generates and loads a small sample organisation into a fresh data folder,
# forecasts, makes one token per role and starts `attain serve` on $PORT.
# Sets WORK, BIN, URL, SERVER, MANAGER_ID, REP_ID and TOKEN_<ROLE>; the
# caller's EXIT trap must call stop_sample_server.

start_sample_server() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attain-target}"
    cargo build --locked --quiet --bin attain
    BIN="$CARGO_TARGET_DIR/debug/attain"
    WORK="$(mktemp -d)"
    SERVER=""
    export ATTAIN_DATA_DIR="$WORK" ATTAIN_MODELS_DIR="$WORK/models"
    unset ATTAIN_DATABASE_URL
    # The organisation's data ends with last month, so the quarter under
    # way takes calls (a call for a finished quarter is refused).
    local months="${MONTHS:-36}"
    local start
    start="$(date -u -d "$(date -u +%Y-%m-01) -$months months" +%Y-%m)"
    "$BIN" generate --out "$WORK/org" --reps "${REPS:-60}" --months "$months" --start "$start" >/dev/null
    "$BIN" ingest "$WORK/org" >/dev/null
    "$BIN" forecast --horizon 6 --origins 8 --backtest-paths 50 >/dev/null 2>&1
    # A first-line manager and one of their reps still in seat.
    MANAGER_ID="$(awk -F, 'NR > 1 && $5 == "manager" { print $1; exit }' "$WORK/org/reps.csv")"
    REP_ID="$(awk -F, -v m="$MANAGER_ID" 'NR > 1 && $3 == m && $5 == "rep" && $7 == "" { print $1; exit }' "$WORK/org/reps.csv")"
    TOKEN_ADMIN="$("$BIN" token create --role admin --name ui-admin | tail -n 1)"
    TOKEN_LEADER="$("$BIN" token create --role leader --name ui-leader | tail -n 1)"
    TOKEN_FINANCE="$("$BIN" token create --role finance --name ui-finance | tail -n 1)"
    TOKEN_MANAGER="$("$BIN" token create --role manager --scope "$MANAGER_ID" --name ui-manager | tail -n 1)"
    TOKEN_REP="$("$BIN" token create --role rep --scope "$REP_ID" --name ui-rep | tail -n 1)"
    URL="http://127.0.0.1:$PORT"
    ATTAIN_LOG=warn "$BIN" serve --addr "127.0.0.1:$PORT" 2>"$WORK/serve.log" &
    SERVER=$!
    for _ in $(seq 1 100); do
        curl -sf "$URL/ping" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the server did not start:" >&2
    cat "$WORK/serve.log" >&2
    return 1
}

stop_sample_server() {
    if [ -n "${SERVER:-}" ]; then
        kill "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
    fi
    [ -n "${WORK:-}" ] && rm -rf "$WORK"
    return 0
}
