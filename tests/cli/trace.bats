#!/usr/bin/env bats
# trace.bats: pickled run --trace above the tracer: inputs found by watching
# real programs (Python, sh, ls, cat), the manifest of input sets, what is
# not stored and why, show/--explain/key, gc/verify/rm/ls over manifests,
# configuration, declared inputs (-i, -e, the working directory, stdin)
# with it, and sharing through Redis.

load helper

# traced: whether this machine lets pickled trace (ptrace and seccomp
# allowed, not already traced); the tests skip with the reason otherwise.
traced() {
	local out
	out=$("$PK" -C "$TMP/probe" run --trace -- true 2>&1 >/dev/null)
	[ -z "$out" ] || skip "cannot trace here: $out"
}

# manifest_files: the manifest files of the cache, sorted.
manifest_files() {
	find "$PICKLED_CACHE_DIR/manifests" -type f 2>/dev/null | sort
}

# the_manifest: the one manifest file of the cache (fails unless one).
the_manifest() {
	local m
	m=$(manifest_files)
	[ -n "$m" ] && [ "$(printf '%s\n' "$m" | wc -l)" = 1 ] || return 1
	printf '%s\n' "$m"
}

# explained LINE: pickled's last stderr has the line LINE.
explained() {
	grep -qxF -- "$1" "$TMP/io/err" || {
		echo "-- no line '$1' in stderr: --"
		cat "$TMP/io/err"
		return 1
	}
}

setup_file() {
	export PYTHONDONTWRITEBYTECODE=1
	# helper's setup unsets every PICKLED_* variable
	export TRACE_REDIS_URL=${PICKLED_TEST_REDIS_URL:-}
}

@test "trace: a Python script's own module: touched, a hit; edited, a miss naming it; one of the same name earlier on sys.path, a miss" {
	traced
	mkdir lib first
	printf 'VALUE = 1\n' >lib/mymod.py
	printf 'import sys\nsys.path[:0] = ["first", "lib"]\nimport mymod\nprint(mymod.VALUE)\nopen(sys.argv[1], "a").write("x\\n")\n' >job.py
	touch -d '1 hour ago' lib/mymod.py job.py
	pk run --trace -- python3 job.py "$TMP/count"
	assert_status 0
	assert_out '1\n'
	assert_err ''
	pk run --trace -- python3 job.py "$TMP/count"
	assert_out '1\n'
	assert_count 1
	# The same content, a new mtime: a hit, the module read again once.
	touch lib/mymod.py
	pk run --trace --explain -- python3 job.py "$TMP/count"
	assert_out '1\n'
	assert_count 1
	grep -q '^pickled: hit (age [0-9.]*m*s)$' "$TMP/io/err"
	printf 'VALUE = 2\n' >lib/mymod.py
	pk run --trace --explain -- python3 job.py "$TMP/count"
	assert_status 0
	assert_out '2\n'
	assert_count 2
	explained 'pickled: miss (input changed: lib/mymod.py)'
	printf 'VALUE = 3\n' >first/mymod.py
	pk run --trace --explain -- python3 job.py "$TMP/count"
	assert_out '3\n'
	assert_count 3
	explained 'pickled: miss (input changed: first)'
	grep -vx 'pickled: miss (input changed: first)' "$TMP/io/err" | grep -v '^pickled:  \|^pickled: key ' >"$TMP/io/rest" || true
	assert_bytes "$TMP/io/rest" ''
}

@test "trace: a script listing a folder: a file added, a miss; the files it read, in show" {
	traced
	mkdir data
	echo a >data/a.csv
	echo b >data/b.csv
	touch -d '1 hour ago' data/* data
	local cmd="$CNT; ls data; cat data/a.csv"
	pk run --trace -- sh -c "$cmd"
	assert_out 'a.csv\nb.csv\na\n'
	pk run --trace -- sh -c "$cmd"
	assert_count 1
	local key
	key=$(cd "$PICKLED_CACHE_DIR/v1" && ls */ | grep -v : | grep -v '^$' | head -1)
	pk show "$key"
	assert_status 0
	grep -F "$TMP/" "$TMP/io/out" | grep -v '^cwd\|^key cwd' >"$TMP/io/mine"
	assert_bytes "$TMP/io/mine" 'traced input    %s/wd exists\ntraced input    %s/wd/data listing %s\ntraced input    %s/wd/data/a.csv file %s\nwritten         %s/count\n' \
		"$TMP" "$TMP" "$(sed -n "s|^traced input    $TMP/wd/data listing ||p" "$TMP/io/out")" \
		"$TMP" "$(sed -n "s|^traced input    $TMP/wd/data/a.csv file ||p" "$TMP/io/out")" "$TMP"
	grep -q "^traced          manifest [0-9a-f]\{32\}$" "$TMP/io/out"
	echo c >data/c.csv
	pk run --trace --explain -- sh -c "$cmd"
	assert_out 'a.csv\nb.csv\nc.csv\na\n'
	assert_count 2
	explained 'pickled: miss (input changed: data)'
}

