#!/usr/bin/env bats
# run.bats: `pickled run`: what goes into the key, replay of exact bytes and
# exit statuses, expiry, concurrency, and a cache that fails or lies.

load helper

# A command that counts its runs and writes to both streams.
OUTERR="$CNT"'; printf "out\n"; printf "err\n" >&2'

# --- hit and miss ------------------------------------------------------------

@test "a miss runs the command, a hit replays stdout, stderr and status" {
	pk run sh -c "$OUTERR"
	assert_status 0
	assert_out 'out\n'
	assert_err 'err\n'
	assert_count 1
	pk run sh -c "$OUTERR"
	assert_status 0
	assert_out 'out\n'
	assert_err 'err\n'
	assert_count 1
}

@test "pickled prints nothing of its own on a miss or a hit" {
	pk run sh -c "$CNT; echo only-stdout"
	assert_status 0
	assert_out 'only-stdout\n'
	assert_err ''
	pk run sh -c "$CNT; echo only-stdout"
	assert_out 'only-stdout\n'
	assert_err ''
	assert_count 1
}

@test "empty output is stored and replayed as empty" {
	pk run sh -c "$CNT"
	assert_status 0
	assert_out ''
	assert_err ''
	pk run sh -c "$CNT"
	assert_status 0
	assert_out ''
	assert_err ''
	assert_count 1
}

@test "binary output with every byte value replays byte-identical" {
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 300 + b"\0\0tail\0")' >"$TMP/bin"
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(255, -1, -1)) * 7 + b"\0")' >"$TMP/bin2"
	local cmd="$CNT"'; cat "$TMP/bin"; cat "$TMP/bin2" >&2'
	pk run sh -c "$cmd"
	assert_status 0
	assert_same "$TMP/bin" "$TMP/io/out" stdout
	assert_same "$TMP/bin2" "$TMP/io/err" stderr
	pk run sh -c "$cmd"
	assert_status 0
	assert_same "$TMP/bin" "$TMP/io/out" stdout
	assert_same "$TMP/bin2" "$TMP/io/err" stderr
	assert_count 1
}

@test "large output (several MB) replays byte-identical" {
	seq 1 1000000 >"$TMP/seq"
	pk run sh -c "$CNT; seq 1 1000000"
	assert_status 0
	assert_same "$TMP/seq" "$TMP/io/out"
	pk run sh -c "$CNT; seq 1 1000000"
	assert_same "$TMP/seq" "$TMP/io/out"
	assert_err ''
	assert_count 1
}

@test "interleaved stdout and stderr replay in the original order" {
	local cmd="$CNT"'; echo 1; sleep 0.1; echo 2 >&2; sleep 0.1; echo 3; sleep 0.1; echo 4 >&2'
	pk_merged run sh -c "$cmd"
	assert_status 0
	assert_out '1\n2\n3\n4\n'
	pk_merged run sh -c "$cmd"
	assert_status 0
	assert_out '1\n2\n3\n4\n'
	assert_count 1
}

@test "the exit status is returned on a miss and replayed on a hit" {
	local cmd="$CNT"'; echo partial; echo boom >&2; exit 3'
	pk run --cache-failures sh -c "$cmd"
	assert_status 3
	assert_out 'partial\n'
	assert_err 'boom\n'
	pk run --cache-failures sh -c "$cmd"
	assert_status 3
	assert_out 'partial\n'
	assert_err 'boom\n'
	assert_count 1
}

@test "a status above 128 from the command itself is replayed as is" {
	pk run --cache-failures sh -c "$CNT; echo out; exit 200"
	assert_status 200
	assert_out 'out\n'
	pk run --cache-failures sh -c "$CNT; echo out; exit 200"
	assert_status 200
	assert_out 'out\n'
	assert_err ''
	assert_count 1
}

@test "a non-zero exit is not stored by default" {
	local cmd="$CNT"'; echo partial; echo boom >&2; exit 3'
	pk run sh -c "$cmd"
	assert_status 3
	assert_out 'partial\n'
	assert_err 'boom\n'
	pk run sh -c "$cmd"
	assert_status 3
	assert_out 'partial\n'
	assert_err 'boom\n'
	assert_count 2
	[ -z "$(entries)" ]
}

@test "a command killed by a signal exits 128+N and is never stored" {
	local cmd="$CNT"'; echo before; kill -TERM $$'
	pk run --cache-failures sh -c "$cmd"
	assert_status 143
	assert_out 'before\n'
	assert_err ''
	pk run --cache-failures sh -c "$cmd"
	assert_status 143
	assert_out 'before\n'
	assert_count 2
	[ -z "$(entries)" ]
}

@test "--force runs the command and replaces the stored result" {
	local cmd="$CNT"'; wc -l <"$TMP/count" | tr -d " "'
	pk run sh -c "$cmd"
	assert_out '1\n'
	pk run --force sh -c "$cmd"
	assert_status 0
	assert_out '2\n'
	assert_err ''
	pk run sh -c "$cmd"
	assert_out '2\n'
	assert_count 2
}

@test "options end at the first word of the command, or at --" {
	pk run printf '%s|' --ttl -k --bogus
	assert_status 0
	assert_out '--ttl|-k|--bogus|'
	assert_err ''
	pk run -- printf '%s|' a
	assert_status 0
	assert_out 'a|'
}

# --- the key: argv and program -------------------------------------------------

# ARGS prints its arguments in brackets, one run counted.
ARGS="$CNT"'; printf "[%s]" "$@"; echo'

@test "arguments are in the key element by element" {
	pk run sh -c "$ARGS" sh 'a b'
	assert_out '[a b]\n'
	pk run sh -c "$ARGS" sh a b
	assert_out '[a][b]\n'
	pk run sh -c "$ARGS" sh ab c
	assert_out '[ab][c]\n'
	pk run sh -c "$ARGS" sh a bc
	assert_out '[a][bc]\n'
	pk run sh -c "$ARGS" sh "$(printf 'a\nb')"
	assert_out '[a\nb]\n'
	assert_count 5
	pk run sh -c "$ARGS" sh 'a b'
	assert_out '[a b]\n'
	pk run sh -c "$ARGS" sh a b
	assert_out '[a][b]\n'
	pk run sh -c "$ARGS" sh "$(printf 'a\nb')"
	assert_out '[a\nb]\n'
	assert_count 5
}

@test "an empty argument counts" {
	pk run sh -c "$ARGS" sh a
	assert_out '[a]\n'
	pk run sh -c "$ARGS" sh a ''
	assert_out '[a][]\n'
	pk run sh -c "$ARGS" sh a '' ''
	assert_out '[a][][]\n'
	assert_count 3
	pk run sh -c "$ARGS" sh a ''
	assert_out '[a][]\n'
	assert_count 3
}

@test "the program's content and mtime are in the key" {
	printf '#!/bin/sh\necho x >>"$TMP/count"\necho v1\n' >tool
	chmod 0755 tool
	pk run ./tool
	assert_out 'v1\n'
	pk run ./tool
	assert_count 1
	printf '#!/bin/sh\necho x >>"$TMP/count"\necho v22\n' >tool
	pk run ./tool
	assert_out 'v22\n'
	assert_count 2
	touch -d '2001-02-03 04:05:06' tool
	pk run ./tool
	assert_out 'v22\n'
	assert_count 3
	pk run ./tool
	assert_count 3
}

@test "--ttl, --stale and --tag are not in the key; --cache-failures is" {
	pk run --ttl 1h sh -c "$CNT; echo hi"
	pk run --ttl 2h --stale 1h --tag a --tag b sh -c "$CNT; echo hi"
	assert_status 0
	assert_out 'hi\n'
	assert_count 1
	pk run --cache-failures sh -c "$CNT; echo hi"
	assert_out 'hi\n'
	assert_count 2
}

# --- the key: inputs -----------------------------------------------------------

@test "--input: changed content is a miss, a new mtime alone is a hit" {
	local cmd="$CNT"'; cat "$TMP/in"'
	printf 'v1\n' >"$TMP/in"
	pk run -i "$TMP/in" sh -c "$cmd"
	assert_out 'v1\n'
	pk run -i "$TMP/in" sh -c "$cmd"
	assert_out 'v1\n'
	assert_count 1
	printf 'v22\n' >"$TMP/in"
	pk run -i "$TMP/in" sh -c "$cmd"
	assert_out 'v22\n'
	assert_count 2
	touch -d '2001-02-03 04:05:06' "$TMP/in"
	pk run --input "$TMP/in" sh -c "$cmd"
	assert_status 0
	assert_out 'v22\n'
	assert_err ''
	assert_count 2
}

@test "--input: same size and mtime but new content is a miss" {
	local cmd="$CNT"'; cat "$TMP/in"'
	printf 'aaaa\n' >"$TMP/in"
	touch -d '2001-02-03 04:05:06' "$TMP/in"
	pk run -i "$TMP/in" sh -c "$cmd"
	assert_out 'aaaa\n'
	printf 'bbbb\n' >"$TMP/in"
	touch -d '2001-02-03 04:05:06' "$TMP/in"
	pk run -i "$TMP/in" sh -c "$cmd"
	assert_out 'bbbb\n'
	assert_count 2
}

