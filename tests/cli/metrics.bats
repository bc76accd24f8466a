#!/usr/bin/env bats
# metrics.bats: the Prometheus metrics against the real tools: a
# node_exporter on a loopback port reads metrics.textfile through its
# textfile collector, promtool checks `stats --prometheus`; 32 concurrent
# runs add up to 32; a textfile that cannot be written costs the job nothing.

load helper

# metric FILE NAME{LABELS}: the value of one sample in FILE (empty: none).
metric() {
	awk -v s="$2" '$1 == s { print $2 }' "$1"
}

# assert_metric FILE SAMPLE VALUE
assert_metric() {
	local got
	got=$(metric "$1" "$2")
	if [ "$got" != "$3" ]; then
		echo "$2 is '$got', expected '$3'; the samples were:"
		grep '^pickled_' "$1" | head -n 60
		return 1
	fi
}

# free_port: a TCP port nothing listens on, on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_exporter DIR: node_exporter with only the textfile collector, on
# DIR; sets $URL.
start_exporter() {
	local port
	port=$(free_port)
	prometheus-node-exporter --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$1" --web.listen-address="127.0.0.1:$port" \
		>"$TMP/exporter.log" 2>&1 3>&- &
	BG_PIDS+=($!)
	URL=http://127.0.0.1:$port/metrics
	poll 10 curl -fsS -o /dev/null "$URL"
}

@test "node_exporter's textfile collector serves the series every run writes" {
	mkdir "$TMP/prom"
	printf 'metrics:\n  textfile: %s\njobs:\n  report:\n    command: [sh, -c, "sleep 0.3; echo done"]\n' \
		"$TMP/prom/pickled.prom" >"$PICKLED_CONFIG"
	start_exporter "$TMP/prom"
	pk run -j report
	assert_status 0
	assert_err ''
	pk run -j report
	pk run -j report --force
	pk run --name failing -- sh -c 'exit 3'
	assert_status 3
	pk run -- echo unnamed
	pk run -- echo unnamed
	curl -fsS "$URL" >"$TMP/scrape"
	# The collector took the file without complaint...
	assert_metric "$TMP/scrape" 'node_textfile_scrape_error' 0
	grep -q '^node_textfile_mtime_seconds{file="pickled.prom"} ' "$TMP/scrape" ||
		grep -q '^node_textfile_mtime_seconds{file=".*pickled.prom"} ' "$TMP/scrape"
	# ... and serves pickled's series with their values.
	assert_metric "$TMP/scrape" 'pickled_runs_total{result="hit"}' 2
	assert_metric "$TMP/scrape" 'pickled_runs_total{result="miss"}' 4
	assert_metric "$TMP/scrape" 'pickled_runs_total{result="stale"}' 0
	assert_metric "$TMP/scrape" 'pickled_runs_total{result="uncached"}' 0
	assert_metric "$TMP/scrape" 'pickled_job_runs_total{job="report",result="hit"}' 1
	assert_metric "$TMP/scrape" 'pickled_job_runs_total{job="report",result="miss"}' 2
	assert_metric "$TMP/scrape" 'pickled_job_runs_total{job="failing",result="miss"}' 1
	assert_metric "$TMP/scrape" 'pickled_job_last_exit_status{job="failing"}' 3
	assert_metric "$TMP/scrape" 'pickled_job_last_success_timestamp_seconds{job="failing"}' 0
	assert_metric "$TMP/scrape" 'pickled_job_last_exit_status{job="report"}' 0
	assert_metric "$TMP/scrape" 'pickled_store_failures_total' 0
	assert_metric "$TMP/scrape" 'pickled_remote_errors_total' 0
	assert_metric "$TMP/scrape" 'pickled_cache_entries' 2
	assert_metric "$TMP/scrape" 'pickled_cache_max_size_bytes' 1.073741824e+09
	# No job label for the unnamed runs; the label set is the names given.
	grep -o 'job="[^"]*"' "$TMP/scrape" | sort -u >"$TMP/labels"
	assert_bytes "$TMP/labels" 'job="failing"\njob="report"\n'
	# Seconds saved: the stored run's duration (at least the 0.3 s slept).
	python3 - "$TMP/scrape" <<'EOF'
import sys, time
v = {}
for line in open(sys.argv[1]):
    if line.startswith("pickled_"):
        name, value = line.rsplit(" ", 1)
        v[name] = float(value)
saved = v['pickled_job_saved_seconds_total{job="report"}']
assert 0.3 <= saved < 30, saved
# The unnamed hit saved its run's few milliseconds too.
assert saved <= v["pickled_saved_seconds_total"] < saved + 5, v
assert v["pickled_cache_size_bytes"] > 0
end = v['pickled_job_last_run_timestamp_seconds{job="report"}']
assert abs(end - time.time()) < 60, end
assert v['pickled_job_last_success_timestamp_seconds{job="report"}'] == end
assert 0.2 < v['pickled_job_last_run_duration_seconds{job="report"}'] < 30
EOF
	# The file itself: HELP and TYPE for each family, no timestamps, 0644.
	f=$TMP/prom/pickled.prom
	[ "$(stat -c %a "$f")" = 644 ]
	python3 - "$f" <<'EOF'
import sys
helps, types, samples = set(), set(), []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# HELP "):
        helps.add(line.split()[2])
    elif line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        types.add(name)
        assert kind in ("counter", "gauge"), line
        assert (kind == "counter") == name.endswith("_total"), line
    else:
        samples.append(line)
for s in samples:
    name = s.split("{")[0].split(" ")[0]
    assert name in helps and name in types, s
    assert len(s.split("} ")[-1].split(" ")) == 1 if "}" in s else len(s.split(" ")) == 2, s
assert helps == types
EOF
	ls -A "$TMP/prom" >"$TMP/files"
	assert_bytes "$TMP/files" 'pickled.prom\n'
}

