#!/bin/sh
# synack -> Linux, the three ways a connection fails, as a POSIX program
# sees them: a closed port gives ECONNREFUSED, a server that aborts
# (SO_LINGER 0) gives ECONNRESET, a server that never answers gives
# ETIMEDOUT after --syn-retries SYN retransmissions (counted in the capture).
. "$(dirname "$0")/lib.sh"
need python3
enter_lab

# expect_error NAME PCAP ARGS... : synack connect must fail with NAME.
expect_error() {
	name=$1; pcap=$2; shift 2
	rc=0
	timeout 60 "$SYNACK" connect "$@" $NET --pcap "$TMP/$pcap" </dev/null >/dev/null \
		2>"$TMP/synack.err" || rc=$?
	[ $rc -ne 0 ] || fail "$name: synack connect succeeded"
	grep -q "connection failed: $name" "$TMP/synack.err" ||
		{ cat "$TMP/synack.err"; fail "expected $name"; }
	note "$name: $(grep 'connection failed' "$TMP/synack.err")"
	check_pcap "$TMP/$pcap"
}

# 1. Nothing listens on 6001: the kernel answers the SYN with RST,ACK.
expect_error ECONNREFUSED refused.pcap $PEER 6001

# 2. The server accepts, then closes with SO_LINGER 0. synack sends nothing
# and its stdin stays open, so it learns of the RST from the RST itself.
python3 "$HERE/peer.py" abort 0.0.0.0 6002 >"$TMP/peer.out" 2>&1 &
i=0; until grep -q ready "$TMP/peer.out"; do i=$((i+1)); [ $i -lt 50 ] || fail "server not ready"; sleep 0.1; done
rc=0
timeout 60 sh -c "sleep 5 | '$SYNACK' connect $PEER 6002 $NET --pcap '$TMP/reset.pcap'" \
	>/dev/null 2>"$TMP/synack.err" || rc=$?
grep -q "connection failed: ECONNRESET" "$TMP/synack.err" ||
	{ cat "$TMP/synack.err"; fail "expected ECONNRESET"; }
note "ECONNRESET: $(grep 'connection failed' "$TMP/synack.err")"
check_pcap "$TMP/reset.pcap"

# 3. A listener whose accept queue is full: Linux drops the SYNs silently.
# With --syn-retries 2 synack gives up after 1 + 2 + 4 s.
sysctl -qw net.ipv4.tcp_syncookies=0 2>/dev/null || true
ip link set lo up
python3 "$HERE/peer.py" blackhole 0.0.0.0 6003 >"$TMP/hole.out" 2>&1 &
HOLE_PID=$!
start=$(date +%s)
# The listener needs the kernel's address for the filling connections only
# on loopback, so it can start before synack.
i=0; until grep -q full "$TMP/hole.out"; do i=$((i+1)); [ $i -lt 50 ] || fail "blackhole not ready"; sleep 0.1; done
expect_error ETIMEDOUT timeout.pcap $PEER 6003 --syn-retries 2
took=$(($(date +%s) - start))
syns=$(tshark -r "$TMP/timeout.pcap" -Y "tcp.flags.syn == 1 && ip.src == $ME" 2>/dev/null | wc -l)
[ "$syns" -eq 3 ] || fail "ETIMEDOUT after $syns SYNs, expected 3 (1 + 2 retries)"
note "ETIMEDOUT after $syns SYNs in about $took s"
kill $HOLE_PID 2>/dev/null || true
echo "PASS $TEST"