@test "--input: a missing input is recorded absent; creating it is a miss" {
	local cmd="$CNT"'; cat "$TMP/in" 2>/dev/null || echo none'
	pk run -i "$TMP/in" sh -c "$cmd"
	assert_status 0
	assert_out 'none\n'
	assert_err ''
	pk run -i "$TMP/in" sh -c "$cmd"
	assert_out 'none\n'
	assert_count 1
	printf '' >"$TMP/in"
	pk run -i "$TMP/in" sh -c "$cmd"
	assert_out ''
	assert_count 2
	rm "$TMP/in"
	pk run -i "$TMP/in" sh -c "$cmd"
	assert_out 'none\n'
	assert_count 2
}

@test "--input: a directory covers every regular file below it" {
	mkdir -p "$TMP/d/sub"
	printf 'a\n' >"$TMP/d/a"
	printf 'b\n' >"$TMP/d/sub/b"
	local cmd="$CNT"'; cat "$TMP/count" | wc -l | tr -d " "'
	pk run -i "$TMP/d" sh -c "$cmd"
	assert_out '1\n'
	pk run -i "$TMP/d" sh -c "$cmd"
	assert_out '1\n'
	printf 'B\n' >"$TMP/d/sub/b"
	pk run -i "$TMP/d" sh -c "$cmd"
	assert_out '2\n'
	printf 'c\n' >"$TMP/d/sub/c"
	pk run -i "$TMP/d" sh -c "$cmd"
	assert_out '3\n'
	touch -d '2001-02-03 04:05:06' "$TMP/d/a" "$TMP/d/sub/b"
	pk run -i "$TMP/d" sh -c "$cmd"
	assert_out '3\n'
	mv "$TMP/d/sub/c" "$TMP/d/c"
	pk run -i "$TMP/d" sh -c "$cmd"
	assert_out '4\n'
	assert_err ''
	assert_count 4
}

@test "--input: a directory 2000 levels deep is walked, not a crash" {
	python3 -c '
import os, sys
os.chdir(sys.argv[1]); os.mkdir("t"); os.chdir("t")
for i in range(2000):
    os.mkdir("a"); os.chdir("a")
open("f", "w").write("x")' "$TMP"
	local cmd="$CNT; echo hi"
	pk run -i "$TMP/t" sh -c "$cmd"
	assert_status 0
	assert_out 'hi\n'
	assert_err ''
	pk run -i "$TMP/t" sh -c "$cmd"
	assert_count 1
	printf 'y' >"$TMP/t$(printf '/a%.0s' $(seq 2000))/f"
	pk run -i "$TMP/t" sh -c "$cmd"
	assert_out 'hi\n'
	assert_count 2
}

@test "--input: a pattern that matches nothing is the plain path, file or folder" {
	mkdir 'd[x]'
	printf 'q\n' >'d[x]/f'
	local cmd="$CNT; echo hi"
	pk run -i 'd[x]' sh -c "$cmd"
	assert_status 0
	assert_err ''
	pk run -i 'd[x]' sh -c "$cmd"
	assert_count 1
	printf 'r\n' >'d[x]/f'
	pk run -i 'd[x]' sh -c "$cmd"
	assert_count 2
	pk run --explain -i 'd[x]' sh -c "$cmd"
	grep -q "^pickled:   input 'd\[x\]/f' xxh3 " "$TMP/io/err"
}

@test "--input: a quoted glob is expanded by pickled" {
	mkdir "$TMP/g"
	printf '1\n' >"$TMP/g/a.csv"
	local cmd="$CNT"'; cat "$TMP"/g/*.csv'
	pk run -i "$TMP/g/*.csv" sh -c "$cmd"
	assert_status 0
	assert_out '1\n'
	printf '2\n' >"$TMP/g/b.csv"
	pk run -i "$TMP/g/*.csv" sh -c "$cmd"
	assert_out '1\n2\n'
	assert_count 2
	printf 'x\n' >"$TMP/g/c.txt"
	pk run -i "$TMP/g/*.csv" sh -c "$cmd"
	assert_out '1\n2\n'
	assert_count 2
	printf '3\n' >"$TMP/g/a.csv"
	pk run -i "$TMP/g/*.csv" sh -c "$cmd"
	assert_out '3\n2\n'
	assert_err ''
	assert_count 3
}

@test "--input: a glob matching nothing, then matching a file, is a miss" {
	mkdir "$TMP/g"
	local cmd="$CNT"'; cat "$TMP"/g/*.csv 2>/dev/null || echo none'
	pk run -i "$TMP/g/*.csv" sh -c "$cmd"
	assert_status 0
	assert_out 'none\n'
	# keyed as absent, and said (pipeline.bats has the details)
	assert_err "pickled: no file matches the input '%s/g/*.csv'\n" "$TMP"
	pk run -i "$TMP/g/*.csv" sh -c "$cmd"
	assert_count 1
	printf '1\n' >"$TMP/g/a.csv"
	pk run -i "$TMP/g/*.csv" sh -c "$cmd"
	assert_out '1\n'
	assert_err ''
	assert_count 2
}

@test "--input: several inputs, order of the flags does not matter" {
	printf 'a\n' >"$TMP/a"
	printf 'b\n' >"$TMP/b"
	pk run -i "$TMP/a" -i "$TMP/b" sh -c "$CNT; echo hi"
	pk run -i "$TMP/b" -i "$TMP/a" sh -c "$CNT; echo hi"
	assert_out 'hi\n'
	assert_count 1
	printf 'B\n' >"$TMP/b"
	pk run -i "$TMP/a" -i "$TMP/b" sh -c "$CNT; echo hi"
	assert_count 2
}

# --- the key: environment, namespace, cwd ---------------------------------------

@test "--env: unset, empty and a value are three different keys" {
	local cmd="$CNT"'; echo "${PK_T_VAR-unset}"'
	unset PK_T_VAR
	pk run -e PK_T_VAR sh -c "$cmd"
	assert_out 'unset\n'
	PK_T_VAR='' pk run -e PK_T_VAR sh -c "$cmd"
	assert_out '\n'
	PK_T_VAR=v pk run -e PK_T_VAR sh -c "$cmd"
	assert_out 'v\n'
	PK_T_VAR=w pk run --env PK_T_VAR sh -c "$cmd"
	assert_out 'w\n'
	assert_count 4
	pk run -e PK_T_VAR sh -c "$cmd"
	assert_out 'unset\n'
	PK_T_VAR='' pk run -e PK_T_VAR sh -c "$cmd"
	assert_out '\n'
	PK_T_VAR=v pk run -e PK_T_VAR sh -c "$cmd"
	assert_out 'v\n'
	assert_err ''
	assert_count 4
}

@test "an environment variable not named with -e is not in the key" {
	PK_T_OTHER=1 pk run sh -c "$CNT; echo hi"
	PK_T_OTHER=2 pk run sh -c "$CNT; echo hi"
	pk run sh -c "$CNT; echo hi"
	assert_out 'hi\n'
	assert_count 1
}

@test "--env: a glob selects every matching variable" {
	local cmd="$CNT; echo hi"
	PK_T_A=1 pk run -e 'PK_T_*' sh -c "$cmd"
	assert_out 'hi\n'
	PK_T_A=2 pk run -e 'PK_T_*' sh -c "$cmd"
	assert_count 2
	PK_T_A=2 PK_T_B=1 pk run -e 'PK_T_*' sh -c "$cmd"
	assert_count 3
	PK_T_A=2 PK_T_B=1 pk run -e 'PK_T_*' sh -c "$cmd"
	assert_count 3
	PK_T_A=2 PK_T_B=1 PK_X=9 pk run -e 'PK_T_*' sh -c "$cmd"
	assert_count 3
	PK_T_A=1 pk run -e 'PK_T_*' sh -c "$cmd"
	assert_out 'hi\n'
	assert_err ''
	assert_count 3
}

@test "--env: a glob sees a variable whose name is 300 bytes long" {
	local cmd="$CNT; echo hi" long
	long=PK_T_$(printf 'X%.0s' $(seq 300))
	env "$long=one" "$PK" run -e 'PK_T_*' sh -c "$cmd" </dev/null >/dev/null 2>&1 3>&-
	env "$long=one" "$PK" run -e 'PK_T_*' sh -c "$cmd" </dev/null >/dev/null 2>&1 3>&-
	assert_count 1
	env "$long=two" "$PK" run -e 'PK_T_*' sh -c "$cmd" </dev/null >/dev/null 2>&1 3>&-
	assert_count 2
}

@test "-k keeps separate namespaces" {
	pk run sh -c "$CNT; echo hi"
	pk run -k ns1 sh -c "$CNT; echo hi"
	pk run --key ns2 sh -c "$CNT; echo hi"
	assert_count 3
	pk run -k ns1 sh -c "$CNT; echo hi"
	pk run --key ns2 sh -c "$CNT; echo hi"
	pk run sh -c "$CNT; echo hi"
	assert_status 0
	assert_out 'hi\n'
	assert_err ''
	assert_count 3
}

