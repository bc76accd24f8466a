# pickled.fish: fish completion for pickled(1), found in vendor_completions.d.
# The flags below are those `pickled COMMAND --help` lists:
# tests/cli/completion.bats fails when the two differ.  Job names, keys and
# tags are asked of pickled itself, with the -C and -c of the line.

# __pickled_takes_value CMD FLAG: succeeds when FLAG of CMD takes a value.
function __pickled_takes_value
    switch "$argv[1]:$argv[2]"
        case ':-C' ':--cache-dir' ':-c' ':--config'
            return 0
        case 'run:*' 'key:*'
            contains -- $argv[2] -j --job -i --input -e --env --stdin-limit -k --key \
                -o --output -t --ttl -s --stale --tag --lock-timeout --name
            return
        case ls:--sort ls:--tag rm:--tag rm:--match gc:--max-size gc:--max-age
            return 0
        case ls:--name show:--name log:-n log:--lines
            return 0
    end
    return 1
end

# Where the cursor is, from the words before it, one a line: the command
# (empty: none yet); the part of the line (global: before the command;
# options: the command's options; program: run's program and its
# arguments; jobargs: arguments added to a -j job; args: other commands'
# arguments); the index of the program's first word; 1 when -j was given,
# else 0; then the global -C and -c with their values, a word a line.
function __pickled_parse
    set -l t (commandline -opc)
    set -l n (count $t)
    set -l cmd
    set -l globals
    set -l i 2
    while test $i -le $n
        switch $t[$i]
            case -C --cache-dir -c --config
                if test $i -lt $n
                    set -a globals $t[$i] $t[(math $i + 1)]
                end
                set i (math $i + 1)
            case '--cache-dir=*' '--config=*' '-C?*' '-c?*'
                set -a globals $t[$i]
            case '-*'
            case '*'
                set cmd $t[$i]
                break
        end
        set i (math $i + 1)
    end
    if test -z "$cmd"
        printf '%s\n' '' global 0 0 $globals
        return
    end
    set -l part options
    set -l job 0
    set -l start 0
    set i (math $i + 1)
    while test $i -le $n
        set -l w $t[$i]
        if test "$w" = --
            set start (math $i + 1)
            break
        end
        string match -qr -- '^(-j|--job$|--job=)' $w; and set job 1
        if string match -q -- '-*' $w
            if not string match -q -- '*=*' $w; and __pickled_takes_value $cmd $w
                set i (math $i + 1)
            end
        else
            set start $i
            break
        end
        set i (math $i + 1)
    end
    if test $start -gt 0
        if contains -- $cmd run key
            if test $job = 1
                set part jobargs
            else
                set part program
            end
        else
            set part args
        end
    end
    printf '%s\n' $cmd $part $start $job $globals
end

# __pickled_at PART [CMD...]: the cursor is in PART of the line, for one of
# the CMDs when any are given.
function __pickled_at
    set -l p (__pickled_parse)
    test "$p[2]" = $argv[1]; or return
    test (count $argv) -eq 1; or contains -- "$p[1]" $argv[2..-1]
end

# pickled's output for its arguments, with the line's -C and -c.
function __pickled_query
    set -l p (__pickled_parse)
    set -l prog (commandline -opc)[1]
    command $prog $p[5..-1] $argv 2>/dev/null
end

function __pickled_jobs
    # NAME STATE AGE TTL COMMAND: the name, and the rest as its description.
    __pickled_query jobs | awk 'NR > 1 { n = $1; $1 = ""; sub(/^ +/, ""); print n "\t" $0 }'
end

# Run names: the configured jobs, and the names (-j, --name) the cache's
# entries were stored under (names are letters, digits, '.', '_', '-').
function __pickled_names
    begin
        __pickled_jobs | cut -f1
        __pickled_query ls --json | grep -oE '"name":"[A-Za-z0-9._-]+"' | cut -d'"' -f4
    end | sort -u
end

function __pickled_keys
    __pickled_query ls | awk '$1 ~ /^[0-9a-f]+$/ { k = $1; $1 = ""; sub(/^ +/, ""); print k "\t" $0 }'
end

# Every tag of every entry, from ls --json (tags hold no comma).
function __pickled_tags
    __pickled_query ls --json |
        grep -oE '"tags":\[("([^"\\\\]|\\\\.)*",?)*\]' | cut -c8- |
        grep -oE '"([^"\\\\]|\\\\.)*"' |
        sed -e 's/^"//' -e 's/"$//' -e 's/\\\\"/"/g' -e 's/\\\\\//\//g' -e 's/\\\\\\\\/\\\\/g' |
        sort -u
end

# __pickled_first JOB: the cursor is on the first word after run's or
# key's options, and -j was (JOB 1) or was not (JOB 0) given: a program,
# or an argument for the job.
function __pickled_first
    set -l p (__pickled_parse)
    test "$p[2]" = options; and contains -- "$p[1]" run key; and test "$p[4]" = $argv[1]
end

