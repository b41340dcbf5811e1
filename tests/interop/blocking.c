/*
 * blocking.c - the blocking layer of the event loop against Linux, over TAP.
 *
 *   interop_blocking TAP ADDR/PREFIX PEER ECHO_PORT LISTEN_PORT [PCAP]
 *
 * Uses only sn_loop_connect, sn_loop_accept, sn_loop_send_all, sn_loop_recv
 * and sn_loop_close (plus the setup calls), on the TAP device TAP whose
 * kernel side the caller has already given an address and brought up
 * (tests/interop/blocking.sh). In order:
 *
 *   1. listen on LISTEN_PORT and print "listening" (the script's cue);
 *   2. connect to an echo server at PEER:ECHO_PORT;
 *   3. sn_loop_recv with a 200 ms timeout on that still silent connection:
 *      -ETIMEDOUT, after 200 ms and well before 300 ms;
 *   4. send 1 MB, read 1 MB back, compare, close gracefully;
 *   5. accept one connection on the listener, read one line, answer with
 *      "synack got: LINE\n", close gracefully.
 *
 * Every step prints what it measured; exit 0 only if every check passed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synack.h"

#define ECHO_BYTES (1024u * 1024u)
#define ECHO_CHUNK (16u * 1024u)
#define ECHO_AHEAD (32u * 1024u)
#define SILENT_US 200000u
#define SILENT_SLACK_US 100000u
#define STEP_US (30ull * 1000000u)   /* bound of every blocking call */

static int failures;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;
	printf("%s: ", ok ? "ok" : "FAILED");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
}

static int parse_prefix(const char *arg, struct in_addr *addr, int *prefix)
{
	char buf[32];
	const char *slash = strchr(arg, '/');
	if (!slash || (size_t)(slash - arg) >= sizeof(buf))
		return -1;
	memcpy(buf, arg, (size_t)(slash - arg));
	buf[slash - arg] = '\0';
	char *end;
	long p = strtol(slash + 1, &end, 10);
	if (*end || p < 1 || p > 32 || inet_pton(AF_INET, buf, addr) != 1)
		return -1;
	*prefix = (int)p;
	return 0;
}

static struct sockaddr_in sin_of(struct in_addr a, unsigned port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_addr = a, .sin_port = htons(port)};
	return s;
}

