#!/usr/bin/env bats
# errors.bats: failures pickled meets on its own path are reported, and
# never turn into a command run on the wrong input.  Faults are injected
# with libfiu's fiu-run (fiu-utils, libfiu0).

load helper

# The native binary: fiu's preload library must see pickled's own calls,
# not valgrind's (see log.bats).
native() {
	local bin=$PK
	[ -z "${PK_VALGRIND_BIN_DIR:-}" ] || bin=$PK_VALGRIND_BIN_DIR/pickled
	echo "$bin"
}

@test "a stdin feeder that cannot start: pickled says why and exits 125, the command never reads a stdin cut short" {
	head -c 4096 /dev/zero >"$TMP/in"
	# The first fork is the feeder's (a piped stdin over --stdin-limit is
	# fed to the command through a pipe); the command's own would succeed.
	status=0
	# (an ASan build: fiu-run's preload leaks a string of its own)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=0 \
	fiu-run -x -c 'enable name=posix/proc/fork,failinfo=11,onetime' \
		"$(native)" run --stdin-limit 1K sh -c "$CNT; wc -c" \
		< <(cat "$TMP/in") >"$TMP/io/out" 2>"$TMP/io/err" 3>&- || status=$?
	assert_status 125
	assert_out ''
	assert_err 'pickled: cannot start stdin feeder: Resource temporarily unavailable\npickled: running uncached: stdin is larger than 1.0K\n'
	assert_count 0
}
