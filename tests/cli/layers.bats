#!/usr/bin/env bats
# layers.bats: scripts/check-layers.sh, the check `make check` runs over
# lib/'s #include lines: it passes on this tree, and fails, naming the
# modules, on a planted include cycle (through a .c, through headers, through
# a .c without a header of its own) and on a lib/ file that includes a
# header of cmd/.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
	TMP=$(mktemp -d)
	mkdir "$TMP/lib" "$TMP/cmd"
	# A small tree in layers: top uses mid, mid uses low; cmd/ on top.
	printf '#include "low.h"\n' > "$TMP/lib/low.c"
	printf '#include <stddef.h>\n' > "$TMP/lib/low.h"
	printf '#include "mid.h"\n#include "low.h"\n' > "$TMP/lib/mid.c"
	printf '#include "low.h"\n' > "$TMP/lib/mid.h"
	printf '#include "top.h"\n#include "mid.h"\n' > "$TMP/lib/top.c"
	printf '#include "mid.h"\n' > "$TMP/lib/top.h"
	printf '#include "cli.h"\n#include "top.h"\n' > "$TMP/cmd/main.c"
	printf '#include "top.h"\n' > "$TMP/cmd/cli.h"
}

teardown() {
	rm -rf "$TMP"
}

check() {
	status=0
	sh "$ROOT/scripts/check-layers.sh" "$@" > "$TMP/out" 2> "$TMP/err" || status=$?
}

@test "this tree's lib/ is in layers" {
	check "$ROOT"
	[ "$status" -eq 0 ]
	[ ! -s "$TMP/out" ] && [ ! -s "$TMP/err" ]
}

@test "a tree in layers passes" {
	check "$TMP"
	[ "$status" -eq 0 ]
	[ ! -s "$TMP/err" ]
}

@test "a planted cycle fails, naming its modules" {
	# low.c calls up into top: low -> top -> mid -> low.
	printf '#include "low.h"\n#include "top.h"\n' > "$TMP/lib/low.c"
	check "$TMP"
	[ "$status" -eq 1 ]
	[ "$(cat "$TMP/err")" = "check-layers: include cycle between lib/ modules: low -> top -> mid -> low" ]
}

@test "a cycle through headers alone fails too" {
	printf '#include "mid.h"\n' > "$TMP/lib/low.h"
	check "$TMP"
	[ "$status" -eq 1 ]
	[ "$(cat "$TMP/err")" = "check-layers: include cycle between lib/ modules: low -> mid -> low" ]
}

@test "a .c without a header of its own is part of the module it includes first" {
	# low_extra.c implements more of low.h: its call up to top is low's.
	printf '#include "low.h"\n' > "$TMP/lib/low_extra.c"
	check "$TMP"
	[ "$status" -eq 0 ]
	printf '#include "low.h"\n#include "top.h"\n' > "$TMP/lib/low_extra.c"
	check "$TMP"
	[ "$status" -eq 1 ]
	[ "$(cat "$TMP/err")" = "check-layers: include cycle between lib/ modules: low -> top -> mid -> low" ]
}

@test "lib/ including a header of cmd/ fails" {
	printf '#include "mid.h"\n#include "cli.h"\n' > "$TMP/lib/mid.c"
	printf '#include "../cmd/cli.h"\n' >> "$TMP/lib/top.c"
	check "$TMP"
	[ "$status" -eq 1 ]
	printf '%s\n' \
		'check-layers: lib/mid.c includes "cli.h", a header of cmd/: lib/ is below cmd/' \
		'check-layers: lib/top.c includes "../cmd/cli.h", a header of cmd/: lib/ is below cmd/' \
		> "$TMP/expected"
	cmp "$TMP/expected" "$TMP/err"
}

@test "no lib/ folder: usage error" {
	check "$TMP/nowhere"
	[ "$status" -eq 2 ]
	[ "$(cat "$TMP/err")" = "check-layers: $TMP/nowhere/lib: no such directory" ]
}
