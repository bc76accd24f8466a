#!/usr/bin/env bats
# remote-cluster.bats: the shared tier on a real Redis Cluster of three
# primaries (scripts/redis-cluster.sh, started once for the file): sharing,
# single flight, a node failing, ls/rm across primaries, seed nodes, and a
# slot moved to another node in the middle of a run.

load helper
load remote_helper

eval "helper_$(declare -f setup)"
eval "helper_$(declare -f teardown)"

setup_file() {
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null || return 0
	CLUSTER_DIR=$(mktemp -d)
	export CLUSTER_DIR
	sh "$BATS_TEST_DIRNAME/../../scripts/redis-cluster.sh" start "$CLUSTER_DIR" >/dev/null
}

teardown_file() {
	[ -n "${CLUSTER_DIR:-}" ] || return 0
	sh "$BATS_TEST_DIRNAME/../../scripts/redis-cluster.sh" stop "$CLUSTER_DIR"
	rm -rf "$CLUSTER_DIR"
}

setup() {
	[ -n "${CLUSTER_DIR:-}" ] || skip "redis-server is not installed"
	[ -s "$CLUSTER_DIR/ports" ] || { echo "the cluster did not start"; return 1; }
	read -r P1 P2 P3 <"$CLUSTER_DIR/ports"
	PORTS=("$P1" "$P2" "$P3")
	helper_setup || return 1
	URL=redis://127.0.0.1:$P1
	PREFIX="pickled-test:${TMP##*/}:"
	mkdir "$TMP/hosts"
	host a
	HOST_URL=redis://127.0.0.1:$P2 host b
}

teardown() {
	local p k
	kill_bg
	for p in "${PORTS[@]}"; do
		kill -CONT "$(cat "$CLUSTER_DIR"/n*/pid)" 2>/dev/null || true
		redis-cli -p "$p" --scan --pattern "${PREFIX:-none}*" 2>/dev/null | while IFS= read -r k; do
			redis-cli -c -p "$p" DEL "$k" >/dev/null
		done
	done
	helper_teardown
}

# rkeys: this test's keys in the cluster, on whichever node, sorted.
rkeys() {
	local p
	for p in "${PORTS[@]}"; do
		redis-cli -p "$p" --scan --pattern "${PREFIX}*"
	done | sort
}

# owner KEY: the port of the primary that holds KEY's slot.
owner() {
	local slot
	slot=$(redis-cli -p "$P1" CLUSTER KEYSLOT "$1")
	redis-cli -p "$P1" CLUSTER NODES | awk -v s="$slot" '
		/master/ { for (i = 9; i <= NF; i++) { split($i, r, "-"); if (r[2] == "") r[2] = r[1];
			if (s >= r[1] && s <= r[2]) { split($2, a, "[:@]"); print a[2] } } }'
}

# node_id PORT: the cluster id of the node on PORT.
node_id() {
	redis-cli -p "$1" CLUSTER MYID
}

# pid_of PORT: the pid of the node on PORT.
pid_of() {
	redis-cli -p "$1" INFO server | tr -d '\r' | sed -n 's/^process_id://p'
}

@test "cluster: host A stores, host B (another node's URL) replays; the entry's keys share a slot" {
	local cmd="$CNT"'; printf "out\n"; printf "err\n" >&2; exit 3'
	local k
	k=$(key --cache-failures sh -c "$cmd")
	on a run --cache-failures sh -c "$cmd"
	assert_status 3
	assert_out 'out\n'
	assert_err 'err\n'
	# the entry alone, on the primary of its slot: the lock went, no upload is left
	assert_rkeys "{$k}:e"
	[ "$(redis-cli -p "$(owner "${PREFIX}{$k}:e")" EXISTS "${PREFIX}{$k}:e")" = 1 ]
	[ "$(owner "${PREFIX}{$k}:l")" = "$(owner "${PREFIX}{$k}:e")" ]
	on b run --cache-failures sh -c "$cmd"
	assert_status 3
	assert_out 'out\n'
	assert_err 'err\n'
	assert_count 1
	remote_stats b
	assert_bytes "$TMP/io/remote" '"remote_hits":1,"remote_misses":0,"remote_errors":0,"remote_timeouts":0\n'
}

