#!/usr/bin/env bash
# Executes every notebook in notebooks/ headless against a freshly started
# attain (a small generated organisation; a token per role), in the Python
# venv scripts/ui_env.sh makes. Fails if any cell raises. The executed
# copies, outputs included, go to $OUT (default
# $CARGO_TARGET_DIR/notebooks-run); the committed notebooks stay clean.
#
#   scripts/run_notebooks.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="$(scripts/ui_env.sh | tail -n 1)"
PORT="${PORT:-18476}"
. scripts/lib/sample_server.sh
trap stop_sample_server EXIT
start_sample_server
export OUT="${OUT:-$CARGO_TARGET_DIR/notebooks-run}"
mkdir -p "$OUT"
export ATTAIN_URL="$URL"
export ATTAIN_LEADER_TOKEN="$TOKEN_LEADER" ATTAIN_MANAGER_TOKEN="$TOKEN_MANAGER" ATTAIN_FINANCE_TOKEN="$TOKEN_FINANCE"
status=0
for book in notebooks/*.ipynb; do
    name="$(basename "$book")"
    started=$(date +%s)
    if "$VENV/bin/python" - "$book" "$OUT/$name" <<'PY'
import sys

import nbformat
from nbclient import NotebookClient

source, target = sys.argv[1], sys.argv[2]
book = nbformat.read(source, as_version=4)
try:
    NotebookClient(book, timeout=600, kernel_name="python3").execute()
finally:
    nbformat.write(book, target)
PY
    then
        echo "ok $name ($(( $(date +%s) - started )) s) -> $OUT/$name"
    else
        echo "FAILED $name (executed copy with the error: $OUT/$name)" >&2
        status=1
    fi
done
exit $status
