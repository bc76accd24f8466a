#!/bin/sh
# valgrind-wrapper.sh: stands in for the pickled binary so that the CLI tests
# run it under valgrind's memcheck:
#
#   rm -rf /tmp/pickled-valgrind
#   PICKLED_BIN=$PWD/tests/valgrind-wrapper.sh prove --exec 'bats --tap' tests/cli/*.bats
#   tests/valgrind-wrapper.sh --check
#
# Each process's report goes to its own file in $PK_VALGRIND_LOGS
# (default /tmp/pickled-valgrind), never to stderr, so the tests' exact
# stderr assertions still hold.  valgrind's exit status 1 on an error makes
# most tests fail by itself; --check then fails on any report at all, which
# also catches errors in runs whose expected status is 1 and in detached
# children (background gc, stale refresh, --warm).  The commands pickled
# runs are not traced (--trace-children=no); pickled itself is, from start
# to the exec of the command.
logs=${PK_VALGRIND_LOGS:-/tmp/pickled-valgrind}

# valgrind 3.19 does not know openat2 (syscall 437): it answers ENOSYS,
# pickled falls back to openat, and valgrind says so in five lines.  Nor
# seccomp (317): under valgrind, run --trace cannot install its filter and
# runs the command untraced (lib/trace.h, fail open).  Those notices are
# not memcheck reports; anything else in a log is.
reports() {
	grep -v -e 'unhandled amd64-linux syscall: 437' \
		-e 'unhandled amd64-linux syscall: 317' \
		-e 'You may be able to write your own handler' \
		-e 'README_MISSING_SYSCALL_OR_IOCTL' \
		-e 'Nevertheless we consider this a bug' \
		-e 'valgrind.org/support/bug_reports' "$1"
}

if [ "${1:-}" = "--check" ]; then
	bad=$(for f in $(find "$logs" -type f -name '*.log' -size +0 2>/dev/null | sort); do
		[ -n "$(reports "$f")" ] && echo "$f"
	done)
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

# The tree comes from PK_SOURCE_DIR when set (a name the test helpers do
# not clear, unlike PICKLED_*): some tests copy this script elsewhere.
here=$(cd "$(dirname "$0")" && pwd)
root=${PK_SOURCE_DIR:-$here/..}
bin=$root/pickled
supp=$root/tests/valgrind.supp
# Tests that run pickled as nobody need a binary and suppressions nobody can
# read, wherever the tree is (a clone in a 0700 mktemp -d): `make valgrind`
# copies them to PK_VALGRIND_BIN_DIR.
if [ -n "${PK_VALGRIND_BIN_DIR:-}" ]; then
	bin=$PK_VALGRIND_BIN_DIR/pickled
	supp=$PK_VALGRIND_BIN_DIR/valgrind.supp
fi
# Some tests run pickled as nobody: they must be able to write a log too.
if [ ! -d "$logs" ]; then
	mkdir -p "$logs" || exit 125
	chmod 1777 "$logs" 2>/dev/null
fi
# valgrind takes a closed descriptor 0, 1 or 2 for itself and then refuses
# the program its use (EBADF), so pickled's own handling of a closed one
# (/dev/null in its place) cannot be seen under valgrind: the wrapper does
# the same first.
[ -e /proc/$$/fd/0 ] || exec </dev/null
[ -e /proc/$$/fd/1 ] || exec >/dev/null
[ -e /proc/$$/fd/2 ] || exec 2>/dev/null
# --vgdb=no: no gdbserver FIFOs in /tmp, which a run as pid 1 of a pid
# namespace (remote.bats' same-pid test) could not remove, and said so.
# Log names must never repeat: over a whole suite pids are reused, and a
# forked child of a run as nobody cannot open a root-owned log of the same
# pid in the sticky folder (valgrind then exits 1 before the command runs),
# while a writable one would be overwritten, report and all.
run=$(date +%s%N).$$
exec valgrind --quiet --tool=memcheck --leak-check=full \
	--errors-for-leak-kinds=definite,possible --show-leak-kinds=definite,possible \
	--error-exitcode=1 --trace-children=no --track-fds=no --vgdb=no \
	--suppressions="$supp" \
	--log-file="$logs/pickled.$run.%p.log" "$bin" "$@"