@test "--cwd puts the working directory in the key; without it, it is not" {
	mkdir "$TMP/d1" "$TMP/d2"
	local cmd="$CNT"'; basename "$PWD"'
	cd "$TMP/d1"
	pk run --cwd sh -c "$cmd"
	assert_out 'd1\n'
	cd "$TMP/d2"
	pk run --cwd sh -c "$cmd"
	assert_out 'd2\n'
	assert_count 2
	cd "$TMP/d1"
	pk run --cwd sh -c "$cmd"
	assert_out 'd1\n'
	assert_count 2
	pk run sh -c "$cmd"
	assert_out 'd1\n'
	assert_count 3
	cd "$TMP/d2"
	pk run sh -c "$cmd"
	assert_out 'd1\n'
	assert_count 3
}

# --- the key: stdin ----------------------------------------------------------------

@test "piped stdin is in the key and reaches the command intact" {
	local cmd="$CNT"'; cat'
	pk_in <(printf 'A\n') run sh -c "$cmd"
	assert_status 0
	assert_out 'A\n'
	pk_in <(printf 'B\n') run sh -c "$cmd"
	assert_out 'B\n'
	assert_count 2
	pk_in <(printf 'A\n') run sh -c "$cmd"
	assert_out 'A\n'
	assert_err ''
	assert_count 2
}

@test "binary stdin of 1 MB reaches the command byte-identical" {
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 4096)' >"$TMP/in"
	local cmd="$CNT"'; cat >"$TMP/got"; echo ok'
	pk_in <(cat "$TMP/in") run sh -c "$cmd"
	assert_status 0
	assert_out 'ok\n'
	assert_same "$TMP/in" "$TMP/got" 'stdin seen by the command'
	rm "$TMP/got"
	pk_in <(cat "$TMP/in") run sh -c "$cmd"
	assert_out 'ok\n'
	assert_count 1
	[ ! -e "$TMP/got" ]
}

@test "stdin from a regular file is in the key" {
	local cmd="$CNT"'; cat'
	printf 'one\n' >"$TMP/in"
	pk_in "$TMP/in" run sh -c "$cmd"
	assert_out 'one\n'
	printf 'two\n' >"$TMP/in"
	pk_in "$TMP/in" run sh -c "$cmd"
	assert_out 'two\n'
	pk_in "$TMP/in" run sh -c "$cmd"
	assert_out 'two\n'
	assert_count 2
}

@test "stdin from /dev/null is left alone and the run is cached" {
	pk run sh -c "$CNT; cat; echo end"
	assert_status 0
	assert_out 'end\n'
	assert_err ''
	pk run sh -c "$CNT; cat; echo end"
	assert_out 'end\n'
	assert_count 1
}

@test "an empty stdin keys exactly like no stdin: cron's empty pipe, a terminal, /dev/null" {
	local k_null k_pipe k_file k_tty k_always k_data
	k_null=$("$PK" key -- echo hi </dev/null 3>&-)
	k_pipe=$(: | "$PK" key -- echo hi 3>&-)
	: >"$TMP/empty"
	k_file=$("$PK" key -- echo hi <"$TMP/empty" 3>&-)
	k_always=$(: | "$PK" key --stdin -- echo hi 3>&-)
	# a terminal is not read at all
	k_tty=$(script -qec "'$PK' key -- echo hi" /dev/null </dev/null 3>&- | tr -d '\r')
	[ -n "$k_null" ]
	[ "$k_pipe" = "$k_null" ]
	[ "$k_file" = "$k_null" ]
	[ "$k_always" = "$k_null" ]
	[ "$k_tty" = "$k_null" ]
	k_data=$(printf x | "$PK" key -- echo hi 3>&-)
	[ "$k_data" != "$k_null" ]
	# A result stored from a shell (stdin /dev/null) serves cron's empty pipe.
	pk run sh -c "$CNT; echo hi"
	assert_out 'hi\n'
	pk_in <(true) run sh -c "$CNT; echo hi"
	assert_status 0
	assert_out 'hi\n'
	assert_err ''
	assert_count 1
	pk_in <(true) run --explain sh -c "$CNT; echo hi"
	grep -qxF 'pickled:   stdin empty (keyed as no stdin)' "$TMP/io/err"
	grep -qx 'pickled: hit (age .*)' "$TMP/io/err"
}

@test "over --stdin-limit, key prints no key and exits 1; --explain says the run is uncached and why" {
	head -c 2000 /dev/zero >"$TMP/in"
	pk_in <(cat "$TMP/in") key --stdin-limit 1K -- cat
	assert_status 1
	assert_out ''
	assert_err 'pickled: no key: the run would be uncached: stdin is larger than 1.0K\n'
	pk_in "$TMP/in" key --explain --stdin-limit 1K -- cat
	assert_status 1
	assert_out ''
	assert_err 'pickled: no key: the run would be uncached: stdin is larger than 1.0K\n'
	pk_in <(cat "$TMP/in") run --explain --stdin-limit 1K -- sh -c "$CNT; wc -c"
	assert_status 0
	assert_out '2000\n'
	assert_err 'pickled: uncached: stdin is larger than 1.0K\npickled: running uncached: stdin is larger than 1.0K\n'
	# Within the limit, the same stdin has a key, and run uses it.
	pk_in "$TMP/in" key --stdin-limit 2K -- cat
	assert_status 0
	assert_match "$TMP/io/out" '^[0-9a-f]{32}$'
}

@test "a loop reading the pipe pickled reads: one item, unless --no-stdin or a job; the docs say so" {
	# The trap: the first pickled reads the rest of the pipe as its stdin.
	printf 'a\nb\nc\n' | while read -r x; do "$PK" run -- echo "$x" 3>&-; done \
		>"$TMP/io/out" 2>"$TMP/io/err"
	assert_out 'a\n'
	assert_err ''
	# The fixes: --no-stdin, or a job (stdin: never is a job's default).
	printf 'a\nb\nc\n' | while read -r x; do "$PK" run --no-stdin -- echo "$x" 3>&-; done \
		>"$TMP/io/out" 2>"$TMP/io/err"
	assert_out 'a\nb\nc\n'
	assert_err ''
	printf 'jobs:\n  say:\n    command: [echo]\n' >"$PICKLED_CONFIG"
	printf 'a\nb\nc\n' | while read -r x; do "$PK" run -j say -- "$x" 3>&-; done \
		>"$TMP/io/out" 2>"$TMP/io/err"
	assert_out 'a\nb\nc\n'
	assert_err ''
	# The README's first paragraph on standard input and pickled.1 show the
	# trap and the fix.
	local top=$BATS_TEST_DIRNAME/../..
	awk '/^### Standard input/ { on = 1; next } on && /^$/ && seen { exit } on && NF { seen = 1; print }' \
		"$top/README.md" >"$TMP/io/para"
	grep -qF 'producer | while read x; do pickled run -- job "$x"; done' "$TMP/io/para"
	grep -qF -- '`--no-stdin`' "$TMP/io/para"
	grep -qF -- '`stdin: never`' "$TMP/io/para"
	awk '/^\.Ss Standard input/ { on = 1; next } on && /^\.S[sh]/ { exit } on { print }' \
		"$top/man/pickled.1" >"$TMP/io/man"
	grep -qF 'producer | while read x; do pickled run -- job' "$TMP/io/man"
	grep -qF 'producer | while read x; do pickled run --no-stdin -- job' "$TMP/io/man"
	grep -qF 'stdin: never' "$TMP/io/man"
}

@test "a hit leaves a regular-file stdin's offset where the command left it on the miss" {
	printf 'first\nsecond\nthird\n' >"$TMP/hosts"
	local one=$CNT'; read -r x; echo "got $x"'
	# run_after MODE CMD: the caller reads a line, pickled runs CMD, the
	# caller reads the rest.
	run_after() {
		local out=$1
		shift
		{ read -r l; "$PK" run "$@" 3>&-; echo "rest: $(cat)"; } <"$TMP/hosts" >"$TMP/io/$out" 2>"$TMP/io/err"
		assert_err ''
	}
	# The command reads one line: the caller gets the third, miss and hit.
	run_after one.miss -- sh -c "$one"
	run_after one.hit -- sh -c "$one"
	assert_bytes "$TMP/io/one.miss" 'got second\nrest: third\n'
	assert_bytes "$TMP/io/one.hit" 'got second\nrest: third\n'
	assert_count 1
	# The command reads to the end: nothing is left, miss and hit.
	run_after all.miss -- sh -c "$CNT; cat"
	run_after all.hit -- sh -c "$CNT; cat"
	assert_bytes "$TMP/io/all.miss" 'second\nthird\nrest: \n'
	assert_bytes "$TMP/io/all.hit" 'second\nthird\nrest: \n'
	assert_count 2
	# With --no-stdin the command reads the caller's file itself: the same.
	run_after never.miss --no-stdin -- sh -c "$one"
	run_after never.hit --no-stdin -- sh -c "$one"
	assert_bytes "$TMP/io/never.miss" 'got second\nrest: third\n'
	assert_bytes "$TMP/io/never.hit" 'got second\nrest: third\n'
	assert_count 3
	# An entry stored from a pipe of the same bytes records as much.
	printf 'second\nthird\n' | "$PK" run -k piped -- sh -c "$one" >/dev/null 3>&-
	run_after piped.hit -k piped -- sh -c "$one"
	assert_bytes "$TMP/io/piped.hit" 'got second\nrest: third\n'
	assert_count 4
}

