#!/usr/bin/env bash
# Stops the daemons start.sh left in DIR: gateway first, monitor last, each by the pid in its
# pid file, and only if that pid is still one of Ceph's daemons (pids are reused).
# Usage: bash test/services/ceph-rgw/stop.sh DIR
DIR=${1:?usage: stop.sh DIR (the folder start.sh was given)}
# A daemon that exited but is not yet reaped (a zombie) has no executable any more: it counts as stopped.
program() { basename "$(readlink "/proc/$1/exe" 2>/dev/null)"; }
for pidfile in "$DIR"/run/client.rgw.pid "$DIR"/run/osd.*.pid "$DIR"/run/mon.*.pid; do
  [ -s "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  name=$(program "$pid")
  case $name in
    radosgw | ceph-osd | ceph-mon) ;;
    *) continue ;;
  esac
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 50); do [ "$(program "$pid")" = "$name" ] || break; sleep 0.1; done
  [ "$(program "$pid")" = "$name" ] && kill -9 "$pid"
done
exit 0
