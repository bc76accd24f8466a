#!/usr/bin/env bats
# inspect.bats: the inspection and maintenance subcommands (ls, show, cat,
# rm, gc, stats, verify): exact output, filters, victims and exit statuses.

load helper

# A duration as pickled prints one: "250ms", "45s", "3h12m", "1d".
DUR='[0-9]+(ms|[wdhms])([0-9]+[dhms])?'
# A local time as pickled prints one.
TIME='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}'

# --- helpers -------------------------------------------------------------------

# key_of ARG...: the full key of the one entry whose command is exactly ARG...
key_of() {
	"$PK" ls --json | python3 -c '
import json, sys
keys = [e["key"] for e in json.load(sys.stdin) if e.get("command") == sys.argv[1:]]
if len(keys) != 1:
    sys.exit("key_of: %d entries run %r" % (len(keys), sys.argv[1:]))
print(keys[0])' "$@"
}

# entry_file KEY: where the entry for KEY lives.
entry_file() {
	echo "$PICKLED_CACHE_DIR/v1/${1:0:2}/$1"
}

# stored_of KEY...: bytes the entries take on disk, summed.
stored_of() {
	local k total=0
	for k in "$@"; do
		total=$((total + $(stat -c %s "$(entry_file "$k")")))
	done
	echo "$total"
}

# fmt_size BYTES: a size as pickled prints one ("512B", "3.9K", "12M").
fmt_size() {
	awk -v b="$1" 'BEGIN {
		if (b < 1024) { printf "%dB", b; exit }
		v = b; i = 0
		while (v >= 1024 && i < 6) { v /= 1024; i++ }
		if (v < 10) printf "%.1f%s", int(v * 10) / 10, substr("KMGTPE", i, 1)
		else printf "%d%s", int(v), substr("KMGTPE", i, 1)
	}'
}

# ls_norm: pickled's last stdout, an ls listing, into $TMP/io/norm with the
# columns that depend on the clock replaced once they look right: the age
# by AGE, a time left by LEFT ("expired", "stale" and "forever" stay), the
# time saved by SAVED.  A column that is not a duration, or is padded
# differently, stays as it was, so that the comparison that follows fails.
# Lines of damaged entries stay whole.
ls_norm() {
	awk -v D="^$DUR\$" '
	function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
	/^[0-9a-f]+  damaged: / { print; next }
	{
		age = trim(substr($0, 15, 7)); left = trim(substr($0, 23, 8))
		saved = trim(substr($0, 57, 7))
		if (substr($0, 15, 7) == sprintf("%-7s", age) && age ~ D) age = "AGE"
		else age = substr($0, 15, 7)
		if (substr($0, 23, 8) == sprintf("%-8s", left) && left ~ D) left = "LEFT"
		else left = substr($0, 23, 8)
		if (substr($0, 57, 7) == sprintf("%7s", saved) && saved ~ D) saved = "SAVED"
		else saved = substr($0, 57, 7)
		printf "%s%-7s %-8s%s%7s%s\n", substr($0, 1, 14), age, left,
		       substr($0, 31, 26), saved, substr($0, 64)
	}' "$TMP/io/out" >"$TMP/io/norm"
}

# ls_line KEY LEFT EXIT RAW_BYTES HITS REST: the line ls_norm leaves for
# an entry (stored size from the entry file); REST is what follows the
# fixed columns: job, tags (NT: neither, in a listing where no entry has
# one) and the command.
NT='-    -     '
ls_line() {
	printf '%.12s  %-7s %-8s %3d  %6s %6s %5d %7s  %s\n' "$1" AGE "$2" "$3" \
		"$(fmt_size "$4")" "$(fmt_size "$(stored_of "$1")")" "$5" SAVED "$6"
}

# pty_pk COLUMNS ARGS...: runs pickled with ARGS on a terminal COLUMNS wide;
# what it printed goes to $TMP/io/out (with "\r\n" back to "\n").
pty_pk() {
	python3 -c '
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, int(sys.argv[1]), 0, 0))
    os.execv(sys.argv[2], sys.argv[2:])
out = b""
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
_, st = os.waitpid(pid, 0)
sys.stdout.buffer.write(out.replace(b"\r\n", b"\n"))
sys.exit(os.waitstatus_to_exitcode(st))' "$1" "$PK" "${@:2}" >"$TMP/io/out"
}

# assert_keys K...: the listing in pickled's last stdout names exactly
# these entries, in this order.
assert_keys() {
	local k
	for k in "$@"; do
		echo "${k:0:12}"
	done >"$TMP/io/keys"
	cut -c1-12 "$TMP/io/out" >"$TMP/io/gotkeys"
	assert_same "$TMP/io/keys" "$TMP/io/gotkeys" "keys listed"
}

# json PYTHON: runs PYTHON with `d` bound to pickled's last stdout decoded
# as JSON; fails (printing why) when an assert in it fails.
json() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])' "$TMP/io/out" "$1"
}

