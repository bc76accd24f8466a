# pickled.bash: bash completion for pickled(1), loaded by bash-completion.
# The flags below are those `pickled COMMAND --help` lists:
# tests/cli/completion.bats fails when the two differ.  Job names, keys and
# tags are asked of pickled itself, with the -C and -c of the line.

# The options of each command; those that take a value are in _pickled_args.
_pickled_flags() {
	case $1 in
	'') echo '-C --cache-dir -c --config -h --help -V --version' ;;
	run | key)
		echo '-j --job -i --input -e --env --cwd --trace --no-trace --stdin --no-stdin --stdin-limit
			-k --key -o --output --cache-failures -t --ttl -s --stale -f --force
			-w --warm --tag --lock-timeout --explain --no-remote --name -h --help' ;;
	ls) echo '-l --long --json --header --no-header --sort --fresh --stale --expired --tag --name
		--remote -h --help' ;;
	show) echo '--json --name -h --help' ;;
	cat) echo '--stdout --stderr -h --help' ;;
	rm) echo '--expired --all --tag --match -h --help' ;;
	gc) echo '--max-size --max-age -n --dry-run -v --verbose -h --help' ;;
	stats) echo '--json --prometheus --zero -h --help' ;;
	log) echo '--json -n --lines -h --help' ;;
	verify) echo '--fix -h --help' ;;
	config) echo '--check --show-origin -h --help' ;;
	jobs) echo '-h --help' ;;
	esac
}

# _pickled_args CMD FLAG: succeeds when FLAG of CMD takes a value.
_pickled_args() {
	case $1:$2 in
	:-C | :--cache-dir | :-c | :--config) return 0 ;;
	run:* | key:*)
		case $2 in
		-j | --job | -i | --input | -e | --env | --stdin-limit | -k | --key | -o | --output | \
			-t | --ttl | -s | --stale | --tag | --lock-timeout | --name) return 0 ;;
		esac ;;
	ls:--sort | ls:--tag | rm:--tag | rm:--match | gc:--max-size | gc:--max-age) return 0 ;;
	ls:--name | show:--name | log:-n | log:--lines) return 0 ;;
	esac
	return 1
}

# _pickled_query ARGS...: pickled's output for ARGS, with the line's global
# options ($prog and $globals of _pickled), its errors dropped.
_pickled_query() {
	"$prog" "${globals[@]}" "$@" 2>/dev/null
}

_pickled_jobs() {
	_pickled_query jobs | awk 'NR > 1 { print $1 }'
}

# Run names: the configured jobs, and the names (-j, --name) the cache's
# entries were stored under (names are letters, digits, '.', '_', '-').
_pickled_names() {
	{
		_pickled_jobs
		_pickled_query ls --json | grep -oE '"name":"[A-Za-z0-9._-]+"' | cut -d'"' -f4
	} | sort -u
}

# Keys as ls prints them (12 digits: any unique prefix will do).
_pickled_keys() {
	_pickled_query ls | awk '$1 ~ /^[0-9a-f]+$/ { print $1 }'
}

# Every tag of every entry, from ls --json (tags hold no comma).
_pickled_tags() {
	_pickled_query ls --json |
		grep -oE '"tags":\[("([^"\\]|\\.)*",?)*\]' | cut -c8- |
		grep -oE '"([^"\\]|\\.)*"' |
		sed -e 's/^"//' -e 's/"$//' -e 's/\\"/"/g' -e 's/\\\//\//g' -e 's/\\\\/\\/g' |
		sort -u
}

