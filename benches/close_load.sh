#!/usr/bin/env bash
# Speed of the commission close on a large organisation: closing a quarter
# (every rep's statements worked out, frozen and written with the audit
# event), closing the next one after a late booking in the first (so every
# rep's closed quarter is worked out again for its correction), and the
# payroll export.
#
#   benches/close_load.sh               # 10,000 reps, 36 months, seed 42, SQLite
#   REPS=2000 benches/close_load.sh
#
# Times are wall clock of each command (a cold process: it reads the data,
# the plan book and the close from the store).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attain-release}"
REPS="${REPS:-10000}"
MONTHS="${MONTHS:-36}"

[ "${BUILD:-1}" = 0 ] || cargo build --release --locked --quiet
BIN="$CARGO_TARGET_DIR/release/attain"
WORK="${WORK:-$(mktemp -d)}"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
export ATTAIN_DATA_DIR="$WORK" ATTAIN_MODELS_DIR="$WORK/models"
unset ATTAIN_DATABASE_URL

"$BIN" generate --out "$WORK/org" --reps "$REPS" --months "$MONTHS" --seed 42 >/dev/null
/usr/bin/time -f "ingest: %e s, peak RSS %M KiB" "$BIN" ingest "$WORK/org" >/dev/null
LAST="$("$BIN" status --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_date"])')"
# The last two quarters that are over by the data's last day.
read -r FIRST SECOND < <(python3 - "$LAST" <<'PY'
import datetime as t, sys
d = t.date.fromisoformat(sys.argv[1])
y, q = d.year, (d.month - 1) // 3 + 1
if (d + t.timedelta(days=1)).month == 3 * q % 12 + 1 and (d + t.timedelta(days=1)).day == 1:
    pass  # the data ends on its quarter's last day: that quarter is over
else:
    y, q = (y - 1, 4) if q == 1 else (y, q - 1)
y1, q1 = (y - 1, 4) if q == 1 else (y, q - 1)
print(f"{y1}-Q{q1} {y}-Q{q}")
PY
)
echo "data ends $LAST; closing $FIRST, then $SECOND"
/usr/bin/time -f "close $FIRST: %e s, peak RSS %M KiB" "$BIN" commissions close --period "$FIRST" >/dev/null
# A late booking in the closed quarter for one rep: the next close works
# out every rep's closed quarter again and carries the correction.
REP="$(sed -n 2p "$WORK/org/reps.csv" | cut -d, -f1)"
DAY="$(python3 -c "import sys; y,q=sys.argv[1].split('-Q'); print(f'{y}-{3*int(q):02d}-15')" "$FIRST")"
printf 'booking_id,rep_id,amount,booked_date,opportunity_id,territory_id\nLATE-1,%s,12345.67,%s,,\n' "$REP" "$DAY" >"$WORK/late.csv"
mkdir -p "$WORK/late" && mv "$WORK/late.csv" "$WORK/late/bookings.csv"
"$BIN" ingest "$WORK/late" >/dev/null
/usr/bin/time -f "close $SECOND (with corrections): %e s, peak RSS %M KiB" "$BIN" commissions close --period "$SECOND" >/dev/null
/usr/bin/time -f "export $SECOND: %e s" "$BIN" commissions export --period "$SECOND" >"$WORK/payroll.csv"
echo "payroll rows: $(($(wc -l <"$WORK/payroll.csv") - 1))"
"$BIN" commissions closes
