#!/usr/bin/env bats
# disk.bats: full, read-only, missing and uncreatable cache directories: the
# command's output arrives whole, its status is returned, and pickled says
# why in exactly one line.

load stress

# A command with 1 MiB of incompressible stdout, a stderr line and status 3
# (stored with --cache-failures), counting its runs.
big_command() {
	make_data "$TMP/big" 1048576 42
	script big 'echo x >>"$TMP/count"; cat "$TMP/big"; echo "big done" >&2; exit 3'
}

# check_output NAME STATUS WARNING_REGEX: whole output, status, and stderr
# is the command's line then exactly one warning line.
check_output() {
	local name=$1 st=$2 re=$3
	assert_status "$st" "$name"
	same_file "$TMP/big" "$TMP/io/$name.out"
	if [ "$(wc -l <"$TMP/io/$name.err")" -ne 2 ] ||
		[ "$(sed -n 1p "$TMP/io/$name.err")" != "big done" ] ||
		! sed -n 2p "$TMP/io/$name.err" | grep -Eq "$re"; then
		echo "$name: expected 'big done' then one line matching $re; stderr was:"
		cat "$TMP/io/$name.err"
		return 1
	fi
}

# mount_tmpfs DIR OPTIONS: a private tmpfs, or a TAP skip when not allowed.
mount_tmpfs() {
	mkdir -p "$1"
	if ! mount -t tmpfs -o "$2" tmpfs "$1" 2>/dev/null; then
		skip "cannot mount a tmpfs (needs root)"
	fi
	MOUNTS+=("$1")
}

# The test folder must be reachable for the unprivileged runs.
open_tmp_to_nobody() {
	[ "$(id -u)" = 0 ] || skip "needs root to drop privileges"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	chmod 0755 "$TMP" "$TMP/bin" "$TMP/io" "$TMP/wd"
	chmod 0644 "$TMP/big"
	chmod 0777 "$TMP/io"   # nobody writes its captures there
	touch "$TMP/count"
	chmod 0666 "$TMP/count"
	# A copy nobody can run: the build tree may be in a 0700 folder (a
	# clone in a mktemp -d).
	cp "$PK" "$TMP/bin/pickled"
	chmod 0755 "$TMP/bin/pickled"
}

# pk_nobody NAME ARGS...: pk without privileges (HOME pointing nowhere, so
# that root's configuration is not looked up), after open_tmp_to_nobody.
pk_nobody() {
	local name=$1
	shift
	status=0
	as_nobody env HOME=/nonexistent "$TMP/bin/pickled" "$@" </dev/null >"$TMP/io/$name.out" \
		2>"$TMP/io/$name.err" 3>&- || status=$?
	echo "$status" >"$TMP/io/$name.status"
}

@test "file size limit (ulimit -f): output whole, status returned, one warning" {
	big_command
	# Only pickled and the command are limited; cat stores the captures.
	status=0
	(
		ulimit -f 1
		"$PK" run --cache-failures -- "$TMP/bin/big" </dev/null 3>&-
	) 2> >(cat >"$TMP/io/fsize.err") | cat >"$TMP/io/fsize.out" || true
	st=${PIPESTATUS[0]}
	wait   # for the process substitution
	echo "$st" >"$TMP/io/fsize.status"
	check_output fsize 3 '^pickled: result not stored: .*File too large'
	# Nothing was stored: the next run executes again, and stores.
	pk next run --cache-failures -- "$TMP/bin/big"
	assert_count 2
	pk hit run --cache-failures -- "$TMP/bin/big"
	assert_count 2
	same_file "$TMP/big" "$TMP/io/hit.out"
	assert_status 3
}

@test "full file system (256 KiB tmpfs): output whole, status returned, one warning" {
	big_command
	mount_tmpfs "$CACHE" size=256k,mode=0700
	pk full run --cache-failures -- "$TMP/bin/big"
	check_output full 3 '^pickled: result not stored: .*No space left on device$'
	pk again run --cache-failures -- "$TMP/bin/big"
	check_output again 3 '^pickled: result not stored: .*No space left on device$'
	assert_count 2
	# The failed store left nothing behind to fill the disk further.
	[ -z "$(find "$CACHE/tmp" -type f)" ]
}

@test "no inodes left (tmpfs nr_inodes): output whole, status returned, one warning" {
	big_command
	for n in 3 5; do
		rm -f "$TMP/count"
		mount_tmpfs "$CACHE" size=8m,nr_inodes=$n,mode=0700
		pk "inodes$n" run --cache-failures -- "$TMP/bin/big"
		check_output "inodes$n" 3 '^pickled: result not stored: .*No space left on device$'
		umount "$CACHE"
		MOUNTS=()
	done
}

@test "read-only file system: output whole, status returned, one warning" {
	big_command
	mount_tmpfs "$CACHE" size=4m,mode=0700
	mount -o remount,ro "$CACHE"
	pk ro run --cache-failures -- "$TMP/bin/big"
	check_output ro 3 "^pickled: cache unavailable, running uncached: $CACHE: Read-only file system\$"
}

