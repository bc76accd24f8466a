#!/usr/bin/env bats
# signals.bats: SIGTERM, SIGINT, SIGHUP and SIGQUIT sent to pickled during a
# miss reach the command, nothing is stored, and pickled ends by the signal
# its command died of; signals ignored at the start stay ignored; a reader
# that goes away (| head -1) ends a miss or a replay promptly and quietly.

load stress

# pickled is started through sigrun.py, which gives it the default
# disposition of the stop signals (a background job of bats, a
# non-interactive shell, would ignore SIGINT and SIGQUIT), or ignores those
# named with -i, and tells a death by signal N from an exit with 128+N.
SIGRUN=$BATS_TEST_DIRNAME/sigrun.py

# spawn NAME [-i SIGS] -- ARGS...: runs pickled ARGS in the background,
# stdin from $IN (default /dev/null), stdout and stderr to $OUT and $ERR
# (default $TMP/io/NAME.out and .err); pickled's pid in $pid once it has
# started (and in BG_PIDS, with sigrun's).  finish NAME then waits for it
# and puts how it ended ("exit N", "signal NAME") in $how.
spawn() {
	local name=$1
	shift
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	"$PYTHON" "$SIGRUN" "${opts[@]}" -p "$TMP/io/$name.pid" -r "$TMP/io/$name.how" -- \
		"$PK" "$@" <"${IN:-/dev/null}" >"${OUT:-$TMP/io/$name.out}" \
		2>"${ERR:-$TMP/io/$name.err}" 3>&- &
	echo "$!" >"$TMP/io/$name.sigrun"
	BG_PIDS+=("$!")
	for _ in $(seq 1 250); do
		[ -s "$TMP/io/$name.pid" ] && break
		sleep 0.02
	done
	pid=$(cat "$TMP/io/$name.pid")
	BG_PIDS+=("$pid")
}

# ended NAME [-i SIGS] -- ARGS...: spawn, then finish.
ended() {
	spawn "$@"
	finish "$1"
}

finish() {
	local p keep=() runner
	runner=$(cat "$TMP/io/$1.sigrun")
	wait "$runner" || true
	for p in "${BG_PIDS[@]}"; do
		[ "$p" = "$runner" ] || [ "$p" = "$(cat "$TMP/io/$1.pid")" ] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
	how=$(cat "$TMP/io/$1.how")
}

# assert_how EXPECTED: how the last run ended; shows its stderr when not.
assert_how() {
	if [ "$how" != "$1" ]; then
		echo "pickled ended with '$how', expected '$1'; stderr:"
		cat "$TMP/io/"*.err
		return 1
	fi
}

# The command: says it started, then waits; on SIGNAL it writes a marker and
# dies of that signal, as a well-behaved program does.  With $TMP/quick
# present it just prints and exits (the run after the interrupted one).
trapping_command() {
	script trapper 'echo x >>"$TMP/count"
if [ -e "$TMP/quick" ]; then echo quick; exit 0; fi
sig=$1
trap "echo \$sig >\"\$TMP/marker\"; kill \$sleeper 2>/dev/null; trap - \$sig; kill -\$sig \$\$" "$sig"
echo started
sleep 30 >/dev/null 2>&1 &
sleeper=$!
touch "$TMP/ready"
wait'
}

# wait_ready: until the command has made $TMP/ready, for up to 5 s;
# fails if it has not.
wait_ready() {
	for _ in $(seq 1 250); do
		[ -e "$TMP/ready" ] && return 0
		sleep 0.02
	done
	return 1
}

# interrupt SIG: SIG sent to pickled during a miss; pickled dies of it too.
interrupt() {
	local sig=$1
	trapping_command
	spawn int -- run -- "$TMP/bin/trapper" "$sig"
	wait_ready
	kill "-$sig" "$pid"
	finish int
	assert_how "signal $sig"
	assert_lines "$TMP/marker" "$sig"
	assert_lines "$TMP/io/int.out" started
	assert_empty "$TMP/io/int.err"
	assert_count 1
	# Nothing was stored: the next identical run executes.
	touch "$TMP/quick"
	pk next run -- "$TMP/bin/trapper" "$sig"
	assert_status 0
	assert_lines "$TMP/io/next.out" quick
	assert_count 2
	[ -z "$(find "$CACHE/tmp" -type f 2>/dev/null)" ]
}

@test "SIGTERM to pickled during a miss reaches the command; nothing stored; pickled dies of SIGTERM" {
	interrupt TERM
}

@test "SIGINT to pickled during a miss reaches the command; nothing stored; pickled dies of SIGINT" {
	interrupt INT
}

