#!/bin/sh
# deb-check.sh: installs a pickled .deb with dpkg -i, checks the installed
# pickled (its version, a real hit, its completion found by bash, zsh and
# fish, its files), purges it and checks that nothing is left behind.
# For CI, as root, where pickled is not installed.  Usage: deb-check.sh DEB
set -eu
deb=$1
version=$(dpkg-deb -f "$deb" Version)
fail() {
	echo "deb-check: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || fail "must run as root"
if dpkg -s pickled >/dev/null 2>&1; then
	fail "pickled is installed already: this check installs and purges it"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Every path under the folders a package may touch, but the package
# manager's and man-db's own records, which installing updates.
snapshot() {
	find /usr /etc /var/lib /var/cache /opt -xdev \
		\( -path /var/lib/dpkg -o -path /var/cache/man -o -path /var/cache/apt \
		-o -path /var/cache/debconf -o -path /var/lib/apt \) -prune -o -print 2>/dev/null | sort
}
snapshot >"$work/before"
[ -s "$work/before" ] || fail "cannot list the system's files"

echo "dpkg -i $deb"
dpkg -i "$deb"

for f in /usr/bin/pickled /usr/share/man/man1/pickled.1.gz /usr/share/man/man5/pickled.conf.5.gz \
	/usr/share/bash-completion/completions/pickled /usr/share/zsh/vendor-completions/_pickled \
	/usr/share/fish/vendor_completions.d/pickled.fish \
	/usr/share/doc/pickled/examples/pickled.conf.example \
	/usr/share/doc/pickled/examples/systemd/pickled-report.service \
	/usr/share/doc/pickled/examples/systemd/pickled-report.timer; do
	[ -f "$f" ] || fail "the package did not install $f"
	echo "installed: $f"
done

echo '$ pickled --version'
pickled --version | tee "$work/version"
[ "$(head -n 1 "$work/version")" = "pickled $version" ] || fail "--version is not $version"
# The package links Debian's shared libraries, none statically.
if grep -q static "$work/version"; then
	fail "the packaged pickled has a library linked in statically"
fi

# A real hit: the second run replays the first one's output (a time in
# nanoseconds) without running the command.
cache=$work/cache
: >"$work/count"
cmd='echo x >>"$0"; date +%s%N'
pickled -C "$cache" run -- sh -c "$cmd" "$work/count" >"$work/out1"
pickled -C "$cache" run -- sh -c "$cmd" "$work/count" >"$work/out2"
cmp "$work/out1" "$work/out2" || fail "the second run did not replay the first"
[ "$(wc -l <"$work/count")" = 1 ] || fail "the command ran $(wc -l <"$work/count") times, not once"
pickled -C "$cache" ls | grep -q "sh -c" || fail "pickled ls does not list the entry"
echo "hit: the second run replayed $(cat "$work/out1")"

# Each shell finds the completion where the package put it.
if command -v bash >/dev/null && [ -f /usr/share/bash-completion/bash_completion ]; then
	got=$(bash --norc -c '. /usr/share/bash-completion/bash_completion
		_completion_loader pickled; complete -p pickled')
	[ "$got" = "complete -F _pickled pickled" ] || fail "bash: $got"
	echo "bash: $got"
fi
if command -v zsh >/dev/null; then
	got=$(zsh -fc 'autoload -Uz compinit; compinit -u -D; print -r -- $_comps[pickled]')
	[ "$got" = _pickled ] || fail "zsh: pickled's completion is '$got'"
	echo "zsh: $got"
fi
if command -v fish >/dev/null; then
	got=$(HOME=$work fish -c 'complete -C "pickled ver"' | cut -f1)
	[ "$got" = verify ] || fail "fish: 'pickled ver' completes to '$got'"
	echo "fish: pickled ver -> $got"
fi

echo "dpkg --purge pickled"
dpkg --purge pickled
if dpkg -s pickled >/dev/null 2>&1; then
	fail "pickled is still known to dpkg after --purge"
fi
if ls /var/lib/dpkg/info/pickled.* >/dev/null 2>&1; then
	fail "dpkg's records of pickled remain: $(ls /var/lib/dpkg/info/pickled.*)"
fi
snapshot >"$work/after"
if ! cmp -s "$work/before" "$work/after"; then
	echo "deb-check: the system differs after dpkg --purge (- before, + after):" >&2
	diff "$work/before" "$work/after" | grep '^[<>]' | sed 's/^</-/; s/^>/+/' >&2
	exit 1
fi
echo "purged: nothing of pickled is left"
