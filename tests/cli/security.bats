#!/usr/bin/env bats
# security.bats: another user against root's jobs (issue #21 items 1-3) and
# restoring -o files as the command leaves them (#12 item 4).  Each attack is
# run as it was found: root runs pickled, nobody (setpriv) attacks.

load helper

# as_nobody CMD...: runs CMD as nobody:nogroup, no other groups.
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

# A root-only secret, and a folder nobody owns where root's job runs.
setup_shared() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	chmod 0755 "$TMP"
	mkdir -m 0700 "$TMP/private"
	printf 'root secret %s\n' "$RANDOM$RANDOM$RANDOM" >"$TMP/private/secret"
	SECRET=$(cat "$TMP/private/secret")
	mkdir -p "$TMP/shared/out"
	chown -R nobody:nogroup "$TMP/shared"
	cd "$TMP/shared" || return 1
}

# secret_stored: the secret's bytes are somewhere in the cache (a small file
# is stored in a raw zstd block, so its bytes appear as they are).
secret_stored() {
	grep -rqaF "$SECRET" "$TMP/cache"
}

# --- #21 item 1: reading an output back ------------------------------------

@test "a link to a root-only file swapped in after the command wrote its output is not stored" {
	setup_shared
	# The attacker acts after the command's write, before pickled reads:
	# here the command's last step does it as nobody, so every run races.
	local cmd="$CNT"'; echo conf >out/site.conf; setpriv --reuid=nobody --regid=nogroup --clear-groups ln -sf "$TMP/private/secret" out/site.conf; echo built'
	pk run -o out/site.conf -- sh -c "$cmd"
	assert_status 0
	assert_out 'built\n'
	assert_err 'pickled: result not stored: cannot read output: out/site.conf: a link owned by another user (uid 65534), not followed: Operation not permitted\n'
	[ -z "$(entries)" ]
	! secret_stored
	# The next run is a miss again, and the secret never reaches a hit.
	pk run -o out/site.conf -- sh -c "$cmd"
	assert_count 2
	[ -L out/site.conf ]
	! secret_stored
}

@test "a link root made in a folder another user can change is not followed either" {
	setup_shared
	printf 'shared conf\n' >"$TMP/conf"
	local cmd="$CNT"'; ln -sf "$TMP/conf" out/site.conf; echo built'
	pk run -o out/site.conf -- sh -c "$cmd"
	assert_status 0
	assert_out 'built\n'
	assert_err 'pickled: result not stored: cannot read output: out/site.conf: a link in a directory another user can change, not followed: Operation not permitted\n'
	[ -z "$(entries)" ]
}

@test "racing an attacker who keeps swapping the output for a link: the secret is never stored" {
	setup_shared
	# nobody swaps out/site.conf for a link to the secret as fast as it can,
	# for as long as root's runs last (bounded: 150 runs).
	as_nobody sh -c 'while [ ! -e "$1/stop" ]; do ln -sf "$2" "$1/out/.l" && mv -fT "$1/out/.l" "$1/out/site.conf"; done' \
		sh "$TMP/shared" "$TMP/private/secret" &
	BG_PIDS+=("$!")
	local i t0
	t0=$(now_ms)
	# The job writes a temporary and renames it, as a careful build does
	# (writing through the attacker's link would be the job's own doing).
	for i in $(seq 150); do
		[ $(($(now_ms) - t0)) -lt 60000 ] || break
		"$PK" run -o out/site.conf -- sh -c 'echo conf >out/new && mv -f out/new out/site.conf' \
			</dev/null >/dev/null 2>&1 3>&- || true
		! secret_stored || { echo "secret stored on run $i"; touch "$TMP/shared/stop"; return 1; }
		"$PK" rm --all >/dev/null 2>&1 </dev/null 3>&- || true
	done
	touch "$TMP/shared/stop"
	[ "$(cat "$TMP/private/secret")" = "$SECRET" ]
}

@test "a final link owned by the user in the user's own folder is followed when read back" {
	local cmd="$CNT"'; printf "v%s\n" "$(wc -l <"$TMP/count")" >real.txt; ln -sf real.txt out.txt; echo done'
	pk run -o out.txt -- sh -c "$cmd"
	assert_status 0
	assert_err ''
	has_entries
}

