#!/bin/sh
# Linux -> synack: nc sends 100 MB to `synack listen --file` (with 1 MiB
# socket buffers, so the window is scaled), to `synack listen --discard` and
# to `synack listen --discard --no-hash`; the bytes written and the sha256
# synack reports match what was sent. (No capture here: tshark needs half a minute for
# 100 MB; the capture checks are in the smaller tests.)
. "$(dirname "$0")/lib.sh"
need nc sha256sum
enter_lab
MB=${INTEROP_MB:-100}
head -c $((MB * 1000000)) /dev/urandom >"$TMP/in"
want=$(sha "$TMP/in")

# Buffer sizes out of range are refused (usage error, exit 2) before anything starts.
rc=0; timeout 5 "$SYNACK" listen 5000 --rcvbuf 100 $NET 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "--rcvbuf 100 not refused (exit $rc)"
rc=0; timeout 5 "$SYNACK" listen 5000 --sndbuf 2000000000 $NET 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "--sndbuf 2e9 not refused (exit $rc)"

synack_bg listen 5000 --file "$TMP/out" --rcvbuf 1048576 --sndbuf 1048576 $NET
timeout 60 nc -N $ME 5000 <"$TMP/in" || fail "nc to --file failed"
wait_pid $SYNACK_PID 30 || { cat "$TMP/synack.err"; fail "synack listen --file failed"; }
[ "$(sha "$TMP/out")" = "$want" ] || fail "--file: sha256 differs"
note "$(grep received "$TMP/synack.err")"

# The TAP went away with the first synack; the second makes it again.
synack_bg listen 5001 --discard $NET
timeout 60 nc -N $ME 5001 <"$TMP/in" || fail "nc to --discard failed"
wait_pid $SYNACK_PID 30 || { cat "$TMP/synack.err"; fail "synack listen --discard failed"; }
grep -q "received $((MB * 1000000)) bytes (sha256 $want)" "$TMP/synack.err" ||
	{ cat "$TMP/synack.err"; fail "--discard: wrong count or sha256"; }
note "$(grep received "$TMP/synack.err")"

synack_bg listen 5002 --discard --no-hash $NET
timeout 60 nc -N $ME 5002 <"$TMP/in" || fail "nc to --discard --no-hash failed"
wait_pid $SYNACK_PID 30 || { cat "$TMP/synack.err"; fail "synack listen --no-hash failed"; }
grep -q "received $((MB * 1000000)) bytes (sha256 not computed)" "$TMP/synack.err" ||
	{ cat "$TMP/synack.err"; fail "--no-hash: wrong count"; }
note "$(grep received "$TMP/synack.err")"
echo "PASS $TEST"