@test "trace: an input changed by another process during the run is not stored" {
	traced
	echo one >in.txt
	touch -d '1 hour ago' in.txt
	mkfifo go done
	# Outside the traced tree: waits for the command, edits, lets it end.
	(
		cat go >/dev/null
		echo two >>in.txt
		echo ok >done
	) &
	BG_PIDS+=($!)
	pk run --trace -- sh -c "$CNT; cat in.txt; echo >go; cat done >/dev/null"
	assert_status 0
	assert_out 'one\n'
	assert_err 'pickled: result not stored: input changed during the run: %s/wd/in.txt\n' "$TMP"
	[ -z "$(entries)" ]
	pk run --trace -- sh -c "$CNT; cat in.txt"
	pk run --trace -- sh -c "$CNT; cat in.txt"
	assert_out 'one\ntwo\n'
	assert_count 2
}

@test "trace: two input sets in turn, A, B, A: the third run is a hit" {
	traced
	local cmd="$CNT; cat settings"
	echo A >settings
	pk run --trace -- sh -c "$cmd"
	assert_out 'A\n'
	echo B >settings
	pk run --trace -- sh -c "$cmd"
	assert_out 'B\n'
	echo A >settings
	pk run --trace --explain -- sh -c "$cmd"
	assert_out 'A\n'
	assert_count 2
	grep -q '^pickled: hit (age ' "$TMP/io/err"
	echo B >settings
	pk run --trace -- sh -c "$cmd"
	assert_out 'B\n'
	assert_count 2
	[ "$(manifest_files | wc -l)" = 1 ]
}

@test "trace: a file read then written by the run is not stored, unless declared with -o" {
	traced
	echo 1 >counter
	pk run --trace -- sh -c 'n=$(cat counter); echo $((n + 1)) >counter; echo $n'
	assert_status 0
	assert_out '1\n'
	assert_err 'pickled: result not stored: read, then written by the run: %s/wd/counter\n' "$TMP"
	[ -z "$(entries)" ]
	# Created where a lookup found nothing: an output, not a conflict.
	pk run --trace -- sh -c "$CNT; [ -e made ] || echo new >made; cat made"
	assert_out 'new\n'
	assert_err ''
	pk run --trace -o counter -- sh -c 'n=$(cat counter); echo $((n + 1)) >counter; echo $n'
	assert_out '2\n'
	assert_err ''
	[ -n "$(entries)" ]
}

@test "trace: under strace, the command runs once, uncached, with one warning" {
	traced
	command -v strace >/dev/null || skip "strace is not installed"
	local i
	for i in 1 2; do
		status=0
		# (LeakSanitizer cannot run under ptrace: off for an ASan build)
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
			strace -f -o /dev/null "$PK" run --trace -- sh -c "$CNT; echo hi" \
			</dev/null >"$TMP/io/out" 2>"$TMP/io/err" 3>&- || status=$?
		assert_status 0
		assert_out 'hi\n'
		assert_lines "$TMP/io/err" 1
		assert_match "$TMP/io/err" '^pickled: running uncached: cannot trace: already traced by process [0-9]+ \(strace\)$'
	done
	assert_count 2
	[ -z "$(entries)" ] && [ -z "$(manifest_files)" ]
}

