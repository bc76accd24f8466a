#!/bin/bash
# nth.sh: every failure point, one at a time (#20 item 1).
#
# For each scenario, runs its faulted step with the Nth failable call of
# pickled's processes failing, for N = 1, 2, ... until a run completes with
# nothing injected, and checks after each run:
#   - the command's output reached the caller complete (stdout, stderr,
#     -o file, exit status), pickled adding at most one line of its own; or
#     pickled exited non-zero, with a documented status, and said why in
#     exactly one line;
#   - a second clean run gives the right bytes (nothing wrong is replayed);
#   - `pickled verify` finds the cache clean, or only with entries that
#     `verify --fix` removes;
#   - no temporary is left in DIR/tmp that no run holds (unless the failed
#     call was the unlink that removes it: counted, gc's after an hour).
#
# Usage: nth.sh [-k STRIDE] [-m MAX] [SCENARIO...]
#   -k STRIDE  fault only every STRIDE-th point (1, 1+STRIDE, ...): CI's
#              bounded run; the last N (nothing injected) is still reached
#   -m MAX     stop a scenario after MAX faulted runs (default 20000)
#   -s START   begin at N = START (to look at one point: -s N -m 1)
# Scenarios: miss hit stale restore trace trace-hit gc verify-fix
# redis-upload redis-fetch
# (the Redis pair needs PICKLED_TEST_REDIS_URL: scripts/with-redis.sh).
# Prints a line per scenario; each violation on its own line with the point
# that failed; exits 1 when any invariant was broken.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.bash"

stride=1 max=20000 start=1
while getopts k:m:s: o; do
	case $o in
	k) stride=$OPTARG ;;
	s) start=$OPTARG ;;
	m) max=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
all=(miss hit stale restore trace trace-hit gc verify-fix redis-upload redis-fetch)
[ $# -gt 0 ] || set -- "${all[@]}"

W=$(mktemp -d "${TMPDIR:-/tmp}/pickled-faults.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
export HOME=$W/home
mkdir -p "$HOME"
make_job "$W"
fiu_skips "$W/skip"
for n in a b c; do expected "$W" $n; done
ST=$W/state
violations=0

# --- helpers for a scenario's steps -----------------------------------
# clean ARGS...: a run without faults (counted only), waited for whole.
clean() { fiu_exec "$W/clean-state" -- "$@"; }
conf_args=()

bad() {
	violations=$((violations + 1))
	sc_bad=$((sc_bad + 1))
	printf 'VIOLATION %s N=%s point=%s: %s (stdout: %s bytes)\n' "$sc" "$N" "$(fiu_point "$ST")" \
		"$*" "$(wc -c <"$W/f.out" 2>/dev/null)"
	if [ -n "${PK_FAULTS_KEEP:-}" ]; then
		mkdir -p "$PK_FAULTS_KEEP"
		for f in f.out f.err again.out again.err o.file; do
			[ -f "$W/$f" ] && cp "$W/$f" "$PK_FAULTS_KEEP/$sc-$N-$f"
		done
	fi
	if [ -s "$W/f.err" ]; then
		sed 's/^/    stderr: /' "$W/f.err" | head -5
	fi
}

# pk_lines FILE: pickled's own lines in a stderr capture.
pk_lines() { grep -c '^pickled: ' "$1"; }

# check_job NAME RC [FILE]: the faulted run's outcome for job NAME, its
# stdout in f.out, stderr in f.err (and, with FILE, the -o file).
check_job() {
	local name=$1 rc=$2 file=${3:-} own
	own=$(pk_lines "$W/f.err")
	grep -v '^pickled: ' "$W/f.err" >"$W/f.cmderr"
	if [ "$rc" = 0 ] && cmp -s "$W/f.out" "$W/$name.out" &&
		cmp -s "$W/f.cmderr" "$W/$name.err" &&
		{ [ -z "$file" ] || cmp -s "$file" "$W/$name.file"; }; then
		if [ "$own" = 2 ] && grep -q '^pickled: cannot [a-z]* configuration file: ' "$W/f.err" &&
			grep -qx 'pickled: running uncached: the configuration has errors' "$W/f.err"; then
			# a configuration file that cannot be read: the two lines
			# pickled(1) documents (and config.bats tests) for it
			sc_conf2=$((sc_conf2 + 1))
		elif [ "$own" -gt 1 ]; then
			bad "output complete, but pickled said $own lines"
		elif [ "$own" = 1 ]; then
			sc_warned=$((sc_warned + 1))
		fi
		return 0
	fi
	# Not complete: pickled must have failed, documented, in one line.
	case $rc in
	1 | 125 | 126 | 127) ;;
	0) bad "exit 0 but the output is not complete"; return 0 ;;
	*) bad "exit status $rc is neither the command's (0) nor documented"; return 0 ;;
	esac
	if [ "$own" != 1 ]; then
		bad "exit $rc with $own lines of pickled's own (one is due)"
		return 0
	fi
	sc_failed=$((sc_failed + 1))
}

