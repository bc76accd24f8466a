# common.bash: what the fault-injection drivers (nth.sh, soak.py's shell
# side) share: the preloaded helper, a job with known output, and the
# invariants checked after every faulted run.
#
# Needs PICKLED_BIN (the pickled under test) and PK_FIU_HELPER (fiu_nth.so,
# built by `make faults`).

: "${PICKLED_BIN:?PICKLED_BIN must name the pickled binary}"
: "${PK_FIU_HELPER:?PK_FIU_HELPER must name fiu_nth.so (make faults builds it)}"
PK_FIU_PRELOAD=${PK_FIU_PRELOAD:-/usr/lib/fiu/fiu_posix_preload.so}
export PK_FIU_PRELOAD

# Nothing of the caller's configuration: every setting comes from here.
while IFS='=' read -r _v _; do
	case $_v in
	PICKLED_BIN | PICKLED_TEST_REDIS_URL) ;;
	PICKLED_*) unset "$_v" ;;
	esac
done < <(env)
unset CACHE_DIRECTORY XDG_CACHE_HOME XDG_CONFIG_HOME

# seccomp_funcs: the names of libseccomp's functions (pickled links the
# static archive).
seccomp_funcs() {
	local a
	a=$(pkg-config --variable=libdir libseccomp)/libseccomp.a
	nm --defined-only "$a" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[tT]$/ { print $3 }'
}

# pickled_funcs NAMES: offset and size (from nm) of pickled's functions of
# the names in the file NAMES (one a line), or hiredis's when NAMES is -.
pickled_funcs() {
	nm -S --defined-only "$PICKLED_BIN" |
		awk -v names="$1" '
			BEGIN { if (names != "-") while ((getline n < names) > 0) want[n] = 1 }
			NF == 4 && (names == "-" ? $4 ~ /^(redis|__redis|_redis|sds|hi_)/ : $4 in want) {
				print $1, $2
			}'
}

# fiu_skips FILE: hiredis's and libseccomp's functions in pickled, whose
# allocations the helper leaves alone (see fiu_nth.c), in FILE, which
# PK_FIU_SKIP then names.
fiu_skips() {
	seccomp_funcs >"$1.names"
	{ pickled_funcs -; pickled_funcs "$1.names"; } >"$1"
	export PK_FIU_SKIP=$1
}

# fiu_exec STATE VAR=VALUE... -- ARGS...: pickled ARGS with the helper
# preloaded, its state in STATE (reset here), the VAR=VALUE settings for it
# (PK_FIU_NTH, PK_FIU_PROB, PK_FIU_SEED; none: count only); then waits for
# every process of the run's tree (detached refresh, gc, upload) to end.
fiu_exec() {
	local st=$1 rc
	shift
	local vars=()
	while [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	head -c 2048 /dev/zero >"$st"
	env LD_PRELOAD="$PK_FIU_HELPER $PK_FIU_PRELOAD" PK_FIU_BIN="$PICKLED_BIN" \
		PK_FIU_STATE="$st" "${vars[@]}" "$PICKLED_BIN" "$@"
	rc=$?
	fiu_wait "$st"
	return $rc
}

# fiu_wait STATE: until no process of the tree holds STATE (2 min at most).
fiu_wait() {
	flock -w 120 -x "$1" true || echo "faults: a run's processes did not end in 2 minutes" >&2
}

# fiu_calls STATE, fiu_injected STATE, fiu_point STATE: the helper's figures.
fiu_calls() { od -A n -t u8 -j 0 -N 8 "$1" | tr -d ' '; }
fiu_injected() { od -A n -t u8 -j 8 -N 8 "$1" | tr -d ' '; }
fiu_point() { tail -c +17 "$1" | head -c 112 | tr -d '\0'; }

# The job: known bytes on both streams (enough for several reads and
# writes), and a file when given one.  job.sh NAME [FILE]
make_job() {
	local dir=$1
	cat >"$dir/job.sh" <<'EOF'
#!/bin/sh
seq -f "$1 line %g" 1 4000
echo "$1: done" >&2
[ -z "${2:-}" ] || seq -f "$1 file %g" 1 2000 >"$2"
EOF
	chmod +x "$dir/job.sh"
}

# expected DIR NAME: the bytes of a bare run, in DIR/NAME.out, .err, .file.
expected() {
	local dir=$1 name=$2
	[ -f "$dir/$name.out" ] && return 0
	"$dir/job.sh" "$name" "$dir/$name.file" >"$dir/$name.out" 2>"$dir/$name.err"
}

# unlocked_temps CACHE: the temporaries in CACHE/tmp that no run holds.
unlocked_temps() {
	local f
	for f in "$1"/tmp/*; do
		[ -f "$f" ] || continue
		flock -n "$f" true 2>/dev/null && printf '%s\n' "${f#"$1"/}"
	done
}