@test "--no-stdin leaves stdin to the command and out of the key" {
	local cmd="$CNT"'; cat'
	pk_in <(printf 'A\n') run --no-stdin sh -c "$cmd"
	assert_status 0
	assert_out 'A\n'
	pk_in <(printf 'B\n') run --no-stdin sh -c "$cmd"
	assert_out 'A\n'
	assert_err ''
	assert_count 1
}

@test "stdin over --stdin-limit runs uncached with all its bytes" {
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 40)' >"$TMP/in"
	local cmd="$CNT"'; cat >"$TMP/got"; echo ok'
	pk_in <(cat "$TMP/in") run --stdin-limit 1K sh -c "$cmd"
	assert_status 0
	assert_out 'ok\n'
	assert_same "$TMP/in" "$TMP/got" 'stdin seen by the command'
	pk_in <(cat "$TMP/in") run --stdin-limit 1K sh -c "$cmd"
	assert_status 0
	assert_out 'ok\n'
	assert_same "$TMP/in" "$TMP/got" 'stdin seen by the command'
	assert_count 2
	# one notice of pickled's own that names the reason
	assert_lines "$TMP/io/err" 1
	assert_match "$TMP/io/err" '^pickled: .*stdin'
}

@test "stdin that the cache cannot hold (ulimit -f) still reaches the command whole" {
	seq 1 200000 >"$TMP/in"
	# The limit binds the command too: it only sums what it reads.
	local cmd="$CNT"'; md5sum'
	status=0
	cat "$TMP/in" | (ulimit -f 100; exec "$PK" run sh -c "$cmd" >"$TMP/io/out" 2>"$TMP/io/err" 3>&-) ||
		status=$?
	assert_status 0
	assert_out '%s\n' "$(md5sum <"$TMP/in")"
	assert_err 'pickled: running uncached: cannot keep stdin: File too large\n'
	assert_count 1
	[ -z "$(entries)" ]
}

@test "a regular file on stdin over --stdin-limit runs uncached too, read from its offset" {
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 40)' >"$TMP/in"
	local cmd="$CNT"'; cat >"$TMP/got"; echo ok'
	local i
	for i in 1 2; do
		pk_in "$TMP/in" run --stdin-limit 1K sh -c "$cmd"
		assert_status 0
		assert_out 'ok\n'
		assert_err 'pickled: running uncached: stdin is larger than 1.0K\n'
		assert_same "$TMP/in" "$TMP/got" 'stdin seen by the command'
	done
	assert_count 2
	[ -z "$(entries)" ]
	# From where the caller left the offset: 10000 bytes left are over 1K,
	# 1000 are not.
	tail -c 1000 "$TMP/in" >"$TMP/tail"
	for i in 1 2; do
		{ head -c 9240 >/dev/null; "$PK" run --stdin-limit 1K sh -c "$cmd" >"$TMP/io/out" 2>"$TMP/io/err" 3>&-; } <"$TMP/in"
		assert_out 'ok\n'
		assert_err ''
	done
	assert_same "$TMP/tail" "$TMP/got" 'stdin seen by the command'
	assert_count 3
}

@test "./job in two folders are two programs, even with the same size and mtime" {
	mkdir "$TMP/a" "$TMP/b"
	printf '#!/bin/sh\necho AAA\n' >"$TMP/a/job"
	printf '#!/bin/sh\necho BBB\n' >"$TMP/b/job"
	chmod +x "$TMP/a/job" "$TMP/b/job"
	touch -d @1577836800 "$TMP/a/job" "$TMP/b/job"
	cd "$TMP/a"
	pk run ./job
	assert_out 'AAA\n'
	cd "$TMP/b"
	pk run ./job
	assert_status 0
	assert_out 'BBB\n'
	PATH=.:$PATH pk run --explain job
	assert_out 'BBB\n'
	grep -qx "pickled:   program $(pwd -P)/job size 19 mtime 1577836800.000000000" "$TMP/io/err"
	cd "$TMP/a"
	pk run ./job
	assert_out 'AAA\n'
}

@test "stdin, stdout or stderr left closed: /dev/null stands in, nothing else is used" {
	local cmd="$CNT"'; cat; printf "out\n"; printf "err\n" >&2'
	status=0
	# (-k: an empty stdin keys as none, and this run must not be the one
	# the runs below replay)
	"$PK" run --stdin -k stdin-closed sh -c "$cmd" <&- >"$TMP/io/out" 2>"$TMP/io/err" 3>&- || status=$?
	assert_status 0
	assert_out 'out\n'
	assert_err 'err\n'
	status=0
	"$PK" run sh -c "$cmd" </dev/null >&- 2>"$TMP/io/err" 3>&- || status=$?
	assert_status 0
	assert_err 'err\n'
	status=0
	"$PK" run sh -c "$cmd" </dev/null >"$TMP/io/out" 2>&- 3>&- || status=$?
	assert_status 0
	assert_out 'out\n'
	# The entry holds the command's output, whole: a hit replays it.
	pk run sh -c "$cmd"
	assert_status 0
	assert_out 'out\n'
	assert_err 'err\n'
	assert_count 2
	pk verify
	assert_status 0
	assert_out ''
}

# --- expiry ------------------------------------------------------------------------

@test "--ttl is the caller's requirement: an older entry is a miss" {
	local cmd="$CNT"'; wc -l <"$TMP/count" | tr -d " "'
	pk run sh -c "$cmd"
	assert_out '1\n'
	sleep 2
	pk run --ttl 1h sh -c "$cmd"
	assert_out '1\n'
	assert_count 1
	pk run --ttl 1s --explain sh -c "$cmd"
	assert_status 0
	assert_out '2\n'
	grep -q '^pickled: miss (expired, age ' "$TMP/io/err"
	assert_count 2
	pk run sh -c "$cmd"
	assert_out '2\n'
	assert_err ''
	assert_count 2
}

@test "an entry stored with a short ttl serves a caller allowing more" {
	pk run --ttl 1s sh -c "$CNT; echo hi"
	pk run sh -c "$CNT; echo hi"
	assert_out 'hi\n'
	pk run --ttl forever sh -c "$CNT; echo hi"
	assert_out 'hi\n'
	pk run --ttl 1h sh -c "$CNT; echo hi"
	assert_status 0
	assert_out 'hi\n'
	assert_err ''
	assert_count 1
}

@test "--stale replays the old result and refreshes it in the background" {
	local cmd="$CNT"'; wc -l <"$TMP/count" | tr -d " "'
	# A window of 3 s: under valgrind a run takes about 0.5 s, and the
	# refreshed entry must still be fresh at the last run below.
	pk run --ttl 1h --stale 3s sh -c "$cmd"
	assert_out '1\n'
	sleep 3.3
	pk run --ttl 1h --stale 3s sh -c "$cmd"
	assert_status 0
	assert_out '1\n'
	assert_err ''
	refreshed() {
		pk run --ttl 1h sh -c "$cmd"
		[ "$(cat "$TMP/io/out")" = 2 ]
	}
	poll 5 refreshed
	assert_count 2
	pk run --ttl 1h --stale 3s sh -c "$cmd"
	assert_out '2\n'
	assert_err ''
	assert_count 2
}

# --- concurrency and crashes --------------------------------------------------------

@test "16 identical runs at once run the command once" {
	local cmd='sleep 1; '"$CNT"'; echo out; echo err >&2'
	local i pids=()
	for i in $(seq 1 16); do
		"$PK" run sh -c "$cmd" </dev/null >"$TMP/io/out.$i" 2>"$TMP/io/err.$i" 3>&- &
		pids+=("$!")
		BG_PIDS+=("$!")
	done
	local failed=0
	for i in $(seq 1 16); do
		status=0
		wait "${pids[$((i - 1))]}" || status=$?
		if [ "$status" != 0 ]; then
			echo "run $i exited $status"
			failed=1
		fi
	done
	[ "$failed" = 0 ]
	assert_count 1
	for i in $(seq 1 16); do
		assert_bytes "$TMP/io/out.$i" 'out\n'
		assert_bytes "$TMP/io/err.$i" 'err\n'
	done
}

@test "identical runs at once replay a stored failure with its status" {
	local cmd='sleep 1; '"$CNT"'; echo out; echo err >&2; exit 3'
	local i pids=() st=()
	for i in 1 2 3 4; do
		"$PK" run --cache-failures sh -c "$cmd" </dev/null >"$TMP/io/out.$i" 2>"$TMP/io/err.$i" 3>&- &
		pids+=("$!")
		BG_PIDS+=("$!")
	done
	for i in 1 2 3 4; do
		status=0
		wait "${pids[$((i - 1))]}" || status=$?
		st+=("$status")
	done
	[ "${st[*]}" = "3 3 3 3" ]
	assert_count 1
	for i in 1 2 3 4; do
		assert_bytes "$TMP/io/out.$i" 'out\n'
		assert_bytes "$TMP/io/err.$i" 'err\n'
	done
}

