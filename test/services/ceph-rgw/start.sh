#!/usr/bin/env bash
# A throwaway Ceph cluster for the S3 tests: one monitor, one OSD keeping objects in RAM
# (memstore) and a RADOS Gateway on 127.0.0.1. Everything it writes (config, keyrings, pid
# files, sockets, logs) stays in $DIR, so nothing touches /etc/ceph or /var/lib/ceph and
# `stop.sh DIR && rm -rf DIR` leaves no trace.
#
# Needs Debian's packages: apt-get install radosgw ceph-mon ceph-osd
# Usage: DIR=/tmp/rgw RGW_PORT=7480 MON_PORT=6789 bash test/services/ceph-rgw/start.sh
# Prints `endpoint=http://127.0.0.1:PORT` when the gateway answers.
set -euo pipefail

: "${DIR:?set DIR to a folder for the cluster state (it must not exist yet)}"
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${MON_PORT:-6789}          # messenger v1; v2 listens on MON_PORT+1
ACCESS_KEY=${ACCESS_KEY:-sxarchive-test}
SECRET_KEY=${SECRET_KEY:-sxarchive-test-secret}
MEMSTORE_BYTES=${MEMSTORE_BYTES:-2147483648}

for tool in ceph ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool curl; do
  command -v "$tool" >/dev/null || { echo "start.sh: $tool not found; install it with: apt-get install radosgw ceph-mon ceph-osd curl" >&2; exit 1; }
done
if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
  echo "start.sh: $DIR is not empty; stop the cluster there (stop.sh $DIR) and remove it first" >&2
  exit 1
fi
mkdir -p "$DIR"/mon/a "$DIR"/osd/0 "$DIR"/run "$DIR"/log "$DIR"/rgw
export CEPH_CONF=$DIR/ceph.conf

# poll SECONDS LOG CMD...: retries CMD until it succeeds; on timeout shows the daemon's log.
poll() {
  local tries=$(($1 * 5)) log=$2
  shift 2
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "start.sh: gave up waiting for: $*" >&2
  tail -n 30 "$log" >&2 || true
  return 1
}

fsid=$(cat /proc/sys/kernel/random/uuid)
mon_addr="[v2:127.0.0.1:$((MON_PORT + 1)),v1:127.0.0.1:$MON_PORT]"
cat >"$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon_host = $mon_addr
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
# A test cluster on loopback: no cephx. Daemons insist on 'secure' mode, which needs cephx,
# unless crc is allowed too.
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc secure
ms_client_mode = crc secure
keyring = $DIR/keyring
run_dir = $DIR/run
pid_file = $DIR/run/\$name.pid
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
crash_dir = $DIR/log
# One OSD: every pool has a single replica, and it may sit on the one host.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
[mon]
mon_data = $DIR/mon/\$id
# The temp folder's disk may be nearly full; the monitor would refuse to start.
mon_data_avail_crit = 1
mon_data_avail_warn = 2
[osd]
osd_data = $DIR/osd/\$id
osd_objectstore = memstore
memstore_device_bytes = $MEMSTORE_BYTES
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_data = $DIR/rgw
rgw_dns_name = localhost
CONF

monmaptool --create --clobber --fsid "$fsid" --addv a "$mon_addr" "$DIR/monmap" >/dev/null
ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-mon --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring"
ceph-mon -i a
poll 60 "$DIR/log/mon.a.log" ceph --connect-timeout 5 mon stat

osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$(ceph osd new "$osd_uuid")
ceph-osd -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$DIR/log/osd-mkfs.log" 2>&1
ceph-osd -i "$osd_id" 2>>"$DIR/log/osd-stderr.log"
osd_is_up() { ceph osd dump | grep -q "^osd\.$osd_id up"; }
poll 120 "$DIR/log/osd.$osd_id.log" osd_is_up

# The gateway would create its pools on first use, which makes the first requests of a test
# take seconds; made here, in parallel, they are ready before it starts.
pools=(.rgw.root default.rgw.log default.rgw.control default.rgw.meta
       default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec)
for pool in "${pools[@]}"; do
  { ceph osd pool create "$pool" 8 8 && ceph osd pool application enable "$pool" rgw; } >/dev/null 2>&1 &
done
wait
made=$(ceph osd pool ls | wc -l)
[ "$made" -ge "${#pools[@]}" ] || { echo "start.sh: made $made of ${#pools[@]} gateway pools" >&2; exit 1; }

radosgw-admin user create --uid=sxarchive-test --display-name='sxarchive tests' \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
# The gateway knows only STANDARD until other classes are placed; the AWS names all map to
# the one data pool here, which is enough to see that a class is requested and recorded.
for class in STANDARD_IA ONEZONE_IA INTELLIGENT_TIERING GLACIER GLACIER_IR DEEP_ARCHIVE; do
  radosgw-admin zonegroup placement add --rgw-zonegroup default --placement-id default-placement \
    --storage-class "$class" >/dev/null
  radosgw-admin zone placement add --rgw-zone default --placement-id default-placement \
    --storage-class "$class" --data-pool default.rgw.buckets.data >/dev/null
done

radosgw -n client.rgw
poll 120 "$DIR/log/client.rgw.log" curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/"
echo "endpoint=http://127.0.0.1:$RGW_PORT"