# The settings `pickled config` prints, dotted as config get takes them
# (ttl, gc.auto, jobs.NAME.command): each line with a value, under the
# keys above it (two spaces a level).
function __pickled_settings
    __pickled_query config | awk '
        /^ *#/ || !/:/ { next }
		{
			match($0, /^ */); d = RLENGTH / 2
			k = substr($0, RLENGTH + 1); v = k
			sub(/:.*/, "", k); sub(/^[^:]*:/, "", v); sub(/ +#.*/, "", v)
			path[d] = k; p = path[0]
			for (i = 1; i <= d; i++) p = p "." path[i]
			if (v ~ /[^ ]/) print p
		}'
end

# The cursor is on config get's setting: after get and its options.
function __pickled_config_get
    set -l p (__pickled_parse)
    test "$p[1]" = config; and test "$p[2]" = args; or return
    set -l t (commandline -opc)
    test "$t[$p[3]]" = get; or return
    for w in $t[(math $p[3] + 1)..-1]
        string match -q -- '-*' $w; or return 1
    end
end

# run's program and its own completion.
function __pickled_program
    set -l p (__pickled_parse)
    set -l t (commandline -opc) (commandline -ct)
    __fish_complete_subcommand --commandline $t[$p[3]..-1]
end

complete -c pickled -f

# Before the command.
complete -c pickled -n '__pickled_at global' -s C -l cache-dir -x -a '(__fish_complete_directories)' -d 'Cache directory'
complete -c pickled -n '__pickled_at global' -s c -l config -r -F -d 'Read this configuration file'
complete -c pickled -n '__pickled_at global' -s h -l help -d 'Show this help'
complete -c pickled -n '__pickled_at global' -s V -l version -d "Show the version and the libraries' versions"
complete -c pickled -n '__pickled_at global' -a run -d 'Run a command, or replay its stored result'
complete -c pickled -n '__pickled_at global' -a ls -d "List the cache's entries"
complete -c pickled -n '__pickled_at global' -a show -d 'Show everything recorded about one entry'
complete -c pickled -n '__pickled_at global' -a cat -d "Replay an entry's output without running it"
complete -c pickled -n '__pickled_at global' -a rm -d 'Remove entries'
complete -c pickled -n '__pickled_at global' -a gc -d 'Remove expired and least recently used entries'
complete -c pickled -n '__pickled_at global' -a stats -d 'Show hits, misses and space used'
complete -c pickled -n '__pickled_at global' -a verify -d "Check every entry's checksum"
complete -c pickled -n '__pickled_at global' -a key -d 'Print the key run would use, without running'
complete -c pickled -n '__pickled_at global' -a config -d 'Show or check the configuration'
complete -c pickled -n '__pickled_at global' -a jobs -d 'List the configured jobs and their freshness'
complete -c pickled -n '__pickled_at global' -a log -d 'List the latest runs, newest first'
complete -c pickled -n '__pickled_at global' -a help -d "Show a command's help"

# run and key.
set -l rk '__pickled_at options run key'
complete -c pickled -n $rk -s j -l job -x -a '(__pickled_jobs)' -d 'Run the job NAME of the configuration'
complete -c pickled -n $rk -s i -l input -r -F -d 'A file, directory or quoted glob whose content counts'
complete -c pickled -n $rk -s e -l env -x -a '(set --names --export)' -d 'An environment variable, or a glob'
complete -c pickled -n $rk -l cwd -d 'The working directory is in the key'
complete -c pickled -n $rk -l trace -d 'Also every file and path the command is seen to look at'
complete -c pickled -n $rk -l no-trace -d 'Do not trace, whatever the configuration says'
complete -c pickled -n $rk -l stdin -d 'Always read stdin into the key'
complete -c pickled -n $rk -l no-stdin -d 'Never read stdin; leave it to the command'
complete -c pickled -n $rk -l stdin-limit -x -d 'A larger stdin runs uncached (SIZE)'
complete -c pickled -n $rk -s k -l key -x -d 'Extra text, as a namespace'
complete -c pickled -n $rk -s o -l output -r -F -d 'A file or directory the command writes: stored, restored on a hit'
complete -c pickled -n $rk -l cache-failures -d 'Store any exit status, not only 0'
complete -c pickled -n $rk -s t -l ttl -x -d 'Replay results younger than this (DURATION)'
complete -c pickled -n $rk -s s -l stale -x -d 'Replay older ones too, and refresh them (DURATION)'
complete -c pickled -n $rk -s f -l force -d 'Run even when a fresh result exists; replace it'
complete -c pickled -n $rk -s w -l warm -d 'Run and store in the background, print nothing'
complete -c pickled -n $rk -l tag -x -a '(__pickled_tags)' -d 'Record TAG on the entry'
complete -c pickled -n $rk -l lock-timeout -x -d 'Wait this long for an identical run (DURATION)'
complete -c pickled -n $rk -l explain -d "Print the key's parts and the decision to stderr"
complete -c pickled -n $rk -l no-remote -d 'Use only the local cache, not the shared one'
complete -c pickled -n $rk -l name -x -a '(__pickled_names)' -d 'Label the run NAME in the run log and the metrics'
complete -c pickled -n $rk -s h -l help -d 'Show this help'
complete -c pickled -n '__pickled_first 0' -a '(__fish_complete_command)'
complete -c pickled -n '__pickled_first 1' -F
complete -c pickled -n '__pickled_at program run key' -x -a '(__pickled_program)'
complete -c pickled -n '__pickled_at jobargs run key' -F

# ls.
set -l ls '__pickled_at options ls'
complete -c pickled -n $ls -s l -l long -d 'Also show creation time, last hit and tags'
complete -c pickled -n $ls -l json -d 'Print one JSON array with every recorded field'
complete -c pickled -n $ls -l header -d 'Print the line naming the columns'
complete -c pickled -n $ls -l no-header -d 'Never print the line naming the columns'
complete -c pickled -n $ls -l sort -x -a 'age size hits saved command' -d 'The order'
complete -c pickled -n $ls -l expired -d 'Only entries past their ttl'
complete -c pickled -n $ls -l fresh -d 'Only entries neither stale nor expired'
complete -c pickled -n $ls -l stale -d 'Only entries past their stale time, not expired'
complete -c pickled -n $ls -l tag -x -a '(__pickled_tags)' -d 'Only entries tagged TAG'
complete -c pickled -n $ls -l name -x -a '(__pickled_names)' -d 'Only entries stored by runs named NAME'
complete -c pickled -n $ls -l remote -d 'List the shared (Redis) tier instead'
complete -c pickled -n $ls -s h -l help -d 'Show this help'

# show, cat, rm: keys.
complete -c pickled -n '__pickled_at options show' -l json -d 'Print one JSON object'
complete -c pickled -n '__pickled_at options show' -l name -x -a '(__pickled_names)' -d 'The newest entry stored by a run named NAME'
complete -c pickled -n '__pickled_at options cat' -l stdout -d 'The stored stdout'
complete -c pickled -n '__pickled_at options cat' -l stderr -d 'The stored stderr'
complete -c pickled -n '__pickled_at options rm' -l expired -d 'Entries past the ttl they were stored with'
complete -c pickled -n '__pickled_at options rm' -l all -d 'Every entry'
complete -c pickled -n '__pickled_at options rm' -l tag -x -a '(__pickled_tags)' -d 'Entries tagged TAG'
complete -c pickled -n '__pickled_at options rm' -l match -x -d 'Entries whose command line matches GLOB'
complete -c pickled -n '__pickled_at options show cat rm' -s h -l help -d 'Show this help'
complete -c pickled -n '__pickled_at options show cat rm' -a '(__pickled_keys)'
complete -c pickled -n '__pickled_at args rm' -a '(__pickled_keys)'

# gc, stats, verify.
complete -c pickled -n '__pickled_at options gc' -l max-size -x -d 'Size limit (SIZE)'
complete -c pickled -n '__pickled_at options gc' -l max-age -x -d 'Also remove entries older than this (DURATION)'
complete -c pickled -n '__pickled_at options gc' -s n -l dry-run -d 'Print what would be removed; remove nothing'
complete -c pickled -n '__pickled_at options gc' -s v -l verbose -d 'Print each entry removed and a summary'
complete -c pickled -n '__pickled_at options stats' -l json -d 'Print one JSON object'
complete -c pickled -n '__pickled_at options stats' -l zero -d 'Reset the counters (entries are kept)'
complete -c pickled -n '__pickled_at options stats' -l prometheus -d 'Print the metrics in the Prometheus text format'
complete -c pickled -n '__pickled_at options verify' -l fix -d 'Remove the damaged entries'
complete -c pickled -n '__pickled_at options gc stats verify' -s h -l help -d 'Show this help'

# config, jobs, help.
complete -c pickled -n '__pickled_at options config' -l check -d 'Print nothing; report every error'
complete -c pickled -n '__pickled_at options config' -l show-origin -d 'With get: print where the value comes from'
complete -c pickled -n '__pickled_at options config' -a get -d 'Print one setting'
complete -c pickled -n '__pickled_at options config' -F
complete -c pickled -n __pickled_config_get -l show-origin -d 'Print where the value comes from first'
complete -c pickled -n __pickled_config_get -a '(__pickled_settings)'
complete -c pickled -n '__pickled_at options config jobs' -s h -l help -d 'Show this help'
complete -c pickled -n '__pickled_at options jobs' -a '(__pickled_jobs)'
complete -c pickled -n '__pickled_at args jobs' -a '(__pickled_jobs)'
complete -c pickled -n '__pickled_at options help' -a 'run ls show cat rm gc stats verify key config jobs log'

# log.
complete -c pickled -n '__pickled_at options log' -l json -d 'Print one JSON array'
complete -c pickled -n '__pickled_at options log' -s n -l lines -x -d 'Show the latest N runs (0: all)'
complete -c pickled -n '__pickled_at options log' -s h -l help -d 'Show this help'
complete -c pickled -n '__pickled_at options log' -a '(__pickled_names)'
