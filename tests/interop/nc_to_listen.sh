#!/bin/sh
# Linux -> synack: nc sends 100 MB to `synack listen --file` and to
# `synack listen --discard`; the bytes written and the sha256 synack reports
# both match what was sent. (No capture here: tshark needs half a minute for
# 100 MB; the capture checks are in the smaller tests.)
. "$(dirname "$0")/lib.sh"
need nc sha256sum
enter_lab
MB=${INTEROP_MB:-100}
head -c $((MB * 1000000)) /dev/urandom >"$TMP/in"
want=$(sha "$TMP/in")

synack_bg listen 5000 --file "$TMP/out" $NET
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
echo "PASS $TEST"
