#!/usr/bin/env bats
# completion.bats: the bash, zsh and fish completions in completions/: every
# command and flag that `pickled --help` and `pickled COMMAND --help` list
# (the one source of truth: a flag in a help but not in a script fails
# here), job names, keys, tags, files, folders, and the program after --.

load helper

COMPLETIONS=$(cd "$BATS_TEST_DIRNAME/../../completions" && pwd)
ZSH_COMPLETE=$BATS_TEST_DIRNAME/../completion/zsh-complete.zsh

eval "helper_$(declare -f setup)"
setup() {
	helper_setup
	# These tests are about the shell scripts: under the valgrind lane they
	# use the binary itself, not its slow run under valgrind (memcheck sees
	# the same commands in the other files).
	if [ -n "${PK_VALGRIND_BIN_DIR:-}" ]; then
		PK=$PK_VALGRIND_BIN_DIR/pickled
	fi
	# `pickled` on the line is this pickled.
	mkdir "$TMP/bin"
	ln -s "$PK" "$TMP/bin/pickled"
	export PATH=$TMP/bin:$PATH
	unset XDG_CONFIG_HOME XDG_DATA_HOME XDG_DATA_DIRS
}

# --- what the help says --------------------------------------------------------

# help_commands: the commands `pickled --help` lists.
help_commands() {
	"$PK" --help | sed -n '/^Commands:$/,/^$/p' | awk 'NF && $1 != "Commands:" { print $1 }'
}

# help_flags [CMD]: every -x and --long on the option lines of
# `pickled [CMD] --help`, sorted.  key takes run's options, as its help says.
help_flags() {
	local cmd=${1:-}
	if [ "$cmd" = key ]; then
		"$PK" key --help | tr '\n' ' ' | grep -q "every option of 'pickled run'" || {
			echo "pickled key --help no longer says it takes run's options" >&2
			return 1
		}
		cmd=run
	fi
	"$PK" ${cmd:+"$cmd"} --help | grep -E '^ +-' | sed -E 's/^ +//; s/  .*//' |
		grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' | tr -d ' ,' | sort -u
}

# --- what each shell offers ----------------------------------------------------

# bash_complete [-s SETUP] WORD...: COMPREPLY of _pickled for the line
# WORD... (the last one is being completed), one a line, in a bash that
# sourced bash-completion and completions/pickled.bash; SETUP runs first.
bash_complete() {
	local setup_code=:
	if [ "$1" = -s ]; then
		setup_code=$2
		shift 2
	fi
	bash --norc --noprofile -c '
		source /usr/share/bash-completion/bash_completion || exit 2
		source "$1" || exit 2
		eval "$2"
		shift 2
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_pickled pickled "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
		((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"
	' _ "$COMPLETIONS/pickled.bash" "$setup_code" "$@" | sed 's/ $//' | sort -u
}

# zsh_complete LINE: the words zsh offers after LINE, one a line.
zsh_complete() {
	zsh -f "$ZSH_COMPLETE" "$COMPLETIONS" "$1"
}

# fish_complete LINE: the words fish offers after LINE, one a line, with
# completions/ first in its path, as vendor_completions.d is.
fish_complete() {
	fish -c 'set -p fish_complete_path $argv[1]; complete -C $argv[2]' "$COMPLETIONS" "$1" |
		cut -f1 | sort -u
}

has_shell() {
	case $1 in
	bash) [ -f /usr/share/bash-completion/bash_completion ] ||
		skip "bash-completion is not installed" ;;
	*) command -v "$1" >/dev/null || skip "$1 is not installed" ;;
	esac
}

# complete_line SHELL LINE: the words SHELL offers after LINE (words split on
# spaces; a trailing space starts an empty word).
complete_line() {
	local shell=$1 line=$2 words
	case $shell in
	bash)
		read -r -a words <<<"$line"
		[[ $line == *' ' ]] && words+=('')
		bash_complete "${words[@]}" ;;
	zsh) zsh_complete "$line" ;;
	fish) fish_complete "$line" ;;
	esac
}