# The settings `pickled config` prints, dotted as config get takes them
# (ttl, gc.auto, jobs.NAME.command): each line with a value, under the
# keys above it (two spaces a level).
_pickled_settings() {
	_pickled_query config | awk '
		/^ *#/ || !/:/ { next }
		{
			match($0, /^ */); d = RLENGTH / 2
			k = substr($0, RLENGTH + 1); v = k
			sub(/:.*/, "", k); sub(/^[^:]*:/, "", v); sub(/ +#.*/, "", v)
			path[d] = k; p = path[0]
			for (i = 1; i <= d; i++) p = p "." path[i]
			if (v ~ /[^ ]/) print p
		}'
}

_pickled_commands='run ls show cat rm gc stats verify key config jobs log'

# _pickled_words: COMPREPLY gets the lines of stdin that start with $cur
# (an opening quote and backslashes taken off), each quoted for the line.
_pickled_words() {
	local w want=${cur#[\"\']}
	want=${want//\\/}
	COMPREPLY=()
	while IFS= read -r w; do
		[[ -n $w && $w == "$want"* ]] && COMPREPLY+=("$(printf '%q' "$w")")
	done
}

_pickled() {
	local cur prev words cword split
	_init_completion -s || return

	# The words before the cursor as pickled will see them, with "--opt",
	# "=", "value" (COMP_WORDBREAKS) joined again; at[k]: where ws[k] is in
	# COMP_WORDS, for _command_offset.
	local ws=() at=() j
	for ((j = 0; j < COMP_CWORD; j++)); do
		if [[ ${COMP_WORDS[j]} == = && ${#ws[@]} -gt 1 && ${ws[-1]} == --* ]] &&
			((j + 1 < COMP_CWORD)); then
			ws[-1]+="=${COMP_WORDS[j + 1]}"
			((j++))
		else
			ws+=("${COMP_WORDS[j]}")
			at+=("$j")
		fi
	done

	local prog=${ws[0]} globals=() cmd='' cmd_at=0 i w n=${#ws[@]}
	# The global options, then the command.
	for ((i = 1; i < n; i++)); do
		w=${ws[i]}
		case $w in
		-C | --cache-dir | -c | --config)
			((i + 1 < n)) && globals+=("$w" "${ws[i + 1]}")
			((i++)) ;;
		--cache-dir=* | --config=* | -C?* | -c?*) globals+=("$w") ;;
		-*) ;;
		*) cmd=$w cmd_at=$i; break ;;
		esac
	done

	if [[ -z $cmd ]]; then
		case $prev in
		-C | --cache-dir) _filedir -d; return ;;
		-c | --config) _filedir; return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$(_pickled_flags '')" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_pickled_commands help" -- "$cur"))
		fi
		return
	fi

	# The command's options end at --, or at the first word that is neither
	# an option nor an option's value (run's program).
	local dashdash=0 first_arg=0 job=0
	for ((i = cmd_at + 1; i < n; i++)); do
		w=${ws[i]}
		if [[ $w == -- ]]; then
			dashdash=$i
			break
		fi
		[[ $w == -j || $w == --job || $w == --job=* || $w == -j?* ]] && job=1
		if [[ $w == -* && $w != *=* ]] && _pickled_args "$cmd" "$w"; then
			((i++))
		elif [[ $w != -* ]]; then
			first_arg=$i
			break
		fi
	done
	if [[ $cmd == run || $cmd == key ]] && ((dashdash || first_arg)); then
		if ((job)); then
			_filedir   # arguments added to the job's command
		elif ((dashdash)); then
			# The program, then its own completion.
			_command_offset $((${at[dashdash]} + 1))
		else
			_command_offset "${at[first_arg]}"
		fi
		return
	fi
	if ((!dashdash && !first_arg)) && [[ $prev == -* ]] && _pickled_args "$cmd" "$prev"; then
		case $prev in
		-j | --job) _pickled_words < <(_pickled_jobs) ;;
		-i | --input | -o | --output) _filedir ;;
		-e | --env) COMPREPLY=($(compgen -e -- "$cur")) ;;
		--tag) _pickled_words < <(_pickled_tags) ;;
		--name) _pickled_words < <(_pickled_names) ;;
		--sort) COMPREPLY=($(compgen -W 'age size hits saved command' -- "$cur")) ;;
		esac
		return
	fi
	if [[ $cur == -* ]] && ((!dashdash && !first_arg)); then
		COMPREPLY=($(compgen -W "$(_pickled_flags "$cmd")" -- "$cur"))
		return
	fi
	case $cmd in
	run | key)
		# The first word after the options: the program, or with -j an
		# argument for the job's command.
		if ((job)); then
			_filedir
		else
			_command_offset "$COMP_CWORD"
		fi ;;
	show | cat) ((first_arg)) || _pickled_words < <(_pickled_keys) ;;   # one key
	rm) _pickled_words < <(_pickled_keys) ;;
	jobs) _pickled_words < <(_pickled_jobs) ;;
	log) ((first_arg)) || _pickled_words < <(_pickled_names) ;;   # one name
	config)
		if ((!first_arg)); then
			COMPREPLY=($(compgen -W get -- "$cur"))
			_filedir
		elif [[ ${ws[first_arg]} == get ]]; then
			# config get [--show-origin] KEY
			for ((i = first_arg + 1; i < n; i++)); do
				[[ ${ws[i]} == -* ]] || return
			done
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W '--show-origin' -- "$cur"))
			else
				_pickled_words < <(_pickled_settings)
			fi
		fi ;;
	help) ((first_arg)) || COMPREPLY=($(compgen -W "$_pickled_commands" -- "$cur")) ;;
	esac
}
complete -F _pickled pickled
