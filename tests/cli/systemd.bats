#!/usr/bin/env bats
# systemd.bats: runs started by systemd: CACHE_DIRECTORY (CacheDirectory=)
# as the cache, its place among -C, PICKLED_CACHE_DIR and cache_dir, and the
# example .service/.timer pair shipped in examples/systemd.

load helper

EXAMPLES=$BATS_TEST_DIRNAME/../../examples/systemd

eval "helper_$(declare -f setup)"
setup() {
	helper_setup
	# As in a unit: no PICKLED_CACHE_DIR, only what systemd sets.
	unset PICKLED_CACHE_DIR
	export XDG_CACHE_HOME=$TMP/xdg
}

@test "a run with CACHE_DIRECTORY set keeps its cache there" {
	export CACHE_DIRECTORY=$TMP/sd
	pk run sh -c "$CNT; echo hi"
	assert_status 0
	assert_out 'hi\n'
	assert_err ''
	has_entries "$TMP/sd"
	[ ! -e "$TMP/xdg" ]
	[ ! -e "$HOME/.cache" ]
	pk run sh -c "$CNT; echo hi"
	assert_status 0
	assert_out 'hi\n'
	assert_count 1
	# The other commands look there too.
	pk ls
	assert_status 0
	[ "$(wc -l <"$TMP/io/out")" = 1 ]
	pk config
	assert_status 0
	grep -qx "$(printf '%-38s  # %s' "cache_dir: $TMP/sd" CACHE_DIRECTORY)" "$TMP/io/out"
}

@test "CACHE_DIRECTORY with several directories: the first is the cache" {
	export CACHE_DIRECTORY=$TMP/first:$TMP/second
	pk run echo hi
	assert_status 0
	assert_err ''
	has_entries "$TMP/first"
	[ ! -e "$TMP/second" ]
	# An empty value is unset.
	CACHE_DIRECTORY= pk run echo empty
	assert_status 0
	has_entries "$TMP/xdg/pickled"
}

@test "-C, then PICKLED_CACHE_DIR, then CACHE_DIRECTORY, then cache_dir" {
	printf 'cache_dir: %s\n' "$TMP/file-cache" >"$PICKLED_CONFIG"
	export CACHE_DIRECTORY=$TMP/sd
	pk run echo one
	assert_status 0
	has_entries "$TMP/sd"
	[ ! -e "$TMP/file-cache" ]
	PICKLED_CACHE_DIR=$TMP/env-cache pk run echo two
	assert_status 0
	has_entries "$TMP/env-cache"
	PICKLED_CACHE_DIR=$TMP/env-cache pk -C "$TMP/flag-cache" run echo three
	assert_status 0
	has_entries "$TMP/flag-cache"
	[ "$(entries "$TMP/sd" | wc -l)" = 1 ]
	[ "$(entries "$TMP/env-cache" | wc -l)" = 1 ]
	[ ! -e "$TMP/file-cache" ]
	unset CACHE_DIRECTORY
	pk run echo four
	has_entries "$TMP/file-cache"
}

@test "a relative CACHE_DIRECTORY is refused, and the job still runs" {
	CACHE_DIRECTORY=rel/dir pk run sh -c "$CNT; echo hi"
	assert_status 0
	assert_out 'hi\n'
	assert_err '%s\n' \
		"pickled: invalid path for CACHE_DIRECTORY: 'rel/dir' (expected an absolute path, or one starting with ~/)" \
		"pickled: running uncached: the configuration has errors"
	[ ! -e rel ]
	CACHE_DIRECTORY=rel/dir pk ls
	assert_status 1
	assert_out ''
	assert_err "pickled: invalid path for CACHE_DIRECTORY: 'rel/dir' (expected an absolute path, or one starting with ~/)\n"
	[ ! -e rel ]
}

@test "a unit's user caches in its CacheDirectory though cache_dir is out of its reach" {
	[ "$(id -u)" = 0 ] || skip "needs root to change users"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	cp "$PK" "$TMP/pickled"
	chmod 0755 "$TMP" "$TMP/pickled"
	# As systemd makes it: owned by the unit's user, mode 0755; the
	# system-wide cache_dir belongs to root.
	mkdir -m 0755 "$TMP/var-cache" "$TMP/var-cache/unit" "$TMP/rootcache"
	chown nobody:nogroup "$TMP/var-cache/unit"
	printf 'cache_dir: %s\n' "$TMP/rootcache" >"$PICKLED_CONFIG"
	chmod 0644 "$PICKLED_CONFIG"
	: >"$TMP/count"
	chmod 0666 "$TMP/count"
	local i
	for i in 1 2; do
		pk_as_nobody HOME=/nonexistent CACHE_DIRECTORY="$TMP/var-cache/unit" -- \
			run sh -c "$CNT; echo hi"
		assert_status 0
		assert_out 'hi\n'
		assert_err ''
	done
	assert_count 1
	has_entries "$TMP/var-cache/unit"
	[ -z "$(ls -A "$TMP/rootcache")" ]
}

@test "the example .service and .timer are valid units running pickled run" {
	grep -qx 'CacheDirectory=pickled-report' "$EXAMPLES/pickled-report.service"
	grep -q '^ExecStart=/usr/bin/pickled run ' "$EXAMPLES/pickled-report.service"
	grep -qx 'OnCalendar=hourly' "$EXAMPLES/pickled-report.timer"
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	# The programs named must exist for systemd-analyze: this pickled and
	# a stand-in report.
	mkdir "$TMP/units"
	sed -e "s#/usr/bin/pickled#$PK#" -e 's#/usr/local/bin/report#/bin/echo#' \
		"$EXAMPLES/pickled-report.service" >"$TMP/units/pickled-report.service"
	cp "$EXAMPLES/pickled-report.timer" "$TMP/units/"
	status=0
	systemd-analyze verify --man=no "$TMP/units/pickled-report.timer" \
		"$TMP/units/pickled-report.service" >"$TMP/io/out" 2>"$TMP/io/err" || status=$?
	assert_status 0
	assert_err ''
}
