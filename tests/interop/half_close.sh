#!/bin/sh
# Linux -> synack: a client that sends its request and half-closes (SHUT_WR)
# still receives synack's reply afterwards (synack listen --echo answers
# after the client's FIN has arrived, then closes).
. "$(dirname "$0")/lib.sh"
need python3
enter_lab
synack_bg listen 5000 --echo $NET --pcap "$TMP/half.pcap"
msg="request sent before the half-close"
got=$(timeout 30 python3 "$HERE/peer.py" halfclose $ME 5000 "$msg") || fail "client failed"
[ "$got" = "$msg" ] || fail "reply after half-close: got '$got'"
wait_pid $SYNACK_PID 15 || { cat "$TMP/synack.err"; fail "synack listen --echo failed"; }
note "reply received after SHUT_WR: '$got'"
check_pcap "$TMP/half.pcap"
# The client's FIN (it rides on the request: peer.py corks) comes before
# synack's data in the capture, and synack's FIN after its data.
order=$(tshark -r "$TMP/half.pcap" -Y "tcp.flags.fin == 1 || tcp.len > 0" -T fields \
	-e ip.src -e tcp.flags.fin -e tcp.len 2>/dev/null | tr '\t' ' ' | tr '\n' ';')
case $order in
"$PEER 1 "*";$ME 0 "*";$ME 1 0;" | "$PEER 0 "*";$PEER 1 0;$ME 0 "*";$ME 1 0;") note "order: $order" ;;
*) fail "unexpected order of data and FINs: $order" ;;
esac
echo "PASS $TEST"
