#!/bin/sh
# conformance.sh - run every public packetdrill script with its profile.
#
#   scripts/conformance.sh [SYNACK_BINARY]        (make conformance)
#
# The scripts are third-party test data in ../shared/packetdrill/scripts
# (beside the repository, never copied into it); INDEX.md there gives each
# script's profile (linux or freebsd) and status. Every script is run with
# `synack drill --profile P -D STANDARD` from that directory, and a table of
# pass / fail / skip per corpus and per category (the script's folder) is
# printed, followed by the totals for the runnable (`yes`) scripts of each
# profile. The command fails if the number of passes drops below the floor
# stored in tests/packetdrill/FLOOR. Exit 77 (skipped) without the scripts.
#
# Environment: CONFORMANCE_LOG=FILE keeps every script's result line.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$repo/build/synack}
dir=$repo/../shared/packetdrill/scripts
floor_file=$repo/tests/packetdrill/FLOOR
if [ ! -f "$dir/INDEX.md" ]; then
	echo "conformance: $dir/INDEX.md not found: public scripts absent, skipped"
	exit 77
fi
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
if [ ! -x "$bin" ]; then
	echo "conformance: $bin not found (run make build first)" >&2
	exit 2
fi
log=${CONFORMANCE_LOG:-$(mktemp)}
: >"$log"
cd "$dir"
# INDEX.md rows: | path | topic | profile | status |
grep '^| [^ ]*\.pkt |' INDEX.md | awk -F'|' '{gsub(/ /,"",$2); gsub(/ /,"",$4);
	st=$5; sub(/^ +/,"",st); sub(/ +$/,"",st); print $2, $4, st}' |
while read -r path profile status; do
	line=$("$bin" drill --profile "$profile" -D STANDARD "$path" 2>&1 | head -1) || true
	verdict=${line%% *}
	case $verdict in PASS|FAIL|SKIP) ;; *) verdict=FAIL line="FAIL $path: crashed or no verdict";; esac
	runnable=no
	case $status in yes*) runnable=yes;; esac
	printf '%s\t%s\t%s\t%s\t%s\n' "$verdict" "$profile" "$runnable" "$path" "$line" >>"$log"
done
awk -F'\t' '
function corpus(p) { split(p, a, "/"); return a[1] }
function category(p,   a, n) { n = split(p, a, "/"); return n >= 3 ? a[n-1] : "-" }
{
	c = corpus($4); k = c " / " category($4)
	cat[k]; n[k, $1]++; cor[c]; m[c, $1]++; tot[$1]++
	if ($3 == "yes") { y[$2, $1]++; yt[$2]++ }
}
END {
	printf "%-62s %5s %5s %5s\n", "corpus / category", "pass", "fail", "skip"
	nk = 0; for (k in cat) keys[++nk] = k
	for (i = 1; i <= nk; i++) for (j = i + 1; j <= nk; j++) if (keys[j] < keys[i]) { t = keys[i]; keys[i] = keys[j]; keys[j] = t }
	for (i = 1; i <= nk; i++) { k = keys[i]; printf "%-62s %5d %5d %5d\n", k, n[k, "PASS"], n[k, "FAIL"], n[k, "SKIP"] }
	print ""
	for (c in cor) printf "%-62s %5d %5d %5d\n", "corpus " c, m[c, "PASS"], m[c, "FAIL"], m[c, "SKIP"]
	print ""
	printf "runnable (yes) scripts, freebsd profile: %d of %d pass\n", y["freebsd", "PASS"], yt["freebsd"]
	printf "runnable (yes) scripts, linux profile:   %d of %d pass\n", y["linux", "PASS"], yt["linux"]
	printf "all: %d passed, %d failed, %d skipped\n", tot["PASS"], tot["FAIL"], tot["SKIP"]
}' "$log"
passed=$(grep -c '^PASS' "$log" || true)
floor=0
[ -f "$floor_file" ] && floor=$(grep -v '^#' "$floor_file" | head -1)
[ -n "${CONFORMANCE_LOG:-}" ] || rm -f "$log"
if [ "$passed" -lt "$floor" ]; then
	echo "conformance: $passed passes, below the floor of $floor (tests/packetdrill/FLOOR)"
	exit 1
fi
echo "conformance: $passed passes (floor $floor)"
