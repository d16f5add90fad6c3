#!/usr/bin/env bash
# Load benchmark of the REST API: wrk against stored forecast reads
# (GET /v1/forecasts for the company and for one rep) and the bare /ping
# route of the same binary, side by side in one run; first at saturation,
# then paced at about 1,000 requests/s.
#
#   benches/api_load.sh            # the 60-rep sample organisation
#   REPS=2000 benches/api_load.sh  # a bigger one
#   DURATION=30 CONNECTIONS=64 benches/api_load.sh
#
# wrk comes from Debian (installed here when missing). wrk and the server
# share the machine's cores, as they do on a one-box deployment.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attain-target}"
REPS="${REPS:-60}"
DURATION="${DURATION:-20}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT="${PORT:-18473}"

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    apt-get install -y wrk >/dev/null 2>&1 || sudo apt-get install -y wrk >/dev/null
fi

[ "${BUILD:-1}" = 0 ] || cargo build --release --locked --quiet
BIN="$CARGO_TARGET_DIR/release/attain"
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
export ATTAIN_DATA_DIR="$WORK" ATTAIN_MODELS_DIR="$WORK/models"
unset ATTAIN_DATABASE_URL

"$BIN" generate --out "$WORK/org" --reps "$REPS" >/dev/null
"$BIN" ingest "$WORK/org" >/dev/null
"$BIN" forecast --horizon 12 >/dev/null 2>&1
TOKEN="$("$BIN" token create --role admin --name load-bench | tail -n 1)"
REP="$(awk -F, 'NR > 1 && $5 == "rep" { print $1; exit }' "$WORK/org/reps.csv")"
LINES="$(sqlite3 "$WORK/attain.db" 'SELECT COUNT(*) FROM forecasts' 2>/dev/null || echo '?')"

"$BIN" serve --addr "127.0.0.1:$PORT" 2>"$WORK/serve.log" &
SERVER=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break
    sleep 0.1
done

BASE="http://127.0.0.1:$PORT"
declare -a NAMES=("bare route GET /ping" "GET /v1/forecasts (company)" "GET /v1/forecasts?level=rep&id=$REP")
declare -a URLS=("$BASE/ping" "$BASE/v1/forecasts" "$BASE/v1/forecasts?level=rep&id=$REP")

# Checks each target answers 200 before measuring.
for url in "${URLS[@]}"; do
    code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$url")"
    [ "$code" = 200 ] || { echo "$url answered $code" >&2; exit 1; }
done

measure() { # name url extra-args...
    local name="$1" url="$2"
    shift 2
    local out
    out="$(wrk --latency -d "${DURATION}s" -H "Authorization: Bearer $TOKEN" "$@" "$url")"
    local rps p50 p99 non2xx
    rps="$(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
    p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
    p99="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
    non2xx="$(awk '/Non-2xx or 3xx responses/ { print $NF }' <<<"$out")"
    printf '| %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

echo
echo "attain $("$BIN" --version | awk '{print $2}'), $REPS reps, $LINES stored forecast lines; $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); wrk and server on one machine"
echo
echo "Saturation: wrk -t2 -c$CONNECTIONS -d${DURATION}s"
echo
echo "| target | requests/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
for i in 0 1 2; do
    measure "${NAMES[$i]}" "${URLS[$i]}" -t2 -c"$CONNECTIONS"
done
echo
echo "Paced at about 1,000 requests/s: wrk -t2 -c10 -d${DURATION}s, 10 ms between a connection's requests"
echo
echo "| target | requests/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
for i in 0 1 2; do
    WRK_DELAY_MS=10 measure "${NAMES[$i]}" "${URLS[$i]}" -t2 -c10 -s benches/wrk_paced.lua
done
fivexx="$(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/metrics" | awk '/^attain_http_requests_total/ && /status="5/ { s += $NF } END { print s + 0 }')"
echo
echo "5xx answers counted by the server's /metrics during the run: $fivexx"