# flip_middle FILE: inverts the byte in the middle of FILE, in place.
flip_middle() {
	python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
    n = f.seek(0, 2)
    f.seek(n // 2)
    b = f.read(1)
    f.seek(n // 2)
    f.write(bytes([b[0] ^ 0xff]))' "$1"
}

# wait_gc: waits for the background gc that the first store of a test
# starts, so that it cannot act in the middle of what the test checks.
wait_gc() {
	poll 30 test -f "$PICKLED_CACHE_DIR/gc.stamp"
	flock "$PICKLED_CACHE_DIR/gc.lock" true
}

# gc_just_ran: dates the last gc a moment ago (its stamp: the bytes it
# kept), so that no store of the test starts one.  For a test whose first
# store has a --ttl of 1s, made with PICKLED_GC=false: that store's own
# background gc, started late on a loaded machine, could remove the entry
# before the test looked.
gc_just_ran() {
	head -c 8 /dev/zero >"$PICKLED_CACHE_DIR/gc.stamp"
}

# hold_lock FILE: takes the flock(2) lock on FILE (as a running pickled
# would) on fd 8 of the test's shell, until the test ends.
hold_lock() {
	exec 8>>"$1"
	flock -n 8
}

# --- ls ------------------------------------------------------------------------

@test "ls on an empty cache prints nothing; ls --json prints an empty array" {
	mkdir -m 700 "$PICKLED_CACHE_DIR"
	pk ls
	assert_status 0
	assert_out ''
	assert_err ''
	pk ls --json
	assert_status 0
	assert_out '[]\n'
	assert_err ''
	json 'assert d == []'
}

@test "only run creates a cache: the other commands say there is none, exit 1" {
	local d=$TMP/typo/cache cmd
	for cmd in ls 'ls --json' stats 'stats --json' 'stats --zero' verify 'verify --fix' gc \
		'gc --dry-run' 'rm --all' 'rm --expired' 'rm 0123' 'show 0123' 'cat 0123'; do
		# shellcheck disable=SC2086
		pk -C "$d" $cmd
		assert_status 1
		assert_out ''
		assert_err 'pickled: no cache at %s\n' "$d"
		# shellcheck disable=SC2086
		PICKLED_CACHE_DIR=$d pk $cmd
		assert_status 1
		assert_err 'pickled: no cache at %s\n' "$d"
	done
	# key computes a key, jobs shows none: neither makes a cache
	printf 'abc\n' >in.txt
	pk -C "$d" key -i in.txt echo hi
	assert_status 0
	assert_err ''
	[ ! -e "$TMP/typo" ]
	printf 'jobs:\n  j:\n    command: [echo, hi]\n' >"$PICKLED_CONFIG"
	pk -C "$d" jobs
	assert_status 0
	assert_match "$TMP/io/out" '^(NAME +STATE .*|j +none +- .*)$'
	[ ! -e "$TMP/typo" ]
	# run makes it
	pk -C "$d" run echo hi
	assert_status 0
	[ -f "$d/CACHEDIR.TAG" ]
	pk -C "$d" ls --json
	assert_status 0
}

@test "ls prints one line per entry: key, age, left, exit, sizes, hits, saved, command" {
	pk run sh -c "$CNT; printf 'hello\n'"
	pk run sh -c "$CNT; printf 'hello\n'"
	pk run sh -c "$CNT; printf 'hello\n'"
	pk run --cache-failures --ttl 2h sh -c 'printf "four" >&2; exit 4'
	pk run --ttl forever printf '%s\n' 'it'\''s' a b
	wait_gc
	local k1 k2 k3
	k1=$(key_of sh -c "$CNT; printf 'hello\n'")
	k2=$(key_of sh -c 'printf "four" >&2; exit 4')
	k3=$(key_of printf '%s\n' "it's" a b)
	pk ls
	assert_status 0
	assert_err ''
	ls_norm
	{
		ls_line "$k3" forever 0 9 0 "${NT}printf '%s\\n' 'it'\\''s' a b"
		ls_line "$k2" LEFT 4 4 0 "${NT}sh -c 'printf \"four\" >&2; exit 4'"
		ls_line "$k1" LEFT 0 6 2 "${NT}sh -c 'echo x >>\"\$TMP/count\"; printf '\\''hello\\n'\\'''"
	} >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/norm" "ls (normalised)"
	# The time columns themselves: ages are short, 2h and 1d ttls.
	cut -c15-21 "$TMP/io/out" >"$TMP/io/col"
	assert_match "$TMP/io/col" '^[0-9]+(ms|s) *$'
	sed -n 2p "$TMP/io/out" | cut -c23-30 >"$TMP/io/col"
	assert_match "$TMP/io/col" '^(1h59m|2h) *$'
	sed -n 3p "$TMP/io/out" | cut -c23-30 >"$TMP/io/col"
	assert_match "$TMP/io/col" '^(23h59m|1d) *$'
	sed -n 1,2p "$TMP/io/out" | cut -c57-63 >"$TMP/io/col"
	assert_match "$TMP/io/col" '^ *0ms$'
}

@test "ls cuts the command line to the terminal's width, with a header" {
	pk run sh -c 'echo 0123456789012345678901234567890123456789'
	local k
	k=$(key_of sh -c 'echo 0123456789012345678901234567890123456789')
	pty_pk 80 ls
	assert_lines "$TMP/io/out" 2
	ls_norm
	tail -n +2 "$TMP/io/norm" >"$TMP/io/got"
	ls_line "$k" LEFT 0 41 0 "${NT}sh -" >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "ls on an 80-column terminal"
	tail -n 1 "$TMP/io/out" >"$TMP/io/got"
	assert_match "$TMP/io/got" '^.{80}$'
	head -n 1 "$TMP/io/out" >"$TMP/io/got"
	assert_match "$TMP/io/got" '^KEY  '
}

@test "ls -l cuts its line to the terminal's width too, and quotes tags as words" {
	pk run --tag "$(printf 'bad\001tag')" --tag "two words" --tag ok echo $(seq 60)
	local k
	k=$(key_of echo $(seq 60))
	pty_pk 200 ls -l
	assert_lines "$TMP/io/out" 2
	tail -n 1 "$TMP/io/out" >"$TMP/io/got"
	assert_match "$TMP/io/got" '^.{200}$'
	assert_match "$TMP/io/got" "^${k:0:12} .* \\\$'bad\\\\x01tag','two words',ok  - +echo 1 2 3 "
	# Off a terminal, the whole line.
	pk ls -l
	assert_match "$TMP/io/out" " echo $(seq 60 | tr '\n' ' ' | sed 's/ $//')\$"
	pk show "${k:0:12}"
	grep -x "tags            \$'bad\\\\x01tag' 'two words' ok" "$TMP/io/out"
}

@test "ls -l quotes a stored tag that holds a comma, so it never looks like two" {
	pk run --tag zqzqz --tag other echo hi
	local k f
	k=$(key_of echo hi)
	f=$(entry_file "$k")
	# as an older pickled (or another host) could have stored it
	python3 -c '
import sys
p = sys.argv[1]
b = open(p, "rb").read()
assert b.count(b"zqzqz") == 1
open(p, "wb").write(b.replace(b"zqzqz", b"zq,zq"))' "$f"
	pk ls -l
	assert_status 0
	assert_match "$TMP/io/out" "^${k:0:12} .*  'zq,zq',other  - +echo hi\$"
	pk ls -l --tag zq,zq
	assert_match "$TMP/io/out" "^${k:0:12} "
}

@test "ls's header on a terminal names the columns above them" {
	pk run echo hi
	pty_pk 200 ls -l
	cp "$TMP/io/out" "$TMP/io/long"
	pty_pk 200 ls
	assert_lines "$TMP/io/out" 2
	assert_lines "$TMP/io/long" 2
	# Each label starts where its left-aligned column starts, or ends where
	# its right-aligned column ends.
	python3 -c '
import sys
for path, extra in ((sys.argv[1], {"JOB": 65, "TAGS": 70, "COMMAND": 76}),
                    (sys.argv[2], {"CREATED": 65, "LAST HIT": 86, "JOB": 107, "TAGS": 112, "DIFFERS": 118, "COMMAND": 127})):
    head, line = open(path, encoding="utf-8").read().splitlines()
    left = {"KEY": 0, "AGE": 14, "LEFT": 22}
    left.update(extra)
    right = {"EXIT": 34, "RAW": 42, "STORED": 49, "HITS": 55, "SAVED": 63}
    bad = [(label, head.index(label), col) for label, col in left.items() if head.index(label) != col]
    bad += [(label, head.index(label) + len(label), end) for label, end in right.items()
            if head.index(label) + len(label) != end]
    assert not bad, ("label, its column, the data column", bad, head, line)
' "$TMP/io/out" "$TMP/io/long"
}

@test "ls --header and --no-header: what is asked for, terminal or not" {
	pk run echo hi
	local k head='KEY           AGE     LEFT    EXIT     RAW STORED  HITS   SAVED  JOB  TAGS  COMMAND'
	local headl='KEY           AGE     LEFT    EXIT     RAW STORED  HITS   SAVED  CREATED              LAST HIT             JOB  TAGS  DIFFERS  COMMAND'
	k=$(key_of echo hi)
	# off a terminal: no header unless asked
	pk ls
	assert_lines "$TMP/io/out" 1
	pk ls --header
	assert_status 0
	assert_lines "$TMP/io/out" 2
	head -n 1 "$TMP/io/out" >"$TMP/io/got"
	assert_bytes "$TMP/io/got" '%s\n' "$head"
	tail -n 1 "$TMP/io/out" >"$TMP/io/got"
	assert_match "$TMP/io/got" "^${k:0:12} .* echo hi\$"
	pk ls -l --header
	head -n 1 "$TMP/io/out" >"$TMP/io/got"
	assert_bytes "$TMP/io/got" '%s\n' "$headl"
	# on a terminal: a header unless told not to
	pty_pk 200 ls --no-header
	assert_lines "$TMP/io/out" 1
	assert_match "$TMP/io/out" "^${k:0:12} "
	pty_pk 200 ls --header
	assert_lines "$TMP/io/out" 2
	# the last of the two wins; an empty cache prints the header alone
	pk ls --header --no-header
	assert_lines "$TMP/io/out" 1
	pk ls --no-header --header
	assert_lines "$TMP/io/out" 2
	pk ls --header --tag none
	assert_out '%s\n' "$head"
	# JSON has no header line
	pk ls --json --header
	assert_status 125
	assert_out ''
	assert_err "pickled: --header and --json cannot be used together\nTry 'pickled ls --help' for more information.\n"
	pk ls --json --no-header
	assert_status 0
	json "assert len(d) == 1"
}

@test "ls -l adds creation time, last hit and tags" {
	pk run --tag nightly --tag db echo tagged
	pk run --tag nightly --tag db echo tagged
	pk run echo plain
	local kt kp
	kt=$(key_of echo tagged)
	kp=$(key_of echo plain)
	pk ls -l
	assert_status 0
	assert_err ''
	sed -E "s/^(.{65})$TIME  ($TIME|-{19})  /\\1CREATED  \\2  /; s/  $TIME  /  LASTHIT  /" "$TMP/io/out" >"$TMP/io/out2"
	mv "$TMP/io/out2" "$TMP/io/out"
	ls_norm
	{
		ls_line "$kp" LEFT 0 6 0 "CREATED  -------------------  -    -           -        echo plain"
		ls_line "$kt" LEFT 0 7 1 "CREATED  LASTHIT  -    nightly,db  -        echo tagged"
	} >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/norm" "ls -l (normalised)"
}

@test "ls --sort orders by age, size, hits, saved or command" {
	# x: oldest, largest, 1 hit of 1s; y: 2 hits of 0.1s, smallest;
	# z: newest, no hit.  Command order: env < head < sh.  (x's second
	# is so that y stays behind in saved time even on a loaded machine.)
	local x=(sh -c 'sleep 1; head -c 3000 /dev/urandom')
	local y=(env sh -c 'sleep 0.1; head -c 1000 /dev/urandom')
	local z=(head -c 2000 /dev/urandom)
	pk run "${x[@]}"
	pk run "${y[@]}"
	pk run "${z[@]}"
	pk run "${x[@]}"
	pk run "${y[@]}"
	pk run "${y[@]}"
	local kx ky kz
	kx=$(key_of "${x[@]}")
	ky=$(key_of "${y[@]}")
	kz=$(key_of "${z[@]}")
	pk ls
	assert_status 0
	assert_keys "$kz" "$ky" "$kx"
	pk ls --sort=age
	assert_keys "$kz" "$ky" "$kx"
	pk ls --sort=size
	assert_status 0
	assert_keys "$kx" "$kz" "$ky"
	pk ls --sort hits
	assert_status 0
	assert_keys "$ky" "$kx" "$kz"
	pk ls --sort=saved
	assert_status 0
	assert_keys "$kx" "$ky" "$kz"
	pk ls --sort=command
	assert_status 0
	assert_keys "$ky" "$kz" "$kx"
	pk ls --sort=size --json
	assert_status 0
	json "assert [e['key'] for e in d] == ['$kx', '$kz', '$ky'], d"
}

@test "ls lists the newest first, whatever the order of the keys" {
	# Add entries until the newest first is not simply the keys' order, so
	# that a listing sorted by key alone cannot pass.
	local i=0 keys=() before
	while :; do
		i=$((i + 1))
		before=$(entries)
		"$PK" run -k "n$i" true
		keys=("$(comm -13 <(echo "$before") <(entries) | sed 's,.*/,,')" "${keys[@]}")
		if [ "$i" -ge 2 ] && [ "$(printf '%s\n' "${keys[@]}" | sort)" != "$(printf '%s\n' "${keys[@]}")" ]; then
			break
		fi
		[ "$i" -lt 20 ]
	done
	pk ls
	assert_status 0
	assert_keys "${keys[@]}"
	pk ls --sort=age
	assert_keys "${keys[@]}"
}

@test "ls --remote without a shared tier configured is an error, exit 1" {
	pk ls --remote
	assert_status 1
	assert_out ''
	assert_err 'pickled: no remote cache configured (remote.url or PICKLED_REMOTE)\n'
}

@test "ls --sort refuses an unknown order" {
	pk ls --sort=newest
	assert_status 125
	assert_out ''
	assert_err "pickled: invalid value for --sort: 'newest' (age, size, hits, saved or command)\nTry 'pickled ls --help' for more information.\n"
}

@test "ls --fresh, --stale and --expired select by state; --tag by tag" {
	pk run --tag a echo fresh
	wait_gc
	pk run --tag b --ttl 1h --stale 1s echo stale
	pk run --tag a --ttl 1s echo expired
	local kf ks ke
	kf=$(key_of echo fresh)
	ks=$(key_of echo stale)
	ke=$(key_of echo expired)
	sleep 1.2
	pk ls --expired
	assert_status 0
	ls_norm
	ls_line "$ke" expired 0 8 0 "-    a     echo expired" >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/norm" "ls --expired"
	pk ls --stale
	assert_status 0
	ls_norm
	ls_line "$ks" stale 0 6 0 "-    b     echo stale" >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/norm" "ls --stale"
	pk ls --fresh
	assert_status 0
	ls_norm
	ls_line "$kf" LEFT 0 6 0 "-    a     echo fresh" >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/norm" "ls --fresh"
	pk ls --tag a
	assert_status 0
	assert_keys "$ke" "$kf"
	pk ls --tag b
	assert_keys "$ks"
	pk ls --tag c
	assert_status 0
	assert_out ''
	pk ls --tag a --fresh
	assert_keys "$kf"
	# several states: the entries in any of them
	pk ls --fresh --expired
	assert_status 0
	assert_keys "$ke" "$kf"
	pk ls --stale --expired --fresh
	assert_keys "$ke" "$ks" "$kf"
	# several tags: the entries with any of them
	pk ls --tag b --tag a
	assert_keys "$ke" "$ks" "$kf"
	pk ls --tag b --tag c --stale
	assert_keys "$ks"
	pk ls --json
	json "
s = {e['key']: e['state'] for e in d}
assert s == {'$kf': 'fresh', '$ks': 'stale', '$ke': 'expired'}, s"
}

@test "ls --json escapes newlines, control characters, quotes and invalid UTF-8" {
	pk run true $'line1\nline2' $'\x01' 'say "hi"' $'\xff' 'café'
	assert_status 0
	pk ls --json
	assert_status 0
	assert_err ''
	python3 -m json.tool "$TMP/io/out" >/dev/null
	python3 -c 'import json, sys
d = json.load(sys.stdin)
assert len(d) == 1, d
assert d[0]["command"] == ["true", "line1\nline2", "\x01", "say \"hi\"", "\ufffd", "caf\u00e9"], d[0]["command"]
assert d[0]["program"].endswith("/true"), d[0]["program"]' <"$TMP/io/out"
	# The JSON text itself: escapes, not raw bytes.
	grep -qF '"command":["true","line1\nline2","\u0001","say \"hi\"","\ufffd","café"]' "$TMP/io/out"
	if LC_ALL=C grep -q $'[\x01\xff]' "$TMP/io/out"; then
		echo "raw control or invalid byte in the JSON"
		return 1
	fi
	# The text listing quotes the same command for a shell, a byte that is
	# not UTF-8 escaped rather than sent raw to the terminal.
	pk ls
	cut -c77- "$TMP/io/out" >"$TMP/io/got"
	printf '%s\n' "true \$'line1\\nline2' \$'\\x01' 'say \"hi\"' \$'\\xff' 'café'" >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "ls command column"
}

@test "ls --json: one object per entry with the documented fields" {
	local in=$TMP/wd/in.txt
	echo data >"$in"
	umask 022
	MYVAR=1 pk run --tag t1 --tag t2 -k ns -e MYVAR -i in.txt -o out.txt --cwd \
		--cache-failures --ttl 2h --stale 1h sh -c 'printf "ab\n"; printf "c\n" >&2; echo x >out.txt; exit 3'
	assert_status 3
	MYVAR=1 pk run --tag t1 --tag t2 -k ns -e MYVAR -i in.txt -o out.txt --cwd \
		--cache-failures --ttl 2h --stale 1h sh -c 'printf "ab\n"; printf "c\n" >&2; echo x >out.txt; exit 3'
	pk run --ttl forever echo hi
	local k
	k=$(key_of sh -c 'printf "ab\n"; printf "c\n" >&2; echo x >out.txt; exit 3')
	pk ls --json
	assert_status 0
	assert_err ''
	python3 -m json.tool "$TMP/io/out" >/dev/null
	json "
fields = ['key', 'damaged', 'command', 'program', 'cwd', 'created', 'created_ms',
          'age_ms', 'ttl_ms', 'stale_ms', 'state', 'exit_status', 'duration_ms',
          'stdout_bytes', 'stderr_bytes', 'raw_bytes', 'stored_bytes', 'hits',
          'last_hit', 'saved_ms', 'tags', 'name', 'inputs', 'env', 'env_digests', 'key_cwd',
          'stdin_xxh3', 'key_text', 'outputs', 'cache_failures', 'traced']
assert len(d) == 2
for e in d:
    assert list(e) == fields, list(e)
e = [e for e in d if e['key'] == '$k'][0]
h = [e for e in d if e['key'] != '$k'][0]
import re, time
assert e['damaged'] is False
assert e['cwd'] == '$(pwd -P)' and e['key_cwd'] == '$(pwd -P)', e['cwd']
assert e['program'] == '$(command -v sh)', e['program']
assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', e['created']), e['created']
assert time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(e['created_ms'] // 1000)) == e['created']
assert 0 <= e['age_ms'] < 60000 and abs(time.time() * 1000 - e['created_ms'] - e['age_ms']) < 60000
assert e['ttl_ms'] == 7200000 and e['stale_ms'] == 3600000
assert e['state'] == 'fresh' and e['exit_status'] == 3
assert e['stdout_bytes'] == 3 and e['stderr_bytes'] == 2 and e['raw_bytes'] == 3 + 2 + 2
assert e['stored_bytes'] == $(stored_of "$k")
assert e['hits'] == 1 and re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', e['last_hit'])
assert e['duration_ms'] >= 0 and e['saved_ms'] == e['hits'] * e['duration_ms']
assert e['tags'] == ['t1', 't2'] and e['env'] == ['MYVAR'] and e['key_text'] == 'ns'
assert e['env_digests'] == {'MYVAR': '$(printf 'pickled-env\0001' | xxhsum -H3 | sed -E 's/.* = (.{8}).*/\1/')'}, e['env_digests']
assert e['inputs'] == [{'path': 'in.txt', 'present': True, 'xxh3': e['inputs'][0]['xxh3']}]
assert re.fullmatch(r'[0-9a-f]{32}', e['inputs'][0]['xxh3'])
assert e['outputs'] == [{'path': 'out.txt', 'mode': '0644', 'size': 2}], e['outputs']
assert e['stdin_xxh3'] is None and e['cache_failures'] is True
assert h['ttl_ms'] is None and h['stale_ms'] is None and h['hits'] == 0
assert h['last_hit'] is None and h['saved_ms'] == 0 and h['tags'] == []
assert h['key_cwd'] is None and h['key_text'] is None and h['cache_failures'] is False
assert e['traced'] is None and h['traced'] is None
"
	pk_in <(echo piped) run --stdin cat
	assert_out 'piped\n'
	pk ls --json
	json "
e = [e for e in d if e['command'] == ['cat']][0]
import re
assert re.fullmatch(r'[0-9a-f]{32}', e['stdin_xxh3']), e['stdin_xxh3']"
}

@test "ls and ls --json show an entry whose metadata is damaged" {
	pk run echo good
	pk run echo bad
	wait_gc
	local kg kb
	kg=$(key_of echo good)
	kb=$(key_of echo bad)
	truncate -s 100 "$(entry_file "$kb")"
	pk ls
	assert_status 0
	ls_norm
	{
		ls_line "$kg" LEFT 0 5 0 "${NT}echo good"
		printf '%s  damaged: entry truncated or damaged\n' "${kb:0:12}"
	} >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/norm" "ls"
	pk ls --json
	assert_status 0
	json "
b = [e for e in d if e['key'] == '$kb'][0]
assert b == {'key': '$kb', 'damaged': True, 'reason': 'entry truncated or damaged', 'stored_bytes': 100}, b
assert [e['key'] for e in d] == ['$kg', '$kb']"
	pk ls --fresh
	assert_keys "$kg"
}

# --- show ----------------------------------------------------------------------

@test "show KEY-PREFIX prints everything recorded about the entry" {
	echo data >"$TMP/wd/in.txt"
	umask 022
	MYVAR=1 pk run --tag t1 --tag t2 -k ns -e MYVAR -i in.txt -o out.txt --cwd \
		--cache-failures sh -c 'printf "ab\n"; printf "c\n" >&2; echo x >out.txt; exit 3'
	MYVAR=1 pk run --tag t1 --tag t2 -k ns -e MYVAR -i in.txt -o out.txt --cwd \
		--cache-failures sh -c 'printf "ab\n"; printf "c\n" >&2; echo x >out.txt; exit 3'
	local k h stored
	k=$(key_of sh -c 'printf "ab\n"; printf "c\n" >&2; echo x >out.txt; exit 3')
	h=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["inputs"][0]["xxh3"])' < <("$PK" ls --json))
	stored=$(stored_of "$k")
	pk show "${k:0:5}"
	assert_status 0
	assert_err ''
	sed -E "s/^(created +)$TIME \\($DUR ago\\)\$/\\1TIME (AGE ago)/
		s/^(state +fresh) \\($DUR left\\)\$/\\1 (LEFT left)/
		s/^(duration +|saved +)$DUR\$/\\1DUR/
		s/^(hits +1) \\(last $TIME\\)\$/\\1 (last TIME)/" "$TMP/io/out" >"$TMP/io/norm"
	{
		printf 'key             %s\n' "$k"
		printf '%s\n' "command         sh -c 'printf \"ab\\n\"; printf \"c\\n\" >&2; echo x >out.txt; exit 3'"
		printf 'program         %s\n' "$(command -v sh)"
		printf 'cwd             %s\n' "$(pwd -P)"
		printf 'created         TIME (AGE ago)\n'
		printf 'ttl             1d\n'
		printf 'stale           none\n'
		printf 'state           fresh (LEFT left)\n'
		printf 'exit status     3\n'
		printf 'duration        DUR\n'
		printf 'stdout          3B\n'
		printf 'stderr          2B\n'
		printf 'stored          %s (raw 7B, ratio %s)\n' "$(fmt_size "$stored")" "$(awk -v s="$stored" 'BEGIN { printf "%.2f", 7 / s }')"
		printf 'hits            1 (last TIME)\n'
		printf 'saved           DUR\n'
		printf 'tags            t1 t2\n'
		printf 'name            -\n'
		printf 'output          out.txt (0644, 2B)\n'
		printf 'input           in.txt xxh3 %s\n' "$h"
		printf 'env             MYVAR #%s\n' "$(printf 'pickled-env\0001' | xxhsum -H3 | cut -c16-23)"
		printf 'key cwd         %s\n' "$(pwd -P)"
		printf 'key text        ns\n'
		printf 'cache failures  yes\n'
	} >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/norm" "show (normalised)"
	# Upper case and the full key name the same entry.
	sed 1,8d "$TMP/io/out" >"$TMP/io/first"
	pk show "${k^^}"
	assert_status 0
	head -n 1 "$TMP/io/out" >"$TMP/io/got"
	assert_bytes "$TMP/io/got" 'key             %s\n' "$k"
	sed 1,8d "$TMP/io/out" >"$TMP/io/got"
	assert_same "$TMP/io/first" "$TMP/io/got" "show of the full key in upper case"
}

@test "show --json prints the entry's object as ls --json does" {
	pk run --tag x echo one
	pk run echo two
	local k
	k=$(key_of echo one)
	pk show --json "${k:0:8}"
	assert_status 0
	assert_err ''
	assert_lines "$TMP/io/out" 1
	python3 -m json.tool "$TMP/io/out" >/dev/null
	cp "$TMP/io/out" "$TMP/io/show.json"
	pk ls --json
	python3 -c '
import json, sys
one = json.load(open(sys.argv[1]))
ls = [e for e in json.load(open(sys.argv[2])) if e["key"] == sys.argv[3]][0]
for e in (one, ls):
    del e["age_ms"]
assert one == ls, (one, ls)
assert one["command"] == ["echo", "one"] and one["tags"] == ["x"]' "$TMP/io/show.json" "$TMP/io/out" "$k"
}

@test "show, cat and rm: an ambiguous prefix is an error, exit 1" {
	# Make entries until two keys share their first hex digit.
	local i=0 d=
	while [ -z "$d" ]; do
		i=$((i + 1))
		"$PK" run -k "n$i" true
		d=$("$PK" ls --json | python3 -c '
import collections, json, sys
c = collections.Counter(e["key"][0] for e in json.load(sys.stdin))
print(next((k for k, n in c.items() if n > 1), ""))')
		[ "$i" -lt 40 ]
	done
	local n
	n=$(entries | grep -c "/${d}[0-9a-f]*\$")
	[ "$n" = 2 ]
	local before
	before=$(entries)
	pk show "$d"
	assert_status 1
	assert_out ''
	assert_err "pickled: ambiguous key $d: 2 entries match\n"
	pk cat "$d"
	assert_status 1
	assert_out ''
	assert_err "pickled: ambiguous key $d: 2 entries match\n"
	pk rm "$d"
	assert_status 1
	assert_out ''
	assert_err "pickled: ambiguous key $d: 2 entries match\n"
	[ "$(entries)" = "$before" ]
}

@test "show, cat and rm: an unknown key is an error, exit 1" {
	pk run echo one
	local k other
	k=$(key_of echo one)
	# A prefix no entry has: the first digit changed.
	other=$(printf '%x' $(((16#${k:0:1} + 1) % 16)))${k:1:5}
	pk show "$other"
	assert_status 1
	assert_out ''
	assert_err "pickled: no entry with key $other\n"
	pk cat "$other"
	assert_status 1
	assert_out ''
	assert_err "pickled: no entry with key $other\n"
	pk rm "$other"
	assert_status 1
	assert_out ''
	assert_err "pickled: no entry with key $other\n"
	# A typo among good keys removes nothing.
	pk rm "${k:0:6}" "$other"
	assert_status 1
	assert_err "pickled: no entry with key $other\n"
	[ -f "$(entry_file "$k")" ]
}

@test "show, cat and rm refuse what is not a key, exit 125" {
	pk run echo one
	local before a cmd
	before=$(entries)
	for a in '../x' 'zz' '' '0123456789abcdef0123456789abcdef0' '../../v1' '12 34' '-'; do
		for cmd in show cat rm; do
			pk "$cmd" -- "$a"
			assert_status 125
			assert_out ''
			assert_err "pickled: not a key: '%s'\n" "$a"
		done
	done
	[ "$(entries)" = "$before" ]
}

@test "a cache that cannot be read: show, cat, rm, ls, stats, verify say why, exit 1" {
	pk run echo one
	local k cmd
	k=$(key_of echo one)
	mv "$PICKLED_CACHE_DIR/v1" "$PICKLED_CACHE_DIR/v1.away"
	touch "$PICKLED_CACHE_DIR/v1"
	for cmd in "show ${k:0:8}" "cat ${k:0:8}" "rm ${k:0:8}" ls stats verify; do
		pk $cmd
		assert_status 1
		assert_out ''
		assert_err 'pickled: cannot list the cache: %s/v1: Not a directory\n' "$PICKLED_CACHE_DIR"
	done
	rm "$PICKLED_CACHE_DIR/v1"
	mv "$PICKLED_CACHE_DIR/v1.away" "$PICKLED_CACHE_DIR/v1"
	pk cat "${k:0:8}"
	assert_status 0
	assert_out 'one\n'
}

# --- cat -----------------------------------------------------------------------

@test "cat replays the stored bytes in recorded order and exits with the stored status" {
	local c="$CNT"'; printf "o1\n"; sleep 0.2; printf "e1\000\n" >&2; sleep 0.2; printf "o2\377"; exit 3'
	pk run --cache-failures sh -c "$c"
	assert_status 3
	local k
	k=$(key_of sh -c "$c")
	pk cat "${k:0:6}"
	assert_status 3
	assert_out 'o1\no2\377'
	assert_err 'e1\000\n'
	pk_merged cat "$k"
	assert_status 3
	assert_out 'o1\ne1\000\no2\377'
	pk cat --stdout "$k"
	assert_status 3
	assert_out 'o1\no2\377'
	assert_err ''
	pk cat --stderr "$k"
	assert_status 3
	assert_out ''
	assert_err 'e1\000\n'
	# both: both streams, in their order, as without either
	pk_merged cat --stdout --stderr "$k"
	assert_status 3
	assert_out 'o1\ne1\000\no2\377'
	pk_merged cat --stderr --stdout "$k"
	assert_status 3
	assert_out 'o1\ne1\000\no2\377'
	assert_count 1
}

@test "cat refuses a corrupt entry and replays nothing" {
	pk run sh -c 'head -c 5000 /dev/urandom'
	local k
	k=$(key_of sh -c 'head -c 5000 /dev/urandom')
	flip_middle "$(entry_file "$k")"
	pk cat "${k:0:7}"
	assert_status 1
	assert_out ''
	assert_err "pickled: corrupt cache entry $k: entry checksum mismatch\n"
}

@test "cat and show refuse an entry that holds another key's result" {
	pk run echo six
	pk run echo seven
	wait_gc   # it would remove the damaged entry made below
	local ks kt
	ks=$(key_of echo six)
	kt=$(key_of echo seven)
	cp "$(entry_file "$ks")" "$(entry_file "$kt")"
	pk cat "${kt:0:12}"
	assert_status 1
	assert_out ''
	assert_err "pickled: corrupt cache entry $kt: entry holds another key\n"
	pk show "${kt:0:12}"
	assert_status 0
	assert_out 'key             %s\ndamaged         entry holds another key\n' "$kt"
	assert_err ''
	pk show --json "${kt:0:12}"
	assert_out '{"key":"%s","damaged":true,"reason":"entry holds another key","stored_bytes":%s}\n' \
		"$kt" "$(stat -c %s "$(entry_file "$kt")")"
	# The other entry is untouched.
	pk cat "${ks:0:12}"
	assert_status 0
	assert_out 'six\n'
}

# --- rm ------------------------------------------------------------------------

@test "rm KEY... removes those entries and their hit counts, printing nothing" {
	pk run echo one
	pk run echo one
	pk run echo two
	pk run echo three
	local k1 k2 k3
	k1=$(key_of echo one)
	k2=$(key_of echo two)
	k3=$(key_of echo three)
	[ -f "$(entry_file "$k1").hits" ]
	pk rm "${k1:0:8}" "$k3"
	assert_status 0
	assert_out ''
	assert_err ''
	[ ! -e "$(entry_file "$k1")" ] && [ ! -e "$(entry_file "$k1").hits" ]
	[ ! -e "$(entry_file "$k3")" ]
	pk ls
	assert_keys "$k2"
	# The removed command runs again.
	pk run sh -c "$CNT"
	pk rm "$(key_of sh -c "$CNT")"
	pk run sh -c "$CNT"
	assert_count 2
}

@test "rm --expired removes the entries past the ttl they were stored with" {
	PICKLED_GC=false pk run --ttl 1s echo short
	gc_just_ran
	pk run --ttl 1h echo long
	pk run echo default
	local kl kd
	kl=$(key_of echo long)
	kd=$(key_of echo default)
	sleep 1.2
	pk cat "$(key_of echo short)"
	assert_status 0
	assert_out 'short\n'
	pk rm --expired
	assert_status 0
	assert_out ''
	assert_err ''
	pk ls --sort=command
	assert_keys "$kd" "$kl"
}

@test "rm --all removes every entry, damaged ones too" {
	pk run echo one
	pk run echo two
	pk run echo three
	wait_gc
	truncate -s 10 "$(entry_file "$(key_of echo three)")"
	pk rm --all
	assert_status 0
	assert_out ''
	assert_err ''
	[ -z "$(entries)" ]
	pk ls
	assert_out ''
}

@test "an entry that cannot be removed: verify --fix, gc, rm say so, exit 1, and remove the rest" {
	local i kd ke
	for i in 1 2 3 4 5 6; do
		pk run echo "w$i"
	done
	wait_gc
	kd=$(key_of echo w1)
	ke=$(key_of echo w2)
	# A directory with contents where an entry should be, and an empty one.
	rm "$(entry_file "$kd")" "$(entry_file "$ke")"
	mkdir "$(entry_file "$kd")" "$(entry_file "$ke")"
	: >"$(entry_file "$kd")/x"
	pk verify --fix
	assert_status 1
	assert_lines "$TMP/io/out" 2
	grep -qx "$kd damaged: entry is not a regular file" "$TMP/io/out"
	grep -qx "$ke removed: entry is not a regular file" "$TMP/io/out"
	assert_err 'pickled: cannot remove %s: Directory not empty\n' "$kd"
	[ ! -e "$(entry_file "$ke")" ]
	pk gc -v
	assert_status 1
	assert_out 'removed 0 entries (0B), kept 5 (%s), 0 leftover files\n' "$(fmt_size "$(stored_of \
		"$(key_of echo w3)" "$(key_of echo w4)" "$(key_of echo w5)" "$(key_of echo w6)")")"
	assert_err 'pickled: gc: cannot remove %s: Directory not empty\n' "$kd"
	pk rm --all
	assert_status 1
	assert_out ''
	assert_err 'pickled: cannot remove %s: Directory not empty\n' "$kd"
	[ -z "$(entries)" ] && [ -d "$(entry_file "$kd")" ]
	pk rm "${kd:0:10}"
	assert_status 1
	assert_err 'pickled: cannot remove %s: Directory not empty\n' "$kd"
}

@test "rm --tag removes the entries tagged so, and no other" {
	pk run --tag reports --tag daily echo a
	pk run --tag daily echo b
	pk run --tag reports echo c
	pk run echo reports
	local kb kr
	kb=$(key_of echo b)
	kr=$(key_of echo reports)
	pk rm --tag reports
	assert_status 0
	assert_out ''
	assert_err ''
	pk ls --sort=command
	assert_keys "$kb" "$kr"
	pk rm --tag nosuchtag
	assert_status 0
	pk ls
	assert_lines "$TMP/io/out" 2
}

@test "rm --match removes the entries whose command line matches a glob" {
	pk run printf 'a\n'
	pk run printf '%s\n' b
	pk run echo printf
	pk run sh -c 'printf x'
	local ke ks
	ke=$(key_of echo printf)
	ks=$(key_of sh -c 'printf x')
	pk rm --match 'printf*'
	assert_status 0
	assert_out ''
	assert_err ''
	pk ls --sort=command
	assert_keys "$ke" "$ks"
	# The command line is the arguments joined by spaces.
	pk rm --match 'sh -c printf ?'
	assert_status 0
	pk ls
	assert_keys "$ke"
}

@test "rm: usage errors" {
	pk rm
	assert_status 125
	assert_err "pickled: no key given\nTry 'pickled rm --help' for more information.\n"
	pk rm --all --expired
	assert_status 125
	assert_err "pickled: give one of --expired, --all, --tag, --match\nTry 'pickled rm --help' for more information.\n"
	pk rm --tag x abc
	assert_status 125
	assert_err "pickled: give keys or a selector, not both\nTry 'pickled rm --help' for more information.\n"
	assert_out ''
	# a second --tag or --match would replace the first without a word
	pk run --tag x echo one
	pk rm --tag x --tag y
	assert_status 125
	assert_err "pickled: give --tag once (rm --tag for each tag)\nTry 'pickled rm --help' for more information.\n"
	pk rm --match 'echo *' --match 'ls *'
	assert_status 125
	assert_err "pickled: give --match once (a glob can match both)\nTry 'pickled rm --help' for more information.\n"
	has_entries
}

# --- gc ------------------------------------------------------------------------

# Four entries: e expired, then a, b, c fresh; a hit after all were made,
# so that by last use b < c < a.
make_gc_victims() {
	PICKLED_GC=false pk run --ttl 1s echo expired
	gc_just_ran
	pk run echo aaaa
	pk run echo bbbb
	pk run echo cccc
	sleep 1.2
	pk run echo aaaa
	ke=$(key_of echo expired)
	ka=$(key_of echo aaaa)
	kb=$(key_of echo bbbb)
	kc=$(key_of echo cccc)
}

# gc_line VERB KEY WHY COMMAND: a line of gc --dry-run or -v.
gc_line() {
	printf '%s %.12s %-7s %6s  %s\n' "$1" "$2" "$3" "$(fmt_size "$(stored_of "$2")")" "$4"
}

@test "gc --dry-run lists the expired, then the least recently used, and removes nothing" {
	local ke ka kb kc
	make_gc_victims
	local limit before
	limit=$(($(stored_of "$ka" "$kc") + 10))
	before=$(find "$PICKLED_CACHE_DIR/v1" -type f -printf '%p %s %T@\n' | sort)
	pk gc --dry-run --max-size "$limit"
	assert_status 0
	assert_err ''
	{
		gc_line 'would remove' "$ke" expired 'echo expired'
		gc_line 'would remove' "$kb" size 'echo bbbb'
		printf 'would remove 2 entries (%s), kept 2 (%s), 0 leftover files\n' \
			"$(fmt_size "$(stored_of "$ke" "$kb")")" "$(fmt_size "$(stored_of "$ka" "$kc")")"
	} >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/out" "gc --dry-run"
	[ "$(find "$PICKLED_CACHE_DIR/v1" -type f -printf '%p %s %T@\n' | sort)" = "$before" ]
	# Without a size limit to meet, only the expired entry goes.
	pk gc -n
	assert_status 0
	{
		gc_line 'would remove' "$ke" expired 'echo expired'
		printf 'would remove 1 entry (%s), kept 3 (%s), 0 leftover files\n' \
			"$(fmt_size "$(stored_of "$ke")")" "$(fmt_size "$(stored_of "$ka" "$kb" "$kc")")"
	} >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/out" "gc -n"
	# A limit below one entry leaves nothing.
	pk gc -n --max-size 1
	assert_status 0
	{
		gc_line 'would remove' "$ke" expired 'echo expired'
		gc_line 'would remove' "$kb" size 'echo bbbb'
		gc_line 'would remove' "$kc" size 'echo cccc'
		gc_line 'would remove' "$ka" size 'echo aaaa'
		printf 'would remove 4 entries (%s), kept 0 (0B), 0 leftover files\n' \
			"$(fmt_size "$(stored_of "$ke" "$ka" "$kb" "$kc")")"
	} >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/out" "gc -n --max-size 1"
	[ "$(find "$PICKLED_CACHE_DIR/v1" -type f -printf '%p %s %T@\n' | sort)" = "$before" ]
}

@test "gc removes the expired, then the least recently used entries" {
	local ke ka kb kc
	make_gc_victims
	pk gc --max-size $(($(stored_of "$ka" "$kc") + 10))
	assert_status 0
	assert_out ''
	assert_err ''
	[ ! -e "$(entry_file "$ke")" ] && [ ! -e "$(entry_file "$kb")" ]
	[ -f "$(entry_file "$ka").hits" ]
	pk ls --sort=command
	assert_keys "$ka" "$kc"
}

@test "gc -v prints each entry removed and a summary" {
	local ke ka kb kc
	make_gc_victims
	local freed kept
	freed=$(fmt_size "$(stored_of "$ke" "$kb" "$kc")")
	kept=$(fmt_size "$(stored_of "$ka")")
	{
		gc_line removed "$ke" expired 'echo expired'
		gc_line removed "$kb" size 'echo bbbb'
		gc_line removed "$kc" size 'echo cccc'
		printf 'removed 3 entries (%s), kept 1 (%s), 0 leftover files\n' "$freed" "$kept"
	} >"$TMP/io/want"
	pk gc -v --max-size "$(stored_of "$ka")"
	assert_status 0
	assert_err ''
	assert_same "$TMP/io/want" "$TMP/io/out" "gc -v"
	pk ls
	assert_keys "$ka"
}

@test "gc --max-age removes the entries older than that" {
	# The old entry stored with the clock two hours back: no sleep, and
	# no race with a loaded machine (the new one was 4 s old, the old one
	# 4.5 s, and an ASan lane under load took longer than the difference)
	cc -shared -fPIC -o "$TMP/clockshift.so" "$BATS_TEST_DIRNAME/../clockshift.c" -ldl ||
		skip "cannot build clockshift.c"
	LD_PRELOAD=$TMP/clockshift.so PK_TEST_CLOCK_SHIFT=-7200 pk run -t 1d echo old
	wait_gc
	local ko kn so
	ko=$(key_of echo old)
	so=$(stored_of "$ko")
	pk run echo new
	wait_gc
	pk gc -n --max-age 1h
	assert_status 0
	cp "$TMP/io/out" "$TMP/io/dry"
	pk gc --max-age 1h
	assert_status 0
	assert_out ''
	kn=$(key_of echo new)
	{
		printf 'would remove %.12s max-age %6s  echo old\n' "$ko" "$(fmt_size "$so")"
		printf 'would remove 1 entry (%s), kept 1 (%s), 0 leftover files\n' \
			"$(fmt_size "$so")" "$(fmt_size "$(stored_of "$kn")")"
	} >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/dry" "gc -n --max-age 1h"
	[ ! -e "$(entry_file "$ko")" ]
	pk ls
	assert_keys "$kn"
}

@test "gc removes temporary files and locks left over an hour ago, not newer ones" {
	pk ls
	local c=$PICKLED_CACHE_DIR
	mkdir -p "$c/tmp" "$c/locks"
	echo partial >"$c/tmp/4242.123456.0"
	echo partial >"$c/tmp/4242.123457.1"
	: >"$c/locks/0123456789abcdef0123456789abcdef"
	: >"$c/locks/fedcba9876543210fedcba9876543210"
	touch -d '2 hours ago' "$c/tmp/4242.123456.0" "$c/locks/0123456789abcdef0123456789abcdef"
	touch -d '50 minutes ago' "$c/tmp/4242.123457.1" "$c/locks/fedcba9876543210fedcba9876543210"
	pk gc --dry-run
	assert_status 0
	assert_out 'would remove 0 entries (0B), kept 0 (0B), 2 leftover files\n'
	[ -f "$c/tmp/4242.123456.0" ] && [ -f "$c/locks/0123456789abcdef0123456789abcdef" ]
	pk gc
	assert_status 0
	assert_out ''
	assert_err ''
	[ ! -e "$c/tmp/4242.123456.0" ] && [ ! -e "$c/locks/0123456789abcdef0123456789abcdef" ]
	[ -f "$c/tmp/4242.123457.1" ] && [ -f "$c/locks/fedcba9876543210fedcba9876543210" ]
}

@test "gc removes parsed configuration copies not written for 30 days" {
	mkdir -m 700 "$PICKLED_CACHE_DIR"
	local c=$PICKLED_CACHE_DIR
	echo copy >"$c/config-0123456789abcdef.cache"
	echo copy >"$c/config-fedcba9876543210.cache"
	echo other >"$c/other-file"
	touch -d '31 days ago' "$c/config-0123456789abcdef.cache" "$c/other-file"
	touch -d '29 days ago' "$c/config-fedcba9876543210.cache"
	pk gc --dry-run
	assert_status 0
	assert_out 'would remove 0 entries (0B), kept 0 (0B), 1 leftover file\n'
	[ -f "$c/config-0123456789abcdef.cache" ]
	pk gc
	assert_status 0
	assert_out ''
	assert_err ''
	[ ! -e "$c/config-0123456789abcdef.cache" ]
	[ -f "$c/config-fedcba9876543210.cache" ] && [ -f "$c/other-file" ]
}

@test "gc removes input hash records not written for 30 days" {
	printf 'a\n' >in1
	printf 'b\n' >in2
	sleep 2.2   # settled (ctime included): worth a record
	pk run -i in1 -i in2 cat in1 in2
	# The background gc of that first store must not take the record aged
	# below before the dry run looks.
	wait_gc
	local recs
	recs=$(find "$PICKLED_CACHE_DIR/inputs" -type f | sort)
	[ "$(echo "$recs" | wc -l)" = 2 ]
	touch -d '31 days ago' $(echo "$recs" | head -n 1)
	pk gc --dry-run
	assert_out 'would remove 0 entries (0B), kept 1 (%s), 1 leftover file\n' \
		"$(fmt_size "$(stored_of "$(key_of cat in1 in2)")")"
	pk gc
	assert_status 0
	assert_err ''
	[ "$(find "$PICKLED_CACHE_DIR/inputs" -type f | sort)" = "$(echo "$recs" | tail -n 1)" ]
	# The input is hashed again, and the result is still a hit.
	pk run -i in1 -i in2 cat in1 in2
	assert_out 'a\nb\n'
	[ "$(find "$PICKLED_CACHE_DIR/inputs" -type f | wc -l)" = 2 ]
}

@test "verify lists the temporaries of runs that ended, not those of runs going on; --fix removes them" {
	pk run echo one
	wait_gc   # it would remove the temporary two hours old planted below
	local c=$PICKLED_CACHE_DIR
	mkdir -p "$c/tmp"
	head -c 3000 /dev/zero >"$c/tmp/4242.123456.0"
	echo partial >"$c/tmp/4242.123457.1"
	echo held >"$c/tmp/4242.123458.2"
	echo theirs >"$c/tmp/not-ours"
	touch -d '2 hours ago' "$c/tmp/4242.123456.0" "$c/tmp/4242.123458.2" "$c/tmp/not-ours"
	touch -d '50 minutes ago' "$c/tmp/4242.123457.1"
	hold_lock "$c/tmp/4242.123458.2"
	pk verify
	assert_status 1
	assert_out 'tmp/4242.123456.0 leftover: temporary of a run that ended (2.9K)\n'
	assert_err ''
	[ -f "$c/tmp/4242.123456.0" ]
	pk verify --fix
	assert_status 1
	assert_out 'tmp/4242.123456.0 removed: temporary of a run that ended (2.9K)\n'
	[ ! -e "$c/tmp/4242.123456.0" ]
	[ -f "$c/tmp/4242.123457.1" ] && [ -f "$c/tmp/4242.123458.2" ] && [ -f "$c/tmp/not-ours" ]
	pk verify
	assert_status 0
	assert_out ''
}

@test "gc keeps an old lock that a running command holds" {
	pk ls
	local lock=$PICKLED_CACHE_DIR/locks/0123456789abcdef0123456789abcdef
	mkdir -p "${lock%/*}"
	: >"$lock"
	touch -d '2 hours ago' "$lock"
	hold_lock "$lock"
	pk gc -v
	assert_status 0
	assert_out 'removed 0 entries (0B), kept 0 (0B), 0 leftover files\n'
	[ -f "$lock" ]
}

# expired_entry ARGS...: stores the entry of pk run ARGS already expired
# (made with the clock two hours back, ttl 1h) and starts no gc, then
# dates a gc a moment ago (its stamp: the bytes it kept).  A --ttl 1s run
# and a sleep raced with that run's own background gc, which a loaded
# machine started after the second (the ASan lane, once).
expired_entry() {
	cc -shared -fPIC -o "$TMP/clockshift.so" "$BATS_TEST_DIRNAME/../clockshift.c" -ldl ||
		skip "cannot build clockshift.c"
	PICKLED_GC=false LD_PRELOAD=$TMP/clockshift.so PK_TEST_CLOCK_SHIFT=-7200 \
		pk run --ttl 1h "$@"
	assert_status 0
	gc_just_ran
}

@test "a store starts gc in the background when the last gc is a day old" {
	expired_entry echo expired
	local ke
	ke=$(key_of echo expired)
	[ -f "$(entry_file "$ke")" ]
	# The last gc is recent and the cache small: no gc.
	pk run echo second
	sleep 0.5
	[ -f "$(entry_file "$ke")" ]
	# A day later, the next store collects the expired entry.
	touch -d '25 hours ago' "$PICKLED_CACHE_DIR/gc.stamp"
	pk run echo third
	assert_status 0
	assert_out 'third\n'
	poll 30 test ! -e "$(entry_file "$ke")"
	poll 30 test -n "$(find "$PICKLED_CACHE_DIR/gc.stamp" -mmin -1)"
	pk ls
	assert_lines "$TMP/io/out" 2
}

@test "a store does not start a second gc while one runs" {
	expired_entry echo expired
	local ke
	ke=$(key_of echo expired)
	touch -d '25 hours ago' "$PICKLED_CACHE_DIR/gc.stamp"
	hold_lock "$PICKLED_CACHE_DIR/gc.lock"
	local t0
	t0=$(now_ms)
	pk run echo second
	assert_status 0
	assert_out 'second\n'
	# Waiting for the held lock would never end; the bound is loose
	# enough for a run under valgrind.
	[ $(($(now_ms) - t0)) -lt 8000 ]
	sleep 0.5
	[ -f "$(entry_file "$ke")" ]
	[ -z "$(find "$PICKLED_CACHE_DIR/gc.stamp" -mmin -60)" ]
}

# --- stats ---------------------------------------------------------------------

@test "stats counts entries, hits, misses and the hit rate; --zero resets the counts" {
	pk run echo aaa
	pk run echo aaa
	pk run echo aaa
	pk run sh -c 'echo bb >&2'
	pk run sh -c 'echo bb >&2'
	wait_gc
	local ka kb stored
	ka=$(key_of echo aaa)
	kb=$(key_of sh -c 'echo bb >&2')
	stored=$(stored_of "$ka" "$kb")
	pk stats
	assert_status 0
	assert_err ''
	sed -E "s/^(time saved +)$DUR\$/\\1DUR/; s/^(last gc +)$TIME\$/\\1TIME/" "$TMP/io/out" >"$TMP/io/norm"
	{
		printf 'entries          2\n'
		printf 'stored           %s (raw 7B, ratio %s)\n' "$(fmt_size "$stored")" \
			"$(awk -v s="$stored" 'BEGIN { printf "%.2f", 7 / s }')"
		printf 'max size         1.0G (0.0%% full)\n'
		printf 'hits             3\n'
		printf 'misses           2\n'
		printf 'stale refreshes  0\n'
		printf 'failed refreshes 0\n'
		printf 'hit rate         60.0%%\n'
		printf 'time saved       DUR\n'
		printf 'corrupt found    0\n'
		printf 'store failures   0\n'
		printf 'remote hits      0\n'
		printf 'remote misses    0\n'
		printf 'remote errors    0\n'
		printf 'remote timeouts  0\n'
		printf 'last gc          TIME\n'
	} >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/norm" "stats (normalised)"
	pk ls --json
	cp "$TMP/io/out" "$TMP/io/ls.json"
	pk stats --json
	assert_status 0
	assert_lines "$TMP/io/out" 1
	python3 -m json.tool "$TMP/io/out" >/dev/null
	json "
import re
ls = json.load(open('$TMP/io/ls.json'))
assert list(d) == ['entries', 'stored_bytes', 'raw_bytes', 'compression_ratio',
                   'max_size_bytes', 'full_percent', 'hits', 'misses', 'stale_refreshes',
                   'refresh_failures', 'hit_rate', 'hit_rate_percent', 'saved_ms', 'corrupt',
                   'store_failures', 'remote_hits', 'remote_misses', 'remote_errors',
                   'remote_timeouts', 'last_gc'], list(d)
assert d['max_size_bytes'] == 1 << 30 and d['full_percent'] == 0.0, d
assert d['hit_rate_percent'] == 60.0, d
assert d['entries'] == 2 and d['hits'] == 3 and d['misses'] == 2, d
assert d['hit_rate'] == 0.6 and d['stale_refreshes'] == 0, d
assert d['stored_bytes'] == $stored and d['raw_bytes'] == 7, d
assert d['compression_ratio'] == round(7 / $stored, 2), d
assert d['saved_ms'] == sum(e['saved_ms'] for e in ls), (d, ls)
assert d['corrupt'] == 0 and d['store_failures'] == 0, d
assert d['remote_hits'] == d['remote_misses'] == d['remote_errors'] == d['remote_timeouts'] == 0, d
assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', d['last_gc']), d"
	pk stats --zero
	assert_status 0
	assert_out ''
	assert_err ''
	pk stats --json
	json "
assert d['entries'] == 2 and d['hits'] == 0 and d['misses'] == 0, d
assert d['hit_rate'] == 0 and d['saved_ms'] == 0, d"
	pk stats
	sed -n '4,8p' "$TMP/io/out" >"$TMP/io/norm"
	assert_bytes "$TMP/io/norm" 'hits             0\nmisses           0\nstale refreshes  0\nfailed refreshes 0\nhit rate         0.0%%\n'
	# Counting starts again.
	pk run echo aaa
	pk stats --json
	json "assert d['hits'] == 1 and d['misses'] == 0 and d['hit_rate'] == 1.0, d"
}

@test "stats on an empty cache" {
	mkdir -m 700 "$PICKLED_CACHE_DIR"
	pk stats
	assert_status 0
	assert_err ''
	assert_out 'entries          0\nstored           0B (raw 0B, ratio 0.00)\nmax size         1.0G (0.0%% full)\nhits             0\nmisses           0\nstale refreshes  0\nfailed refreshes 0\nhit rate         0.0%%\ntime saved       0ms\ncorrupt found    0\nstore failures   0\nremote hits      0\nremote misses    0\nremote errors    0\nremote timeouts  0\nlast gc          never\n'
	pk stats --json
	assert_status 0
	assert_out '{"entries":0,"stored_bytes":0,"raw_bytes":0,"compression_ratio":0.00,"max_size_bytes":1073741824,"full_percent":0.0,"hits":0,"misses":0,"stale_refreshes":0,"refresh_failures":0,"hit_rate":0.0000,"hit_rate_percent":0.0,"saved_ms":0,"corrupt":0,"store_failures":0,"remote_hits":0,"remote_misses":0,"remote_errors":0,"remote_timeouts":0,"last_gc":null}\n'
	json 'assert d["last_gc"] is None'
}

@test "stats shows the size against max_size, how full, the hit rate and the time saved" {
	pk run sh -c 'sleep 0.2; head -c 3000 /dev/urandom'
	pk run sh -c 'sleep 0.2; head -c 3000 /dev/urandom'
	wait_gc
	local k stored
	k=$(key_of sh -c 'sleep 0.2; head -c 3000 /dev/urandom')
	stored=$(stored_of "$k")
	PICKLED_MAX_SIZE=4K pk stats
	assert_status 0
	grep -qx "$(printf 'max size         4.0K (%s%% full)' \
		"$(awk -v s="$stored" 'BEGIN { printf "%.1f", 100 * s / 4096 }')")" "$TMP/io/out"
	grep -qx 'hit rate         50.0%' "$TMP/io/out"
	grep -Eqx "time saved       (2[0-9]{2}|[3-9][0-9]{2})ms|time saved       [0-9]+s" "$TMP/io/out"
	PICKLED_MAX_SIZE=4K pk stats --json
	json "
assert d['max_size_bytes'] == 4096, d
assert d['full_percent'] == round(100 * $stored / 4096, 1), d
assert d['hit_rate_percent'] == 50.0 and d['hit_rate'] == 0.5, d
assert d['saved_ms'] >= 200, d"
	# max_size from the -c file counts as gc's does
	printf 'max_size: 2K\n' >"$TMP/c.conf"
	chmod 600 "$TMP/c.conf"
	pk -c "$TMP/c.conf" stats
	grep -qx "$(printf 'max size         2.0K (%s%% full)' \
		"$(awk -v s="$stored" 'BEGIN { printf "%.1f", 100 * s / 2048 }')")" "$TMP/io/out"
}

@test "stats --json --zero is refused: reading then zeroing would lose counts" {
	pk run echo aaa
	pk run echo aaa
	pk stats --json --zero
	assert_status 125
	assert_out ''
	assert_err "pickled: --json and --zero cannot be used together\nTry 'pickled stats --help' for more information.\n"
	pk stats --json
	json "assert d['hits'] == 1, d"
}

@test "stats counts a corrupt entry that a run found" {
	pk run sh -c 'head -c 5000 /dev/urandom'
	wait_gc
	flip_middle "$(entry_file "$(key_of sh -c 'head -c 5000 /dev/urandom')")"
	pk run sh -c 'head -c 5000 /dev/urandom'
	assert_status 0
	pk stats --json
	json "assert d['corrupt'] == 1 and d['hits'] == 0 and d['misses'] == 2, d"
}

# --- verify --------------------------------------------------------------------

@test "verify: exit 0 on a sound cache, 1 naming each damaged entry; --fix removes them" {
	pk run sh -c 'head -c 5000 /dev/urandom'
	pk run sh -c 'head -c 6000 /dev/urandom'
	pk run echo small
	wait_gc
	pk verify
	assert_status 0
	assert_out ''
	assert_err ''
	local kbad kgood
	kbad=$(key_of sh -c 'head -c 5000 /dev/urandom')
	kgood=$(key_of sh -c 'head -c 6000 /dev/urandom')
	flip_middle "$(entry_file "$kbad")"
	pk verify
	assert_status 1
	assert_out '%s damaged: entry checksum mismatch\n' "$kbad"
	assert_err ''
	[ -f "$(entry_file "$kbad")" ]
	pk verify --fix
	assert_status 1
	assert_out '%s removed: entry checksum mismatch\n' "$kbad"
	assert_err ''
	[ ! -e "$(entry_file "$kbad")" ]
	pk verify
	assert_status 0
	assert_out ''
	pk ls --sort=command
	assert_keys "$(key_of echo small)" "$kgood"
}

# plant_foreign: next to the entry of `echo one`, what pickled never makes:
# a 5000-byte file and a link in its shard, a link under a key's name, a
# file in v1/, a directory tree (with a link up) where a shard would be, a
# copy of the entry in the wrong shard.  Sets $k, $other and $tree.
plant_foreign() {
	local c=$PICKLED_CACHE_DIR
	pk run echo one
	k=$(key_of echo one)
	other=${k:0:2}ffffffffffffffffffffffffffffff
	printf 'secret\n' >"$TMP/target"
	head -c 5000 /dev/zero >"$c/v1/${k:0:2}/junk"
	ln -s ../../../target "$c/v1/${k:0:2}/link"
	ln -s ../../../target "$c/v1/${k:0:2}/$other"
	head -c 1000 /dev/zero >"$c/v1/stray"
	mkdir -p "$c/v1/zz/dir/sub"
	head -c 2000 /dev/zero >"$c/v1/zz/dir/sub/f"
	ln -s ../../.. "$c/v1/zz/dir/up"
	mkdir -m 700 "$c/v1/ee"
	cp "$(entry_file "$k")" "$c/v1/ee/$k"
	tree=2.0K   # 2000 bytes and a link of 8
}

@test "foreign files under v1/: verify reports each (exit 1), --fix removes them, no link followed" {
	local k other tree
	plant_foreign
	pk verify
	assert_status 1
	assert_err ''
	sort "$TMP/io/out" >"$TMP/io/got"
	{
		printf '%s damaged: entry is a symbolic link\n' "$other"
		printf 'v1/%s/junk foreign: file, not an entry (4.9K)\n' "${k:0:2}"
		printf 'v1/%s/link foreign: symbolic link, not an entry (15B)\n' "${k:0:2}"
		printf 'v1/ee/%s foreign: file, not an entry (%s)\n' "$k" "$(fmt_size "$(stored_of "$k")")"
		printf 'v1/stray foreign: file, not an entry (1000B)\n'
		printf 'v1/zz foreign: directory, not an entry (%s)\n' "$tree"
	} | sort >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "verify (sorted)"
	# show and cat say what the link under a key's name is, never following it
	pk show "$other"
	assert_out 'key             %s\ndamaged         entry is a symbolic link\n' "$other"
	pk cat "$other"
	assert_status 1
	assert_out ''
	assert_err 'pickled: corrupt cache entry %s: entry is a symbolic link\n' "$other"
	# ls lists the entries only (the link under a key's name as damaged)
	pk ls
	assert_status 0
	assert_lines "$TMP/io/out" 2
	pk verify --fix
	assert_status 1
	assert_err ''
	sed 's/ foreign: / removed: /; s/ damaged: / removed: /' "$TMP/io/want" >"$TMP/io/want2"
	sort "$TMP/io/out" >"$TMP/io/got"
	assert_same "$TMP/io/want2" "$TMP/io/got" "verify --fix (sorted)"
	# only the entry is left, and nothing a link pointed to was touched
	[ "$(cd "$PICKLED_CACHE_DIR/v1" && find . -mindepth 1 | sort | tr '\n' ' ')" = \
		"./${k:0:2} ./${k:0:2}/$k ./ee " ]
	[ "$(cat "$TMP/target")" = secret ]
	[ -d "$TMP/wd" ] && [ -d "$TMP/io" ]
	pk verify
	assert_status 0
	assert_out ''
	pk cat "$k"
	assert_out 'one\n'
}

@test "gc removes foreign files under v1/; until then their size counts toward max_size" {
	local k other tree
	plant_foreign
	# stats: the foreign bytes fill the cache as the entries do
	local total
	total=$(($(stored_of "$k") * 2 + 5000 + 15 + 15 + 1000 + 2008))
	PICKLED_MAX_SIZE=64K pk stats
	grep -qx "$(printf 'max size         64K (%s%% full)' \
		"$(awk -v s="$total" 'BEGIN { printf "%.1f", 100 * s / 65536 }')")" "$TMP/io/out"
	pk gc --dry-run
	assert_status 0
	assert_err ''
	sort "$TMP/io/out" >"$TMP/io/got"
	{
		printf 'would remove %s damaged    15B  \n' "${other:0:12}"
		printf 'would remove 1 entry (15B), kept 1 (%s), 5 leftover files\n' "$(fmt_size "$(stored_of "$k")")"
		printf 'would remove v1/%s/junk foreign   4.9K\n' "${k:0:2}"
		printf 'would remove v1/%s/link foreign    15B\n' "${k:0:2}"
		printf 'would remove v1/ee/%s foreign %6s\n' "$k" "$(fmt_size "$(stored_of "$k")")"
		printf 'would remove v1/stray foreign  1000B\n'
		printf 'would remove v1/zz foreign %6s\n' "$tree"
	} | sort >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "gc --dry-run (sorted)"
	[ -f "$PICKLED_CACHE_DIR/v1/stray" ]
	pk gc
	assert_status 0
	assert_out ''
	assert_err ''
	pk verify
	assert_status 0
	[ "$(cat "$TMP/target")" = secret ]
	pk cat "$k"
	assert_out 'one\n'
}

@test "a foreign file gc cannot remove keeps counting: the entries make room" {
	[ "$(id -u)" = 0 ] || skip "needs root to give a directory away"
	local c=$PICKLED_CACHE_DIR k
	pk run echo one
	k=$(key_of echo one)
	mkdir -p "$c/v1/zz/theirs"
	head -c 3000 /dev/zero >"$c/v1/zz/theirs/big"
	chown nobody "$c/v1/zz/theirs"
	# the entry alone fits; with the 3000 bytes that stay, it does not
	pk gc -v --max-size 2K
	assert_status 1
	assert_err 'pickled: gc: cannot remove v1/zz: Operation not permitted\n'
	grep -v '^removed [0-9]' "$TMP/io/out" | sed 's/ \+/ /g' >"$TMP/io/got"
	assert_match "$TMP/io/got" "^removed ${k:0:12} size [0-9]+B echo one\$"
	[ -z "$(entries)" ]
	[ -d "$c/v1/zz/theirs" ]
}

@test "rm --all removes the foreign files under v1/ too" {
	local k other tree
	plant_foreign
	pk rm --all
	assert_status 0
	assert_err ''
	[ -z "$(find "$PICKLED_CACHE_DIR/v1" -mindepth 2)" ]
	[ ! -e "$PICKLED_CACHE_DIR/v1/stray" ] && [ ! -e "$PICKLED_CACHE_DIR/v1/zz" ]
	[ "$(cat "$TMP/target")" = secret ]
}

@test "verify lists an entry with damaged metadata too" {
	pk run echo one
	pk run echo two
	wait_gc
	local k
	k=$(key_of echo two)
	truncate -s 100 "$(entry_file "$k")"
	pk verify
	assert_status 1
	assert_out '%s damaged: entry truncated or damaged\n' "$k"
	pk verify --fix
	assert_status 1
	assert_out '%s removed: entry truncated or damaged\n' "$k"
	pk verify
	assert_status 0
	assert_out ''
}

# --- help and usage ------------------------------------------------------------

@test "every inspection subcommand has --help: stdout, exit 0" {
	local cmd
	for cmd in ls show cat rm gc stats verify; do
		pk "$cmd" --help
		assert_status 0
		assert_err ''
		head -n 1 "$TMP/io/out" >"$TMP/io/got"
		assert_match "$TMP/io/got" "^Usage: pickled $cmd( |\$)"
		cp "$TMP/io/out" "$TMP/io/help"
		pk "$cmd" -h
		assert_status 0
		assert_same "$TMP/io/help" "$TMP/io/out" "$cmd -h"
		pk help "$cmd"
		assert_status 0
		assert_same "$TMP/io/help" "$TMP/io/out" "help $cmd"
	done
	[ ! -e "$PICKLED_CACHE_DIR" ]
}

@test "an unknown option is a usage error, exit 125" {
	local cmd
	for cmd in ls show cat rm gc stats verify; do
		pk "$cmd" --bogus
		assert_status 125
		assert_out ''
		assert_err "pickled: unknown option '--bogus'\nTry 'pickled $cmd --help' for more information.\n"
		pk "$cmd" -q
		assert_status 125
		assert_err "pickled: unknown option '-q'\nTry 'pickled $cmd --help' for more information.\n"
	done
}

@test "an unexpected argument is a usage error, exit 125" {
	local cmd
	for cmd in ls gc stats verify; do
		pk "$cmd" extra
		assert_status 125
		assert_out ''
		assert_err "pickled: unexpected argument 'extra'\nTry 'pickled $cmd --help' for more information.\n"
	done
	for cmd in show cat; do
		pk "$cmd"
		assert_status 125
		assert_err "pickled: no key given\nTry 'pickled $cmd --help' for more information.\n"
		pk "$cmd" abc def
		assert_status 125
		assert_err "pickled: unexpected argument 'def'\nTry 'pickled $cmd --help' for more information.\n"
	done
}

@test "a long option without its value is named as typed" {
	local args
	local words=()
	for args in "ls --sort" "ls --tag" "rm --tag" "rm --match" "gc --max-size" "gc --max-age"; do
		read -r -a words <<<"$args"
		pk "${words[@]}"
		assert_status 125
		assert_out ''
		assert_err "pickled: option '%s' needs a value\nTry 'pickled %s --help' for more information.\n" "${words[1]}" "${words[0]}"
	done
}

@test "gc: an invalid size or duration is a usage error" {
	pk gc --max-size lots
	assert_status 125
	assert_out ''
	assert_err "pickled: invalid size for --max-size: 'lots'\n"
	pk gc --max-age 3q
	assert_status 125
	assert_err "pickled: invalid duration for --max-age: '3q'\n"
}

@test "gc: --max-size 0 and --max-age 0 are refused, not read as no limit" {
	pk run echo one
	wait_gc
	local before
	before=$(entries)
	pk gc --max-size 0
	assert_status 125
	assert_out ''
	assert_err "pickled: invalid size for --max-size: '0' (must be at least 1)\n"
	pk gc --max-age 0s
	assert_status 125
	assert_out ''
	assert_err "pickled: invalid duration for --max-age: '0s' (must be at least 1ms)\n"
	[ "$(entries)" = "$before" ]
	# The smallest limits are taken at their word.
	sleep 0.01
	pk gc -v --max-age 1ms
	assert_status 0
	[ -z "$(entries)" ]
}

# --- the cache they look at ----------------------------------------------------

@test "-C DIR selects the cache the commands look at" {
	pk -C "$TMP/other" run echo elsewhere
	pk run echo here
	local ko kh
	kh=$(key_of echo here)
	pk -C "$TMP/other" ls --json
	json "assert [e['command'] for e in d] == [['echo', 'elsewhere']], d"
	ko=$(python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["key"])' <"$TMP/io/out")
	pk ls
	assert_keys "$kh"
	pk show "$ko"
	assert_status 1
	pk -C "$TMP/other" cat "$ko"
	assert_status 0
	assert_out 'elsewhere\n'
	pk -C "$TMP/other" rm --all
	assert_status 0
	pk -C "$TMP/other" ls
	assert_out ''
	pk ls
	assert_keys "$kh"
}

@test "a cache writable by others is refused, exit 1" {
	mkdir "$TMP/open"
	chmod 777 "$TMP/open"
	local args
	local words=()
	for args in ls "show 0a" "cat 0a" "rm 0a" "rm --all" gc stats verify; do
		read -r -a words <<<"$args"
		pk -C "$TMP/open" "${words[@]}"
		assert_status 1
		assert_out ''
		assert_err "pickled: cache unavailable: %s: writable by group or others, refused\n" "$TMP/open"
	done
}