# --- #12 item 4: a hit leaves the path as the command leaves it ------------

@test "a hit writes through a final link to its target, and the link stays a link" {
	printf 'old\n' >target.txt
	ln -s target.txt out.txt
	local cmd="$CNT"'; printf "new\n" >out.txt; echo done'
	pk run -o out.txt -- sh -c "$cmd"
	assert_status 0
	assert_err ''
	printf 'garbage\n' >target.txt
	pk run -o out.txt -- sh -c "$cmd"
	assert_status 0
	assert_out 'done\n'
	assert_err ''
	assert_count 1
	[ -L out.txt ]
	[ "$(readlink out.txt)" = target.txt ]
	assert_bytes target.txt 'new\n'
	[ -z "$(ls -A | grep -v -x -e out.txt -e target.txt)" ]
}

@test "a hit through a link into another folder replaces the target there, atomically" {
	mkdir elsewhere
	printf 'old\n' >elsewhere/t.txt
	ln -s elsewhere/t.txt out.txt
	local cmd="$CNT"'; printf "new\n" >out.txt'
	pk run -o out.txt -- sh -c "$cmd"
	printf 'garbage\n' >elsewhere/t.txt
	local ino
	ino=$(stat -c %i elsewhere/t.txt)
	pk run -o out.txt -- sh -c "$cmd"
	assert_status 0
	assert_err ''
	assert_count 1
	[ -L out.txt ]
	assert_bytes elsewhere/t.txt 'new\n'
	# a new inode: renamed into place, never a half-written file
	[ "$(stat -c %i elsewhere/t.txt)" != "$ino" ]
	[ -z "$(ls -A elsewhere | grep -v -x t.txt)" ]
}

@test "as root, a hit keeps an existing file's owner, group and mode" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	chmod 0755 "$TMP" "$TMP/wd"
	local cmd="$CNT"'; printf "data\n" >out.txt'
	printf 'old\n' >out.txt
	chown nobody:nogroup out.txt
	chmod 0600 out.txt
	pk run -o out.txt -- sh -c "$cmd"
	printf 'garbage\n' >out.txt
	pk run -o out.txt -- sh -c "$cmd"
	assert_status 0
	assert_err ''
	assert_count 1
	assert_bytes out.txt 'data\n'
	[ "$(stat -c '%U:%G %a' out.txt)" = 'nobody:nogroup 600' ]
	# the service running as nobody still reads it
	[ "$(as_nobody cat "$TMP/wd/out.txt")" = data ]
}

@test "a file with a second hard link is rewritten in place, so both names keep the content" {
	local cmd="$CNT"'; printf "data\n" >out.txt'
	printf 'old\n' >out.txt
	ln out.txt other-name.txt
	pk run -o out.txt -- sh -c "$cmd"
	printf 'garbage\n' >out.txt
	pk run -o out.txt -- sh -c "$cmd"
	assert_status 0
	assert_err ''
	assert_count 1
	assert_bytes out.txt 'data\n'
	assert_bytes other-name.txt 'data\n'
	[ "$(stat -c %h out.txt)" = 2 ]
}

@test "a dangling final link: a hit creates its target, as the command did" {
	ln -s made.txt out.txt
	local cmd="$CNT"'; printf "data\n" >out.txt'
	pk run -o out.txt -- sh -c "$cmd"
	rm made.txt
	pk run -o out.txt -- sh -c "$cmd"
	assert_status 0
	assert_err ''
	assert_count 1
	[ -L out.txt ]
	assert_bytes made.txt 'data\n'
}

@test "with fs.protected_symlinks, a root hit is not steered by a link another user planted in a sticky folder" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ "$(cat /proc/sys/fs/protected_symlinks 2>/dev/null)" = 1 ] || skip "fs.protected_symlinks is off"
	chmod 0755 "$TMP"
	mkdir -m 1777 "$TMP/pub"
	printf 'victim\n' >"$TMP/victim"
	local cmd="$CNT"'; printf "data\n" >"$TMP/pub/out.txt"'
	pk run -o "$TMP/pub/out.txt" -- sh -c "$cmd"
	rm "$TMP/pub/out.txt"
	as_nobody ln -s "$TMP/victim" "$TMP/pub/out.txt"
	pk run -o "$TMP/pub/out.txt" -- sh -c "$cmd"
	assert_bytes "$TMP/victim" 'victim\n'
	[ -L "$TMP/pub/out.txt" ]
}

