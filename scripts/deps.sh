#!/bin/sh
# Checks for (and, as root with --install, installs) the Debian packages
# pickled needs.  Usage: deps.sh --check|--install build|test...
set -u
mode=$1; shift
need=""
has_pc() { pkg-config --exists "$1" 2>/dev/null; }
has_cmd() { command -v "$1" >/dev/null 2>&1; }
for set in "$@"; do
	case $set in
	build)
		has_cmd pkg-config || need="$need pkg-config"
		has_pc yaml-0.1 || need="$need libyaml-dev"
		has_pc libxxhash || need="$need libxxhash-dev"
		has_pc libzstd || need="$need libzstd-dev"
		has_pc hiredis || need="$need libhiredis-dev"
		has_pc libsodium || need="$need libsodium-dev"
		has_pc libseccomp || need="$need libseccomp-dev"
		;;
	test)
		has_pc cmocka || need="$need libcmocka-dev"
		has_cmd bats || need="$need bats"
		has_cmd prove || need="$need perl"
		has_cmd mandoc || need="$need mandoc"
		has_cmd python3 || need="$need python3"
		has_cmd zstd || need="$need zstd"
		has_cmd xxhsum || need="$need xxhash"
		has_cmd setpriv || need="$need util-linux"
		has_cmd strace || need="$need strace"
		has_cmd redis-server || need="$need redis-server"
		has_cmd redis-cli || need="$need redis-tools"
		[ -f /usr/share/bash-completion/bash_completion ] || need="$need bash-completion"
		has_cmd zsh || need="$need zsh"
		has_cmd fish || need="$need fish"
		has_cmd systemd-analyze || need="$need systemd"
		has_cmd prometheus-node-exporter || need="$need prometheus-node-exporter"
		has_cmd promtool || need="$need prometheus"
		has_cmd curl || need="$need curl"
		has_pc libfiu || need="$need libfiu-dev"
		has_cmd fiu-run || need="$need fiu-utils"
		[ -x /usr/bin/time ] || need="$need time"
		;;
	esac
done
[ -z "$need" ] && exit 0
if [ "$mode" = --install ] && [ "$(id -u)" = 0 ] && has_cmd apt-get; then
	echo "pickled: installing:$need" >&2
	apt-get update -qq >/dev/null && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null || {
		echo "pickled: apt-get install failed:$need" >&2; exit 1; }
	exit 0
fi
echo "pickled: missing build dependencies:$need (run 'make deps' as root, or apt-get install$need)" >&2
exit 1
