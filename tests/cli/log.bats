#!/usr/bin/env bats
# log.bats: the run log (DIR/runs.log) and `pickled log`: one record per run
# with its decision and why, --name labels, the JOB filter, -n, --json,
# damaged records skipped, the size bound, and a log that cannot be written
# costing the job nothing.

load helper

# log_rows: `pickled log`'s rows without the time and duration columns
# (they vary), columns separated by one space.
log_rows() {
	pk log "$@"
	assert_status 0 || return 1
	tail -n +2 "$TMP/io/out" | cut -c 22- | awk '{ $0 = $0; sub(/ +[0-9]+(ms|s|m) +/, " ~ "); print }' |
		tr -s ' '
}

@test "log lists each run newest first with its decision, why, status, output and key" {
	pk log
	assert_status 1
	assert_out ''
	assert_err "pickled: no cache at $PICKLED_CACHE_DIR\n"
	mkdir -m 0700 "$PICKLED_CACHE_DIR"
	pk log
	assert_status 0
	assert_out ''
	assert_err ''
	pk run -- echo hi
	pk run -- echo hi
	pk run -f -- echo hi
	pk run --name failing -- sh -c 'echo oops >&2; exit 3'
	pk run -- /nonexistent/prog
	key=$("$PK" key -- echo hi </dev/null)
	fk=$("$PK" key -- sh -c 'echo oops >&2; exit 3' </dev/null)
	log_rows >"$TMP/rows"
	assert_bytes "$TMP/rows" '%s\n' \
		"uncached (not found) ~ 127 0B - /nonexistent/prog" \
		"miss (no entry) ~ 3 5B ${fk:0:12} failing" \
		"miss (forced) ~ 0 3B ${key:0:12} echo hi" \
		"hit ~ 0 3B ${key:0:12} echo hi" \
		"miss (no entry) ~ 0 3B ${key:0:12} echo hi"
	head -n 1 "$TMP/io/out" | tr -s ' ' >"$TMP/head"
	assert_bytes "$TMP/head" 'TIME DECISION DURATION STATUS OUTPUT KEY JOB/COMMAND\n'
	tail -n +2 "$TMP/io/out" >"$TMP/rows"
	assert_match "$TMP/rows" '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}  '
}

@test "log JOB and -n select runs; a bad -n or name is a usage error" {
	pk run --name a -- echo 1
	pk run --name b -- echo 2
	pk run --name a -- echo 3
	pk run -- echo 4
	log_rows a >"$TMP/rows"
	assert_bytes "$TMP/rows" '%s\n' "miss (no entry) ~ 0 2B $("$PK" key -- echo 3 </dev/null | cut -c 1-12) a" \
		"miss (no entry) ~ 0 2B $("$PK" key -- echo 1 </dev/null | cut -c 1-12) a"
	log_rows -n 2 >"$TMP/rows"
	awk '{ print $NF }' "$TMP/rows" >"$TMP/names"
	assert_bytes "$TMP/names" '4\na\n'
	pk log -n 0
	assert_lines "$TMP/io/out" 5
	pk log nobody
	assert_status 0
	assert_out ''
	pk log -n x
	assert_status 125
	assert_err "pickled: invalid number for -n: 'x'\n"
	pk log ../x
	assert_status 125
	assert_err "pickled: invalid job name '../x'\nTry 'pickled log --help' for more information.\n"
	pk log a b
	assert_status 125
	assert_err "pickled: unexpected argument 'b'\nTry 'pickled log --help' for more information.\n"
}

@test "run --name labels the run; a bad name, or --name with -j, is refused before running" {
	pk run --name 'bad name' -- sh -c "$CNT"
	assert_status 125
	assert_err "pickled: invalid name for --name: 'bad name' (1 to 64 letters, digits, '.', '_' and '-', not starting with '-')\n"
	pk run --name "$(printf 'x%.0s' $(seq 65))" -- sh -c "$CNT"
	assert_status 125
	printf 'jobs:\n  j:\n    command: [true]\n' >"$PICKLED_CONFIG"
	pk run -j j --name other
	assert_status 125
	assert_err "pickled: --name cannot be used with -j: the job's name labels the run\nTry 'pickled run --help' for more information.\n"
	assert_count 0
	pk run -j j
	assert_status 0
	pk log --json
	python3 - "$TMP/io/out" <<'EOF'
import json, sys
runs = json.load(open(sys.argv[1]))
assert len(runs) == 1, runs
assert runs[0]["job"] == "j" and runs[0]["command"] == ["true"], runs
EOF
}

