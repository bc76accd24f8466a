#!/usr/bin/env bats
# pipeline.bats: what a pipeline of cached steps needs besides caching: jobs
# that say where they run, --explain saying why a run missed, ls telling
# entries of one command apart, and globs that match nothing.

load helper

# digest VALUE: the 8 hex digits ls -l and --explain show for an -e value
# (pk_key_env_digest: XXH3-64 of "pickled-env", NUL, the value; top half).
digest() {
	printf 'pickled-env\0%s' "$1" | xxhsum -H3 | sed -E 's/.* = (.{8}).*/\1/'
}

# in_key_order: lines "KEY ROW" on stdin, the ROWs in the order of the keys
# in $TMP/io/keys (12 digits each).
in_key_order() {
	local rows k
	rows=$(cat)
	while read -r k; do
		printf '%s\n' "$rows" | sed -n "s/^${k}[0-9a-f]* //p"
	done <"$TMP/io/keys"
}

# --- ls ------------------------------------------------------------------------

@test "ls shows the job and tags; ls -l what tells entries of one command apart, never an -e value" {
	mkdir a b
	ALPHA=s3cret-one pk run -e ALPHA --tag nightly --tag db -- echo hi
	ALPHA=s3cret-two pk run -e ALPHA --name train -- echo hi
	(cd a && pk run --cwd -- echo where)
	(cd b && pk run --cwd -- echo where)
	pk run -e ALPHA -- echo hi
	local k1 k2 k3 ka kb d1 d2 w
	k1=$(ALPHA=s3cret-one "$PK" key -e ALPHA echo hi)
	k2=$(ALPHA=s3cret-two "$PK" key -e ALPHA echo hi)
	k3=$("$PK" key -e ALPHA echo hi)
	ka=$(cd a && "$PK" key --cwd echo where)
	kb=$(cd b && "$PK" key --cwd echo where)
	pk ls --sort=command
	assert_status 0
	assert_err ''
	# by command, then by key
	{ printf '%.12s\n' "$k1" "$k2" "$k3" | sort; printf '%.12s\n' "$ka" "$kb" | sort; } >"$TMP/io/keys"
	cut -c1-12 "$TMP/io/out" >"$TMP/io/got"
	assert_same "$TMP/io/keys" "$TMP/io/got" "ls --sort=command keys"
	# the fixed columns (age, sizes...) are inspect.bats's business: from JOB on
	cut -c66- "$TMP/io/out" >"$TMP/io/got"
	in_key_order >"$TMP/io/want" <<-EOF
	$k1 -      nightly,db  echo hi
	$k2 train  -           echo hi
	$k3 -      -           echo hi
	$ka -      -           echo where
	$kb -      -           echo where
	EOF
	assert_same "$TMP/io/want" "$TMP/io/got" "ls: job and tags"
	# ls -l: the variable's digest (or unset), the working directory
	pk ls -l --sort=command
	assert_status 0
	cut -c108- "$TMP/io/out" >"$TMP/io/got"
	d1=$(digest s3cret-one)
	d2=$(digest s3cret-two)
	w=$((${#TMP} + 9))   # cwd:$TMP/wd/a, the widest
	in_key_order >"$TMP/io/want" <<-EOF
	$k1 -      nightly,db  $(printf '%-*s' $w "ALPHA=#$d1")  echo hi
	$k2 train  -           $(printf '%-*s' $w "ALPHA=#$d2")  echo hi
	$k3 -      -           $(printf '%-*s' $w "ALPHA:unset")  echo hi
	$ka -      -           cwd:$TMP/wd/a  echo where
	$kb -      -           cwd:$TMP/wd/b  echo where
	EOF
	assert_same "$TMP/io/want" "$TMP/io/got" "ls -l: DIFFERS"
	[ "$d1" != "$d2" ]
	if grep -q s3cret "$TMP/io/out"; then
		echo "an -e value in ls -l"
		return 1
	fi
	# one entry of a command: nothing to tell apart
	pk ls -l --name train
	cut -c108- "$TMP/io/out" >"$TMP/io/got"
	assert_bytes "$TMP/io/got" 'train  -     -        echo hi\n'
}

# --- globs that match nothing ----------------------------------------------------

@test "an input pattern with wildcards that matches no file: said once on stderr and in --explain" {
	mkdir raw
	printf 'a,b\n' >raw/day1.csv
	# the typo: .cvs
	pk run -i 'raw/*.cvs' -- echo trained
	assert_status 0
	assert_out 'trained\n'
	assert_err "pickled: no file matches the input 'raw/*.cvs'\n"
	# said on a hit too: the typo stays in the crontab
	pk run -i 'raw/*.cvs' -- echo trained
	assert_status 0
	assert_out 'trained\n'
	assert_err "pickled: no file matches the input 'raw/*.cvs'\n"
	# several: one line
	pk run -i 'raw/*.cvs' -i '/nonexistent/*' -i 'raw/*.csv' -i plain-absent -- echo two
	assert_status 0
	assert_err "pickled: no file matches the input '/nonexistent/*', nor 1 other input pattern\n"
	# --explain: where it was looked for; a plain path that is absent is
	# said there only (an optional file is no mistake)
	pk run --explain -i 'raw/*.cvs' -i plain-absent -i 'raw/*.csv' -- echo three
	grep -E '^pickled:   input ' "$TMP/io/err" >"$TMP/io/got"
	printf '%s\n' "pickled:   input plain-absent absent: no such file in $TMP/wd" \
		"pickled:   input 'raw/*.cvs' absent: the pattern matched no file in $TMP/wd" \
		"pickled:   input raw/day1.csv xxh3 $(xxhsum -H2 raw/day1.csv | cut -c1-32)" >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "--explain inputs"
	tail -n 1 "$TMP/io/err" >"$TMP/io/got"
	assert_bytes "$TMP/io/got" "pickled: no file matches the input 'raw/*.cvs'\n"
	# pickled key says it too, and still prints the key
	pk key -i 'raw/*.cvs' echo trained
	assert_status 0
	assert_match "$TMP/io/out" '^[0-9a-f]{32}$'
	assert_err "pickled: no file matches the input 'raw/*.cvs'\n"
	# a pattern that matches, or a plain path that is absent: nothing said
	pk run -i 'raw/*.csv' -i plain-absent -- echo fine
	assert_status 0
	assert_err ''
}

# --- jobs: dir ----------------------------------------------------------------------

@test "a job's dir: is where it runs: relative inputs and outputs there, from any directory" {
	mkdir -p "$TMP/pipe/raw" elsewhere
	printf '1\n2\n' >"$TMP/pipe/raw/a.csv"
	cat >"$PICKLED_CONFIG" <<-EOF
	jobs:
	  prep:
	    command: [sh, -c, 'echo x >>"\$TMP/count"; pwd; cat raw/*.csv >data.txt']
	    dir: $TMP/pipe
	    inputs: ['raw/*.csv']
	    outputs: [data.txt]
	  keyed:
	    command: [pwd]
	    dir: $TMP/pipe
	    cwd: true
	EOF
	cd elsewhere
	pk run -j prep
	assert_status 0
	assert_out '%s\n' "$TMP/pipe"
	assert_err ''
	assert_count 1
	[ "$(cat "$TMP/pipe/data.txt")" = "$(printf '1\n2')" ]
	[ ! -e data.txt ]
	# from another directory: the same key, a hit that restores it there
	rm "$TMP/pipe/data.txt"
	cd "$TMP"
	pk run -j prep
	assert_status 0
	assert_out '%s\n' "$TMP/pipe"
	assert_count 1
	[ "$(cat "$TMP/pipe/data.txt")" = "$(printf '1\n2')" ]
	# an input changed there: a miss
	printf '3\n' >"$TMP/pipe/raw/b.csv"
	pk run -j prep
	assert_count 2
	# with cwd: true, the key holds the dir, wherever pickled starts
	local k1 k2
	k1=$(cd "$TMP/wd/elsewhere" && "$PK" key -j keyed)
	k2=$(cd / && "$PK" key -j keyed)
	[ "$k1" = "$k2" ]
	pk key -j keyed --explain
	grep -x "pickled:   cwd $TMP/pipe" "$TMP/io/err"
	# jobs computes its keys there too
	pk jobs
	assert_status 0
	assert_err ''
	assert_match "$TMP/io/out" '^(NAME .*|prep +fresh .*|keyed +none .*)$'
}

@test "a job whose dir: is missing does not run (125); a relative dir: is a configuration error" {
	cat >"$PICKLED_CONFIG" <<-EOF
	jobs:
	  j:
	    command: [sh, -c, 'echo x >>"\$TMP/count"']
	    dir: $TMP/nope
	EOF
	pk run -j j
	assert_status 125
	assert_out ''
	assert_err "pickled: job 'j': cannot enter its dir $TMP/nope: No such file or directory\n"
	assert_count 0
	pk key -j j
	assert_status 125
	assert_err "pickled: job 'j': cannot enter its dir $TMP/nope: No such file or directory\n"
	pk jobs
	assert_status 0
	assert_match "$TMP/io/out" '^(NAME .*|j +none .*)$|^j: cannot enter its dir .*/nope: No such file or directory$'
	tail -n 1 "$TMP/io/out" >"$TMP/io/got"
	assert_bytes "$TMP/io/got" "j: cannot enter its dir $TMP/nope: No such file or directory\n"
	printf 'jobs:\n  j:\n    command: [true]\n    dir: pipe\n' >"$PICKLED_CONFIG"
	pk config --check
	assert_status 1
	assert_err "pickled: $PICKLED_CONFIG:4:10: invalid path for jobs.j.dir: 'pipe' (expected an absolute path, or one starting with ~/)\n"
	printf 'jobs:\n  j:\n    command: [true]\n    dir: ~/pipe\n' >"$PICKLED_CONFIG"
	pk config get jobs.j.dir
	assert_status 0
	assert_out '%s/pipe\n' "$HOME"
}

@test "jobs says why a job shows no entry when looked at from another directory" {
	mkdir pipe other
	printf '1\n' >pipe/data.csv
	cat >"$PICKLED_CONFIG" <<-'EOF'
	jobs:
	  report:
	    command: [cat, data.csv]
	    inputs: [data.csv]
	EOF
	(cd pipe && pk run -j report)
	assert_out '1\n'
	local k
	k=$(cd pipe && "$PK" key -j report)
	cd other
	pk jobs
	assert_status 0
	assert_err ''
	assert_lines "$TMP/io/out" 3
	sed -n 2p "$TMP/io/out" >"$TMP/io/got"
	assert_match "$TMP/io/got" '^report +none +- '
	sed -n 3p "$TMP/io/out" | sed -E 's/, [0-9.]+(ms|s) old\)/, AGE old)/' >"$TMP/io/got"
	assert_bytes "$TMP/io/got" 'report: no entry for its key computed in %s: its newest entry (%s, AGE old) was stored from %s, and its relative paths depend on the working directory: look from there, or give the job a dir:\n' \
		"$TMP/wd/other" "${k:0:12}" "$TMP/wd/pipe"
	# from there: fresh, nothing to say
	cd ../pipe
	pk jobs
	assert_lines "$TMP/io/out" 2
	assert_match "$TMP/io/out" '^(NAME .*|report +fresh .*)$'
	# there, with the input changed: the key changed
	printf '2\n' >data.csv
	pk jobs
	sed -n 3p "$TMP/io/out" | sed -E 's/, [0-9.]+(ms|s) old\)/, AGE old)/' >"$TMP/io/got"
	assert_bytes "$TMP/io/got" "report: its key has changed since its newest entry (%s, AGE old): 'pickled key -j report --explain' says what differs\n" "${k:0:12}"
}

# --- interpreters ---------------------------------------------------------------------

@test "python3 script.py keys on the interpreter: --explain says so unless -i names the script" {
	mkdir lib
	printf 'import sys\nsys.path.insert(0, "lib")\nimport helper\nprint(helper.V)\n' >train.py
	printf 'V = 1\n' >lib/helper.py
	pk run --explain -- python3 train.py
	assert_status 0
	assert_out '1\n'
	grep -E '^pickled:   note: ' "$TMP/io/err" >"$TMP/io/got"
	assert_bytes "$TMP/io/got" "pickled:   note: python3 runs the script train.py, which is not in the key (only the interpreter's file is): an edit of it, or of a module it imports, replays the old result; add -i train.py (and -i for its modules, such as -i lib/), or run with --trace\n"
	# what the note warns of: an edit of the module replays the old result
	printf 'V = 2\n' >lib/helper.py
	pk run -- python3 train.py
	assert_out '1\n'
	assert_err ''
	# named, by any path: no note, and the edit counts
	pk run --explain -i ./train.py -i lib/ -- python3 train.py
	assert_out '2\n'
	if grep -q 'note:' "$TMP/io/err"; then
		echo "a note although -i names the script"
		return 1
	fi
	printf 'V = 3\n' >lib/helper.py
	pk run -i ./train.py -i lib/ -- python3 train.py
	assert_out '3\n'
	# traced, the script is recorded anyway: no note
	pk key --explain --trace python3 train.py
	grep -c 'note:' "$TMP/io/err" | grep -qx 0
	# code given with -c, or a program that is not an interpreter: no note
	pk key --explain python3 -c 'print(1)'
	assert_status 0
	grep -c 'note:' "$TMP/io/err" | grep -qx 0
	pk key --explain sh -ec true
	grep -c 'note:' "$TMP/io/err" | grep -qx 0
	# through env, a shell script
	printf 'echo hi\n' >job.sh
	pk key --explain env TZ=UTC sh job.sh
	grep -E '^pickled:   note: ' "$TMP/io/err" >"$TMP/io/got"
	assert_bytes "$TMP/io/got" "pickled:   note: sh runs the script job.sh, which is not in the key (only the interpreter's file is): an edit of it, or of a module it imports, replays the old result; add -i job.sh (and -i for its modules, such as -i lib/), or run with --trace\n"
}

# --- the README's pipeline ---------------------------------------------------------

# night ALPHA: runs ./nightly.sh as cron would (stdin empty) with ALPHA set;
# its output into $TMP/io/out and err, its status in $status.
night() {
	status=0
	ALPHA=$1 ./nightly.sh </dev/null >"$TMP/io/out" 2>"$TMP/io/err" || status=$?
}

# steps: the last three runs' decisions, oldest first, one word each
# ("miss", "hit") with the step's script.
steps() {
	"$PK" log --json -n 3 | python3 -c '
import json, sys
for r in reversed(json.load(sys.stdin)):
    print(r["decision"], r["command"][1])'
}

@test "the README's pipeline runs as shown: each step again only when what it depends on changed" {
	local ex=$BATS_TEST_DIRNAME/../../examples/pipeline
	cp "$ex"/prep.py "$ex"/train.py "$ex"/report.py "$ex"/nightly.sh .
	# the README shows nightly.sh as it is
	awk '/^## Pipelines/ { p = 1 } p && /^```sh$/ { f = 1; next } f && /^```$/ { exit } f' \
		"$BATS_TEST_DIRNAME/../../README.md" >"$TMP/io/readme.sh"
	assert_same nightly.sh "$TMP/io/readme.sh" "README's pipeline"
	# `pickled` on the PATH is the binary under test
	mkdir "$TMP/bin"
	printf '#!/bin/sh\nexec "%s" "$@"\n' "$PK" >"$TMP/bin/pickled"
	chmod 755 "$TMP/bin/pickled"
	export PATH=$TMP/bin:$PATH
	mkdir raw
	printf '1,2\n3,4\n' >raw/day1.csv
	# the first night: every step runs
	night 0.5
	assert_status 0
	assert_out 'alpha 0.5: 1 1.5\n'
	assert_err 'prep: 2 rows\ntrain: alpha 0.5\n'
	steps >"$TMP/io/got"
	printf 'miss prep.py\nmiss train.py\nmiss report.py\n' >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "first night"
	# nothing changed: three hits, the outputs restored byte for byte
	cp data.pkl model.pkl "$TMP/io/"
	rm data.pkl model.pkl
	night 0.5
	assert_status 0
	assert_out 'alpha 0.5: 1 1.5\n'
	assert_err 'prep: 2 rows\ntrain: alpha 0.5\n'
	cmp data.pkl "$TMP/io/data.pkl"
	cmp model.pkl "$TMP/io/model.pkl"
	steps >"$TMP/io/got"
	printf 'hit prep.py\nhit train.py\nhit report.py\n' >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "nothing changed"
	# another parameter: the preprocessing is a hit
	night 2
	assert_out 'alpha 2: 4 6\n'
	steps >"$TMP/io/got"
	printf 'hit prep.py\nmiss train.py\nmiss report.py\n' >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "ALPHA=2"
	# both parameters stay cached
	night 0.5
	assert_out 'alpha 0.5: 1 1.5\n'
	steps >"$TMP/io/got"
	printf 'hit prep.py\nhit train.py\nhit report.py\n' >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "ALPHA=0.5 again"
	# new data: everything runs again
	printf '5,6\n' >raw/day2.csv
	night 0.5
	assert_out 'alpha 0.5: 1.5 2\n'
	assert_err 'prep: 3 rows\ntrain: alpha 0.5\n'
	steps >"$TMP/io/got"
	printf 'miss prep.py\nmiss train.py\nmiss report.py\n' >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "new data"
	# an edit of the training script: the preprocessing is a hit
	printf '# tuned\n' >>train.py
	night 0.5
	assert_out 'alpha 0.5: 1.5 2\n'
	steps >"$TMP/io/got"
	printf 'hit prep.py\nmiss train.py\nhit report.py\n' >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "train.py edited: the same model, so the report is a hit"
}

# --- --explain on a miss ------------------------------------------------------------

# explained: the --explain lines of the last run after "miss (no entry)".
explained() {
	sed -n '/^pickled: miss (no entry)$/,$p' "$TMP/io/err" | grep '^pickled: ' >"$TMP/io/got"
}

@test "--explain on a miss names what differs from the newest entry of the command, never an -e value" {
	printf 'a\n' >data.csv
	ALPHA=s3cret-one pk run --explain -e ALPHA -i data.csv -- echo trained
	assert_out 'trained\n'
	explained
	assert_bytes "$TMP/io/got" 'pickled: miss (no entry)\npickled:   no earlier entry of this command\n'
	local k1 d1 d2
	k1=$(ALPHA=s3cret-one "$PK" key -e ALPHA -i data.csv echo trained)
	d1=$(digest s3cret-one)
	d2=$(digest s3cret-two)
	# a variable
	ALPHA=s3cret-two pk run --explain -e ALPHA -i data.csv -- echo trained
	explained
	sed -E 's/stored [0-9.]+(ms|s) ago/stored AGE ago/' "$TMP/io/got" >"$TMP/io/got2"
	printf '%s\n' 'pickled: miss (no entry)' \
		"pickled:   newest entry of this command: ${k1:0:12}, stored AGE ago; what differs:" \
		"pickled:     env ALPHA: value changed (#$d2, was #$d1)" >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got2" "explain: env"
	if grep -q s3cret "$TMP/io/err"; then
		echo "an -e value in --explain"
		return 1
	fi
	# an input, an unset variable, against the newest entry (ALPHA=s3cret-two)
	local k2
	k2=$(ALPHA=s3cret-two "$PK" key -e ALPHA -i data.csv echo trained)
	printf 'b\n' >data.csv
	pk run --explain -e ALPHA -i data.csv -- echo trained
	explained
	sed -E 's/stored [0-9.]+(ms|s) ago/stored AGE ago/' "$TMP/io/got" >"$TMP/io/got2"
	printf '%s\n' 'pickled: miss (no entry)' \
		"pickled:   newest entry of this command: ${k2:0:12}, stored AGE ago; what differs:" \
		'pickled:     input data.csv: content changed' \
		'pickled:     env ALPHA: unset now, was set' >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got2" "explain: input and unset"
	# an argument: the newest entry of the same program
	local k3
	k3=$("$PK" key -e ALPHA -i data.csv echo trained)
	pk run --explain -e ALPHA -i data.csv -- echo 'trained twice'
	explained
	sed -E 's/stored [0-9.]+(ms|s) ago/stored AGE ago/' "$TMP/io/got" >"$TMP/io/got2"
	printf '%s\n' 'pickled: miss (no entry)' \
		"pickled:   newest entry of this program: ${k3:0:12}, stored AGE ago; what differs:" \
		"pickled:     argument 1: now 'trained twice', was trained" >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got2" "explain: argument"
	# pickled key --explain says the same without running anything
	local k4
	k4=$("$PK" key -e ALPHA -i data.csv echo 'trained twice')
	printf 'c\n' >data.csv
	pk key --explain -e ALPHA -i data.csv echo 'trained twice'
	assert_status 0
	sed -n '/^pickled: no entry for this key$/,$p' "$TMP/io/err" |
		sed -E 's/stored [0-9.]+(ms|s) ago/stored AGE ago/' >"$TMP/io/got"
	printf '%s\n' 'pickled: no entry for this key' \
		"pickled:   newest entry of this command: ${k4:0:12}, stored AGE ago; what differs:" \
		'pickled:     input data.csv: content changed' >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "key --explain"
}

@test "--explain: a run that waited for an identical one and then hit says so" {
	local cmd="$CNT; while [ ! -e '$TMP/go' ]; do sleep 0.05; done; echo done"
	pk_bg 1 run sh -c "$cmd"
	local p1=$BG
	started() { [ "$(count)" = 1 ]; }
	poll 20 started
	pk_bg 2 run --explain sh -c "$cmd"
	local p2=$BG
	waiting() { grep -q 'waiting for an identical run' "$TMP/io/2.err"; }
	poll 20 waiting
	touch "$TMP/go"
	wait "$p1" "$p2"
	assert_count 1
	assert_bytes "$TMP/io/2.out" 'done\n'
	grep -v '^pickled:   ' "$TMP/io/2.err" | sed -E 's/age [0-9.]+(ms|s)\)$/age AGE)/' >"$TMP/io/got"
	printf '%s\n' 'pickled: key '"$("$PK" key sh -c "$cmd")" 'pickled: miss (no entry)' \
		'pickled: waiting for an identical run' \
		'pickled: hit (waited for an identical run, age AGE)' >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "explain after waiting"
	# a plain hit does not say so
	pk run --explain sh -c "$cmd"
	tail -n 1 "$TMP/io/err" | sed -E 's/age [0-9.]+(ms|s)\)$/age AGE)/' >"$TMP/io/got"
	assert_bytes "$TMP/io/got" 'pickled: hit (age AGE)\n'
}
