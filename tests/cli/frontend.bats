#!/usr/bin/env bats
# frontend.bats: pickled's global flags, help, usage errors and the exit
# statuses of errors before the command runs (125, 126, 127).

load helper

# The libraries' versions as this machine's packages give them: built with
# is the -dev package's (pkg-config), running with what the shared library
# says (zstd; the others are linked in statically unless STATIC_DEPS=0).
expected_version() {
	local real=${PK_VALGRIND_BIN_DIR:+$PK_VALGRIND_BIN_DIR/pickled}
	local zstd_run static=' (static)' hiredis_run
	real=${real:-$PK}
	zstd_run=${1:-$(python3 -c 'import ctypes
z = ctypes.CDLL("libzstd.so.1"); z.ZSTD_versionString.restype = ctypes.c_char_p
print(z.ZSTD_versionString().decode())')}
	hiredis_run=$(pkg-config --modversion hiredis)
	if ldd "$real" | grep -q libyaml; then
		static=''
		hiredis_run=$(ldd "$real" | sed -n 's/.*=> \(.*libhiredis[^ ]*\) .*/\1/p' |
			xargs realpath | sed 's/.*libhiredis\.so\.//')
	fi
	printf 'pickled 0.1.0\n'
	printf '%-9s %-11s %s\n' library 'built with' 'running with' \
		zstd "$(pkg-config --modversion libzstd)" "$zstd_run" \
		xxhash "$(pkg-config --modversion libxxhash)" "$(pkg-config --modversion libxxhash)$static" \
		libyaml "$(pkg-config --modversion yaml-0.1)" "$(pkg-config --modversion yaml-0.1)$static" \
		hiredis "$(pkg-config --modversion hiredis)" "$hiredis_run$static" \
		libsodium "$(pkg-config --modversion libsodium)" "$(pkg-config --modversion libsodium)$static"
}

@test "--version and -V print the version, then each library's built and running versions" {
	expected_version >"$TMP/io/want"
	pk --version
	assert_status 0
	assert_same "$TMP/io/want" "$TMP/io/out"
	assert_err ''
	pk -V
	assert_status 0
	assert_same "$TMP/io/want" "$TMP/io/out"
	assert_err ''
	# The first line alone is the version, for scripts.
	[ "$(head -n 1 "$TMP/io/out")" = 'pickled 0.1.0' ]
}

@test "--version asks the shared zstd for its version, not the headers" {
	# A zstd whose ZSTD_versionString says 9.9.9, loaded first: the running
	# column follows the library in the process.
	printf 'const char *ZSTD_versionString(void) { return "9.9.9"; }\n' >"$TMP/fake.c"
	"${CC:-cc}" -shared -fPIC -o "$TMP/fakezstd.so" "$TMP/fake.c"
	expected_version 9.9.9 >"$TMP/io/want"
	LD_PRELOAD=$TMP/fakezstd.so ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		pk --version
	assert_status 0
	assert_same "$TMP/io/want" "$TMP/io/out"
	assert_err ''
}

@test "--help and -h print the same usage on stdout" {
	pk --help
	assert_status 0
	assert_err ''
	[ "$(head -c 14 "$TMP/io/out")" = "Usage: pickled" ]
	grep -q '^ *run' "$TMP/io/out"
	cp "$TMP/io/out" "$TMP/io/help"
	pk -h
	assert_status 0
	assert_err ''
	assert_same "$TMP/io/help" "$TMP/io/out"
	# and help about help
	local a
	for a in '' help --help -h; do
		pk help $a
		assert_status 0
		assert_err ''
		assert_same "$TMP/io/help" "$TMP/io/out"
	done
}

@test "'pickled help run' is 'pickled run --help'" {
	pk run --help
	assert_status 0
	assert_err ''
	grep -q -- '--ttl' "$TMP/io/out"
	grep -q -- '--cache-failures' "$TMP/io/out"
	cp "$TMP/io/out" "$TMP/io/help"
	pk help run
	assert_status 0
	assert_err ''
	assert_same "$TMP/io/help" "$TMP/io/out"
	pk run -h
	assert_status 0
	assert_same "$TMP/io/help" "$TMP/io/out"
}

@test "run --help after other options still prints help and runs nothing" {
	pk run --ttl 1h --help sh -c "$CNT"
	assert_status 0
	assert_err ''
	grep -q -- '--ttl' "$TMP/io/out"
	assert_count 0
}

@test "unknown command" {
	pk frob
	assert_status 125
	assert_out ''
	assert_err "pickled: unknown command 'frob'\nTry 'pickled --help' for more information.\n"
}

@test "unknown option of run" {
	pk run --bogus sh -c "$CNT"
	assert_status 125
	assert_out ''
	assert_err "pickled: unknown option '--bogus'\nTry 'pickled run --help' for more information.\n"
	assert_count 0
}

@test "unknown global option" {
	pk --bogus run true
	assert_status 125
	assert_out ''
	assert_err "pickled: unknown option '--bogus'\nTry 'pickled --help' for more information.\n"
}

@test "option of run without its value" {
	pk run --ttl
	assert_status 125
	assert_out ''
	assert_err "pickled: option '--ttl' needs a value\nTry 'pickled run --help' for more information.\n"
}

@test "global option without its value" {
	pk --cache-dir
	assert_status 125
	assert_out ''
	assert_err "pickled: option '--cache-dir' needs a value\nTry 'pickled --help' for more information.\n"
}

@test "run without a command" {
	pk run
	assert_status 125
	assert_out ''
	assert_err "pickled: no command given\nTry 'pickled run --help' for more information.\n"
	pk run --ttl 1h --
	assert_status 125
	assert_out ''
	assert_err "pickled: no command given\nTry 'pickled run --help' for more information.\n"
}

@test "command not found exits 127" {
	pk run pickled-test-no-such-command arg
	assert_status 127
	assert_out ''
	assert_err 'pickled: pickled-test-no-such-command: command not found\n'
	[ ! -e "$TMP/cache/v1" ] || [ -z "$(entries)" ]
}

@test "command not executable exits 126" {
	printf '#!/bin/sh\necho ran >>"$TMP/count"\n' >x
	chmod 0644 x
	pk run ./x
	assert_status 126
	assert_out ''
	assert_err 'pickled: ./x: permission denied\n'
	assert_count 0
}

@test "invalid --ttl exits 125 before running" {
	local bad
	for bad in abc 10x '' 1.2.3s h -5 5q; do
		pk run --ttl "$bad" sh -c "$CNT"
		assert_status 125
		assert_out ''
		assert_err "pickled: invalid duration for --ttl: '%s'\n" "$bad"
	done
	assert_count 0
}

@test "invalid --stale exits 125 before running" {
	pk run --stale abc sh -c "$CNT"
	assert_status 125
	assert_out ''
	assert_err "pickled: invalid duration for --stale: 'abc'\n"
	assert_count 0
}

@test "invalid --stdin-limit exits 125 before running" {
	pk run --stdin-limit x sh -c "$CNT"
	assert_status 125
	assert_out ''
	assert_err "pickled: invalid size for --stdin-limit: 'x'\n"
	assert_count 0
}

@test "every documented duration form is accepted" {
	local d
	for d in 90s 15m 6h 2d 1w 250ms 1h30m 45 forever; do
		pk run --ttl "$d" printf '%s\n' "$d"
		assert_status 0
		assert_out '%s\n' "$d"
		assert_err ''
	done
}

@test "every documented size form is accepted" {
	local s
	for s in 512 500K 2M 1.5G; do
		pk run --stdin-limit "$s" printf '%s\n' "$s"
		assert_status 0
		assert_out '%s\n' "$s"
		assert_err ''
	done
}

@test "--stale not shorter than --ttl exits 125" {
	pk run --ttl 1h --stale 1h sh -c "$CNT"
	assert_status 125
	assert_out ''
	assert_err 'pickled: --stale must be shorter than --ttl\n'
	pk run --stale 2h --ttl 1h sh -c "$CNT"
	assert_status 125
	assert_err 'pickled: --stale must be shorter than --ttl\n'
	pk run --stale 2d sh -c "$CNT"
	assert_status 125
	assert_err 'pickled: --stale must be shorter than --ttl\n'
	assert_count 0
}