@test "log --json has every field of each record" {
	pk run --name nightly -- sh -c 'printf abc; exit 0'
	pk run --name nightly -- sh -c 'printf abc; exit 0'
	pk run -- printf 'two words'
	key=$("$PK" key -- sh -c 'printf abc; exit 0' </dev/null)
	pk log --json
	assert_status 0
	python3 - "$TMP/io/out" "$key" <<'EOF'
import json, sys
runs = json.load(open(sys.argv[1]))
key = sys.argv[2]
assert [r["decision"] for r in runs] == ["miss", "hit", "miss"], runs
assert [r["reason"] for r in runs] == ["no entry", None, "no entry"], runs
fields = ["time", "time_ms", "job", "command", "command_truncated", "decision", "reason",
          "duration_ms", "exit_status", "output_bytes", "saved_ms", "store_failures",
          "remote_errors", "key"]
for r in runs:
    assert list(r) == fields, list(r)
    assert r["time"].endswith("Z") and isinstance(r["time_ms"], int)
assert runs[0]["job"] is None and runs[0]["command"] == ["printf", "two words"]
hit = runs[1]
assert hit["job"] == "nightly" and hit["key"] == key and hit["output_bytes"] == 3
assert hit["exit_status"] == 0 and hit["store_failures"] == 0 and hit["remote_errors"] == 0
assert hit["saved_ms"] == runs[2]["duration_ms"] or hit["saved_ms"] <= runs[2]["duration_ms"]
assert runs[2]["time_ms"] <= hit["time_ms"] <= runs[0]["time_ms"]
EOF
}

@test "a stale hit and its background refresh are two records" {
	pk run --ttl 1h --stale 1s --name s -- sh -c "$CNT; echo v"
	sleep 1.1
	pk run --ttl 1h --stale 1s --name s -- sh -c "$CNT; echo v"
	# The refresh's record is written once its command has run.
	poll 10 grep -q refresh "$PICKLED_CACHE_DIR/runs.log"
	assert_count 2
	log_rows >"$TMP/rows"
	key=$("$PK" key -- sh -c "$CNT; echo v" </dev/null)
	assert_bytes "$TMP/rows" '%s\n' "miss (refresh) ~ 0 2B ${key:0:12} s" \
		"stale ~ 0 2B ${key:0:12} s" "miss (no entry) ~ 0 2B ${key:0:12} s"
}

@test "damaged records are skipped, the sound ones around them kept" {
	pk run -- echo one
	pk run -- echo two
	log=$PICKLED_CACHE_DIR/runs.log
	# A flipped byte in the first record, garbage, a torn record that the
	# next one was appended to, and a line without its end.
	python3 - "$log" <<'EOF'
import sys
p = sys.argv[1]
lines = open(p, "rb").read().split(b"\n")
first = bytearray(lines[0]); first[5] ^= 1
torn = lines[1][:40]
data = bytes(first) + b"\nnot a record\n\x00\xff\n" + torn + lines[1] + b"\n" + lines[1][:30]
open(p, "wb").write(data)
EOF
	pk log
	assert_status 0
	assert_err ''
	assert_lines "$TMP/io/out" 2
	grep -q 'echo two$' "$TMP/io/out"
	# A record appended after the line without its end is found too.
	pk run -- echo three
	log_rows >"$TMP/rows"
	awk '{ print $NF }' "$TMP/rows" >"$TMP/last"
	assert_bytes "$TMP/last" 'three\ntwo\n'
}

