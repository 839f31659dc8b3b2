#!/usr/bin/env bash
# Quick start. `scripts/dev.sh demo`: install, build a SQLite demo district, serve it at
# http://127.0.0.1:8000. `scripts/dev.sh test`: install and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}

say() { echo "[dev.sh] $*" >&2; }

install() {
  local started=$SECONDS
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment $VENV"
    "$PY" -m venv "$VENV"
    say "installing the packages of $1 (the first time takes 1-3 minutes: OCR models, Dash, Playwright...)"
  else
    say "checking the packages of $1 (a few seconds when nothing changed)"
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$1"
  say "packages ready ($((SECONDS - started)) s)"
}

case "${1:-}" in
  demo)
    install requirements.txt
    export TRACKER_INSTANCE_PATH=${TRACKER_INSTANCE_PATH:-$PWD/instance/demo}
    export TRACKER_DEMO=1
    # The demo database is rebuilt on every start: what was changed in the last run is gone.
    say "rebuilding the demo database in $TRACKER_INSTANCE_PATH (every start begins afresh)"
    rm -f "$TRACKER_INSTANCE_PATH"/tracker.db*
    "$VENV/bin/flask" --app wsgi init-db
    "$VENV/bin/flask" --app wsgi seed-demo
    say "log in at http://127.0.0.1:${PORT:-8000}/login as duchashi (督查室), fgw (a department) or wuhaitao (a leader), password Demo@2026; Ctrl-C stops"
    exec "$VENV/bin/flask" --app wsgi run --host 127.0.0.1 --port "${PORT:-8000}"
    ;;
  test)
    install requirements-dev.txt
    # Browser tests drive Debian's Chromium; install it where we may (never a downloaded build).
    if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing Debian's chromium for the browser tests" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >&2 \
        || echo "could not install chromium: browser tests will be skipped" >&2
    fi
    shift
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: scripts/dev.sh demo | test [pytest args]" >&2
    exit 2
    ;;
esac