@test "trace: as nobody, a traced miss then a hit" {
	traced
	[ "$(id -u)" = 0 ] || skip "needs root to change users"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	cp "$PK" "$TMP/pickled"
	chmod 0755 "$TMP" "$TMP/pickled" "$TMP/wd"
	mkdir -m 0755 "$TMP/nc"
	chown nobody "$TMP/nc"
	echo data >"$TMP/wd/in.txt"
	chmod 0644 "$TMP/wd/in.txt"
	touch -d '1 hour ago' "$TMP/wd/in.txt"
	: >"$TMP/count"
	chmod 0666 "$TMP/count"
	local i
	for i in 1 2; do
		pk_as_nobody HOME=/nonexistent PICKLED_CACHE_DIR="$TMP/nc/c" -- \
			run --trace -- sh -c "$CNT; cat in.txt"
		assert_status 0
		assert_out 'data\n'
		assert_err ''
	done
	assert_count 1
	echo more >>"$TMP/wd/in.txt"
	pk_as_nobody HOME=/nonexistent PICKLED_CACHE_DIR="$TMP/nc/c" -- \
		run --trace -- sh -c "$CNT; cat in.txt"
	assert_out 'data\nmore\n'
	assert_count 2
}

@test "trace: key --trace --explain checks the manifest without running anything" {
	traced
	echo A >settings
	touch -d '1 hour ago' settings
	pk run --trace -- sh -c "$CNT; cat settings"
	pk key --trace -- sh -c "$CNT; cat settings"
	assert_status 0
	local k
	k=$(cat "$TMP/io/out")
	[ "$(the_manifest)" = "$PICKLED_CACHE_DIR/manifests/${k:0:2}/$k" ]
	# Not the untraced run's key.
	pk key -- sh -c "$CNT; cat settings"
	[ "$(cat "$TMP/io/out")" != "$k" ]
	pk key --trace --explain -- sh -c "$CNT; cat settings"
	assert_status 0
	assert_out '%s\n' "$k"
	grep -q '^pickled: traced inputs unchanged: result [0-9a-f]\{32\}$' "$TMP/io/err"
	echo B >settings
	pk key --trace --explain -- sh -c "$CNT; cat settings"
	explained 'pickled: miss (input changed: settings)'
	rm settings
	pk key --trace --explain -- sh -c "$CNT; cat settings"
	explained 'pickled: miss (now absent: settings)'
	assert_count 1
}

@test "trace: a declared -i input the command does not read still keys the run: changed, a miss; back, a hit" {
	traced
	local cmd="$CNT; echo out"
	echo A >declared
	pk run --trace -i declared -- sh -c "$cmd"
	assert_status 0
	assert_out 'out\n'
	assert_err ''
	# The command was not seen to read it: only the declaration keys it.
	local e
	e=$(entries)
	pk show "${e##*/}"
	assert_status 0
	grep -qx 'input           declared xxh3 [0-9a-f]\{32\}' "$TMP/io/out"
	[ "$(grep -c '^traced input .*declared' "$TMP/io/out")" = 0 ]
	pk run --trace -i declared -- sh -c "$cmd"
	assert_status 0
	assert_out 'out\n'
	assert_err ''
	assert_count 1
	echo B >declared
	pk run --trace --explain -i declared -- sh -c "$cmd"
	assert_status 0
	assert_out 'out\n'
	explained 'pickled: miss (no manifest)'
	assert_count 2
	echo A >declared
	pk run --trace -i declared -- sh -c "$cmd"
	assert_status 0
	assert_out 'out\n'
	assert_err ''
	assert_count 2
}

@test "trace: -e VAR keys a traced run: another value, a miss; the same, a hit; undeclared, not keyed" {
	traced
	local cmd="$CNT; printf '%s\n' \"\$PK_TRACE_VAR\""
	PK_TRACE_VAR=one pk run --trace -e PK_TRACE_VAR -- sh -c "$cmd"
	assert_status 0
	assert_out 'one\n'
	assert_err ''
	PK_TRACE_VAR=one pk run --trace -e PK_TRACE_VAR -- sh -c "$cmd"
	assert_status 0
	assert_out 'one\n'
	assert_err ''
	assert_count 1
	PK_TRACE_VAR=two pk run --trace --explain -e PK_TRACE_VAR -- sh -c "$cmd"
	assert_status 0
	assert_out 'two\n'
	explained 'pickled: miss (no manifest)'
	assert_count 2
	PK_TRACE_VAR=one pk run --trace -e PK_TRACE_VAR -- sh -c "$cmd"
	assert_status 0
	assert_out 'one\n'
	assert_err ''
	assert_count 2
	# Not declared, a variable is not seen (TRACED INPUTS): the stored
	# value is replayed.
	PK_TRACE_VAR=three pk run --trace -- sh -c "$cmd"
	assert_out 'three\n'
	assert_count 3
	PK_TRACE_VAR=four pk run --trace -- sh -c "$cmd"
	assert_status 0
	assert_out 'three\n'
	assert_err ''
	assert_count 3
}