@test "cluster: 8 hosts on three nodes' URLs started at once run the command once" {
	local cmd="$CNT"'; sleep 1; printf "out\n"; printf "err\n" >&2'
	local i pids=()
	# Eight hosts at once under memcheck take the valgrind lane's two
	# cores for long; the same code runs under it in the other tests.
	[ -z "${PK_VALGRIND_BIN_DIR:-}" ] || local PK=$PK_VALGRIND_BIN_DIR/pickled
	for i in 1 2 3 4 5 6 7 8; do
		HOST_URL=redis://127.0.0.1:${PORTS[$((i % 3))]} host "h$i"
		on_bg "h$i" "h$i" run --lock-timeout 30s sh -c "$cmd"
		pids+=("$BG")
	done
	for i in 1 2 3 4 5 6 7 8; do
		wait "${pids[$((i - 1))]}"
		assert_bytes "$TMP/io/h$i.out" 'out\n'
		assert_bytes "$TMP/io/h$i.err" 'err\n'
	done
	assert_count 1
	assert_rkeys "{$(key sh -c "$cmd")}:e"
}

@test "cluster: the node holding the key stops answering: output, status, one warning, stored locally" {
	local cmd="$CNT"'; printf "out\n"; printf "err\n" >&2; exit 4'
	local k port pid
	k=$(key --cache-failures sh -c "$cmd")
	port=$(owner "${PREFIX}{$k}:e")
	pid=$(pid_of "$port")
	# reached through another node: the redirection leads to the stopped one
	local other=$P1
	[ "$port" != "$P1" ] || other=$P2
	HOST_URL=redis://127.0.0.1:$other host s 'timeout: 300ms'
	kill -STOP "$pid"
	on s run --cache-failures sh -c "$cmd"
	kill -CONT "$pid"
	assert_status 4
	assert_out 'out\n'
	head -n 1 "$TMP/io/err" >"$TMP/io/err1"
	assert_bytes "$TMP/io/err1" 'err\n'
	tail -n +2 "$TMP/io/err" >"$TMP/io/warn"
	assert_lines "$TMP/io/warn" 1
	assert_match "$TMP/io/warn" "^pickled: remote cache unavailable, using the local cache: remote cache 127.0.0.1:$port: Connection timed out$"
	assert_count 1
	remote_stats s
	assert_bytes "$TMP/io/remote" '"remote_hits":0,"remote_misses":0,"remote_errors":0,"remote_timeouts":1\n'
	on s run --cache-failures sh -c "$cmd"
	assert_status 4
	assert_err 'err\n'
	assert_count 1
}

@test "cluster: a URL that does not answer, with a seed node that does" {
	HOST_URL=redis://127.0.0.1:1 host seeded "seeds: \"127.0.0.1:$P3, 127.0.0.1:$P2\""
	on seeded run sh -c "$OUTERR"
	assert_status 0
	assert_out 'out\n'
	assert_err 'err\n'
	assert_rkeys "{$(key sh -c "$OUTERR")}:e"
	on b run sh -c "$OUTERR"
	assert_err 'err\n'
	assert_count 1
	# no seed answering either: the URL's failure is the one said
	HOST_URL=redis://127.0.0.1:1 host dead 'seeds: "127.0.0.1:2"'
	on dead run sh -c "$OUTERR"
	assert_status 0
	assert_err 'err\npickled: remote cache unavailable, using the local cache: remote cache redis://127.0.0.1:1: Connection refused\n'
}

@test "cluster: ls --remote and rm --tag / --match reach the entries of every primary" {
	local i ports=()
	for i in 1 2 3 4 5 6 7 8 9; do
		on a run --tag "t$((i % 2))" sh -c "$CNT; echo job$i"
	done
	assert_count 9
	# spread over the primaries, as keys are
	for i in "${PORTS[@]}"; do
		[ -z "$(redis-cli -p "$i" --scan --pattern "${PREFIX}*")" ] || ports+=("$i")
	done
	[ "${#ports[@]}" -ge 2 ]
	on b ls --remote
	assert_status 0
	assert_lines "$TMP/io/out" 9
	assert_err ''
	on b rm --tag t1
	assert_status 0
	assert_err ''
	[ "$(rkeys | grep -vc '}:x$')" = 4 ]
	on b rm --match 'sh -c * echo job2'
	assert_status 0
	assert_err ''
	[ "$(rkeys | grep -vc '}:x$')" = 3 ]
	on b ls --remote
	assert_lines "$TMP/io/out" 3
	! grep -q 'job[1357]' "$TMP/io/out"
}

