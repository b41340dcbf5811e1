#!/bin/sh
# A throw-away network lab: run a command in a fresh network namespace.
#
#   scripts/lab.sh [--name NS] -- COMMAND [ARG...]
#
# Creates the namespace NS (default synack-lab-<pid>), brings its loopback
# up, and runs COMMAND inside it with SYNACK_NETNS=NS in the environment.
# The TAP device is made by the synack command itself, e.g.
#
#   scripts/lab.sh -- sh -c 'build/synack http www --tap sn0 \
#       --addr 198.18.0.2/24 --host-addr 198.18.0.1/24 & sleep 1; \
#       curl http://198.18.0.2/index.html; kill $!'
#
# On exit, failure or interrupt every process left in the namespace is
# killed (they were all started by this script) and the namespace deleted,
# with everything in it. The root namespace's interfaces and routes are never
# touched. Use addresses from 198.18.0.0/15 (RFC 2544, for benchmarks) only.
# Exit status: COMMAND's, or 2 for bad usage, 77 when namespaces cannot be
# made here (not root, no `ip netns`).
set -u
name="synack-lab-$$"
while [ $# -gt 0 ]; do
	case $1 in
	--name) [ $# -ge 2 ] || { echo "lab.sh: --name needs a value" >&2; exit 2; }
		name=$2; shift 2 ;;
	--) shift; break ;;
	-h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: lab.sh [--name NS] -- COMMAND [ARG...]" >&2; exit 2 ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: lab.sh [--name NS] -- COMMAND [ARG...]" >&2; exit 2; }
if [ "$(id -u)" != 0 ]; then
	echo "lab.sh: network namespaces need root (or CAP_SYS_ADMIN + CAP_NET_ADMIN)" >&2
	exit 77
fi
if ! command -v ip >/dev/null 2>&1 || ! ip netns list >/dev/null 2>&1; then
	echo "lab.sh: 'ip netns' is not available (apt-get install iproute2)" >&2
	exit 77
fi
if ip netns list | awk '{print $1}' | grep -qx -- "$name"; then
	echo "lab.sh: namespace $name already exists; choose another --name" >&2
	exit 2
fi

cleanup() {
	trap - EXIT INT TERM HUP
	# Processes still inside are ours: stop them, bounded, then delete.
	pids=$(ip netns pids "$name" 2>/dev/null || true)
	if [ -n "$pids" ]; then
		kill $pids 2>/dev/null || true
		i=0
		while [ $i -lt 20 ] && [ -n "$(ip netns pids "$name" 2>/dev/null)" ]; do
			sleep 0.1; i=$((i + 1))
		done
		pids=$(ip netns pids "$name" 2>/dev/null || true)
		[ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
	fi
	ip netns del "$name" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

ip netns add "$name" || exit 77
ip -n "$name" link set lo up
SYNACK_NETNS=$name ip netns exec "$name" "$@"
rc=$?
exit $rc
