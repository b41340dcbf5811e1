#!/bin/sh
# 2 % loss injected on synack's netif in both directions (the impairment
# filter, --loss 2): 20 MB each way between synack connect and a Python
# server still arrive intact. With fast retransmit and SACK recovery this
# takes about 30 s here (it took 175 s when every loss cost an RTO).
. "$(dirname "$0")/lib.sh"
need python3 sha256sum
TEST_TIMEOUT=${LOSS_TIMEOUT:-240}
enter_lab
MB=${INTEROP_LOSS_MB:-20}
head -c $((MB * 1000000)) /dev/urandom >"$TMP/up"
head -c $((MB * 1000000)) /dev/urandom >"$TMP/down"
python3 "$HERE/peer.py" serve 0.0.0.0 6000 "$TMP/down" "$TMP/got_up" >"$TMP/peer.out" 2>&1 &
PEER_PID=$!
i=0; until grep -q ready "$TMP/peer.out" 2>/dev/null; do i=$((i+1)); [ $i -lt 50 ] || fail "server not ready"; sleep 0.1; done
timeout $((TEST_TIMEOUT - 30)) "$SYNACK" connect $PEER 6000 --file "$TMP/up" --loss 2 --seed 7 $NET \
	>"$TMP/got_down" 2>"$TMP/synack.err" || { cat "$TMP/synack.err"; fail "synack connect failed"; }
wait_pid $PEER_PID 60 || { cat "$TMP/peer.out"; fail "server failed"; }
[ "$(sha "$TMP/got_up")" = "$(sha "$TMP/up")" ] || fail "synack -> Linux: sha256 differs"
[ "$(sha "$TMP/got_down")" = "$(sha "$TMP/down")" ] || fail "Linux -> synack: sha256 differs"
note "$(grep received "$TMP/synack.err")"
echo "PASS $TEST"
