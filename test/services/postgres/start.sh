#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the catalog tests: one server on 127.0.0.1 whose data,
# config, socket, pid file and log all stay in $DIR, so nothing touches /etc/postgresql or
# /var/run/postgresql and `stop.sh DIR && rm -rf DIR` leaves no trace. The user `sxarchive` is
# its superuser (tests CREATE DATABASE) and connects without a password, from this host only.
#
# Needs Debian's server package: apt-get install postgresql
# Usage: DIR=/tmp/pgx PG_PORT=25432 bash test/services/postgres/start.sh
# Prints `url=postgres://sxarchive@127.0.0.1:PORT/postgres` when the server answers.
set -euo pipefail

: "${DIR:?set DIR to a folder for the cluster (it must not exist yet, or be empty)}"
PG_PORT=${PG_PORT:-25432}
PG_USER=sxarchive

# The server's programs: PG_BINDIR, else pg_config's, else the newest of Debian's versions.
bindir=${PG_BINDIR:-}
if [ -z "$bindir" ] && command -v pg_config >/dev/null; then
  bindir=$(pg_config --bindir 2>/dev/null || true)
  [ -x "$bindir/initdb" ] || bindir=
fi
if [ -z "$bindir" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
for tool in initdb pg_ctl postgres pg_isready; do
  [ -n "$bindir" ] && [ -x "$bindir/$tool" ] || { echo "start.sh: PostgreSQL's $tool not found; install it with: apt-get install postgresql" >&2; exit 1; }
done
psql=$bindir/psql
[ -x "$psql" ] || psql=$(command -v psql) || { echo "start.sh: psql not found; install it with: apt-get install postgresql" >&2; exit 1; }

if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
  echo "start.sh: $DIR is not empty; stop the cluster there (stop.sh $DIR) and remove it first" >&2
  exit 1
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
# A Unix socket path has at most 107 bytes.
if [ ${#DIR} -gt 80 ]; then
  echo "start.sh: $DIR is too long a path for the server's socket; use a shorter DIR" >&2
  exit 1
fi
mkdir -p "$DIR"/run "$DIR"/log

# initdb and postgres refuse to run as root: then the cluster belongs to the postgres user.
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  id -u postgres >/dev/null 2>&1 || { echo "start.sh: running as root needs the postgres system user; install it with: apt-get install postgresql" >&2; exit 1; }
  if command -v runuser >/dev/null; then
    as_owner=(runuser -u postgres --)
  elif command -v setpriv >/dev/null; then
    as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  else
    echo "start.sh: running as root needs runuser or setpriv to become postgres; install them with: apt-get install util-linux" >&2
    exit 1
  fi
  chown -R postgres: "$DIR"
  "${as_owner[@]}" test -w "$DIR" -a -x "$DIR" || {
    echo "start.sh: the postgres user cannot reach $DIR (a parent folder closed to it?); use a DIR under /tmp" >&2
    exit 1
  }
fi
# Both run from $DIR: the caller's folder may be closed to the postgres user.
cd "$DIR"

# poll SECONDS CMD...: retries CMD until it succeeds; on timeout shows the server's log.
poll() {
  local tries=$(($1 * 5))
  shift
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "start.sh: gave up waiting for: $*" >&2
  tail -n 30 "$DIR/log/postgres.log" >&2 || true
  return 1
}

# C collation: text sorts and compares by bytes, as SQLite's BINARY does.
"${as_owner[@]}" "$bindir/initdb" -D "$DIR/data" -U "$PG_USER" --auth=trust --encoding=UTF8 --locale=C \
  >"$DIR/log/initdb.log" 2>&1 || { echo "start.sh: initdb failed:" >&2; tail -n 30 "$DIR/log/initdb.log" >&2; exit 1; }

cat >"$DIR/data/pg_hba.conf" <<HBA
# Only the test superuser, only from this host (its socket in $DIR/run, or 127.0.0.1).
local all $PG_USER trust
host  all $PG_USER 127.0.0.1/32 trust
HBA
cat >>"$DIR/data/postgresql.conf" <<CONF

# --- test/services/postgres/start.sh ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$DIR/run'
fsync = on
synchronous_commit = on
full_page_writes = on
# Shared memory segments as files in the data folder (not /dev/shm): nothing outside DIR.
dynamic_shared_memory_type = mmap
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
CONF

"${as_owner[@]}" "$bindir/pg_ctl" -D "$DIR/data" -l "$DIR/log/postgres.log" -w -t 60 start >"$DIR/log/pg_ctl.log" 2>&1 || {
  echo "start.sh: the server did not start:" >&2
  tail -n 30 "$DIR/log/postgres.log" >&2 || true
  exit 1
}
poll 60 "$bindir/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres
poll 30 "$psql" -X -q -w -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -c 'SELECT 1'
echo "url=postgres://$PG_USER@127.0.0.1:$PG_PORT/postgres"