@test "promtool check metrics accepts stats --prometheus" {
	mkdir -m 0700 "$PICKLED_CACHE_DIR"
	pk stats --prometheus
	assert_status 0
	promtool check metrics <"$TMP/io/out"
	pk run --name a.job-1 -- echo x
	pk run --name a.job-1 -- echo x
	pk run -- sh -c 'exit 2'
	pk stats --prometheus
	assert_status 0
	assert_err ''
	promtool check metrics <"$TMP/io/out"
	assert_metric "$TMP/io/out" 'pickled_runs_total{result="hit"}' 1
	assert_metric "$TMP/io/out" 'pickled_runs_total{result="miss"}' 2
	assert_metric "$TMP/io/out" 'pickled_job_runs_total{job="a.job-1",result="hit"}' 1
	# --prometheus is its own view.
	pk stats --prometheus --json
	assert_status 125
	assert_err "pickled: --prometheus cannot be used with --json\nTry 'pickled stats --help' for more information.\n"
}

@test "32 concurrent runs leave a metrics file whose counters add up to 32" {
	# The valgrind lane runs these 32 natively: memcheck sees the same
	# code in the other tests, and 32 runs under it at once take minutes.
	[ -z "${PK_VALGRIND_BIN_DIR:-}" ] || PK=$PK_VALGRIND_BIN_DIR/pickled
	mkdir "$TMP/prom"
	export PICKLED_METRICS_FILE=$TMP/prom/pickled.prom
	for i in $(seq 1 32); do
		if [ $((i % 2)) = 0 ]; then
			"$PK" run --name even -- echo same </dev/null >/dev/null 2>"$TMP/io/err$i" 3>&- &
		else
			"$PK" run --name "odd$i" -- sh -c "echo $i" </dev/null >/dev/null 2>"$TMP/io/err$i" 3>&- &
		fi
	done
	wait
	cat "$TMP"/io/err* >"$TMP/errs"
	assert_bytes "$TMP/errs" ''
	f=$PICKLED_METRICS_FILE
	total=0
	for r in hit stale miss uncached; do
		total=$((total + $(metric "$f" "pickled_runs_total{result=\"$r\"}")))
	done
	[ "$total" = 32 ] || { echo "runs add up to $total"; grep runs_total "$f"; false; }
	total=$(awk '/^pickled_job_runs_total/ { n += $2 } END { print n }' "$f")
	[ "$total" = 32 ]
	assert_metric "$f" 'pickled_job_runs_total{job="even",result="miss"}' 1
	assert_metric "$f" 'pickled_job_runs_total{job="even",result="hit"}' 15
	assert_metric "$f" 'pickled_cache_entries' 17
	promtool check metrics <"$f"
}

