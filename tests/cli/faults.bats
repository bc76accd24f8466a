#!/usr/bin/env bats
# Faults in pickled's own system calls, one point at a time (the
# regressions tests/faults found; see tests/faults/README.md): each test
# makes the 1st, 2nd, ... call of one kind fail, once, until a run makes no
# such call, and checks that the command's output still arrives whole.
# libfiu's POSIX wrappers and the helper make builds (tests/faults/fiu_nth.so).

load helper

# The helper's setup, wrapped below.
eval "helper_$(declare -f setup)"

FIU_HELPER=$BATS_TEST_DIRNAME/../faults/fiu_nth.so
FIU_PRELOAD=/usr/lib/fiu/fiu_posix_preload.so

setup() {
	[ -f "$FIU_HELPER" ] || skip "no $FIU_HELPER (make tests/faults/fiu_nth.so)"
	[ -f "$FIU_PRELOAD" ] || skip "libfiu is not installed (libfiu-dev)"
	helper_setup || return 1
	# The preloaded helper knows pickled by its executable: under valgrind
	# the native binary runs these tests (memcheck sees this code elsewhere).
	NATIVE=$PK
	[ -z "${PK_VALGRIND_BIN_DIR:-}" ] || NATIVE=$PK_VALGRIND_BIN_DIR/pickled
	# AddressSanitizer's runtime, in the executable, takes read, malloc
	# and the rest before libfiu's wrappers can: nothing would be injected.
	if grep -q __asan_init "$NATIVE"; then
		skip "an AddressSanitizer build: libfiu's wrappers are not reached"
	fi
	seq -f 'line %g' 1 30000 >"$TMP/io/expected_out"
	printf 'err\n' >"$TMP/io/expected_err"
	JOB=(sh -c 'seq -f "line %g" 1 30000; echo err >&2')
	FAULT_ENV=()
	RUN_ARGS=()
}

# fault POINT N ARGS...: pickled ARGS with the Nth call of POINT failing
# (N 0: none), waiting for the processes it leaves in the background too;
# $status as pk sets it, $injected the number of calls that failed.  FAULT_ENV:
# more VAR=VALUE settings for the helper.
fault() {
	local point=$1 n=$2 st=$TMP/fiu-state
	shift 2
	head -c 2048 /dev/zero >"$st"
	status=0
	env LD_PRELOAD="$FIU_HELPER $FIU_PRELOAD" PK_FIU_BIN="$NATIVE" PK_FIU_STATE="$st" \
		PK_FIU_ONLY="$point" PK_FIU_NTH="$n" "${FAULT_ENV[@]}" "$NATIVE" "$@" \
		</dev/null >"$TMP/io/out" 2>"$TMP/io/err" 3>&- || status=$?
	flock -w 60 -x "$st" true
	injected=$(od -A n -t u8 -j 8 -N 8 "$st" | tr -d ' ')
}

# each_fault POINT: a miss and then a hit of the job, with the 1st, 2nd...
# call of POINT failing, until a run makes no such call: the output must
# arrive whole and the exit status be the command's.
each_fault() {
	local point=$1 n kind
	for kind in miss hit; do
		for n in $(seq 1 50); do
			remove_tree "$PICKLED_CACHE_DIR"
			if [ $kind = hit ]; then
				fault none 0 run "${RUN_ARGS[@]}" -- "${JOB[@]}"
			fi
			fault "$point" "$n" run "${RUN_ARGS[@]}" -- "${JOB[@]}"
			[ "${injected:-0}" -ge 1 ] || break
			echo "# $kind, call $n of $point failing"
			assert_status 0
			assert_same "$TMP/io/expected_out" "$TMP/io/out" stdout
			grep -v '^pickled: ' "$TMP/io/err" >"$TMP/io/cmd_err" || true
			assert_same "$TMP/io/expected_err" "$TMP/io/cmd_err" stderr
			if [ "$(grep -c '^pickled: ' "$TMP/io/err")" -gt 1 ]; then
				echo "more than one line of pickled's own:"
				grep '^pickled: ' "$TMP/io/err"
				return 1
			fi
			# and nothing wrong is replayed after it
			fault none 0 run "${RUN_ARGS[@]}" -- "${JOB[@]}"
			assert_status 0
			assert_same "$TMP/io/expected_out" "$TMP/io/out" "stdout after"
		done
		[ "$n" -gt 1 ] || [ $kind = hit ] || {
			echo "no call of $point was made on a $kind"
			return 1
		}
	done
}

@test "a read of the command's output that fails is tried again: the output arrives whole" {
	each_fault posix/io/rw/read
}

@test "a poll of the command's pipes that fails is tried again: the output arrives whole" {
	each_fault posix/io/net/poll
}

@test "an allocation that fails at any point of a run does not crash pickled" {
	each_fault libc/mm/calloc
}

@test "traced: a wait of the tracer that fails is tried again: the command is not killed" {
	# the tracer took any waitpid error for the end of the tree, exited,
	# and PTRACE_O_EXITKILL killed the command: exit 125, no output
	RUN_ARGS=(--trace)
	each_fault posix/proc/waitpid
}

