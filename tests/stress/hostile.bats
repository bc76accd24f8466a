#!/usr/bin/env bats
# hostile.bats: a cache someone else could write to is refused (the job still
# runs, uncached); symlinks planted in the cache are never followed; keys
# typed by a user never become paths.

load stress

setup_command() {
	script job 'echo x >>"$TMP/count"; echo "job out"; echo "job err" >&2; exit 5'
}

# check_uncached NAME WARNING: the job's output and status, then exactly
# the warning.
check_uncached() {
	assert_status 5 "$1"
	assert_lines "$TMP/io/$1.out" "job out"
	assert_lines "$TMP/io/$1.err" "job err" "$2"
}

@test "a cache directory writable by others (0777) is refused; the job runs uncached" {
	setup_command
	mkdir -m 0777 "$CACHE"
	chmod 0777 "$CACHE"   # whatever the umask
	pk open run --cache-failures -- "$TMP/bin/job"
	check_uncached open "pickled: cache unavailable, running uncached: $CACHE: writable by group or others, refused"
	pk again run --cache-failures -- "$TMP/bin/job"
	check_uncached again "pickled: cache unavailable, running uncached: $CACHE: writable by group or others, refused"
	assert_count 2
	[ -z "$(ls -A "$CACHE")" ]
}

@test "a cache directory writable by its group (0770) is refused" {
	setup_command
	mkdir "$CACHE"
	chmod 0770 "$CACHE"
	pk group run --cache-failures -- "$TMP/bin/job"
	check_uncached group "pickled: cache unavailable, running uncached: $CACHE: writable by group or others, refused"
	[ -z "$(ls -A "$CACHE")" ]
}

@test "a cache directory owned by another user is refused; the job runs uncached" {
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	[ "$(id -u)" = 0 ] || skip "needs root to chown"
	setup_command
	mkdir -m 0700 "$CACHE"
	chown nobody "$CACHE"
	pk theirs run --cache-failures -- "$TMP/bin/job"
	check_uncached theirs "pickled: cache unavailable, running uncached: $CACHE: owned by another user (uid $(id -u nobody)), refused"
	[ -z "$(ls -A "$CACHE")" ]
	# The inspection commands refuse it too.
	for c in ls verify gc stats; do
		pk "$c" "$c"
		assert_status 1
		assert_lines "$TMP/io/$c.err" "pickled: cache unavailable: $CACHE: owned by another user (uid $(id -u nobody)), refused"
	done
}

