#!/bin/sh
# run.sh: builds each libFuzzer harness (clang, ASan + UBSan, lib/*.c compiled
# in), replays its regression inputs, then fuzzes it for SECONDS (default 20).
#
#   tests/fuzz/run.sh [SECONDS] [HARNESS...]     from anywhere in the tree
#
# Exits 1 when a build fails or any harness crashes, leaks, trips a
# sanitizer or times out; the crashing input is left in $FUZZ_WORK (default
# a temporary folder, removed on success) and its path printed.  New inputs
# found go to that scratch corpus, never into the checked-in seed corpora.
# fuzz_config is built only once lib/config.c exists.  Regression inputs are
# the files regress/HARNESS-*; seed corpora are corpus/HARNESS/.
set -u

secs=${1:-20}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cc=${CLANG:-clang}
# Every lib/*.c is compiled in, so take the libraries the Makefile uses.
pkgs=$(sed -n 's/^PKGS[[:space:]]*=//p' "$root/Makefile")
[ -n "$pkgs" ] || pkgs="libzstd libxxhash yaml-0.1"

case $secs in
	''|*[!0-9]*) echo "run.sh: SECONDS must be a number: '$secs'" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086  # $pkgs is a list
if ! cflags=$(pkg-config --cflags $pkgs) || ! libs=$(pkg-config --libs $pkgs); then
	echo "run.sh: pkg-config cannot find $pkgs" >&2
	exit 2
fi
if [ -n "${FUZZ_WORK:-}" ]; then
	work=$FUZZ_WORK
	mkdir -p "$work" || exit 2
	keep=1
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/pickled-fuzz.XXXXXX") || exit 2
	keep=0
fi

if [ $# -gt 0 ]; then
	harnesses=$*
else
	harnesses="fuzz_entry fuzz_meta"
	[ -f "$root/lib/config.c" ] && harnesses="$harnesses fuzz_config fuzz_config_copy"
fi

# -max_len per harness: entries hold records and compressed frames, so they
# need room; metadata and config files are small.
max_len() {
	case $1 in
		fuzz_entry) echo 16384 ;;
		fuzz_meta) echo 4096 ;;
		*) echo 8192 ;;
	esac
}

failed=0
for h in $harnesses; do
	bin=$work/$h
	echo "=== $h: build"
	# shellcheck disable=SC2086  # word splitting of the flag lists is wanted
	if ! "$cc" -g -O1 -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
		-DPK_VERSION='"fuzz"' -DPK_SYSCONFDIR='"/nonexistent"' \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer -I"$root/lib" $cflags \
		-o "$bin" "$here/$h.c" "$root"/lib/*.c $libs -lpthread; then
		echo "=== $h: BUILD FAILED"
		failed=1
		continue
	fi

	regress=$(find "$here/regress" -type f -name "$h-*" 2>/dev/null | sort)
	if [ -n "$regress" ]; then
		echo "=== $h: regression inputs"
		# shellcheck disable=SC2086
		if ! "$bin" -runs=1 $regress >"$work/$h.regress.log" 2>&1; then
			tail -n 60 "$work/$h.regress.log"
			echo "=== $h: REGRESSION FAILED (log: $work/$h.regress.log)"
			failed=1
			keep=1
			continue
		fi
	fi

	echo "=== $h: fuzzing for ${secs}s"
	mkdir -p "$work/$h.corpus" "$work/$h.crashes"
	dict=
	[ -f "$here/${h#fuzz_}.dict" ] && dict=-dict=$here/${h#fuzz_}.dict
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len="$(max_len "$h")" -print_final_stats=1 $dict \
		-artifact_prefix="$work/$h.crashes/" \
		"$work/$h.corpus" "$here/corpus/$h" >"$work/$h.log" 2>&1
	rc=$?
	grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/$h.log"
	if [ $rc -ne 0 ]; then
		tail -n 60 "$work/$h.log"
		for f in "$work/$h.crashes"/*; do
			[ -f "$f" ] && echo "=== $h: crashing input: $f"
		done
		echo "=== $h: FAILED (status $rc, log: $work/$h.log)"
		failed=1
		keep=1
	else
		echo "=== $h: ok"
	fi
done

if [ $keep -eq 0 ]; then
	rm -rf "$work"
else
	echo "run.sh: work files kept in $work"
fi
exit $failed