@test "the log stays under 4 MiB: the run that passes it trims it to its newest 2 MiB, and so does gc" {
	# Reading thousands of records is the native binary's job in the
	# valgrind lane; the run that trims stays under memcheck.
	native=$PK
	[ -z "${PK_VALGRIND_BIN_DIR:-}" ] || native=$PK_VALGRIND_BIN_DIR/pickled
	pk run --name first -- echo x
	log=$PICKLED_CACHE_DIR/runs.log
	# 4 MiB and more of sound records (copies of that one), then a run.
	python3 -c '
import sys
line = open(sys.argv[1], "rb").read()
open(sys.argv[1], "wb").write(line * (4 * 1024 * 1024 // len(line) + 1))' "$log"
	[ "$(stat -c %s "$log")" -gt $((4 * 1024 * 1024)) ]
	pk run --name last -- echo y
	assert_status 0
	assert_err ''
	size=$(stat -c %s "$log")
	[ "$size" -le $((2 * 1024 * 1024)) ] && [ "$size" -gt $((2 * 1024 * 1024 - 4096)) ]
	"$native" log -n 1 </dev/null >"$TMP/io/out"
	tail -n 1 "$TMP/io/out" | awk '{ print $NF }' >"$TMP/last"
	assert_bytes "$TMP/last" 'last\n'
	"$native" log -n 0 </dev/null >"$TMP/io/out"
	[ "$(wc -l <"$TMP/io/out")" -gt 10000 ]
	# gc trims a log over 2 MiB to 2 MiB.
	python3 -c '
import sys
line = open(sys.argv[1], "rb").read().split(b"\n")[0] + b"\n"
open(sys.argv[1], "ab").write(line * (1024 * 1024 // len(line)))' "$log"
	[ "$(stat -c %s "$log")" -gt $((2 * 1024 * 1024 + 512 * 1024)) ]
	"$native" gc </dev/null >/dev/null 2>&1
	[ "$(stat -c %s "$log")" -le $((2 * 1024 * 1024)) ]
}

@test "a run log that cannot be written costs the job nothing" {
	mkdir -p "$PICKLED_CACHE_DIR/runs.log"
	pk run -- sh -c "$CNT; echo out; echo err >&2; exit 4"
	assert_status 4
	assert_out 'out\n'
	assert_err 'err\n'
	pk log
	assert_status 1
	assert_err "pickled: cannot read the run log: $PICKLED_CACHE_DIR/runs.log: not a regular file\n"
}

@test "jobs shows each job's last run: time, decision and exit status" {
	printf 'jobs:\n  bad:\n    command: [false]\n  good:\n    command: [true]\n  idle:\n    command: [date]\n' \
		>"$PICKLED_CONFIG"
	pk run -j bad
	assert_status 1
	pk run -j good
	pk run -j good
	pk jobs
	assert_status 0
	# NAME STATE AGE TTL STALE-IN EXPIRES-IN LAST-RUN(date time) DECISION STATUS COMMAND
	awk 'NR == 2 || NR == 3 { print $1, $2, $5, $9, $10, $11 }' "$TMP/io/out" >"$TMP/cols"
	assert_bytes "$TMP/cols" '%s\n' 'bad none - miss 1 false' 'good fresh - hit 0 true'
	tail -n 1 "$TMP/io/out" | tr -s ' ' >"$TMP/idle"
	assert_bytes "$TMP/idle" 'idle none - 1d - - - - - date\n'
	awk 'NR == 2 { print $7, $8 }' "$TMP/io/out" | grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}'
	awk 'NR == 3 { print $6 }' "$TMP/io/out" | grep -Eqx '(23h59m|1d)'
}

@test "entries remember their run's name: ls --name, show --name, show and --json show it" {
	printf 'jobs:\n  j:\n    command: [echo, job]\n' >"$PICKLED_CONFIG"
	pk run -j j
	pk run --name report -- echo one
	sleep 0.01
	pk run --name report -- echo two
	pk run -- echo unnamed
	kj=$("$PK" key -j j </dev/null)
	k1=$("$PK" key -- echo one </dev/null)
	k2=$("$PK" key -- echo two </dev/null)
	pk ls --name report
	assert_status 0
	cut -c 1-12 "$TMP/io/out" | sort >"$TMP/keys"
	printf '%s\n' "${k1:0:12}" "${k2:0:12}" | sort >"$TMP/want"
	assert_same "$TMP/want" "$TMP/keys"
	pk ls --name j --json
	python3 - "$TMP/io/out" "$kj" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
assert [x["key"] for x in e] == [sys.argv[2]] and e[0]["name"] == "j", e
PY
	pk ls --name nobody
	assert_status 0
	assert_out ''
	# show --name: the newest entry of that name.
	pk show --name report
	assert_status 0
	head -n 1 "$TMP/io/out" >"$TMP/first"
	assert_bytes "$TMP/first" 'key             %s\n' "$k2"
	grep -qx 'name            report' "$TMP/io/out"
	pk show "${k1:0:12}"
	grep -qx 'name            report' "$TMP/io/out"
	pk show "$("$PK" key -- echo unnamed </dev/null)"
	grep -qx 'name            -' "$TMP/io/out"
	pk show --json --name j
	python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["name"] == "j"' "$TMP/io/out"
	pk show --name nobody
	assert_status 1
	assert_err "pickled: no entry named 'nobody'\n"
	pk show --name report "${k1:0:12}"
	assert_status 125
	assert_err "pickled: a key and --name cannot be given together\nTry 'pickled show --help' for more information.\n"
}
