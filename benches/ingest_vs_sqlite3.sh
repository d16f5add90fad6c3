#!/usr/bin/env bash
# Ingest benchmark: attain (full validation, one transaction, upserts, indexes)
# against the sqlite3 shell's `.import` of the same CSV files (no validation,
# no keys, no indexes: the fastest way to get rows into SQLite), in one run.
#
#   benches/ingest_vs_sqlite3.sh [REPS] [MONTHS]     (default 10000 36)
#
# Prints a Markdown table (rows, seconds, rows/s, peak RSS) and writes it to
# bench-out/ingest.md. Installs sqlite3 and GNU time from Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${1:-10000}"
MONTHS="${2:-36}"
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

# measure NAME ROWS CMD...: runs CMD under GNU time, prints one table row.
measure() {
    local name="$1" nrows="$2"; shift 2
    local log="$OUT/time.log"
    /usr/bin/time -v "$@" > "$OUT/last.out" 2> "$log" || { cat "$log" "$OUT/last.out"; exit 1; }
    local secs rss
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$log")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
    printf '| %s | %s | %.2f | %.0f | %s |\n' "$name" "$nrows" "$secs" "$(echo "$nrows / $secs" | bc -l)" "$rss"
}

# sqlite3 .import of FILE... into DB, one table per file (run under GNU time).
IMPORT=(bash -c 'db="$1"; shift; for f in "$@"; do echo ".import --csv $f $(basename "$f" .csv)"; done | sqlite3 "$db"' import)

OPP_ROWS=$(rows "$OPPS_ONLY"/*.csv)
ALL_FILES=("$ORG"/territories.csv "$ORG"/reps.csv "$ORG"/opportunities.csv "$ORG"/opportunity_history.csv "$ORG"/bookings.csv "$ORG"/quotas.csv)
ALL_ROWS=$(rows "${ALL_FILES[@]}")
rm -f "$OUT"/*.db "$OUT"/*.db-wal "$OUT"/*.db-shm

{
echo "Ingest of the generated organisation ($REPS reps, $MONTHS months); $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%d)."
echo
echo "| run | rows | seconds | rows/s | peak RSS (MiB) |"
echo "|---|---:|---:|---:|---:|"
measure "attain ingest: territories + reps + opportunities" "$OPP_ROWS" \
    "$ATTAIN" --db "sqlite://$OUT/attain-opps.db" ingest "$OPPS_ONLY" --as-of 2026-01-01
measure "sqlite3 .import: the same three files" "$OPP_ROWS" \
    "${IMPORT[@]}" "$OUT/sqlite-opps.db" "$OPPS_ONLY"/territories.csv "$OPPS_ONLY"/reps.csv "$OPPS_ONLY"/opportunities.csv
measure "attain ingest: whole organisation (6 tables)" "$ALL_ROWS" \
    "$ATTAIN" --db "sqlite://$OUT/attain-all.db" ingest "$ORG" --as-of 2026-01-01
measure "sqlite3 .import: the same six files" "$ALL_ROWS" \
    "${IMPORT[@]}" "$OUT/sqlite-all.db" "${ALL_FILES[@]}"
measure "attain ingest: the whole organisation again (no-op)" "$ALL_ROWS" \
    "$ATTAIN" --db "sqlite://$OUT/attain-all.db" ingest "$ORG" --as-of 2026-01-01
} | tee "$OUT/ingest.md"
