#!/usr/bin/env bash
# Local Redis topologies for the tests (CONTRACT §9 "Scale-out"), from plain redis-server
# processes on free ports, each printing the GATEHOUSE_REDIS_URL that reaches it:
#
#   tests/redis/servers.sh cluster DIR   a Redis Cluster: three masters, each with one replica,
#       a node timeout of one second so a killed master's replica takes over in about two, and
#       `cluster-require-full-coverage no` so that meanwhile only the slots of the master that
#       is gone stop answering (the setting README recommends)
#   tests/redis/servers.sh sentinel DIR  a master, its replica and three Sentinels (quorum 2,
#       down after one second) watching them as `gh`
#   tests/redis/servers.sh stop DIR
#
# Every port is chosen with its cluster bus port (port + 10000) free too.
set -euo pipefail
command=${1:?cluster, sentinel or stop}
dir=${2:?a directory}
shift 2

free_ports() {
  N="$1" python3 - <<'PY'
import os, random, socket
def free(p):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", p))
            return True
        except OSError:
            return False
ports = []
while len(ports) < int(os.environ["N"]):
    p = random.randint(20000, 45000)
    if p not in ports and free(p) and free(p + 10000):
        ports.append(p)
print(" ".join(map(str, ports)))
PY
}

# wait_for WHAT CHECK...: runs CHECK every 0.1 s until it succeeds, for at most 30 s.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 1 300); do
    "$@" && return 0
    sleep 0.1
  done
  echo "$what" >&2
  exit 1
}

cluster_ok() { redis-cli -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

in_sync() {
  local info
  info=$(redis-cli -p "$1" info replication 2>/dev/null)
  grep -q '^role:master' <<<"$info" || grep -q '^master_link_status:up' <<<"$info"
}

# A Sentinel that knows the replica and the two other Sentinels.
sentinel_ready() {
  local master
  master=$(redis-cli -p "$1" sentinel master gh 2>/dev/null) || return 1
  redis-cli -p "$1" sentinel ckquorum gh 2>/dev/null | grep -q '^OK' &&
    [ "$(grep -A1 '^num-other-sentinels$' <<<"$master" | tail -1)" = 2 ] &&
    [ "$(grep -A1 '^num-slaves$' <<<"$master" | tail -1)" = 1 ]
}

case "$command" in
cluster)
  set -- $(free_ports 6)
  mkdir -p "$dir"
  for port in "$@"; do
    mkdir -p "$dir/$port"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000 \
      --save "" --appendonly no --daemonize yes --repl-diskless-sync-delay 0 \
      --cluster-require-full-coverage no \
      --logfile "$dir/$port/log" --pidfile "$dir/$port/pid"
  done
  for port in "$@"; do
    for _ in $(seq 1 100); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && break
      sleep 0.05
    done
  done
  nodes=()
  for port in "$@"; do nodes+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes \
    >"$dir/create.log" 2>&1
  for port in "$@"; do
    wait_for "node $port never reached cluster_state:ok" cluster_ok "$port"
  done
  # Every replica in sync with its master: a master killed before that has no one to take
  # over its slots.
  for port in "$@"; do
    wait_for "replica $port never synced" in_sync "$port"
  done
  echo "$@" >"$dir/ports"
  seeds=()
  for port in "$1" "$2" "$3"; do seeds+=("redis://127.0.0.1:$port"); done
  (IFS=,; echo "${seeds[*]}")
  ;;
sentinel)
  set -- $(free_ports 5)
  master=$1 replica=$2
  mkdir -p "$dir"
  for port in "$master" "$replica"; do
    mkdir -p "$dir/$port"
    extra=()
    [ "$port" = "$replica" ] && extra=(--replicaof 127.0.0.1 "$master")
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" --save "" \
      --appendonly no --daemonize yes --repl-diskless-sync-delay 0 \
      --logfile "$dir/$port/log" --pidfile "$dir/$port/pid" "${extra[@]}"
  done
  wait_for "the replica never synced" in_sync "$replica"
  for port in "$3" "$4" "$5"; do
    mkdir -p "$dir/$port"
    cat >"$dir/$port/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
daemonize yes
dir $dir/$port
pidfile $dir/$port/pid
logfile $dir/$port/log
sentinel monitor gh 127.0.0.1 $master 2
sentinel down-after-milliseconds gh 1000
sentinel failover-timeout gh 5000
CONF
    redis-server "$dir/$port/sentinel.conf" --sentinel
  done
  for port in "$3" "$4" "$5"; do
    wait_for "sentinel $port never saw the others" sentinel_ready "$port"
  done
  echo "$@" >"$dir/ports"
  echo "redis+sentinel://127.0.0.1:$3,127.0.0.1:$4,127.0.0.1:$5/gh"
  ;;
stop)
  for pidfile in "$dir"/*/pid; do
    [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
  done
  ;;
*)
  echo "cluster, sentinel or stop" >&2
  exit 2
  ;;
esac