@test "trace: the working directory keys a traced run, as --cwd does: another directory, a miss" {
	traced
	local cmd="$CNT; echo out"
	mkdir other
	pk run --trace -- sh -c "$cmd"
	assert_status 0
	assert_out 'out\n'
	assert_err ''
	cd other
	pk run --trace --explain -- sh -c "$cmd"
	assert_status 0
	assert_out 'out\n'
	explained "pickled:   cwd $TMP/wd/other"
	explained 'pickled: miss (no manifest)'
	assert_count 2
	pk run --trace -- sh -c "$cmd"
	assert_out 'out\n'
	assert_err ''
	assert_count 2
	cd "$TMP/wd"
	pk run --trace -- sh -c "$cmd"
	assert_out 'out\n'
	assert_err ''
	assert_count 2
	# --cwd adds nothing to a traced key; untraced, the directory is not
	# in the key without it.
	local k
	pk key --trace -- sh -c "$cmd"
	k=$(cat "$TMP/io/out")
	pk key --trace --cwd -- sh -c "$cmd"
	assert_status 0
	assert_out '%s\n' "$k"
	pk key -- sh -c "$cmd"
	k=$(cat "$TMP/io/out")
	cd other
	pk key -- sh -c "$cmd"
	assert_status 0
	assert_out '%s\n' "$k"
}

@test "trace: stdin keys a traced run (--stdin): other bytes, a miss; the same, a hit; the command reads it all" {
	traced
	local cmd="$CNT; cat"
	# More than a pipe holds.
	seq 100000 >in1
	{
		cat in1
		echo 100001
	} >in2
	pk_in <(cat in1) run --trace --stdin -- sh -c "$cmd"
	assert_status 0
	assert_same in1 "$TMP/io/out"
	assert_err ''
	# The same bytes from a file: a hit.
	pk_in in1 run --trace --stdin -- sh -c "$cmd"
	assert_status 0
	assert_same in1 "$TMP/io/out"
	assert_err ''
	assert_count 1
	pk_in <(cat in2) run --trace --stdin --explain -- sh -c "$cmd"
	assert_status 0
	assert_same in2 "$TMP/io/out"
	grep -qx 'pickled:   stdin xxh3 [0-9a-f]\{32\} (588902 bytes)' "$TMP/io/err"
	explained 'pickled: miss (no manifest)'
	assert_count 2
	pk_in <(cat in1) run --trace --stdin -- sh -c "$cmd"
	assert_status 0
	assert_same in1 "$TMP/io/out"
	assert_err ''
	assert_count 2
}

@test "trace: key --trace --explain looks for the entry of the input set that holds, as a run would" {
	traced
	local cmd="$CNT; cat settings"
	echo A >settings
	touch -d '1 hour ago' settings
	pk run --trace -- sh -c "$cmd"
	local e
	e=$(entries)
	pk key --trace --explain -- sh -c "$cmd"
	assert_status 0
	sed '1,/^pickled:   cache-failures /d' "$TMP/io/err" >"$TMP/io/verdict"
	assert_bytes "$TMP/io/verdict" 'pickled: traced inputs unchanged: result %s\npickled: an entry exists for this key\n' "${e##*/}"
	# Its entry gone, a run would miss: so says key.
	rm "$e"
	pk key --trace --explain -- sh -c "$cmd"
	assert_status 0
	sed '1,/^pickled:   cache-failures /d' "$TMP/io/err" >"$TMP/io/verdict"
	assert_bytes "$TMP/io/verdict" 'pickled: traced inputs unchanged: result %s\npickled: no entry for this key\npickled:   no earlier entry of this command\n' "${e##*/}"
	# The manifest explains a miss; no entry of the run's key is looked for.
	pk run --trace -- sh -c "$cmd"
	echo B >settings
	pk key --trace --explain -- sh -c "$cmd"
	assert_status 0
	sed '1,/^pickled:   cache-failures /d' "$TMP/io/err" >"$TMP/io/verdict"
	assert_bytes "$TMP/io/verdict" 'pickled: miss (input changed: settings)\n'
	assert_count 2
}

