#!/usr/bin/env bats
# badinput.bats: malformed flags, durations and sizes: each gives its one
# message (plus the "Try" hint for usage errors), status 125, nothing on
# stdout, and the command never runs.

load stress

TRY_RUN="Try 'pickled run --help' for more information."

setup_command() {
	script job 'echo x >>"$TMP/count"; echo ran'
}

# bad STATUS ARGS... :: LINES: pickled ARGS exits STATUS with exactly LINES
# on stderr, nothing on stdout, and the job never ran.
bad() {
	local st=$1 args=() lines=()
	shift
	while [ "$1" != "::" ]; do
		args+=("$1")
		shift
	done
	shift
	lines=("$@")
	pk bad "${args[@]}"
	assert_status "$st"
	assert_empty "$TMP/io/bad.out"
	assert_lines "$TMP/io/bad.err" "${lines[@]}"
	assert_count 0
}

@test "malformed run flags: one message, the usage hint, status 125" {
	setup_command
	J=$TMP/bin/job
	bad 125 run --bogus -- "$J" :: "pickled: unknown option '--bogus'" "$TRY_RUN"
	bad 125 run --bogus=1 -- "$J" :: "pickled: unknown option '--bogus'" "$TRY_RUN"
	bad 125 run -Z "$J" :: "pickled: unknown option '-Z'" "$TRY_RUN"
	bad 125 run -- :: "pickled: no command given" "$TRY_RUN"
	bad 125 run :: "pickled: no command given" "$TRY_RUN"
}

@test "a value given to a flag that takes none is not called an unknown option" {
	setup_command
	pk bad run --force=yes -- "$TMP/bin/job"
	assert_status 125
	assert_count 0
	[ "$(wc -l <"$TMP/io/bad.err")" -eq 2 ]
	sed -n 2p "$TMP/io/bad.err" | grep -qx "$TRY_RUN"
	if ! sed -n 1p "$TMP/io/bad.err" | grep -q "'--force'" ||
		sed -n 1p "$TMP/io/bad.err" | grep -q unknown; then
		echo "--force=yes: $(sed -n 1p "$TMP/io/bad.err")"
		return 1
	fi
}

@test "a long option missing its value is named as typed" {
	setup_command
	bad 125 run --ttl :: "pickled: option '--ttl' needs a value" "$TRY_RUN"
	bad 125 run -t :: "pickled: option '-t' needs a value" "$TRY_RUN"
	bad 125 --cache-dir :: "pickled: option '--cache-dir' needs a value" \
		"Try 'pickled --help' for more information."
}

@test "malformed durations: one line, status 125" {
	setup_command
	J=$TMP/bin/job
	for d in 5x '' 1h30 1.5h -1 ' 1h' 1h- 9223372036854775807 1ms5 0x10 forever1 h; do
		bad 125 run --ttl "$d" -- "$J" :: "pickled: invalid duration for --ttl: '$d'"
	done
	bad 125 run --stale 2q -- "$J" :: "pickled: invalid duration for --stale: '2q'"
	bad 125 run --lock-timeout 1y -- "$J" :: "pickled: invalid duration for --lock-timeout: '1y'"
	bad 125 run --stale 1h --ttl 30m -- "$J" :: "pickled: --stale must be shorter than --ttl"
	bad 125 gc --max-age 3q :: "pickled: invalid duration for --max-age: '3q'"
}

@test "malformed sizes: one line, status 125" {
	setup_command
	J=$TMP/bin/job
	for s in 1Q '' 1.5.5G 1K5 ' 1' -1 1.5 NaN inf 18446744073709551615 99999999999T; do
		bad 125 run --stdin-limit "$s" -- "$J" :: "pickled: invalid size for --stdin-limit: '$s'"
	done
	bad 125 gc --max-size 12X :: "pickled: invalid size for --max-size: '12X'"
}

@test "sizes in forms the man page does not document are refused" {
	# strtod would take these; pickled's sizes are digits, an optional
	# fraction and a unit.
	setup_command
	for s in 1e3 0x10 1e3K; do
		bad 125 gc --max-size "$s" :: "pickled: invalid size for --max-size: '$s'"
	done
}

@test "unknown commands and stray arguments: one message, the usage hint, status 125" {
	setup_command
	bad 125 bogus :: "pickled: unknown command 'bogus'" "Try 'pickled --help' for more information."
	bad 125 :: "pickled: no command given" "Try 'pickled --help' for more information."
	bad 125 -Q :: "pickled: unknown option '-Q'" "Try 'pickled --help' for more information."
	bad 125 gc extra :: "pickled: unexpected argument 'extra'" "Try 'pickled gc --help' for more information."
	bad 125 verify x :: "pickled: unexpected argument 'x'" "Try 'pickled verify --help' for more information."
	bad 125 rm --all --expired :: "pickled: give one of --expired, --all, --tag, --match" \
		"Try 'pickled rm --help' for more information."
	bad 125 rm :: "pickled: no key given" "Try 'pickled rm --help' for more information."
}

@test "argument bytes that are not text do not upset the front end" {
	setup_command
	nl=$'a\nb'
	bad 125 run --ttl "$nl" -- "$TMP/bin/job" :: "pickled: invalid duration for --ttl: 'a" "b'"
	hi=$'\xff\xfe'
	bad 125 run --ttl "$hi" -- "$TMP/bin/job" :: "pickled: invalid duration for --ttl: '$hi'"
	long=$(head -c 100000 /dev/zero | tr '\0' 9)
	pk longttl run --ttl "$long" -- "$TMP/bin/job"
	assert_status 125
	assert_count 0
}
