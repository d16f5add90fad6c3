#!/usr/bin/env bash
# Ingest benchmark: attain (full validation, one transaction, upserts, indexes)
# against the sqlite3 shell's `.import` of the same CSV files (no validation,
# no keys, no indexes: the fastest way to get rows into SQLite), in one run.
#
#   benches/ingest_vs_sqlite3.sh [REPS] [MONTHS] [ROUNDS]   (default 10000 36 3)
#
# Prints a Markdown table (rows, median seconds over the rounds, rows/s, peak
# RSS) and writes it to bench-out/ingest.md. Installs sqlite3 and GNU time
# from Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${1:-10000}"
MONTHS="${2:-36}"
ROUNDS="${3:-3}"
OUT="bench-out"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attain-target}"

need() { command -v "$1" >/dev/null 2>&1; }
if ! need sqlite3 || [ ! -x /usr/bin/time ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 time >/dev/null
fi

cargo build --release --quiet
ATTAIN="$CARGO_TARGET_DIR/release/attain"
mkdir -p "$OUT"
ORG="$OUT/org-$REPS-$MONTHS"
if [ ! -f "$ORG/opportunities.csv" ]; then
    "$ATTAIN" generate --out "$ORG" --reps "$REPS" --months "$MONTHS" --seed 1
fi
OPPS_ONLY="$OUT/opps-$REPS-$MONTHS"
mkdir -p "$OPPS_ONLY"
for f in territories reps opportunities; do cp -f "$ORG/$f.csv" "$OPPS_ONLY/"; done

rows() { local n=0; for f in "$@"; do n=$((n + $(wc -l < "$f") - 1)); done; echo "$n"; }

# run_timed KEY CMD...: runs CMD under GNU time, appends "seconds rss_mib"
# to $OUT/KEY.runs.
run_timed() {
    local key="$1"; shift
    local log="$OUT/time.log"
    /usr/bin/time -v "$@" > "$OUT/last.out" 2> "$log" || { cat "$log" "$OUT/last.out"; exit 1; }
    awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; secs=s}
                /Maximum resident set size/ {rss=$2/1024}
                END {printf "%.2f %.0f\n", secs, rss}' "$log" >> "$OUT/$key.runs"
}

# median KEY: the median seconds of $OUT/KEY.runs.
median() { sort -n "$OUT/$1.runs" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# row NAME ROWS KEY: one table row: median seconds, each round's seconds,
# rows/s at the median, largest peak RSS.
row() {
    local name="$1" nrows="$2" key="$3" med all rss
    med=$(median "$key")
    all=$(awk '{printf "%s%s", (NR>1?", ":""), $1}' "$OUT/$key.runs")
    rss=$(sort -n -k2 "$OUT/$key.runs" | tail -n 1 | awk '{print $2}')
    printf '| %s | %s | %.2f | %s | %.0f | %s |\n' "$name" "$nrows" "$med" "$all" "$(echo "$nrows / $med" | bc -l)" "$rss"
}

# sqlite3 .import of FILE... into DB, one table per file (run under GNU time).
IMPORT=(bash -c 'db="$1"; shift; for f in "$@"; do echo ".import --csv $f $(basename "$f" .csv)"; done | sqlite3 "$db"' import)

OPP_ROWS=$(rows "$OPPS_ONLY"/*.csv)
ALL_FILES=("$ORG"/territories.csv "$ORG"/reps.csv "$ORG"/opportunities.csv "$ORG"/opportunity_history.csv "$ORG"/bookings.csv "$ORG"/quotas.csv)
ALL_ROWS=$(rows "${ALL_FILES[@]}")
rm -f "$OUT"/*.runs

# Each round runs every measurement once, attain and .import alternating,
# so a slow spell of the disk hits both; the table shows the medians.
for round in $(seq 1 "$ROUNDS"); do
    echo "round $round of $ROUNDS" >&2
    rm -f "$OUT"/*.db "$OUT"/*.db-wal "$OUT"/*.db-shm
    run_timed attain-opps "$ATTAIN" --db "sqlite://$OUT/attain-opps.db" ingest "$OPPS_ONLY" --as-of 2026-01-01
    run_timed import-opps "${IMPORT[@]}" "$OUT/sqlite-opps.db" \
        "$OPPS_ONLY"/territories.csv "$OPPS_ONLY"/reps.csv "$OPPS_ONLY"/opportunities.csv
    run_timed attain-all "$ATTAIN" --db "sqlite://$OUT/attain-all.db" ingest "$ORG" --as-of 2026-01-01
    run_timed import-all "${IMPORT[@]}" "$OUT/sqlite-all.db" "${ALL_FILES[@]}"
    run_timed attain-noop "$ATTAIN" --db "sqlite://$OUT/attain-all.db" ingest "$ORG" --as-of 2026-01-01
done

ratio() { echo "$(median "$1") / $(median "$2")" | bc -l | awk '{printf "%.2f", $1}'; }
{
echo "Ingest of the generated organisation ($REPS reps, $MONTHS months); $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%d); $ROUNDS rounds."
echo
echo "| run | rows | median seconds | each round | rows/s (median) | peak RSS MiB (largest) |"
echo "|---|---:|---:|---|---:|---:|"
row "attain ingest: territories + reps + opportunities" "$OPP_ROWS" attain-opps
row "sqlite3 .import: the same three files" "$OPP_ROWS" import-opps
row "attain ingest: whole organisation (6 tables)" "$ALL_ROWS" attain-all
row "sqlite3 .import: the same six files" "$ALL_ROWS" import-all
row "attain ingest: the whole organisation again (no-op)" "$ALL_ROWS" attain-noop
echo
echo "attain / .import (medians): whole organisation $(ratio attain-all import-all)x, opportunities only $(ratio attain-opps import-opps)x."
} | tee "$OUT/ingest.md"