@test "trace: a damaged manifest is a miss, said once; verify reports it, --fix removes it; gc and rm follow the entries" {
	traced
	# No background gc: one started by the first run (slow under
	# valgrind) would remove the damaged manifest before the second run.
	export PICKLED_GC=false
	pk run --trace -- sh -c "$CNT; echo hi"
	local m
	m=$(the_manifest)
	local hex=${m##*/}
	printf 'X' | dd of="$m" bs=1 seek=20 conv=notrunc 2>/dev/null
	pk run --trace -- sh -c "$CNT; echo hi"
	assert_status 0
	assert_out 'hi\n'
	assert_err 'pickled: corrupt manifest %s (checksum mismatch), running the command\n' "${hex:0:12}"
	assert_count 2
	# The run wrote a sound one in its place.
	pk verify
	assert_status 0
	assert_out ''
	printf 'X' | dd of="$m" bs=1 seek=20 conv=notrunc 2>/dev/null
	pk verify
	assert_status 1
	assert_out 'manifest %s damaged: checksum mismatch\n' "$hex"
	pk verify --fix
	assert_status 1
	assert_out 'manifest %s removed: checksum mismatch\n' "$hex"
	[ -z "$(manifest_files)" ]
	# An input set whose result is gone goes, and the manifest with it.
	pk run --trace -- sh -c "$CNT; echo hi"
	[ -n "$(manifest_files)" ]
	rm "$(entries)"
	pk gc -v
	assert_status 0
	assert_match "$TMP/io/out" "^removed manifest ${hex:0:12} no result left\$|^removed 0 entries"
	[ -z "$(manifest_files)" ]
	# rm of the result removes its set.
	pk run --trace -- sh -c "$CNT; echo hi"
	local e
	e=$(entries)
	pk rm "${e##*/}"
	assert_status 0
	[ -z "$(manifest_files)" ]
	pk run --trace -- sh -c "$CNT; echo hi"
	pk rm --all
	[ -z "$(manifest_files)" ] && [ -z "$(entries)" ]
	# A file under manifests/ that is none.
	mkdir -p "$PICKLED_CACHE_DIR/manifests/ab"
	echo junk >"$PICKLED_CACHE_DIR/manifests/ab/junk"
	pk verify
	assert_status 1
	assert_out 'manifests/ab/junk foreign: not a manifest\n'
	pk gc -v
	assert_match "$TMP/io/out" '^removed manifests/ab/junk foreign$|^removed 0 entries'
	[ ! -e "$PICKLED_CACHE_DIR/manifests/ab/junk" ]
}

@test "trace: ls --json and show --json say what a traced entry read and wrote" {
	traced
	echo A >settings
	pk run --trace -- sh -c "cat settings; echo x >made"
	pk ls --json
	assert_status 0
	grep -qF "{\"path\":\"$TMP/wd/settings\",\"kind\":\"file\",\"xxh3\":\"" "$TMP/io/out"
	grep -qF "\"written\":[\"$TMP/wd/made\"],\"network\":[]}" "$TMP/io/out"
	pk run -- sh -c "cat settings"
	pk ls --json
	grep -q '"traced":null' "$TMP/io/out"
}

@test "trace: configuration: trace: true, a job's trace: false, --no-trace; trace.ignore" {
	traced
	mkdir logs
	cat >"$PICKLED_CONFIG" <<'EOF'
trace:
  enabled: true
  ignore: [logs]
jobs:
  plain:
    command: [sh, -c, 'echo x >>"$TMP/count"; ls logs']
    trace: false
EOF
	pk run -- sh -c "$CNT; ls logs"
	assert_status 0
	assert_err ''
	[ -n "$(manifest_files)" ]
	# The ignored folder changes: still a hit.
	touch logs/new
	pk run -- sh -c "$CNT; ls logs"
	assert_out ''
	assert_count 1
	rm -rf "$PICKLED_CACHE_DIR"
	pk run --no-trace -- sh -c "$CNT; ls logs"
	pk run -j plain
	[ -z "$(manifest_files)" ]
	printf 'trace: true\n' >"$PICKLED_CONFIG"
	pk config get trace.enabled
	assert_out 'true\n'
	printf 'trace: sometimes\n' >"$PICKLED_CONFIG"
	pk config --check
	assert_status 1
	assert_err 'pickled: %s:1:8: invalid value for trace: '"'"'sometimes'"'"' (expected true or false)\n' "$PICKLED_CONFIG"
}

@test "trace: the network: said in show and --explain; trace.network: uncached does not store" {
	traced
	local cmd="$CNT; python3 -c 'import socket; s = socket.socket(); s.setblocking(False); s.connect_ex((\"192.0.2.1\", 9))'"
	pk run --trace --explain -- sh -c "$cmd"
	assert_status 0
	explained 'pickled: the run used the network (192.0.2.1:9)'
	local e
	e=$(entries)
	pk show "${e##*/}"
	grep -qx 'network         used (192.0.2.1:9)' "$TMP/io/out"
	rm -rf "$PICKLED_CACHE_DIR"
	printf 'trace:\n  network: uncached\n' >"$PICKLED_CONFIG"
	pk run --trace -- sh -c "$cmd"
	assert_status 0
	assert_err 'pickled: result not stored: the run used the network (192.0.2.1:9), and trace.network is uncached\n'
	[ -z "$(entries)" ]
}

@test "trace: the network: a later hit and key --trace --explain say the stored run used it" {
	traced
	local cmd="$CNT; python3 -c 'import socket; s = socket.socket(); s.setblocking(False); s.connect_ex((\"192.0.2.1\", 9))'"
	pk run --trace -- sh -c "$cmd"
	assert_status 0
	pk run --trace --explain -- sh -c "$cmd"
	assert_status 0
	assert_count 1
	grep -q '^pickled: hit (age ' "$TMP/io/err"
	explained 'pickled: the run used the network (192.0.2.1:9)'
	pk key --trace --explain -- sh -c "$cmd"
	assert_status 0
	explained 'pickled: the run used the network (192.0.2.1:9)'
	assert_count 1
}

@test "trace: Python's __pycache__ is an output; the stale bytecode read and replaced after an edit is not stored" {
	traced
	unset PYTHONDONTWRITEBYTECODE
	printf 'VALUE = 1\n' >mymod.py
	printf 'import mymod\nprint(mymod.VALUE)\n' >job.py
	touch -d '1 hour ago' mymod.py job.py
	pk run --trace -- python3 job.py
	assert_out '1\n'
	assert_err ''
	local e
	e=$(entries)
	pk show "${e##*/}"
	grep -q "^written         $TMP/wd/__pycache__/mymod\..*\.pyc$" "$TMP/io/out"
	pk run --trace -- python3 job.py
	assert_out '1\n'
	assert_err ''
	printf 'VALUE = 22\n' >mymod.py
	pk run --trace -- python3 job.py
	assert_out '22\n'
	assert_match "$TMP/io/err" "^pickled: result not stored: read, then written by the run: $TMP/wd/__pycache__/mymod\\..*\\.pyc\$"
	# The bytecode now matches the source: stored, then a hit.
	pk run --trace -- python3 job.py
	assert_err ''
	pk run --trace --explain -- python3 job.py
	grep -q '^pickled: hit (age ' "$TMP/io/err"
}

@test "trace: gc removes a traced result that no manifest names, once a minute old" {
	traced
	cc -shared -fPIC -o "$TMP/clockshift.so" "$BATS_TEST_DIRNAME/../clockshift.c" -ldl ||
		skip "cannot build clockshift.c"
	pk run --trace -- sh -c "$CNT; echo hi"
	local e
	e=$(entries)
	rm "$(the_manifest)"
	pk gc -v
	assert_status 0
	[ -f "$e" ]
	LD_PRELOAD=$TMP/clockshift.so PK_TEST_CLOCK_SHIFT=120 pk gc -v
	assert_status 0
	assert_match "$TMP/io/out" "^removed ${e:(-32):12} unreachable .*sh -c|^removed 1 entry"
	[ ! -e "$e" ]
}

@test "trace: a traced result shared through Redis: another host replays it" {
	traced
	[ -n "$TRACE_REDIS_URL" ] || skip "PICKLED_TEST_REDIS_URL is not set"
	command -v redis-cli >/dev/null || skip "redis-cli is not installed"
	local url=$TRACE_REDIS_URL prefix="pickled-test:${TMP##*/}:" h
	for h in a b; do
		printf 'remote:\n  url: "%s"\n  prefix: "%s"\n' "$url" "$prefix" >"$TMP/$h.conf"
		chmod 600 "$TMP/$h.conf"
	done
	echo A >settings
	touch -d '1 hour ago' settings
	pk -c "$TMP/a.conf" -C "$TMP/ca" run --trace -- sh -c "$CNT; cat settings"
	assert_out 'A\n'
	assert_err ''
	pk -c "$TMP/b.conf" -C "$TMP/cb" run --trace --explain -- sh -c "$CNT; cat settings"
	assert_status 0
	assert_out 'A\n'
	assert_count 1
	explained 'pickled: remote manifest'
	explained 'pickled: remote hit'
	# A's inputs changed: a miss on B too, and B's set is shared back.
	echo B >settings
	pk -c "$TMP/b.conf" -C "$TMP/cb" run --trace -- sh -c "$CNT; cat settings"
	assert_out 'B\n'
	assert_count 2
	rm -rf "$TMP/ca"
	pk -c "$TMP/a.conf" -C "$TMP/ca" run --trace -- sh -c "$CNT; cat settings"
	assert_out 'B\n'
	assert_count 2
	case $url in
	redis+unix://*) local path=${url#redis+unix://}; path=${path%%'?'*}
		redis-cli -s "$path" --scan --pattern "${prefix}*" | xargs -r redis-cli -s "$path" DEL >/dev/null ;;
	*) redis-cli -u "$url" --scan --pattern "${prefix}*" | xargs -r redis-cli -u "$url" DEL >/dev/null ;;
	esac
}

