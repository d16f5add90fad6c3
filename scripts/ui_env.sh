#!/usr/bin/env bash
# Installs what the browser test and the notebooks need, once: Debian's
# Chromium (apt, when /usr/bin/chromium is missing) and a Python venv under
# ~/.cache with the packages pinned in scripts/ui-requirements.txt. Prints
# the venv's path on its last line. Idempotent; quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${ATTAIN_UI_VENV:-$HOME/.cache/attain-ui-venv}"

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi

STAMP="$VENV/.requirements"
if ! cmp -s scripts/ui-requirements.txt "$STAMP" 2>/dev/null; then
    echo "creating the Python environment in $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r scripts/ui-requirements.txt >&2
    "$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null
    cp scripts/ui-requirements.txt "$STAMP"
fi
echo "$VENV"