@test "different keys never wait for each other" {
	local cmd='sleep ${PK_T_SLEEP:-0}; '"$CNT"'; echo hi'
	PK_T_SLEEP=5 "$PK" run -k slow sh -c "$cmd" </dev/null >/dev/null 2>&1 3>&- &
	local slow=$!
	BG_PIDS+=("$slow")
	sleep 0.2
	local t0
	t0=$(now_ms)
	pk run -k fast sh -c "$cmd"
	assert_status 0
	assert_out 'hi\n'
	# Waiting would take the slow run's 5 s.
	[ $(($(now_ms) - t0)) -lt 4000 ]
	wait "$slow"
	assert_count 2
}

@test "kill -9 of pickled during a miss leaves nothing that replays" {
	local cmd="$CNT"'; echo out; if [ -e "$TMP/slow" ]; then echo $$ >"$TMP/cmdpid"; exec sleep 30; fi'
	touch "$TMP/slow"
	"$PK" run sh -c "$cmd" </dev/null >/dev/null 2>&1 3>&- &
	local pid=$!
	BG_PIDS+=("$pid")
	poll 5 test -s "$TMP/cmdpid"
	BG_PIDS+=("$(cat "$TMP/cmdpid")")
	kill -9 "$pid"
	wait "$pid" || true
	kill -9 "$(cat "$TMP/cmdpid")" 2>/dev/null || true
	rm "$TMP/slow"
	[ -z "$(entries)" ]
	pk run sh -c "$cmd"
	assert_status 0
	assert_out 'out\n'
	assert_err ''
	assert_count 2
	pk run sh -c "$cmd"
	assert_out 'out\n'
	assert_count 2
}

# flip_middle FILE: inverts the byte in the middle of FILE.
flip_middle() {
	python3 - "$1" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0xff
open(p, 'wb').write(bytes(b))
EOF
}

# check_corrupt_recovery: the entry was damaged; the next run re-runs with one
# warning, the one after is a clean hit.
check_corrupt_recovery() {
	local cmd=$1 name=$2
	pk run sh -c "$cmd"
	assert_status 0
	assert_out 'payload\n'
	assert_count 2
	assert_lines "$TMP/io/err" 1
	assert_match "$TMP/io/err" '^pickled: corrupt cache entry [0-9a-f]{12} \(.+\), running the command$'
	grep -q "^pickled: corrupt cache entry ${name:0:12} " "$TMP/io/err"
	pk run sh -c "$cmd"
	assert_status 0
	assert_out 'payload\n'
	assert_err ''
	assert_count 2
}

@test "a corrupted entry is detected, re-run and replaced" {
	local cmd="$CNT"'; echo payload'
	pk run sh -c "$cmd"
	assert_out 'payload\n'
	local entry
	entry=$(entries)
	[ -n "$entry" ] && [ "$(printf '%s\n' "$entry" | wc -l)" = 1 ]
	flip_middle "$entry"
	check_corrupt_recovery "$cmd" "$(basename "$entry")"
}

@test "a truncated entry is detected, re-run and replaced" {
	local cmd="$CNT"'; echo payload'
	pk run sh -c "$cmd"
	local entry
	entry=$(entries)
	[ -n "$entry" ]
	truncate -s 40 "$entry"
	check_corrupt_recovery "$cmd" "$(basename "$entry")"
}

@test "an entry whose last byte is flipped is detected" {
	local cmd="$CNT"'; echo payload'
	pk run sh -c "$cmd"
	local entry
	entry=$(entries)
	python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[-1]^=1; open(p,"wb").write(bytes(b))' "$entry"
	check_corrupt_recovery "$cmd" "$(basename "$entry")"
}

# --- an unusable cache ---------------------------------------------------------------

# as_nobody_twice DIR WARNING_ERE: runs a failing command twice as nobody with
# cache DIR; each time its output and status are intact and stderr holds its
# own line plus exactly one warning matching WARNING_ERE.
as_nobody_twice() {
	local dir=$1 ere=$2 i
	cp "$PK" "$TMP/pickled"
	chmod 0755 "$TMP" "$TMP/pickled"
	mkdir -p "$TMP/w"
	chmod 0777 "$TMP/w"
	rm -f "$TMP/w/count"
	local cmd='echo x >>"$TMP/w/count"; echo out; echo err >&2; exit 3'
	for i in 1 2; do
		status=0
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$TMP/pickled" -C "$dir" run sh -c "$cmd" \
			</dev/null >"$TMP/io/out" 2>"$TMP/io/err" 3>&- || status=$?
		assert_status 3
		assert_out 'out\n'
		assert_lines "$TMP/io/err" 2
		[ "$(grep -cx 'err' "$TMP/io/err")" = 1 ]
		grep -v -x 'err' "$TMP/io/err" >"$TMP/io/warning"
		assert_match "$TMP/io/warning" "$ere"
	done
	[ "$(wc -l <"$TMP/w/count")" = 2 ]
}

@test "a cache dir the user cannot write: the command runs, one warning" {
	mkdir -m 0500 "$TMP/cache"
	chown nobody:nogroup "$TMP/cache"
	as_nobody_twice "$TMP/cache" \
		"^pickled: cache unavailable, running uncached: $TMP/cache[^:]*: Permission denied\$"
	[ -z "$(find "$TMP/cache" -mindepth 1 -print -quit)" ]
}

@test "a cache dir that cannot be created: the command runs, one warning" {
	mkdir -m 0755 "$TMP/ro"
	as_nobody_twice "$TMP/ro/cache" \
		"^pickled: cache unavailable, running uncached: $TMP/ro/cache[^:]*: Permission denied\$"
	[ ! -e "$TMP/ro/cache" ]
}

@test "a cache dir owned by another user is refused: the command runs, one warning" {
	mkdir -m 0755 "$TMP/cache"
	as_nobody_twice "$TMP/cache" \
		"^pickled: cache unavailable, running uncached: $TMP/cache: "
	[ -z "$(find "$TMP/cache" -mindepth 1 -print -quit)" ]
}

@test "a cache dir below a regular file: the command runs, one warning" {
	: >"$TMP/file"
	local i
	for i in 1 2; do
		pk -C "$TMP/file/cache" run sh -c "$CNT; echo out; exit 4"
		assert_status 4
		assert_out 'out\n'
		assert_lines "$TMP/io/err" 1
		assert_match "$TMP/io/err" "^pickled: cache unavailable, running uncached: $TMP/file/cache[^:]*: Not a directory\$"
	done
	assert_count 2
}

# --- declared output files --------------------------------------------------------

@test "--output: the file is restored on a hit with its bytes and mode" {
	local cmd="$CNT"'; printf "data\000\377\n" >out.bin; chmod 0640 out.bin; echo done'
	pk run -o out.bin sh -c "$cmd"
	assert_status 0
	assert_out 'done\n'
	assert_err ''
	assert_bytes out.bin 'data\000\377\n'
	[ "$(stat -c %a out.bin)" = 640 ]
	rm out.bin
	pk run -o out.bin sh -c "$cmd"
	assert_status 0
	assert_out 'done\n'
	assert_err ''
	assert_count 1
	assert_bytes out.bin 'data\000\377\n'
	[ "$(stat -c %a out.bin)" = 640 ]
	printf 'garbage, longer than the original\n' >out.bin
	pk run --output out.bin sh -c "$cmd"
	assert_count 1
	assert_bytes out.bin 'data\000\377\n'
}

@test "--output: several files, in a subdirectory" {
	mkdir sub
	local cmd="$CNT"'; printf a >sub/a; printf bb >b; echo done'
	pk run -o sub/a -o b sh -c "$cmd"
	assert_out 'done\n'
	rm sub/a b
	pk run -o sub/a -o b sh -c "$cmd"
	assert_status 0
	assert_out 'done\n'
	assert_count 1
	assert_bytes sub/a 'a'
	assert_bytes b 'bb'
}

@test "--output not produced: the result is not stored, with a warning" {
	local i
	for i in 1 2; do
		pk run -o missing.txt sh -c "$CNT; echo out"
		assert_status 0
		assert_out 'out\n'
		assert_err 'pickled: result not stored: output not produced: missing.txt\n'
	done
	assert_count 2
	[ -z "$(entries)" ]
}

@test "--output with a name of 250 bytes is restored on a hit" {
	local name
	name=$(printf 'n%.0s' $(seq 246)).txt
	local cmd="$CNT"'; printf "%s\n" "$(wc -l <"$TMP/count")" >"$1"; echo ran'
	pk run -o "$name" sh -c "$cmd" sh "$name"
	assert_out 'ran\n'
	rm "$name"
	pk run -o "$name" sh -c "$cmd" sh "$name"
	assert_status 0
	assert_out 'ran\n'
	assert_err ''
	assert_bytes "$name" '1\n'
	assert_count 1
	[ -z "$(ls -A | grep -v "^$name\$")" ]
}

@test "--output that is a FIFO: not stored, said so, and no hang" {
	mkfifo fifo
	status=0
	timeout 10 "$PK" run -o fifo sh -c "$CNT; echo out" </dev/null >"$TMP/io/out" 2>"$TMP/io/err" 3>&- ||
		status=$?
	assert_status 0
	assert_out 'out\n'
	assert_err 'pickled: result not stored: output is not a regular file or directory: fifo\n'
	assert_count 1
	[ -z "$(entries)" ]
}

# --- background modes -------------------------------------------------------------

