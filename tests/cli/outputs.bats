#!/usr/bin/env bats
# outputs.bats: declared output files (-o) on a hit: left alone when they
# already hold the result, restored through temporaries nobody sees until
# the entry's checksum holds, into folders made again when deleted.

load helper

# killwrite: builds tests/killwrite.c, an LD_PRELOAD library that kills
# pickled with SIGKILL at its first write to a file under PK_TEST_KILL_DIR.
killwrite() {
	cc -shared -fPIC -o "$TMP/killwrite.so" "$BATS_TEST_DIRNAME/../killwrite.c" -ldl ||
		skip "cannot build killwrite.c"
}

# inode_mtime FILE: its inode and modification time to the nanosecond.
inode_mtime() {
	stat -c '%i %.9Y' "$1"
}

@test "a hit leaves an output that still holds the stored content alone" {
	local cmd="$CNT"'; printf "model\n" >out.bin; echo done'
	pk run -o out.bin sh -c "$cmd"
	assert_out 'done\n'
	local before
	before=$(inode_mtime out.bin)
	pk run -o out.bin sh -c "$cmd"
	assert_status 0
	assert_out 'done\n'
	assert_err ''
	assert_count 1
	assert_bytes out.bin 'model\n'
	[ "$(inode_mtime out.bin)" = "$before" ]
	# The same size, another content: restored.
	printf 'MODEL\n' >out.bin
	pk run -o out.bin sh -c "$cmd"
	assert_count 1
	assert_bytes out.bin 'model\n'
	[ "$(inode_mtime out.bin)" != "$before" ]
}

@test "a hit restores into a folder the user deleted, making it again" {
	local cmd="$CNT"'; mkdir -p data/step1; printf "rows\n" >data/step1/out.csv; echo done'
	pk run -o data/step1/out.csv sh -c "$cmd"
	assert_out 'done\n'
	rm -r data
	(umask 027 && pk run -o data/step1/out.csv sh -c "$cmd")
	assert_status 0
	assert_out 'done\n'
	assert_err ''
	assert_count 1
	assert_bytes data/step1/out.csv 'rows\n'
	[ "$(stat -c %a data data/step1)" = "$(printf '750\n750')" ]
	# An absolute path too.
	rm -r data
	pk run -o "$TMP/wd/data/step1/out.csv" sh -c "$cmd"
	assert_status 0
	assert_count 2
	rm -r data
	pk run -o "$TMP/wd/data/step1/out.csv" sh -c "$cmd"
	assert_status 0
	assert_err ''
	assert_count 2
	assert_bytes data/step1/out.csv 'rows\n'
}

@test "kill -9 in the middle of a restore leaves no temporary, and the old file whole" {
	killwrite
	# A fault point inside pickled: the native binary in the valgrind lane.
	local native=$PK
	[ -z "${PK_VALGRIND_BIN_DIR:-}" ] || native=$PK_VALGRIND_BIN_DIR/pickled
	local cmd="$CNT"'; head -c 3000000 /dev/urandom >out.bin; echo done'
	pk run -o out.bin sh -c "$cmd"
	assert_out 'done\n'
	cp out.bin "$TMP/stored"
	# A new file: nothing at all appears.
	rm out.bin
	PK=$native LD_PRELOAD=$TMP/killwrite.so PK_TEST_KILL_DIR=$TMP/wd pk run -o out.bin sh -c "$cmd"
	assert_status 137
	[ -z "$(ls -A)" ]
	# An existing file: it stays as it was.
	printf 'old\n' >out.bin
	PK=$native LD_PRELOAD=$TMP/killwrite.so PK_TEST_KILL_DIR=$TMP/wd pk run -o out.bin sh -c "$cmd"
	assert_status 137
	[ "$(ls -A)" = out.bin ]
	assert_bytes out.bin 'old\n'
	# And the next hit restores it.
	pk run -o out.bin sh -c "$cmd"
	assert_status 0
	assert_out 'done\n'
	assert_count 1
	assert_same "$TMP/stored" out.bin
}

# rchar CMD...: runs CMD (stdin /dev/null, output discarded) and prints the
# bytes it read through system calls (/proc's rchar, which a parent gets
# its waited-for children's added to).
rchar() {
	bash -c '"$@" </dev/null >/dev/null 2>&1; awk "/^rchar:/ { print \$2 }" /proc/$$/io' rchar "$@"
}