# check_admin RC OKSTATUSES: a gc or verify under fault: a status it
# documents, and at most one line of its own when it fails.
check_admin() {
	local rc=$1 ok=$2 own
	own=$(pk_lines "$W/f.err")
	case " $ok " in
	*" $rc "*) ;;
	*) bad "exit status $rc not documented (expected one of $ok)"; return 0 ;;
	esac
	if [ "$own" -gt 1 ]; then
		bad "pickled said $own lines of its own"
	elif [ "$own" = 1 ]; then
		sc_warned=$((sc_warned + 1))
	fi
}

# The run options of the scenario's job runs (setup, faulted, again):
# with -o, the file is removed before each run and checked after it.
RUNARGS=()
# jobargs NAME: the words after `run` for job NAME.
jobargs() {
	JA=("${RUNARGS[@]}" -- "$W/job.sh" "$1")
	case " ${RUNARGS[*]} " in *" -o "*) JA+=("$W/o.file") ;; esac
}
# setup_job CACHE NAME: a clean run storing job NAME.
setup_job() {
	jobargs "$2"
	clean -C "$1" "${conf_args[@]}" run "${JA[@]}" >/dev/null 2>&1
}
# outfile: the -o file to check ("" without one)
outfile() { case " ${RUNARGS[*]} " in *" -o "*) echo "$W/o.file" ;; esac; }

# again CACHE NAME: a clean run of job NAME must give its bytes.
again() {
	local c=$1 name=$2 rc f
	f=$(outfile)
	rm -f "$W/o.file"
	jobargs "$name"
	clean -C "$c" "${conf_args[@]}" run "${JA[@]}" >"$W/again.out" 2>"$W/again.err"
	rc=$?
	if [ $rc != 0 ] || ! cmp -s "$W/again.out" "$W/$name.out" ||
		! cmp -s "$W/again.err" "$W/$name.err" ||
		{ [ -n "$f" ] && ! cmp -s "$f" "$W/$name.file"; }; then
		bad "WRONG REPLAY: a clean run of $name after the fault gave other bytes (exit $rc)"
		sed 's/^/    clean stderr: /' "$W/again.err" | head -3
	fi
}

# settled CACHE: no unheld temporary; verify clean or fixable.
settled() {
	local c=$1 t rc
	t=$(unlocked_temps "$c")
	if [ -n "$t" ] && [[ $(fiu_point "$ST") == posix/io/dir/unlink* ]]; then
		# the failed call was the unlink that removes it: gc's leftover
		# (an hour old, held by no run), as after a crash
		sc_unlinked=$((sc_unlinked + 1))
	elif [ -n "$t" ]; then
		bad "temporary left without a lock: $t"
	fi
	[ -d "$c" ] || return 0
	clean -C "$c" verify >"$W/v.out" 2>&1
	rc=$?
	[ $rc = 0 ] && return 0
	if [ $rc != 1 ]; then
		bad "verify exited $rc"
		return 0
	fi
	clean -C "$c" verify --fix >"$W/v.out" 2>&1
	clean -C "$c" verify >"$W/v.out" 2>&1 || {
		bad "verify --fix left a cache verify refuses: $(head -1 "$W/v.out")"
		return 0
	}
	sc_fixed=$((sc_fixed + 1))
}

# faulted_job CACHE NAME: the faulted run of job NAME (N set).
faulted_job() {
	local c=$1 name=$2
	rm -f "$W/o.file"
	jobargs "$name"
	fiu_exec "$ST" PK_FIU_NTH="$N" -- -C "$c" "${conf_args[@]}" run "${JA[@]}" \
		>"$W/f.out" 2>"$W/f.err"
	check_job "$name" $? "$(outfile)"
}

setup_redis() {
	if [ -z "${PICKLED_TEST_REDIS_URL:-}" ]; then
		echo "faults: $sc needs PICKLED_TEST_REDIS_URL (run under scripts/with-redis.sh)" >&2
		return 1
	fi
	printf 'remote:\n  url: "%s"\n  prefix: "pickled-faults:%s:%s:%s:"\n  timeout: 5s\n' \
		"$PICKLED_TEST_REDIS_URL" "$$" "$sc" "$N" >"$W/remote.conf"
	conf_args=(-c "$W/remote.conf")
}