@test "--warm returns at once, prints nothing, and stores the result" {
	local cmd='sleep 5; '"$CNT"'; echo out; echo err >&2'
	local t0
	t0=$(now_ms)
	pk run --warm sh -c "$cmd"
	# Not waiting for the command's 5 s (loose for valgrind).
	[ $(($(now_ms) - t0)) -lt 4000 ]
	assert_status 0
	assert_out ''
	assert_err ''
	poll 15 has_entries
	pk run sh -c "$cmd"
	assert_status 0
	assert_out 'out\n'
	assert_err 'err\n'
	assert_count 1
}

@test "--warm and a stale refresh run on a copy of a stdin file, not on what it becomes" {
	local cmd="$CNT"'; sleep 1; tr a-z A-Z'
	printf 'aaaa\n' >"$TMP/in"
	pk_in "$TMP/in" run --warm sh -c "$cmd"
	assert_status 0
	assert_err ''
	# The caller goes on and reuses its file while the warm run sleeps.
	printf 'bbbb\n' >"$TMP/in"
	poll 15 eval '[ -n "$(entries)" ]'
	printf 'aaaa\n' >"$TMP/in"
	pk_in "$TMP/in" run sh -c "$cmd"
	assert_out 'AAAA\n'
	assert_count 1
	# A stale hit's refresh, the same.
	sleep 1.2
	pk_in "$TMP/in" run --ttl 1h --stale 1s sh -c "$cmd"
	assert_out 'AAAA\n'
	printf 'cccc\n' >"$TMP/in"
	poll 15 eval '[ "$(count)" = 2 ]'
	sleep 1.5
	printf 'aaaa\n' >"$TMP/in"
	pk_in "$TMP/in" run --ttl 1h sh -c "$cmd"
	assert_out 'AAAA\n'
	assert_count 2
}

@test "--warm of a failing command stores nothing and still exits 0" {
	pk run --warm sh -c "$CNT; exit 5"
	assert_status 0
	assert_out ''
	assert_err ''
	poll 5 test -s "$TMP/count"
	sleep 0.3
	[ -z "$(entries)" ]
}

# --- environment and cache location ------------------------------------------------

@test "PICKLED_DISABLE=1 runs the command directly every time" {
	local i
	for i in 1 2; do
		PICKLED_DISABLE=1 pk run sh -c "$CNT; echo out; echo err >&2; exit 2"
		assert_status 2
		assert_out 'out\n'
		assert_err 'err\n'
	done
	PICKLED_DISABLE=1 pk run sh -c "$CNT; echo out"
	PICKLED_DISABLE=1 pk run sh -c "$CNT; echo out"
	assert_status 0
	assert_out 'out\n'
	assert_count 4
	[ ! -e "$TMP/cache" ]
}

@test "PICKLED_DISABLE takes the booleans every variable takes" {
	local v
	for v in yes true ON 1; do
		PICKLED_DISABLE=$v pk run sh -c "$CNT; echo out"
		assert_status 0
		assert_out 'out\n'
		assert_err ''
	done
	assert_count 4
	[ ! -e "$TMP/cache" ]
	# false, no, off, 0 and empty leave the cache on: one run, then hits
	for v in no FALSE off 0 ''; do
		PICKLED_DISABLE=$v pk run sh -c "$CNT; echo out"
		assert_status 0
		assert_out 'out\n'
		assert_err ''
	done
	assert_count 5
}

@test "a bad PICKLED_DISABLE is a configuration error: the command runs uncached" {
	PICKLED_DISABLE=maybe pk run sh -c "$CNT; echo out; exit 3"
	assert_status 3
	assert_out 'out\n'
	assert_err '%s\n' \
		"pickled: invalid value for PICKLED_DISABLE: 'maybe' (expected true or false)" \
		"pickled: running uncached: the configuration has errors"
	[ -z "$(entries)" ]
	PICKLED_DISABLE=maybe pk key echo hi
	assert_status 1
	assert_out ''
	assert_err "pickled: invalid value for PICKLED_DISABLE: 'maybe' (expected true or false)\n"
}

@test "--explain prints the key and the decision on stderr" {
	pk run --explain -k ns sh -c "$CNT; echo out"
	assert_status 0
	assert_out 'out\n'
	head -n 1 "$TMP/io/err" >"$TMP/io/key1"
	assert_match "$TMP/io/key1" '^pickled: key [0-9a-f]{32}$'
	assert_match "$TMP/io/err" '^pickled: '
	grep -qxF "pickled:   argv[0] 'sh'" "$TMP/io/err"
	grep -qxF "pickled:   key text 'ns'" "$TMP/io/err"
	grep -qx 'pickled:   program /[^ ]*sh size [0-9]* mtime [0-9.]*' "$TMP/io/err"
	grep -E '^pickled: (hit|miss|stale)' "$TMP/io/err" >"$TMP/io/decision"
	assert_bytes "$TMP/io/decision" 'pickled: miss (no entry)\n'
	pk run --explain -k ns sh -c "$CNT; echo out"
	assert_status 0
	assert_out 'out\n'
	head -n 1 "$TMP/io/err" >"$TMP/io/key2"
	assert_same "$TMP/io/key1" "$TMP/io/key2" 'key line'
	grep -E '^pickled: (hit|miss|stale)' "$TMP/io/err" >"$TMP/io/decision"
	assert_lines "$TMP/io/decision" 1
	assert_match "$TMP/io/decision" '^pickled: hit \(age [0-9]+(ms|s)\)$'
	pk run --explain --force -k ns sh -c "$CNT; echo out"
	grep -E '^pickled: (hit|miss|stale)' "$TMP/io/err" >"$TMP/io/decision"
	assert_bytes "$TMP/io/decision" 'pickled: miss (forced)\n'
	assert_count 2
}

@test "--explain: the key names the hashed file in the cache" {
	pk run --explain sh -c "$CNT; echo out"
	local key
	key=$(sed -n 's/^pickled: key //p' "$TMP/io/err")
	[ "$(entries)" = "$TMP/cache/v1/${key:0:2}/$key" ]
}

@test "the cache dir is created 0700 and entries 0600, whatever the umask" {
	(
		umask 0
		pk run sh -c "$CNT; echo out"
		assert_status 0
	)
	[ "$(stat -c %a "$TMP/cache")" = 700 ]
	local n=0 e
	for e in $(entries); do
		[ "$(stat -c %a "$e")" = 600 ]
		n=$((n + 1))
	done
	[ "$n" = 1 ]
}

@test "-C overrides PICKLED_CACHE_DIR" {
	pk -C "$TMP/other" run sh -c "$CNT; echo out"
	assert_status 0
	assert_out 'out\n'
	has_entries "$TMP/other"
	[ -z "$(entries)" ]
	pk --cache-dir "$TMP/other" run sh -c "$CNT; echo out"
	assert_count 1
	pk run sh -c "$CNT; echo out"
	assert_out 'out\n'
	assert_count 2
	has_entries
}

@test "without PICKLED_CACHE_DIR: XDG_CACHE_HOME, then HOME/.cache" {
	unset PICKLED_CACHE_DIR
	mkdir "$TMP/xdg"
	XDG_CACHE_HOME=$TMP/xdg HOME=$TMP/home pk run sh -c "$CNT; echo out"
	assert_status 0
	has_entries "$TMP/xdg/pickled"
	[ ! -e "$TMP/home/.cache" ]
	mkdir "$TMP/home/.cache"
	HOME=$TMP/home pk run sh -c "$CNT; echo out"
	assert_status 0
	assert_out 'out\n'
	has_entries "$TMP/home/.cache/pickled"
	assert_count 2
}

@test "a missing ~/.cache is created" {
	unset PICKLED_CACHE_DIR
	HOME=$TMP/home pk run sh -c "$CNT; echo out"
	assert_status 0
	assert_out 'out\n'
	assert_err ''
	has_entries "$TMP/home/.cache/pickled"
	[ "$(stat -c %a "$TMP/home/.cache/pickled")" = 700 ]
}

@test "root with another user's HOME creates nothing in it: uncached, one warning" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	unset PICKLED_CACHE_DIR
	local h=$TMP/userhome uid
	mkdir "$h"
	chown nobody "$h"
	uid=$(id -u nobody)
	local i
	for i in 1 2; do
		HOME=$h pk run sh -c "$CNT; echo out"
		assert_status 0
		assert_out 'out\n'
		# One line, naming the cache and the other user (whichever of
		# the folders on the way is checked first).
		assert_lines "$TMP/io/err" 1
		assert_match "$TMP/io/err" "^pickled: cache unavailable, running uncached: $h/\\.cache/pickled: .*owned by another user \\(uid $uid\\).*\$"
	done
	assert_count 2
	[ -z "$(ls -A "$h")" ]
	# The user's own ~/.cache, there already: nothing is created in it either.
	mkdir "$h/.cache"
	chown nobody "$h/.cache"
	HOME=$h pk run sh -c "$CNT; echo out"
	assert_out 'out\n'
	assert_lines "$TMP/io/err" 1
	assert_match "$TMP/io/err" "^pickled: cache unavailable, running uncached: $h/\\.cache/pickled: .*owned by another user \\(uid $uid\\).*\$"
	[ -z "$(ls -A "$h/.cache")" ]
}

# --- a reader that goes away --------------------------------------------------------

