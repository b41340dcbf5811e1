#!/bin/sh
# SIGINT on `synack connect` to a Linux server, the connection idle (synack's
# stdin is a FIFO kept open, so it has nothing to send and no end of input):
#   1. one SIGINT: synack sends its FIN, the server closes in turn, synack
#      exits 0; the capture holds synack's FIN, then Linux's, and no RST.
#   2. a server that reads synack's FIN but never closes leaves synack in
#      FIN-WAIT-2; a second SIGINT aborts: synack sends a RST and exits 130;
#      the capture holds synack's FIN, then its RST, and no FIN from Linux.
#   3. `synack listen --discard` (no input of its own) with an idle Linux
#      client: one SIGINT sends synack's FIN at once, the client closes in
#      turn, synack exits 0.
. "$(dirname "$0")/lib.sh"
need python3 tshark
enter_lab
PORT=7100

# server.py PORT close|stay: accept one connection, stay idle until end of
# stream, then close, or hold the connection open without closing.
cat >"$TMP/server.py" <<'EOF'
import socket, sys, time
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", int(sys.argv[1])))
ls.listen(1)
ls.settimeout(20)
print("ready", flush=True)
c, _ = ls.accept()
print("connected", flush=True)
c.settimeout(60)
while c.recv(65536):
    pass
print("eof", flush=True)
if sys.argv[2] == "stay":
    time.sleep(60)
c.close()
print("closed", flush=True)
EOF

# wait_for FILE WORD SECONDS : until WORD is a line of FILE, bounded.
wait_for() {
	i=0
	until grep -qx "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt $(($3 * 10)) ]; then
			cat "$1" "$TMP/synack.err" 2>/dev/null || true
			fail "no '$2' in $(basename "$1") after $3 s"
		fi
		sleep 0.1
	done
}

# start_synack PCAP : `synack connect` in the background, stdin the FIFO;
# SYNACK_PID. (Not synack_bg: an asynchronous command's stdin is /dev/null,
# unless redirected on the command itself.)
start_synack() {
	"$SYNACK" connect $PEER $PORT $NET --ladder --pcap "$1" <"$TMP/in" 2>"$TMP/synack.err" &
	SYNACK_PID=$!
}
mkfifo "$TMP/in"
exec 3<>"$TMP/in"   # a writer that never writes: synack's input stays open

# segs PCAP : one line per segment with FIN or RST: "SRC fin rst".
segs() {
	tshark -r "$1" -Y "tcp.flags.fin == 1 || tcp.flags.reset == 1" -T fields \
		-e ip.src -e tcp.flags.fin -e tcp.flags.reset 2>/dev/null |
		sed 's/True/1/g; s/False/0/g' | tr '\t' ' ' | tr '\n' ';'
}

# ---- 1. one SIGINT: graceful close ----
timeout 30 python3 "$TMP/server.py" $PORT close >"$TMP/server1.out" 2>&1 &
SERVER_PID=$!
wait_for "$TMP/server1.out" ready 10
start_synack "$TMP/graceful.pcap"
wait_for "$TMP/server1.out" connected 10
sleep 0.3
t0=$(date +%s%N)
kill -INT $SYNACK_PID
wait_for "$TMP/server1.out" closed 10
rc=0
wait_pid $SYNACK_PID 15 || rc=$?
t1=$(date +%s%N)
cp "$TMP/synack.err" "$TMP/synack1.err"
wait_pid $SERVER_PID 5 || fail "server 1 failed: $(cat "$TMP/server1.out")"
[ $rc = 0 ] || { cat "$TMP/synack1.err"; fail "after one SIGINT synack exited with $rc, not 0"; }
grep -q "interrupted: closing" "$TMP/synack1.err" ||
	{ cat "$TMP/synack1.err"; fail "synack did not report the first SIGINT"; }
note "one SIGINT: synack exited 0 after $(((t1 - t0) / 1000000)) ms;" \
	"$(grep -o 'final state [A-Z_-]*' "$TMP/synack1.err")"
check_pcap "$TMP/graceful.pcap"
order=$(segs "$TMP/graceful.pcap")
case $order in
"$ME 1 0;$PEER 1 0;") note "graceful close, FIN then FIN, no RST: $order" ;;
*) fail "after one SIGINT expected synack's FIN then Linux's and no RST, got: $order" ;;
esac

# ---- 2. a peer that never closes, and a second SIGINT: abort ----
timeout 60 python3 "$TMP/server.py" $PORT stay >"$TMP/server2.out" 2>&1 &
SERVER_PID=$!
wait_for "$TMP/server2.out" ready 10
start_synack "$TMP/abort.pcap"
wait_for "$TMP/server2.out" connected 10
sleep 0.3
kill -INT $SYNACK_PID
# The server has read synack's FIN and holds its side open.
wait_for "$TMP/server2.out" eof 10
sleep 0.5
kill -0 $SYNACK_PID 2>/dev/null ||
	{ cat "$TMP/synack.err"; fail "synack exited although the peer has not closed"; }
grep -q "FIN_WAIT_2\|FIN-WAIT-2" "$TMP/synack.err" ||
	{ cat "$TMP/synack.err"; fail "synack's ladder never shows FIN-WAIT-2"; }
t0=$(date +%s%N)
kill -INT $SYNACK_PID
rc=0
wait_pid $SYNACK_PID 10 || rc=$?
t1=$(date +%s%N)
kill $SERVER_PID 2>/dev/null || true
wait $SERVER_PID 2>/dev/null || true
[ $rc = 130 ] || { cat "$TMP/synack.err"; fail "after a second SIGINT synack exited with $rc, not 130"; }
grep -q "interrupted again: aborting" "$TMP/synack.err" ||
	{ cat "$TMP/synack.err"; fail "synack did not report the second SIGINT"; }
note "second SIGINT in FIN-WAIT-2: synack exited 130 after $(((t1 - t0) / 1000000)) ms"
check_pcap "$TMP/abort.pcap"
order=$(segs "$TMP/abort.pcap")
case $order in
"$ME 1 0;$ME 0 1;") note "abort: synack's FIN, then its RST, no FIN from Linux: $order" ;;
*) fail "after two SIGINTs expected synack's FIN then its RST, got: $order" ;;
esac
# ---- 3. listen --discard: a server with no input of its own ----
cat >"$TMP/client.py" <<'EOF'
import socket, sys, time
for _ in range(50):
    try:
        c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit("never connected")
print("connected", flush=True)
while c.recv(65536):
    pass
print("eof", flush=True)
c.close()
print("closed", flush=True)
EOF
synack_bg listen $PORT --discard $NET --pcap "$TMP/listen.pcap"
timeout 30 python3 "$TMP/client.py" $ME $PORT >"$TMP/client.out" 2>&1 &
CLIENT_PID=$!
wait_for "$TMP/client.out" connected 15
sleep 0.3
kill -INT $SYNACK_PID
wait_for "$TMP/client.out" closed 10
rc=0
wait_pid $SYNACK_PID 15 || rc=$?
wait $CLIENT_PID 2>/dev/null || true
[ $rc = 0 ] || { cat "$TMP/synack.err"; fail "listen --discard exited with $rc after one SIGINT, not 0"; }
check_pcap "$TMP/listen.pcap"
order=$(segs "$TMP/listen.pcap")
case $order in
"$ME 1 0;$PEER 1 0;") note "listen --discard: one SIGINT, synack's FIN first, no RST: $order" ;;
*) fail "listen --discard after one SIGINT: expected synack's FIN then Linux's, got: $order" ;;
esac
echo "PASS $TEST"
