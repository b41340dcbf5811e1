# lib.sh - shared by the interop tests (sourced, POSIX sh).
#
# Every test is run by CTest as `sh TEST.sh PATH/TO/synack`. It first checks
# what it needs (exit 77 = skipped, with the reason), then re-runs itself
# inside a fresh network namespace made by scripts/lab.sh, which deletes the
# namespace and everything in it afterwards, also on failure or timeout.
# Inside, synack runs on the TAP device sn0 as 198.18.0.2/24 and the kernel's
# side of sn0 is 198.18.0.1/24 (--host-addr). Every wait is bounded.
set -eu
SYNACK=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/../../scripts/lab.sh
TEST=$(basename "$0" .sh)
PEER=198.18.0.1     # Linux
ME=198.18.0.2       # synack
NET="--tap sn0 --addr $ME/24 --host-addr $PEER/24"

skip() { echo "SKIP $TEST: $*"; exit 77; }
fail() { echo "FAIL $TEST: $*"; exit 1; }
note() { echo "$TEST: $*"; }

# need PROGRAM... : skip unless each is installed.
need() {
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 ||
			skip "$p is not installed (scripts/deps.sh test installs it)"
	done
}

# Root, /dev/net/tun and `ip netns`, then re-exec inside a fresh namespace.
enter_lab() {
	if [ -n "${SYNACK_NETNS:-}" ]; then
		TMP=$(mktemp -d)
		trap 'rm -rf "$TMP"' EXIT
		return 0
	fi
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces and a TAP device)"
	[ -c /dev/net/tun ] || skip "/dev/net/tun is missing (modprobe tun, or --device /dev/net/tun)"
	command -v ip >/dev/null 2>&1 && ip netns list >/dev/null 2>&1 ||
		skip "'ip netns' is not available (apt-get install iproute2)"
	# The whole test is bounded: lab.sh cleans up when timeout stops it.
	exec timeout -k 5 "${TEST_TIMEOUT:-240}" sh "$LAB" --name "snt-$TEST-$$" -- \
		sh "$0" "$SYNACK"
}

# synack_bg ARGS... : start synack in the background; its pid in SYNACK_PID,
# its stderr in $TMP/synack.err. Waits (bounded) until the kernel side of sn0
# is up with its address and route, i.e. synack is up. (Checking the address
# alone raced with the device coming up: nc then failed with ENETUNREACH.)
synack_bg() {
	"$SYNACK" "$@" 2>"$TMP/synack.err" &
	SYNACK_PID=$!
	i=0
	until ip -4 addr show dev sn0 up 2>/dev/null | grep -q "$PEER/" &&
		ip -4 route show dev sn0 2>/dev/null | grep -q .; do
		i=$((i + 1))
		if [ $i -gt 50 ] || ! kill -0 $SYNACK_PID 2>/dev/null; then
			cat "$TMP/synack.err"
			fail "synack did not come up"
		fi
		sleep 0.1
	done
}

# wait_pid PID SECONDS : wait for a background process, bounded; its status.
wait_pid() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt $(($2 * 10)) ]; then
			kill "$1" 2>/dev/null || true
			fail "process $1 still running after $2 s"
		fi
		sleep 0.1
	done
	rc=0
	wait "$1" || rc=$?
	return $rc
}

# check_pcap FILE : every IPv4 packet and TCP segment passes tshark's checksum
# checks, nothing is malformed, and TCP analysis finds no "ACKed unseen
# segment" (an ACK for data that never crossed the wire: a sequence-number
# bug). Dissectors above TCP are switched off: the payloads are random bytes,
# which heuristic dissectors would take for broken GSM or RSL messages. The
# HTTP dissector survives --disable-protocol ALL in tshark 4.0, and a segment
# to port 80 that happens to start with CR LF (one in 65536) is "malformed"
# HTTP; so every TCP port is also decoded as plain data.
check_pcap() {
	command -v tshark >/dev/null 2>&1 || { note "tshark missing: capture not checked"; return 0; }
	bad=$(tshark -r "$1" --disable-protocol ALL \
		--enable-protocol frame,eth,ethertype,arp,ip,icmp,tcp,data -d tcp.port==1-65535,data \
		-o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
		-o tcp.analyze_sequence_numbers:TRUE -o tcp.desegment_tcp_streams:FALSE \
		-Y "ip" -T fields -E separator=, -e frame.number -e ip.checksum.status \
		-e tcp.checksum.status -e tcp.checksum -e ip.src -e _ws.malformed \
		-e tcp.analysis.ack_lost_segment 2>/dev/null |
		awk -F, -v peer=$PEER '$6 != "" { print "malformed: " $0; next }
			$7 != "" { print "ACKed unseen segment: " $0; next }
			$2 != 1 || ($3 != "" && $3 != 1) {
			# Linux writes a TCP checksum that sums to zero as 0xffff (-0)
			# where tshark computes 0x0000 (+0); in one'"'"'s complement the
			# two are the same number (RFC 1624 3), and receivers accept
			# both. Only the kernel is allowed this: synack must write +0.
			if ($2 == 1 && $4 == "0xffff" && $5 == peer) next
			print }' | head -5)
	n=$(tshark -r "$1" 2>/dev/null | wc -l)
	if [ -n "$bad" ]; then
		cp "$1" "/tmp/interop-$TEST-$(basename "$1")" 2>/dev/null || true
		fail "tshark: bad packets in $(basename "$1") (kept in /tmp/interop-$TEST-$(basename "$1")): $bad"
	fi
	note "capture $(basename "$1"): $n frames, checksums valid, nothing malformed, no ACKed unseen segment"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
