# remote_helper.bash: hosts (cache directories with a configuration of
# their own) sharing a Redis, for remote.bats and remote-cluster.bats.
# Needs $URL (the server), $PREFIX (this test's keys) and an rkeys function
# listing this test's keys in Redis.

# host NAME [LINE...]: a host: cache $TMP/hosts/NAME and configuration
# $TMP/NAME.conf, whose remote block points at $HOST_URL (default the test
# server) with the prefix $HOST_PREFIX (default this test's); each LINE
# ("mode: read-only") is added to the block.
host() {
	local name=$1 line
	shift
	{
		printf 'remote:\n  url: "%s"\n  prefix: "%s"\n' "${HOST_URL:-$URL}" "${HOST_PREFIX:-$PREFIX}"
		for line in "$@"; do
			printf '  %s\n' "$line"
		done
	} >"$TMP/$name.conf"
	chmod 600 "$TMP/$name.conf"
}

# on HOST ARGS...: pk as HOST.
on() {
	local h=$1
	shift
	pk -c "$TMP/$h.conf" -C "$TMP/hosts/$h" "$@"
}

# on_bg HOST NAME ARGS...: pickled as HOST in the background, stdout and
# stderr into $TMP/io/NAME.out and NAME.err; its pid in $BG.
on_bg() {
	local h=$1 n=$2
	shift 2
	pk_bg "$n" -c "$TMP/$h.conf" -C "$TMP/hosts/$h" "$@"
}

# key ARGS...: the key `pickled run ARGS...` uses.
key() {
	"$PK" key "$@" </dev/null
}

# remote_stats HOST: the remote counters of HOST's stats --json, into
# $TMP/io/remote.
remote_stats() {
	on "$1" stats --json
	assert_status 0
	grep -o '"remote_hits":[0-9]*,"remote_misses":[0-9]*,"remote_errors":[0-9]*,"remote_timeouts":[0-9]*' \
		"$TMP/io/out" >"$TMP/io/remote" || true
}

# assert_rkeys [KEY...]: this test's keys in Redis are exactly KEY...
# (prefix omitted), in any order, the tombstones `rm` leaves ({KEY}:x)
# aside.
assert_rkeys() {
	local k
	for k in "$@"; do
		printf '%s%s\n' "$PREFIX" "$k"
	done | sort >"$TMP/io/rkeys.expected"
	rkeys | grep -v '}:x$' >"$TMP/io/rkeys" || true
	assert_same "$TMP/io/rkeys.expected" "$TMP/io/rkeys" "keys in Redis"
}

# A command that counts its runs and writes to both streams.
OUTERR="$CNT"'; printf "out\n"; printf "err\n" >&2'
