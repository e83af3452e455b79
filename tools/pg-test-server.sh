#!/usr/bin/env bash
# A throw-away PostgreSQL server on loopback for the test suite (started by `make test`).
#   tools/pg-test-server.sh start   -> prints the SQLAlchemy URL to use
#   tools/pg-test-server.sh stop
# Uses Debian's postgresql binaries; runs the server as the 'postgres' user when invoked as root.
set -euo pipefail
PORT="${FRX_PG_PORT:-54329}"
ROOT="${FRX_PG_DIR:-/tmp/frx-test-pg}"
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$BIN" ] || { echo "PostgreSQL server binaries not found (Debian package postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }

case "${1:-start}" in
  start)
    if [ ! -f "$ROOT/data/PG_VERSION" ]; then
      mkdir -p "$ROOT"
      [ "$(id -u)" -eq 0 ] && chown postgres "$ROOT"
      as_pg "$BIN/initdb -D '$ROOT/data' -U frx --auth=trust -E UTF8 >/dev/null"
    fi
    if ! as_pg "$BIN/pg_ctl -D '$ROOT/data' status >/dev/null 2>&1"; then
      as_pg "$BIN/pg_ctl -D '$ROOT/data' -l '$ROOT/server.log' -w -o \"-p $PORT -k '$ROOT' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200\" start >/dev/null"
    fi
    as_pg "$BIN/psql -h 127.0.0.1 -p $PORT -U frx -d postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='frx_test'\" | grep -q 1 || $BIN/createdb -h 127.0.0.1 -p $PORT -U frx frx_test"
    echo "postgresql+psycopg://frx@127.0.0.1:$PORT/frx_test"
    ;;
  stop)
    as_pg "$BIN/pg_ctl -D '$ROOT/data' -m fast stop >/dev/null 2>&1" || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