# --- #21 item 2: the cache directory and what gc removes -------------------

# A "/" of the test's: root's, with a sticky tmp/ where nobody keeps a file
# two hours old, and a HOME that nobody owns.
setup_fake_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	chmod 0755 "$TMP"
	mkdir -m 0755 "$TMP/root"
	mkdir -m 1777 "$TMP/root/tmp"
	as_nobody sh -c 'echo mine >"$1/root/tmp/123.456.7"; echo notes >"$1/root/tmp/notes"' sh "$TMP"
	touch -d '2 hours ago' "$TMP/root/tmp/123.456.7" "$TMP/root/tmp/notes"
	mkdir -m 0755 "$TMP/nhome"
	chown nobody:nogroup "$TMP/nhome"
}

@test "a cache dir reached through a link another user planted in HOME is refused, and gc deletes nothing there" {
	setup_fake_root
	as_nobody mkdir "$TMP/nhome/.cache"
	as_nobody ln -s "$TMP/root" "$TMP/nhome/.cache/pickled"
	unset PICKLED_CACHE_DIR
	local i
	for i in 1 2; do
		HOME=$TMP/nhome pk run -- sh -c "$CNT; echo out; exit 3"
		assert_status 3
		assert_out 'out\n'
		assert_err 'pickled: cache unavailable, running uncached: %s: %s is owned by another user (uid 65534), refused\n' \
			"$TMP/nhome/.cache/pickled" "$TMP/nhome"
	done
	assert_count 2
	HOME=$TMP/nhome pk gc
	assert_status 1
	assert_bytes "$TMP/root/tmp/123.456.7" 'mine\n'
	assert_bytes "$TMP/root/tmp/notes" 'notes\n'
	[ -z "$(ls -A "$TMP/root" | grep -v -x tmp)" ]
}

@test "root with a HOME another user owns (sudo without -H) creates nothing there and runs uncached" {
	setup_fake_root
	unset PICKLED_CACHE_DIR
	HOME=$TMP/nhome pk run -- sh -c "$CNT; echo out"
	assert_status 0
	assert_out 'out\n'
	assert_err 'pickled: cache unavailable, running uncached: %s: %s is owned by another user (uid 65534), refused\n' \
		"$TMP/nhome/.cache/pickled" "$TMP/nhome"
	[ -z "$(ls -A "$TMP/nhome")" ]
}

@test "a link owned by another user anywhere on the cache's path is refused" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	chmod 0755 "$TMP"
	mkdir -m 0700 "$TMP/real"
	ln -s "$TMP/real" "$TMP/via"
	chown -h nobody:nogroup "$TMP/via"
	pk -C "$TMP/via/cache" run -- sh -c "$CNT; echo out"
	assert_status 0
	assert_out 'out\n'
	assert_err 'pickled: cache unavailable, running uncached: %s: %s is a link owned by another user (uid 65534), refused\n' \
		"$TMP/via/cache" "$TMP/via"
	[ ! -e "$TMP/real/cache" ]
}

@test "a cache dir below a folder others can write (not sticky) is refused" {
	mkdir -m 0777 "$TMP/open"
	chmod 0777 "$TMP/open"
	pk -C "$TMP/open/cache" run -- sh -c "$CNT; echo out"
	assert_status 0
	assert_err 'pickled: cache unavailable, running uncached: %s: %s is writable by other users, refused\n' \
		"$TMP/open/cache" "$TMP/open"
	[ ! -e "$TMP/open/cache" ]
}

@test "links of the user's own on the cache's path are followed" {
	mkdir -m 0700 "$TMP/real"
	ln -s real "$TMP/mine"
	pk -C "$TMP/mine/cache" run -- sh -c "$CNT; echo out"
	assert_status 0
	assert_err ''
	pk -C "$TMP/mine/cache" run -- sh -c "$CNT; echo out"
	assert_out 'out\n'
	assert_count 1
	[ -d "$TMP/real/cache/v1" ]
}

