#!/usr/bin/env bats
# trace.bats: lib/trace against real programs, through tests/trace/trace-run
# (lib/capture with a tracer, as pickled run --trace runs a command).  Each
# test asserts the exact records of the paths under its own folder.

bats_require_minimum_version 1.5.0

setup_file() {
	export BIN="$BATS_FILE_TMPDIR/bin"
	mkdir -p "$BIN"
	chmod 755 "$BATS_FILE_TMPDIR" "$BIN"
	local p
	for p in threads fsops net uring int80 x32 spawn many euid procfd; do
		cc -O2 -o "$BIN/$p" "$BATS_TEST_DIRNAME/progs/$p.c" -lpthread
	done
	cc -O2 -o "$BIN/deny" "$BATS_TEST_DIRNAME/progs/deny.c" $(pkg-config --libs libseccomp)
	cc -static -O2 -o "$BIN/static" "$BATS_TEST_DIRNAME/progs/static.c"
}

setup() {
	D=$(mktemp -d /tmp/pickled-trace.XXXXXX)
	chmod 755 "$D"
	cd "$D"
}

teardown() {
	cd /
	rm -rf "$D"
}

# trace [trace-run options] -- COMMAND...: the report goes to $D/report.
trace() {
	"$TRACE_RUN" -o "$D/report" "$@"
}

# mine: the report's records of paths under $D.
mine() {
	grep "^$D[/	]" "$D/report"
}

# flagged PATH FLAG: PATH's record in the report has FLAG (among others).
flagged() {
	awk -F '\t' -v p="$1" -v f="$2" '$1 == p { n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == f) ok = 1 } END { exit !ok }' "$D/report"
}

# state: the report's state, why (process numbers as N) and status lines.
state() {
	grep -E '^(state|why|status|nnp|peer):' "$D/report" | sed -E 's/process [0-9]+/process N/'
}

@test "a command's records: relative, dirfd, chdir, fchdir, listing, rename, links, truncate, order" {
	echo in >in; echo in2 >in2; echo rw >rw; echo 3 >in3
	trace -- "$BIN/fsops" "$D"
	diff -u - <(mine) <<-EOF
	$D	chdir	exists	read
	$D/in	read	exists	read
	$D/d	read,list,chdir,mkdir,directory	absent	write<read
	$D/d/f	write,create,rename-from	absent	write
	$D/d/g	read,stat,rename-to,lookup	absent	write<read
	$D/d/l	lstat,readlink,link-to	absent	write<read
	$D/d/h	unlink,link-to	absent	write
	$D/in2	write,trunc	exists	write
	$D/rw	read,write,create,trunc	exists	read<write
	$D/wr	read,write,create,trunc	absent	write<read
	$D/nope	stat	absent	read
	$D/d/../in	stat	exists	read
	$D/in3	read	exists	read
	EOF
	diff -u - <(state) <<-EOF
	state: complete
	nnp: 0
	status: 0
	EOF
}

@test "threads: files opened from eight threads are all recorded" {
	for i in 0 1 2 3 4 5 6 7; do echo $i >t$i; done
	trace -- "$BIN/threads" "$D"
	diff -u - <(mine | sort) <<-EOF
	$D/t0	read	exists	read
	$D/t1	read	exists	read
	$D/t2	read	exists	read
	$D/t3	read	exists	read
	$D/t4	read	exists	read
	$D/t5	read	exists	read
	$D/t6	read	exists	read
	$D/t7	read	exists	read
	EOF
	[ "$(state | head -1)" = "state: complete" ]
}

@test "a static binary is traced from its exec" {
	echo in >in
	trace -- "$BIN/static" "$D"
	diff -u - <(grep -v "^/tmp/pickled-trace\.[^/]*/report" "$D/report") <<-EOF
	$BIN/static	exec	exists	read
	$D/in	read	exists	read
	$D/missing	stat	absent	read
	$D/out	write,create,trunc	absent	write
	state: complete
	nnp: 0
	status: 0
	EOF
}

@test "posix_spawn and vfork children are followed" {
	echo a >spawned; echo b >vforked; touch after
	run "$TRACE_RUN" -o "$D/report" -c -- "$BIN/spawn" "$D" /bin/cat
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'a\nb')" ]
	diff -u - <(mine) <<-EOF
	$D/spawned	read	exists	read
	$D/vforked	read	exists	read
	$D/after	read	exists	read
	EOF
	grep -qx 'processes: 3' report
	grep -qx 'state: complete' report
}

@test "a shell pipeline and xargs -P4: every child is traced" {
	printf 'b\na\n' >a
	for i in 1 2 3 4; do echo $i >x$i; done
	run "$TRACE_RUN" -o "$D/report" -- sh -c \
		"cat $D/a | sort >$D/out; wc -l <$D/out; printf '%s\n' $D/x1 $D/x2 $D/x3 $D/x4 | xargs -P4 -n1 cat >/dev/null"
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	diff -u - <(mine | LC_ALL=C sort) <<-EOF
	$D	stat	exists	read
	$D/a	read	exists	read
	$D/out	read,write,create,trunc	absent	write<read
	$D/x1	read	exists	read
	$D/x2	read	exists	read
	$D/x3	read	exists	read
	$D/x4	read	exists	read
	EOF
	grep -qx 'state: complete' report
}

