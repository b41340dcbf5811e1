#!/bin/sh
# Simultaneous open: synack (port 5000) and a Linux socket (port 6000)
# connect to each other at the same time and both reach ESTABLISHED. synack's
# netif delays frames 1 s each way so that both SYNs are in flight at once,
# with a second and more to spare on either side (a sanitizer build starts
# slowly; with 500 ms the margin was 0.3 s and the test failed there).
. "$(dirname "$0")/lib.sh"
need python3 tshark
enter_lab
( sleep 8 ) | "$SYNACK" connect $PEER 6000 --local-port 5000 --delay 1000 --ladder $NET \
	--pcap "$TMP/simopen.pcap" >/dev/null 2>"$TMP/synack.err" &
SYNACK_PID=$!
i=0
until ip -4 addr show dev sn0 2>/dev/null | grep -q "$PEER/"; do
	i=$((i+1)); [ $i -lt 50 ] || fail "synack did not come up"; sleep 0.1
done
# synack is in SYN-SENT from the start; its SYN reaches Linux at about 3 s
# (the ARP request and reply, then the SYN, 1 s each). Linux's SYN, sent at
# about 1.2 s, reaches synack at about 2.2 s.
sleep 1.2
linux=$(timeout 30 python3 "$HERE/peer.py" simopen $PEER 6000 $ME 5000) || { cat "$TMP/synack.err"; fail "Linux connect failed"; }
wait_pid $SYNACK_PID 30 || { cat "$TMP/synack.err"; fail "synack connect failed"; }
[ "$linux" = ESTABLISHED ] || fail "Linux: $linux"
grep -q "SYN_SENT -> SYN_RECEIVED" "$TMP/synack.err" || { cat "$TMP/synack.err"; fail "synack did not see a simultaneous open"; }
grep -q "SYN_RECEIVED -> ESTABLISHED" "$TMP/synack.err" || { cat "$TMP/synack.err"; fail "synack did not reach ESTABLISHED"; }
bare=$(tshark -r "$TMP/simopen.pcap" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0" 2>/dev/null | wc -l)
[ "$bare" -ge 2 ] || fail "expected a bare SYN each way, saw $bare"
note "Linux: $linux; synack: $(grep -E -- '-> (SYN_RECEIVED|ESTABLISHED)' "$TMP/synack.err" | sed 's/^ *[0-9.]* *//' | tr '\n' ';')"
check_pcap "$TMP/simopen.pcap"
echo "PASS $TEST"
