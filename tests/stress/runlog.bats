#!/usr/bin/env bats
# runlog.bats: the run log under load: 1,000 concurrent runs each leave their
# record, whole, also while a run that passes the log's bound trims it.

load stress

# check_names N: the log holds exactly one sound record named r1..rN, and
# no damaged line.
check_names() {
	"$PK" log -n 0 --json >"$TMP/io/log.json"
	$PYTHON - "$TMP/io/log.json" "$1" "$CACHE/runs.log" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
names = sorted(r["job"] for r in runs if r["job"] and r["job"].startswith("r"))
want = sorted("r%d" % i for i in range(1, n + 1))
missing = sorted(set(want) - set(names))
assert names == want, "missing %d records (%s...), %d extra" % (
    len(missing), missing[:5], len(names) - len(want) + len(missing))
assert all(r["exit_status"] == 0 for r in runs if r["job"] in set(want))
lines = open(sys.argv[3], "rb").read().count(b"\n")
assert lines == len(runs), "%d lines, %d sound records" % (lines, len(runs))
PY
}

@test "1,000 concurrent runs: the log keeps every record" {
	seq 1 1000 | xargs -P 100 -I{} sh -c \
		'exec "$0" run --name r{} -- true </dev/null 3>&-' "$PK"
	check_names 1000
}

@test "1,000 concurrent runs while the log passes its bound and is trimmed: none lost" {
	"$PK" run --name seed -- true </dev/null
	# Sound records up to 64 KiB short of the bound: the runs below pass it.
	$PYTHON -c '
import sys
line = open(sys.argv[1], "rb").read()
open(sys.argv[1], "wb").write(line * ((4 * 1024 * 1024 - 65536) // len(line)))' "$CACHE/runs.log"
	seq 1 1000 | xargs -P 100 -I{} sh -c \
		'exec "$0" run --name r{} -- true </dev/null 3>&-' "$PK"
	size=$(stat -c %s "$CACHE/runs.log")
	[ "$size" -le $((4 * 1024 * 1024)) ]
	[ "$size" -lt $((2 * 1024 * 1024 + 200 * 1024)) ]
	check_names 1000
}

@test "a FIFO in place of the run log or the metrics state hangs nothing; the textfile says why" {
	"$PK" run -- echo one </dev/null >/dev/null
	rm -f "$CACHE/runs.log" "$CACHE/metrics.state"
	mkfifo "$CACHE/runs.log" "$CACHE/metrics.state"
	st=0
	PICKLED_METRICS_FILE=$TMP/pickled.prom timeout 10 "$PK" run -- echo two </dev/null \
		>"$TMP/io/out" 2>"$TMP/io/err" 3>&- || st=$?
	[ "$st" = 0 ] || { echo "status $st (124: hung)"; cat "$TMP/io/err"; false; }
	printf 'two\n' >"$TMP/io/want"
	same_file "$TMP/io/want" "$TMP/io/out"
	assert_lines "$TMP/io/err" "pickled: metrics not written: $CACHE/metrics.state: not a regular file"
	[ ! -e "$TMP/pickled.prom" ]
	for cmd in "log" "stats --prometheus" "gc" "jobs"; do
		st=0
		# shellcheck disable=SC2086
		timeout 10 "$PK" $cmd </dev/null >/dev/null 2>&1 3>&- || st=$?
		[ "$st" != 124 ] || { echo "pickled $cmd hung"; false; }
	done
}
