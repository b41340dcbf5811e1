#!/bin/sh
# Linux -> synack: ping is answered (ICMP echo), and the capture is valid.
. "$(dirname "$0")/lib.sh"
need ping
enter_lab
synack_bg listen 5000 --discard $NET --pcap "$TMP/ping.pcap"
ping -c 5 -i 0.2 -W 2 $ME >"$TMP/ping.out" || { cat "$TMP/ping.out"; fail "ping unanswered"; }
note "$(tail -1 "$TMP/ping.out")"
kill -INT $SYNACK_PID
wait_pid $SYNACK_PID 15 || true
check_pcap "$TMP/ping.pcap"
echo "PASS $TEST"
