# helper.bash: per-test temporary folder and cache, and byte-exact assertions
# for pickled's CLI tests.  `load helper` from each .bats file.
#
# Layout of a test's folder ($TMP, exported so wrapped commands can use it):
#   $TMP/cache   the cache ($PICKLED_CACHE_DIR)
#   $TMP/io      pickled's captured stdout (out), stderr (err), expectations
#   $TMP/wd      the working directory of the test (empty at the start)
#   $TMP/count   one line per execution of a wrapped command (see $CNT)
#   $TMP/home    $HOME; $PICKLED_CONFIG is the empty $TMP/pickled.conf

source "$BATS_TEST_DIRNAME/../common.bash"

setup() {
	PK=${PICKLED_BIN:-$BATS_TEST_DIRNAME/../../pickled}
	PK=$(cd "$(dirname "$PK")" && pwd)/$(basename "$PK")
	if [ ! -x "$PK" ]; then
		echo "no pickled binary at $PK (set PICKLED_BIN or run make)"
		return 1
	fi
	TMP=$(mktemp -d)
	export TMP
	# no PICKLED_* setting of the caller's applies
	# shellcheck disable=SC2046
	unset $(compgen -e PICKLED_)
	# nor the cache folder systemd gives a unit (systemd.bats sets it)
	unset CACHE_DIRECTORY
	export PICKLED_CACHE_DIR=$TMP/cache
	# no configuration file of the machine or the user applies
	: >"$TMP/pickled.conf"
	export PICKLED_CONFIG=$TMP/pickled.conf HOME=$TMP/home
	mkdir "$TMP/home"
	unset XDG_CACHE_HOME XDG_CONFIG_HOME
	mkdir "$TMP/io" "$TMP/wd"
	cd "$TMP/wd" || return 1
	BG_PIDS=()
}

teardown() {
	[ -n "${TMP:-}" ] || return 0
	kill_bg
	cd / || true
	chmod -R u+rwX "$TMP" 2>/dev/null || true
	remove_tree "$TMP"
}

# A shell fragment that counts executions: sh -c "$CNT; printf hi".
CNT='echo x >>"$TMP/count"'

# pk ARGS...: runs pickled with stdin from /dev/null, stdout to $TMP/io/out,
# stderr to $TMP/io/err; sets $status.  fd 3 (bats's) is closed so that a
# background refresh cannot hold the test open.
pk() {
	pk_in /dev/null "$@"
}

# pk_in FILE ARGS...: like pk, with stdin from FILE (use <(printf ...) for a pipe).
pk_in() {
	local in=$1
	shift
	status=0
	"$PK" "$@" <"$in" >"$TMP/io/out" 2>"$TMP/io/err" 3>&- || status=$?
}

# pk_bg NAME ARGS...: pickled in the background, stdin from /dev/null,
# stdout and stderr into $TMP/io/NAME.out and NAME.err; its pid in $BG
# (and in BG_PIDS, which teardown kills).
pk_bg() {
	local n=$1
	shift
	"$PK" "$@" </dev/null >"$TMP/io/$n.out" 2>"$TMP/io/$n.err" 3>&- &
	BG=$!
	BG_PIDS+=("$BG")
}

# pk_as_nobody [ENV_ARG...] -- ARGS...: like pk, as the user nobody (group
# nogroup, no others) through `env ENV_ARG...`, running $TMP/pickled: a copy
# of pickled that nobody may execute, which the test makes.
pk_as_nobody() {
	local envargs=()
	while [ "$1" != -- ]; do
		envargs+=("$1")
		shift
	done
	shift
	status=0
	setpriv --reuid=nobody --regid=nogroup --clear-groups env "${envargs[@]}" \
		"$TMP/pickled" "$@" </dev/null >"$TMP/io/out" 2>"$TMP/io/err" 3>&- || status=$?
}

# pk_merged ARGS...: like pk, with stdout and stderr both into $TMP/io/out.
pk_merged() {
	status=0
	"$PK" "$@" </dev/null >"$TMP/io/out" 2>&1 3>&- || status=$?
}

# assert_status N: pickled's last exit status (shows its stderr when not).
assert_status() {
	if [ "$status" != "$1" ]; then
		echo "exit status $status, expected $1; stderr was:"
		head -c 2000 "$TMP/io/err" 2>/dev/null
		return 1
	fi
}

# assert_same EXPECTED_FILE GOT_FILE [LABEL]: identical bytes, else a diff.
assert_same() {
	local exp=$1 got=$2 label=${3:-$2}
	if cmp -s "$exp" "$got"; then
		return 0
	fi
	echo "-- $label: bytes differ (- expected, + got; cat -A notation) --"
	cmp "$exp" "$got" 2>&1 || true
	diff -u --label expected --label got \
		<(head -c 20000 "$exp" | cat -A) <(head -c 20000 "$got" | cat -A) |
		head -n 60 || true
	return 1
}

