#!/usr/bin/env bash
# End-to-end test of the dashboard in headless Chromium (Debian's, installed
# by scripts/ui_env.sh with Playwright in a venv): signs in with a token of
# each role, opens every page the role has, and fails unless every chart
# rendered, every list loaded, no request left this server and the browser
# logged no error. Screenshots go to $SHOTS (default
# $CARGO_TARGET_DIR/browser-shots).
#
#   scripts/browser_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="$(scripts/ui_env.sh | tail -n 1)"
PORT="${PORT:-18475}"
. scripts/lib/sample_server.sh
trap stop_sample_server EXIT
start_sample_server
export SHOTS="${SHOTS:-$CARGO_TARGET_DIR/browser-shots}"
mkdir -p "$SHOTS"
export URL TOKEN_ADMIN TOKEN_LEADER TOKEN_FINANCE TOKEN_MANAGER TOKEN_REP
"$VENV/bin/python" scripts/browser_test.py