@test "io_uring_setup fails with ENOSYS inside a traced run" {
	run trace -- "$BIN/uring"
	[ "$status" -eq 0 ]
	[ "$output" = "io_uring_setup: ENOSYS" ]
	grep -qx 'state: complete' report
}

@test "a 32-bit system call (int 0x80) makes the run incomplete; the command still runs" {
	# A kernel without IA-32 emulation (ia32_emulation=0) kills the
	# process at int 0x80 (SIGSEGV): no system call is made to be missed.
	[ "$("$BIN/int80" 2>/dev/null)" = "int 0x80: ran" ] ||
		skip "this kernel runs no 32-bit system calls"
	run trace -- "$BIN/int80"
	[ "$status" -eq 0 ]
	[ "$output" = "int 0x80: ran" ]
	diff -u - <(state) <<-EOF
	state: incomplete
	why: a 32-bit system call (int 0x80) in process N
	nnp: 0
	status: 0
	EOF
}

@test "an x32 system call makes the run incomplete" {
	run trace -- "$BIN/x32"
	[ "$status" -eq 0 ]
	diff -u - <(state) <<-EOF
	state: incomplete
	why: an x32 system call in process N
	nnp: 0
	status: 0
	EOF
}

# LeakSanitizer (in the ASan build) stops the process with ptrace at exit,
# which a process under strace or without ptrace cannot: off for those.
no_lsan() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$@"
}

@test "under strace -f: the command runs untraced, whole, and the report says why" {
	echo hello >a
	run no_lsan strace -f -o /dev/null "$TRACE_RUN" -o "$D/report" -- sh -c "cat $D/a; exit 4"
	[ "$status" -eq 4 ]
	[ "$output" = hello ]
	diff -u - <(state | sed 's/(strace)$/(S)/') <<-EOF
	state: untraced
	why: already traced by process N (S)
	nnp: 0
	status: 4
	EOF
	[ -z "$(mine)" ]
}

@test "ptrace refused (a container's profile): the command runs untraced" {
	echo hello >a
	run no_lsan "$BIN/deny" ptrace "$TRACE_RUN" -o "$D/report" -- cat "$D/a"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	diff -u - <(state) <<-EOF
	state: untraced
	why: cannot trace: ptrace: Operation not permitted
	nnp: 0
	status: 0
	EOF
}

@test "seccomp unavailable: the command runs untraced" {
	echo hello >a
	run "$BIN/deny" seccomp "$TRACE_RUN" -o "$D/report" -- cat "$D/a"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	diff -u - <(state) <<-EOF
	state: untraced
	why: cannot trace: seccomp: Invalid argument
	nnp: 0
	status: 0
	EOF
}

@test "seccomp(2) unknown (as under valgrind): the filter goes in through prctl(2), traced" {
	echo hello >a
	run "$BIN/deny" seccomp-enosys "$TRACE_RUN" -o "$D/report" -- cat "$D/a"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	diff -u - <(mine) <<-EOF
	$D/a	read	exists	read
	EOF
	grep -qx 'state: complete' report
}

@test "as nobody: traced with no_new_privs" {
	echo hello >a
	chmod 777 "$D"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$TRACE_RUN" -o "$D/report" -- cat "$D/a"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	diff -u - <(mine) <<-EOF
	$D/a	read	exists	read
	EOF
	diff -u - <(state) <<-EOF
	state: complete
	nnp: 1
	status: 0
	EOF
}

@test "as root: no no_new_privs, so a setuid program in the job keeps its privileges" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	cp "$BIN/euid" "$D/euid"
	chmod 4755 "$D/euid"
	run trace -- setpriv --reuid=nobody --regid=nogroup --clear-groups "$D/euid"
	[ "$status" -eq 0 ]
	[ "$output" = "euid 0" ]
	grep -qx 'nnp: 0' report
	grep -qx 'state: complete' report
}

@test "Python importing a local module: the module's path is recorded" {
	echo 'VALUE = 42' >mymod.py
	printf 'import mymod\nprint(mymod.VALUE)\n' >main.py
	PYTHONDONTWRITEBYTECODE=1 run trace -- python3 "$D/main.py"
	[ "$status" -eq 0 ]
	[ "$output" = 42 ]
	flagged "$D/main.py" read
	flagged "$D/mymod.py" read
	[ "$(awk -F '\t' -v p="$D/mymod.py" '$1 == p { print $3 "\t" $4 }' report)" = "$(printf 'exists\tread')" ]
	grep -qx 'state: complete' report
}

@test "network: connects to peers other than loopback and Unix sockets are listed once" {
	[ -e /proc/net/if_inet6 ] || skip "no IPv6"
	trace -- "$BIN/net"
	diff -u - <(state) <<-EOF
	state: complete
	nnp: 0
	peer: 192.0.2.1:9
	peer: [2001:db8::1]:53
	status: 0
	EOF
}