@test "traced: a wait of the tracer that fails with ECHILD, then a kill that fails: the command is not killed" {
	# ECHILD before the command's own exit was reaped, with kill(2) failing
	# too, was taken for the end of the tree: the tracer exited and
	# PTRACE_O_EXITKILL killed the command (exit 125, nothing said); the
	# soak found it
	RUN_ARGS=(--trace)
	FAULT_ENV=(PK_FIU_RUN=2 PK_FIU_ERRNO=10)   # 10: ECHILD
	each_fault posix/proc/waitpid,posix/proc/kill
}

@test "traced: a read of the tracer's word that fails: the command runs, untraced" {
	# the command's process exited 127 without running the command
	RUN_ARGS=(--trace)
	each_fault posix/io/rw/read
}

@test "an allocation that fails while the configuration is read: one line, and the command runs" {
	printf 'ttl: 2h\njobs:\n  nightly:\n    command: [sh, -c, "echo hi"]\n    ttl: 1h\n' >"$PICKLED_CONFIG"
	each_fault libc/mm/realloc
	each_fault libc/str/strdup
	each_fault libc/mm/malloc
}

@test "an allocation that fails while the program is looked up in PATH: the command runs" {
	# pk_program_resolve's allocation failing was taken for "sh: command
	# not found" (exit 127, the command never ran); now the run goes on
	# uncached, exec searching PATH itself
	local i
	PATH=$(for i in $(seq 1 20); do printf '/nonexistent/%s:' "$i"; done)$PATH
	export PATH
	each_fault libc/mm/malloc
}

@test "a command that cannot be started is reported, even when its report comes in pieces" {
	# every dup2 fails (in the child, before exec: the command cannot
	# start) and every read returns less than asked (the child's errno
	# arrives a byte at a time): exit 126 and one line, not a silent 127
	local st=$TMP/fiu-state
	head -c 2048 /dev/zero >"$st"
	status=0
	env LD_PRELOAD="$FIU_HELPER $FIU_PRELOAD" PK_FIU_BIN="$NATIVE" PK_FIU_STATE="$st" \
		PK_FIU_ONLY=posix/io/oc/dup2,posix/io/rw/read/reduce PK_FIU_PROB=1 \
		"$NATIVE" run -- "${JOB[@]}" </dev/null >"$TMP/io/out" 2>"$TMP/io/err" 3>&- || status=$?
	flock -w 60 -x "$st" true
	assert_status 126
	assert_out ''
	assert_err 'pickled: sh: Too many open files\n'
}

# traced_inputs: the paths and kinds of the one entry's traced inputs.
traced_inputs() {
	local k
	k=$(basename "$(find "$PICKLED_CACHE_DIR/v1" -type f | head -n 1)")
	"$NATIVE" show "$k" | awk '$1 == "traced" && $2 == "input" { print $3, $4 }'
}

@test "an allocation that fails inside libseccomp: the job runs untraced with one line, or traced whole; never hangs" {
	# libseccomp 2.5.4, failing one allocation while it builds the
	# filter, may loop for ever, crash, or give a program without some
	# of its rules (a traced run that misses reads: later a wrong hit).
	# pickled builds it in a child given 5 s and checks the program.
	local a
	a=$(pkg-config --variable=libdir libseccomp)/libseccomp.a
	[ -f "$a" ] || skip "no $a"
	nm --defined-only "$a" | awk 'NF == 3 && $2 ~ /^[tT]$/ { print $3 }' >"$TMP/names"
	nm -S --defined-only "$NATIVE" |
		awk 'BEGIN { while ((getline n < "'"$TMP/names"'") > 0) want[n] = 1 }
		     NF == 4 && $4 in want { print $1, $2 }' >"$TMP/within"
	[ -s "$TMP/within" ] || skip "libseccomp is not linked into pickled statically"
	FAULT_ENV=(PK_FIU_WITHIN="$TMP/within")
	local job=(cat /etc/hostname /etc/debian_version) n traced=0 untraced=0
	cat /etc/hostname /etc/debian_version >"$TMP/io/expected_out"
	fault none 0 run --trace -- "${job[@]}"
	assert_status 0
	assert_err ''
	traced_inputs >"$TMP/inputs"
	grep -q '^/etc/hostname file$' "$TMP/inputs"
	# The 1st allocation, then every 25th, until one is not made.
	for n in 1 $(seq 25 25 5000); do
		remove_tree "$PICKLED_CACHE_DIR"
		fault libc/mm/malloc,libc/mm/calloc,libc/mm/realloc "$n" run --trace -- "${job[@]}"
		[ "$injected" = 1 ] || break
		echo "# allocation $n of libseccomp's failing"
		assert_status 0
		assert_same "$TMP/io/expected_out" "$TMP/io/out" stdout
		if [ -s "$TMP/io/err" ]; then
			assert_match "$TMP/io/err" '^pickled: running uncached: cannot trace: (cannot build the trace filter|the trace filter is wrong)'
			[ "$(wc -l <"$TMP/io/err")" = 1 ]
			[ -z "$(find "$PICKLED_CACHE_DIR/v1" -type f 2>/dev/null)" ]
			untraced=$((untraced + 1))
		else
			traced_inputs >"$TMP/got"
			assert_same "$TMP/inputs" "$TMP/got" "traced inputs"
			traced=$((traced + 1))
		fi
	done
	echo "# $traced traced, $untraced untraced"
	[ "$n" -gt 100 ] && [ "$traced" -gt 0 ] && [ "$untraced" -gt 0 ]
}
