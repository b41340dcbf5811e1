#!/bin/sh
# Linux -> synack http: curl fetches a 50 MB file intact; 20 curls in
# parallel, each fetching 3 files over one keep-alive connection, all
# succeed; HEAD gives the right Content-Length; a missing file gives 404.
# The README's example is the first request, as written.
. "$(dirname "$0")/lib.sh"
need curl sha256sum
enter_lab
mkdir "$TMP/www"
echo "hello from synack" >"$TMP/www/file"
head -c 50000000 /dev/urandom >"$TMP/www/big"
head -c 300000 /dev/urandom >"$TMP/www/mid"
cd "$TMP"
synack_bg http ./www --tap sn0 --addr 198.18.0.2/24 --host-addr 198.18.0.1/24 --pcap "$TMP/http.pcap"

[ "$(curl -sS --max-time 10 http://198.18.0.2/file)" = "hello from synack" ] || fail "GET /file"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' http://$ME/no/such/file)
[ "$code" = 404 ] || fail "missing file gave $code"
len=$(curl -sS --max-time 10 -I http://$ME/mid | tr -d '\r' | awk -F': ' 'tolower($1) == "content-length" {print $2}')
[ "$len" = 300000 ] || fail "HEAD Content-Length $len"
note "GET, 404 and HEAD as expected"

start=$(date +%s.%N)
curl -sS --max-time 60 -o "$TMP/big.out" -w '%{speed_download}\n' http://$ME/big >"$TMP/speed" ||
	fail "curl of 50 MB failed"
[ "$(sha "$TMP/big.out")" = "$(sha "$TMP/www/big")" ] || fail "50 MB file differs"
note "50 MB intact, $(awk '{printf "%.1f MB/s", $1 / 1e6}' "$TMP/speed")"

pids=""
for i in $(seq 1 20); do
	curl -sS --max-time 60 -o "$TMP/p$i.a" -o "$TMP/p$i.b" -o "$TMP/p$i.c" \
		-w '%{num_connects}\n' http://$ME/mid http://$ME/mid http://$ME/file \
		>"$TMP/p$i.n" 2>"$TMP/p$i.err" &
	pids="$pids $!"
done
for p in $pids; do wait_pid $p 90 || fail "a parallel curl failed: $(cat "$TMP"/p*.err)"; done
want=$(sha "$TMP/www/mid")
for i in $(seq 1 20); do
	[ "$(sha "$TMP/p$i.a")" = "$want" ] && [ "$(sha "$TMP/p$i.b")" = "$want" ] &&
		cmp -s "$TMP/p$i.c" "$TMP/www/file" || fail "parallel curl $i got wrong data"
	# One connection for three requests: 1, 0, 0.
	[ "$(tr '\n' ' ' <"$TMP/p$i.n")" = "1 0 0 " ] || fail "curl $i did not keep the connection: $(cat "$TMP/p$i.n")"
done
note "20 parallel keep-alive clients, 3 requests each: all intact"
kill -INT $SYNACK_PID
wait_pid $SYNACK_PID 15 || { cat "$TMP/synack.err"; fail "synack http exit status"; }
note "$(tail -1 "$TMP/synack.err")"
grep -q "24 connections, 64 requests" "$TMP/synack.err" || fail "unexpected totals"
check_pcap "$TMP/http.pcap"
echo "PASS $TEST"