@test "trace: a program built with AddressSanitizer runs traced: its leak checker and link-order check are off, unless its ASAN_OPTIONS says otherwise" {
	# LeakSanitizer stops the world with ptrace, which a traced process
	# cannot (exit 1 at the end, the output given); the link-order check
	# refused the fast path's shim in LD_PRELOAD (exit 1 at the start)
	traced
	printf '%s\n' '#include <stdio.h>' \
		'int main(int argc, char **argv) { char b[64] = ""; FILE *f = fopen(argv[1], "r");' \
		'  if (f == NULL || fgets(b, sizeof(b), f) == NULL) return 3; fputs(b, stdout); return 0; }' >asan.c
	cc -fsanitize=address -o asanprog asan.c 2>/dev/null && ASAN_OPTIONS= ./asanprog asan.c >/dev/null ||
		skip "no AddressSanitizer here"
	echo hello >in.txt
	touch -d '1 hour ago' in.txt
	ASAN_OPTIONS= pk run --trace -- ./asanprog in.txt
	assert_status 0
	assert_out 'hello\n'
	assert_err ''
	ASAN_OPTIONS= pk run --trace --explain -- ./asanprog in.txt
	assert_status 0
	assert_out 'hello\n'
	grep -q '^pickled: hit (age ' "$TMP/io/err"
	echo world >in.txt
	ASAN_OPTIONS= pk run --trace --explain -- ./asanprog in.txt
	assert_out 'world\n'
	explained 'pickled: miss (input changed: in.txt)'
	# the job's own flags come after pickled's, and so win
	ASAN_OPTIONS=halt_on_error=1 pk run --trace -- sh -c 'printf "%s\n" "$ASAN_OPTIONS"'
	assert_out 'detect_leaks=0:verify_asan_link_order=0:halt_on_error=1\n'
	ASAN_OPTIONS=detect_leaks=1 pk run -f --trace -- ./asanprog in.txt
	assert_status 1
	grep -q 'LeakSanitizer does not work under ptrace' "$TMP/io/err"
}