@test "a hit replayed into pipes is byte-identical and in order" {
	seq 1 300000 >"$TMP/seq"
	local cmd="$CNT"'; seq 1 300000; sleep 0.1; echo mid >&2; sleep 0.1; echo end'
	printf 'mid\nend\n' >>"$TMP/seq"
	local i
	for i in 1 2; do
		"$PK" run sh -c "$cmd" </dev/null 2>&1 3>&- | cat >"$TMP/io/out"
		status=${PIPESTATUS[0]}
		assert_status 0
		assert_same "$TMP/seq" "$TMP/io/out"
	done
	assert_count 1
}

@test "a stream that cannot be written costs the other nothing, miss and hit" {
	[ -w /dev/full ] || skip "no /dev/full"
	local cmd="$CNT"'; printf "err1\n" >&2; sleep 0.1; printf "out\n"; sleep 0.1; printf "err2\n" >&2; exit 3'
	local i
	for i in miss hit; do
		status=0
		"$PK" run --cache-failures sh -c "$cmd" </dev/null >"$TMP/io/out" 2>/dev/full 3>&- || status=$?
		assert_status 3
		assert_out 'out\n'
	done
	assert_count 1
	cmd="$CNT"'; printf "out1\n"; sleep 0.1; printf "err\n" >&2; sleep 0.1; printf "out2\n"; exit 4'
	status=0
	"$PK" run --cache-failures sh -c "$cmd" </dev/null >/dev/full 2>"$TMP/io/err" 3>&- || status=$?
	assert_status 4
	assert_err 'err\npickled: cannot write output: No space left on device\n'
	status=0
	"$PK" run --cache-failures sh -c "$cmd" </dev/null >/dev/full 2>"$TMP/io/err" 3>&- || status=$?
	assert_status 4
	assert_err 'err\npickled: cannot replay output: cannot write output: No space left on device\n'
	assert_count 2
}

@test "a reader that leaves stdout (| head) costs stderr nothing; a miss returns the command's status" {
	local cmd="$CNT"'; seq 1 200000; echo done-err >&2; exit 0'
	local i st
	for i in 1 2; do
		"$PK" run sh -c "$cmd" </dev/null 2>"$TMP/io/err" 3>&- | head -n 1 >"$TMP/io/head"
		st=${PIPESTATUS[0]}
		[ "$st" = 0 ]
		assert_bytes "$TMP/io/head" '1\n'
		assert_err 'done-err\n'
	done
	# Cut short, the output was not stored: each run was a miss.
	assert_count 2
	[ -z "$(entries)" ]
	pk run sh -c "$cmd"
	assert_status 0
	# A hit replays all of stderr, then ends as a SIGPIPE'd producer would.
	"$PK" run sh -c "$cmd" </dev/null 2>"$TMP/io/err" 3>&- | head -n 1 >"$TMP/io/head"
	st=${PIPESTATUS[0]}
	[ "$st" = 141 ]
	assert_bytes "$TMP/io/head" '1\n'
	assert_err 'done-err\n'
	assert_count 3
}

@test "a hit piped into 'head -c 1' ends at once and quietly" {
	pk run seq 1 2000000
	assert_status 0
	[ "$(wc -c <"$TMP/io/out")" -gt 10000000 ]
	local t0 st
	t0=$(now_ms)
	timeout 10 "$PK" run seq 1 2000000 </dev/null 2>"$TMP/io/err" 3>&- | head -c 1 >"$TMP/io/head"
	st=${PIPESTATUS[0]}
	[ "$st" != 124 ]
	assert_bytes "$TMP/io/head" '1'
	assert_err ''
	[ $(($(now_ms) - t0)) -lt 5000 ]
}

@test "a stream that cannot be written makes a successful run exit 1, miss and hit; the result is stored" {
	[ -w /dev/full ] || skip "no /dev/full"
	local cmd="$CNT"'; printf "out\n"; printf "err\n" >&2'
	status=0
	"$PK" run sh -c "$cmd" </dev/null >/dev/full 2>"$TMP/io/err" 3>&- || status=$?
	assert_status 1
	assert_err 'err\npickled: cannot write output: No space left on device\n'
	status=0
	"$PK" run sh -c "$cmd" </dev/null >/dev/full 2>"$TMP/io/err" 3>&- || status=$?
	assert_status 1
	assert_err 'err\npickled: cannot replay output: cannot write output: No space left on device\n'
	# The miss captured the result whole and stored it.
	assert_count 1
	pk run sh -c "$cmd"
	assert_status 0
	assert_out 'out\n'
	assert_err 'err\n'
	assert_count 1
	# stderr that cannot be written: stdout still gets every byte.
	status=0
	"$PK" run sh -c "$cmd" </dev/null >"$TMP/io/out" 2>/dev/full 3>&- || status=$?
	assert_status 1
	assert_out 'out\n'
}

@test "a result larger than max_size is not stored, counted, and the other entries stay" {
	pk run sh -c 'echo a'
	pk run sh -c 'echo b'
	[ "$(entries | wc -l)" = 2 ]
	head -c 300000 /dev/urandom >"$TMP/big"
	local i
	for i in 1 2; do
		PICKLED_MAX_SIZE=200K pk run sh -c "$CNT; cat '$TMP/big'"
		assert_status 0
		assert_same "$TMP/big" "$TMP/io/out"
		assert_match "$TMP/io/err" '^pickled: result not stored: [0-9]+ bytes is more than max_size 204800$'
		assert_lines "$TMP/io/err" 1
	done
	assert_count 2
	[ "$(entries | wc -l)" = 2 ]
	pk run sh -c 'echo a'
	assert_out 'a\n'
	pk stats
	grep -qx 'store failures   2' "$TMP/io/out"
}

@test "max_entry: the temporary is gone while the command still runs, output whole" {
	head -c 8000000 /dev/urandom >"$TMP/big"
	mkfifo "$TMP/fifo"
	PICKLED_MAX_ENTRY=100K "$PK" run sh -c "$CNT; cat '$TMP/big'; read x <'$TMP/fifo'; echo end" \
		</dev/null >"$TMP/io/out" 2>"$TMP/io/err" 3>&- &
	BG_PIDS+=($!)
	local pid=$!
	big_out() { [ "$(wc -c <"$TMP/io/out")" -ge 8000000 ]; }
	poll 20 big_out
	# The command is still running, blocked on the FIFO: nothing of its
	# entry is left in the cache (8 MB is past what zstd's workers hold
	# back before they write).
	[ -z "$(find "$TMP/cache/tmp" -type f)" ]
	echo go >"$TMP/fifo"
	status=0
	wait "$pid" || status=$?
	assert_status 0
	{ cat "$TMP/big"; echo end; } >"$TMP/io/expected"
	assert_same "$TMP/io/expected" "$TMP/io/out"
	assert_match "$TMP/io/err" '^pickled: result not stored: [0-9]+ bytes is more than max_entry 102400$'
	assert_lines "$TMP/io/err" 1
	[ -z "$(entries)" ]
	# Below the limit, the same result is stored.
	echo go >"$TMP/fifo" &
	PICKLED_MAX_ENTRY=9M pk run sh -c "$CNT; cat '$TMP/big'; read x <'$TMP/fifo'; echo end"
	assert_status 0
	assert_err ''
	[ "$(entries | wc -l)" = 1 ]
}

@test "--input rewritten while the command runs: not stored, said once, --explain names it" {
	printf 'a,b\n' >export.csv
	# A writer truncates and rewrites the input, same final content, while
	# the command runs.
	local rewrite="$CNT; cat export.csv; : >export.csv; printf 'a,b\\n' >export.csv"
	local i
	for i in 1 2; do
		pk run -i export.csv sh -c "$rewrite"
		assert_status 0
		assert_out 'a,b\n'
		assert_err 'pickled: result not stored: input changed during the run: export.csv\n'
	done
	assert_count 2
	[ -z "$(entries)" ]
	pk run --explain -i export.csv sh -c "$rewrite"
	grep -qx 'pickled: not stored: input changed during the run: export.csv' "$TMP/io/err"
	# Left alone during the run, the same input is stored, then replayed.
	pk run -i export.csv sh -c "$CNT; cat export.csv"
	assert_err ''
	pk run -i export.csv sh -c "$CNT; cat export.csv"
	assert_out 'a,b\n'
	assert_err ''
	assert_count 4
	pk stats
	grep -qx 'store failures   3' "$TMP/io/out"
}

@test "--input that is also an --output may change during the run" {
	printf 'v1\n' >state
	pk run -i state -o state sh -c "$CNT; printf 'v2\\n' >state"
	assert_status 0
	assert_err ''
	[ "$(entries | wc -l)" = 1 ]
}

# clockshift: builds tests/clockshift.c, an LD_PRELOAD library that moves
# one process's wall clock by PK_TEST_CLOCK_SHIFT seconds.
clockshift() {
	cc -shared -fPIC -o "$TMP/clockshift.so" "$BATS_TEST_DIRNAME/../clockshift.c" -ldl ||
		skip "cannot build clockshift.c"
}

