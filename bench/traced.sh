# traced.sh: the figures of pickled run --trace above the tracer (issue
# #15), sourced by run.sh before the table is printed; it uses run.sh's W,
# LOG, CC, BENCH, PK, row, secs, median, rotate, run_times, run_cpu and
# rchar.
#
# - the seed-like job: a Python script reading 200 CSV files (about a
#   second bare), a traced miss against an untraced one (both forced, the
#   order rotated each round).  Target: <= 1.10x.
# - a traced hit with about 2,000 recorded paths minus an untraced hit of
#   the same command, divided by the paths recorded (show's "traced input"
#   lines), against one stat call timed in the same run (bench/statloop.c:
#   the same files stat'ed, rounds of them, minus a run with none).
#   Target: <= 1.2x.  Compared in CPU time (user + system, hyperfine's
#   means): the difference is a few milliseconds, which the wall clock of a
#   shared machine drowns; the wall-clock figures are in the CPU table.  Beside it, rchar: the bytes a traced hit reads beyond
#   an untraced one, which must stay under the manifest's size plus 64 KiB
#   (no input file read when nothing changed; the inputs are 8 MiB).

traced_figures() {
	# The interpreter itself: a version manager's python3 on PATH (pyenv's
	# shim is a bash script starting some forty processes) is another job.
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=$(command -v python3)
	if [ -z "$PY" ]; then
		row "traced figures" "-" "-" "-" "-" "-" "**FAIL** (no python3)"
		return
	fi
	T=$W/traced
	mkdir -p "$T/csv" "$T/many" || return
	if [ "${BENCH_QUICK:-0}" = 1 ]; then rows=300 rounds=2; else rows=3000 rounds=4; fi
	python3 - "$T/csv" "$rows" <<-'EOF' 2>> "$LOG" || return
	import random, sys
	random.seed(15)
	for i in range(200):
	    with open(f"{sys.argv[1]}/part{i:03d}.csv", "w") as f:
	        f.write("id,name,value,ratio\n")
	        for r in range(int(sys.argv[2])):
	            f.write(f"{r},n{random.randrange(10**6)},{random.randrange(10**9)},{random.random():.6f}\n")
	EOF
	cat > "$T/preprocess.py" <<-'EOF'
	import csv, glob, pickle, sys
	from collections import defaultdict
	sums = defaultdict(float)
	for path in sorted(glob.glob(sys.argv[1] + "/*.csv")):
	    with open(path, newline="") as f:
	        for row in csv.DictReader(f):
	            sums[row["name"][:3]] += float(row["value"]) * float(row["ratio"])
	sys.stdout.buffer.write(pickle.dumps(dict(sums))[:64])
	EOF
	export PICKLED_CACHE_DIR="$T/cache"
	plain="$PK run -f -- $PY $T/preprocess.py $T/csv"
	traced="$PK run -f --trace -- $PY $T/preprocess.py $T/csv"
	rotate "$rounds" run_times "plain traced" "$plain" "$traced" || {
		row "seed-like job: traced miss" "untraced miss" "-" "-" "-" "<= 1.10x" \
		    "**FAIL** (a command failed, see bench/.cache/bench.log)"
		return
	}
	BASE_MED=$(median "$W/t.plain") PK_MED=$(median "$W/t.traced") PK_CPU= BASE_CPU=
	ratio_row "seed-like job (Python, 200 CSV files): traced miss" "untraced miss" 1.10

	# 2,000 files of 4 KiB, read by one cat.
	n=0
	while [ "$n" -lt 2000 ]; do
		head -c 4096 /dev/zero > "$T/many/f$n"
		n=$((n + 1))
	done
	touch -d '1 hour ago' "$T/many"/* "$T/many"
	sleep 2   # (touch sets the ctime) a stat is trusted once 2 s old
	"$CC" -O2 -o "$T/statloop" "$BENCH/statloop.c" 2>> "$LOG" || return
	cmd="find $T/many -type f -exec cat {} + >/dev/null"
	$PK run --trace -- sh -c "$cmd" > /dev/null 2>> "$LOG"
	$PK run -- sh -c "$cmd" > /dev/null 2>> "$LOG"
	key=$($PK key --trace -- sh -c "$cmd" 2>> "$LOG")
	result=$($PK key --trace --explain -- sh -c "$cmd" 2>&1 >/dev/null |
	    sed -n 's/.*traced inputs unchanged: result //p')
	paths=$($PK show "$result" 2>> "$LOG" | grep -c '^traced input')
	mbytes=$(stat -c %s "$T/cache/manifests/$(printf %.2s "$key")/$key" 2>/dev/null)
	if [ -z "$paths" ] || [ "$paths" -lt 2000 ] || [ -z "$mbytes" ]; then
		row "traced hit, per recorded path" "one stat call" "-" "-" "-" "<= 1.2x" \
		    "**FAIL** (no traced entry, see bench/.cache/bench.log)"
		return
	fi
	rm -f "$W/hf.json"
	hyperfine -N --style basic --warmup 3 --runs 30 --export-json "$W/hf.json" \
	    -n hit "$PK run -- sh -c '$cmd'" -n traced "$PK run --trace -- sh -c '$cmd'" \
	    -n stat0 "$T/statloop $T/many 0" -n stat "$T/statloop $T/many 20" >> "$LOG" 2>&1 || {
		row "traced hit, per recorded path" "one stat call" "-" "-" "-" "<= 1.2x" \
		    "**FAIL** (a command failed, see bench/.cache/bench.log)"; return; }
	h=$(run_cpu "$W/hf.json" 1) t=$(run_cpu "$W/hf.json" 2)
	s0=$(run_cpu "$W/hf.json" 3) s=$(run_cpu "$W/hf.json" 4)
	for k in 1 2 3 4; do run_times "$W/hf.json" "$k" > "$W/t.h$k"; done
	printf '| %s | %s | %s | %s |\n' "traced hit, $paths paths (wall: untraced hit / traced hit)" \
	    "$(secs "$(median "$W/t.h1")")" "$(secs "$(median "$W/t.h2")")" "-" >> "$W/cpu"
	per=$(awk -v t="$t" -v h="$h" -v p="$paths" 'BEGIN { print (t - h) / p }')
	one=$(awk -v s="$s" -v z="$s0" 'BEGIN { print (s - z) / (2000 * 20) }')
	r=$(awk -v a="$per" -v b="$one" 'BEGIN { printf (b > 0 ? "%.2f" : "-"), a / b }')
	ok=$(awk -v r="$r" 'BEGIN { print (r != "-" && r <= 1.2) ? "pass" : "**FAIL**" }')
	row "traced hit with $paths recorded paths minus an untraced hit, per path (CPU)" "one \`stat\` call" \
	    "$(awk -v x="$one" 'BEGIN { printf "%.2f us", x * 1e6 }')" \
	    "$(awk -v x="$per" 'BEGIN { printf "%.2f us", x * 1e6 }')" "${r}x" "<= 1.2x" "$ok"
	rt=$(rchar "$PK" run --trace -- sh -c "$cmd") rh=$(rchar "$PK" run -- sh -c "$cmd")
	extra=$((rt - rh))
	ok=$(awk -v e="$extra" -v m="$mbytes" 'BEGIN { print (e <= m + 65536) ? "pass" : "**FAIL**" }')
	row "traced hit, bytes read beyond an untraced hit (rchar; inputs 8 MiB, manifest $mbytes B)" \
	    "-" "-" "$extra B" "-" "<= manifest + 64 KiB" "$ok"
	unset PICKLED_CACHE_DIR
}

traced_figures