/* Steps 2-4: the echo server. */
static void echo_round(struct sn_loop *loop, struct in_addr peer, unsigned port)
{
	struct sn_stack *stack = sn_loop_stack(loop);
	struct sn_sock *s = sn_socket(stack);
	struct sockaddr_in to = sin_of(peer, port);
	uint64_t t0 = sn_clock_us();
	int r = sn_loop_connect(loop, s, (struct sockaddr *)&to, sizeof(to), STEP_US);
	check(r == 0, "sn_loop_connect to %s:%u: %s after %.1f ms", inet_ntoa(peer), port,
	      r ? strerror(-r) : "connected", (double)(sn_clock_us() - t0) / 1e3);
	if (r) {
		sn_close(s);
		return;
	}

	/* The echo server says nothing until spoken to. */
	char byte;
	t0 = sn_clock_us();
	ssize_t n = sn_loop_recv(loop, s, &byte, 1, SILENT_US);
	uint64_t took = sn_clock_us() - t0;
	check(n == -ETIMEDOUT && took >= SILENT_US && took < SILENT_US + SILENT_SLACK_US,
	      "sn_loop_recv(timeout %u ms) on a silent connection: %s after %.3f ms",
	      SILENT_US / 1000, n == -ETIMEDOUT ? "-ETIMEDOUT" : n < 0 ? strerror((int)-n) : "data",
	      (double)took / 1e3);

	unsigned char *out = malloc(ECHO_BYTES), *in = malloc(ECHO_BYTES);
	if (!out || !in) {
		check(false, "out of memory");
		goto out;
	}
	/* A fixed, non-repeating pattern (xorshift), so shifts show up. */
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < ECHO_BYTES; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		out[i] = (unsigned char)x;
	}
	/*
	 * One sn_loop_send_all of the whole megabyte can deadlock against an
	 * echo server: nothing reads synack's receive buffer while the call
	 * blocks, its window is at most 64 KiB (no window scaling yet), and
	 * once the echo fills it the server blocks in send and stops reading,
	 * so synack's send buffer never drains. So: send in ECHO_CHUNK pieces,
	 * and read back first whenever more than ECHO_AHEAD bytes are still
	 * out; the echo in flight then always fits synack's window.
	 */
	size_t sent = 0, got = 0;
	unsigned sends = 0, calls = 0;
	t0 = sn_clock_us();
	n = 1;
	while (got < ECHO_BYTES) {
		if (sent < ECHO_BYTES && sent - got <= ECHO_AHEAD) {
			size_t len = ECHO_BYTES - sent < ECHO_CHUNK ? ECHO_BYTES - sent : ECHO_CHUNK;
			n = sn_loop_send_all(loop, s, out + sent, len, STEP_US);
			if (n != (ssize_t)len)
				break;
			sent += len;
			sends++;
			continue;
		}
		n = sn_loop_recv(loop, s, in + got, sent - got, STEP_US);
		if (n <= 0)
			break;
		got += (size_t)n;
		calls++;
	}
	check(sent == ECHO_BYTES, "sn_loop_send_all: %zu of %u bytes sent in %u calls of %u bytes",
	      sent, ECHO_BYTES, sends, ECHO_CHUNK);
	double secs = (double)(sn_clock_us() - t0) / 1e6;
	check(got == ECHO_BYTES,
	      "sn_loop_recv: %zu of %u bytes back in %u calls (%s), %.3f s, %.1f MB/s each way",
	      got, ECHO_BYTES, calls, n < 0 ? strerror((int)-n) : n == 0 ? "end of stream" : "complete",
	      secs, (double)ECHO_BYTES / secs / 1e6);
	if (got == ECHO_BYTES) {
		size_t i = 0;
		while (i < ECHO_BYTES && in[i] == out[i])
			i++;
		if (i == ECHO_BYTES)
			check(true, "echoed bytes equal the bytes sent");
		else
			check(false, "echoed bytes differ from offset %zu", i);
	}
out:
	free(out);
	free(in);
	t0 = sn_clock_us();
	r = sn_loop_close(loop, s, STEP_US);
	check(r == 0, "sn_loop_close (echo): %s after %.1f ms", r ? strerror(-r) : "closed",
	      (double)(sn_clock_us() - t0) / 1e3);
}

/* Step 5: one client from Linux. */
static void accept_round(struct sn_loop *loop, struct sn_sock *ls)
{
	int err;
	uint64_t t0 = sn_clock_us();
	printf("accepting\n");
	fflush(stdout);
	struct sn_sock *c = sn_loop_accept(loop, ls, STEP_US, &err);
	check(c != NULL, "sn_loop_accept: %s after %.1f ms", c ? "a connection" : strerror(-err),
	      (double)(sn_clock_us() - t0) / 1e3);
	if (!c)
		return;

	char line[512];
	size_t len = 0;
	ssize_t n = 1;
	while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
		n = sn_loop_recv(loop, c, line + len, sizeof(line) - 1 - len, STEP_US);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	line[len] = '\0';
	char *nl = strchr(line, '\n');
	check(nl != NULL, "sn_loop_recv: line of %zu bytes from Linux%s%s", len,
	      n < 0 ? ", then " : "", n < 0 ? strerror((int)-n) : "");
	if (nl) {
		*nl = '\0';
		printf("line: %s\n", line);
		char answer[600];
		int alen = snprintf(answer, sizeof(answer), "synack got: %s\n", line);
		n = sn_loop_send_all(loop, c, answer, (size_t)alen, STEP_US);
		check(n == alen, "sn_loop_send_all answer of %d bytes: %zd", alen, n);
	}
	t0 = sn_clock_us();
	int r = sn_loop_close(loop, c, STEP_US);
	check(r == 0, "sn_loop_close (accepted): %s after %.1f ms", r ? strerror(-r) : "closed",
	      (double)(sn_clock_us() - t0) / 1e3);
}

