# zsh-complete.zsh: the words zsh's completion system offers for a command
# line, one a line, for completion.bats.  Usage:
#   zsh -f zsh-complete.zsh DIR LINE
# DIR holds _pickled; LINE is what was typed before Tab.  An interactive zsh
# runs in a pseudo-terminal (zsh/zpty), with compinit and a Tab that records
# every word completion adds before adding it; exit status 2 when it does
# not finish within 30 s.
zmodload zsh/zpty || exit 2
dir=$1 typed=$2
out=$(mktemp) || exit 2

zpty pk 'zsh -f -i'
# After zpty: its child, a fork of this shell, must not remove $out.
trap 'rm -f $out' EXIT
zpty -w pk "PS1= PROMPT= RPROMPT= LISTMAX=100000; unsetopt beep zle_bracketed_paste 2>/dev/null"
zpty -w pk "fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w pk "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no"
# The recorder: compadd as usual, and the words that match go to $out too
# (the calls that only collect words, -O, -A or -D, are left alone).
zpty -w pk "_pk_record() {
	compadd() {
		local -a _pk_m
		if [[ \${(j: :)@[1,(i)(-|--)]} == (*\ |)-[OAD](\ *|) ]]; then
			builtin compadd \"\$@\"
			return
		fi
		builtin compadd -O _pk_m \"\$@\"
		(( \$#_pk_m )) && print -rl -- \$_pk_m >>${(q)out}
		builtin compadd \"\$@\"
	}
	_main_complete
	unfunction compadd
	print -r -- '<<pk-done>>' >>${(q)out}
}"
zpty -w pk "zle -C pk-record complete-word _pk_record; bindkey '^I' pk-record"
zpty -w -n pk "$typed"$'\t'

for i in {1..600}; do
	grep -q '^<<pk-done>>$' $out && break
	sleep 0.05
done
zpty -d pk
grep -q '^<<pk-done>>$' $out || exit 2
grep -v '^<<pk-done>>$' $out | sort -u
