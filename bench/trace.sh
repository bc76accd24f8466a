# trace.sh: the tracer's figures (issue #15), sourced by run.sh before the
# table is printed; it uses run.sh's W, LOG, CC, ROOT, row, mem_row,
# rotate, run_cpu and median.  TRACE_RUN is tests/trace/trace-run (lib/trace
# through lib/capture, as pickled run --trace runs a command).
#
# - cost per watched call: 100,000 stat calls (tests/trace/progs/many.c)
#   bare, traced (with the fast path, as by default), traced without the
#   fast path (-S: every call a stop, as for a static binary), and under
#   strace -f --seccomp-bpf -e trace=%file, in the same hyperfine rounds
#   (the order rotated each round); each tracer's cost is its CPU time
#   (user + system of the whole tree, hyperfine's mean per round, median
#   of the rounds) minus the bare run's, divided by the calls.  CPU time,
#   not wall time: on a shared machine the wall time of 100,000 stops is
#   mostly other processes' turn.  Target: ours <= 0.25x strace's.
# - peak memory of a traced run making 1,000,000 watched calls over
#   10,000 distinct paths: the tracer's peak RSS (with the command's, which
#   is smaller) plus trace-run's own, as trace-run reports them
#   (getrusage).  Target: <= 32 MiB.

# us SECONDS: "6.4 us"
us() { awk -v s="$1" 'BEGIN { printf "%.1f us", s * 1000000 }'; }

trace_figures() {
	if [ -z "${TRACE_RUN:-}" ] || [ ! -x "$TRACE_RUN" ]; then
		row "tracer figures" "-" "-" "-" "-" "-" "**FAIL** (no tests/trace/trace-run)"
		return
	fi
	if ! command -v strace > /dev/null 2>&1; then
		row "tracer: cost per watched call" "strace" "-" "-" "-" "<= 0.25x" "**FAIL** (no strace)"
		return
	fi
	"$CC" -O2 -o "$W/many" "$ROOT/tests/trace/progs/many.c" 2>> "$LOG" || return
	mkdir -p "$W/tr" && : > "$W/tr/n0"
	if [ "${BENCH_QUICK:-0}" = 1 ]; then n=20000 rounds=2; else n=${TRACE_N:-100000} rounds=4; fi
	bare="$W/many $n $W/tr 1"
	traced="$TRACE_RUN -o /dev/null -- $W/many $n $W/tr 1"
	slow="$TRACE_RUN -S -o /dev/null -- $W/many $n $W/tr 1"
	st="strace -f --seccomp-bpf -e trace=%file -o /dev/null $W/many $n $W/tr 1"
	rotate "$rounds" run_cpu "bare traced slow strace" "$bare" "$traced" "$slow" "$st" || {
		row "tracer: cost per watched call" "strace" "-" "-" "-" "<= 0.25x" \
		    "**FAIL** (a command failed, see bench/.cache/bench.log)"
		return
	}
	b=$(median "$W/t.bare") s=$(median "$W/t.strace")
	sc=$(awk -v s="$s" -v b="$b" -v n="$n" 'BEGIN { print (s - b) / n }')
	bare_us=$(us "$(awk -v b="$b" -v n="$n" 'BEGIN { print b / n }')")
	for kind in traced slow; do
		p=$(median "$W/t.$kind")
		# A cost below the bare run's noise shows as 0.
		pc=$(awk -v p="$p" -v b="$b" -v n="$n" 'BEGIN { c = (p - b) / n; print (c > 0 ? c : 0) }')
		r=$(awk -v p="$pc" -v s="$sc" 'BEGIN { printf (s > 0 ? "%.2f" : "-"), p / s }')
		if [ "$kind" = traced ]; then
			what="tracer: CPU cost per watched call ($n \`stat\` calls of a dynamically linked program, traced minus bare, divided; bare: $bare_us a call)"
			target="<= 0.25x"
			ok=$(awk -v r="$r" 'BEGIN { print (r != "-" && r <= 0.25) ? "pass" : "**FAIL**" }')
		else
			what="tracer without its fast path (every call a stop, as for a static binary): CPU cost per watched call"
			target="-"
			ok="(no target)"
		fi
		row "$what" "\`strace -f --seccomp-bpf -e trace=%file\`" "$(us "$sc")" "$(us "$pc")" \
		    "${r}x" "$target" "$ok"
	done

	if [ "${BENCH_QUICK:-0}" = 1 ]; then n=100000; else n=1000000; fi
	if "$TRACE_RUN" -r -o "$W/mem.rep" -- "$W/many" "$n" "$W/tr" 10000 2>> "$LOG" &&
	    grep -qx 'state: complete' "$W/mem.rep"; then
		kib=$(awk -F': ' '/^(tracer|self)-maxrss-kib:/ { t += $2 } END { print t }' "$W/mem.rep")
	else
		kib=
	fi
	mem_row "tracer: peak memory, traced run making $n watched calls over 10,000 paths (tracer + caller)" "$kib"
}

trace_figures
