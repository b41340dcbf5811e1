#!/bin/sh
# The blocking layer (sn_loop_connect/accept/send_all/recv/close) against
# Linux: tests/interop/blocking.c connects to a Python echo server and gets
# 1 MB back intact, times out a recv on a silent connection at 200 ms, then
# accepts a connection from nc, reads its line and answers it. The TAP
# device is made persistent and configured here with `ip`, as --host-addr
# does for the synack command, and the program attaches to it.
. "$(dirname "$0")/lib.sh"
need python3 nc
enter_lab
PROG=${SN_INTEROP_BLOCKING:-}
[ -n "$PROG" ] && [ -x "$PROG" ] ||
	skip "SN_INTEROP_BLOCKING does not name the interop_blocking program (run through ctest)"
ECHO_PORT=6001
LISTEN_PORT=7001

ip tuntap add dev sn0 mode tap
ip addr add $PEER/24 dev sn0
ip link set sn0 up

python3 "$HERE/peer.py" echo 0.0.0.0 $ECHO_PORT >"$TMP/peer.out" 2>&1 &
PEER_PID=$!
i=0
until grep -q ready "$TMP/peer.out"; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "echo server not ready"; sleep 0.1
done

timeout 120 "$PROG" sn0 $ME/24 $PEER $ECHO_PORT $LISTEN_PORT "$TMP/blocking.pcap" \
	>"$TMP/prog.out" 2>&1 &
PROG_PID=$!
i=0
until grep -q '^accepting' "$TMP/prog.out"; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 $PROG_PID 2>/dev/null; then
		cat "$TMP/prog.out"
		fail "the program never reached sn_loop_accept"
	fi
	sleep 0.1
done
line="hello from Linux nc $$"
reply=$(printf '%s\n' "$line" | timeout 20 nc -N $ME $LISTEN_PORT) ||
	{ cat "$TMP/prog.out"; fail "nc failed"; }
rc=0
wait_pid $PROG_PID 40 || rc=$?
sed "s/^/$TEST: /" "$TMP/prog.out"
[ $rc = 0 ] || fail "interop_blocking exited with $rc"
[ "$reply" = "synack got: $line" ] || fail "nc got '$reply'"
note "nc got: '$reply'"
wait_pid $PEER_PID 10 || { cat "$TMP/peer.out"; fail "echo server failed"; }
check_pcap "$TMP/blocking.pcap"
# Both connections ended with a FIN each way and no RST.
command -v tshark >/dev/null 2>&1 || { echo "PASS $TEST (FINs not counted: no tshark)"; exit 0; }
fins=$(tshark -r "$TMP/blocking.pcap" -Y "tcp.flags.fin == 1" 2>/dev/null | wc -l)
rsts=$(tshark -r "$TMP/blocking.pcap" -Y "tcp.flags.reset == 1" 2>/dev/null | wc -l)
[ "$rsts" = 0 ] || fail "$rsts RST segment(s) in the capture"
[ "$fins" -ge 4 ] || fail "only $fins FIN segment(s) in the capture, expected 4"
note "capture: $fins FINs, no RST"
echo "PASS $TEST"
