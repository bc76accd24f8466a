#!/bin/sh
# run.sh: `make bench`: the figures of issue #6, each timed against a
# baseline measured in the same run, printed as one Markdown table.
#
# Usage: sh bench/run.sh ./pickled        BENCH_QUICK=1: smaller sizes, fewer runs
#
# Needs hyperfine, zstd, xxhsum, GNU time (/usr/bin/time), cc, seq, xargs.
# Every workload comes from bench/gen.c with a fixed seed.  Big files live
# in a temporary folder removed on exit; the cache of many small entries is
# kept in bench/.cache and reused while it still hits.  A missed target is
# printed as FAIL; the script still exits 0 (timings on a shared machine are
# noted, never asserted).  Paths must not contain spaces (hyperfine -N).

if [ $# -ne 1 ]; then
	echo "usage: sh bench/run.sh PICKLED" >&2
	exit 2
fi
PK=$1
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH")
STORE=$BENCH/.cache
LOG=$STORE/bench.log
CC=${CC:-cc}

for tool in hyperfine zstd xxhsum /usr/bin/time "$CC" seq xargs; do
	if ! command -v "$tool" > /dev/null 2>&1; then
		echo "bench: $tool not found (hyperfine, zstd, xxhash, time are Debian packages)" >&2
		exit 1
	fi
done
if [ ! -x "$PK" ]; then
	echo "bench: $PK: not executable" >&2
	exit 1
fi

mkdir -p "$STORE" || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/pickled-bench.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
# The binary under test, copied: a rebuild during the run changes nothing.
cp "$PK" "$W/pickled" || exit 1
PK=$W/pickled
: > "$LOG"
: > "$W/table"
: > "$W/cpu"

# The settings under test come from the command line only.
for v in $(env | sed -n 's/^\(PICKLED_[A-Z_]*\)=.*/\1/p'); do
	unset "$v"
done
XDG_CONFIG_HOME=$W/xdg
export XDG_CONFIG_HOME
mkdir -p "$XDG_CONFIG_HOME"

MiB=1048576
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	LOG_BYTES=$((20 * MiB)) BIG_BYTES=$((200 * MiB)) INPUT_BYTES=$((100 * MiB))
	ENTRIES=10000 R_TINY=120 T_ROUNDS=6 R_BIG=4 B_ROUNDS=2 R_PACED=2 R_LIST=3
else
	LOG_BYTES=$((200 * MiB)) BIG_BYTES=$((2048 * MiB)) INPUT_BYTES=$((1024 * MiB))
	ENTRIES=100000 R_TINY=600 T_ROUNDS=20 R_BIG=15 B_ROUNDS=3 R_PACED=6 R_LIST=5
fi
RATE=100000000       # bytes/s of the paced producer
BURSTS=10485760/0.1  # the bursty producer: 10 MiB at once, then 0.1 s of sleep
LEVEL=$(sed -n 's/^#define PK_DEFAULT_LEVEL \([0-9][0-9]*\).*/\1/p' "$ROOT/lib/defaults.h")
LEVEL=${LEVEL:-1}

note() { printf 'bench: %s\n' "$*" >&2; printf '== %s\n' "$*" >> "$LOG"; }

human() {   # bytes -> "200 MiB"
	awk -v b="$1" 'BEGIN {
		split("B KiB MiB GiB TiB", u, " "); i = 1
		while (b >= 1024 && i < 5) { b /= 1024; i++ }
		printf (b == int(b) ? "%d %s" : "%.1f %s"), b, u[i] }'
}

secs() {    # seconds -> "1.23 ms" / "2.10 s"
	awk -v s="$1" 'BEGIN {
		if (s == "") print "error"
		else if (s < 1) printf "%.3g ms", s * 1000
		else printf "%.3g s", s }'
}

row() { printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$@" >> "$W/table"; }

# ratio_row FIGURE BASELINE MAX: a row from BASE_MED and PK_MED.
ratio_row() {
	if [ -z "$BASE_MED" ] || [ -z "$PK_MED" ]; then
		row "$1" "$2" "$(secs "$BASE_MED")" "$(secs "$PK_MED")" "-" "<= ${3}x" \
		    "**FAIL** (a command failed, see bench/.cache/bench.log)"
		return
	fi
	r=$(awk -v a="$PK_MED" -v b="$BASE_MED" 'BEGIN { printf "%.2f", a / b }')
	if [ -n "${PK_CPU:-}" ] && [ -n "${BASE_CPU:-}" ]; then
		printf '| %s | %s | %s | %s |\n' "$1" "$(secs "$BASE_CPU")" "$(secs "$PK_CPU")" \
		    "$(awk -v a="$PK_CPU" -v b="$BASE_CPU" 'BEGIN { printf (b > 0 ? "%.2fx" : "-"), a / b }')" \
		    >> "$W/cpu"
	fi
	ok=$(awk -v r="$r" -v m="$3" 'BEGIN { print (r <= m) ? "pass" : "**FAIL**" }')
	row "$1" "$2" "$(secs "$BASE_MED")" "$(secs "$PK_MED")" "${r}x" "<= ${3}x" "$ok"
}

# median FILE: the median of the numbers in FILE, one a line.
median() {
	sort -g "$1" | awk '{ a[NR] = $1 } END {
		if (NR > 0) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# run_times JSON N: the run times of hyperfine's Nth command, one a line.
run_times() {
	awk -v n="$2" '/"times": *\[/ { r++; t = 1; next }
		t && /\]/ { t = 0; next }
		t && r == n { gsub(/[ ,]/, ""); print }' "$1"
}

# run_cpu JSON N: the mean user + system time of hyperfine's Nth command.
run_cpu() {
	awk -v n="$2" '/"command":/ { r++ }
		r == n && /"(user|system)":/ { gsub(/[ ,]/, ""); split($0, f, ":"); t += f[2] }
		END { print t + 0 }' "$1"
}

# compare ROUNDS WARMUP RUNS BASE_NAME BASE_CMD PICKLED_CMD
# Times both with hyperfine, in ROUNDS rounds of RUNS/ROUNDS runs each with
# the order swapped every round, so that a change in the machine's load
# falls on both alike.  BASE_PREP and PK_PREP, when set, are --prepare
# commands.  Sets BASE_MED and PK_MED: medians of all runs (s), or empty;
# BASE_CPU and PK_CPU: user + system time per run, the mean of the rounds.
compare() {
	rounds=$1 warm=$2 runs=$3 bname=$4 bcmd=$5 pcmd=$6
	per=$(((runs + rounds - 1) / rounds)) i=0
	: > "$W/base.t"
	: > "$W/pk.t"
	: > "$W/base.cpu"
	: > "$W/pk.cpu"
	BASE_MED='' PK_MED='' BASE_CPU='' PK_CPU=''
	while [ "$i" -lt "$rounds" ]; do
		rm -f "$W/hf.json"
		if [ $((i % 2)) -eq 0 ]; then
			set -- -n "$bname" "$bcmd" -n pickled "$pcmd"
			[ -n "${BASE_PREP:-}" ] && set -- --prepare "$BASE_PREP" --prepare "$PK_PREP" "$@"
			b=1 p=2
		else
			set -- -n pickled "$pcmd" -n "$bname" "$bcmd"
			[ -n "${BASE_PREP:-}" ] && set -- --prepare "$PK_PREP" --prepare "$BASE_PREP" "$@"
			b=2 p=1
		fi
		hyperfine -N --style basic --warmup "$warm" --runs "$per" \
		    --export-json "$W/hf.json" "$@" >> "$LOG" 2>&1 || return
		run_times "$W/hf.json" "$b" >> "$W/base.t"
		run_times "$W/hf.json" "$p" >> "$W/pk.t"
		run_cpu "$W/hf.json" "$b" >> "$W/base.cpu"
		run_cpu "$W/hf.json" "$p" >> "$W/pk.cpu"
		i=$((i + 1))
	done
	BASE_MED=$(median "$W/base.t")
	PK_MED=$(median "$W/pk.t")
	BASE_CPU=$(awk '{ t += $1 } END { if (NR) print t / NR }' "$W/base.cpu")
	PK_CPU=$(awk '{ t += $1 } END { if (NR) print t / NR }' "$W/pk.cpu")
}

# rotate ROUNDS EXTRACT NAMES CMD...: times the commands (named by the
# words of NAMES, in order) with hyperfine in ROUNDS rounds of 3 runs, the
# order rotated by one each round, so that a change in the machine's load
# falls on all alike; appends EXTRACT JSON K (run_times or run_cpu) of
# each command to $W/t.NAME, emptied first.  Fails if a command failed.
rotate() {
	rot_n=$1 rot_x=$2 rot_names=$3 rot_i=0
	shift 3
	for rot_name in $rot_names; do : > "$W/t.$rot_name"; done
	while [ "$rot_i" -lt "$rot_n" ]; do
		rot_flags=
		for rot_name in $rot_names; do rot_flags="$rot_flags -n $rot_name"; done
		rm -f "$W/hf.json"
		# shellcheck disable=SC2086 # the flags are words without spaces
		hyperfine -N --style basic --warmup 1 --runs 3 --export-json "$W/hf.json" \
		    $rot_flags "$@" >> "$LOG" 2>&1 || return
		rot_k=1
		for rot_name in $rot_names; do
			"$rot_x" "$W/hf.json" "$rot_k" >> "$W/t.$rot_name"
			rot_k=$((rot_k + 1))
		done
		# The first to the end.
		rot_names="${rot_names#* } ${rot_names%% *}"
		rot_c=$1
		shift
		set -- "$@" "$rot_c"
		rot_i=$((rot_i + 1))
	done
}

# time_one WARMUP RUNS CMD [HYPERFINE_ARGS...]: prints the median.
time_one() {
	warm=$1 runs=$2 cmd=$3
	shift 3
	rm -f "$W/hf.json"
	hyperfine -N --style basic --warmup "$warm" --runs "$runs" \
	    --export-json "$W/hf.json" "$@" "$cmd" >> "$LOG" 2>&1 || return
	run_times "$W/hf.json" 1 > "$W/one.t"
	median "$W/one.t"
}

# is_hit DIR RUN_ARGS...: whether `pickled run` replays a stored result.
is_hit() {
	d=$1
	shift
	"$PK" -C "$d" run --explain "$@" 2>&1 > /dev/null | grep -q '^pickled: hit'
}

# peak CMD...: the peak resident memory of CMD and its children, in KiB.
peak() {
	/usr/bin/time -f %M -o "$W/peak" "$@" > /dev/null 2>> "$LOG" && tail -n 1 "$W/peak"
}

mem_row() {   # FIGURE KIB
	if [ -z "$2" ]; then
		row "$1" "-" "-" "error" "-" "<= 32 MiB" "**FAIL** (see bench/.cache/bench.log)"
		return
	fi
	ok=$(awk -v k="$2" 'BEGIN { print (k <= 32 * 1024) ? "pass" : "**FAIL**" }')
	row "$1" "-" "-" "$(awk -v k="$2" 'BEGIN { printf "%.1f MiB", k / 1024 }')" "-" "<= 32 MiB" "$ok"
}

abs_row() {   # FIGURE MEDIAN LIMIT_SECONDS
	ok=$(awk -v s="$2" -v m="$3" 'BEGIN { print (s != "" && s < m) ? "pass" : "**FAIL**" }')
	row "$1" "-" "-" "$(secs "$2")" "-" "< $3 s" "$ok"
}

# rchar CMD...: bytes read by CMD and its children (/proc/PID/io rchar of a
# shell that has waited for them: the kernel adds a reaped child's counts).
rchar() {
	sh -c '"$@" > /dev/null 2>&1; sed -n "s/^rchar: //p" /proc/$$/io' sh "$@"
}

# wchar CMD...: the same for the bytes written.
wchar() {
	sh -c '"$@" > /dev/null 2>&1; sed -n "s/^wchar: //p" /proc/$$/io' sh "$@"
}

# The processor the figures were taken on: the kernel's model name (x86),
# else what it says of the processor (other architectures).
CPU_MODEL=$(sed -n 's/^\(model name\|Model\|Processor\|cpu model\)[[:space:]]*: *//p' /proc/cpuinfo |
    head -n 1 | tr -s ' ')
CPU_MODEL=${CPU_MODEL:-unknown $(uname -m) processor}

# update_readme README RESULTS: puts RESULTS into README as the table of
# CPU_MODEL, between "<!-- bench: MODEL -->" and "<!-- /bench -->" lines
# in place of the earlier one, or as a new one before the line
# "<!-- bench: end -->".  The other processors' tables are kept.
update_readme() {
	grep -q '^<!-- bench: end -->$' "$1" || return 1
	BENCH_MODEL=$CPU_MODEL BENCH_RESULTS=$2 awk '
		function block() {
			print "<!-- bench: " ENVIRON["BENCH_MODEL"] " -->"
			print "### " ENVIRON["BENCH_MODEL"]
			print ""
			while ((getline l < ENVIRON["BENCH_RESULTS"]) > 0)
				print l
			print "<!-- /bench -->"
			done = 1
		}
		$0 == "<!-- bench: " ENVIRON["BENCH_MODEL"] " -->" { block(); skip = 1; next }
		skip && $0 == "<!-- /bench -->" { skip = 0; next }
		skip { next }
		$0 == "<!-- bench: end -->" && !done { block(); print ""; print; next }
		{ print }' "$1" > "$1.tmp" && mv "$1.tmp" "$1"
}

START=$(date +%s)
note "building the workload generator"
GEN=$W/gen
$CC -O2 -std=c11 -o "$GEN" "$BENCH/gen.c" || exit 1

note "generating $(human "$LOG_BYTES") of log text and its zstd -$LEVEL copy"
"$GEN" log 1 1024 > "$W/small.txt"
"$GEN" log 1 "$LOG_BYTES" > "$W/log.txt"
zstd -q -"$LEVEL" -c "$W/log.txt" > "$W/log.txt.zst"
L=$(human "$LOG_BYTES")
B=$(human "$BIG_BYTES")
I=$(human "$INPUT_BYTES")

# --- hit, 1 KiB --------------------------------------------------------------
note "hit, 1 KiB output"
"$PK" -C "$W/c-small" run -- cat "$W/small.txt" > /dev/null
is_hit "$W/c-small" -- cat "$W/small.txt" || note "warning: no hit for the 1 KiB entry"
compare "$T_ROUNDS" 5 "$R_TINY" cat "cat $W/small.txt" "$PK -C $W/c-small run -- cat $W/small.txt"
ratio_row "hit, 1 KiB output" "\`cat\` of a 1 KiB file" 1.10

# --- miss and hit, log text ------------------------------------------------------
note "miss, $L of log text from cat (each run forced with run -f)"
compare "$B_ROUNDS" 1 "$R_BIG" "zstd -$LEVEL -T0" "zstd -$LEVEL -T0 -c $W/log.txt" \
    "$PK -C $W/c-log run -f -- cat $W/log.txt"
ratio_row "miss, $L log-like output, instant producer (\`cat\` of a file)" \
    "\`zstd -$LEVEL -T0 -c\` of the file" 1.15

note "hit, $L of log text"
is_hit "$W/c-log" -- cat "$W/log.txt" || note "warning: no hit for the $L entry"
compare "$B_ROUNDS" 1 "$R_BIG" "zstd -dcq" "zstd -dcq $W/log.txt.zst" "$PK -C $W/c-log run -- cat $W/log.txt"
ratio_row "hit, $L log-like output" "\`zstd -dcq\` of it at level $LEVEL" 1.10

# --- remote hit, authenticated or not (issue #21 item 8) --------------------------
# The same $L entry fetched from a private redis-server into an empty local
# cache and replayed: with remote.secret_file (keyed BLAKE2b over the whole
# value, then no second decoding pass) against without (the value decoded
# in full before it is stored).
if command -v redis-server > /dev/null 2>&1; then
	note "remote hit, $L, sealed with remote.secret_file against unsealed"
	RS=$W/redis.sock
	redis-server --port 0 --unixsocket "$RS" --unixsocketperm 700 --save '' --appendonly no \
	    --dir "$W" --daemonize yes --pidfile "$W/redis.pid" --logfile "$W/redis.log" >> "$LOG" 2>&1
	i=0
	while [ ! -S "$RS" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	head -c 32 /dev/urandom > "$W/secret"
	chmod 600 "$W/secret"
	printf 'remote:\n  url: "redis+unix://%s"\n  prefix: "plain:"\n  max_entry: 1G\n  timeout: 10s\n' \
	    "$RS" > "$W/plain.conf"
	printf 'remote:\n  url: "redis+unix://%s"\n  prefix: "sealed:"\n  max_entry: 1G\n  timeout: 10s\n  secret_file: %s\n' \
	    "$RS" "$W/secret" > "$W/sealed.conf"
	chmod 600 "$W/plain.conf" "$W/sealed.conf"
	"$PK" -c "$W/plain.conf" -C "$W/r-up-plain" run -- cat "$W/log.txt" > /dev/null
	"$PK" -c "$W/sealed.conf" -C "$W/r-up-sealed" run -- cat "$W/log.txt" > /dev/null
	BASE_PREP="rm -rf $W/r-down-plain" PK_PREP="rm -rf $W/r-down-sealed"
	compare "$B_ROUNDS" 1 "$R_BIG" "unsealed remote hit" \
	    "$PK -c $W/plain.conf -C $W/r-down-plain run -- cat $W/log.txt" \
	    "$PK -c $W/sealed.conf -C $W/r-down-sealed run -- cat $W/log.txt"
	BASE_PREP='' PK_PREP=''
	ratio_row "remote hit, $L log-like output, sealed (\`remote.secret_file\`)" \
	    "the same remote hit, unsealed" 1.25
	kill "$(cat "$W/redis.pid")" 2> /dev/null
	rm -rf "$W/r-up-plain" "$W/r-up-sealed" "$W/r-down-plain" "$W/r-down-sealed"
else
	row "remote hit, $L, sealed" "unsealed" "-" "-" "-" "<= 1.25x" "**FAIL** (no redis-server)"
fi

# --- remote hit of a 200 MiB entry over TCP loopback (issue #13 item 8) -----------
# Incompressible bytes, so that the entry in Redis is 200 MiB: fetched into
# an empty local cache, checked, stored and replayed, against redis-cli
# --raw GET of the same values (its parts and manifest) to /dev/null, one
# after the other.  And the peak memory of that remote hit.
if command -v redis-server > /dev/null 2>&1 && command -v redis-cli > /dev/null 2>&1; then
	note "remote hit, 200 MiB entry over TCP loopback, against redis-cli --raw GET"
	RP=$((20000 + $$ % 20000))
	redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no \
	    --dir "$W" --daemonize yes --pidfile "$W/redis-tcp.pid" --logfile "$W/redis-tcp.log" >> "$LOG" 2>&1
	i=0
	while [ "$(redis-cli -p "$RP" PING 2> /dev/null)" != PONG ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	head -c $((200 * MiB)) /dev/urandom > "$W/rand.bin"
	printf 'remote:\n  url: "redis://127.0.0.1:%s"\n  max_entry: 1G\n  timeout: 10s\n' "$RP" > "$W/tcp.conf"
	chmod 600 "$W/tcp.conf"
	"$PK" -c "$W/tcp.conf" -C "$W/r-up" run -- cat "$W/rand.bin" > /dev/null
	# The entry is in parts of 32 MiB: the baseline GETs each of them.
	redis-cli -p "$RP" --scan --pattern 'pickled:*' | sort |
	    sed "s|.*|redis-cli -p $RP --raw GET '&' > /dev/null|" > "$W/getall.sh"
	BASE_PREP="true" PK_PREP="rm -rf $W/r-down"
	compare "$B_ROUNDS" 1 "$R_BIG" "redis-cli --raw GET" \
	    "sh $W/getall.sh" \
	    "$PK -c $W/tcp.conf -C $W/r-down run -- cat $W/rand.bin"
	BASE_PREP='' PK_PREP=''
	ratio_row "remote hit, 200 MiB entry, TCP loopback (fetch, check, store, replay)" \
	    "\`redis-cli --raw GET\` of its values to /dev/null (the sum)" 1.50
	rm -rf "$W/r-down"
	mem_row "peak memory, remote hit, 200 MiB entry" \
	    "$(peak "$PK" -c "$W/tcp.conf" -C "$W/r-down" run -- cat "$W/rand.bin")"
	kill "$(cat "$W/redis-tcp.pid")" 2> /dev/null
	rm -rf "$W/r-up" "$W/r-down" "$W/rand.bin"
else
	row "remote hit, 200 MiB entry" "redis-cli --raw GET" "-" "-" "-" "<= 1.50x" "**FAIL** (no redis-server)"
fi

note "miss, $L of log text paced at $((RATE / 1000000)) MB/s"
compare 2 1 "$R_PACED" "bare producer" "$GEN log 2 $LOG_BYTES $RATE" \
    "$PK -C $W/c-paced run -f -- $GEN log 2 $LOG_BYTES $RATE"
ratio_row "miss, $L log-like output, producer paced at $((RATE / 1000000)) MB/s" \
    "the bare producer" 1.05

# The same bytes as the paced producer's, written in bursts: a job that
# computes, writes a large block at once, computes again.  The miss must
# take a burst in at memory speed and compress it during the pause.
note "miss, $L of log text in bursts of 10 MiB 0.1 s apart"
compare 2 1 "$R_PACED" "bare producer" "$GEN log 2 $LOG_BYTES $BURSTS" \
    "$PK -C $W/c-bursts run -f -- $GEN log 2 $LOG_BYTES $BURSTS"
ratio_row "miss, $L log-like output, producer writing 10 MiB bursts 0.1 s apart" \
    "the bare producer" 1.05
rm -rf "$W/c-log" "$W/c-paced" "$W/c-bursts"

# --- peak memory ---------------------------------------------------------------
note "peak memory, miss and hit, $L (cat of the file) and $B (streamed)"
M=$W/c-mem
mem_row "peak memory, miss, $L output (\`cat\` of a file)" \
    "$(peak "$PK" -C "$M" run -- cat "$W/log.txt")"
mem_row "peak memory, hit, $L output" "$(peak "$PK" -C "$M" run -- cat "$W/log.txt")"
rm -f "$W/log.txt" "$W/log.txt.zst"
mem_row "peak memory, miss, $B output (streamed by the generator)" \
    "$(peak "$PK" -C "$M" run -- "$GEN" log 3 "$BIG_BYTES")"
is_hit "$M" -- "$GEN" log 3 "$BIG_BYTES" || note "warning: no hit for the $B entry"
mem_row "peak memory, hit, $B output" "$(peak "$PK" -C "$M" run -- "$GEN" log 3 "$BIG_BYTES")"
rm -rf "$M"

# --- declared input -------------------------------------------------------------
note "hashing a declared $I input"
"$GEN" bin 1 "$INPUT_BYTES" > "$W/input.bin"
sleep 2   # pickled trusts a file's stat only once it is 2 s old
IN=$W/c-input
"$PK" -C "$IN" run -i "$W/input.bin" -- true
BASE_PREP=true PK_PREP="rm -rf $IN/inputs"
compare "$B_ROUNDS" 1 "$R_BIG" "xxhsum -H2" "xxhsum -H2 $W/input.bin" "$PK -C $IN run -i $W/input.bin -- true"
BASE_PREP='' PK_PREP=''
ratio_row "first hashing of a declared $I input" "\`xxhsum -H2\` of it" 1.00

note "repeat run with the input unchanged: bytes read"
rm -rf "$IN/inputs"
first=$(rchar "$PK" -C "$IN" run -i "$W/input.bin" -- true)
again=$(rchar "$PK" -C "$IN" run -i "$W/input.bin" -- true)
ok=$(awk -v r="$again" 'BEGIN { print (r != "" && r < 1048576) ? "pass" : "**FAIL**" }')
row "repeat run, $I input unchanged: bytes read (rchar)" "first run (hashes it)" \
    "$(human "${first:-0}")" "$(human "${again:-0}")" \
    "$(awk -v a="$again" -v b="$first" 'BEGIN { printf (b > 0 ? "%.6f" : "-"), a / b }')" \
    "input not read again (< 1 MiB)" "$ok"
rm -rf "$IN"

# The same bytes as a declared output file (issue #23 items 3 and 4): a hit
# reads the entry once to restore it, and writes nothing when the file
# already holds them.
note "hits of a declared $I output file: bytes read and written"
OC=$W/c-output
mkdir -p "$W/od"
# The file is random bytes: its entry is over the default max_entry and
# max_size (1G each).
out_run() {
	(cd "$W/od" && "$@" env PICKLED_MAX_ENTRY=2G PICKLED_MAX_SIZE=4G "$PK" -C "$OC" run -o out.bin -- cp "$W/input.bin" out.bin)
}
out_run
esize=$(find "$OC/v1" -type f ! -name '*.hits' -exec stat -c %s {} +)
rm "$W/od/out.bin"
read_restore=$(out_run rchar)
ok=$(awk -v r="$read_restore" -v e="$esize" 'BEGIN { print (r != "" && r <= 1.1 * e) ? "pass" : "**FAIL**" }')
row "hit restoring a deleted $I \`-o\` file: bytes read (rchar)" "the entry's size" \
    "$(human "${esize:-0}")" "$(human "${read_restore:-0}")" \
    "$(awk -v a="$read_restore" -v b="$esize" 'BEGIN { printf (b > 0 ? "%.2fx" : "-"), a / b }')" \
    "<= 1.10x (the entry read once)" "$ok"
sleep 2   # the restored file's stat is trusted once it is 2 s old
out_run > /dev/null   # hashes the file, records its stat
written=$(out_run wchar)
ok=$(awk -v w="$written" 'BEGIN { print (w != "" && w < 1048576) ? "pass" : "**FAIL**" }')
row "hit with the $I \`-o\` file unchanged: bytes written (wchar)" "-" "-" \
    "$(human "${written:-0}")" "-" "file left alone (< 1 MiB)" "$ok"
rm -rf "$OC" "$W/od" "$W/input.bin"

# --- many entries ----------------------------------------------------------------
E=$STORE/entries-$ENTRIES
if [ -f "$E.done" ] && is_hit "$E" --ttl forever -k 1 -- true &&
    is_hit "$E" --ttl forever -k "$ENTRIES" -- true; then
	note "reusing the $ENTRIES entries in $E"
	POPULATED="reused from an earlier run ($(cat "$E.done"))"
else
	note "populating $ENTRIES entries in $E (once; kept for later runs)"
	rm -rf "$E" "$E.done"
	t0=$(date +%s)
	# bench/populate.c writes the entries `run --ttl forever -k N -- true`
	# would, through lib/ (100x faster than 100,000 processes); the hits
	# checked above prove it wrote pickled's own keys.
	POP=$W/populate
	if $CC -O2 -std=c11 -D_GNU_SOURCE -I"$BENCH/../lib" -o "$POP" "$BENCH/populate.c" "$BENCH/../lib/libpickled.a" \
	    -Wl,-Bstatic $(pkg-config --libs libzstd libxxhash yaml-0.1 hiredis libsodium) -Wl,-Bdynamic \
	    -lpthread && "$POP" "$E" "$ENTRIES"; then
		POPULATED="populated in $(($(date +%s) - t0)) s with bench/populate.c"
		echo "$POPULATED, $(date -u +%Y-%m-%d)" | sed 's/^populated/first populated/' > "$E.done"
	else
		POPULATED="population FAILED"
	fi
fi
S=$W/c-ten
for k in 1 2 3 4 5 6 7 8 9 10; do
	"$PK" -C "$S" run --ttl forever -k "$k" -- true
done

note "hit with $ENTRIES entries against a hit with 10"
compare "$T_ROUNDS" 5 "$R_TINY" "10 entries" "$PK -C $S run --ttl forever -k 5 -- true" \
    "$PK -C $E run --ttl forever -k 5 -- true"
ratio_row "hit with $ENTRIES entries in the cache" "hit with 10 entries" 1.10

note "ls, stats, gc --dry-run over $ENTRIES entries"
abs_row "\`pickled ls\` over $ENTRIES entries" "$(time_one 1 "$R_LIST" "$PK -C $E ls")" 1
abs_row "\`pickled stats\` over $ENTRIES entries" "$(time_one 1 "$R_LIST" "$PK -C $E stats")" 1
abs_row "\`pickled gc --dry-run\` over $ENTRIES entries" \
    "$(time_one 1 "$R_LIST" "$PK -C $E gc --dry-run")" 2

# --- configuration ---------------------------------------------------------------
note "hit with a 50-line configuration file"
CONF=$W/pickled.conf
C=$W/c-config
# Every top-level key at its default (the run does the same work with or
# without the file; only the loading differs), and a few named jobs.
cat > "$CONF" <<EOF
# pickled.conf for the benchmark: each key at its default, and four jobs.
cache_dir: $C
ttl: 1d
stale: 0s
max_size: 1G
compression_level: $LEVEL
compression_threads: 0
cache_failures: false
env: []
stdin: auto
program_check: mtime
lock_timeout: 1h
gc:
  auto: true
  interval: 1d
remote:
  url: null
  mode: read-write
  timeout: 1s
  prefix: "pickled:"
jobs:
  nightly-report:
    command: [/usr/local/bin/report, --all]
    ttl: 6h
    stale: 1h
    inputs: [/srv/data/*.csv]
    outputs: [/srv/www/report.html]
    env: [TZ]
    tags: [reports]
  disk-usage:
    command: [du, -sh, /srv]
    ttl: 1h
    stale: 10m
    cache_failures: true
    lock_timeout: 5m
    tags: [monitoring]
  exchange-rates:
    command: [curl, -fsS, "https://rates.example.com/latest.json"]
    ttl: 15m
    cache_failures: false
    lock_timeout: 2m
    key: rates-v2
  weekly-archive:
    command: [/usr/local/bin/archive, --week]
    ttl: 7d
    inputs: [/srv/data/archive/]
    outputs: [/srv/www/archive.tar.gz]
    cwd: true
    stdin: never
    tags: [archive, weekly]
EOF
chmod 600 "$CONF"
if ! "$PK" config --check "$CONF" >> "$LOG" 2>&1; then
	note "warning: pickled config --check rejects the benchmark's config (see the log)"
fi
"$PK" -C "$C" run -k config -- true
if "$PK" -c "$CONF" config 2> /dev/null | grep -qF "$CONF"; then
	# pickled keeps a parsed copy of a configuration once the file is two
	# seconds old (DIR/config-HASH.cache): what every run after the first
	# pays.  Wait for that, let a run write the copy, check it is there.
	sleep 2.2
	"$PK" -c "$CONF" -C "$C" run -k config -- true
	ls "$C"/config-*.cache > /dev/null 2>&1 ||
	    note "warning: no parsed copy of the configuration in $C"
	NLINES=$(wc -l < "$CONF")
	compare "$T_ROUNDS" 5 "$R_TINY" "no config file" "$PK -C $C run -k config -- true" \
	    "$PK -c $CONF -C $C run -k config -- true"
	ratio_row "hit with a $NLINES-line config (\`-c FILE\`)" "hit without a config file" 1.05
	# For the record, not a target: the first run after an edit parses the
	# YAML (and keeps a new copy).  The last line, a comment, is rewritten
	# before each run: the content changes, so the copy never matches.
	printf '#!/bin/sh\nsed -i '"'"'$d'"'"' "$1" && date +"# %%N" >> "$1"\n' > "$W/edit-conf"
	chmod +x "$W/edit-conf"
	echo '# 0' >> "$CONF"
	cp "$CONF" "$W/unread.conf"   # the baseline's prepare does the same work
	BASE_PREP="$W/edit-conf $W/unread.conf" PK_PREP="$W/edit-conf $CONF"
	compare "$T_ROUNDS" 5 "$R_TINY" "no config file" "$PK -C $C run -k config -- true" \
	    "$PK -c $CONF -C $C run -k config -- true"
	BASE_PREP='' PK_PREP=''
	if [ -n "$BASE_MED" ] && [ -n "$PK_MED" ]; then
		row "hit with the $NLINES-line config just edited (parsed, as the first run after an edit)" \
		    "hit without a config file" "$(secs "$BASE_MED")" "$(secs "$PK_MED")" \
		    "$(awk -v a="$PK_MED" -v b="$BASE_MED" 'BEGIN { printf "%.2fx", a / b }')" \
		    "-" "for the record"
	fi
elif PICKLED_CONFIG=$CONF "$PK" config 2> /dev/null | grep -qF "$CONF"; then
	BASE_CPU='' PK_CPU=''
	BASE_MED=$(time_one 10 "$R_TINY" "$PK -C $C run -k config -- true")
	PK_MED=$(PICKLED_CONFIG=$CONF && export PICKLED_CONFIG &&
	    time_one 10 "$R_TINY" "$PK -C $C run -k config -- true")
	ratio_row "hit with a $(wc -l < "$CONF")-line config (\`PICKLED_CONFIG\`; -c not usable)" \
	    "hit without a config file" 1.05
else
	row "hit with a 50-line config" "hit without a config file" "-" "-" "-" "<= 1.05x" \
	    "**FAIL** (pickled does not read a config file: neither -c nor PICKLED_CONFIG)"
fi

# --- traced runs (issue #15): bench/trace.sh ------------------------------------
. "$BENCH/trace.sh"

# --- traced runs above the tracer (issue #15): bench/traced.sh -------------------
. "$BENCH/traced.sh"

# --- the table -------------------------------------------------------------------
OUT=$STORE/results.md
{
	echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); processor: $CPU_MODEL;" \
	    "machine: $(nproc) CPUs," \
	    "$(awk '/^MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo);" \
	    "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "Command: \`${BENCH_QUICK:+BENCH_QUICK=$BENCH_QUICK }make bench\`" \
	    "(hyperfine $(hyperfine --version | cut -d' ' -f2), zstd $(zstd -V | sed -n 's/.* v\([0-9.]*\),.*/\1/p'));" \
	    "took $(($(date +%s) - START)) s; $ENTRIES entries $POPULATED."
	echo
	echo "| figure | baseline | baseline median | pickled median | ratio | target | result |"
	echo "|---|---|---|---|---|---|---|"
	cat "$W/table"
	echo
	echo "CPU time per run (user + system, mean), less sensitive to other load on the machine:"
	echo
	echo "| figure | baseline CPU | pickled CPU | ratio |"
	echo "|---|---|---|---|"
	cat "$W/cpu"
} > "$OUT"
cat "$OUT"
echo
echo "(hyperfine output: bench/.cache/bench.log; this table: bench/.cache/results.md)"
# A full run replaces this processor's table in bench/README.md (or adds
# one): a figure taken on one processor is never read as true for all.  A
# quick run, at a tenth of the sizes, is not a result to keep.
if [ "${BENCH_QUICK:-0}" != 1 ]; then
	if update_readme "$BENCH/README.md" "$OUT"; then
		echo "(bench/README.md: the table for \"$CPU_MODEL\" updated)"
	else
		echo "bench: could not update bench/README.md" >&2
	fi
fi
exit 0
