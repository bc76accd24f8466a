#!/usr/bin/env bats
# config.bats: pickled.conf: every key, the precedence of defaults, files,
# variables and flags, every error with its place, unsafe files, named jobs
# (`run -j`, `pickled jobs`) and `pickled config [--check]`.

load helper

# The helper's setup, plus a home and a user configuration directory of the
# test's own, so that no real configuration is ever read.  /etc/pickled.conf
# is read by default: tests that depend on its absence say so (no_system).
eval "helper_$(declare -f setup)"
setup() {
	helper_setup
	export HOME=$TMP/home XDG_CONFIG_HOME=$TMP/xdg
	mkdir -p "$HOME" "$XDG_CONFIG_HOME/pickled"
	UCONF=$XDG_CONFIG_HOME/pickled/pickled.conf
	unset PICKLED_CONFIG PICKLED_TTL PICKLED_STALE PICKLED_MAX_SIZE PICKLED_MAX_ENTRY \
		PICKLED_COMPRESSION_LEVEL PICKLED_COMPRESSION_THREADS PICKLED_CACHE_FAILURES \
		PICKLED_STDIN PICKLED_PROGRAM_CHECK PICKLED_LOCK_TIMEOUT PICKLED_GC \
		PICKLED_GC_INTERVAL PICKLED_REMOTE
}

no_system() {
	[ ! -e /etc/pickled.conf ] || skip "/etc/pickled.conf exists on this machine"
}

# refute CMD...: fails when CMD succeeds (a bare `! cmd` never fails a bats test).
refute() {
	if "$@"; then
		echo "unexpectedly succeeded: $*"
		return 1
	fi
}

# conf FILE: FILE gets stdin, mode 0600.
conf() {
	cat >"$1"
	chmod 600 "$1"
}

# The comment column of `pickled config`: KEY_VALUE padded to 40 columns.
line() {
	printf '%-38s  # %s\n' "$1" "$2"
}

EXAMPLE=$BATS_TEST_DIRNAME/../../pickled.conf.example

# --- pickled config: defaults and every key ----------------------------------

@test "config prints every setting with its default and origin" {
	: | conf "$TMP/empty.conf"
	unset PICKLED_CACHE_DIR
	export XDG_CACHE_HOME=/nonexistent-cache
	pk -c "$TMP/empty.conf" config
	assert_status 0
	assert_err ''
	{
		printf '# The effective configuration of pickled.  After each value, its origin:\n'
		printf '# the built-in default, FILE:LINE, or an environment variable.\n'
		printf '# read: %s\n' "$TMP/empty.conf"
		line 'cache_dir: /nonexistent-cache/pickled' default
		line 'ttl: 1d' default
		line 'stale: 0s' default
		line 'max_size: 1G' default
		line 'max_entry: 1G' default
		line 'compression_level: 1' default
		line 'compression_threads: 0' default
		line 'cache_failures: false' default
		line 'env: []' default
		line 'stdin: auto' default
		line 'program_check: mtime' default
		line 'lock_timeout: 1h' default
		printf 'gc:\n'
		line '  auto: true' default
		line '  interval: 1d' default
		printf 'remote:\n'
		line '  url: null' default
		line '  mode: read-write' default
		line '  timeout: 200ms' default
		line '  prefix: "pickled:"' default
		line '  max_entry: 64M' default
		line '  lease: 30s' default
		line '  upload_expiry: 1m' default
		line '  secret_file: null' default
		line '  password_file: null' default
		line '  seeds: null' default
		line '  verify_hits: false' default
		printf 'metrics:\n'
		line '  textfile: null' default
		printf 'trace:\n'
		line '  enabled: false' default
		line '  ignore: []' default
		line '  network: cached' default
		line 'jobs: {}' default
	} >"$TMP/io/expected"
	assert_same "$TMP/io/expected" "$TMP/io/out"
}