@test "a metrics file that cannot be written costs the job one warning, nothing else" {
	export PICKLED_METRICS_FILE=$TMP/no/such/dir/pickled.prom
	pk run -- sh -c "$CNT; echo out; echo err >&2; exit 5"
	assert_status 5
	assert_out 'out\n'
	assert_err "err\npickled: metrics not written: $TMP/no/such/dir/pickled.prom: No such file or directory\n"
	# The run still counted, and a later run with a good file shows it.
	mkdir "$TMP/prom"
	export PICKLED_METRICS_FILE=$TMP/prom/pickled.prom
	pk run -- true
	assert_err ''
	assert_metric "$PICKLED_METRICS_FILE" 'pickled_runs_total{result="miss"}' 2
	# As another user, a root-owned directory refuses the file: same.
	if [ "$(id -u)" = 0 ]; then
		chmod 0755 "$TMP" "$TMP/prom"
		mkdir "$TMP/nobody"
		chown nobody "$TMP/nobody"
		status=0
		PICKLED_CACHE_DIR=$TMP/nobody/cache setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$PK" run -- echo hi </dev/null >"$TMP/io/out" 2>"$TMP/io/err" || status=$?
		assert_status 0
		assert_out 'hi\n'
		assert_err "pickled: metrics not written: $TMP/prom/pickled.prom: Permission denied\n"
	fi
}

@test "metrics.textfile must be an absolute path; PICKLED_METRICS_FILE too" {
	printf 'metrics:\n  textfile: rel.prom\n' >"$PICKLED_CONFIG"
	pk config --check
	assert_status 1
	assert_err "pickled: $PICKLED_CONFIG:2:13: invalid path for metrics.textfile: 'rel.prom' (expected an absolute path, or one starting with ~/)\n"
	: >"$PICKLED_CONFIG"
	PICKLED_METRICS_FILE=rel.prom pk config --check
	assert_status 1
	assert_err "pickled: invalid path for PICKLED_METRICS_FILE: 'rel.prom' (expected an absolute path, or one starting with ~/)\n"
}

@test "the alert rule of pickled(1) is a valid Prometheus rule file" {
	sed -n '/^groups:$/,/^\.Ed$/p' "$BATS_TEST_DIRNAME/../../man/pickled.1" | sed '$d' >"$TMP/rules.yml"
	grep -q 'pickled_job_last_success_timestamp_seconds{job="nightly-report"} > 2 \* 3600' "$TMP/rules.yml"
	promtool check rules "$TMP/rules.yml"
}

@test "the textfile's cache size is taken again by a miss, not by each hit; stats --prometheus always" {
	export PICKLED_METRICS_FILE=$TMP/pickled.prom
	pk run -- echo a
	assert_metric "$PICKLED_METRICS_FILE" 'pickled_cache_entries' 1
	# An entry appears behind pickled's back: a hit within the minute
	# keeps the figures of the last walk.
	f=$(entries | head -n 1)
	cp "$f" "$(dirname "$f")/0123456789abcdef0123456789abcdef"
	pk run -- echo a
	assert_status 0
	assert_metric "$PICKLED_METRICS_FILE" 'pickled_runs_total{result="hit"}' 1
	assert_metric "$PICKLED_METRICS_FILE" 'pickled_cache_entries' 1
	pk stats --prometheus
	assert_metric "$TMP/io/out" 'pickled_cache_entries' 2
	pk run -- echo b
	assert_metric "$PICKLED_METRICS_FILE" 'pickled_cache_entries' 3
}