@test "read-only cache directory (mode 0500, unprivileged user): output whole, one warning" {
	big_command
	open_tmp_to_nobody
	mkdir -m 0500 "$TMP/ro"
	chown nobody "$TMP/ro"
	pk_nobody ro -C "$TMP/ro" run --cache-failures -- "$TMP/bin/big"
	check_output ro 3 "^pickled: cache unavailable, running uncached: $TMP/ro: Permission denied\$"
	[ -z "$(ls -A "$TMP/ro")" ]
}

@test "cache directory owned by root, run unprivileged: refused, output whole" {
	big_command
	open_tmp_to_nobody
	mkdir -m 0755 "$TMP/rootcache"
	pk_nobody ro -C "$TMP/rootcache" run --cache-failures -- "$TMP/bin/big"
	check_output ro 3 "^pickled: cache unavailable, running uncached: $TMP/rootcache: owned by another user \\(uid 0\\), refused\$"
	[ -z "$(ls -A "$TMP/rootcache")" ]
	# Below it, where it cannot create anything:
	pk_nobody sub -C "$TMP/rootcache/sub" run --cache-failures -- "$TMP/bin/big"
	check_output sub 3 "^pickled: cache unavailable, running uncached: $TMP/rootcache/sub: Permission denied\$"
}

@test "missing and uncreatable cache directories: output whole, one warning" {
	big_command
	pk proc -C /proc/nonexistent/x run --cache-failures -- "$TMP/bin/big"
	check_output proc 3 '^pickled: cache unavailable, running uncached: /proc/nonexistent/x: No such file or directory$'
	touch "$TMP/regular"
	pk file -C "$TMP/regular/x" run --cache-failures -- "$TMP/bin/big"
	check_output file 3 "^pickled: cache unavailable, running uncached: $TMP/regular/x: Not a directory\$"
	pk isfile -C "$TMP/regular" run --cache-failures -- "$TMP/bin/big"
	check_output isfile 3 "^pickled: cache unavailable, running uncached: $TMP/regular: Not a directory\$"
	assert_count 3
}

@test "a missing cache directory is created with mode 0700, parents too" {
	script hi 'echo hi'
	pk made -C "$TMP/a/b/cache" run -- "$TMP/bin/hi"
	assert_status 0
	assert_lines "$TMP/io/made.out" hi
	assert_empty "$TMP/io/made.err"
	for d in "$TMP/a" "$TMP/a/b" "$TMP/a/b/cache"; do
		[ "$(stat -c %a "$d")" = 700 ]
	done
	find "$TMP/a/b/cache" -type f | while read -r f; do
		m=$(stat -c %a "$f")
		if [ "$m" != 600 ]; then
			echo "$f has mode $m"
			exit 1
		fi
	done
}

@test "stdout to a full file system: exit 1 on a miss and a hit, the result still stored" {
	mount_tmpfs "$TMP/small" size=64k,mode=0755
	for i in miss hit; do
		status=0
		"$PK" run -- seq 1 100000 </dev/null >"$TMP/small/out.txt" 2>"$TMP/io/$i.err" 3>&- || status=$?
		[ "$status" = 1 ] || { echo "$i: status $status"; cat "$TMP/io/$i.err"; return 1; }
		[ "$(wc -l <"$TMP/io/$i.err")" = 1 ]
		grep -Eq '^pickled: (cannot write output|cannot replay output: cannot write output): No space left on device$' "$TMP/io/$i.err"
	done
	# The miss stored the whole result: a hit to a writable place has it all.
	"$PK" run -- seq 1 100000 </dev/null >"$TMP/io/whole.out" 2>"$TMP/io/whole.err" 3>&-
	seq 1 100000 | cmp - "$TMP/io/whole.out"
	[ ! -s "$TMP/io/whole.err" ]
}

@test "full file system: the temporary is removed at the first ENOSPC, while the command runs" {
	mount_tmpfs "$CACHE" size=256k,mode=0700
	make_data "$TMP/big" 8000000 7
	mkfifo "$TMP/fifo"
	"$PK" run -- sh -c "cat '$TMP/big'; read x <'$TMP/fifo'; echo end" \
		</dev/null >"$TMP/io/full.out" 2>"$TMP/io/full.err" 3>&- &
	local pid=$!
	BG_PIDS+=("$pid")
	local i=0
	# Up to 20 s for the output to pass through and for the compressing
	# thread, which may lag behind the pipe by its buffer, to reach the
	# ENOSPC (not a timed assertion).
	while { [ "$(wc -c <"$TMP/io/full.out")" -lt 8000000 ] ||
		[ -n "$(find "$CACHE/tmp" -type f)" ]; } && [ $i -lt 400 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	# Blocked on the FIFO: the entry's temporary is gone, its blocks freed.
	[ -z "$(find "$CACHE/tmp" -type f)" ]
	[ "$(df -k --output=used "$CACHE" | tail -n 1 | tr -d ' ')" -lt 64 ]
	echo go >"$TMP/fifo"
	status=0
	wait "$pid" || status=$?
	[ "$status" = 0 ]
	{ cat "$TMP/big"; echo end; } | cmp - "$TMP/io/full.out"
	[ "$(wc -l <"$TMP/io/full.err")" = 1 ]
	grep -Eq '^pickled: result not stored: .*No space left on device$' "$TMP/io/full.err"
}