@test "an entry created while the clock was ahead is expired, not fresh until the clock catches up" {
	clockshift
	# Stored during a 30-day clock jump, with a 1h ttl.
	LD_PRELOAD=$TMP/clockshift.so PK_TEST_CLOCK_SHIFT=2592000 pk run -t 1h sh -c "$CNT; echo x"
	assert_status 0
	assert_count 1
	pk run --explain -t 1h sh -c "$CNT; echo x"
	assert_out 'x\n'
	assert_count 2
	grep -qx 'pickled: miss (expired: created in the future, the clock was ahead)' "$TMP/io/err"
	# The run replaced it: a hit now.
	pk run -t 1h sh -c "$CNT; echo x"
	assert_count 2
	# Whatever the ttl, forever included.
	LD_PRELOAD=$TMP/clockshift.so PK_TEST_CLOCK_SHIFT=2592000 pk run -t forever sh -c "$CNT; echo y"
	pk run -t forever sh -c "$CNT; echo y"
	assert_count 4
	# A few seconds ahead is another clock's skew, not a jump: still a hit.
	LD_PRELOAD=$TMP/clockshift.so PK_TEST_CLOCK_SHIFT=20 pk run -t 1h sh -c "$CNT; echo z"
	pk run -t 1h sh -c "$CNT; echo z"
	assert_out 'z\n'
	assert_count 5
}

@test "gc and ls count an entry created in the future as expired" {
	clockshift
	LD_PRELOAD=$TMP/clockshift.so PK_TEST_CLOCK_SHIFT=2592000 pk run -t forever sh -c "$CNT; echo x"
	pk run -t forever sh -c "echo kept"
	pk gc -v
	assert_status 0
	grep -q 'expired' "$TMP/io/out"
	[ "$(entries | wc -l)" = 1 ]
	pk run -t forever sh -c "echo kept"
	assert_out 'kept\n'
}

@test "a run longer than its ttl: the runs that waited for it take its result; one warning" {
	local cmd="$CNT; while [ ! -e '$TMP/go' ]; do sleep 0.05; done; sleep 1.2; echo done"
	pk_bg 1 run -t 1s sh -c "$cmd"
	local p1=$BG
	started() { [ "$(count)" = 1 ]; }
	poll 20 started
	pk_bg 2 run --explain -t 1s sh -c "$cmd"
	local p2=$BG
	pk_bg 3 run --explain -t 1s sh -c "$cmd"
	local p3=$BG
	waiting() {
		grep -q 'waiting for an identical run' "$TMP/io/2.err" &&
			grep -q 'waiting for an identical run' "$TMP/io/3.err"
	}
	poll 20 waiting
	touch "$TMP/go"
	wait "$p1" "$p2" "$p3"
	assert_count 1
	local i
	for i in 1 2 3; do
		assert_bytes "$TMP/io/$i.out" 'done\n'
	done
	assert_match "$TMP/io/1.err" '^pickled: the run took [0-9.]+s, longer than its ttl 1s: its result serves only the runs that waited for it$'
	assert_lines "$TMP/io/1.err" 1
	for i in 2 3; do
		grep -Eq '^pickled: hit \(waited for an identical run, which stored it: age [0-9.]+s, past the ttl\)$' "$TMP/io/$i.err"
	done
	# A run that did not wait finds it expired (age counts from the start).
	pk run -t 1s sh -c "$CNT; echo other"
	assert_count 2
}

@test "a stale hit with -o refreshes in the foreground: nothing rewrites the file after pickled returns" {
	# The command rewrites out.txt slowly, numbered by its run.
	local cmd="sleep 0.3; $CNT; n=\$(wc -l <'$TMP/count'); printf 'v%s\\n' \$n >out.txt; echo printed"
	pk run -t 1h -s 1s -o out.txt sh -c "$cmd"
	assert_out 'printed\n'
	assert_bytes out.txt 'v1\n'
	sleep 1.1   # the entry is now stale
	pk run --explain -t 1h -s 1s -o out.txt sh -c "$cmd"
	assert_status 0
	assert_out 'printed\n'
	grep -Eq '^pickled: miss \(stale, age [0-9.]+s: output files are declared, refreshing now\)$' "$TMP/io/err"
	# Done by the time pickled returned, by pickled itself.
	assert_count 2
	assert_bytes out.txt 'v2\n'
	# --warm with -o also runs in the foreground, printing nothing.
	pk run --warm -t 1h -o out.txt sh -c "$cmd"
	assert_status 0
	assert_out ''
	assert_err ''
	assert_count 3
	assert_bytes out.txt 'v3\n'
}

@test "--warm runs again even when a fresh result is stored" {
	pk run sh -c "$CNT; echo x"
	assert_count 1
	pk run --warm sh -c "$CNT; echo x"
	assert_status 0
	assert_out ''
	ran_twice() { [ "$(count)" = 2 ]; }
	poll 20 ran_twice
}

@test "10 stale hits at once start one refresh, and stats counts one" {
	local cmd="$CNT; sleep 0.5; echo x"
	pk run -t 1h -s 1s sh -c "$cmd"
	assert_count 1
	sleep 1.1   # stale now
	local i pids=()
	for i in 1 2 3 4 5 6 7 8 9 10; do
		"$PK" run -t 1h -s 1s sh -c "$cmd" </dev/null >"$TMP/io/$i.out" 2>"$TMP/io/$i.err" 3>&- &
		pids+=($!)
	done
	BG_PIDS+=("${pids[@]}")
	wait "${pids[@]}"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		assert_bytes "$TMP/io/$i.out" 'x\n'
	done
	refreshed() { [ "$(count)" = 2 ] && flock -n "$TMP/cache/locks/$(ls "$TMP/cache/locks" | head -n 1)" true; }
	poll 20 refreshed
	assert_count 2
	pk stats
	grep -qx 'stale refreshes  1' "$TMP/io/out"
	grep -qx 'hits             10' "$TMP/io/out"
}

@test "--cache-failures: a failed run that writes no -o file is not stored, and no warning" {
	local i
	for i in 1 2; do
		pk run --cache-failures -o out.txt sh -c "$CNT; echo failing >&2; exit 3"
		assert_status 3
		assert_out ''
		assert_err 'failing\n'
	done
	assert_count 2
	[ -z "$(entries)" ]
	pk run --explain --cache-failures -o out.txt sh -c "$CNT; echo failing >&2; exit 3"
	grep -qx 'pickled: not stored: the failed run produced no out.txt' "$TMP/io/err"
	# A successful run that does not write it is still said.
	pk run -o out.txt sh -c "$CNT; echo ok"
	assert_err 'pickled: result not stored: output not produced: out.txt\n'
}

@test "a failing --warm run leaves a trace: stats, show, and the entry it did not replace" {
	local cmd="$CNT; [ ! -e '$TMP/fail' ] || exit 4; echo ok"
	pk run sh -c "$cmd"
	assert_out 'ok\n'
	touch "$TMP/fail"
	pk run --warm sh -c "$cmd"
	assert_status 0
	assert_out ''
	assert_err ''
	failed() { "$PK" stats </dev/null 2>/dev/null | grep -qx 'failed refreshes 1'; }
	poll 20 failed
	assert_count 2
	local k
	k=$("$PK" key sh -c "$cmd" </dev/null)
	pk show "$k"
	assert_status 0
	grep -Eq '^refresh failed  status 4, [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} \(this entry was kept\)$' "$TMP/io/out"
	# The note is pickled's own: not a foreign file, not an entry.
	pk verify
	assert_status 0
	pk ls
	[ "$(grep -c . "$TMP/io/out")" -le 2 ]
	# The old result is still replayed.
	pk run sh -c "$cmd"
	assert_out 'ok\n'
	assert_count 2
	# A refresh that succeeds clears the trace.
	rm "$TMP/fail"
	pk run --force sh -c "$cmd"
	pk show "$k"
	if grep -q 'refresh failed' "$TMP/io/out"; then
		return 1
	fi
}

@test "-o in a folder the user cannot write: a hit rewrites the existing file in place" {
	[ "$(id -u)" = 0 ] || skip "needs root to drop privileges"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	chmod 0755 "$TMP" "$TMP/wd"
	chmod 0644 "$TMP/pickled.conf"
	cp "$PK" "$TMP/pickled"
	chmod 0755 "$TMP/pickled"
	# A folder of root's, where nobody can write the file but not create one.
	mkdir -m 0755 "$TMP/ro" "$TMP/nc"
	chown nobody "$TMP/nc"
	touch "$TMP/ro/out.txt" "$TMP/count"
	chown nobody "$TMP/ro/out.txt" "$TMP/count"
	local cmd="$CNT; printf 'v%s\\n' \$(wc -l <'$TMP/count') >'$TMP/ro/out.txt'; echo done"
	local i
	for i in miss hit; do
		[ "$i" = hit ] && printf 'changed since\n' >"$TMP/ro/out.txt"
		status=0
		setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/nonexistent \
			PICKLED_CACHE_DIR="$TMP/nc" "$TMP/pickled" run -o "$TMP/ro/out.txt" sh -c "$cmd" \
			</dev/null >"$TMP/io/out" 2>"$TMP/io/err" 3>&- || status=$?
		assert_status 0
		assert_out 'done\n'
		assert_err ''
	done
	assert_count 1
	assert_bytes "$TMP/ro/out.txt" 'v1\n'
	[ "$(stat -c %U "$TMP/ro/out.txt")" = nobody ]
}