@test "SIGHUP to pickled during a miss reaches the command; nothing stored; pickled dies of SIGHUP" {
	interrupt HUP
}

@test "SIGQUIT to pickled during a miss reaches the command; nothing stored; pickled dies of SIGQUIT" {
	interrupt QUIT
}

@test "a command that dies of a signal makes pickled die of it: miss, forced, uncached, broken config" {
	local cmd='echo x >>"$TMP/count"; echo before; kill -INT $$'
	ended miss -- run -- sh -c "$cmd"
	assert_how "signal INT"
	assert_lines "$TMP/io/miss.out" before
	assert_empty "$TMP/io/miss.err"
	ended force -- run --force --cache-failures -- sh -c "$cmd"
	assert_how "signal INT"
	assert_lines "$TMP/io/force.out" before
	assert_empty "$TMP/io/force.err"
	ended nocache -- -C /proc/version/x run -- sh -c "$cmd"
	assert_how "signal INT"
	assert_lines "$TMP/io/nocache.out" before
	grep -q '^pickled: cache unavailable, running uncached: ' "$TMP/io/nocache.err"
	printf 'ttl: [\n' >"$TMP/broken.conf"
	ended broken -- -c "$TMP/broken.conf" run -- sh -c "$cmd"
	assert_how "signal INT"
	assert_lines "$TMP/io/broken.out" before
	assert_count 4
	[ -z "$(find "$CACHE/v1" -type f 2>/dev/null)" ]
	# SIGTERM and SIGPIPE alike; an exit with 130 stays an exit.
	ended term -- run -- sh -c 'kill -TERM $$'
	assert_how "signal TERM"
	ended pipe -- run -- sh -c 'kill -PIPE $$'
	assert_how "signal PIPE"
	ended exit -- run -- sh -c 'exit 130'
	assert_how "exit 130"
}

@test "a command that dumps core makes pickled die of the same signal without a core of its own" {
	local pattern
	pattern=$(cat /proc/sys/kernel/core_pattern)
	ulimit -c unlimited
	ended segv -- run -- sh -c 'echo before; kill -SEGV $$'
	# Where the kernel writes cores to a file, pickled must not add its own
	# (with the pattern "core", over the command's); a pipe's helper is
	# given every core and decides itself.
	case $pattern in
	'|'*) [ "$how" = "signal SEGV" ] || assert_how "signal SEGV core" ;;
	*) assert_how "signal SEGV" ;;
	esac
	assert_lines "$TMP/io/segv.out" before
	assert_empty "$TMP/io/segv.err"
}

@test "a command that ignores SIGTERM and exits 0 is still not stored" {
	script stubborn 'echo x >>"$TMP/count"
trap "echo ignored >\"\$TMP/marker\"" TERM
touch "$TMP/ready"
i=0
while [ $i -lt 20 ] && [ ! -e "$TMP/marker" ]; do sleep 0.05; i=$((i + 1)); done
echo finished'
	"$PK" run -- "$TMP/bin/stubborn" </dev/null >"$TMP/io/st.out" 2>"$TMP/io/st.err" 3>&- &
	pid=$!
	BG_PIDS+=("$pid")
	wait_ready || true
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	BG_PIDS=()
	[ "$st" -eq 0 ]
	assert_lines "$TMP/io/st.out" finished
	assert_lines "$TMP/marker" ignored
	pk next run -- "$TMP/bin/stubborn"
	assert_count 2
}

# pipe_head NAME: `pickled run -- seq 1 10000000 | head -1` within 10 s;
# sets st (pickled's status) and elapsed (ms).
pipe_head() {
	local start
	start=$(now_ms)
	set +e
	timeout 10 "$PK" run -- seq 1 10000000 </dev/null 2>"$TMP/io/$1.err" 3>&- |
		head -n 1 >"$TMP/io/$1.out"
	st=${PIPESTATUS[0]}
	set -e
	elapsed=$(($(now_ms) - start))
	echo "$1: status $st in $elapsed ms"
}

@test "pickled run -- seq 1 10000000 | head -1 ends promptly and quietly, miss and hit" {
	# A miss: the reader leaves, pickled stops like the bare command would.
	pipe_head miss
	[ "$st" -ne 124 ]
	[ "$elapsed" -lt 3000 ]
	assert_lines "$TMP/io/miss.out" 1
	assert_empty "$TMP/io/miss.err"
	[ "$st" -eq 141 ] || [ "$st" -eq 0 ]

	# Store the whole output, then a replay into a reader that leaves.
	pk store run -- seq 1 10000000
	assert_status 0
	[ "$(wc -l <"$TMP/io/store.out")" -eq 10000000 ]
	rm -f "$TMP/io/store.out"
	pipe_head hit
	[ "$st" -ne 124 ]
	[ "$elapsed" -lt 3000 ]
	assert_lines "$TMP/io/hit.out" 1
	assert_empty "$TMP/io/hit.err"
	[ "$st" -eq 141 ]
}

