# common.bash: what the CLI and stress helpers share.

# remove_tree DIR: a run's first store starts a detached gc, which may still
# be writing in DIR (slowly, under valgrind) when the test ends: retry for
# up to 10 s before reporting the failure.
remove_tree() {
	local i
	for i in $(seq 100); do
		rm -rf "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	rm -rf "$1"
}

# kill_bg: kills what the test started in the background (BG_PIDS).
kill_bg() {
	local pid
	for pid in "${BG_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
}

# count: how many times a command using $CNT ran (lines of $TMP/count).
count() {
	if [ -f "$TMP/count" ]; then
		wc -l <"$TMP/count" | tr -d ' '
	else
		echo 0
	fi
}

# assert_count N: the counting command ran N times.
assert_count() {
	local n
	n=$(count)
	if [ "$n" != "$1" ]; then
		echo "the command ran $n times, expected $1"
		return 1
	fi
}
