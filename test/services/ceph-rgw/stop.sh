#!/usr/bin/env bash
# Stops the daemons start.sh left in DIR: gateway first, monitor last, each by the pid in its
# pid file, and only if that pid is still one of Ceph's daemons (pids are reused).
# Usage: bash test/services/ceph-rgw/stop.sh DIR
DIR=${1:?usage: stop.sh DIR (the folder start.sh was given)}
for pidfile in "$DIR"/run/client.rgw.pid "$DIR"/run/osd.*.pid "$DIR"/run/mon.*.pid; do
  [ -s "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  case $(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)") in
    radosgw | ceph-osd | ceph-mon) ;;
    *) continue ;;
  esac
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
done
exit 0