@test "SIGTERM to pickled: it ends with its command, not with what the command left holding the pipes" {
	local pid st start elapsed
	# sh dies of SIGTERM at once; its child sleep, holding stdout and
	# stderr, lives on, as it would without pickled.
	"$PK" run -- sh -c 'echo started; touch "$TMP/ready"; sleep 8; echo done' </dev/null \
		>"$TMP/io/t.out" 2>"$TMP/io/t.err" 3>&- &
	pid=$!
	BG_PIDS+=("$pid")
	wait_ready || true
	start=$(now_ms)
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	elapsed=$(($(now_ms) - start))
	echo "status $st in $elapsed ms"
	[ "$st" -eq 143 ]
	[ "$elapsed" -lt 4000 ]
	assert_lines "$TMP/io/t.out" started
	assert_empty "$TMP/io/t.err"
	[ -z "$(find "$CACHE/v1" -type f 2>/dev/null)" ]
}

@test "SIGTERM during a hit that restores an output leaves no partial file" {
	head -c 100000000 /dev/urandom >"$TMP/big"
	cd "$TMP/wd"
	pk first run -o big.out -- cp "$TMP/big" big.out
	assert_status 0
	local d
	for d in 0.02 0.05 0.1 0.15 0.2 0.3; do
		timeout -s TERM "$d" "$PK" run -o big.out -- cp "$TMP/big" big.out \
			</dev/null >/dev/null 2>&1 3>&- || true
		[ -z "$(find . -name '.pickled-*')" ] || { ls -la; return 1; }
		[ ! -e big.out ] || cmp big.out "$TMP/big"
	done
}

@test "signals ignored at the start stay ignored in the command: nohup, a script's background job" {
	# nohup: the command may be sent SIGHUP and lives on, as without pickled.
	status=0
	nohup "$PK" run -- sh -c 'kill -HUP $$; echo survived' </dev/null \
		>"$TMP/io/nohup.out" 2>"$TMP/io/nohup.err" 3>&- || status=$?
	assert_status 0
	assert_lines "$TMP/io/nohup.out" survived
	assert_empty "$TMP/io/nohup.err"
	# A background job of a non-interactive shell ignores SIGINT and SIGQUIT.
	status=0
	sh -c '"$0" run -- sh -c "kill -INT \$\$; kill -QUIT \$\$; echo survived" & wait $!' "$PK" \
		</dev/null >"$TMP/io/bg.out" 2>"$TMP/io/bg.err" 3>&- || status=$?
	assert_status 0
	assert_lines "$TMP/io/bg.out" survived
	assert_empty "$TMP/io/bg.err"
	# SIGTERM, SIGPIPE and SIGXFSZ alike (pickled ignores the last two for
	# itself: the command still gets them as they were).
	ended term -i TERM,PIPE,XFSZ -- run -- sh -c 'kill -TERM $$; kill -PIPE $$; kill -XFSZ $$; echo survived'
	assert_how "exit 0"
	assert_lines "$TMP/io/term.out" survived
	# Not ignored: the default action, whatever pickled does for itself.
	ulimit -c 0
	ended xfsz -- run -- sh -c 'kill -XFSZ $$; echo survived'
	assert_how "signal XFSZ"
	assert_empty "$TMP/io/xfsz.out"
}

@test "SIGPIPE ignored at the start: a hit whose reader leaves fails with 1, as the command would" {
	local reader
	pk store run -- seq 1 1000000
	assert_status 0
	mkfifo "$TMP/fifo"
	# The bare command first: with SIGPIPE ignored, seq gets EPIPE and exits 1.
	head -n 1 <"$TMP/fifo" >"$TMP/io/head.bare" &
	reader=$!
	"$PYTHON" "$SIGRUN" -i PIPE -r "$TMP/io/bare.how" -- seq 1 1000000 >"$TMP/fifo" 2>/dev/null
	wait "$reader"
	[ "$(cat "$TMP/io/bare.how")" = "exit 1" ]
	# A hit, SIGPIPE ignored: the same status, nothing said.
	head -n 1 <"$TMP/fifo" >"$TMP/io/head.ign" &
	reader=$!
	OUT=$TMP/fifo spawn ign -i PIPE -- run -- seq 1 1000000
	finish ign
	wait "$reader"
	assert_how "exit 1"
	assert_empty "$TMP/io/ign.err"
	assert_lines "$TMP/io/head.ign" 1
	# A hit, SIGPIPE at its default: pickled dies of it, as seq would.
	head -n 1 <"$TMP/fifo" >"$TMP/io/head.dfl" &
	reader=$!
	OUT=$TMP/fifo spawn dfl -- run -- seq 1 1000000
	finish dfl
	wait "$reader"
	assert_how "signal PIPE"
	assert_empty "$TMP/io/dfl.err"
}