@test "cluster: the entry's slot moves to another node in the middle of a run" {
	local cmd="$CNT; while [ ! -e '$TMP/go' ]; do sleep 0.05; done; echo moved"
	local k slot from to fromid toid p key
	k=$(key sh -c "$cmd")
	slot=$(redis-cli -p "$P1" CLUSTER KEYSLOT "{$k}")
	from=$(owner "{$k}")
	for p in "${PORTS[@]}"; do
		[ "$p" = "$from" ] || to=$p
	done
	fromid=$(node_id "$from")
	toid=$(node_id "$to")
	# the move begins before the run: keys new to the slot go to the new node (ASK)
	redis-cli -p "$to" CLUSTER SETSLOT "$slot" IMPORTING "$fromid" >/dev/null
	redis-cli -p "$from" CLUSTER SETSLOT "$slot" MIGRATING "$toid" >/dev/null
	HOST_URL=redis://127.0.0.1:$from host m 'lease: 1s'
	on_bg m m run sh -c "$cmd"
	local pm=$BG
	# (the new node answers others with MOVED until the move ends)
	locked() { redis-cli -p "$to" CLUSTER GETKEYSINSLOT "$slot" 10 | grep -qx "${PREFIX}{$k}:l"; }
	poll 20 locked
	# renewed (every third of the 1 s lease) through the move
	sleep 1
	# ... and ends while the command runs: whatever the old node held moves
	redis-cli -p "$from" CLUSTER GETKEYSINSLOT "$slot" 100 | while IFS= read -r key; do
		[ -z "$key" ] || redis-cli -p "$from" MIGRATE 127.0.0.1 "$to" "$key" 0 5000 >/dev/null
	done
	for p in "$to" "$from" "${PORTS[@]}"; do
		redis-cli -p "$p" CLUSTER SETSLOT "$slot" NODE "$toid" >/dev/null
	done
	touch "$TMP/go"
	wait "$pm"
	assert_bytes "$TMP/io/m.out" 'moved\n'
	assert_bytes "$TMP/io/m.err" ''
	[ "$(owner "{$k}")" = "$to" ]
	assert_rkeys "{$k}:e"
	[ "$(redis-cli -p "$to" EXISTS "${PREFIX}{$k}:e")" = 1 ]
	# a host still pointed at the old node is redirected
	on m run sh -c "$cmd"
	assert_out 'moved\n'
	on b run sh -c "$cmd"
	assert_out 'moved\n'
	assert_err ''
	assert_count 1
	# the slot back where it was, for the other tests
	redis-cli -p "$from" CLUSTER SETSLOT "$slot" IMPORTING "$toid" >/dev/null
	redis-cli -p "$to" CLUSTER SETSLOT "$slot" MIGRATING "$fromid" >/dev/null
	redis-cli -p "$to" CLUSTER GETKEYSINSLOT "$slot" 100 | while IFS= read -r key; do
		[ -z "$key" ] || redis-cli -p "$to" MIGRATE 127.0.0.1 "$from" "$key" 0 5000 >/dev/null
	done
	for p in "$from" "$to" "${PORTS[@]}"; do
		redis-cli -p "$p" CLUSTER SETSLOT "$slot" NODE "$fromid" >/dev/null
	done
}

@test "cluster: an entry in parts (over 32 MiB) is published on its slot's node and replayed through another node" {
	local native=$PK k
	[ -z "${PK_VALGRIND_BIN_DIR:-}" ] || native=$PK_VALGRIND_BIN_DIR/pickled
	host a 'max_entry: 1G' 'timeout: 5s'
	HOST_URL=redis://127.0.0.1:$P2 host b 'max_entry: 1G' 'timeout: 5s'
	head -c $((32 * 1048576 + 1000)) /dev/urandom >"$TMP/big"
	local cmd="$CNT"'; cat "$TMP/big"'
	k=$(key sh -c "$cmd")
	"$native" -c "$TMP/a.conf" -C "$TMP/hosts/a" run sh -c "$cmd" </dev/null >/dev/null 2>"$TMP/io/err" 3>&-
	assert_bytes "$TMP/io/err" ''
	# the manifest and its two parts, all on the primary of the entry's slot
	rkeys >"$TMP/io/keys"
	assert_lines "$TMP/io/keys" 3
	local p e
	e=$(owner "${PREFIX}{$k}:e")
	while IFS= read -r p; do
		[ "$(redis-cli -p "$e" EXISTS "$p")" = 1 ]
		[ "$(redis-cli -p "$e" PTTL "$p")" -gt 0 ]
	done <"$TMP/io/keys"
	"$native" -c "$TMP/b.conf" -C "$TMP/hosts/b" run sh -c "$cmd" </dev/null >"$TMP/io/out" 2>"$TMP/io/err" 3>&-
	assert_same "$TMP/big" "$TMP/io/out"
	assert_bytes "$TMP/io/err" ''
	assert_count 1
}
