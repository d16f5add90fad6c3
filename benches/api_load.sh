#!/usr/bin/env bash
# Load benchmark of the REST API: wrk against stored forecast reads
# (GET /v1/forecasts for the company and for one rep) and the bare /ping
# route of the same binary, side by side in one run; first at saturation,
# then paced at about 1,000 requests/s.
#
#   benches/api_load.sh            # the 60-rep sample organisation, SQLite, one server
#   REPS=2000 benches/api_load.sh  # a bigger one
#   DURATION=30 CONNECTIONS=64 benches/api_load.sh
#   DB=postgres REPLICAS=2 benches/api_load.sh   # two servers on one PostgreSQL,
#                                                # each paced at 1,000 requests/s at once
#
# PostgreSQL runs get a fresh database on PG_URL (default
# postgres://postgres@127.0.0.1:5432), dropped at the end. The token's rate
# limit is raised out of the way (ATTAIN_RATE_LIMIT=1000000): the limiter
# still counts every request, it just never refuses one.
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
DB="${DB:-sqlite}"
REPLICAS="${REPLICAS:-1}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    apt-get install -y wrk >/dev/null 2>&1 || sudo apt-get install -y wrk >/dev/null
fi

[ "${BUILD:-1}" = 0 ] || cargo build --release --locked --quiet
BIN="$CARGO_TARGET_DIR/release/attain"
WORK="$(mktemp -d)"
SERVERS=()
PG_DB=""
cleanup() {
    for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${SERVERS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$PG_DB" ]; then
        psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
export ATTAIN_DATA_DIR="$WORK" ATTAIN_MODELS_DIR="$WORK/models" ATTAIN_RATE_LIMIT=1000000
unset ATTAIN_DATABASE_URL
if [ "$DB" = postgres ]; then
    PG_DB="attain_bench_$$"
    psql -q "$PG_URL/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null
    export ATTAIN_DATABASE_URL="$PG_URL/$PG_DB"
fi

"$BIN" generate --out "$WORK/org" --reps "$REPS" >/dev/null
"$BIN" ingest "$WORK/org" >/dev/null
"$BIN" forecast --horizon 12 >/dev/null 2>&1
TOKEN="$("$BIN" token create --role admin --name load-bench | tail -n 1)"
REP="$(awk -F, 'NR > 1 && $5 == "rep" { print $1; exit }' "$WORK/org/reps.csv")"
if [ "$DB" = postgres ]; then
    LINES="$(psql -qtA "$ATTAIN_DATABASE_URL" -c 'SELECT COUNT(*) FROM forecasts')"
else
    LINES="$(sqlite3 "$WORK/attain.db" 'SELECT COUNT(*) FROM forecasts' 2>/dev/null || echo '?')"
fi

for i in $(seq 0 $((REPLICAS - 1))); do
    # Each replica its own models folder, as on its own host.
    ATTAIN_MODELS_DIR="$WORK/models-$i" "$BIN" serve --addr "127.0.0.1:$((PORT + i))" 2>"$WORK/serve-$i.log" &
    SERVERS+=("$!")
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$((PORT + i))/ping" >/dev/null 2>&1 && break
        sleep 0.1
    done
done

BASE="http://127.0.0.1:$PORT"
declare -a NAMES=("bare route GET /ping" "GET /v1/forecasts (company)" "GET /v1/forecasts?level=rep&id=$REP")
declare -a URLS=("$BASE/ping" "$BASE/v1/forecasts" "$BASE/v1/forecasts?level=rep&id=$REP")

# Checks each target answers 200 on every replica before measuring.
for i in $(seq 0 $((REPLICAS - 1))); do
    for url in "${URLS[@]}"; do
        url="${url/:$PORT\//:$((PORT + i))/}"
        code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$url")"
        [ "$code" = 200 ] || { echo "$url answered $code" >&2; exit 1; }
    done
done

measure() { # name url extra-args...
    local name="$1" url="$2"
    shift 2
    local out
    out="$(wrk --latency -d "${DURATION}s" -H "Authorization: Bearer $TOKEN" "$@" "$url")"
    row "$name" "$out"
}

row() { # name wrk-output
    local name="$1" out="$2"
    local rps p50 p99 non2xx
    rps="$(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
    p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
    p99="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
    non2xx="$(awk '/Non-2xx or 3xx responses/ { print $NF }' <<<"$out")"
    printf '| %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

echo
echo "attain $("$BIN" --version | awk '{print $2}'), $REPS reps, $LINES stored forecast lines, $DB store, $REPLICAS server(s); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); wrk and server on one machine"
if [ "$REPLICAS" -gt 1 ]; then
    # Every replica paced at about 1,000 requests/s at the same time, one
    # wrk each, on the stored forecast reads.
    echo
    echo "Every replica at once, each paced at about 1,000 requests/s: wrk -t1 -c10 -d${DURATION}s per replica, 10 ms between a connection's requests"
    for t in 1 2; do
        echo
        echo "| replica | target | requests/s | p50 | p99 | non-2xx |"
        echo "|---|---|---|---|---|---|"
        loads=()
        for i in $(seq 0 $((REPLICAS - 1))); do
            url="${URLS[$t]/:$PORT\//:$((PORT + i))/}"
            WRK_DELAY_MS=10 wrk --latency -d "${DURATION}s" -H "Authorization: Bearer $TOKEN" \
                -t1 -c10 -s benches/wrk_paced.lua "$url" >"$WORK/wrk-$i.out" &
            loads+=("$!")
        done
        for pid in "${loads[@]}"; do wait "$pid"; done
        for i in $(seq 0 $((REPLICAS - 1))); do
            printf '| %s ' "$((PORT + i))"
            row "${NAMES[$t]}" "$(cat "$WORK/wrk-$i.out")"
        done
    done
    fivexx=0
    for i in $(seq 0 $((REPLICAS - 1))); do
        n="$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$((PORT + i))/metrics" | awk '/^attain_http_requests_total/ && /status="5/ { s += $NF } END { print s + 0 }')"
        fivexx=$((fivexx + n))
    done
    echo
    echo "5xx answers counted by the servers' /metrics during the run: $fivexx"
    exit 0
fi

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
