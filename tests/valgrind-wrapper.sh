#!/bin/sh
# valgrind-wrapper.sh: stands in for the pickled binary so that the CLI tests
# run it under valgrind's memcheck:
#
#   rm -rf /tmp/pickled-valgrind
#   PICKLED_BIN=$PWD/tests/valgrind-wrapper.sh prove --exec 'bats --tap' tests/cli/*.bats
#   tests/valgrind-wrapper.sh --check
#
# Each process's report goes to its own file in $PICKLED_VALGRIND_LOGS
# (default /tmp/pickled-valgrind), never to stderr, so the tests' exact
# stderr assertions still hold.  valgrind's exit status 1 on an error makes
# most tests fail by itself; --check then fails on any report at all, which
# also catches errors in runs whose expected status is 1 and in detached
# children (background gc, stale refresh, --warm).  The commands pickled
# runs are not traced (--trace-children=no); pickled itself is, from start
# to the exec of the command.
logs=${PICKLED_VALGRIND_LOGS:-/tmp/pickled-valgrind}

if [ "${1:-}" = "--check" ]; then
	bad=$(find "$logs" -type f -name '*.log' -size +0 2>/dev/null | sort)
	if [ -n "$bad" ]; then
		for f in $bad; do
			echo "=== $f"
			cat "$f"
		done
		echo "valgrind-wrapper: $(echo "$bad" | wc -l) process(es) with memcheck reports" >&2
		exit 1
	fi
	echo "valgrind-wrapper: no memcheck reports in $logs"
	exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
bin=${PICKLED_REAL_BIN:-$here/../pickled}
mkdir -p "$logs" || exit 125
exec valgrind --quiet --tool=memcheck --leak-check=full \
	--errors-for-leak-kinds=definite,possible --show-leak-kinds=definite,possible \
	--error-exitcode=1 --trace-children=no --track-fds=no \
	--suppressions="$here/valgrind.supp" \
	--log-file="$logs/pickled.%p.log" "$bin" "$@"