# expect SHELL LINE WORD...: SHELL offers exactly the WORDs after LINE.
expect() {
	local shell=$1 line=$2
	shift 2
	complete_line "$shell" "$line" >"$TMP/io/got"
	printf '%s\n' "$@" | sort -u >"$TMP/io/want"
	[ $# -gt 0 ] || : >"$TMP/io/want"
	assert_same "$TMP/io/want" "$TMP/io/got" "$shell: $line"
}

# expect_has SHELL LINE WORD...: SHELL offers at least the WORDs after LINE.
expect_has() {
	local shell=$1 line=$2 w
	shift 2
	complete_line "$shell" "$line" >"$TMP/io/got"
	for w in "$@"; do
		grep -qxF -- "$w" "$TMP/io/got" || {
			echo "$shell: '$line' does not offer '$w'; it offers:"
			head -n 40 "$TMP/io/got"
			return 1
		}
	done
}

# flags_agree SHELL: for pickled and each command, the flags SHELL offers
# after '-' are exactly those of the help.
flags_agree() {
	local shell=$1 cmd failed=0
	for cmd in '' $(help_commands); do
		[ "$cmd" = help ] && continue
		help_flags "$cmd" >"$TMP/io/help-flags" || return 1
		complete_line "$shell" "pickled ${cmd:+$cmd }-" |
			grep -E '^--?[a-zA-Z]' >"$TMP/io/offered" || true
		if ! cmp -s "$TMP/io/help-flags" "$TMP/io/offered"; then
			echo "$shell: 'pickled ${cmd:+$cmd }-': the flags differ from --help (- help, + $shell):"
			diff "$TMP/io/help-flags" "$TMP/io/offered" | grep '^[<>]' | sed 's/^</-/; s/^>/+/'
			failed=1
		fi
	done
	[ "$failed" = 0 ]
}

# A cache with two tagged entries, and a configuration with two jobs.
fixture() {
	pk run --tag nightly --tag 'two words' -- echo one
	assert_status 0
	pk run --tag weekly -- echo two
	assert_status 0
	KEYS=$("$PK" ls | awk '{ print $1 }' | sort)
	cat >"$PICKLED_CONFIG" <<'EOF'
jobs:
  report:
    command: [echo, report]
  backup-db:
    command: [echo, backup]
EOF
}

# --- commands and flags: one source of truth --------------------------------

@test "the commands are those pickled --help lists, in bash, zsh and fish" {
	local shell want
	want=$(help_commands)
	[ -n "$want" ]
	for shell in bash zsh fish; do
		has_shell "$shell"
		# shellcheck disable=SC2086
		expect "$shell" 'pickled ' $want
		# shellcheck disable=SC2086
		expect "$shell" 'pickled help ' $(help_commands | grep -vx help)
	done
}

@test "bash: every flag of every --help, and no other" {
	has_shell bash
	flags_agree bash
}

@test "zsh: every flag of every --help, and no other" {
	has_shell zsh
	flags_agree zsh
}

@test "fish: every flag of every --help, and no other" {
	has_shell fish
	flags_agree fish
}

@test "the flag check catches a flag missing from a script" {
	has_shell bash
	# A copy of the bash script without run's --explain: flags_agree fails.
	mkdir "$TMP/compl"
	sed 's/ --explain//' "$COMPLETIONS/pickled.bash" >"$TMP/compl/pickled.bash"
	COMPLETIONS=$TMP/compl
	run flags_agree bash
	[ "$status" -ne 0 ]
	[ "$output" = "bash: 'pickled run -': the flags differ from --help (- help, + bash):
- --explain
bash: 'pickled key -': the flags differ from --help (- help, + bash):
- --explain" ]
}

# --- values from pickled: jobs, keys, tags ----------------------------------

@test "-j completes the configured job names, from pickled jobs" {
	fixture
	local shell
	for shell in bash zsh fish; do
		has_shell "$shell"
		expect "$shell" 'pickled run -j ' backup-db report
		expect "$shell" 'pickled key --job ' backup-db report
		expect "$shell" 'pickled run -j r' report
		expect "$shell" 'pickled jobs ' backup-db report
	done
	# -c on the line names the configuration to read.
	printf 'jobs:\n  other:\n    command: [echo]\n' >"$TMP/other.conf"
	for shell in bash zsh fish; do
		expect "$shell" "pickled -c $TMP/other.conf run -j " other
		expect "$shell" "pickled --config $TMP/other.conf run -j " other
	done
	expect bash "pickled --config=$TMP/other.conf run --job=" other
	# A broken configuration: nothing, and no error on the terminal.
	printf 'jobs: [\n' >"$PICKLED_CONFIG"
	for shell in bash zsh fish; do
		expect "$shell" 'pickled run -j '
	done
}

@test "show, cat and rm complete the keys ls prints; show and cat only one" {
	fixture
	local shell k1
	k1=$(echo "$KEYS" | head -n 1)
	for shell in bash zsh fish; do
		has_shell "$shell"
		# shellcheck disable=SC2086
		expect "$shell" 'pickled show ' $KEYS
		# shellcheck disable=SC2086
		expect "$shell" 'pickled cat --stdout ' $KEYS
		# shellcheck disable=SC2086
		expect "$shell" 'pickled rm ' $KEYS
		# shellcheck disable=SC2086
		expect "$shell" "pickled rm $k1 " $KEYS
		expect "$shell" "pickled show $k1 "
		expect "$shell" "pickled show ${k1:0:11}" "$k1"
	done
	# -C on the line names the cache.
	PICKLED_CACHE_DIR=$TMP/elsewhere pk run echo three
	local k3
	k3=$(PICKLED_CACHE_DIR=$TMP/elsewhere "$PK" ls | awk '{ print $1 }')
	for shell in bash zsh fish; do
		expect "$shell" "pickled -C $TMP/elsewhere show " "$k3"
		expect "$shell" "pickled --cache-dir $TMP/elsewhere cat " "$k3"
	done
}

@test "--tag completes the tags of the cache's entries" {
	fixture
	pk run --tag 'it'\''s "q"' -- echo three
	local shell
	for shell in bash zsh fish; do
		has_shell "$shell"
		expect_has "$shell" 'pickled run --tag n' nightly
		expect_has "$shell" 'pickled ls --tag w' weekly
		expect_has "$shell" 'pickled rm --tag nig' nightly
	done
	for shell in zsh fish; do
		expect "$shell" 'pickled run --tag ' nightly 'two words' weekly 'it'\''s "q"'
	done
	# bash: quoted for the line.
	expect bash 'pickled run --tag ' nightly 'two\ words' weekly "it\\'s\\ \\\"q\\\""
	expect bash 'pickled ls --tag=' nightly 'two\ words' weekly "it\\'s\\ \\\"q\\\""
}

# --- files, folders, the program ------------------------------------------------

@test "-i, -o and -c complete files; -C only folders" {
	mkdir sub
	: >data.csv
	: >sub.txt
	local shell
	for shell in bash zsh fish; do
		has_shell "$shell"
		expect_has "$shell" 'pickled run -i da' data.csv
		expect_has "$shell" 'pickled run --output s' sub.txt
		expect_has "$shell" 'pickled -c da' data.csv
		expect_has "$shell" 'pickled config da' data.csv
		complete_line "$shell" 'pickled -C s' >"$TMP/io/got"
		grep -qE '^sub/?$' "$TMP/io/got"
		refute_has sub.txt
	done
}

refute_has() {
	if grep -qxF -- "$1" "$TMP/io/got"; then
		echo "offered '$1' too:"
		cat "$TMP/io/got"
		return 1
	fi
}

@test "the program: command names, then the program's own completion" {
	local shell
	for shell in bash zsh fish; do
		has_shell "$shell"
		expect_has "$shell" 'pickled run -- ech' echo
		expect_has "$shell" 'pickled run --ttl 6h ech' echo
		expect_has "$shell" 'pickled key -i x -- ech' echo
	done
	# The program's own completion: ls's options (zsh, fish) ...
	for shell in zsh fish; do
		expect_has "$shell" 'pickled run -- ls --al' --all --almost-all
		expect_has "$shell" 'pickled run -t 1h ls --al' --all --almost-all
		complete_line "$shell" 'pickled run -- ls --al' >"$TMP/io/got"
		refute_has --explain
	done
	# ... and in bash through _command_offset, a completion of its own.
	local fake="complete -W 'alpha beta --gamma' fakecmd"
	expect bash 'pickled run -- ech' echo
	[ "$(bash_complete -s "$fake" pickled run -- fakecmd b)" = beta ]
	[ "$(bash_complete -s "$fake" pickled run --ttl 1h fakecmd --g)" = --gamma ]
	[ "$(bash_complete -s "$fake" pickled run --ttl=1h -- fakecmd al)" = alpha ]
	[ "$(bash_complete -s "$fake" pickled -C /tmp run -- fakecmd x --g)" = --gamma ]
}

@test "after -j NAME the words are arguments for the job: files, not programs" {
	: >notes.txt
	local shell
	for shell in bash zsh fish; do
		has_shell "$shell"
		expect "$shell" 'pickled run -j report no' notes.txt
		expect "$shell" 'pickled run -j report -- no' notes.txt
	done
}

@test "config: get or a file; after get, the settings config prints, dotted" {
	fixture
	: >my.conf
	local shell
	for shell in bash zsh fish; do
		has_shell "$shell"
		expect_has "$shell" 'pickled config ' get my.conf
		expect_has "$shell" 'pickled config get ' ttl gc.auto remote.url \
			jobs.report.command jobs.backup-db.command
		expect "$shell" 'pickled config get --show-origin gc.' gc.auto gc.interval
		expect "$shell" 'pickled config get --sh' --show-origin
		# one setting only
		expect "$shell" 'pickled config get ttl '
		complete_line "$shell" 'pickled config get ' >"$TMP/io/got"
		refute_has my.conf
	done
}

@test "-e completes exported variable names; ls --sort its orders" {
	export PK_COMPLETION_PROBE=1
	local shell
	for shell in bash zsh fish; do
		has_shell "$shell"
		expect "$shell" 'pickled run -e PK_COMPLETION_PR' PK_COMPLETION_PROBE
		expect "$shell" 'pickled key --env PK_COMPLETION_PR' PK_COMPLETION_PROBE
		expect "$shell" 'pickled ls --sort ' age command hits saved size
		expect "$shell" 'pickled ls --sort s' saved size
	done
	expect bash 'pickled ls --sort=h' hits
	expect zsh 'pickled ls --sort=h' hits
}

@test "--name and log complete the run names: jobs, and the names entries were stored under" {
	fixture
	pk run --name nightly-sync -- echo named
	assert_status 0
	local shell
	for shell in bash zsh fish; do
		has_shell "$shell"
		expect "$shell" 'pickled ls --name ' backup-db nightly-sync report
		expect "$shell" 'pickled show --name n' nightly-sync
		expect "$shell" 'pickled run --name nig' nightly-sync
		expect "$shell" 'pickled log ' backup-db nightly-sync report
		expect "$shell" 'pickled log report '
	done
}
