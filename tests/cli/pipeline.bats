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