int main(int argc, char **argv)
{
	struct in_addr me, peer;
	int prefix, err;
	char *end;

	if (argc < 6 || argc > 7 || parse_prefix(argv[2], &me, &prefix) < 0 ||
	    inet_pton(AF_INET, argv[3], &peer) != 1) {
		fprintf(stderr, "usage: %s TAP ADDR/PREFIX PEER ECHO_PORT LISTEN_PORT [PCAP]\n",
		        argv[0]);
		return 2;
	}
	unsigned long echo_port = strtoul(argv[4], &end, 10);
	unsigned long listen_port = strtoul(argv[5], &end, 10);
	if (!echo_port || echo_port > 65535 || !listen_port || listen_port > 65535) {
		fprintf(stderr, "%s: bad port\n", argv[0]);
		return 2;
	}

	int fd = sn_tap_open(argv[1], NULL, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open TAP %s: %s\n  %s\n", argv[0], argv[1],
		        strerror(-fd), sn_tap_strerror(fd));
		return 1;
	}
	struct sn_tap *tap = sn_tap_new(fd);
	struct sn_stack *stack = sn_stack_new(NULL);
	if (!tap || !stack) {
		fprintf(stderr, "%s: out of memory\n", argv[0]);
		return 1;
	}
	uint32_t h = ntohl(me.s_addr);
	struct sn_netif_config nc = {
		.addr = me,
		.prefix_len = (uint8_t)prefix,
		.mtu = 1500,
		.mac = {0x02, 0x53, 0x4e, (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h},
	};
	struct sn_netif *nif = sn_netif_add(stack, sn_tap_ops(), tap, &nc, &err);
	if (!nif) {
		fprintf(stderr, "%s: sn_netif_add: %s\n", argv[0], strerror(-err));
		return 1;
	}
	struct sn_pcap *pcap = NULL;
	if (argc == 7) {
		pcap = sn_pcap_open(argv[6], &err);
		if (!pcap) {
			fprintf(stderr, "%s: %s: %s\n", argv[0], argv[6], strerror(-err));
			return 1;
		}
		sn_netif_set_capture(nif, sn_pcap_capture, pcap);
	}
	struct sn_loop *loop = sn_loop_new(stack, &err);
	if (!loop || (err = sn_loop_add_tap(loop, tap, nif)) < 0) {
		fprintf(stderr, "%s: event loop: %s\n", argv[0], strerror(-err));
		return 1;
	}

	struct sn_sock *ls = sn_socket(stack);
	struct sockaddr_in at = sin_of(me, (unsigned)listen_port);
	int r = sn_bind(ls, (struct sockaddr *)&at, sizeof(at));
	if (r == 0)
		r = sn_listen(ls, 4);
	check(r == 0, "listening on %s:%lu: %s", inet_ntoa(me), listen_port,
	      r ? strerror(-r) : "yes");

	if (r == 0) {
		echo_round(loop, peer, (unsigned)echo_port);
		accept_round(loop, ls);
	}
	sn_close(ls);

	/* Let the last ACKs leave before the device goes. */
	sn_poll(stack, sn_clock_us());
	printf("tap: %" PRIu64 " frames in, %" PRIu64 " out, %" PRIu64 " dropped\n",
	       tap->rx_frames, tap->tx_frames, tap->tx_drops);
	sn_loop_free(loop);
	sn_stack_free(stack);
	if (pcap && sn_pcap_close(pcap) != 0) {
		fprintf(stderr, "%s: error writing %s\n", argv[0], argv[6]);
		failures++;
	}
	sn_tap_free(tap);
	printf("%s: %d check(s) failed\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