# --- scenarios: each is one faulted step and its checks, for this N ---
scenario() {
	local c=$W/c1 c2=$W/c2
	rm -rf "$c" "$c2"
	conf_args=()
	RUNARGS=()
	case $sc in
	miss)
		faulted_job "$c" a
		settled "$c"
		again "$c" a
		;;
	hit)
		setup_job "$c" a
		faulted_job "$c" a
		settled "$c"
		again "$c" a
		;;
	stale)
		# Stored, then stale: replayed at once, refreshed by a detached run.
		RUNARGS=(-t 1h -s 1ms)
		setup_job "$c" a
		sleep 0.01
		faulted_job "$c" a
		settled "$c"
		again "$c" a
		;;
	restore)
		# A hit whose -o file is gone: restored from the entry.
		RUNARGS=(-o "$W/o.file")
		setup_job "$c" a
		faulted_job "$c" a
		settled "$c"
		again "$c" a
		;;
	trace)
		# A traced miss: the tracer is a fork of pickled, faulted too
		# (libseccomp's allocations are not: fiu_skips).
		RUNARGS=(--trace)
		faulted_job "$c" a
		settled "$c"
		again "$c" a
		;;
	trace-hit)
		# A traced hit: the manifest read, its records checked.
		RUNARGS=(--trace)
		setup_job "$c" a
		faulted_job "$c" a
		settled "$c"
		again "$c" a
		;;
	gc)
		for n in a b c; do setup_job "$c" $n; done
		# b's entry expired: gc removes it; a size bound drops one more.
		fiu_exec "$ST" PK_FIU_NTH="$N" -- -C "$c" gc --max-age 1ms -v >"$W/f.out" 2>"$W/f.err"
		check_admin $? "0 1"
		settled "$c"
		for n in a b c; do again "$c" $n; done
		;;
	verify-fix)
		for n in a b; do setup_job "$c" $n; done
		# one entry damaged, a foreign file, a leftover temporary
		local e
		e=$(find "$c/v1" -type f -name '*[0-9a-f]' ! -name '*.*' | sort | head -1)
		printf 'XXXX' | dd of="$e" bs=1 seek=200 conv=notrunc status=none
		echo junk >"$c/v1/junk"
		fiu_exec "$ST" PK_FIU_NTH="$N" -- -C "$c" verify --fix >"$W/f.out" 2>"$W/f.err"
		check_admin $? "0 1"
		settled "$c"
		for n in a b; do again "$c" $n; done
		;;
	redis-upload)
		setup_redis || return 1
		faulted_job "$c" a
		settled "$c"
		# another host (an empty cache) gets the right bytes, and so does this one
		again "$c2" a
		again "$c" a
		;;
	redis-fetch)
		setup_redis || return 1
		setup_job "$c" a
		faulted_job "$c2" a
		settled "$c2"
		again "$c2" a
		again "$W/c3" a
		rm -rf "$W/c3"
		;;
	*)
		echo "faults: unknown scenario $sc" >&2
		return 1
		;;
	esac
}

redis_cleanup() {
	[ -n "${PICKLED_TEST_REDIS_URL:-}" ] || return 0
	local r=(redis-cli --no-auth-warning)
	case $PICKLED_TEST_REDIS_URL in
	redis+unix://*) r+=(-s "${PICKLED_TEST_REDIS_URL#redis+unix://}") ;;
	*) r+=(-u "$PICKLED_TEST_REDIS_URL") ;;
	esac
	"${r[@]}" --scan --pattern "pickled-faults:$$:*" | while IFS= read -r k; do
		"${r[@]}" DEL "$k" >/dev/null
	done
}

failed_any=0
for sc in "$@"; do
	sc_bad=0 sc_warned=0 sc_failed=0 sc_fixed=0 sc_conf2=0 sc_unlinked=0 points=0 N=$start runs=0 calls=?
	while :; do
		scenario || { failed_any=1; break; }
		runs=$((runs + 1))
		inj=$(fiu_injected "$ST")
		if [ "$inj" = 0 ]; then
			calls=$(fiu_calls "$ST")
			break
		fi
		points=$((points + 1))
		if [ $runs -ge "$max" ]; then
			echo "faults: $sc: stopped after $max faulted runs" >&2
			failed_any=1
			calls=?
			break
		fi
		N=$((N + stride))
		[[ $sc == redis-* ]] && { redis_cleanup; }
	done
	redis_cleanup
	printf '%-13s %5s failable calls, %5s points faulted (stride %s): %s tolerated with one warning, %s with the configuration file unreadable (two lines), %s failed in one line, %s left verify --fix work, %s left a temporary as the unlink that removes it failed, %s violations\n' \
		"$sc" "$calls" "$points" "$stride" "$sc_warned" "$sc_conf2" "$sc_failed" "$sc_fixed" "$sc_unlinked" "$sc_bad"
done
[ $violations = 0 ] && [ $failed_any = 0 ]
