#!/bin/sh
# with-redis.sh COMMAND...: runs COMMAND with PICKLED_TEST_REDIS_URL naming a
# redis-server on a loopback port, started here for the length of COMMAND
# (in a temporary folder, nothing saved) unless the variable is already set.
# Without redis-server the command runs as it is and the Redis tests skip.
set -u
if [ -n "${PICKLED_TEST_REDIS_URL:-}" ] || ! command -v redis-server >/dev/null 2>&1; then
	exec "$@"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/pickled-redis.XXXXXX") || exit 1
sock=$dir/redis.sock
redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' \
	--appendonly no --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" \
	--logfile "$dir/redis.log" >/dev/null || { rm -rf "$dir"; exec "$@"; }
i=0
while [ ! -S "$sock" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
stop() {
	[ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null
	sleep 0.2
	rm -rf "$dir"
}
trap stop EXIT INT TERM
PICKLED_TEST_REDIS_URL=redis+unix://$sock "$@"
