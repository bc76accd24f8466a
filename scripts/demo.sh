#!/bin/sh
# demo.sh: runs a slow command twice through pickled, in a throwaway cache,
# to show the second run replaying the first one's output at once.
# Usage: sh scripts/demo.sh PATH_TO_PICKLED   (`make demo` does this)
set -eu

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: demo.sh PATH_TO_PICKLED" >&2
	exit 2
fi
pickled=$1
unset PICKLED_DISABLE

dir=$(mktemp -d "${TMPDIR:-/tmp}/pickled-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' HUP INT TERM

# Slow, and different every time it really runs: the nanosecond timestamp
# can only come back identical if the output was replayed.
# shellcheck disable=SC2016 # expanded by the inner sh, on purpose
slow='sleep 2; echo "report generated at $(date +%H:%M:%S.%N)";
echo "warning: 3 rows skipped" >&2; echo "report done"'

now() { date +%s.%N; }

# run N: runs the slow command through pickled, output to $dir/outN.
run() {
	echo "--- run $1:"
	start=$(now)
	status=0
	"$pickled" -C "$dir/cache" run --ttl 1h -- sh -c "$slow" \
		</dev/null >"$dir/out$1" 2>&1 || status=$?
	end=$(now)
	sed 's/^/    /' "$dir/out$1"
	awk -v a="$start" -v b="$end" -v s="$status" \
		'BEGIN { printf "    (exit status %d, %.2f seconds)\n", s, b - a }'
	if [ "$status" -ne 0 ]; then
		echo "demo: pickled exited $status" >&2
		exit 1
	fi
}

echo "pickled demo, cache in $dir/cache"
echo "\$ pickled run --ttl 1h -- sh -c '<sleep 2, then print a timestamp>'"
run 1
run 2
if ! cmp -s "$dir/out1" "$dir/out2"; then
	echo "demo: the two runs printed different output: not replayed" >&2
	exit 1
fi
echo "Same bytes, same timestamp: the second run was replayed from the cache."
