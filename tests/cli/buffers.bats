#!/usr/bin/env bats
# buffers.bats: every large read and write pickled makes goes through a
# page-aligned buffer (issue #22: the kernel's copy into a buffer a few bytes
# past a page boundary costs up to 60% more system time on some processors).
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
	can_trace || skip "$CANNOT_TRACE"
	# 3 MiB that do not compress: the stored entry is larger than the 1 MiB
	# a hit reads in one go, so the hit streams it through its buffers.
	head -c 3145728 /dev/urandom >"$TMP/big"
}

@test "hashing a declared input reads into a page-aligned buffer" {
	pk_traced /dev/null run -i "$TMP/big" -- true
	assert_status 0
	assert_err ''
	# 3 MiB in reads of 256 KiB
	assert_aligned 12
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
