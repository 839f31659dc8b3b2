#!/usr/bin/env bash
# Quick start. `scripts/dev.sh demo`: install, build a SQLite demo district, serve it at
# http://127.0.0.1:8000. `scripts/dev.sh test`: install and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}

install() {
  if [ ! -x "$VENV/bin/python" ]; then "$PY" -m venv "$VENV"; fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$1"
}

case "${1:-}" in
  demo)
    install requirements.txt
    export TRACKER_INSTANCE_PATH=${TRACKER_INSTANCE_PATH:-$PWD/instance/demo}
    export TRACKER_DEMO=1
    rm -f "$TRACKER_INSTANCE_PATH"/tracker.db*
    "$VENV/bin/flask" --app wsgi init-db
    "$VENV/bin/flask" --app wsgi seed-demo
    exec "$VENV/bin/flask" --app wsgi run --host 127.0.0.1 --port "${PORT:-8000}"
    ;;
  test)
    install requirements-dev.txt
    shift
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: scripts/dev.sh demo | test [pytest args]" >&2
    exit 2
    ;;
esac
