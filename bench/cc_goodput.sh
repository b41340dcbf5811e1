#!/bin/sh
# bench/cc_goodput.sh BUILD_DIR [SECONDS] - goodput of NewReno and CUBIC,
# with and without SACK, on a 100 Mbit/s path with a 20 ms RTT, a one-BDP
# tail-drop queue and 1 % random loss on the data direction.
#
# synack: two stacks on the memlink, virtual time, mean of three seeds.
# Linux:  the kernel's TCP at both ends, in two network namespaces made here
#         (sncc-<pid>-a, -b, addresses 198.18.7.0/24), joined by TAP devices
#         and a forwarder that runs the same memlink model on the real clock
#         ("reno" is Linux's NewReno; net.ipv4.tcp_sack set in both).
#         Skipped, with the reason, without root or `ip netns`.
#
# Prints one table, and writes the figures as JSON lines to
# BUILD_DIR/bench/cc_goodput.json. The namespaces are deleted on exit,
# failure or interrupt.
# Every process started here is ended by its pid. Figures, not verdicts.
set -u
BUILD=$(cd "${1:-build}" && pwd)
T=${2:-20}
BIN=$BUILD/bench/cc_goodput
PFX=sncc-$$
NA=$PFX-a
NB=$PFX-b
PIDS=""
TMP=$(mktemp -d)

cleanup() {
	trap - EXIT INT TERM HUP
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for ns in "$NA" "$NB"; do
		if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns"; then
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
			ip netns del "$ns" 2>/dev/null
		fi
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM HUP

[ -x "$BIN" ] || { echo "cc_goodput.sh: build first ($BIN missing)" >&2; exit 2; }

echo "cc_goodput: synack, $T s of virtual time per run, 3 seeds each" >&2
"$BIN" --seconds "$T" --seeds 3 >"$TMP/synack" || exit 1

# snmp COUNTER: a TCP counter of namespace $NA (Tcp: in snmp, TcpExt: in netstat).
counter() {
	ip netns exec "$NA" cat /proc/net/snmp /proc/net/netstat | awk -v want="$1" '
		/^(Tcp|TcpExt):/ { if (!hdr[$1]) { hdr[$1] = 1; for (i = 2; i <= NF; i++) name[$1, i] = $i; next }
		                   for (i = 2; i <= NF; i++) if (name[$1, i] == want) print $i }'
}

kernel=1
if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
	kernel=0
	echo "cc_goodput: no network namespaces here (needs root and iproute2): kernel skipped" >&2
elif ! command -v python3 >/dev/null 2>&1; then
	kernel=0
	echo "cc_goodput: python3 missing: kernel skipped" >&2
fi

if [ $kernel = 1 ]; then
	ip netns add "$NA" && ip netns add "$NB" || exit 1
	ip -n "$NA" link set lo up
	ip -n "$NB" link set lo up
	"$BIN" --forward "$NA" "$NB" --seconds $((T * 4 + 20)) >"$TMP/fwd" 2>&1 &
	FPID=$!
	PIDS="$PIDS $FPID"
	i=0
	until grep -q ready "$TMP/fwd" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 50 ] || ! kill -0 "$FPID" 2>/dev/null; then
			echo "cc_goodput: forwarder did not start:" >&2
			cat "$TMP/fwd" >&2
			exit 1
		fi
		sleep 0.1
	done
	ip -n "$NA" addr add 198.18.7.1/24 dev snccA
	ip -n "$NB" addr add 198.18.7.2/24 dev snccB
	ip -n "$NA" link set snccA up
	ip -n "$NB" link set snccB up
	for ns in "$NA" "$NB"; do
		# Buffers as large as synack's 8 MiB, so the window never limits.
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 131072 8388608" 2>/dev/null
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_wmem="4096 131072 8388608" 2>/dev/null
	done
	for algo in reno cubic; do
		for sack in 1 0; do
			for ns in "$NA" "$NB"; do
				ip netns exec "$ns" sysctl -qw net.ipv4.tcp_sack=$sack
			done
			r0=$(counter RetransSegs); o0=$(counter TCPTimeouts)
			ip netns exec "$NB" python3 -c '
import socket, sys, time
T = float(sys.argv[1])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("198.18.7.2", 5001)); l.listen(1); l.settimeout(10)
c, _ = l.accept(); c.settimeout(1)
got, t0 = 0, time.monotonic()
while time.monotonic() - t0 < T:
    try:
        b = c.recv(1 << 20)
    except socket.timeout:
        continue
    if not b:
        break
    got += len(b)
print("%.2f" % (got * 8 / (time.monotonic() - t0) / 1e6))
' "$T" >"$TMP/rx" 2>&1 &
			RX=$!
			PIDS="$PIDS $RX"
			sleep 0.5
			ip netns exec "$NA" python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[1].encode())
s.connect(("198.18.7.2", 5001))
buf = bytes(1 << 16); end = time.monotonic() + float(sys.argv[2]) + 3
try:
    while time.monotonic() < end:
        s.send(buf)
except OSError:
    pass
' "$algo" "$T" >/dev/null 2>&1 &
			TX=$!
			PIDS="$PIDS $TX"
			wait "$RX"
			kill "$TX" 2>/dev/null
			wait "$TX" 2>/dev/null
			r1=$(counter RetransSegs); o1=$(counter TCPTimeouts)
			name=$algo; [ "$algo" = reno ] && name=newreno
			s=nosack; [ $sack = 1 ] && s=sack
			echo "kernel $name $s $(tail -1 "$TMP/rx") $((r1 - r0)) $((o1 - o0))" >>"$TMP/kernel"
			sleep 1
		done
	done
fi

printf '\n100 Mbit/s, 20 ms RTT, 1 %% loss on the data path, %s s per run\n' "$T"
printf '%-9s %-6s %14s %14s %7s %16s %16s\n' algorithm SACK "synack Mbit/s" "Linux Mbit/s" ratio \
	"synack rexmt/RTO" "Linux rexmt/RTO"
JSON=$BUILD/bench/cc_goodput.json
mkdir -p "$BUILD/bench"
: >"$JSON"
while read -r _ algo sack mbps rexmt rto _rec; do
	k=$(awk -v a="$algo" -v s="$sack" '$2 == a && $3 == s { print $4, $5, $6 }' "$TMP/kernel" 2>/dev/null)
	if [ -n "$k" ]; then
		set -- $k
		ratio=$(awk -v x="$mbps" -v y="$1" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "-" }')
		printf '%-9s %-6s %14s %14s %7s %16s %16s\n' "$algo" "$sack" "$mbps" "$1" "$ratio" "$rexmt/$rto" "$2/$3"
		printf '{"name":"cc_goodput_%s_%s","synack_mbps":%s,"kernel_mbps":%s,"seconds":%s}\n' \
			"$algo" "$sack" "$mbps" "$1" "$T" >>"$JSON"
	else
		printf '{"name":"cc_goodput_%s_%s","synack_mbps":%s,"seconds":%s}\n' \
			"$algo" "$sack" "$mbps" "$T" >>"$JSON"
		printf '%-9s %-6s %14s %14s %7s %16s %16s\n' "$algo" "$sack" "$mbps" - - "$rexmt/$rto" -
	fi
done <"$TMP/synack"
