#!/bin/sh
# synack -> Linux: `synack connect` to a Python server moves 100 MB each way
# at the same time, intact (sha256 of both directions).
. "$(dirname "$0")/lib.sh"
need python3 sha256sum
enter_lab
MB=${INTEROP_MB:-100}
head -c $((MB * 1000000)) /dev/urandom >"$TMP/up"
head -c $((MB * 1000000)) /dev/urandom >"$TMP/down"
# The server must listen on the kernel's address, which exists once synack
# has set up sn0: start synack in a subshell that waits for the server.
python3 "$HERE/peer.py" serve 0.0.0.0 6000 "$TMP/down" "$TMP/got_up" >"$TMP/peer.out" 2>&1 &
PEER_PID=$!
i=0; until grep -q ready "$TMP/peer.out"; do i=$((i+1)); [ $i -lt 50 ] || fail "server not ready"; sleep 0.1; done
start=$(date +%s.%N)
timeout 120 "$SYNACK" connect $PEER 6000 --file "$TMP/up" $NET >"$TMP/got_down" 2>"$TMP/synack.err" ||
	{ cat "$TMP/synack.err"; fail "synack connect failed"; }
end=$(date +%s.%N)
wait_pid $PEER_PID 30 || { cat "$TMP/peer.out"; fail "server failed"; }
[ "$(sha "$TMP/got_up")" = "$(sha "$TMP/up")" ] || fail "synack -> Linux: sha256 differs"
[ "$(sha "$TMP/got_down")" = "$(sha "$TMP/down")" ] || fail "Linux -> synack: sha256 differs"
note "$(grep received "$TMP/synack.err")"
note "$MB MB each way in $(echo "$end - $start" | bc 2>/dev/null || echo "?") s (wall, including setup)"
echo "PASS $TEST"
