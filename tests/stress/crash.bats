#!/usr/bin/env bats
# crash.bats: pickled killed with SIGKILL at seeded random moments during
# misses never leaves anything that replays partial output; verify finds
# every entry sound and gc removes what the killed runs left behind.

load stress

# Ten lines over about 50 ms; the key text ($1) is in every line, so an
# entry replayed for the wrong key would show too.
writer() {
	script writer 'i=0
while [ $i -lt 10 ]; do
	echo "run $1 line $i: the quick brown fox jumps over the lazy dog"
	sleep 0.005
	i=$((i + 1))
done
echo "run $1 done" >&2'
}

expected_out() {
	local i
	for i in 0 1 2 3 4 5 6 7 8 9; do
		echo "run $1 line $i: the quick brown fox jumps over the lazy dog"
	done
}

@test "kill -9 during 200 misses: later runs replay whole output, verify passes, gc cleans up" {
	writer
	RANDOM=20261125   # deterministic delays
	killed=0
	for i in $(seq 1 200); do
		# 0..119 ms: before the temporary exists, while the command
		# writes, while the entry is committed, and after the run ended.
		delay=$((RANDOM % 120))
		"$PK" run -k "$i" -- "$TMP/bin/writer" "$i" </dev/null >/dev/null 2>&1 3>&- &
		pid=$!
		sleep "$(printf '0.%03d' "$delay")"
		if kill -9 "$pid" 2>/dev/null; then
			killed=$((killed + 1))
		fi
		wait "$pid" 2>/dev/null || true
	done 2>/dev/null   # bash's "Killed" job notices
	echo "$killed of 200 runs killed"
	[ "$killed" -ge 50 ]   # the kills did land mid-run

	# Every key now replays its whole output or runs again: never a part.
	for i in $(seq 1 200); do
		pk "after$i" run -k "$i" -- "$TMP/bin/writer" "$i"
		assert_status 0 "after$i"
		expected_out "$i" >"$TMP/io/expected.out"
		same_file "$TMP/io/expected.out" "$TMP/io/after$i.out"
		assert_lines "$TMP/io/after$i.err" "run $i done"
	done

	pk verify verify
	assert_status 0
	assert_empty "$TMP/io/verify.out"
	assert_empty "$TMP/io/verify.err"

	# Killed runs leave their temporaries; once they look old, gc takes them.
	leftovers=$(find "$CACHE/tmp" -type f | wc -l)
	echo "$leftovers leftover temporaries"
	[ "$leftovers" -ge 1 ]
	find "$CACHE/tmp" "$CACHE/locks" -type f -exec touch -d '2 hours ago' {} +
	pk gc gc
	assert_status 0
	assert_empty "$TMP/io/gc.err"
	remaining=$(find "$CACHE/tmp" -type f | wc -l)
	if [ "$remaining" -ne 0 ]; then
		echo "gc left in $CACHE/tmp:"
		ls -la "$CACHE/tmp"
		return 1
	fi

	# What gc kept still replays whole.
	for i in 1 100 200; do
		pk "kept$i" run -k "$i" -- "$TMP/bin/writer" "$i"
		expected_out "$i" >"$TMP/io/expected.out"
		same_file "$TMP/io/expected.out" "$TMP/io/kept$i.out"
	done
}

@test "a lock held by a run killed with -9 does not block the next run" {
	script slow 'echo x >>"$TMP/count"; sleep 2; echo slow'
	"$PK" run -- "$TMP/bin/slow" </dev/null >/dev/null 2>&1 3>&- &
	pid=$!
	for _ in $(seq 1 100); do
		[ -f "$TMP/count" ] && break
		sleep 0.02
	done
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	start=$(now_ms)
	pk next run --lock-timeout 1h -- "$TMP/bin/slow"
	elapsed=$(($(now_ms) - start))
	assert_status 0
	assert_lines "$TMP/io/next.out" slow
	assert_empty "$TMP/io/next.err"
	assert_count 2
	# The orphaned first command may still hold nothing: 2 s of its own
	# plus 2 s of ours is the most a non-waiting run can take.
	[ "$elapsed" -lt 3500 ]
}