@test "the command's exit code and death by signal come through the tracer" {
	run trace -- sh -c 'exit 3'
	[ "$status" -eq 3 ]
	grep -qx 'status: 3' report
	run trace -- sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	grep -qx 'status: 143' report
}

@test "a stop signal sent to pickled reaches the traced command" {
	"$TRACE_RUN" -o "$D/report" -- sh -c "echo started >$D/flag; exec sleep 60" &
	pid=$!
	for _ in $(seq 100); do [ -s flag ] && break; sleep 0.1; done
	kill -TERM "$pid"
	wait "$pid" || st=$?
	[ "$st" -eq 143 ]
	grep -qx 'status: 143' report
}

@test "a program that cannot be executed: 127 and its lookup recorded" {
	run -127 trace -- "$D/nothere"
	diff -u - <(mine) <<-EOF
	$D/nothere	exec	absent	read
	EOF
}

@test "a #! script: the script and its interpreter are recorded as executed" {
	echo hello >a
	printf '#!/bin/sh\ncat %s/a\n' "$D" >s.sh
	chmod +x s.sh
	run trace -- "$D/s.sh"
	[ "$output" = hello ]
	flagged "$D/s.sh" exec
	flagged "$D/s.sh" read
	flagged "$(readlink -f /bin/sh)" exec
}

@test "/proc, /sys and /dev are not recorded" {
	trace -- sh -c 'cat /proc/self/status /sys/kernel/mm/transparent_hugepage/enabled >/dev/null 2>&1; : </dev/null'
	! grep -E '^/(proc|sys|dev)(/|	)' report
}

@test "records are kept once per path: a million-call loop over 10 paths stays small" {
	trace -c -- "$BIN/many" 200000 "$D" 10
	[ "$(mine | wc -l)" -eq 10 ]
	grep -qx 'state: complete' report
	[ "$(sed -n 's/^calls: //p' report)" -ge 200000 ]
}

@test "past the record bound: the run is incomplete, the command still ends well" {
	run trace -m 100000 -- "$BIN/many" 5000 "$D"
	[ "$status" -eq 0 ]
	diff -u - <(state) <<-EOF
	state: incomplete
	why: the tree looked at more paths than 97 KiB of records hold
	nnp: 0
	status: 0
	EOF
}

@test "fast path: the preloaded shim records exactly what the stops record" {
	mkdir fast slow
	for w in fast slow; do echo in >$w/in; echo in2 >$w/in2; echo rw >$w/rw; echo 3 >$w/in3; done
	"$TRACE_RUN" -o "$D/fast.rep" -- "$BIN/fsops" "$D/fast"
	"$TRACE_RUN" -S -o "$D/slow.rep" -- "$BIN/fsops" "$D/slow"
	diff -u <(grep "^$D/slow[/	]" slow.rep | sed "s|^$D/slow|W|") \
		<(grep "^$D/fast[/	]" fast.rep | sed "s|^$D/fast|W|")
	[ "$(grep -c . <(grep "^$D/slow[/	]" slow.rep))" -eq 13 ]
}

@test "fast path: a dynamic program's 100,000 stat calls stop the tree a handful of times" {
	touch n0
	trace -c -- "$BIN/many" 100000 "$D" 1
	[ "$(sed -n 's/^calls: //p' report)" -ge 100000 ]
	[ "$(sed -n 's/^stops: //p' report)" -lt 100 ]
	diff -u - <(mine) <<-EOF
	$D/n0	stat	exists	read
	EOF
	trace -S -c -- "$BIN/many" 2000 "$D" 1
	[ "$(sed -n 's/^stops: //p' report)" -ge 2000 ]
}

@test "fast path: a static binary, or a process started with env -i, goes the slow way, fully recorded" {
	echo in >in
	trace -c -- "$BIN/static" "$D"
	[ "$(sed -n 's/^stops: //p' report)" -ge 4 ]
	grep -qxF "$D/missing	stat	absent	read" report
	touch n0
	trace -c -- sh -c "env -i $BIN/many 2000 $D 1"
	[ "$(sed -n 's/^stops: //p' report)" -ge 2000 ]
	grep -qxF "$D/n0	stat	exists	read" report
}

@test "fast path: its folder is not recorded and is gone after the run" {
	mkdir tmp
	echo hello >a
	TMPDIR=$D/tmp run "$TRACE_RUN" -o "$D/report" -- cat "$D/a"
	[ "$output" = hello ]
	[ -z "$(ls -A tmp)" ]
	! grep -F "$D/tmp" report
	diff -u - <(mine) <<-EOF
	$D/a	read	exists	read
	EOF
}

@test "a file opened with O_PATH and read through /proc/self/fd is recorded as read, both ways" {
	echo secret >sec
	for o in "" -S; do
		run "$TRACE_RUN" $o -o "$D/report" -- "$BIN/procfd" "$D/sec"
		[ "$output" = "read 7" ]
		diff -u - <(mine) <<-EOF
		$D/sec	read,lookup	exists	read
		EOF
	done
}
