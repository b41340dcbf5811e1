#!/bin/sh
# Every demo scenario's capture must pass tshark with IP and TCP checksum
# validation on, contain no malformed packet and no expert warning or error,
# and show the same segments (flags, relative seq/ack, length) as the ladder.
#   check_demo_pcap.sh PATH/TO/synack
# Exit 77 (CTest's "skipped") when tshark is not installed.
set -eu
bin=$1
if ! command -v tshark >/dev/null 2>&1; then
	echo "SKIP: tshark is not installed (apt-get install tshark)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
# tshark's view of a capture, normalised to the ladder's words: flags in the
# order SYN FIN RST PSH ACK URG, ack only when the ACK flag is set.
tshark_segments() { # pcap relative(TRUE|FALSE)
	tshark -r "$1" -o tcp.relative_sequence_numbers:"$2" -Y tcp -T fields -E separator=' ' \
		-e tcp.flags.str -e tcp.seq -e tcp.ack -e tcp.len 2>/dev/null |
	awk '{
		f = $1; out = "";
		split("S:SYN F:FIN R:RST P:PSH A:ACK U:URG", m, " ");
		for (i = 1; i <= 6; i++) { split(m[i], kv, ":"); if (index(f, kv[1])) out = out (out == "" ? "" : ",") kv[2]; }
		ack = index(f, "A") ? $3 : "-";
		print out, "seq=" $2, "ack=" ack, "len=" $4;
	}' | sort
}

# The ladder's view: one line per segment drawn with an arrow.
ladder_segments() { # ladder-output
	grep -E -- '(--- |<-- )[A-Z,]+ seq=' "$1" |
		sed -E 's/.*(---|<--) ([A-Z,]+) seq=([0-9]+)( ack=([0-9]+))? len=([0-9]+).*/\2 seq=\3 ack=\5 len=\6/; s/ack= /ack=- /' |
		sort
}

compare() { # scenario mode(absolute|relative)
	if ! cmp -s "$tmp/$1.$2.tshark" "$tmp/$1.$2.ladder"; then
		echo "FAIL $1: tshark and the ladder disagree on $2 numbers (< tshark, > ladder):"
		diff "$tmp/$1.$2.tshark" "$tmp/$1.$2.ladder" || true
		fail=1
		return 1
	fi
}

for sc in handshake half-close simultaneous-open simultaneous-close refused abort backlog-full loss fast-retransmit; do
	"$bin" demo --scenario "$sc" --pcap "$tmp/$sc.pcap" >"$tmp/$sc.abs"
	"$bin" demo --scenario "$sc" --relative >"$tmp/$sc.rel"
	# Checksum status 1 = good. No malformed packet, and no expert message
	# at or above "warning" (0x00600000), except Wireshark's warning that
	# a RST resets the connection, which is what the RST is for. The
	# payloads are text, not HTTP, even on port 80, and not reassembled:
	# tshark 4.0's HTTP reassembly calls a fast retransmission of a
	# segment it has already seen (the capture is taken where it is sent,
	# so it holds the lost copy too) "overlapping old data", although the
	# bytes are identical.
	bad=$(tshark -r "$tmp/$sc.pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
		-o tcp.desegment_tcp_streams:FALSE -d tcp.port==1-65535,data \
		-Y tcp -T fields -E separator=' ' -e tcp.flags.str -e tcp.checksum.status \
		-e ip.checksum.status -e _ws.expert.severity -e _ws.malformed 2>/dev/null |
		awk '$2 != 1 || $3 != 1 || $5 != "" { print; next }
			index($1, "R") { next }
			{ n = split($4, sev, ","); for (i = 1; i <= n; i++) if (sev[i] + 0 >= 6291456) { print; next } }')
	if [ -n "$bad" ]; then
		echo "FAIL $sc: tshark reports bad packets:"
		echo "$bad"
		fail=1
		continue
	fi
	tshark_segments "$tmp/$sc.pcap" FALSE >"$tmp/$sc.absolute.tshark"
	ladder_segments "$tmp/$sc.abs" >"$tmp/$sc.absolute.ladder"
	compare "$sc" absolute || continue
	# Relative numbers need each side's ISN, i.e. a SYN from both sides.
	if [ "$sc" != refused ]; then
		tshark_segments "$tmp/$sc.pcap" TRUE >"$tmp/$sc.relative.tshark"
		ladder_segments "$tmp/$sc.rel" >"$tmp/$sc.relative.ladder"
		compare "$sc" relative || continue
	fi
	echo "ok   $sc: $(wc -l <"$tmp/$sc.absolute.ladder") segments agree with tshark, checksums valid"
done
exit $fail
