#!/bin/sh
# redis-cluster.sh start DIR | stop DIR: a Redis Cluster of three primaries
# (no replicas) on free loopback ports, its files in DIR; start prints the
# three ports on one line (also kept in DIR/ports).  For the cluster tests:
# remote-cluster.bats starts one per file.  Exits 1 when it cannot.
set -u
cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: redis-cluster.sh start|stop DIR" >&2; exit 2; }

stop() {
	for pidfile in "$dir"/n*/pid; do
		[ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
	done
	return 0
}

case $cmd in
stop)
	stop
	exit 0
	;;
start) ;;
*)
	echo "usage: redis-cluster.sh start|stop DIR" >&2
	exit 2
	;;
esac

command -v redis-server >/dev/null 2>&1 || { echo "redis-server is not installed" >&2; exit 1; }
mkdir -p "$dir" || exit 1
ports=
for n in 1 2 3; do
	started=
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		# the cluster bus is the port + 10000: both must be free
		port=$(( $(od -An -N2 -tu2 /dev/urandom) % 35000 + 20000 ))
		redis-cli -p "$port" PING >/dev/null 2>&1 && continue
		redis-cli -p $((port + 10000)) PING >/dev/null 2>&1 && continue
		mkdir -p "$dir/n$n"
		# A long node timeout: a node a test stops for a few seconds is
		# not failed over (there are no replicas to fail over to).
		redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
			--cluster-config-file "$dir/n$n/nodes.conf" --cluster-node-timeout 60000 \
			--save '' --appendonly no --dir "$dir/n$n" --daemonize yes \
			--pidfile "$dir/n$n/pid" --logfile "$dir/n$n/log" >/dev/null 2>&1 || continue
		i=0
		while [ "$(redis-cli -p "$port" PING 2>/dev/null)" != PONG ] && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ]; then
			started=1
			break
		fi
	done
	[ -n "$started" ] || { echo "cannot start a cluster node" >&2; stop; exit 1; }
	ports="$ports $port"
done
set -- $ports
redis-cli --cluster create "127.0.0.1:$1" "127.0.0.1:$2" "127.0.0.1:$3" \
	--cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 || {
	echo "redis-cli --cluster create failed:" >&2
	cat "$dir/create.log" >&2
	stop
	exit 1
}
# Every node must see every slot served before a test may rely on it.
for p in "$@"; do
	i=0
	until redis-cli -p "$p" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok'; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "the cluster did not become ready" >&2; stop; exit 1; }
		sleep 0.1
	done
done
echo "$1 $2 $3" >"$dir/ports"
echo "$1 $2 $3"