@test "config reads every key, and names the line of each" {
	unset PICKLED_CACHE_DIR
	cd "$TMP"
	conf all.conf <<'EOF'
cache_dir: /srv/cache/pickled
ttl: 6h
stale: 1h30m
max_size: 1.5G
compression_level: 19
compression_threads: 2
cache_failures: yes
env: [TZ, 'LC_*']
stdin: never
program_check: content
lock_timeout: 90
gc:
  auto: off
  interval: 12h
remote:
  url: redis://app:s3cret@cache.example:6380/2
  mode: read-only
  timeout: 250ms
  prefix: "host1:"
trace:
  enabled: true
  ignore: [__pycache__, '*.log']
  network: uncached
jobs:
  report:
    command: [/usr/local/bin/report, --all]
    ttl: 2h
    stale: 1h
    inputs: [/srv/data/*.csv, /etc/report.conf]
    outputs: [out/report.html]
    env: [LANG]
    tags: [reports, nightly]
    key: v2
    cwd: true
    stdin: always
    cache_failures: false
    lock_timeout: 10m
    trace: false
  backup:
    command:
      - /usr/sbin/backup
      - "--to=/mnt/backup dir"
EOF
	pk -c all.conf config
	assert_status 0
	assert_err ''
	{
		printf '# The effective configuration of pickled.  After each value, its origin:\n'
		printf '# the built-in default, FILE:LINE, or an environment variable.\n'
		printf '# read: all.conf\n'
		line 'cache_dir: /srv/cache/pickled' all.conf:1
		line 'ttl: 6h' all.conf:2
		line 'stale: 1h30m' all.conf:3
		line 'max_size: 1536M' all.conf:4
		line 'max_entry: 1G' default
		line 'compression_level: 19' all.conf:5
		line 'compression_threads: 2' all.conf:6
		line 'cache_failures: true' all.conf:7
		line 'env: [TZ, LC_*]' all.conf:8
		line 'stdin: never' all.conf:9
		line 'program_check: content' all.conf:10
		line 'lock_timeout: 1m30s' all.conf:11
		printf 'gc:\n'
		line '  auto: false' all.conf:13
		line '  interval: 12h' all.conf:14
		printf 'remote:\n'
		line '  url: "redis://app:***@cache.example:6380/2"' all.conf:16
		line '  mode: read-only' all.conf:17
		line '  timeout: 250ms' all.conf:18
		line '  prefix: "host1:"' all.conf:19
		line '  max_entry: 64M' default
		line '  lease: 30s' default
		line '  upload_expiry: 1m' default
		line '  secret_file: null' default
		line '  password_file: null' default
		line '  seeds: null' default
		line '  verify_hits: false' default
		printf 'metrics:\n'
		line '  textfile: null' default
		printf 'trace:\n'
		line '  enabled: true' all.conf:21
		line '  ignore: [__pycache__, "*.log"]' all.conf:22
		line '  network: uncached' all.conf:23
		printf 'jobs:\n'
		line '  report:' all.conf:25
		line '    command: [/usr/local/bin/report, --all]' all.conf:26
		line '    ttl: 2h' all.conf:27
		line '    stale: 1h' all.conf:28
		line '    inputs: [/srv/data/*.csv, /etc/report.conf]' all.conf:29
		line '    outputs: [out/report.html]' all.conf:30
		line '    env: [LANG]' all.conf:31
		line '    tags: [reports, nightly]' all.conf:32
		line '    key: v2' all.conf:33
		line '    cwd: true' all.conf:34
		line '    stdin: always' all.conf:35
		line '    cache_failures: false' all.conf:36
		line '    lock_timeout: 10m' all.conf:37
		line '    trace: false' all.conf:38
		line '  backup:' all.conf:39
		line '    command: [/usr/sbin/backup, "--to=/mnt/backup dir"]' all.conf:40
	} >"$TMP/io/expected"
	assert_same "$TMP/io/expected" "$TMP/io/out"
}

@test "config output reads back as the same configuration" {
	conf "$TMP/a.conf" <<'EOF'
ttl: 1h30m15s
env: ["it's", "a b", "", yes, "#x", "*glob", "-", "--all", "a,b", "tab	x"]
remote:
  prefix: 'p: q'
jobs:
  j1:
    command: [sh, -c, 'echo "$1"; exit 0', "x\ny"]
    key: "null"
EOF
	pk -c "$TMP/a.conf" config
	assert_status 0
	grep -v '^# read: ' "$TMP/io/out" | sed 's/ *# .*//' >"$TMP/first"
	cp "$TMP/io/out" "$TMP/b.conf"
	chmod 600 "$TMP/b.conf"
	pk config --check "$TMP/b.conf"
	assert_status 0
	assert_err ''
	pk -c "$TMP/b.conf" config
	assert_status 0
	grep -v '^# read: ' "$TMP/io/out" | sed 's/ *# .*//' >"$TMP/second"
	assert_same "$TMP/first" "$TMP/second"
	grep -qx 'ttl: 1h30m15s' "$TMP/first"
	grep -qx 'env: \["it'"'"'s", "a b", "", "yes", "#x", "\*glob", "-", --all, "a,b", "tab\\tx"\]' "$TMP/first"
}

@test "config --check passes pickled.conf.example, which sets every key to its default" {
	unset PICKLED_CACHE_DIR
	pk config --check "$EXAMPLE"
	assert_status 0
	assert_out ''
	assert_err ''
	: | conf "$TMP/empty.conf"
	pk -c "$TMP/empty.conf" config
	sed -n '/^cache_dir/,/^jobs/p' "$TMP/io/out" | sed 's/ *# .*//' | grep -v '^jobs' >"$TMP/defaults"
	cp "$EXAMPLE" "$TMP/example.conf"
	chmod 600 "$TMP/example.conf"
	pk -c "$TMP/example.conf" config
	assert_status 0
	sed -n '/^cache_dir/,/^jobs/p' "$TMP/io/out" | sed 's/ *# .*//' | grep -v '^jobs' >"$TMP/example"
	assert_same "$TMP/defaults" "$TMP/example"
	# Every key but cache_dir (left to follow XDG_CACHE_HOME) is in the file.
	[ "$(grep -c '# default$' "$TMP/io/out")" = 1 ]
	grep -q '^cache_dir: .*# default$' "$TMP/io/out"
	grep -q '^  nightly-report: ' "$TMP/io/out"
}

@test "config --check prints nothing for a sound file and exits 0" {
	printf 'ttl: 6h\n' | conf "$TMP/ok.conf"
	pk config --check "$TMP/ok.conf"
	assert_status 0
	assert_out ''
	assert_err ''
}

@test "an empty file, or one with only comments, is sound" {
	printf '# nothing yet\n\n' | conf "$TMP/c.conf"
	pk config --check "$TMP/c.conf"
	assert_status 0
	printf -- '---\n' | conf "$TMP/d.conf"
	pk config --check "$TMP/d.conf"
	assert_status 0
	printf 'gc:\nremote:\njobs:\nenv:\n' | conf "$TMP/e.conf"
	pk config --check "$TMP/e.conf"
	assert_status 0
	assert_err ''
}

@test "config rejects extra arguments and unknown options with status 125" {
	pk config a b
	assert_status 125
	assert_err "pickled: unexpected argument 'b'\nTry 'pickled config --help' for more information.\n"
	pk config --frob
	assert_status 125
	assert_err "pickled: unknown option '--frob'\nTry 'pickled config --help' for more information.\n"
	pk jobs -x
	assert_status 125
	assert_err "pickled: unknown option '-x'\nTry 'pickled jobs --help' for more information.\n"
}

@test "config --help and jobs --help print their usage" {
	pk config --help
	assert_status 0
	[ "$(head -n 1 "$TMP/io/out")" = "Usage: pickled config [--check] [FILE]" ]
	pk help jobs
	assert_status 0
	[ "$(head -n 1 "$TMP/io/out")" = "Usage: pickled jobs [NAME...]" ]
	pk --help
	grep -q '^  config ' "$TMP/io/out"
	grep -q '^  jobs ' "$TMP/io/out"
}

# --- precedence ----------------------------------------------------------------

@test "the user file is read from XDG_CONFIG_HOME, else ~/.config" {
	no_system
	printf 'ttl: 6h\n' | conf "$UCONF"
	pk config
	assert_status 0
	grep -qx "$(line 'ttl: 6h' "$UCONF:1")" "$TMP/io/out"
	grep -qx "# not found: /etc/pickled.conf" "$TMP/io/out"
	grep -qx "# read: $UCONF" "$TMP/io/out"
	unset XDG_CONFIG_HOME
	mkdir -p "$HOME/.config/pickled"
	printf 'ttl: 2d\n' | conf "$HOME/.config/pickled/pickled.conf"
	pk config
	grep -qx "$(line 'ttl: 2d' "$HOME/.config/pickled/pickled.conf:1")" "$TMP/io/out"
	# A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
	export XDG_CONFIG_HOME=relative
	pk config
	grep -qx "$(line 'ttl: 2d' "$HOME/.config/pickled/pickled.conf:1")" "$TMP/io/out"
}

@test "-c FILE replaces the user file; PICKLED_CONFIG too; -c wins over PICKLED_CONFIG" {
	printf 'ttl: 6h\nstale: 1h\n' | conf "$UCONF"
	printf 'ttl: 2h\n' | conf "$TMP/c.conf"
	printf 'ttl: 3h\n' | conf "$TMP/e.conf"
	pk -c "$TMP/c.conf" config
	assert_status 0
	grep -qx "$(line 'ttl: 2h' "$TMP/c.conf:1")" "$TMP/io/out"
	grep -qx "$(line 'stale: 0s' default)" "$TMP/io/out"
	refute grep -q "$UCONF" "$TMP/io/out"
	grep -c '^# read: ' "$TMP/io/out" | grep -qx 1
	PICKLED_CONFIG=$TMP/e.conf pk config
	grep -qx "$(line 'ttl: 3h' "$TMP/e.conf:1")" "$TMP/io/out"
	PICKLED_CONFIG=$TMP/e.conf pk --config "$TMP/c.conf" config
	grep -qx "$(line 'ttl: 2h' "$TMP/c.conf:1")" "$TMP/io/out"
	# config FILE is -c FILE.
	pk config "$TMP/e.conf"
	grep -qx "$(line 'ttl: 3h' "$TMP/e.conf:1")" "$TMP/io/out"
	# An empty PICKLED_CONFIG is unset.
	PICKLED_CONFIG= pk config
	grep -qx "$(line 'stale: 1h' "$UCONF:2")" "$TMP/io/out"
}

@test "every PICKLED_* variable overrides the file, and is named as the origin" {
	conf "$TMP/c.conf" <<'EOF'
cache_dir: /from/file
ttl: 6h
stale: 1h
max_size: 2G
compression_level: 3
compression_threads: 1
cache_failures: false
stdin: auto
program_check: mtime
lock_timeout: 5m
gc:
  auto: true
  interval: 2d
remote:
  url: redis://file-host
EOF
	PICKLED_CACHE_DIR=/from/env PICKLED_TTL=2h PICKLED_STALE=30m PICKLED_MAX_SIZE=500M \
		PICKLED_COMPRESSION_LEVEL=9 PICKLED_COMPRESSION_THREADS=4 PICKLED_CACHE_FAILURES=1 \
		PICKLED_STDIN=always PICKLED_PROGRAM_CHECK=none PICKLED_LOCK_TIMEOUT=10s \
		PICKLED_GC=no PICKLED_GC_INTERVAL=6h PICKLED_REMOTE=redis+unix:///run/redis.sock \
		PICKLED_MAX_ENTRY=20M PICKLED_METRICS_FILE=/var/lib/prometheus/node-exporter/pickled.prom \
		PICKLED_REMOTE_SECRET_FILE=/from/env/secret PICKLED_REMOTE_PASSWORD_FILE=/from/env/pw \
		PICKLED_REMOTE_SEEDS="10.0.0.2:6379, [::1]:6380" \
		PICKLED_TRACE=yes pk -c "$TMP/c.conf" config
	assert_status 0
	assert_err ''
	sed -n '/^cache_dir/,/^jobs/p' "$TMP/io/out" >"$TMP/got"
	{
		line 'cache_dir: /from/env' PICKLED_CACHE_DIR
		line 'ttl: 2h' PICKLED_TTL
		line 'stale: 30m' PICKLED_STALE
		line 'max_size: 500M' PICKLED_MAX_SIZE
		line 'max_entry: 20M' PICKLED_MAX_ENTRY
		line 'compression_level: 9' PICKLED_COMPRESSION_LEVEL
		line 'compression_threads: 4' PICKLED_COMPRESSION_THREADS
		line 'cache_failures: true' PICKLED_CACHE_FAILURES
		line 'env: []' default
		line 'stdin: always' PICKLED_STDIN
		line 'program_check: none' PICKLED_PROGRAM_CHECK
		line 'lock_timeout: 10s' PICKLED_LOCK_TIMEOUT
		printf 'gc:\n'
		line '  auto: false' PICKLED_GC
		line '  interval: 6h' PICKLED_GC_INTERVAL
		printf 'remote:\n'
		line '  url: "redis+unix:///run/redis.sock"' PICKLED_REMOTE
		line '  mode: read-write' default
		line '  timeout: 200ms' default
		line '  prefix: "pickled:"' default
		line '  max_entry: 64M' default
		line '  lease: 30s' default
		line '  upload_expiry: 1m' default
		line '  secret_file: /from/env/secret' PICKLED_REMOTE_SECRET_FILE
		line '  password_file: /from/env/pw' PICKLED_REMOTE_PASSWORD_FILE
		line '  seeds: "10.0.0.2:6379, [::1]:6380"' PICKLED_REMOTE_SEEDS
		line '  verify_hits: false' default
		printf 'metrics:\n'
		line '  textfile: /var/lib/prometheus/node-exporter/pickled.prom' PICKLED_METRICS_FILE
		printf 'trace:\n'
		line '  enabled: true' PICKLED_TRACE
		line '  ignore: []' default
		line '  network: cached' default
		line 'jobs: {}' default
	} >"$TMP/io/expected"
	assert_same "$TMP/io/expected" "$TMP/got"
}

@test "an empty PICKLED_* variable counts as unset" {
	printf 'ttl: 6h\n' | conf "$TMP/c.conf"
	PICKLED_TTL= PICKLED_GC= pk -c "$TMP/c.conf" config
	assert_status 0
	assert_err ''
	grep -qx "$(line 'ttl: 6h' "$TMP/c.conf:1")" "$TMP/io/out"
}

@test "precedence in a run: file ttl, then PICKLED_TTL, then --ttl" {
	printf 'ttl: 1s\n' | conf "$UCONF"
	pk run sh -c "$CNT; echo a"
	assert_count 1
	sleep 1.2
	pk run sh -c "$CNT; echo a"
	assert_out 'a\n'
	assert_count 2     # the file's 1s: expired
	sleep 1.2
	PICKLED_TTL=1h pk run sh -c "$CNT; echo a"
	assert_count 2     # the variable's 1h: a hit
	PICKLED_TTL=1s pk run --ttl 1h sh -c "$CNT; echo a"
	assert_count 2     # the flag's 1h: a hit
	PICKLED_TTL=1h pk run --ttl 1s sh -c "$CNT; echo a"
	assert_status 0
	assert_err ''
	assert_count 3     # the flag's 1s: expired
}

@test "cache_dir from the file, then PICKLED_CACHE_DIR, then -C" {
	unset PICKLED_CACHE_DIR
	printf 'cache_dir: %s\n' "$TMP/file-cache" | conf "$UCONF"
	pk run echo one
	assert_status 0
	has_entries "$TMP/file-cache"
	PICKLED_CACHE_DIR=$TMP/env-cache pk run echo two
	has_entries "$TMP/env-cache"
	PICKLED_CACHE_DIR=$TMP/env-cache pk -C "$TMP/flag-cache" run echo three
	has_entries "$TMP/flag-cache"
	[ "$(entries "$TMP/env-cache" | wc -l)" = 1 ]
	[ "$(entries "$TMP/file-cache" | wc -l)" = 1 ]
}

@test "cache_dir ~/ stands for the home directory" {
	unset PICKLED_CACHE_DIR
	printf 'cache_dir: ~/my-cache\n' | conf "$UCONF"
	pk run echo hi
	assert_status 0
	has_entries "$HOME/my-cache"
	pk config
	grep -qx "$(line "cache_dir: $HOME/my-cache" "$UCONF:1")" "$TMP/io/out"
}

@test "PICKLED_CACHE_DIR follows the file's rule: absolute or ~/, never relative" {
	no_system
	# relative: refused as in the file; the job runs uncached, nothing is created
	PICKLED_CACHE_DIR=rel/dir pk run sh -c "$CNT; echo hi"
	assert_status 0
	assert_out 'hi\n'
	assert_err '%s\n' \
		"pickled: invalid path for PICKLED_CACHE_DIR: 'rel/dir' (expected an absolute path, or one starting with ~/)" \
		"pickled: running uncached: the configuration has errors"
	[ ! -e rel ]
	PICKLED_CACHE_DIR=rel/dir pk ls
	assert_status 1
	assert_out ''
	assert_err "pickled: invalid path for PICKLED_CACHE_DIR: 'rel/dir' (expected an absolute path, or one starting with ~/)\n"
	[ ! -e rel ]
	# ~/ (as a crontab line writes it, unexpanded) is under HOME
	PICKLED_CACHE_DIR='~/env-cache' pk run echo hi
	assert_status 0
	assert_err ''
	has_entries "$HOME/env-cache"
	[ ! -e '~' ]
	PICKLED_CACHE_DIR='~/env-cache' pk config
	grep -qx "$(line "cache_dir: $HOME/env-cache" PICKLED_CACHE_DIR)" "$TMP/io/out"
	# -C stays a command-line path: relative to the working directory
	pk -C flag-cache run echo hi
	assert_status 0
	has_entries "$PWD/flag-cache"
}

@test "env in the file is always in the key, together with -e" {
	printf 'env: [PK_A]\n' | conf "$UCONF"
	PK_A=1 PK_B=1 pk run -e PK_B sh -c "$CNT"
	PK_A=1 PK_B=1 pk run -e PK_B sh -c "$CNT"
	assert_count 1
	PK_A=2 PK_B=1 pk run -e PK_B sh -c "$CNT"
	assert_count 2
	PK_A=2 PK_B=2 pk run -e PK_B sh -c "$CNT"
	assert_count 3
}

@test "cache_failures in the file stores a failing result" {
	printf 'cache_failures: true\n' | conf "$UCONF"
	pk run sh -c "$CNT; exit 3"
	assert_status 3
	pk run sh -c "$CNT; exit 3"
	assert_status 3
	assert_count 1
	PICKLED_CACHE_FAILURES=false pk run sh -c "$CNT; exit 3"
	PICKLED_CACHE_FAILURES=false pk run sh -c "$CNT; exit 3"
	assert_count 3
}

@test "stdin: never in the file leaves stdin out of the key; --stdin overrides it" {
	printf 'stdin: never\n' | conf "$UCONF"
	pk_in <(printf one) run sh -c "$CNT; cat"
	assert_out 'one'
	pk_in <(printf two) run sh -c "$CNT; cat"
	assert_out 'one'
	assert_count 1
	pk_in <(printf two) run --stdin sh -c "$CNT; cat"
	assert_out 'two'
	assert_count 2
}

@test "program_check: none keeps the key when the program changes; mtime does not" {
	printf '#!/bin/sh\necho "$0" >>"$TMP/count"\n' >prog
	chmod +x prog
	printf 'program_check: none\n' | conf "$UCONF"
	pk run ./prog
	touch -d '2001-01-01' prog
	pk run ./prog
	assert_count 1
	PICKLED_PROGRAM_CHECK=mtime pk run ./prog
	touch -d '2002-01-01' prog
	PICKLED_PROGRAM_CHECK=mtime pk run ./prog
	assert_count 3
}

@test "stale from the file refreshes in the background" {
	printf 'ttl: 1h\nstale: 1s\n' | conf "$UCONF"
	pk run sh -c "$CNT; echo v\$(wc -l <\"\$TMP/count\")"
	assert_out 'v1\n'
	sleep 1.2
	pk run sh -c "$CNT; echo v\$(wc -l <\"\$TMP/count\")"
	assert_out 'v1\n'
	poll 5 eval '[ "$(count)" = 2 ]'
}

# --- errors ------------------------------------------------------------------

@test "remote.prefix is at most 200 bytes" {
	cd "$TMP"
	p200=$(printf 'p%.0s' $(seq 200))
	printf 'remote:\n  prefix: "%s"\n' "$p200" | conf ok.conf
	pk config --check ok.conf
	assert_status 0
	assert_err ''
	printf 'remote:\n  prefix: "%sq"\n' "$p200" | conf long.conf
	pk config --check long.conf
	assert_status 1
	assert_err 'pickled: long.conf:2:11: remote.prefix longer than 200 bytes: '"'"'%s...'"'"'\n' \
		"$(printf 'p%.0s' $(seq 57))"
}

@test "every error of a file is reported with its line and column" {
	cd "$TMP"
	conf err.conf <<'EOF'
tll: 6h
stale: soon
max_size: 2X
compression_level: 20
compression_threads: -1
cache_failures: maybe
env: TZ LANG
stdin: allways
program_check: sha256
lock_timeout: [1h]
cache_dir: relative/dir
frobnicate: 1
ttl: 1h
ttl: 2h
command: [x]
gc:
  auto: true
  intervall: 1d
remote:
  url: http://cache
  mode: write
jobs:
  ok:
    command: [echo, ok]
  no-command:
    ttl: 1h
  "bad name":
    command: [echo]
  ok:
    command: [echo, again]
  empty:
    command: []
  holes:
    command: [echo, ~]
  nested:
    command: [echo, [a]]
  scalar-job: echo
  late:
    command: [true]
    stale: 2h
EOF
	pk config --check err.conf
	assert_status 1
	assert_out ''
	assert_err '%s\n' \
		"pickled: err.conf:1:1: unknown key 'tll' (did you mean 'ttl'?)" \
		"pickled: err.conf:2:8: invalid duration for stale: 'soon'" \
		"pickled: err.conf:3:11: invalid size for max_size: '2X'" \
		"pickled: err.conf:4:20: invalid value for compression_level: '20' (expected 1 to 19)" \
		"pickled: err.conf:5:22: invalid value for compression_threads: '-1' (expected 0 to 64)" \
		"pickled: err.conf:6:17: invalid value for cache_failures: 'maybe' (expected true or false)" \
		"pickled: err.conf:7:6: env must be a list, such as [TZ, LANG]" \
		"pickled: err.conf:8:8: invalid value for stdin: 'allways' (did you mean 'always'?)" \
		"pickled: err.conf:9:16: invalid value for program_check: 'sha256' (expected none, mtime or content)" \
		"pickled: err.conf:10:15: lock_timeout must be a duration, not a list" \
		"pickled: err.conf:11:12: invalid path for cache_dir: 'relative/dir' (expected an absolute path, or one starting with ~/)" \
		"pickled: err.conf:12:1: unknown key 'frobnicate'" \
		"pickled: err.conf:14:1: duplicate key 'ttl' (first at line 13)" \
		"pickled: err.conf:15:1: unknown key 'command' (a job's settings go under jobs: NAME:)" \
		"pickled: err.conf:18:3: unknown key 'intervall' (did you mean 'interval'?)" \
		"pickled: err.conf:20:8: invalid URL for remote.url: 'http://cache' (remote url must start with redis://, redis+unix:// or unix://)" \
		"pickled: err.conf:21:9: invalid value for remote.mode: 'write' (expected read-write or read-only)" \
		"pickled: err.conf:25:3: job 'no-command' has no command" \
		"pickled: err.conf:27:3: invalid job name 'bad name' (letters, digits, '.', '_' and '-', not starting with '-')" \
		"pickled: err.conf:29:3: duplicate job 'ok' (first at line 23)" \
		"pickled: err.conf:32:14: jobs.empty.command must name a program" \
		"pickled: err.conf:34:21: empty item in jobs.holes.command" \
		"pickled: err.conf:36:21: items of jobs.nested.command must be strings, not a list" \
		"pickled: err.conf:37:15: jobs.scalar-job must be a mapping, not a scalar" \
		"pickled: err.conf:40:5: job 'late': stale (2h) must be shorter than ttl (1h, from line 13)"
}

@test "pickled config prints the errors, no configuration, and exits 1" {
	printf 'ttl: 6h\nstale: 7h\n' | conf "$UCONF"
	pk config
	assert_status 1
	assert_out ''
	assert_err "pickled: $UCONF:2:1: stale (7h) must be shorter than ttl (6h, from line 1)\n"
}

@test "stale against a ttl from another layer names where the ttl comes from" {
	printf 'stale: 2h\njobs:\n  j:\n    command: [true]\n    ttl: 1h\n' | conf "$TMP/c.conf"
	PICKLED_TTL=1h pk -c "$TMP/c.conf" config --check
	assert_status 1
	assert_err '%s\n' \
		"pickled: $TMP/c.conf:1:1: stale (2h) must be shorter than ttl (1h, from PICKLED_TTL)" \
		"pickled: $TMP/c.conf:5:5: job 'j': ttl (1h) must be longer than stale (2h, from line 1)"
}

@test "YAML syntax errors are reported with their place, after the errors before them" {
	printf 'ttl: bad\nstale: [1\nmax_size: 2M\n' | conf "$TMP/a.conf"
	pk config --check "$TMP/a.conf"
	assert_status 1
	assert_err '%s\n' \
		"pickled: $TMP/a.conf:1:6: invalid duration for ttl: 'bad'" \
		"pickled: $TMP/a.conf:2:8: stale must be a duration, not a list" \
		"pickled: $TMP/a.conf:3:9: syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 2)"
	printf 'ttl: 6h\n\tstale: 1h\n' | conf "$TMP/b.conf"
	pk config --check "$TMP/b.conf"
	assert_status 1
	assert_err "pickled: $TMP/b.conf:2:1: syntax error: found a tab character that violates indentation (while scanning a plain scalar at line 1)\n"
	printf 'ttl: 6h\nstale: \377\n' | conf "$TMP/c.conf"
	pk config --check "$TMP/c.conf"
	assert_status 1
	assert_err "pickled: $TMP/c.conf:2:8: syntax error: invalid leading UTF-8 octet\n"
}

@test "nesting deeper than 8 levels ends the file at once, with its place" {
	# 100000 '[' took libyaml minutes; the error comes at the ninth level
	{ printf 'ttl: '; head -c 100000 /dev/zero | tr '\0' '['; echo; } | conf "$TMP/a.conf"
	pk config --check "$TMP/a.conf"
	assert_status 1
	assert_err '%s\n' \
		"pickled: $TMP/a.conf:1:6: ttl must be a duration, not a list" \
		"pickled: $TMP/a.conf:1:13: nested deeper than 8 levels"
	# a run with it still runs its command, uncached
	PICKLED_CONFIG=$TMP/a.conf pk run sh -c "$CNT; echo ran"
	assert_status 0
	assert_out 'ran\n'
	assert_err '%s\n' \
		"pickled: $TMP/a.conf:1:6: ttl must be a duration, not a list" \
		"pickled: $TMP/a.conf:1:13: nested deeper than 8 levels" \
		"pickled: running uncached: the configuration has errors"
	# block mappings and flow mappings count the same
	printf 'jobs:\n  a:\n   b:\n    c:\n     d:\n      e:\n       f:\n        g:\n         h: 1\n' |
		conf "$TMP/b.conf"
	pk config --check "$TMP/b.conf"
	assert_status 1
	assert_err '%s\n' \
		"pickled: $TMP/b.conf:3:4: unknown key 'b'" \
		"pickled: $TMP/b.conf:9:10: nested deeper than 8 levels"
	printf 'env: [{a: {b: {c: {d: {e: {f: {g: 1}}}}}}}]\n' | conf "$TMP/c.conf"
	pk config --check "$TMP/c.conf"
	assert_status 1
	assert_err '%s\n' \
		"pickled: $TMP/c.conf:1:7: items of env must be strings, not a mapping" \
		"pickled: $TMP/c.conf:1:31: nested deeper than 8 levels"
	# 8 levels are fine (and wrong here, for other reasons)
	printf 'env: [{a: {b: {c: {d: {e: {f: 1}}}}}}]\n' | conf "$TMP/d.conf"
	pk config --check "$TMP/d.conf"
	assert_status 1
	assert_err "pickled: $TMP/d.conf:1:7: items of env must be strings, not a mapping\n"
}

@test "a NUL character in a string is an error, not a cut" {
	printf 'jobs:\n  j:\n    command: [echo, "a\\u0000b"]\n' | conf "$TMP/a.conf"
	pk config --check "$TMP/a.conf"
	assert_status 1
	assert_err "pickled: $TMP/a.conf:3:21: a NUL character (\\\\0) in a string is not allowed\n"
	PICKLED_CONFIG=$TMP/a.conf pk run -j j
	assert_status 125
	assert_err '%s\n' \
		"pickled: $TMP/a.conf:3:21: a NUL character (\\0) in a string is not allowed" \
		"pickled: no job named 'j'"
	printf 'remote:\n  prefix: "x\\0y"\n' | conf "$TMP/b.conf"
	pk config --check "$TMP/b.conf"
	assert_status 1
	assert_err "pickled: $TMP/b.conf:2:11: a NUL character (\\\\0) in a string is not allowed\n"
	# in a key too: "ttl\0x" is not ttl
	printf '"ttl\\0x": 6h\n' | conf "$TMP/c.conf"
	pk config --check "$TMP/c.conf"
	assert_status 1
	assert_err "pickled: $TMP/c.conf:1:1: a NUL character (\\\\0) in a string is not allowed\n"
}

@test "a tag holding a comma, or empty, is refused in the file and with --tag" {
	printf 'jobs:\n  j:\n    command: [echo, hi]\n    tags: [a, "b,c", ""]\n' | conf "$TMP/a.conf"
	pk config --check "$TMP/a.conf"
	assert_status 1
	assert_err '%s\n' \
		"pickled: $TMP/a.conf:4:15: invalid tag in jobs.j.tags: 'b,c' (a tag cannot contain a comma (give one tag at a time))" \
		"pickled: $TMP/a.conf:4:22: invalid tag in jobs.j.tags: '' (a tag cannot be empty)"
	pk run --tag a,b echo hi
	assert_status 125
	assert_out ''
	assert_err "pickled: invalid tag for --tag: 'a,b' (a tag cannot contain a comma (give one tag at a time))\n"
	pk run --tag '' echo hi
	assert_status 125
	assert_err "pickled: invalid tag for --tag: '' (a tag cannot be empty)\n"
	[ -z "$(entries)" ]
}

@test "a file that is not a mapping, aliases and several documents are errors" {
	printf -- '- ttl\n- 6h\n' | conf "$TMP/a.conf"
	pk config --check "$TMP/a.conf"
	assert_status 1
	assert_err "pickled: $TMP/a.conf:1:1: the configuration must be a mapping of keys to values, not a list\n"
	printf 'ttl: &t 6h\nlock_timeout: *t\n---\nttl: 1h\n' | conf "$TMP/b.conf"
	pk config --check "$TMP/b.conf"
	assert_status 1
	assert_err '%s\n' \
		"pickled: $TMP/b.conf:2:15: aliases are not supported (in lock_timeout)" \
		"pickled: $TMP/b.conf:3:1: only one YAML document is allowed"
	printf 'gc: true\n? [a]\n: 1\n' | conf "$TMP/c.conf"
	pk config --check "$TMP/c.conf"
	assert_status 1
	assert_err '%s\n' \
		"pickled: $TMP/c.conf:1:5: gc must be a mapping, not a scalar" \
		"pickled: $TMP/c.conf:2:3: a key must be a scalar, not a list"
}

@test "a bad PICKLED_* variable is an error naming it" {
	: | conf "$TMP/empty.conf"
	PICKLED_TTL=soon PICKLED_MAX_SIZE=big PICKLED_COMPRESSION_LEVEL=0 \
		PICKLED_COMPRESSION_THREADS=x PICKLED_CACHE_FAILURES=maybe PICKLED_STDIN=sometimes \
		PICKLED_PROGRAM_CHECK=hash PICKLED_LOCK_TIMEOUT=-1 PICKLED_GC=2 PICKLED_GC_INTERVAL=1y \
		PICKLED_STALE=x PICKLED_REMOTE=redis://u:pw@h:0 pk -c "$TMP/empty.conf" config --check
	assert_status 1
	assert_err '%s\n' \
		"pickled: invalid duration for PICKLED_TTL: 'soon'" \
		"pickled: invalid duration for PICKLED_STALE: 'x'" \
		"pickled: invalid size for PICKLED_MAX_SIZE: 'big'" \
		"pickled: invalid value for PICKLED_COMPRESSION_LEVEL: '0' (expected 1 to 19)" \
		"pickled: invalid value for PICKLED_COMPRESSION_THREADS: 'x' (expected 0 to 64)" \
		"pickled: invalid value for PICKLED_CACHE_FAILURES: 'maybe' (expected true or false)" \
		"pickled: invalid value for PICKLED_STDIN: 'sometimes' (expected auto, always or never)" \
		"pickled: invalid value for PICKLED_PROGRAM_CHECK: 'hash' (expected none, mtime or content)" \
		"pickled: invalid duration for PICKLED_LOCK_TIMEOUT: '-1'" \
		"pickled: invalid value for PICKLED_GC: '2' (expected true or false)" \
		"pickled: invalid duration for PICKLED_GC_INTERVAL: '1y'" \
		"pickled: invalid URL for PICKLED_REMOTE: 'redis://u:***@h:0' (bad port '0')"
}

@test "max_size must be at least one byte" {
	printf 'max_size: 0\n' | conf "$TMP/c.conf"
	pk config --check "$TMP/c.conf"
	assert_status 1
	assert_err "pickled: $TMP/c.conf:1:11: invalid size for max_size: '0' (must be at least 1)\n"
}

@test "remote.lease and remote.upload_expiry are 1s to 1d and remote.timeout 1ms to 1h" {
	local v
	for v in 0 999ms 25h forever; do
		printf 'remote:\n  lease: %s\n' "$v" | conf "$TMP/c.conf"
		pk config --check "$TMP/c.conf"
		assert_status 1
		assert_err "pickled: $TMP/c.conf:2:10: invalid duration for remote.lease: '$v' (must be 1s to 1d)\n"
		printf 'remote:\n  upload_expiry: %s\n' "$v" | conf "$TMP/c.conf"
		pk config --check "$TMP/c.conf"
		assert_status 1
		assert_err "pickled: $TMP/c.conf:2:18: invalid duration for remote.upload_expiry: '$v' (must be 1s to 1d)\n"
	done
	printf 'remote:\n  upload_expiry: 1s\n' | conf "$TMP/c.conf"
	pk config --check "$TMP/c.conf"
	assert_status 0
	printf 'remote:\n  upload_expiry: 1d\n' | conf "$TMP/c.conf"
	pk -c "$TMP/c.conf" config get remote.upload_expiry
	assert_status 0
	assert_out '1d\n'
	for v in 0 61m forever; do
		printf 'remote:\n  timeout: %s\n' "$v" | conf "$TMP/c.conf"
		pk config --check "$TMP/c.conf"
		assert_status 1
		assert_err "pickled: $TMP/c.conf:2:12: invalid duration for remote.timeout: '$v' (must be 1ms to 1h)\n"
	done
	printf 'remote:\n  lease: 1s\n  timeout: 1ms\n' | conf "$TMP/c.conf"
	pk config --check "$TMP/c.conf"
	assert_status 0
	printf 'remote:\n  lease: 1d\n  timeout: 1h\n' | conf "$TMP/c.conf"
	pk config --check "$TMP/c.conf"
	assert_status 0
	assert_err ''
	# A run with such a file reports it and still runs the command.
	printf 'remote:\n  url: redis://127.0.0.1:1\n  lease: 0\n' | conf "$TMP/c.conf"
	pk -c "$TMP/c.conf" run echo hi
	assert_status 0
	assert_out 'hi\n'
	assert_err "pickled: $TMP/c.conf:3:10: invalid duration for remote.lease: '0' (must be 1s to 1d)\npickled: running uncached: the configuration has errors\n"
}

@test "config get KEY prints one effective value; --show-origin where it comes from" {
	no_system
	conf "$UCONF" <<'EOF'
ttl: 6h
env: [TZ, "LC_*"]
remote:
  url: redis://:s3cret@cache.example:6379/2
jobs:
  j:
    command: [echo, hi]
    stale: 1h
  k:
    command: [echo, ho]
    ttl: 2d
    key: "a b"
EOF
	pk config get ttl
	assert_status 0
	assert_out '6h\n'
	assert_err ''
	pk config get --show-origin ttl
	assert_out '%s\t6h\n' "$UCONF:1"
	PICKLED_TTL=90m pk config get --show-origin ttl
	assert_out 'PICKLED_TTL\t1h30m\n'
	pk config get --show-origin max_size
	assert_out 'default\t1G\n'
	pk config get gc.auto
	assert_out 'true\n'
	pk config get env
	assert_out '[TZ, LC_*]\n'
	pk config get cache_dir
	assert_out '%s\n' "$PICKLED_CACHE_DIR"
	pk config get remote.url
	assert_out 'redis://:***@cache.example:6379/2\n'
	# a job's own setting, else the one it runs with
	pk config get --show-origin jobs.j.stale
	assert_out '%s\t1h\n' "$UCONF:8"
	pk config get --show-origin jobs.j.ttl
	assert_out '%s\t6h\n' "$UCONF:1"
	pk config get --show-origin jobs.k.ttl
	assert_out '%s\t2d\n' "$UCONF:11"
	pk config get jobs.k.key
	assert_out 'a b\n'
	pk config get jobs.j.stdin
	assert_out 'never\n'
	pk config get jobs.j.command
	assert_out '[echo, hi]\n'
	# not set: nothing, exit 1
	pk config get jobs.j.key
	assert_status 1
	assert_out ''
	assert_err ''
	conf "$TMP/empty.conf" </dev/null
	PICKLED_CONFIG=$TMP/empty.conf pk config get remote.url
	assert_status 1
	assert_out ''
	assert_err ''
	# a path not set is null too when the cache is in its default place
	for k in remote.secret_file remote.password_file metrics.textfile; do
		PICKLED_CACHE_DIR='' PICKLED_CONFIG=$TMP/empty.conf pk config get "$k"
		assert_status 1
		assert_out ''
		assert_err ''
	done
	PICKLED_CACHE_DIR='' PICKLED_CONFIG=$TMP/empty.conf pk config get cache_dir
	assert_status 0
	assert_out '%s\n' "$HOME/.cache/pickled"
	# not a setting, no such job: usage errors
	pk config get tll
	assert_status 125
	assert_err "pickled: not a setting: 'tll'\nTry 'pickled config --help' for more information.\n"
	for k in gc jobs jobs.j jobs.j.nope gc.auto.x ''; do
		pk config get "$k"
		assert_status 125
		assert_err "pickled: not a setting: '%s'\nTry 'pickled config --help' for more information.\n" "$k"
	done
	pk config get jobs.nope.ttl
	assert_status 125
	assert_err "pickled: no job named 'nope'\nTry 'pickled config --help' for more information.\n"
	pk config get
	assert_status 125
	assert_err "pickled: no key given\nTry 'pickled config --help' for more information.\n"
	pk config get ttl stale
	assert_status 125
	# a broken configuration: its errors, exit 1
	PICKLED_TTL=soon pk config get ttl
	assert_status 1
	assert_out ''
	assert_err "pickled: invalid duration for PICKLED_TTL: 'soon'\n"
}

@test "config --check FILE checks the file alone; without FILE, the environment too" {
	printf 'ttl: 6h\n' | conf "$TMP/c.conf"
	PICKLED_TTL=soon pk config --check "$TMP/c.conf"
	assert_status 0
	assert_err ''
	PICKLED_TTL=soon pk -c "$TMP/c.conf" config --check
	assert_status 1
	assert_err "pickled: invalid duration for PICKLED_TTL: 'soon'\n"
}

@test "a missing file named with -c or PICKLED_CONFIG is an error; a missing user file is not" {
	no_system
	pk config --check
	assert_status 0
	assert_err ''
	pk -c "$TMP/nope.conf" config --check
	assert_status 1
	assert_err "pickled: cannot open configuration file: $TMP/nope.conf: No such file or directory\n"
	PICKLED_CONFIG=$TMP/nope.conf pk config --check
	assert_status 1
	assert_err "pickled: cannot open configuration file: $TMP/nope.conf: No such file or directory\n"
}

@test "a file writable by group or others is refused" {
	printf 'ttl: 6h\n' | conf "$TMP/c.conf"
	chmod 666 "$TMP/c.conf"
	pk config --check "$TMP/c.conf"
	assert_status 1
	assert_err "pickled: $TMP/c.conf refused: writable by group and others\n"
	chmod 620 "$TMP/c.conf"
	pk -c "$TMP/c.conf" config
	assert_status 1
	assert_out ''
	assert_err "pickled: $TMP/c.conf refused: writable by group\n"
	chmod 644 "$TMP/c.conf"
	pk -c "$TMP/c.conf" config --check
	assert_status 0
}

@test "the user file is refused when others can write it" {
	printf 'ttl: 6h\n' | conf "$UCONF"
	chmod 602 "$UCONF"
	pk config --check
	assert_status 1
	assert_err "pickled: $UCONF refused: writable by others\n"
}

@test "a directory or a FIFO is refused, without waiting for a writer" {
	mkdir "$TMP/dir.conf"
	pk config --check "$TMP/dir.conf"
	assert_status 1
	assert_err "pickled: $TMP/dir.conf refused: not a regular file\n"
	mkfifo -m 600 "$TMP/fifo.conf"
	status=0
	timeout 10 "$PK" config --check "$TMP/fifo.conf" 2>"$TMP/io/err" || status=$?
	assert_status 1
	assert_err "pickled: $TMP/fifo.conf refused: not a regular file\n"
}

@test "a file owned by another user is refused" {
	[ "$(id -u)" = 0 ] || skip "needs root to give a file away"
	printf 'ttl: 6h\n' | conf "$TMP/c.conf"
	chown 65534 "$TMP/c.conf"
	pk config --check "$TMP/c.conf"
	assert_status 1
	assert_err "pickled: $TMP/c.conf refused: owned by another user (uid 65534)\n"
}

@test "a broken configuration: run prints the errors, runs uncached, returns the status" {
	printf 'ttl: bad\nfrob: 1\n' | conf "$UCONF"
	pk run sh -c "$CNT; echo out; echo err >&2; exit 7"
	assert_status 7
	assert_out 'out\n'
	assert_err '%s\n' \
		"pickled: $UCONF:1:6: invalid duration for ttl: 'bad'" \
		"pickled: $UCONF:2:1: unknown key 'frob'" \
		"pickled: running uncached: the configuration has errors" \
		"err"
	pk run sh -c "$CNT; echo out"
	assert_status 0
	pk run sh -c "$CNT; echo out"
	assert_count 3
	refute has_entries
}

@test "an unsafe configuration: run still runs the command, uncached" {
	printf 'ttl: 1h\n' | conf "$UCONF"
	chmod 666 "$UCONF"
	pk run sh -c "$CNT; echo ran"
	assert_status 0
	assert_out 'ran\n'
	assert_err '%s\n' \
		"pickled: $UCONF refused: writable by group and others" \
		"pickled: running uncached: the configuration has errors"
	refute has_entries
}

@test "run -j with its file refused says so, and why, as config --check does" {
	conf "$UCONF" <<'EOF'
jobs:
  j:
    command: [sh, -c, 'echo x >>"$TMP/count"; echo ran']
EOF
	# group-writable (install -m 664), even though the group is the owner's own
	chmod 664 "$UCONF"
	pk run -j j
	assert_status 125
	assert_out ''
	assert_err "pickled: job 'j': $UCONF refused: writable by group\n"
	assert_count 0
	pk config --check
	assert_status 1
	assert_err "pickled: $UCONF refused: writable by group\n"
	pk run -j j -- more
	assert_status 125
	assert_err "pickled: job 'j': $UCONF refused: writable by group\n"
	# the job defined in a sound file runs, whatever the refused one
	cp "$UCONF" "$TMP/sound.conf"
	chmod 600 "$TMP/sound.conf"
	pk -c "$TMP/sound.conf" run -j j
	assert_status 0
	assert_out 'ran\n'
	assert_err ''
	# a job that no file defines, with nothing refused, is still unknown
	chmod 600 "$UCONF"
	pk run -j nope
	assert_status 125
	assert_err "pickled: no job named 'nope'\n"
}

@test "a bad PICKLED_* variable: run prints it and runs uncached" {
	PICKLED_TTL=soon pk run sh -c "$CNT; echo ran"
	assert_status 0
	assert_out 'ran\n'
	assert_err '%s\n' \
		"pickled: invalid duration for PICKLED_TTL: 'soon'" \
		"pickled: running uncached: the configuration has errors"
	refute has_entries
}

@test "inspection commands use cache_dir from the configuration, and stop on errors" {
	unset PICKLED_CACHE_DIR
	printf 'cache_dir: %s\n' "$TMP/file-cache" | conf "$UCONF"
	pk run echo hi
	pk ls
	assert_status 0
	[ "$(wc -l <"$TMP/io/out")" -ge 1 ]
	grep -q 'echo hi' "$TMP/io/out"
	PICKLED_TTL=soon pk ls
	assert_status 1
	assert_out ''
	assert_err "pickled: invalid duration for PICKLED_TTL: 'soon'\n"
}

# --- named jobs ----------------------------------------------------------------

@test "run -j runs a job with its settings, and replays it" {
	conf "$UCONF" <<'EOF'
jobs:
  hello:
    command: [sh, -c, 'echo x >>"$TMP/count"; echo "hello $0"', world]
    ttl: 1h
EOF
	pk run -j hello
	assert_status 0
	assert_out 'hello world\n'
	assert_err ''
	pk run --job hello
	assert_out 'hello world\n'
	assert_count 1
}

@test "run -j: words after the options are appended to the job's command" {
	conf "$UCONF" <<'EOF'
jobs:
  greet:
    command: [sh, -c, 'echo x >>"$TMP/count"; echo "$0 $1"', hi]
EOF
	pk run -j greet -- there
	assert_out 'hi there\n'
	pk run -j greet there
	assert_out 'hi there\n'
	assert_count 1
	pk run -j greet
	assert_out 'hi \n'
	assert_count 2
}

@test "run -j: flags replace the job's settings, lists add to the job's" {
	conf "$UCONF" <<'EOF'
jobs:
  j:
    command: [sh, -c, 'echo x >>"$TMP/count"']
    ttl: 1s
    env: [PK_A]
EOF
	PK_A=1 PK_B=1 pk run -j j
	sleep 1.2
	PK_A=1 PK_B=1 pk run -j j
	assert_count 2            # the job's ttl of 1s
	PK_A=1 PK_B=1 pk run -j j --ttl 1h
	assert_count 2            # --ttl 1h: a hit
	PK_A=1 PK_B=1 pk run -j j --ttl 1h -e PK_B
	assert_count 3            # -e adds PK_B: another key
	PK_A=1 PK_B=2 pk run -j j --ttl 1h -e PK_B
	assert_count 4
	PK_A=2 PK_B=2 pk run -j j --ttl 1h -e PK_B
	assert_count 5            # the job's PK_A is still in the key
}

@test "a job's settings come from the top level when it leaves them out" {
	conf "$UCONF" <<'EOF'
ttl: 2s
cache_failures: true
jobs:
  j:
    command: [sh, -c, 'echo x >>"$TMP/count"; exit 4']
EOF
	pk run -j j
	assert_status 4
	pk run -j j
	assert_status 4
	assert_count 1            # cache_failures from the top
	sleep 2.2
	pk run -j j
	assert_count 2            # ttl from the top
}

@test "a job ignores stdin unless it says otherwise" {
	conf "$UCONF" <<'EOF'
jobs:
  cat:
    command: [sh, -c, 'echo x >>"$TMP/count"; cat']
  catin:
    command: [sh, -c, 'echo x >>"$TMP/count"; cat']
    stdin: always
EOF
	pk_in <(printf one) run -j cat
	assert_out 'one'
	pk_in <(printf two) run -j cat
	assert_out 'one'
	assert_count 1
	pk_in <(printf one) run -j catin
	pk_in <(printf two) run -j catin
	assert_out 'two'
	assert_count 3
}

@test "a job's inputs, outputs, key, tags and cwd are used" {
	conf "$UCONF" <<'EOF'
jobs:
  build:
    command: [sh, -c, 'echo x >>"$TMP/count"; cat in.txt >out.txt']
    inputs: [in.txt]
    outputs: [out.txt]
    key: v1
    tags: [builds]
    cwd: true
EOF
	echo one >in.txt
	pk run -j build
	rm out.txt
	pk run -j build
	assert_count 1
	[ "$(cat out.txt)" = one ]      # restored from the entry
	echo two >in.txt
	pk run -j build
	assert_count 2
	[ "$(cat out.txt)" = two ]
	pk run -j build -k v2
	assert_count 3                  # -k replaces the job's key
	mkdir sub && cp in.txt sub && cd sub
	pk run -j build
	assert_count 4                  # another directory, another key
	pk ls --tag builds
	[ "$(wc -l <"$TMP/io/out")" -ge 1 ]
}

@test "run -j with an unknown job exits 125 and suggests a close name" {
	conf "$UCONF" <<'EOF'
jobs:
  nightly-report:
    command: [true]
EOF
	pk run -j nightly-reprt
	assert_status 125
	assert_err "pickled: no job named 'nightly-reprt' (did you mean 'nightly-report'?)\n"
	pk run -j zzz
	assert_status 125
	assert_err "pickled: no job named 'zzz'\n"
}

@test "run without a program and without -j is still a usage error" {
	pk run --ttl 1h
	assert_status 125
	assert_err "pickled: no command given\nTry 'pickled run --help' for more information.\n"
}

@test "a job with a sound command in a broken configuration runs uncached" {
	conf "$UCONF" <<'EOF'
jobs:
  j:
    command: [sh, -c, 'echo x >>"$TMP/count"; echo ran']
    ttl: forever-ish
EOF
	pk run -j j
	assert_status 0
	assert_out 'ran\n'
	assert_err '%s\n' \
		"pickled: $UCONF:4:10: invalid duration for jobs.j.ttl: 'forever-ish'" \
		"pickled: running uncached: the configuration has errors"
	refute has_entries
}

@test "PICKLED_DISABLE=1 runs a job directly" {
	conf "$UCONF" <<'EOF'
jobs:
  j:
    command: [sh, -c, 'echo x >>"$TMP/count"; echo ran']
EOF
	PICKLED_DISABLE=1 pk run -j j
	PICKLED_DISABLE=1 pk run -j j
	assert_out 'ran\n'
	assert_count 2
	refute has_entries
	# nothing is written to the cache folder, not even the parsed copy
	mkdir -m 700 "$PICKLED_CACHE_DIR"
	PICKLED_DISABLE=1 pk run -j j
	assert_out 'ran\n'
	assert_err ''
	[ -z "$(ls -A "$PICKLED_CACHE_DIR")" ]
}

# --- pickled jobs -------------------------------------------------------------

@test "jobs lists each job as none, then fresh, stale and expired" {
	conf "$UCONF" <<'EOF'
jobs:
  quick:
    command: [sh, -c, 'echo x >>"$TMP/count"']
    ttl: 8s
    stale: 4s
  never-run:
    command: [echo, "two words"]
EOF
	pk jobs
	assert_status 0
	assert_err ''
	assert_out '%s\n' \
		"NAME       STATE    AGE  TTL  STALE IN  EXPIRES IN  LAST RUN  DECISION  STATUS  COMMAND" \
		"quick      none     -    8s   -         -           -         -         -       sh -c 'echo x >>\"\$TMP/count\"'" \
		"never-run  none     -    1d   -         -           -         -         -       echo 'two words'"
	pk run -j quick
	# Windows of 4 s: wide enough for a slow run under valgrind.
	pk jobs
	assert_status 0
	awk '{print $1, $2}' "$TMP/io/out" >"$TMP/states"
	assert_bytes "$TMP/states" '%s\n' "NAME STATE" "quick fresh" "never-run none"
	assert_match "$TMP/io/out" '^(NAME       STATE    AGE +TTL  STALE IN  EXPIRES IN  LAST RUN +DECISION  STATUS  COMMAND|quick      fresh    [0-9][0-9a-z]* +8s   [0-9][0-9a-z]* +[0-9][0-9a-z]* +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}  miss      0       sh -c .*|never-run  none     - +1d   -         -           - +-         -       echo .two words.)$'
	sleep 4.2
	pk jobs quick
	awk '{print $1, $2}' "$TMP/io/out" >"$TMP/states"
	assert_bytes "$TMP/states" '%s\n' "NAME STATE" "quick stale"
	sleep 4
	pk jobs quick
	awk '{print $1, $2}' "$TMP/io/out" >"$TMP/states"
	assert_bytes "$TMP/states" '%s\n' "NAME STATE" "quick expired"
	# The age is at least the 8.2 s slept; a slow run (valgrind) adds to it.
	awk 'NR == 2 { print $3 }' "$TMP/io/out" | grep -Eqx '([89]|[1-5][0-9])s'
	assert_count 1
}

@test "jobs computes the key as run -j does: inputs count" {
	conf "$UCONF" <<'EOF'
jobs:
  j:
    command: [cat, in.txt]
    inputs: [in.txt]
EOF
	echo one >in.txt
	pk run -j j
	pk jobs
	awk 'NR == 2 {print $2}' "$TMP/io/out" >"$TMP/state"
	assert_bytes "$TMP/state" 'fresh\n'
	echo two >in.txt
	pk jobs
	awk 'NR == 2 {print $2}' "$TMP/io/out" >"$TMP/state"
	assert_bytes "$TMP/state" 'none\n'
}

@test "jobs with a missing program warns and shows none" {
	conf "$UCONF" <<'EOF'
jobs:
  gone:
    command: [/nonexistent/prog]
EOF
	pk jobs
	assert_status 0
	assert_out '%s\n' "NAME  STATE    AGE  TTL  STALE IN  EXPIRES IN  LAST RUN  DECISION  STATUS  COMMAND" \
		"gone  none     -    1d   -         -           -         -         -       /nonexistent/prog"
	assert_err "pickled: job gone: /nonexistent/prog: command not found\n"
}

@test "jobs NAME with an unknown name exits 1; no jobs prints nothing" {
	pk jobs
	assert_status 0
	assert_out ''
	assert_err ''
	conf "$UCONF" <<'EOF'
jobs:
  report:
    command: [true]
EOF
	pk jobs reprot
	assert_status 1
	assert_out ''
	assert_err "pickled: no job named 'reprot' (did you mean 'report'?)\n"
}

@test "jobs with a broken configuration prints the errors and exits 1" {
	printf 'jobs:\n  a:\n    command: [true]\n    ttl: x\n' | conf "$UCONF"
	pk jobs
	assert_status 1
	assert_out ''
	assert_err "pickled: $UCONF:4:10: invalid duration for jobs.a.ttl: 'x'\n"
}

# --- the parsed copy of the configuration (DIR/config-HASH.cache) -------------

# copies: the parsed copies in the cache folder, one name per line.
copies() {
	find "$PICKLED_CACHE_DIR" -maxdepth 1 -name 'config-*' -printf '%f\n' 2>/dev/null | sort
}

# one_copy: the path of the only parsed copy, else fails.
one_copy() {
	local c
	c=$(copies)
	if [ -z "$c" ] || [ "$(printf '%s\n' "$c" | wc -l)" != 1 ]; then
		echo "expected one parsed copy in $PICKLED_CACHE_DIR, found: ${c:-none}" >&2
		return 1
	fi
	printf '%s\n' "$PICKLED_CACHE_DIR/$c"
}

@test "a configuration is kept parsed in the cache folder, one copy per chain of files" {
	printf 'ttl: 1h\n' | conf "$TMP/a.conf"
	printf 'ttl: 2h\n' | conf "$TMP/b.conf"
	mkdir -p "$PICKLED_CACHE_DIR"
	PICKLED_CONFIG=$TMP/a.conf pk run -- echo hi
	assert_status 0
	assert_out 'hi\n'
	assert_err ''
	copy=$(one_copy)
	[ "$(stat -c '%a %u %F' "$copy")" = "600 $(id -u) regular file" ]
	PICKLED_CONFIG=$TMP/b.conf pk run -- echo hi
	assert_status 0
	assert_err ''
	[ "$(copies | wc -l)" = 2 ]
	# each chain keeps reading its own
	PICKLED_CONFIG=$TMP/a.conf pk run -- sh -c "$CNT; echo a"
	PICKLED_CONFIG=$TMP/b.conf pk run -- sh -c "$CNT; echo b"
	assert_count 2
	pk ls --json
	assert_status 0
	grep -q '"ttl_ms":3600000' "$TMP/io/out"
	grep -q '"ttl_ms":7200000' "$TMP/io/out"
}

@test "a run opens the parsed copy; pickled config does not" {
	command -v strace >/dev/null || skip "strace is not installed"
	printf 'env: [AAA]\n' | conf "$TMP/a.conf"
	export PICKLED_CONFIG=$TMP/a.conf
	mkdir -p "$PICKLED_CACHE_DIR"
	pk key -- true
	assert_status 0
	copy=$(one_copy)
	# LeakSanitizer cannot run under ptrace (an ASan build of pickled)
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	strace -f -e trace=open,openat -o "$TMP/trace" "$PK" key -- true >"$TMP/io/out2" 2>"$TMP/io/err"
	assert_err ''
	assert_same "$TMP/io/out" "$TMP/io/out2"
	grep -qF "\"$copy\"" "$TMP/trace"
	strace -f -e trace=open,openat -o "$TMP/trace" "$PK" config >/dev/null 2>"$TMP/io/err"
	assert_err ''
	grep -qF "\"$TMP/a.conf\"" "$TMP/trace"
	refute grep -qF "\"$copy\"" "$TMP/trace"
}

@test "an edit that keeps the size and the times is read at once" {
	printf 'env: [AAA]\n' | conf "$TMP/a.conf"
	export PICKLED_CONFIG=$TMP/a.conf
	mkdir -p "$PICKLED_CACHE_DIR"
	pk key -- true
	assert_status 0
	one_copy >/dev/null
	cp "$TMP/io/out" "$TMP/key.aaa"
	mtime=$(stat -c %y "$TMP/a.conf")
	printf 'env: [BBB]\n' >"$TMP/a.conf"   # in place: same inode, same size
	touch -d "$mtime" "$TMP/a.conf"
	pk key -- true
	assert_status 0
	assert_err ''
	cp "$TMP/io/out" "$TMP/key.bbb"
	refute cmp -s "$TMP/key.aaa" "$TMP/key.bbb"
	# the same as parsing without any copy
	PICKLED_CACHE_DIR=$TMP/other pk key -- true
	assert_status 0
	assert_same "$TMP/key.bbb" "$TMP/io/out"
	# the edit is kept, and reads back the same
	pk key -- true
	assert_same "$TMP/key.bbb" "$TMP/io/out"
}

@test "a damaged parsed copy is ignored, silently, and written again" {
	printf 'env: [AAA]\nttl: 1h\n' | conf "$TMP/a.conf"
	export PICKLED_CONFIG=$TMP/a.conf
	mkdir -p "$PICKLED_CACHE_DIR"
	pk key -- true
	copy=$(one_copy)
	cp "$copy" "$TMP/good"
	cp "$TMP/io/out" "$TMP/key"
	printf 'XXXX' | dd of="$copy" bs=1 seek=40 conv=notrunc status=none
	refute cmp -s "$TMP/good" "$copy"
	pk key -- true
	assert_status 0
	assert_err ''
	assert_same "$TMP/key" "$TMP/io/out"
	assert_same "$TMP/good" "$copy"
	head -c 30 "$TMP/good" >"$copy"
	pk key -- true
	assert_status 0
	assert_err ''
	assert_same "$TMP/key" "$TMP/io/out"
	assert_same "$TMP/good" "$copy"
}

@test "a parsed copy not the user's own, or not a regular file, is not read" {
	printf 'ttl: 1h\n' | conf "$TMP/a.conf"
	export PICKLED_CONFIG=$TMP/a.conf
	mkdir -p "$PICKLED_CACHE_DIR"
	pk run -- echo hi
	copy=$(one_copy)
	cp "$copy" "$TMP/good"
	# Each is refused and replaced by a sound copy; the run is unaffected.
	chmod 620 "$copy"
	pk run -- echo hi
	assert_status 0
	assert_out 'hi\n'
	assert_err ''
	[ "$(stat -c %a "$copy")" = 600 ]
	if [ "$(id -u)" = 0 ]; then
		chown nobody "$copy"
		pk run -- echo hi
		assert_err ''
		[ "$(stat -c %u "$copy")" = 0 ]
	fi
	mv "$copy" "$TMP/elsewhere"
	ln -s "$TMP/elsewhere" "$copy"
	pk run -- echo hi
	assert_err ''
	[ -f "$copy" ] && [ ! -L "$copy" ]
	assert_same "$TMP/good" "$TMP/elsewhere"
	rm "$copy"
	mkfifo "$copy"
	timeout 10 "$PK" run -- echo hi >"$TMP/io/out" 2>"$TMP/io/err"
	assert_out 'hi\n'
	assert_err ''
	[ -f "$copy" ] && [ ! -p "$copy" ]
	assert_same "$TMP/good" "$copy"
}

@test "a configuration with errors is never kept: each run reports them" {
	printf 'ttl: bad\n' | conf "$TMP/a.conf"
	export PICKLED_CONFIG=$TMP/a.conf
	mkdir -p "$PICKLED_CACHE_DIR"
	for _ in 1 2; do
		pk run -- echo hi
		assert_status 0
		assert_out 'hi\n'
		assert_err '%s\n' "pickled: $TMP/a.conf:1:6: invalid duration for ttl: 'bad'" \
			"pickled: running uncached: the configuration has errors"
	done
	[ -z "$(copies)" ]
}

@test "no configuration file: nothing to keep; -C names the copies' folder" {
	no_system
	unset PICKLED_CONFIG
	mkdir -p "$PICKLED_CACHE_DIR" "$TMP/other"
	pk run -- echo hi
	assert_status 0
	assert_err ''
	[ -z "$(copies)" ]
	printf 'ttl: 1h\n' | conf "$UCONF"
	pk -C "$TMP/other" run -- echo hi
	assert_status 0
	assert_err ''
	[ -z "$(copies)" ]
	PICKLED_CACHE_DIR=$TMP/other one_copy >/dev/null
}

@test "a parsed copy is not used under another HOME, which ~/ in a path expands to" {
	unset PICKLED_CACHE_DIR
	export XDG_CACHE_HOME=$TMP/xdg-cache
	printf 'cache_dir: ~/c\n' | conf "$TMP/a.conf"
	export PICKLED_CONFIG=$TMP/a.conf
	mkdir -p "$TMP/h1" "$TMP/h2" "$XDG_CACHE_HOME/pickled"
	chmod 700 "$XDG_CACHE_HOME/pickled"
	HOME=$TMP/h1 pk run -- echo hi
	assert_status 0
	assert_err ''
	HOME=$TMP/h1 pk run -- echo hi
	PICKLED_CACHE_DIR=$XDG_CACHE_HOME/pickled one_copy >/dev/null
	has_entries "$TMP/h1/c"
	HOME=$TMP/h2 pk run -- echo hi
	assert_status 0
	assert_out 'hi\n'
	assert_err ''
	has_entries "$TMP/h2/c"
}

@test "no folder is created for the parsed copy" {
	unset PICKLED_CACHE_DIR
	export XDG_CACHE_HOME=$TMP/xdg-cache
	printf 'cache_dir: %s\n' "$TMP/elsewhere" | conf "$TMP/a.conf"
	export PICKLED_CONFIG=$TMP/a.conf
	pk ls
	assert_status 1
	assert_err 'pickled: no cache at %s\n' "$TMP/elsewhere"
	[ ! -e "$TMP/elsewhere" ]
	pk run -- echo hi
	assert_status 0
	assert_out 'hi\n'
	assert_err ''
	has_entries "$TMP/elsewhere"
	[ ! -e "$XDG_CACHE_HOME" ]
	# Once the default folder exists (a run without cache_dir made it),
	# the copy is kept there.
	mkdir -p "$XDG_CACHE_HOME/pickled"
	chmod 700 "$XDG_CACHE_HOME/pickled"
	pk run -- echo hi
	PICKLED_CACHE_DIR=$XDG_CACHE_HOME/pickled one_copy >/dev/null
}

@test "a user configuration folder that cannot be searched or is a file counts as no file" {
	[ "$(id -u)" = 0 ] || skip "needs root to change users"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	no_system
	cp "$PK" "$TMP/pickled"
	chmod 0755 "$TMP" "$TMP/pickled"
	# Another user's HOME, as a job run as nobody with HOME=/root has.
	mkdir -m 0700 "$TMP/roothome"
	mkdir -p "$TMP/roothome/.config/pickled"
	printf 'ttl: 1s\n' >"$TMP/roothome/.config/pickled/pickled.conf"
	mkdir -m 0755 "$TMP/nc"
	chown nobody "$TMP/nc"   # the cache's parent must be nobody's or root's, not open to all
	: >"$TMP/count"
	chmod 0666 "$TMP/count"
	local i
	for i in 1 2; do
		pk_as_nobody -u XDG_CONFIG_HOME HOME="$TMP/roothome" PICKLED_CACHE_DIR="$TMP/nc/c" -- \
			run sh -c "$CNT; echo hi"
		assert_status 0
		assert_out 'hi\n'
		assert_err ''
	done
	# Cached: the second run was a hit.
	assert_count 1
	# A file where a folder should be.
	XDG_CONFIG_HOME=/etc/passwd pk run echo hi
	assert_status 0
	assert_out 'hi\n'
	assert_err ''
	# A file there that the user may not read is still reported.
	mkdir -m 0755 "$TMP/nh"
	mkdir -p "$TMP/nh/.config/pickled"
	chmod -R 0755 "$TMP/nh"
	printf 'ttl: 1s\n' >"$TMP/nh/.config/pickled/pickled.conf"
	chmod 0000 "$TMP/nh/.config/pickled/pickled.conf"
	chown nobody "$TMP/nh/.config/pickled/pickled.conf"
	pk_as_nobody -u XDG_CONFIG_HOME HOME="$TMP/nh" PICKLED_CACHE_DIR="$TMP/nc/c" -- run echo hi
	assert_status 0
	assert_out 'hi\n'
	assert_err '%s\n' \
		"pickled: cannot open configuration file: $TMP/nh/.config/pickled/pickled.conf: Permission denied" \
		"pickled: running uncached: the configuration has errors"
}

@test "a parsed copy is not used once the user may no longer read the file" {
	[ "$(id -u)" = 0 ] || skip "needs root to change users and groups"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	cp "$PK" "$TMP/pickled"
	chmod 0755 "$TMP" "$TMP/pickled"
	printf 'jobs:\n  j:\n    command: [echo, from-the-job]\n' >"$TMP/sys.conf"
	chown 0:4242 "$TMP/sys.conf"
	chmod 0640 "$TMP/sys.conf"
	mkdir -m 0700 "$TMP/nc"
	chown nobody "$TMP/nc"
	# In group 4242: the job runs, and its copy is kept.
	status=0
	setpriv --reuid=nobody --regid=nogroup --groups=4242 env HOME=/nonexistent \
		"$TMP/pickled" -C "$TMP/nc" -c "$TMP/sys.conf" run -j j \
		</dev/null >"$TMP/io/out" 2>"$TMP/io/err" || status=$?
	assert_status 0
	assert_out 'from-the-job\n'
	assert_err ''
	PICKLED_CACHE_DIR=$TMP/nc one_copy >/dev/null
	# Out of the group: the file cannot be read, so there is no job.
	status=0
	setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/nonexistent \
		"$TMP/pickled" -C "$TMP/nc" -c "$TMP/sys.conf" run -j j \
		</dev/null >"$TMP/io/out" 2>"$TMP/io/err" || status=$?
	assert_status 125
	assert_out ''
	assert_err '%s\n' \
		"pickled: cannot open configuration file: $TMP/sys.conf: Permission denied" \
		"pickled: no job named 'j'"
}
