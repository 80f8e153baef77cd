#!/usr/bin/env bash
# Stops the server start.sh left in DIR (pg_ctl stop -m fast: sessions are ended, then a clean
# shutdown), and only that one: pg_ctl finds it by the pid file in DIR/data.
# Usage: bash test/services/postgres/stop.sh DIR
DIR=${1:?usage: stop.sh DIR (the folder start.sh was given)}
data=$DIR/data
# No pid file: no server was started there, or it has stopped.
[ -s "$data/postmaster.pid" ] || exit 0

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ] && command -v pg_config >/dev/null; then
  bindir=$(pg_config --bindir 2>/dev/null || true)
  [ -x "$bindir/pg_ctl" ] || bindir=
fi
if [ -z "$bindir" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
[ -n "$bindir" ] && [ -x "$bindir/pg_ctl" ] || { echo "stop.sh: PostgreSQL's pg_ctl not found; install it with: apt-get install postgresql" >&2; exit 1; }

# pg_ctl refuses root too: run it as the cluster's owner.
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  owner=$(stat -c %U "$data")
  if [ "$owner" != root ]; then
    if command -v runuser >/dev/null; then as_owner=(runuser -u "$owner" --); else as_owner=(setpriv --reuid="$owner" --regid="$(stat -c %g "$data")" --init-groups --); fi
  fi
fi
cd "$DIR" || exit 1
if ! "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1; then
  # A pid file left by a server that died is no server to stop.
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1 || exit 0
  echo "stop.sh: the server in $data did not stop; see $DIR/log/postgres.log" >&2
  exit 1
fi
exit 0