@test "trace: a path looked at with statfs(2) is recorded: absent, then present, a miss" {
	# libselinux asks statfs("/selinux") whether SELinux is mounted; such a
	# lookup was not watched, and its path not in the key
	traced
	job=(sh -c "$CNT; if stat -f -c %T probe >/dev/null 2>&1; then echo there; else echo none; fi")
	pk run --trace -- "${job[@]}"
	assert_status 0
	assert_out 'none\n'
	pk run --trace -- "${job[@]}"
	assert_out 'none\n'
	assert_count 1
	mkdir probe
	pk run --trace --explain -- "${job[@]}"
	assert_out 'there\n'
	assert_count 2
	explained 'pickled: miss (now present: probe)'
}

@test "trace: every file call of the command finds what its path's record says (strace's view): no exit stop is needed" {
	# The tracer stops a call at its entry only and records what is at the
	# path then; outcomes.py checks each call's result, as strace saw it in
	# an untraced run, against the records: a call that found something,
	# a record of it; one that found nothing (ENOENT, ENOTDIR), absent.
	traced
	command -v strace >/dev/null || skip "no strace"
	local py=/usr/bin/python3
	[ -x "$py" ] || py=$(command -v python3)
	mkdir -p data lib
	printf 'def total(rows):\n    return sum(float(r["v"]) for r in rows)\n' >lib/calc.py
	printf '%s\n' 'import csv, glob, json, os, sys' 'sys.path.insert(0, "lib")' 'import calc' \
		'rows = []' 'for p in sorted(glob.glob("data/*.csv")):' \
		'    with open(p) as f: rows += list(csv.DictReader(f))' \
		'print(json.dumps({"n": len(rows), "t": calc.total(rows), "cfg": os.path.exists("missing.cfg")}))' >main.py
	for i in 1 2 3 4 5; do printf 'v\n%s\n%s\n' "$i" "$((i * 2))" >"data/p$i.csv"; done
	touch -d '1 hour ago' data/* data lib/* lib main.py
	local job=(sh -c "$py main.py; ls data | sed 's|^|data/|' | xargs -P4 -n2 cat | wc -l; test -e nope/x || echo none; stat -f -c %T . >/dev/null")
	pk run --trace -- "${job[@]}"
	assert_status 0
	assert_out '{"n": 10, "t": 45.0, "cfg": false}\n15\nnone\n'
	local key
	key=$(cd "$PICKLED_CACHE_DIR/v1" && ls */ | grep -v : | grep -v '^$' | head -1)
	pk show "$key"
	assert_status 0
	awk '$1 == "traced" && $2 == "input" { print $3, $4 } $1 == "written" { print $2, "written" }' \
		"$TMP/io/out" >"$TMP/records"
	strace -f -y -qq -e trace=%file -e signal=none -o "$TMP/strace" "${job[@]}" >"$TMP/io/bare"
	assert_bytes "$TMP/io/bare" '{"n": 10, "t": 45.0, "cfg": false}\n15\nnone\n'
	run python3 "$BATS_TEST_DIRNAME/../trace/outcomes.py" "$TMP/records" "$TMP/strace" "$PWD"
	echo "$output"
	[ "$status" -eq 0 ]
	# and it looked at enough to mean something
	local calls
	calls=$(printf '%s\n' "$output" | sed -n 's/^calls \([0-9]*\),.*/\1/p')
	[ "$calls" -ge 100 ]
}

@test "trace: a command that changes its mounts or leaves its mount namespace is not stored, said once" {
	# after unshare -m or a mount, a path may name another file next run
	traced
	unshare -m true 2>/dev/null || skip "cannot unshare the mount namespace here"
	echo A >in.txt
	touch -d '1 hour ago' in.txt
	pk run --trace -- unshare -m sh -c "$CNT; cat in.txt"
	assert_status 0
	assert_out 'A\n'
	assert_match "$TMP/io/err" '^pickled: result not stored: the trace is incomplete: process [0-9]* left its mount namespace$'
	[ "$(wc -l <"$TMP/io/err")" = 1 ]
	pk run --trace -- unshare -m sh -c "$CNT; cat in.txt"
	assert_out 'A\n'
	assert_count 2
	pk run --trace -- sh -c "$CNT; mount -t tmpfs none /nonexistent-pickled-test 2>/dev/null; cat in.txt"
	assert_status 0
	assert_out 'A\n'
	assert_match "$TMP/io/err" '^pickled: result not stored: the trace is incomplete: process [0-9]* changed \(or tried to change\) its mounts$'
	[ "$(wc -l <"$TMP/io/err")" = 1 ]
	assert_count 3
}
