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