# assert_bytes FILE FORMAT [ARGS...]: FILE holds exactly printf FORMAT ARGS.
assert_bytes() {
	local file=$1
	shift
	# shellcheck disable=SC2059
	printf -- "$@" >"$TMP/io/expected"
	assert_same "$TMP/io/expected" "$file"
}

# assert_out / assert_err FORMAT [ARGS...]: pickled's last stdout / stderr.
assert_out() {
	assert_bytes "$TMP/io/out" "$@"
}

assert_err() {
	assert_bytes "$TMP/io/err" "$@"
}

# assert_lines FILE N: FILE has exactly N lines, each ending in a newline.
assert_lines() {
	local n
	n=$(wc -l <"$1" | tr -d ' ')
	if [ "$n" != "$2" ] || { [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" != '\n' ]; }; then
		echo "-- $1: expected $2 complete lines, got $n: --"
		cat -A "$1" | head -n 20
		return 1
	fi
}

# assert_match FILE ERE: every line of FILE (at least one) matches ERE.
assert_match() {
	if [ ! -s "$1" ] || grep -Evq -- "$2" "$1"; then
		echo "-- $1: a line does not match /$2/: --"
		cat -A "$1" | head -n 20
		return 1
	fi
}

# poll SECONDS CMD...: retries CMD every 50 ms until it succeeds or time runs out.
poll() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		if [ "$(date +%s%N)" -gt "$deadline" ]; then
			echo "timed out waiting for: $*"
			return 1
		fi
		sleep 0.05
	done
}

# entries [DIR]: the entry files of cache DIR (default $PICKLED_CACHE_DIR), sorted.
entries() {
	local dir=${1:-$PICKLED_CACHE_DIR}
	if [ -d "$dir/v1" ]; then
		find "$dir/v1" -mindepth 2 -maxdepth 2 -type f | sort
	fi
}

# has_entries [DIR]: succeeds when the cache holds at least one entry.
has_entries() {
	[ -n "$(entries "$@")" ]
}

# now_ms: milliseconds since the epoch.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# can_trace: whether pk_traced can trace pickled's own transfers (strace is
# installed and pickled is run directly, not through valgrind or a wrapper,
# whose own reads would be traced too); when not, $CANNOT_TRACE says why.
can_trace() {
	CANNOT_TRACE=''
	if ! command -v strace >/dev/null; then
		CANNOT_TRACE="strace is not installed"
	elif ! head -c 4 "$PK" | grep -q ELF; then
		CANNOT_TRACE="pickled is not run directly ($PK)"
	fi
	[ -z "$CANNOT_TRACE" ]
}

# pk_traced FILE ARGS...: like pk_in, under strace: every read, pread64 and
# write of pickled and its children, arguments in hex, into $TMP/trace.
pk_traced() {
	local in=$1
	shift
	status=0
	# LeakSanitizer cannot run under ptrace (an ASan build of pickled)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	strace -f -qq -e trace=read,pread64,write -e raw=read,pread64,write \
		-o "$TMP/trace" "$PK" "$@" <"$in" >"$TMP/io/out" 2>"$TMP/io/err" 3>&- || status=$?
}

# assert_aligned MIN_COUNT [CALLS]: the trace has at least MIN_COUNT calls
# named in CALLS (a regular expression; default read|pread64) that move
# 64 KiB or more, every one with a page-aligned buffer address.
assert_aligned() {
	awk -v page="$(getconf PAGESIZE)" -v min="$1" -v calls="^(${2:-read|pread64})[(]" '
		function hex(s,   v, i) {   # mawk has no strtonum
			v = 0
			for (i = 3; i <= length(s); i++)
				v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return v
		}
		match($0, /[a-z0-9]+\(0x[0-9a-f]+, 0x[0-9a-f]+, 0x[0-9a-f]+/) {
			call = substr($0, RSTART, RLENGTH)
			if (call !~ calls)
				next
			split(call, a, /[(, ]+/)
			if (hex(a[4]) < 65536)
				next
			big++
			if (hex(a[3]) % page != 0 && bad++ < 5)
				print "not page-aligned: " $0
		}
		END {
			if (big < min) {
				printf "only %d calls of 64 KiB or more traced, expected %d\n", big, min
				exit 1
			}
			if (bad > 0)
				printf "%d of %d calls of 64 KiB or more not page-aligned\n", bad, big
			exit bad > 0
		}' "$TMP/trace"
}
