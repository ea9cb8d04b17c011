#!/usr/bin/env bash
# One-command set-up.  bash run.sh app   -> install (first time) and start the explorer
#                      bash run.sh test  -> install (first time) and run the test suite
#                      bash run.sh cli ARGS... -> the command line (python -m boe_core ARGS)
set -euo pipefail
cd "$(dirname "$0")"
VENV="${BOE_VENV:-.venv}"
PY="${PYTHON:-python3}"

ensure_venv() {
  local req="$1" stamp
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  stamp="$VENV/.installed-$(cat "$req" requirements.txt pyproject.toml | sha1sum | cut -c1-12)-$(basename "$req")"
  if [ ! -f "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$req"
    # the project itself, editable: scripts and benchmarks import boe_core/kernels/app as packages
    "$VENV/bin/python" -m pip install --quiet --no-deps -e .
    touch "$stamp"
  fi
}

ensure_chromium() {  # browser tests use Debian's Chromium (never a downloaded browser build)
  if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; browser tests will be skipped" >&2
  fi
}

cmd="${1:-}"; shift || true
case "$cmd" in
  app)  ensure_venv requirements.txt; exec "$VENV/bin/python" app.py "$@" ;;
  test) ensure_venv requirements-dev.txt; ensure_chromium
        exec "$VENV/bin/python" -m pytest -q "$@" ;;
  cli)  ensure_venv requirements.txt; exec "$VENV/bin/python" -m boe_core "$@" ;;
  *) echo "usage: bash run.sh app|test|cli [args...]" >&2; exit 2 ;;
esac