@test "a hit reads a large entry once to restore its output file" {
	# Under valgrind, its own reads would count: the native binary.
	local native=$PK
	[ -z "${PK_VALGRIND_BIN_DIR:-}" ] || native=$PK_VALGRIND_BIN_DIR/pickled
	local cmd="$CNT"'; head -c 8000000 /dev/urandom >out.bin; echo done'
	pk run -o out.bin sh -c "$cmd"
	assert_out 'done\n'
	local size
	size=$(stat -c %s "$(entries)")
	rm out.bin
	local read
	read=$(rchar "$native" run -o out.bin sh -c "$cmd")
	assert_count 1
	[ -s out.bin ]
	# Once (and a little more: the program's own files), not twice.
	echo "read $read bytes for an entry of $size"
	[ "$read" -lt $((size + size / 4)) ]
}

@test "a damaged large entry publishes no output file, says so, and runs the command" {
	local cmd="$CNT"'; [ -e "$TMP/ran" ] || head -c 3000000 /dev/urandom >out.bin; touch "$TMP/ran"; echo done'
	pk run -o out.bin sh -c "$cmd"
	assert_out 'done\n'
	local entry key
	entry=$(entries)
	key=$(basename "$entry")
	printf '\377' | dd of="$entry" bs=1 seek=1500000 conv=notrunc status=none
	rm out.bin
	pk run -o out.bin sh -c "$cmd"
	assert_status 0
	assert_out 'done\n'
	assert_err 'pickled: corrupt cache entry %s (entry checksum mismatch), running the command\n' \
		"${key:0:12}"
	assert_count 2
	[ -z "$(ls -A)" ]
}

@test "runs with other keys writing the same -o file never store each other's file" {
	# ALPHA=1 writes model.pkl and waits for a go; ALPHA=5, started then,
	# must wait for it (the old code let it overwrite the file, which the
	# ALPHA=1 run then read back and stored as its own).
	local cmd="$CNT"'; printf "alpha=%s\n" "$ALPHA" >model.pkl
		if [ "$ALPHA" = 1 ]; then : >"$TMP/a-wrote"; i=0
			while [ ! -e "$TMP/go" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
		else : >"$TMP/b-wrote"; fi
		echo "trained $ALPHA"'
	ALPHA=1 "$PK" run --explain -e ALPHA -o model.pkl sh -c "$cmd" \
		</dev/null >"$TMP/io/a.out" 2>"$TMP/io/a.err" 3>&- &
	local a=$!
	poll 30 test -e "$TMP/a-wrote"
	ALPHA=5 "$PK" run --explain -e ALPHA -o model.pkl sh -c "$cmd" \
		</dev/null >"$TMP/io/b.out" 2>"$TMP/io/b.err" 3>&- &
	local b=$!
	# B waits for A's lock (or, on the old code, writes the file at once).
	poll 30 sh -c 'test -e "$TMP/b-wrote" || grep -q "^pickled: waiting for another run writing model.pkl$" "$TMP/io/b.err"'
	: >"$TMP/go"
	wait "$a"
	wait "$b"
	assert_bytes "$TMP/io/a.out" 'trained 1\n'
	assert_bytes "$TMP/io/b.out" 'trained 5\n'
	assert_count 2
	assert_bytes model.pkl 'alpha=5\n'
	# Each key's entry holds its own file.
	ALPHA=1 pk run -e ALPHA -o model.pkl sh -c "$cmd"
	assert_status 0
	assert_out 'trained 1\n'
	assert_err ''
	assert_bytes model.pkl 'alpha=1\n'
	ALPHA=5 pk run -e ALPHA -o model.pkl sh -c "$cmd"
	assert_out 'trained 5\n'
	assert_bytes model.pkl 'alpha=5\n'
	assert_count 2
}

@test "the same output file named from two folders is one lock; a run that cannot have it is not stored" {
	mkdir sub
	local cmd="$CNT"'; printf "%s\n" "$1" >"$2"; echo ran'
	# Another run holds the lock of wd/out.txt (a flock on its lock file).
	"$PK" run --explain --lock-timeout 0 -o out.txt sh -c 'exit 0' </dev/null >/dev/null 2>&1 || true
	local lock
	lock=$(ls "$PICKLED_CACHE_DIR/locks" | grep '^out-')
	[ "$(printf '%s\n' "$lock" | wc -l)" = 1 ]
	exec 5>>"$PICKLED_CACHE_DIR/locks/$lock"
	flock 5
	cd sub
	pk run --lock-timeout 0 -o ../out.txt sh -c "$cmd" sh a ../out.txt
	assert_status 0
	assert_out 'ran\n'
	assert_err 'pickled: result not stored: another run was writing ../out.txt past the lock timeout\n'
	[ -z "$(entries)" ]
	# A hit waits for it too, and then restores.
	exec 5>&-
	pk run -o ../out.txt sh -c "$cmd" sh a ../out.txt
	assert_count 2
	rm ../out.txt
	exec 5>>"$PICKLED_CACHE_DIR/locks/$lock"
	flock 5
	pk run --explain --lock-timeout 0 -o ../out.txt sh -c "$cmd" sh a ../out.txt
	exec 5>&-
	assert_out 'ran\n'
	assert_count 3
	grep -qx 'pickled: cannot restore output, running the command: another run was writing ../out.txt past the lock timeout' "$TMP/io/err"
}

# tree DIR: every path below DIR with its type, mode, size (files) and link
# text, sorted.
tree() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %s %l\n' | awk '$2 == "d" { $4 = "-" } 1' | sort)
}

