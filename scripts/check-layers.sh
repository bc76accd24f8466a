#!/bin/sh
# check-layers.sh: fails when lib/ stops being layers (STYLE.md, practice
# 13): an include cycle between lib/ modules, or a lib/ file that includes
# a header of cmd/.  A module is a .c and its .h (config_yaml.c with
# config_yaml.h); a .c without a .h of its own is part of the module whose
# header it includes first (manifest_gc.c of manifest); module A uses B
# when a file of A includes "B.h".  Run by `make check`; prints each
# problem on one line and exits 1.
#
# Usage: sh scripts/check-layers.sh [TREE]   (TREE: the source tree, default .)

TREE=${1:-.}
if [ ! -d "$TREE/lib" ]; then
	echo "check-layers: $TREE/lib: no such directory" >&2
	exit 2
fi
for f in "$TREE"/lib/*.c "$TREE"/lib/*.h; do
	[ -f "$f" ] || continue
	# Each line: FILE MODULE HEADER.
	sed -n "s|^[[:space:]]*#[[:space:]]*include[[:space:]]*\"\\([^\"]*\\)\".*|\\1|p" "$f" |
	    awk -v file="${f##*/}" -v own="$([ -f "${f%.c}.h" ] && echo 1)" '
		{ if (NR == 1) { mod = file; if (file ~ /\.c$/ && own != 1) mod = $0 } print file, mod, $0 }'
done | awk -v cmds="$(cd "$TREE/cmd" 2> /dev/null && ls)" -v libs="$(cd "$TREE/lib" && ls)" '
	function module(file) { sub(/^.*\//, "", file); sub(/\.[ch]$/, "", file); return file }
	BEGIN {
		n = split(libs, l, "\n"); for (i = 1; i <= n; i++) inlib[l[i]] = 1
		n = split(cmds, c, "\n"); for (i = 1; i <= n; i++) incmd[c[i]] = 1
	}
	{
		hdr = $3; base = hdr; sub(/^.*\//, "", base)
		if (hdr ~ /(^|\/)cmd\// || (!inlib[hdr] && incmd[base])) {
			printf "check-layers: lib/%s includes \"%s\", a header of cmd/: lib/ is below cmd/\n", $1, hdr > "/dev/stderr"
			bad = 1
			next
		}
		if (!inlib[hdr])
			next   # not one of lib/ (a library header)
		a = module($2); b = module(hdr)
		if (a != b && !((a, b) in edge)) {
			edge[a, b] = 1
			out[a] = out[a] " " b
		}
		mods[a] = 1; mods[b] = 1
	}
	# Depth-first search; a module met again while on the path closes a cycle.
	function visit(m,    k, n, next_, i) {
		state[m] = 1; path[++depth] = m
		n = split(out[m], next_, " ")
		for (k = 1; k <= n; k++) {
			if (state[next_[k]] == 1) {
				s = ""
				for (i = 1; i <= depth; i++)
					if (s != "" || path[i] == next_[k])
						s = s path[i] " -> "
				printf "check-layers: include cycle between lib/ modules: %s%s\n", s, next_[k] > "/dev/stderr"
				bad = 1
			} else if (state[next_[k]] == 0) {
				visit(next_[k])
			}
		}
		depth--; state[m] = 2
	}
	END {
		for (i = 1; i in l; i++)   # in the order ls gives: the same report each time
			if ((m = module(l[i])) in mods && state[m] == 0)
				visit(m)
		exit bad
	}'
