#!/bin/sh
# bench/run.sh BUILD_DIR - every benchmark of `make bench`, synack beside the
# Linux kernel in the same run; one table on stdout, the figures as JSON in
# BUILD_DIR/bench/results.json (raw lines in results.jsonl).
#
#   BENCH_QUICK=1   shorter runs and N up to 100k (about a minute)
#   BENCH_ONLY=LIST run only these groups: bulk crr mem scale tap instr cc
#                   (cc: congestion control on a lossy path, bench/cc_goodput.sh,
#                   printed as its own table after the main one)
#
# The kernel's side runs inside network namespaces made here (snb-<pid>-*),
# with addresses from 198.18.0.0/15 only; they are deleted on exit, on failure
# and on interrupt. The root namespace's interfaces and routes are never
# touched. Every loop is bounded in time; every process this script starts is
# ended by its pid. Benchmarks print figures: they do not pass or fail.
set -u
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SNB=$BUILD/bench/sn_bench
KB=$BUILD/bench/kbench
SYNACK=$BUILD/synack
OUT=$BUILD/bench
RAW=$OUT/results.jsonl
QUICK=${BENCH_QUICK:-0}
ONLY=${BENCH_ONLY:-bulk crr mem scale tap instr cc}
PFX=snb-$$
PIDS=""

if [ "$QUICK" = 1 ]; then
	T=1; NS_MEM="10000 100000"; NS_SCALE="0 10000 100000"; CG_BYTES=5000000; CG_CONNS=1000
else
	T=2; NS_MEM="10000 100000 1000000"; NS_SCALE="0 10000 100000 1000000"; CG_BYTES=10000000; CG_CONNS=3000
fi
# One core for single-core work; the other for the far side of the TAP runs.
CPU=${BENCH_CPU:-1}
OTHER=$((1 - CPU))

note() { echo "bench: $*" >&2; }

