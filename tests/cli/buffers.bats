#!/usr/bin/env bats
# buffers.bats: pickled's I/O buffers.  Every large read and write pickled
# makes goes through a page-aligned buffer (issue #22: the kernel's copy
# into a buffer a few bytes past a page boundary costs up to 60% more system
# time on some processors); and a miss's output, buffered between the pipes
# and the compression (issue #19), keeps its order and bytes.
#
# Each test traces pickled with strace, its raw arguments in hex, and checks
# that every read and pread64 of 64 KiB or more has a buffer address that is
# a multiple of the page size (the destination is what costs: see
# pk_io_alloc in lib/io.h), and every such write too where pickled writes a
# buffer from its start (forwarding the command's output, writing the
# entry, spooling stdin; a hit writes each record's bytes from where they
# begin in the decompressed data, after the record's header).  The wrapped
# commands make only small transfers of their own (dd bs=4096), so that
# every large one in the trace is pickled's.

load helper

# The helper's setup, wrapped below.
eval "helper_$(declare -f setup)"

setup() {
	helper_setup || return 1
	case $BATS_TEST_DESCRIPTION in
	*page-aligned*) can_trace || skip "$CANNOT_TRACE" ;;
	esac
	# 3 MiB that do not compress: the stored entry is larger than the 1 MiB
	# a hit reads in one go, so the hit streams it through its buffers.
	head -c 3145728 /dev/urandom >"$TMP/big"
}

@test "hashing a declared input reads into a page-aligned buffer" {
	pk_traced /dev/null run -i "$TMP/big" -- true
	assert_status 0
	assert_err ''
	# 3 MiB in reads of 1 MiB
	assert_aligned 3
}

@test "a miss reads the pipes and writes the entry through page-aligned buffers" {
	pk_traced /dev/null run -- dd if="$TMP/big" bs=4096 status=none
	assert_status 0
	assert_err ''
	assert_same "$TMP/big" "$TMP/io/out"
	# 3 MiB read from the pipe, forwarded, and written to the entry
	assert_aligned 12 'read|pread64|write'
}

@test "a hit reads and decompresses the entry into page-aligned buffers" {
	pk run -- dd if="$TMP/big" bs=4096 status=none
	assert_status 0
	pk_traced /dev/null run -- dd if="$TMP/big" bs=4096 status=none
	assert_status 0
	assert_err ''
	assert_same "$TMP/big" "$TMP/io/out"
	# the entry's 3 MiB read for the checksum, then again to decompress
	assert_aligned 6
}

@test "stdin from a file is hashed, and from a pipe spooled, through page-aligned buffers" {
	pk_traced "$TMP/big" run -- dd bs=4096 status=none
	assert_status 0
	assert_err ''
	assert_same "$TMP/big" "$TMP/io/out"
	# hashed in place (3 MiB), then as in a miss
	assert_aligned 24 'read|pread64|write'
	# -f: a miss again, with the same stdin
	pk_traced <(cat "$TMP/big") run -f -- dd bs=4096 status=none
	assert_status 0
	assert_err ''
	assert_same "$TMP/big" "$TMP/io/out"
	# read from the pipe and written to the spool, then as in a miss
	assert_aligned 24 'read|pread64|write'
}

# --- the output buffer of a miss (lib/relay.c) ---------------------------------------

@test "bursts larger than the output buffer keep the order of stdout and stderr, live and replayed" {
	# A burst of 14.3 MiB on stdout (more than the 12 MiB buffer: the reader
	# waits for room), a line and a 2.3 MiB burst on stderr, a line on
	# stdout, the big burst again.  The pauses make the order the command
	# wrote in the order pickled reads in.
	seq 1 1900000 >"$TMP/a"
	seq 5000000 5300000 >"$TMP/b"
	{ cat "$TMP/a"; echo one; cat "$TMP/b"; echo two; cat "$TMP/a"; } >"$TMP/expected"
	local cmd="$CNT"'; cat "$TMP/a"; sleep 0.2; echo one >&2; sleep 0.2; cat "$TMP/b" >&2
		sleep 0.2; echo two; sleep 0.2; cat "$TMP/a"'
	pk_merged run sh -c "$cmd"
	assert_status 0
	assert_same "$TMP/expected" "$TMP/io/out" "live output"
	pk_merged run sh -c "$cmd"
	assert_status 0
	assert_same "$TMP/expected" "$TMP/io/out" "replayed output"
	assert_count 1
	# and each stream alone, byte for byte
	pk run sh -c "$cmd"
	assert_status 0
	{ cat "$TMP/a"; echo two; cat "$TMP/a"; } >"$TMP/expected.out"
	{ echo one; cat "$TMP/b"; } >"$TMP/expected.err"
	assert_same "$TMP/expected.out" "$TMP/io/out" stdout
	assert_same "$TMP/expected.err" "$TMP/io/err" stderr
	assert_count 1
}