# hit_holds_tree CMD: a hit of `run -o out/model sh -c CMD` leaves out/model
# holding the tree in $TMP/stored.
hit_holds_tree() {
	pk run -o out/model sh -c "$1"
	assert_status 0
	assert_out 'trained\n'
	assert_err ''
	assert_count 1
	tree out/model >"$TMP/got"
	assert_same "$TMP/stored" "$TMP/got"
}

@test "-o DIR: the whole tree is stored, and a hit leaves the folder holding exactly it" {
	local cmd="$CNT"'; rm -rf out/model; mkdir -p out/model/part=1 out/model/empty
		printf "a\n" >out/model/part=1/a.parquet; printf "bb\n" >out/model/part=1/b.parquet
		chmod 0640 out/model/part=1/b.parquet; chmod 0750 out/model/part=1
		: >out/model/_SUCCESS; ln -s part=1/a.parquet out/model/latest
		ln -s /etc/hostname out/model/host; echo trained'
	pk run -o out/model sh -c "$cmd"
	assert_status 0
	assert_out 'trained\n'
	assert_err ''
	tree out/model >"$TMP/stored"
	# Deleted, folder above included: made again, whole.
	rm -rf out
	hit_holds_tree "$cmd"
	assert_bytes out/model/part=1/a.parquet 'a\n'
	[ "$(readlink out/model/host)" = /etc/hostname ]
	# Extra files go, changed ones come back, another kind under a member's
	# name is replaced (a link where a folder was is not followed), and an
	# unchanged file keeps its inode and mtime.
	local kept
	kept=$(inode_mtime out/model/part=1/b.parquet)
	printf 'extra\n' >out/model/extra.parquet
	mkdir -p out/model/old/deeper && printf 'x\n' >out/model/old/deeper/x
	printf 'A\n' >out/model/part=1/a.parquet
	rm out/model/latest && mkdir out/model/latest
	mkdir "$TMP/elsewhere" && printf 'keep\n' >"$TMP/elsewhere/keep"
	rm -r out/model/empty && ln -s "$TMP/elsewhere" out/model/empty
	hit_holds_tree "$cmd"
	assert_bytes out/model/part=1/a.parquet 'a\n'
	[ "$(inode_mtime out/model/part=1/b.parquet)" = "$kept" ]
	[ "$(ls -A "$TMP/elsewhere")" = keep ]
	assert_bytes "$TMP/elsewhere/keep" 'keep\n'
}

@test "-o DIR holding a FIFO: not stored, said so" {
	local cmd="$CNT"'; mkdir -p out; mkfifo out/pipe; printf "a\n" >out/a; echo ran'
	pk run -o out sh -c "$cmd"
	assert_status 0
	assert_out 'ran\n'
	assert_err 'pickled: result not stored: output cannot be stored: out/pipe is not a regular file, directory or link\n'
	[ -z "$(entries)" ]
}
