#!/usr/bin/env bats
# corruption.bats: damaged entries (seeded byte flips and truncations, and
# files that are not entries at all) are detected before a byte is
# replayed: one warning line, the command runs, its output is whole, and
# the entry is replaced so that the next run is a quiet hit.

load stress

MUTATE=$BATS_TEST_DIRNAME/mutate.py
WARNING='^pickled: corrupt cache entry [0-9a-f]{12} \(.+\), running the command$'

setup_file() {
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
}

# The command under test: stdout, stderr and a count of its runs.
small_command() {
	script cmd 'echo x >>"$TMP/count"
printf "out line\n\000\001\377 binary\n"
echo "err line" >&2'
	printf 'out line\n\000\001\377 binary\n' >"$TMP/io/expected.out"
}

# Over 1 MiB stored (incompressible), so the entry is streamed, not read
# whole, and the checksum must still come before the first byte out.
large_command() {
	make_data "$TMP/big" 1300000 7
	script cmd 'echo x >>"$TMP/count"
cat "$TMP/big"
echo "err line" >&2'
	cp "$TMP/big" "$TMP/io/expected.out"
}

# check_detected LABEL: the last run saw a damaged entry: whole output, the
# command's stderr then exactly one warning, the command ran once more.
check_detected() {
	local label=$1 runs=$2
	assert_status 0 "$label"
	same_file "$TMP/io/expected.out" "$TMP/io/$label.out"
	if [ "$(wc -l <"$TMP/io/$label.err")" -ne 2 ] ||
		[ "$(sed -n 1p "$TMP/io/$label.err")" != "err line" ] ||
		! sed -n 2p "$TMP/io/$label.err" | grep -Eq "$WARNING"; then
		echo "$label: expected 'err line' and one corrupt-entry warning on stderr, got:"
		cat "$TMP/io/$label.err"
		return 1
	fi
	assert_count "$runs"
}

# check_replaced LABEL: the entry was replaced: a quiet hit.
check_replaced() {
	local label=$1 runs=$2
	pk "$label.again" run -- "$TMP/bin/cmd"
	assert_status 0
	same_file "$TMP/io/expected.out" "$TMP/io/$label.again.out"
	assert_lines "$TMP/io/$label.again.err" "err line"
	assert_count "$runs"
}

# trials MODE FIRST_SEED N: N damaged entries in turn, each detected and
# replaced.
trials() {
	local mode=$1 seed=$2 n=$3 i runs
	if [ ! -d "$CACHE/v1" ]; then
		pk first run -- "$TMP/bin/cmd"
		assert_status 0
	fi
	runs=$(count)
	for i in $(seq 1 "$n"); do
		what=$("$PYTHON" "$MUTATE" "$(entry_file)" "$((seed + i))" "$mode")
		echo "trial $i: $what"
		pk "t$i" run -- "$TMP/bin/cmd"
		runs=$((runs + 1))
		check_detected "t$i" "$runs"
		check_replaced "t$i" "$runs"
	done
}

@test "48 seeded byte flips in a small entry are each detected and replaced" {
	small_command
	trials flip 1000 48
}

@test "24 seeded truncations of a small entry are each detected and replaced" {
	small_command
	trials truncate 2000 24
}

@test "byte flips and truncations in a streamed (over 1 MiB) entry are detected before output" {
	large_command
	trials flip 3000 6
	trials truncate 4000 3
}

@test "a damaged creation time that makes an entry look expired is reported as corrupt" {
	# The metadata is read before the checksum is checked; a flip in the
	# creation time must not pass for an ordinary expiry.
	small_command
	pk first run -- "$TMP/bin/cmd"
	"$PYTHON" "$MUTATE" "$(entry_file)" 0 created
	pk damaged run -- "$TMP/bin/cmd"
	check_detected damaged 2
	check_replaced damaged 2
}

@test "an empty file and random bytes in place of an entry are detected and replaced" {
	small_command
	pk first run -- "$TMP/bin/cmd"
	: >"$(entry_file)"
	pk empty run -- "$TMP/bin/cmd"
	check_detected empty 2
	check_replaced empty 2
	make_data "$TMP/garbage" 5000 11
	cp "$TMP/garbage" "$(entry_file)"
	pk garbage run -- "$TMP/bin/cmd"
	check_detected garbage 3
	check_replaced garbage 3
}

@test "an entry with another key's content is detected and replaced" {
	small_command
	pk first run -- "$TMP/bin/cmd"
	mine=$(entry_file)
	pk other run -k other -- "$TMP/bin/cmd"
	theirs=$(find "$CACHE/v1" -type f ! -name '*.hits' ! -path "$mine")
	cp "$theirs" "$mine"
	pk swapped run -- "$TMP/bin/cmd"
	check_detected swapped 3
	check_replaced swapped 3
}

@test "a FIFO in place of an entry does not hang the run" {
	small_command
	pk first run -- "$TMP/bin/cmd"
	f=$(entry_file)
	rm "$f"
	mkfifo "$f"
	status=0
	timeout 5 "$PK" run -- "$TMP/bin/cmd" </dev/null >"$TMP/io/fifo.out" \
		2>"$TMP/io/fifo.err" 3>&- || status=$?
	if [ "$status" = 124 ]; then
		echo "pickled run hung opening a FIFO at $f"
		return 1
	fi
	assert_status 0
	same_file "$TMP/io/expected.out" "$TMP/io/fifo.out"
}

@test "a FIFO in place of the stats log or a hit counter does not hang the run" {
	small_command
	pk first run -- "$TMP/bin/cmd"
	f=$(entry_file)
	rm -f "$CACHE/stats.log" "$f.hits"
	mkfifo "$CACHE/stats.log" "$f.hits"
	status=0
	timeout 5 "$PK" run -- "$TMP/bin/cmd" </dev/null >"$TMP/io/fifo.out" \
		2>"$TMP/io/fifo.err" 3>&- || status=$?
	if [ "$status" = 124 ]; then
		echo "pickled run hung opening a FIFO in $CACHE"
		return 1
	fi
	assert_status 0
	same_file "$TMP/io/expected.out" "$TMP/io/fifo.out"
	assert_lines "$TMP/io/fifo.err" "err line"
}

@test "verify reports each damaged entry and --fix removes it" {
	small_command
	for i in 1 2 3; do
		pk "s$i" run -k "$i" -- "$TMP/bin/cmd"
	done
	victim=$(find "$CACHE/v1" -type f ! -name '*.hits' | sort | head -n 1)
	"$PYTHON" "$MUTATE" "$victim" 5 flip
	pk verify verify
	assert_status 1
	key=$(basename "$victim")
	[ "$(wc -l <"$TMP/io/verify.out")" -eq 1 ]
	grep -Eq "^$key damaged: .+" "$TMP/io/verify.out"
	pk fix verify --fix
	assert_status 1
	grep -Eq "^$key removed: .+" "$TMP/io/fix.out"
	[ ! -e "$victim" ]
	pk clean verify
	assert_status 0
	assert_empty "$TMP/io/clean.out"
}