@test "gc removes only leftovers pickled named and owns" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	pk run -- true
	mkdir -p "$PICKLED_CACHE_DIR/tmp" "$PICKLED_CACHE_DIR/locks"
	echo a >"$PICKLED_CACHE_DIR/tmp/123.456.7"
	echo b >"$PICKLED_CACHE_DIR/tmp/notes.txt"
	echo c >"$PICKLED_CACHE_DIR/tmp/124.456.7"
	chown nobody "$PICKLED_CACHE_DIR/tmp/124.456.7"
	echo d >"$PICKLED_CACHE_DIR/locks/0123456789abcdef0123456789abcdef"
	echo e >"$PICKLED_CACHE_DIR/locks/README"
	touch -d '2 hours ago' "$PICKLED_CACHE_DIR"/tmp/* "$PICKLED_CACHE_DIR"/locks/*
	pk gc
	assert_status 0
	[ ! -e "$PICKLED_CACHE_DIR/tmp/123.456.7" ]
	[ ! -e "$PICKLED_CACHE_DIR/locks/0123456789abcdef0123456789abcdef" ]
	assert_bytes "$PICKLED_CACHE_DIR/tmp/notes.txt" 'b\n'
	assert_bytes "$PICKLED_CACHE_DIR/tmp/124.456.7" 'c\n'
	assert_bytes "$PICKLED_CACHE_DIR/locks/README" 'e\n'
}

# --- #21 item 9 and #12: what show, --explain and ls print -----------------

@test "show quotes the program, working directory, key text, inputs and outputs: no terminal escape gets through" {
	local dir prog key in out k
	dir=$'wd\e]0;owned\a'
	prog=$'prog\e[31m'
	key=$'ns\e[2J'
	in=$'in\nput\xff'
	out=$'out\xc2\x9b.txt'
	mkdir "$dir"
	cd "$dir" || return 1
	printf '#!/bin/sh\necho x >>"$TMP/count"; echo ran >"$1"\n' >"$prog"
	chmod +x "$prog"
	echo data >"$in"
	pk run -k "$key" -i "$in" -o "$out" --cwd -- "./$prog" "$out"
	assert_status 0
	k=$("$PK" key -k "$key" -i "$in" -o "$out" --cwd -- "./$prog" "$out" </dev/null)
	pk show "$k"
	assert_status 0
	# no raw ESC, BEL, newline inside a value, C1 control or invalid byte
	! grep -q $'[\e\a]' "$TMP/io/out"
	! grep -qa $'\xc2\x9b' "$TMP/io/out"
	! grep -qa $'\xff' "$TMP/io/out"
	grep -qxF "program         $'$TMP/wd/wd\\x1b]0;owned\\x07/prog\\x1b[31m'" "$TMP/io/out"
	grep -qxF "cwd             $'$TMP/wd/wd\\x1b]0;owned\\x07'" "$TMP/io/out"
	grep -qxF "key text        $'ns\\x1b[2J'" "$TMP/io/out"
	grep -qF "input           $'in\\nput\\xff' xxh3 " "$TMP/io/out"
	grep -qF "output          $'out\\u009b.txt' (" "$TMP/io/out"
	grep -qxF "command         $'./prog\\x1b[31m' $'out\\u009b.txt'" "$TMP/io/out"
	grep -qxF "key cwd         $'$TMP/wd/wd\\x1b]0;owned\\x07'" "$TMP/io/out"
}

@test "--explain quotes input paths, arguments and key text the same way" {
	local in=$'a\nb\xff'
	echo data >"$in"
	pk run --explain -k $'t\e' -i "$in" -- printf $'\xff\xc2\x9b'
	assert_status 0
	! grep -qa $'\xff' "$TMP/io/err"
	! grep -q $'\e' "$TMP/io/err"
	grep -qF "pickled:   input $'a\\nb\\xff' xxh3 " "$TMP/io/err"
	grep -qxF "pickled:   argv[1] $'\\xff\\u009b'" "$TMP/io/err"
	grep -qxF "pickled:   key text $'t\\x1b'" "$TMP/io/err"
	grep -qxF "pickled:   argv[0] 'printf'" "$TMP/io/err"
}

@test "ls prints a command's bytes that are not UTF-8 escaped" {
	pk run -- printf $'x\xff\xfe'
	assert_status 0
	pk ls
	assert_status 0
	! grep -qa $'\xff' "$TMP/io/out"
	grep -qF "printf $'x\\xff\\xfe'" "$TMP/io/out"
}
