#!/usr/bin/env bats
# concurrency.bats: many pickled runs at once: identical runs execute once and
# all replay the same bytes; different keys never wait on each other; hits
# racing with gc and rm replay a whole entry or run the command, never a part.

load stress

# A slow command with stdout, stderr and binary bytes that counts its runs.
slow_command() {
	script slow 'echo x >>"$TMP/count"
sleep 0.5
printf "line one\n"
printf "to stderr\n" >&2
printf "\000\001\377 end\n"
exit "${1:-0}"'
	printf 'line one\n\000\001\377 end\n' >"$TMP/io/expected.out"
	printf 'to stderr\n' >"$TMP/io/expected.err"
}

@test "32 identical runs started together execute the command once and agree" {
	slow_command
	for i in $(seq 1 32); do
		pk_bg "r$i" run -- "$TMP/bin/slow"
	done
	touch "$TMP/go"
	wait_bg
	assert_count 1
	for i in $(seq 1 32); do
		assert_status 0 "r$i"
		same_file "$TMP/io/expected.out" "$TMP/io/r$i.out"
		same_file "$TMP/io/expected.err" "$TMP/io/r$i.err"
	done
}

@test "32 identical runs of a failing command with --cache-failures agree on its status" {
	slow_command
	for i in $(seq 1 32); do
		pk_bg "r$i" run --cache-failures -- "$TMP/bin/slow" 7
	done
	touch "$TMP/go"
	wait_bg
	assert_count 1
	for i in $(seq 1 32); do
		assert_status 7 "r$i"
		same_file "$TMP/io/expected.out" "$TMP/io/r$i.out"
		same_file "$TMP/io/expected.err" "$TMP/io/r$i.err"
	done
}

@test "32 identical runs of a failing command run it each time, none waits for ever" {
	# Failures are not stored: after the first runner, each waiter takes
	# the lock, finds nothing and runs the command itself.  The runs are
	# serialised by the lock, so keep the command quick.
	script fails 'echo x >>"$TMP/count"; echo no; exit 3'
	for i in $(seq 1 32); do
		pk_bg "r$i" run -- "$TMP/bin/fails"
	done
	touch "$TMP/go"
	wait_bg
	assert_count 32
	for i in $(seq 1 32); do
		assert_status 3 "r$i"
		assert_lines "$TMP/io/r$i.out" no
		assert_empty "$TMP/io/r$i.err"
	done
}

@test "8 runs with different keys started together do not wait on each other" {
	script sleeper 'echo "$1" >>"$TMP/count"; sleep 1; echo "done $1"'
	for i in $(seq 1 8); do
		pk_bg "k$i" run -k "$i" -- "$TMP/bin/sleeper" "$i"
	done
	start=$(now_ms)
	touch "$TMP/go"
	wait_bg
	elapsed=$(($(now_ms) - start))
	assert_count 8
	for i in $(seq 1 8); do
		assert_status 0 "k$i"
		assert_lines "$TMP/io/k$i.out" "done $i"
		assert_empty "$TMP/io/k$i.err"
	done
	if [ "$elapsed" -ge 4000 ]; then
		echo "8 one-second runs took ${elapsed} ms together: they waited on each other"
		return 1
	fi
}

@test "hits racing with gc --max-size 1 and rm --all replay whole entries or rerun" {
	# 300 KB of output: several chunks, so a torn replay would show.
	script gen 'echo x >>"$TMP/count"; seq 1 50000'
	seq 1 50000 >"$TMP/io/expected.out"
	# Only run creates a cache: gc and rm before the first one would say
	# "no cache at DIR" (exit 1), which is not the race under test.
	"$PK" run -- true
	end=$(($(now_ms) + 6000))
	(
		while [ "$(now_ms)" -lt "$end" ]; do
			"$PK" gc --max-size 1 </dev/null >>"$TMP/io/gc.out" 2>>"$TMP/io/gc.err" ||
				echo "gc: status $?" >>"$TMP/io/gc.err"
			"$PK" rm --all </dev/null >>"$TMP/io/gc.out" 2>>"$TMP/io/gc.err" ||
				echo "rm: status $?" >>"$TMP/io/gc.err"
		done
	) 3>&- &
	collector=$!
	for r in 1 2; do
		(
			n=0
			while [ "$(now_ms)" -lt "$end" ]; do
				n=$((n + 1))
				st=0
				"$PK" run -- "$TMP/bin/gen" </dev/null >"$TMP/io/race$r.out" \
					2>"$TMP/io/race$r.err" 3>&- || st=$?
				if [ $st -ne 0 ] || [ -s "$TMP/io/race$r.err" ] ||
					! cmp -s "$TMP/io/expected.out" "$TMP/io/race$r.out"; then
					{
						echo "reader $r run $n: status $st, stderr:"
						head -c 500 "$TMP/io/race$r.err"
						cmp "$TMP/io/expected.out" "$TMP/io/race$r.out" 2>&1
					} >>"$TMP/io/bad"
				fi
				echo "$n" >"$TMP/io/runs$r"
			done
		) 3>&- &
		BG_PIDS+=($!)
	done
	wait_bg
	wait "$collector"
	assert_empty "$TMP/io/bad"
	assert_empty "$TMP/io/gc.err"
	assert_empty "$TMP/io/gc.out"
	runs=$(($(cat "$TMP/io/runs1") + $(cat "$TMP/io/runs2")))
	executed=$(count)
	echo "$runs runs, $executed executions"
	# Both outcomes must have happened, or the race was not exercised.
	[ "$executed" -ge 2 ]
	[ "$executed" -lt "$runs" ]
}

@test "gc does not remove the temporary entry of a long run still in progress" {
	# A nightly job that prints only at the end leaves its temporary entry
	# untouched for as long as it runs; gc's hour-old rule must not take it.
	script long 'echo x >>"$TMP/count"; while [ ! -e "$TMP/finish" ]; do sleep 0.05; done; echo "long done"'
	"$PK" run -- "$TMP/bin/long" </dev/null >"$TMP/io/long.out" 2>"$TMP/io/long.err" 3>&- &
	pid=$!
	BG_PIDS+=("$pid")
	for _ in $(seq 1 100); do
		[ -n "$(find "$CACHE/tmp" -type f 2>/dev/null)" ] && break
		sleep 0.02
	done
	[ -n "$(find "$CACHE/tmp" -type f)" ]
	find "$CACHE/tmp" -type f -exec touch -d '2 hours ago' {} +
	pk gc gc
	assert_status 0
	touch "$TMP/finish"
	st=0
	wait "$pid" || st=$?
	BG_PIDS=()
	[ "$st" -eq 0 ]
	assert_lines "$TMP/io/long.out" "long done"
	assert_empty "$TMP/io/long.err"
	pk hit run -- "$TMP/bin/long"
	assert_lines "$TMP/io/hit.out" "long done"
	assert_count 1
}