@test "a symlink planted at the lock file is not followed; the job completes" {
	setup_command
	key=$(key_of --cache-failures -- "$TMP/bin/job")
	[ ${#key} -eq 32 ]
	rm -f "$TMP/count"
	echo "victim content" >"$TMP/victim"
	mkdir -p "$CACHE/locks"
	chmod 0700 "$CACHE" "$CACHE/locks"
	ln -s "$TMP/victim" "$CACHE/locks/$key"
	pk planted run --cache-failures -- "$TMP/bin/job"
	assert_status 5
	assert_lines "$TMP/io/planted.out" "job out"
	assert_lines "$TMP/io/planted.err" "job err"
	assert_lines "$TMP/victim" "victim content"
	[ -L "$CACHE/locks/$key" ]
	# A dangling one: its target is not created.
	rm "$CACHE/locks/$key"
	ln -s "$TMP/created" "$CACHE/locks/$key"
	pk dangling run --force --cache-failures -- "$TMP/bin/job"
	assert_status 5
	[ ! -e "$TMP/created" ]
	assert_count 2
}

@test "a symlink planted as the entry file is not read; the job runs and replaces it" {
	setup_command
	pk first run --cache-failures -- "$TMP/bin/job"
	entry=$(entry_file)
	# A sound entry for this very key, but moved out of the cache.
	mv "$entry" "$TMP/planted"
	cp "$TMP/planted" "$TMP/planted.orig"
	ln -s "$TMP/planted" "$entry"
	pk linked run --cache-failures -- "$TMP/bin/job"
	assert_status 5
	assert_lines "$TMP/io/linked.out" "job out"
	assert_count 2     # not replayed from the link's target
	[ ! -L "$entry" ] && [ -f "$entry" ]
	cmp "$TMP/planted" "$TMP/planted.orig"
	pk hit run --cache-failures -- "$TMP/bin/job"
	assert_count 2
}

@test "symlinks planted as the hit counter and the stats log are not followed" {
	setup_command
	pk first run --cache-failures -- "$TMP/bin/job"
	entry=$(entry_file)
	echo "victim content" >"$TMP/victim"
	rm -f "$entry.hits" "$CACHE/stats.log"
	ln -s "$TMP/victim" "$entry.hits"
	ln -s "$TMP/victim" "$CACHE/stats.log"
	pk hit run --cache-failures -- "$TMP/bin/job"
	assert_status 5
	assert_lines "$TMP/io/hit.out" "job out"
	assert_lines "$TMP/io/hit.err" "job err"
	assert_count 1
	assert_lines "$TMP/victim" "victim content"
}

# outside_untouched DIR: nothing was created in DIR.
outside_untouched() {
	if [ -n "$(ls -A "$1")" ]; then
		echo "pickled followed a symlink into $1:"
		ls -la "$1"
		return 1
	fi
}

@test "a symlink planted as the cache's tmp/ directory is not followed" {
	# The temporary entry is renamed away once complete, so the command
	# itself looks for it while it runs.
	script job 'echo x >>"$TMP/count"; ls -A "$TMP/outside" >"$TMP/seen"; echo "job out"; echo "job err" >&2; exit 5'
	mkdir -m 0700 "$CACHE" "$TMP/outside"
	ln -s "$TMP/outside" "$CACHE/tmp"
	pk tmp run --cache-failures -- "$TMP/bin/job"
	assert_status 5
	assert_lines "$TMP/io/tmp.out" "job out"
	outside_untouched "$TMP/outside"
	if [ -s "$TMP/seen" ]; then
		echo "pickled wrote its temporary entry through the symlink $CACHE/tmp:"
		cat "$TMP/seen"
		return 1
	fi
}

@test "a symlink planted as the cache's locks/ directory is not followed" {
	setup_command
	mkdir -m 0700 "$CACHE" "$TMP/outside"
	ln -s "$TMP/outside" "$CACHE/locks"
	pk locks run --cache-failures -- "$TMP/bin/job"
	assert_status 5
	assert_lines "$TMP/io/locks.out" "job out"
	outside_untouched "$TMP/outside"
}

@test "a symlink planted as an entry shard directory is neither written nor read" {
	setup_command
	pk first run --cache-failures -- "$TMP/bin/job"
	entry=$(entry_file)
	shard=$(dirname "$entry")
	mkdir -m 0700 "$TMP/outside"
	rm -rf "$shard"
	ln -s "$TMP/outside" "$shard"
	pk shard run --cache-failures -- "$TMP/bin/job"
	assert_status 5
	assert_lines "$TMP/io/shard.out" "job out"
	outside_untouched "$TMP/outside"
	# And an entry placed there by someone else is not replayed.
	rm -f "$TMP/outside"/*
	pk plant -C "$TMP/other" run --cache-failures -- "$TMP/bin/job"
	cp "$(find "$TMP/other/v1" -type f ! -name '*.hits')" "$TMP/outside/"
	before=$(count)
	pk read run --cache-failures -- "$TMP/bin/job"
	if [ "$(count)" = "$before" ]; then
		echo "replayed an entry read through the symlinked shard $shard"
		return 1
	fi
}

@test "rm, show and cat reject keys that are not hex, and remove nothing" {
	setup_command
	pk first run --cache-failures -- "$TMP/bin/job"
	entry=$(entry_file)
	for key in '../etc' 'zz' '' '/etc/passwd' '4f*' ' 4f' '0123456789abcdef0123456789abcdef0' \
		"../$(basename "$entry")" "$(basename "$(dirname "$entry")")/../.."; do
		for c in rm show cat; do
			pk "$c" "$c" "$key"
			assert_status 125
			assert_empty "$TMP/io/$c.out"
			assert_lines "$TMP/io/$c.err" "pickled: not a key: '$key'"
		done
	done
	[ -f "$entry" ]
	pk hit run --cache-failures -- "$TMP/bin/job"
	assert_count 1
}

@test "an entry restores only the output files that its run declares" {
	# The key covers the declared outputs, but the files written on a hit
	# come from the entry's metadata.  An entry forged for a run that
	# declares no output (as anyone who can write to a shared remote tier
	# could) must not get to write a file anywhere.
	# shellcheck disable=SC2046  # the flags are a list
	cc -O1 -o "$TMP/reseal" "$BATS_TEST_DIRNAME/reseal.c" \
		$(pkg-config --cflags --libs libxxhash) || skip "cannot build reseal.c"
	script hi 'echo x >>"$TMP/count"; echo hi'
	script writes 'echo planted >out.txt; echo hi'
	pk donor run -o out.txt -- "$TMP/bin/writes"
	donor=$(entry_file)
	key=$(key_of -- "$TMP/bin/hi")
	[ ${#key} -eq 32 ]
	forged=$CACHE/v1/${key:0:2}/$key
	mkdir -p "$(dirname "$forged")"
	cp "$donor" "$forged"
	"$PYTHON" "$BATS_TEST_DIRNAME/mutate.py" "$forged" "$key" rekey "$TMP/victim"
	"$TMP/reseal" "$forged"
	rm -f "$TMP/count"
	pk forged run -- "$TMP/bin/hi"
	assert_status 0
	assert_lines "$TMP/io/forged.out" hi
	if [ -e "$TMP/victim" ]; then
		echo "a hit of a run declaring no output wrote $TMP/victim from the entry"
		return 1
	fi
}

@test "an entry from the remote tier restores only the output files its run declares" {
	# Anyone who can write to the shared Redis can store bytes under any
	# key; a hit must not let those bytes choose a path to write.
	command -v redis-server >/dev/null || skip "no redis-server"
	command -v redis-cli >/dev/null || skip "no redis-cli"
	# shellcheck disable=SC2046  # the flags are a list
	cc -O1 -o "$TMP/reseal" "$BATS_TEST_DIRNAME/reseal.c" \
		$(pkg-config --cflags --libs libxxhash) || skip "cannot build reseal.c"
	sock=$TMP/redis.sock
	redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no \
		--dir "$TMP" --daemonize yes --pidfile "$TMP/redis.pid" \
		--logfile "$TMP/redis.log"
	for _ in $(seq 1 100); do
		redis-cli -s "$sock" ping >/dev/null 2>&1 && break
		sleep 0.05
	done
	BG_PIDS+=("$(cat "$TMP/redis.pid")")
	script hi 'echo x >>"$TMP/count"; echo hi'
	script writes 'echo planted >out.txt; echo hi'
	pk donor run -o out.txt -- "$TMP/bin/writes"
	key=$(key_of -- "$TMP/bin/hi")
	[ ${#key} -eq 32 ]
	cp "$(entry_file)" "$TMP/forged"
	"$PYTHON" "$BATS_TEST_DIRNAME/mutate.py" "$TMP/forged" "$key" rekey "$TMP/victim"
	"$TMP/reseal" "$TMP/forged"
	redis-cli -s "$sock" -x SET "pickled:{$key}:e" <"$TMP/forged" >/dev/null
	rm -f "$TMP/count"
	export PICKLED_REMOTE=redis+unix://$sock
	pk remote -C "$TMP/host2" run -- "$TMP/bin/hi"
	unset PICKLED_REMOTE
	redis-cli -s "$sock" shutdown nosave >/dev/null 2>&1 || true
	assert_status 0
	assert_lines "$TMP/io/remote.out" hi
	if [ -e "$TMP/victim" ]; then
		echo "a value planted in Redis made pickled write $TMP/victim"
		return 1
	fi
}