cleanup() {
	trap - EXIT INT TERM HUP
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-"); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM HUP

have_netns=1
if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
	have_netns=0
	note "no network namespaces here (needs root and iproute2): kernel figures skipped"
fi

# emit NAME SIDE JSON : one raw result line.
emit() {
	[ -n "$3" ] || { note "$1 ($2): no result"; return; }
	printf '{"name":"%s","side":"%s","data":%s}\n' "$1" "$2" "$3" >>"$RAW"
}

# in NS CMD... : run in namespace NS, bounded.
in_ns() { ns=$1; shift; timeout -k 2 120 ip netns exec "$ns" "$@"; }

mkns() {
	ip netns add "$PFX-$1" && ip -n "$PFX-$1" link set lo up
}

# Kernel bulk flow from namespace $1 to $3:PORT in $2; sender and receiver on
# cores $4 and $5. Prints the receiver's and the sender's JSON, one line.
kernel_flow() {
	in_ns "$PFX-$2" taskset -c "$5" "$KB" recv --port 5201 --seconds "$T" >"$OUT/recv.json" &
	rp=$!
	PIDS="$PIDS $rp"
	sleep 0.2
	s=$(in_ns "$PFX-$1" taskset -c "$4" "$KB" send --to "$3:5201" --seconds "$T")
	wait "$rp"
	r=$(cat "$OUT/recv.json")
	# Throughput from the receiver's clock; CPU time of both ends.
	python3 -c 'import json,sys
r=json.loads(sys.argv[1]); s=json.loads(sys.argv[2])
cpu=r["cpu_s"]+s["cpu_s"]; gb=r["bytes"]/1e9
print(json.dumps({"bytes":r["bytes"],"wall_s":r["wall_s"],"gbps":r["gbps"],"cpu_s":cpu,
 "cpu_s_per_gb":cpu/gb if gb else 0,"send_cpu_s":s["cpu_s"],"recv_cpu_s":r["cpu_s"]}))' "$r" "$s"
}

bench_bulk() {
	note "bulk: synack over the memlink, kernel over veth and loopback (${T} s each)"
	# MTU 1500 with the memlink's offload mode (TSO, checksum offload,
	# super-segments carried whole), as the kernel's veth has; and without,
	# for comparison.
	emit bulk_mtu1500 synack "$(taskset -c $CPU "$SNB" bulk --mtu 1500 --seconds $T --offload)"
	emit bulk_mtu1500_nooffload synack "$(taskset -c $CPU "$SNB" bulk --mtu 1500 --seconds $T)"
	for mtu in 9000 65535; do
		emit "bulk_mtu$mtu" synack "$(taskset -c $CPU "$SNB" bulk --mtu $mtu --seconds $T)"
	done
	[ $have_netns = 1 ] || return
	mkns a && mkns b || return
	ip -n $PFX-a link add va type veth peer name vb netns $PFX-b
	ip -n $PFX-a addr add 198.18.1.1/24 dev va && ip -n $PFX-a link set va up
	ip -n $PFX-b addr add 198.18.1.2/24 dev vb && ip -n $PFX-b link set vb up
	emit bulk_mtu1500 kernel "$(kernel_flow a b 198.18.1.2 $CPU $CPU)"
	mkns lo
	ip -n $PFX-lo addr add 198.18.0.1/32 dev lo
	ip -n $PFX-lo link set lo mtu 9000
	emit bulk_mtu9000 kernel "$(kernel_flow lo lo 198.18.0.1 $CPU $CPU)"
	ip -n $PFX-lo link set lo mtu 65536
	emit bulk_mtu65535 kernel "$(kernel_flow lo lo 198.18.0.1 $CPU $CPU)"
	ip netns del $PFX-lo
}

# median FILE... : the JSON line (one per file) with the median conns_per_s,
# with every round's figure added as "rounds", in the order run (the files'
# order; a missing or failed round counts as 0, so the rounds of the two
# sides still pair up).
median() {
	python3 -c 'import json,sys
def rd(f):
    try:
        return json.loads(open(f).read())
    except (OSError, ValueError):
        return {}
ds=[rd(f) for f in sys.argv[1:]]
rounds=[d.get("conns_per_s", 0) for d in ds]
ds=sorted((d for d in ds if d.get("conns_per_s")), key=lambda d: d["conns_per_s"])
if ds:
    m=dict(ds[len(ds)//2]); m["rounds"]=rounds
    print(json.dumps(m))' "$@" 2>/dev/null
}

bench_crr() {
	# Short-connection rates move by up to half from one second to the next
	# on this shared machine, in both stacks: many short rounds, each synack
	# round followed at once by the kernel's, and the median of each side
	# (report.py also gives the median of the ratios of those back-to-back
	# pairs). Fewer than ten rounds, so that the files sort in run order.
	if [ "$QUICK" = 1 ]; then R=5; else R=9; fi
	TC=1
	rm -f "$OUT"/crr.[snk].*
	note "short connections: connect, 64 B each way, close ($R rounds of ${TC} s each side)"
	if [ $have_netns = 1 ] && mkns crr && ip -n $PFX-crr addr add 198.18.0.1/32 dev lo; then
		in_ns $PFX-crr taskset -c $CPU "$KB" crr-server --port 5301 --seconds $((R * TC * 3 + 5)) &
		sp=$!
		PIDS="$PIDS $sp"
		sleep 0.2
	else
		sp=""
	fi
	i=1
	while [ $i -le $R ]; do
		# With the memlink's checksum offload, as the kernel's loopback
		# checksums nothing; and without, every segment summed twice.
		taskset -c $CPU "$SNB" crr --seconds $TC --count 2000000 --offload >"$OUT/crr.s.$i"
		if [ -n "$sp" ]; then
			in_ns $PFX-crr taskset -c $CPU "$KB" crr --to 198.18.0.1:5301 --seconds $TC >"$OUT/crr.k.$i"
		fi
		taskset -c $CPU "$SNB" crr --seconds $TC --count 2000000 >"$OUT/crr.n.$i"
		i=$((i + 1))
	done
	emit crr synack "$(median "$OUT"/crr.s.*)"
	emit crr_nooffload synack "$(median "$OUT"/crr.n.*)"
	[ -n "$sp" ] || return
	emit crr kernel "$(median "$OUT"/crr.k.*)"
	kill $sp 2>/dev/null
	wait $sp 2>/dev/null
	ip netns del $PFX-crr
	rm -f "$OUT"/crr.[snk].*
}

bench_mem() {
	note "memory: idle established connections and TIME-WAIT records"
	for n in $NS_MEM; do
		emit "mem_estab_$n" synack "$("$SNB" mem --n $n)"
		emit "mem_tw_$n" synack "$("$SNB" mem --n $n --tw)"
	done
	[ $have_netns = 1 ] || return
	# The kernel stops at the open-file limit (two fds per pair).
	kn=$(( ($(ulimit -n) - 100) / 2 ))
	[ $kn -gt 10000 ] && kn=10000
	mkns mem && ip -n $PFX-mem addr add 198.18.0.1/32 dev lo || return
	emit mem_estab_kernel kernel "$(in_ns $PFX-mem "$KB" mem --to 198.18.0.1:5401 --n $kn)"
	ip netns del $PFX-mem
	mkns memtw && ip -n $PFX-memtw addr add 198.18.0.1/32 dev lo || return
	emit mem_tw_kernel kernel "$(in_ns $PFX-memtw "$KB" mem --to 198.18.0.1:5402 --n 10000 --tw)"
	ip netns del $PFX-memtw
}

bench_scale() {
	note "scaling: one bulk flow beside N idle connections with keepalive armed"
	for n in $NS_SCALE; do
		emit "scale_$n" synack "$(taskset -c $CPU "$SNB" scale --n $n --seconds $T)"
	done
}

# tap_up DEV ADDR: wait until sn_bench has made DEV in $PFX-tap, then give
# the kernel's side ADDR and bring it up.
tap_up() {
	i=0
	until ip -n $PFX-tap link show $1 >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 50 ] || { note "tap: sn_bench did not come up"; return 1; }
		sleep 0.1
	done
	ip -n $PFX-tap addr add $2 dev $1
	ip -n $PFX-tap link set $1 up
}

# tap_recv NAME PORT [sn_bench options]: the kernel's client sends to
# sn_bench tap-recv over a TAP in $PFX-tap.
tap_recv() {
	name=$1 port=$2; shift 2
	in_ns $PFX-tap taskset -c $CPU "$SNB" tap-recv --tap snr0 --addr 198.18.4.2/24 \
		--to $port --seconds $T "$@" >"$OUT/tap-recv.json" &
	tp=$!
	PIDS="$PIDS $tp"
	tap_up snr0 198.18.4.1/24 || return
	in_ns $PFX-tap taskset -c $OTHER "$KB" send --to 198.18.4.2:$port --seconds $T >/dev/null
	wait $tp
	emit $name synack "$(cat "$OUT/tap-recv.json")"
}

# tap_send NAME PORT [sn_bench options]: sn_bench tap-send to the kernel's
# receiver over a TAP in $PFX-tap.
tap_send() {
	name=$1 port=$2; shift 2
	in_ns $PFX-tap taskset -c $OTHER "$KB" recv --port $port --seconds $T >"$OUT/recv.json" &
	rp=$!
	in_ns $PFX-tap taskset -c $CPU "$SNB" tap-send --tap snb0 --addr 198.18.3.2/24 \
		--to 198.18.3.1:$port --seconds $T "$@" >"$OUT/tap-send.json" &
	tp=$!
	PIDS="$PIDS $rp $tp"
	tap_up snb0 198.18.3.1/24 || return
	wait $tp
	wait $rp
	emit $name synack "$(cat "$OUT/recv.json")"
}

bench_tap() {
	[ $have_netns = 1 ] && [ -c /dev/net/tun ] || { note "tap: skipped (needs netns and /dev/net/tun)"; return; }
	note "TAP: Linux client -> synack listen --discard, and synack -> Linux (${T} s each)"
	mkns tap || return
	in_ns $PFX-tap taskset -c $CPU "$SYNACK" listen 5501 --discard --no-hash -q --tap sn0 \
		--addr 198.18.2.2/24 --host-addr 198.18.2.1/24 2>"$OUT/tap-listen.err" &
	lp=$!
	PIDS="$PIDS $lp"
	i=0
	until ip -n $PFX-tap -4 addr show dev sn0 2>/dev/null | grep -q 198.18.2.1/; do
		i=$((i + 1)); [ $i -lt 50 ] || { note "tap: synack did not come up"; return; }
		sleep 0.1
	done
	emit tap_to_synack_tool synack "$(in_ns $PFX-tap taskset -c $OTHER "$KB" send --to 198.18.2.2:5501 --seconds $T)"
	i=0
	while kill -0 $lp 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	kill $lp 2>/dev/null
	wait $lp 2>/dev/null

	# The kernel's side autotunes its buffers up to tcp_rmem[2] and
	# tcp_wmem[2]; synack's are fixed. So each direction twice: synack with
	# its defaults (64 KiB), and with SO_SNDBUF and SO_RCVBUF set to those
	# maxima, read here, in the same run.
	wmax=$(awk '{print $3}' /proc/sys/net/ipv4/tcp_wmem 2>/dev/null)
	rmax=$(awk '{print $3}' /proc/sys/net/ipv4/tcp_rmem 2>/dev/null)
	echo "{\"tcp_wmem_max\":${wmax:-0},\"tcp_rmem_max\":${rmax:-0}}" >"$OUT/tap-bufs.json"
	emit tap_bufs kernel "$(cat "$OUT/tap-bufs.json")"

	# The same client to the library without the tool's SHA-256 of every
	# byte (synack listen hashes what it receives, --discard too): sn_bench
	# tap-recv.
	tap_recv tap_to_synack 5503
	[ -n "$wmax" ] && tap_recv tap_to_synack_bigbuf 5504 --sndbuf "$wmax" --rcvbuf "$rmax"

	# The other way: sn_bench sends over a TAP to the kernel's receiver.
	tap_send tap_from_synack 5502
	[ -n "$wmax" ] && tap_send tap_from_synack_bigbuf 5505 --sndbuf "$wmax" --rcvbuf "$rmax"

	# The kernel's figure: the same client to a Linux server over veth.
	if ! ip netns list | awk '{print $1}' | grep -qx "$PFX-a"; then
		mkns a && mkns b || return
		ip -n $PFX-a link add va type veth peer name vb netns $PFX-b
		ip -n $PFX-a addr add 198.18.1.1/24 dev va && ip -n $PFX-a link set va up
		ip -n $PFX-b addr add 198.18.1.2/24 dev vb && ip -n $PFX-b link set vb up
	fi
	emit tap_to_synack kernel "$(kernel_flow a b 198.18.1.2 $OTHER $CPU)"
	emit tap_from_synack kernel "$(kernel_flow b a 198.18.1.1 $CPU $OTHER)"
}

# Instruction counts (callgrind) of the measured region only: stable where
# wall-clock figures are not.
bench_instr() {
	command -v valgrind >/dev/null 2>&1 || { note "instr: valgrind missing, skipped"; return; }
	note "instructions: callgrind on the memlink benchmarks"
	# glibc copies large blocks with `rep movsb`, which callgrind counts
	# as one instruction per byte: a 64 KiB copy would weigh 65,536. A
	# threshold above any copy keeps memcpy on its vector loop, whose
	# instructions are counted as the CPU runs them.
	cg() {
		name=$1; shift
		j=$(GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=4294967295 valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$OUT/cg.$name" \
			"$SNB" "$@" 2>/dev/null)
		ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$OUT/cg.$name")
		[ -n "$j" ] && [ -n "$ir" ] || return
		emit "instr_$name" synack "$(python3 -c 'import json,sys
d=json.loads(sys.argv[1]); d["instructions"]=int(sys.argv[2]); print(json.dumps(d))' "$j" "$ir")"
	}
	cg bulk_mtu1500 bulk --mtu 1500 --bytes $CG_BYTES --seconds 120 --offload
	cg bulk_mtu1500_nooffload bulk --mtu 1500 --bytes $CG_BYTES --seconds 120
	cg bulk_mtu65535 bulk --mtu 65535 --bytes $((CG_BYTES * 2)) --seconds 120
	cg crr crr --count $CG_CONNS --seconds 120 --offload
	cg crr_nooffload crr --count $CG_CONNS --seconds 120
	cg scale_0 scale --n 0 --bytes $CG_BYTES --seconds 120
	cg scale_100000 scale --n 100000 --bytes $CG_BYTES --seconds 300
}

mkdir -p "$OUT"
: >"$RAW"
[ -x "$SNB" ] && [ -x "$KB" ] || { note "build first (make build)"; exit 1; }
start=$(date +%s)
for g in $ONLY; do
	case $g in
	bulk|crr|mem|scale|tap|instr) "bench_$g" ;;
	cc) ;; # below, after the main table
	*) note "unknown group $g" ;;
	esac
done
cleanup
note "done in $(( $(date +%s) - start )) s"
python3 "$HERE/report.py" "$RAW" "$OUT/results.json"
case " $ONLY " in
*" cc "*)
	if [ "$QUICK" = 1 ]; then cct=5; else cct=20; fi
	sh "$HERE/cc_goodput.sh" "$BUILD" "$cct" ;;
esac
