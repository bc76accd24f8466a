# stress.bash: shared setup for the stress tests (tests/stress/*.bats): a
# temporary folder per test, the binary under test, and helpers to start
# many pickled runs at once and to compare their results byte for byte.
#
# Layout of a test's folder ($TMP, exported so wrapped commands can use it):
#   $TMP/cache   the cache ($PICKLED_CACHE_DIR, $CACHE)
#   $TMP/io      captured stdout/stderr/status of each run
#   $TMP/wd      the working directory (empty at the start)
#   $TMP/bin     scripts the tests wrap
#   $TMP/count   one line per execution of a counting command

source "$BATS_TEST_DIRNAME/../common.bash"

setup() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/pickled-stress.XXXXXX")
	export TMP
	export CACHE=$TMP/cache
	export PICKLED_CACHE_DIR=$CACHE
	unset PICKLED_DISABLE PICKLED_CONFIG XDG_CACHE_HOME
	PK=${PICKLED_BIN:-$BATS_TEST_DIRNAME/../../pickled}
	PK=$(cd "$(dirname "$PK")" && pwd)/$(basename "$PK")
	mkdir "$TMP/io" "$TMP/wd" "$TMP/bin"
	cd "$TMP/wd" || return 1
	BG_PIDS=()
	MOUNTS=()
	# The system's python starts fastest (a pyenv shim takes 0.3 s a call).
	PYTHON=${PYTHON:-python3}
	[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
}

teardown() {
	local m
	kill_bg
	cd / || true
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	chmod -R u+rwX "$TMP" 2>/dev/null || true
	remove_tree "$TMP"
}

# script NAME BODY: writes an executable sh script $TMP/bin/NAME.
script() {
	printf '#!/bin/sh\n%s\n' "$2" >"$TMP/bin/$1"
	chmod 0755 "$TMP/bin/$1"
}

# pk NAME ARGS...: runs pickled with stdin from /dev/null, stdout and stderr
# to $TMP/io/NAME.out and NAME.err, status in $status and NAME.status.
# fd 3 (bats's) is closed so a background gc cannot hold the test open.
pk() {
	local name=$1
	shift
	status=0
	"$PK" "$@" </dev/null >"$TMP/io/$name.out" 2>"$TMP/io/$name.err" 3>&- || status=$?
	echo "$status" >"$TMP/io/$name.status"
}

# pk_bg NAME ARGS...: like pk, in the background, once $TMP/go exists (so
# that many runs start together); the pid goes to BG_PIDS.
pk_bg() {
	local name=$1
	shift
	(
		while [ ! -e "$TMP/go" ]; do sleep 0.01; done
		st=0
		"$PK" "$@" </dev/null >"$TMP/io/$name.out" 2>"$TMP/io/$name.err" 3>&- || st=$?
		echo "$st" >"$TMP/io/$name.status"
	) 3>&- &
	BG_PIDS+=($!)
}

# wait_bg: waits for every pk_bg run.
wait_bg() {
	local pid
	for pid in "${BG_PIDS[@]}"; do
		wait "$pid" || true
	done
	BG_PIDS=()
}

# same_file EXPECTED ACTUAL: byte equality, showing the start of both.
same_file() {
	if ! cmp -s "$1" "$2"; then
		echo "--- $2 differs from $1:"
		cmp "$1" "$2" || true
		echo "--- expected (start):"
		head -c 300 "$1" | od -c | head -n 8
		echo "--- actual (start):"
		head -c 300 "$2" | od -c | head -n 8
		return 1
	fi
}

# assert_empty FILE
assert_empty() {
	if [ -s "$1" ]; then
		echo "--- $1 should be empty, holds:"
		head -c 2000 "$1"
		return 1
	fi
}

# assert_lines FILE LINE...: FILE holds exactly these lines.
assert_lines() {
	local f=$1
	shift
	if [ $# -eq 0 ]; then
		assert_empty "$f"
		return
	fi
	if ! diff -u <(printf '%s\n' "$@") "$f"; then
		return 1
	fi
}

# assert_status N [NAME]: the last pk's status (NAME: that run's).
assert_status() {
	local st=$status
	[ $# -ge 2 ] && st=$(cat "$TMP/io/$2.status")
	if [ "$st" != "$1" ]; then
		echo "exit status $st, expected $1; stderr was:"
		[ $# -ge 2 ] && head -c 2000 "$TMP/io/$2.err"
		return 1
	fi
}

# entry_file: the path of the only entry in the cache.
entry_file() {
	local f n=0 found=
	for f in "$CACHE"/v1/*/*; do
		case $f in *.hits) continue ;; esac
		[ -e "$f" ] || [ -L "$f" ] || continue
		n=$((n + 1))
		found=$f
	done
	if [ $n -ne 1 ]; then
		echo "expected one entry, found $n" >&2
		return 1
	fi
	printf '%s\n' "$found"
}

# key_of ARGS...: the key `pickled run ARGS` uses (`pickled key`; stdin is
# /dev/null, so not part of it).
key_of() {
	"$PK" key "$@" </dev/null 3>&-
}

# now_ms: monotonic enough for bounding elapsed time.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# make_data FILE BYTES SEED: deterministic pseudo-random bytes.
make_data() {
	"$PYTHON" -c '
import random, sys
r = random.Random(int(sys.argv[2]))
sys.stdout.buffer.write(r.randbytes(int(sys.argv[1])))
' "$2" "$3" >"$1"
}

# as_nobody CMD...: runs CMD without privileges.
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