@test "signals ignored at the start stay ignored in pickled: SIGHUP under nohup does not end a miss" {
	script waiter 'echo x >>"$TMP/count"
touch "$TMP/ready"
while [ ! -e "$TMP/go" ]; do sleep 0.02; done
echo done'
	spawn miss -i HUP,INT,QUIT -- run -- "$TMP/bin/waiter"
	wait_ready
	kill -HUP "$pid"
	kill -INT "$pid"
	kill -QUIT "$pid"
	# Long enough for pickled to have acted on a signal it did not ignore.
	sleep 0.3
	touch "$TMP/go"
	finish miss
	assert_how "exit 0"
	assert_lines "$TMP/io/miss.out" done
	assert_empty "$TMP/io/miss.err"
	# It was stored: the next run replays it.
	pk hit run -- "$TMP/bin/waiter"
	assert_status 0
	assert_lines "$TMP/io/hit.out" done
	assert_count 1
}

# stuck_reader: a FIFO $TMP/fifo whose reader opens it and never reads; its
# pid goes to BG_PIDS.
stuck_reader() {
	mkfifo "$TMP/fifo"
	sleep 600 <"$TMP/fifo" 3>&- &
	BG_PIDS+=("$!")
}

# finish_within SECONDS NAME: finish, but fail (and kill pickled) if pickled
# has not ended in SECONDS; a generous bound that only a hang exceeds.
finish_within() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		[ -s "$TMP/io/$2.how" ] && break
		sleep 0.1
	done
	if [ ! -s "$TMP/io/$2.how" ]; then
		echo "pickled is still running after $1 s"
		kill -9 "$pid"
		finish "$2"
		return 1
	fi
	finish "$2"
}

@test "SIGTERM while pickled is blocked writing to a reader that does not read: it ends, miss and hit" {
	stuck_reader
	# A miss: the command writes more than the pipes hold, then pickled is
	# stuck on the reader; SIGTERM ends the command, and pickled with it.
	OUT=$TMP/fifo spawn miss -- run -- sh -c 'touch "$TMP/ready"; exec seq 1 10000000'
	wait_ready
	sleep 0.3
	kill -TERM "$pid"
	finish_within 20 miss
	assert_how "signal TERM"
	printf 'pickled: cannot write output: the reader did not read after the stop signal\n' \
		>"$TMP/io/expected.err"
	same_file "$TMP/io/expected.err" "$TMP/io/miss.err"
	[ -z "$(find "$CACHE/v1" -type f 2>/dev/null)" ]
	# The same with stderr on the stuck reader too: pickled says nothing
	# rather than wait to say it.
	ERR=$TMP/fifo spawn both -- run -- sh -c 'touch "$TMP/ready2"; exec seq 1 10000000 >&2'
	while [ ! -e "$TMP/ready2" ]; do sleep 0.02; done
	sleep 0.3
	kill -INT "$pid"
	finish_within 20 both
	assert_how "signal INT"
	# A hit replaying into the stuck reader.
	pk store run -- seq 1 1000000
	assert_status 0
	OUT=$TMP/fifo spawn hit -- run -- seq 1 1000000
	sleep 0.5
	kill -TERM "$pid"
	finish_within 20 hit
	assert_how "signal TERM"
	assert_empty "$TMP/io/hit.err"
}

@test "a command that leaves its stdin unread does not keep pickled waiting for the stdin feeder, SIGTERM ignored or not" {
	# stdin over --stdin-limit is fed to the command by a helper process,
	# stuck once the command stops reading; pickled must end it, even when
	# it was started with SIGTERM ignored.
	IN=<(yes) spawn feed -i TERM -- run --stdin-limit 1K -- head -c 4
	finish_within 20 feed
	assert_how "exit 0"
	printf 'y\ny\n' >"$TMP/io/expected.out"
	same_file "$TMP/io/expected.out" "$TMP/io/feed.out"
	printf 'pickled: running uncached: stdin is larger than 1.0K\n' >"$TMP/io/expected.err"
	same_file "$TMP/io/expected.err" "$TMP/io/feed.err"
}
