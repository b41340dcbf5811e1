#!/bin/sh
# Both directions of close, as Linux sees them in `ss -tan`: the side that
# closes first ends in TIME-WAIT, the other leaves nothing behind.
. "$(dirname "$0")/lib.sh"
need python3 ss
enter_lab

# 1. Linux closes first: it must hold TIME-WAIT; synack ends CLOSED.
synack_bg listen 5000 --file "$TMP/out" $NET --pcap "$TMP/linux_first.pcap"
timeout 30 python3 "$HERE/peer.py" closefirst $ME 5000 || fail "client failed"
wait_pid $SYNACK_PID 15 || { cat "$TMP/synack.err"; fail "synack listen failed"; }
tw=$(ss -Htan state time-wait "( dport = :5000 )" | wc -l)
[ "$tw" -eq 1 ] || { ss -tan; fail "Linux closed first but has $tw TIME-WAIT sockets"; }
grep -q "final state CLOSED, TIME-WAIT records 0" "$TMP/synack.err" || { cat "$TMP/synack.err"; fail "synack kept something"; }
note "Linux closed first: ss shows TIME-WAIT: $(ss -Htan state time-wait "( dport = :5000 )" | tr -s ' ')"
note "synack: $(grep -o 'final state.*' "$TMP/synack.err")"
check_pcap "$TMP/linux_first.pcap"

# 2. synack closes first (stdin is empty): synack ends in TIME-WAIT, and
# Linux goes CLOSE-WAIT -> LAST-ACK -> gone.
python3 "$HERE/peer.py" echo 0.0.0.0 6000 >"$TMP/peer.out" 2>&1 &
PEER_PID=$!
i=0; until grep -q ready "$TMP/peer.out"; do i=$((i+1)); [ $i -lt 50 ] || fail "server not ready"; sleep 0.1; done
timeout 30 "$SYNACK" connect $PEER 6000 $NET --pcap "$TMP/synack_first.pcap" </dev/null \
	2>"$TMP/synack.err" || { cat "$TMP/synack.err"; fail "synack connect failed"; }
wait_pid $PEER_PID 15 || fail "server failed"
grep -q "TIME-WAIT records 1" "$TMP/synack.err" || { cat "$TMP/synack.err"; fail "synack not in TIME_WAIT"; }
left=$(ss -Htan "( sport = :6000 )" | wc -l)
[ "$left" -eq 0 ] || { ss -tan; fail "synack closed first but Linux kept: $(ss -Htan '( sport = :6000 )')"; }
note "synack closed first: synack $(grep -o 'final state.*' "$TMP/synack.err"); Linux: nothing left"
check_pcap "$TMP/synack_first.pcap"
echo "PASS $TEST"
