#!/usr/bin/env bash
# Starts the extra services the scale-out tests use, on private ports, from Debian's
# packages (pgbouncer, redis-server, redis-sentinel): PgBouncer in transaction mode in
# front of the test Postgres, a 3-master Redis Cluster and a Redis master + replica
# watched by three Sentinels. Idempotent: what already answers is left alone, so
# `.ci/run`, the test run's global set-up and a developer can all call it.
#   test/services/start.sh          start what is not running; print the env to use
#   test/services/start.sh stop     stop everything it started
# Postgres (5432) and Redis (6379) themselves are never started or touched here.
set -euo pipefail

DIR="${DIRSYNC_TEST_SERVICES_DIR:-/tmp/dirsync-test-services}"
PG_HOST="${DIRSYNC_TEST_PG_HOST:-127.0.0.1}"
PG_PORT="${DIRSYNC_TEST_PG_PORT:-5432}"
PGBOUNCER_PORT=16432
CLUSTER_PORTS=(17001 17002 17003)
SENTINEL_DATA_PORTS=(17101 17102)
SENTINEL_PORTS=(17111 17112 17113)
SENTINEL_NAME=dirsync-test

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9

ping_redis() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }
wait_for() { # description, command...
  local what=$1
  shift
  for _ in $(seq 1 100); do "$@" && return 0; sleep 0.1; done
  echo "test services: $what did not come up" >&2
  return 1
}

stop_all() {
  for port in "${SENTINEL_PORTS[@]}" "${SENTINEL_DATA_PORTS[@]}" "${CLUSTER_PORTS[@]}"; do
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  if [ -f "$DIR/pgbouncer/pgbouncer.pid" ]; then
    kill "$(cat "$DIR/pgbouncer/pgbouncer.pid")" 2>/dev/null || true
  fi
  echo "test services stopped"
}

start_pgbouncer() {
  command -v pgbouncer >/dev/null || { echo "missing: pgbouncer (apt-get install pgbouncer)" >&2; return 1; }
  if pg_isready -h 127.0.0.1 -p "$PGBOUNCER_PORT" -q 2>/dev/null; then return 0; fi
  local d="$DIR/pgbouncer"
  rm -rf "$d" && mkdir -p "$d"
  printf '"postgres" ""\n"root" ""\n' >"$d/users.txt"
  cat >"$d/pgbouncer.ini" <<INI
[databases]
* = host=$PG_HOST port=$PG_PORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $d/users.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
max_db_connections = 60
server_reset_query =
logfile = $d/pgbouncer.log
pidfile = $d/pgbouncer.pid
INI
  local as=()
  # PgBouncer refuses to run as root.
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$d" 2>/dev/null && as=(-u postgres) || { chown -R nobody "$d"; as=(-u nobody); }
  fi
  pgbouncer 9>&- -d "${as[@]}" "$d/pgbouncer.ini"
  wait_for pgbouncer pg_isready -h 127.0.0.1 -p "$PGBOUNCER_PORT" -q
}

redis_server() { # port dir extra-args...
  local port=$1 d=$2
  shift 2
  mkdir -p "$d"
  redis-server 9>&- --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$d" --save "" \
    --appendonly no --logfile "$d/redis.log" --pidfile "$d/redis.pid" "$@"
}

start_cluster() {
  command -v redis-server >/dev/null || { echo "missing: redis-server" >&2; return 1; }
  if redis-cli -p "${CLUSTER_PORTS[0]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then return 0; fi
  local nodes=()
  for port in "${CLUSTER_PORTS[@]}"; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$DIR/cluster-$port"
    redis_server "$port" "$DIR/cluster-$port" --cluster-enabled yes \
      --cluster-config-file "$DIR/cluster-$port/nodes.conf" --cluster-node-timeout 2000
    nodes+=("127.0.0.1:$port")
  done
  for port in "${CLUSTER_PORTS[@]}"; do wait_for "redis cluster node $port" ping_redis "$port"; done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$DIR/cluster-create.log"
  wait_for "redis cluster" sh -c "redis-cli -p ${CLUSTER_PORTS[0]} cluster info | grep -q cluster_state:ok"
}

sentinel_knows_replica() {
  redis-cli -p "${SENTINEL_PORTS[0]}" sentinel replicas "$SENTINEL_NAME" 2>/dev/null | grep -q 'slave'
}

start_sentinel() {
  command -v redis-sentinel >/dev/null || { echo "missing: redis-sentinel (apt-get install redis-sentinel)" >&2; return 1; }
  local up=1
  for port in "${SENTINEL_PORTS[@]}" "${SENTINEL_DATA_PORTS[@]}"; do ping_redis "$port" || up=0; done
  if [ "$up" = 1 ]; then return 0; fi
  for port in "${SENTINEL_PORTS[@]}" "${SENTINEL_DATA_PORTS[@]}"; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  local master=${SENTINEL_DATA_PORTS[0]} replica=${SENTINEL_DATA_PORTS[1]}
  rm -rf "$DIR/sentinel" && mkdir -p "$DIR/sentinel"
  redis_server "$master" "$DIR/sentinel/$master"
  redis_server "$replica" "$DIR/sentinel/$replica" --replicaof 127.0.0.1 "$master"
  wait_for "redis $master" ping_redis "$master"
  wait_for "redis $replica" ping_redis "$replica"
  for port in "${SENTINEL_PORTS[@]}"; do
    local d="$DIR/sentinel/s$port"
    mkdir -p "$d"
    cat >"$d/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
daemonize yes
dir $d
logfile $d/sentinel.log
pidfile $d/sentinel.pid
sentinel monitor $SENTINEL_NAME 127.0.0.1 $master 2
sentinel down-after-milliseconds $SENTINEL_NAME 2000
sentinel failover-timeout $SENTINEL_NAME 6000
CONF
    redis-sentinel "$d/sentinel.conf" 9>&-
  done
  for port in "${SENTINEL_PORTS[@]}"; do wait_for "sentinel $port" ping_redis "$port"; done
  wait_for "sentinel discovering the replica" sentinel_knows_replica
}

if [ "${1:-start}" = stop ]; then
  stop_all
  exit 0
fi

failed=()
start_pgbouncer || failed+=(pgbouncer)
start_cluster || failed+=(redis-cluster)
start_sentinel || failed+=(redis-sentinel)

join() { local IFS=,; echo "$*"; }
cluster=()
for port in "${CLUSTER_PORTS[@]}"; do cluster+=("127.0.0.1:$port"); done
sentinels=()
for port in "${SENTINEL_PORTS[@]}"; do sentinels+=("127.0.0.1:$port"); done
# What the tests read (and what a developer can export).
[[ " ${failed[*]} " == *" pgbouncer "* ]] || echo "TEST_PGBOUNCER_PORT=$PGBOUNCER_PORT"
[[ " ${failed[*]} " == *" redis-cluster "* ]] || echo "TEST_REDIS_CLUSTER_NODES=$(join "${cluster[@]}")"
if [[ " ${failed[*]} " != *" redis-sentinel "* ]]; then
  echo "TEST_REDIS_SENTINELS=$(join "${sentinels[@]}")"
  echo "TEST_REDIS_SENTINEL_NAME=$SENTINEL_NAME"
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "test services not started: ${failed[*]}" >&2
  exit 1
fi
