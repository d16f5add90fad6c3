#!/usr/bin/env bash
# Speed of the forecast calls' reads over the API, warm: the roll-up of the
# whole organisation (GET /v1/calls for the person heading it: everyone's
# latest call, their reports' sums and adjustments, the model's range,
# booked to date) and what changed for the company between two days
# (GET /v1/changes: every deal's state on both days, the runs stored by
# each, every call), plus `attain changes` from a cold process.
#
#   benches/calls_load.sh               # 10,000 reps, 35 months, seed 42, SQLite
#   REPS=2000 benches/calls_load.sh
#   ROUNDS=30 benches/calls_load.sh     # timed requests per route (default 20)
#
# The first request of each route is not timed (it loads the data into the
# server's memory). Times are curl's time_total on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attain-target}"
REPS="${REPS:-10000}"
# 35 months from January: the data ends on 30 November, inside a quarter
# that has calls, a forecast and bookings to date.
MONTHS="${MONTHS:-35}"
ROUNDS="${ROUNDS:-20}"
PORT="${PORT:-18476}"

[ "${BUILD:-1}" = 0 ] || cargo build --release --locked --quiet
BIN="$CARGO_TARGET_DIR/release/attain"
WORK="${WORK:-$(mktemp -d)}"
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
export ATTAIN_DATA_DIR="$WORK" ATTAIN_MODELS_DIR="$WORK/models" ATTAIN_RATE_LIMIT=1000000
unset ATTAIN_DATABASE_URL

if [ ! -f "$WORK/attain.db" ]; then
    "$BIN" generate --out "$WORK/org" --reps "$REPS" --months "$MONTHS" --seed 42 >/dev/null
    echo "calls.csv: $(($(wc -l <"$WORK/org/calls.csv") - 1)) calls; people: $(($(wc -l <"$WORK/org/reps.csv") - 1))"
    /usr/bin/time -f "ingest: %e s, peak RSS %M KiB" "$BIN" ingest "$WORK/org" >/dev/null
    /usr/bin/time -o "$WORK/forecast.time" -f "train + forecast: %e s, peak RSS %M KiB" \
        "$BIN" forecast --horizon 6 >/dev/null 2>&1
    cat "$WORK/forecast.time"
fi
LAST="$("$BIN" status --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_date"])')"
QUARTER="$(python3 -c "d='$LAST'; print(f\"{d[:4]}-Q{(int(d[5:7]) - 1) // 3 + 1}\")")"
MID="$(python3 -c "import datetime as t; d=t.date.fromisoformat('$LAST'); print(d - t.timedelta(days=45))")"
TOKEN="$("$BIN" token create --role admin --name calls-bench | tail -n 1)"
"$BIN" serve --addr "127.0.0.1:$PORT" 2>"$WORK/serve.log" &
SERVER=$!
for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break
    sleep 0.1
done

timed() {
    local name="$1" path="$2"
    local url="http://127.0.0.1:$PORT$path"
    curl -sf -o "$WORK/first.json" -H "Authorization: Bearer $TOKEN" "$url"
    local bytes
    bytes="$(wc -c <"$WORK/first.json")"
    for _ in $(seq 1 "$ROUNDS"); do
        curl -sf -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "$url"
    done | sort -n | awk -v name="$name" -v bytes="$bytes" '
        { t[NR] = $1 * 1000 }
        END { printf "%-44s median %7.1f ms  p90 %7.1f ms  max %7.1f ms  (%d requests, %d bytes)\n",
              name, t[int((NR + 1) / 2)], t[int(NR * 0.9 + 0.5)], t[NR], NR, bytes }'
}

echo "data to $LAST; period $QUARTER"
timed "GET /v1/calls (whole organisation)" "/v1/calls?period=$QUARTER&as_of=$LAST"
python3 - "$WORK/first.json" <<'EOF'
import json, sys
lines = json.load(open(sys.argv[1]))["calls"]
print(f"  the roll-up: {len(lines)} people, {sum(l['called'] for l in lines)} with a call")
EOF
timed "GET /v1/changes (company, $MID to $LAST)" "/v1/changes?period=$QUARTER&from=$MID&to=$LAST"
python3 - "$WORK/first.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
moved = sum(s["deal_count"] for s in c["steps"])
print(f"  {c['opening_deals']} deals open at the start, {c['closing_deals']} at the end, {moved} moves, {len(c['people'])} calls changed")
EOF
/usr/bin/time -f "attain changes (cold process, loads the data): %e s, peak RSS %M KiB" \
    "$BIN" changes --from "$MID" --to "$LAST" --period "$QUARTER" >/dev/null
