/*
 * test_ladder.c - the ladder-diagram printer, fed synthetic trace events in
 * the order the stacks promise, rendered into a memory stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace/ladder.h"
#include "wire/wire.h"

#define CLIENT_IP 0xc6120001u /* 198.18.0.1 */
#define SERVER_IP 0xc6120002u /* 198.18.0.2 */
#define CLIENT_PORT 40001
#define SERVER_PORT 80
#define WND 65535

/*
 * Stand-ins for struct sn_sock pointers: the ladder only compares them.
 * Read-only storage, so the tests keep no mutable globals either.
 */
static const max_align_t sock_storage[8];

static const struct sn_sock *sock_id(int i)
{
	return (const struct sn_sock *)(const void *)&sock_storage[i];
}

enum { CLI, LSN, SRV, CLI2, SRV2 }; /* indices into sock_storage */

struct fx {
	char *buf;
	size_t size;
	FILE *f;
	struct sn_ladder *l;
	void *left, *right;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	x->f = open_memstream(&x->buf, &x->size);
	if (!x->f) {
		free(x);
		return -1;
	}
	x->l = sn_ladder_new(x->f, "client", "server");
	if (!x->l) {
		fclose(x->f);
		free(x->buf);
		free(x);
		return -1;
	}
	x->left = sn_ladder_side(x->l, 0);
	x->right = sn_ladder_side(x->l, 1);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	sn_ladder_free(x->l);
	fclose(x->f);
	free(x->buf);
	free(x);
	return 0;
}

/* Everything rendered so far (after a flush, as a driver would do). */
static const char *output(struct fx *x)
{
	sn_ladder_flush(x->l);
	fflush(x->f);
	return x->buf ? x->buf : "";
}

/* ---- event builders --------------------------------------------------- */

static struct sn_trace_seg seg_from(int from_client, uint16_t cport, uint32_t seq, uint32_t ack,
                                    uint8_t flags, uint32_t len)
{
	struct sn_trace_seg s;

	memset(&s, 0, sizeof(s));
	s.saddr = from_client ? CLIENT_IP : SERVER_IP;
	s.daddr = from_client ? SERVER_IP : CLIENT_IP;
	s.sport = from_client ? cport : SERVER_PORT;
	s.dport = from_client ? SERVER_PORT : cport;
	s.seq = seq;
	s.ack = ack;
	s.flags = (uint8_t)flags;
	s.len = len;
	s.wnd = WND;
	s.mss = (flags & SN_TH_SYN) ? 1460 : 0;
	return s;
}

static struct sn_trace_seg c2s(uint32_t seq, uint32_t ack, uint8_t flags, uint32_t len)
{
	return seg_from(1, CLIENT_PORT, seq, ack, flags, len);
}

static struct sn_trace_seg s2c(uint32_t seq, uint32_t ack, uint8_t flags, uint32_t len)
{
	return seg_from(0, CLIENT_PORT, seq, ack, flags, len);
}

static void ev_state(void *side, uint64_t t_us, const struct sn_sock *s, int old_state,
                     int new_state)
{
	struct sn_trace_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = SN_TRACE_STATE;
	ev.now_us = t_us;
	ev.sock = s;
	ev.old_state = old_state;
	ev.new_state = new_state;
	sn_ladder_trace(&ev, side);
}

/* A STATE event that also names the connection's 4-tuple, as the stack's are. */
static void ev_state_tuple(void *side, uint64_t t_us, const struct sn_sock *s,
                           struct sn_trace_seg tuple, int old_state, int new_state)
{
	struct sn_trace_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = SN_TRACE_STATE;
	ev.now_us = t_us;
	ev.sock = s;
	ev.seg = tuple;
	ev.old_state = old_state;
	ev.new_state = new_state;
	sn_ladder_trace(&ev, side);
}

static void ev_seg(void *side, enum sn_trace_kind kind, uint64_t t_us, const struct sn_sock *s,
                   struct sn_trace_seg seg)
{
	struct sn_trace_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.now_us = t_us;
	ev.sock = s;
	ev.seg = seg;
	sn_ladder_trace(&ev, side);
}

static void ev_what(void *side, enum sn_trace_kind kind, uint64_t t_us, const struct sn_sock *s,
                    const char *what)
{
	struct sn_trace_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.now_us = t_us;
	ev.sock = s;
	ev.what = what;
	sn_ladder_trace(&ev, side);
}

/*
 * The textbook handshake, in the order the stack emits it: the client's
 * connect, the SYN reaching the listener (its SEG_IN names no socket, since
 * no connection exists yet; the listener creates SRV, CLOSED -> SYN_RCVD,
 * which answers), the SYN-ACK reaching the client, the ACK reaching the
 * server. ISNs 1000 and 8000; arrivals 10 us after sending.
 */
static void handshake(struct fx *x, uint64_t t0)
{
	ev_state(x->left, t0, sock_id(CLI), SN_CLOSED, SN_SYN_SENT);
	ev_seg(x->left, SN_TRACE_SEG_OUT, t0, sock_id(CLI), c2s(1000, 0, SN_TH_SYN, 0));

	ev_seg(x->right, SN_TRACE_SEG_IN, t0 + 10, NULL, c2s(1000, 0, SN_TH_SYN, 0));
	ev_state_tuple(x->right, t0 + 10, sock_id(SRV), s2c(0, 0, 0, 0), SN_CLOSED,
	               SN_SYN_RECEIVED);
	ev_seg(x->right, SN_TRACE_SEG_OUT, t0 + 10, sock_id(SRV),
	       s2c(8000, 1001, SN_TH_SYN | SN_TH_ACK, 0));

	ev_seg(x->left, SN_TRACE_SEG_IN, t0 + 20, sock_id(CLI),
	       s2c(8000, 1001, SN_TH_SYN | SN_TH_ACK, 0));
	ev_state(x->left, t0 + 20, sock_id(CLI), SN_SYN_SENT, SN_ESTABLISHED);
	ev_seg(x->left, SN_TRACE_SEG_OUT, t0 + 20, sock_id(CLI), c2s(1001, 8001, SN_TH_ACK, 0));

	ev_seg(x->right, SN_TRACE_SEG_IN, t0 + 30, sock_id(SRV), c2s(1001, 8001, SN_TH_ACK, 0));
	ev_state(x->right, t0 + 30, sock_id(SRV), SN_SYN_RECEIVED, SN_ESTABLISHED);
	sn_ladder_flush(x->l);
}

/* ---- reading the output ----------------------------------------------- */

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		if (*text == '\n')
			n++;
	return n;
}

/* Line n (from 0) into buf, without its newline. */
static bool nth_line(const char *text, size_t n, char *buf, size_t cap)
{
	const char *end;
	size_t len;

	while (n-- > 0) {
		text = strchr(text, '\n');
		if (!text)
			return false;
		text++;
	}
	if (!*text)
		return false;
	end = strchr(text, '\n');
	len = end ? (size_t)(end - text) : strlen(text);
	if (len >= cap)
		len = cap - 1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return true;
}

/* The first line that contains needle, into buf. */
static bool line_with(const char *text, const char *needle, char *buf, size_t cap)
{
	for (size_t i = 0; nth_line(text, i, buf, cap); i++)
		if (strstr(buf, needle))
			return true;
	return false;
}

static size_t lines_with(const char *text, const char *needle)
{
	char buf[512];
	size_t n = 0;

	for (size_t i = 0; nth_line(text, i, buf, sizeof(buf)); i++)
		if (strstr(buf, needle))
			n++;
	return n;
}

/* Column at which needle starts in line (it must be there). */
static size_t col_of(const char *line, const char *needle)
{
	const char *p = strstr(line, needle);

	assert_non_null(p);
	return (size_t)(p - line);
}

/* The line ends with the given text (trailing spaces are trimmed). */
static void assert_ends_with(const char *line, const char *tail)
{
	size_t n = strlen(line), m = strlen(tail);

	assert_true(n >= m);
	assert_string_equal(line + n - m, tail);
}

/* ---- a raw frame for the link observer -------------------------------- */

static size_t build_frame(uint8_t *buf, size_t cap, const struct sn_trace_seg *s)
{
	static const uint8_t mac_a[6] = { 2, 0, 0, 0, 0, 1 }, mac_b[6] = { 2, 0, 0, 0, 0, 2 };
	size_t total = SN_ETH_HLEN + 20 + 20 + s->len;
	uint8_t *ip = buf + SN_ETH_HLEN, *tcp = ip + 20;
	uint32_t sum = 0;

	if (total > cap)
		return 0;
	memset(buf, 0, total);
	memcpy(buf, mac_b, 6);
	memcpy(buf + 6, mac_a, 6);
	sn_put16(buf + 12, SN_ETHERTYPE_IPV4);

	ip[0] = 0x45;
	sn_put16(ip + 2, (uint16_t)(20 + 20 + s->len));
	sn_put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = SN_IPPROTO_TCP;
	sn_put32(ip + 12, s->saddr);
	sn_put32(ip + 16, s->daddr);
	/* RFC 1071 by hand, so the test does not lean on the code under test. */
	for (int i = 0; i < 20; i += 2)
		sum += sn_get16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sn_put16(ip + 10, (uint16_t)~sum);

	sn_put16(tcp, s->sport);
	sn_put16(tcp + 2, s->dport);
	sn_put32(tcp + 4, s->seq);
	sn_put32(tcp + 8, s->ack);
	tcp[12] = 5 << 4;
	tcp[13] = s->flags;
	sn_put16(tcp + 14, s->wnd);
	/* TCP checksum left 0: the ladder does not verify it. */
	return total;
}

static void link_event(struct fx *x, int from_end, enum sn_link_event ev, uint64_t t_us,
                       struct sn_trace_seg seg)
{
	uint8_t frame[256];
	size_t len = build_frame(frame, sizeof(frame), &seg);

	assert_true(len > 0);
	sn_ladder_link_observer(x->l, from_end, ev, frame, len, t_us);
}

/* ---- tests ------------------------------------------------------------ */

static void test_handshake(void **state)
{
	struct fx *x = *state;
	const char *out;
	char l0[512], l1[512], l2[512], l3[512];
	size_t left, right;

	handshake(x, 0);
	out = output(x);
	print_message("%s", out);
	assert_int_equal(count_lines(out), 4);
	assert_true(nth_line(out, 0, l0, sizeof(l0)));
	assert_true(nth_line(out, 1, l1, sizeof(l1)));
	assert_true(nth_line(out, 2, l2, sizeof(l2)));
	assert_true(nth_line(out, 3, l3, sizeof(l3)));

	assert_string_equal(l0, "            client (CLOSED)                                      "
	                        "                        server (LISTEN)");
	assert_string_equal(l1, "     0.010  SYN_SENT     --- SYN seq=1000 len=0 win=65535 <mss 1460> "
	                        "----------------->  SYN_RCVD");
	assert_string_equal(l2, "     0.020  ESTABLISHED  <-- SYN,ACK seq=8000 ack=1001 len=0 win=65535 "
	                        "<mss 1460> -----  SYN_RCVD");
	assert_string_equal(l3, "     0.030  ESTABLISHED  --- ACK seq=1001 ack=8001 len=0 win=65535 "
	                        "------------------->  ESTABLISHED");
	assert_true(strlen(l3) <= 100);

	/* Both columns line up from the header down. */
	left = col_of(l0, "client");
	right = col_of(l0, "server");
	assert_int_equal(col_of(l1, "SYN_SENT"), left);
	assert_int_equal(col_of(l2, "ESTABLISHED"), left);
	assert_int_equal(col_of(l3, "ESTABLISHED"), left);
	assert_true(strncmp(l1 + right, "SYN_RCVD", 8) == 0);
	assert_true(strncmp(l2 + right, "SYN_RCVD", 8) == 0);
	assert_true(strncmp(l3 + right, "ESTABLISHED", 11) == 0);
	/* No state change was left without a segment line to carry it. */
	assert_int_equal(lines_with(out, "->  "), 2);
	assert_int_equal(lines_with(out, " -> "), 0);
}

static void test_lost_segment(void **state)
{
	struct fx *x = *state;
	struct sn_trace_seg data = c2s(1001, 8001, SN_TH_PSH | SN_TH_ACK, 20);
	struct sn_trace_seg ack = s2c(8001, 1021, SN_TH_ACK, 0);
	struct sn_trace_seg fin = c2s(1021, 8001, SN_TH_FIN | SN_TH_ACK, 0);
	uint8_t arp[64];
	const char *out;
	char line[512];

	handshake(x, 0);
	/* Data sent in ESTABLISHED, lost on the wire. */
	ev_seg(x->left, SN_TRACE_SEG_OUT, 30, sock_id(CLI), data);
	link_event(x, 0, SN_LINK_SENT, 30, data); /* ignored */
	link_event(x, 0, SN_LINK_LOST, 30, data);
	/* An ARP frame is not TCP: nothing to draw. */
	memset(arp, 0, sizeof(arp));
	sn_put16(arp + 12, SN_ETHERTYPE_ARP);
	sn_ladder_link_observer(x->l, 0, SN_LINK_LOST, arp, sizeof(arp), 31);
	sn_ladder_flush(x->l);

	/* The client half-closes; then the data goes again, sent in FIN_WAIT_1. */
	ev_state(x->left, 40, sock_id(CLI), SN_ESTABLISHED, SN_FIN_WAIT_1);
	ev_seg(x->left, SN_TRACE_SEG_OUT, 40, sock_id(CLI), fin);
	sn_ladder_flush(x->l);
	ev_what(x->left, SN_TRACE_TIMER, 1030, sock_id(CLI), "rexmt");
	ev_seg(x->left, SN_TRACE_SEG_OUT, 1030, sock_id(CLI), data);
	sn_ladder_flush(x->l);
	ev_seg(x->right, SN_TRACE_SEG_IN, 1040, sock_id(SRV), data);
	ev_seg(x->right, SN_TRACE_SEG_OUT, 1040, sock_id(SRV), ack);
	/* The server's ACK is lost in the other direction, in a full queue. */
	link_event(x, 1, SN_LINK_QDROP, 1040, ack);

	out = output(x);

	assert_true(line_with(out, "(lost)", line, sizeof(line)));
	assert_non_null(strstr(line, "     0.030  ESTABLISHED  --- PSH,ACK seq=1001 ack=8001 len=20 "
	                             "win=65535 -"));
	assert_ends_with(line, "-X  (lost)");
	assert_int_equal(lines_with(out, "(lost)"), 1);

	/* The loss took its segment out of flight: the arrival matches the resend. */
	assert_true(line_with(out, "     1.040  FIN_WAIT_1", line, sizeof(line)));
	assert_non_null(strstr(line, "--- PSH,ACK seq=1001 ack=8001 len=20"));
	assert_ends_with(line, "->  ESTABLISHED");

	/* Right to left, the X is at the left end and the note at the end. */
	assert_true(line_with(out, "(lost: link queue full)", line, sizeof(line)));
	assert_non_null(strstr(line, "     1.040               X-- ACK seq=8001 ack=1021 len=0"));
	assert_ends_with(line, "---  ESTABLISHED  (lost: link queue full)");

	assert_true(line_with(out, "(rexmt timer)", line, sizeof(line)));
	assert_non_null(strstr(line, "     1.030  (rexmt timer)"));
	/* The FIN never arrived in this script: no line for it, and none for
	 * the state change it carries. */
	assert_int_equal(lines_with(out, "FIN,ACK"), 0);
	assert_int_equal(lines_with(out, " -> "), 0);
}

static void test_drop_after_seg_in(void **state)
{
	struct fx *x = *state;
	struct sn_trace_seg syn = seg_from(1, 40002, 5000, 0, SN_TH_SYN, 0);
	const char *out;
	char line[512];

	handshake(x, 0);
	/* A second client's SYN finds the listener's queue full. */
	ev_state(x->left, 100, sock_id(CLI2), SN_CLOSED, SN_SYN_SENT);
	ev_seg(x->left, SN_TRACE_SEG_OUT, 100, sock_id(CLI2), syn);
	ev_seg(x->right, SN_TRACE_SEG_IN, 110, sock_id(LSN), syn);
	ev_what(x->right, SN_TRACE_DROP, 110, sock_id(LSN), "listen queue full");
	/* A segment the client drops, coming the other way. */
	ev_seg(x->right, SN_TRACE_SEG_OUT, 120, sock_id(SRV), s2c(8001, 1001, SN_TH_ACK, 5));
	ev_seg(x->left, SN_TRACE_SEG_IN, 130, sock_id(CLI), s2c(8001, 1001, SN_TH_ACK, 5));
	ev_what(x->left, SN_TRACE_DROP, 130, sock_id(CLI), "out of window");

	out = output(x);
	assert_true(line_with(out, "listen queue full", line, sizeof(line)));
	assert_non_null(strstr(line, "[40002]      0.110  SYN_SENT     --- SYN seq=5000 len=0"));
	assert_ends_with(line, "->  (dropped: listen queue full)");
	assert_int_equal(lines_with(out, "LISTEN"), 1); /* only the header */

	assert_true(line_with(out, "out of window", line, sizeof(line)));
	assert_non_null(strstr(line, "[40001]      0.130               <-- ACK seq=8001 ack=1001 len=5"));
	assert_ends_with(line, "---  ESTABLISHED  (dropped: out of window)");
}

static void test_time_wait_standalone(void **state)
{
	struct fx *x = *state;
	struct sn_trace_event ev;
	const char *out;
	char hdr[512], line[512], srv[512];

	/* The server was listening before anything else happened. */
	ev_state_tuple(x->right, 0, sock_id(LSN), seg_from(0, 0, 0, 0, 0, 0), SN_CLOSED,
	               SN_LISTEN);
	sn_ladder_flush(x->l);
	handshake(x, 1000);

	/* The server closes first; the client ends in TIME-WAIT. */
	ev_state(x->right, 2000, sock_id(SRV), SN_ESTABLISHED, SN_FIN_WAIT_1);
	ev_seg(x->right, SN_TRACE_SEG_OUT, 2000, sock_id(SRV),
	       s2c(8001, 1001, SN_TH_FIN | SN_TH_ACK, 0));
	ev_seg(x->left, SN_TRACE_SEG_IN, 2010, sock_id(CLI),
	       s2c(8001, 1001, SN_TH_FIN | SN_TH_ACK, 0));
	ev_state(x->left, 2010, sock_id(CLI), SN_ESTABLISHED, SN_CLOSE_WAIT);
	ev_seg(x->left, SN_TRACE_SEG_OUT, 2010, sock_id(CLI), c2s(1001, 8002, SN_TH_ACK, 0));
	sn_ladder_flush(x->l);
	ev_seg(x->right, SN_TRACE_SEG_IN, 2020, sock_id(SRV), c2s(1001, 8002, SN_TH_ACK, 0));
	ev_state(x->right, 2020, sock_id(SRV), SN_FIN_WAIT_1, SN_FIN_WAIT_2);
	sn_ladder_flush(x->l);
	ev_state(x->left, 3000, sock_id(CLI), SN_CLOSE_WAIT, SN_LAST_ACK);
	ev_seg(x->left, SN_TRACE_SEG_OUT, 3000, sock_id(CLI),
	       c2s(1001, 8002, SN_TH_FIN | SN_TH_ACK, 0));
	ev_seg(x->right, SN_TRACE_SEG_IN, 3010, sock_id(SRV),
	       c2s(1001, 8002, SN_TH_FIN | SN_TH_ACK, 0));
	ev_state(x->right, 3010, sock_id(SRV), SN_FIN_WAIT_2, SN_TIME_WAIT);
	ev_seg(x->right, SN_TRACE_SEG_OUT, 3010, sock_id(SRV), s2c(8002, 1002, SN_TH_ACK, 0));
	ev_seg(x->left, SN_TRACE_SEG_IN, 3020, sock_id(CLI), s2c(8002, 1002, SN_TH_ACK, 0));
	ev_state(x->left, 3020, sock_id(CLI), SN_LAST_ACK, SN_CLOSED);
	sn_ladder_flush(x->l);

	/*
	 * 2*MSL later the TIME-WAIT record expires. The stack no longer has a
	 * socket for it: it names only the 4-tuple.
	 */
	memset(&ev, 0, sizeof(ev));
	ev.kind = SN_TRACE_STATE;
	ev.now_us = 60003010;
	ev.old_state = SN_TIME_WAIT;
	ev.new_state = SN_CLOSED;
	ev.seg = s2c(0, 0, 0, 0);
	sn_ladder_trace(&ev, x->right);

	out = output(x);
	assert_true(nth_line(out, 0, hdr, sizeof(hdr)));
	assert_non_null(strstr(hdr, "server (CLOSED)"));
	assert_true(line_with(out, "CLOSED -> LISTEN", srv, sizeof(srv)));
	assert_non_null(strstr(srv, "     0.000"));
	assert_true(line_with(out, "TIME_WAIT -> CLOSED", line, sizeof(line)));
	assert_non_null(strstr(line, " 60003.010 "));
	/* In the server's column, aligned with the server's states. */
	assert_int_equal(col_of(line, "TIME_WAIT"), col_of(hdr, "server"));
	assert_int_equal(col_of(srv, "CLOSED"), col_of(hdr, "server"));
	assert_int_equal(lines_with(out, " -> "), 2);
	/* The states carried on segment lines. */
	assert_true(line_with(out, "     3.010  LAST_ACK", line, sizeof(line)));
	assert_ends_with(line, "->  TIME_WAIT");
	assert_true(line_with(out, "     3.020  CLOSED", line, sizeof(line)));
	assert_ends_with(line, "---  TIME_WAIT");
	assert_true(line_with(out, "     2.010  CLOSE_WAIT", line, sizeof(line)));
	assert_ends_with(line, "---  FIN_WAIT_1");
}

static void test_no_duplicate_state_line(void **state)
{
	struct fx *x = *state;
	const char *out;
	char line[512];
	size_t before;

	handshake(x, 0);
	before = count_lines(output(x));

	/*
	 * An application close: the FIN it sends carries FIN_WAIT_1, even
	 * though it leaves only at the next sn_poll, after a flush.
	 */
	ev_state(x->left, 100, sock_id(CLI), SN_ESTABLISHED, SN_FIN_WAIT_1);
	sn_ladder_flush(x->l);
	assert_int_equal(count_lines(output(x)), before);
	ev_seg(x->left, SN_TRACE_SEG_OUT, 100, sock_id(CLI),
	       c2s(1001, 8001, SN_TH_FIN | SN_TH_ACK, 0));
	sn_ladder_flush(x->l);
	assert_int_equal(count_lines(output(x)), before);

	/*
	 * The FIN arrives; the server's application closes from its callback
	 * before the stack has sent anything, so one FIN,ACK answers.
	 */
	ev_seg(x->right, SN_TRACE_SEG_IN, 110, sock_id(SRV),
	       c2s(1001, 8001, SN_TH_FIN | SN_TH_ACK, 0));
	ev_state(x->right, 110, sock_id(SRV), SN_ESTABLISHED, SN_CLOSE_WAIT);
	ev_state(x->right, 110, sock_id(SRV), SN_CLOSE_WAIT, SN_LAST_ACK);
	ev_seg(x->right, SN_TRACE_SEG_OUT, 110, sock_id(SRV),
	       s2c(8001, 1002, SN_TH_FIN | SN_TH_ACK, 0));
	ev_seg(x->left, SN_TRACE_SEG_IN, 120, sock_id(CLI),
	       s2c(8001, 1002, SN_TH_FIN | SN_TH_ACK, 0));
	ev_state(x->left, 120, sock_id(CLI), SN_FIN_WAIT_1, SN_TIME_WAIT);

	out = output(x);
	assert_int_equal(count_lines(out), before + 2);
	assert_int_equal(lines_with(out, " -> "), 0);
	assert_true(line_with(out, "     0.110  FIN_WAIT_1", line, sizeof(line)));
	assert_non_null(strstr(line, "--- FIN,ACK seq=1001 ack=8001 len=0"));
	assert_ends_with(line, "->  CLOSE_WAIT");
	assert_true(line_with(out, "     0.120  TIME_WAIT", line, sizeof(line)));
	assert_non_null(strstr(line, "<-- FIN,ACK seq=8001 ack=1002 len=0"));
	assert_ends_with(line, "---  LAST_ACK");
}

static void test_two_connections(void **state)
{
	struct fx *x = *state;
	struct sn_trace_seg syn1 = seg_from(1, 40001, 1000, 0, SN_TH_SYN, 0);
	struct sn_trace_seg syn2 = seg_from(1, 40002, 3000, 0, SN_TH_SYN, 0);
	struct sn_trace_seg sa1 = seg_from(0, 40001, 8000, 1001, SN_TH_SYN | SN_TH_ACK, 0);
	struct sn_trace_seg sa2 = seg_from(0, 40002, 9000, 3001, SN_TH_SYN | SN_TH_ACK, 0);
	const char *out;
	char line[512];

	ev_state(x->left, 0, sock_id(CLI), SN_CLOSED, SN_SYN_SENT);
	ev_seg(x->left, SN_TRACE_SEG_OUT, 0, sock_id(CLI), syn1);
	ev_state(x->left, 0, sock_id(CLI2), SN_CLOSED, SN_SYN_SENT);
	ev_seg(x->left, SN_TRACE_SEG_OUT, 0, sock_id(CLI2), syn2);

	ev_seg(x->right, SN_TRACE_SEG_IN, 10, sock_id(LSN), syn1);
	ev_state(x->right, 10, sock_id(SRV), SN_LISTEN, SN_SYN_RECEIVED);
	ev_seg(x->right, SN_TRACE_SEG_OUT, 10, sock_id(SRV), sa1);
	ev_seg(x->right, SN_TRACE_SEG_IN, 11, sock_id(LSN), syn2);
	ev_state(x->right, 11, sock_id(SRV2), SN_LISTEN, SN_SYN_RECEIVED);
	ev_seg(x->right, SN_TRACE_SEG_OUT, 11, sock_id(SRV2), sa2);

	/* The second SYN-ACK arrives first; its client stays in SYN_SENT. */
	ev_seg(x->left, SN_TRACE_SEG_IN, 20, sock_id(CLI2), sa2);
	ev_state(x->left, 20, sock_id(CLI2), SN_SYN_SENT, SN_ESTABLISHED);
	ev_seg(x->left, SN_TRACE_SEG_IN, 21, sock_id(CLI), sa1);
	ev_state(x->left, 21, sock_id(CLI), SN_SYN_SENT, SN_ESTABLISHED);
	/* The first client gives up on the connection: a state of its own. */
	ev_state(x->left, 30, sock_id(CLI), SN_ESTABLISHED, SN_CLOSED);

	out = output(x);
	assert_true(line_with(out, "0.010", line, sizeof(line)));
	assert_true(strncmp(line, "[40001]      0.010  SYN_SENT     --- SYN seq=1000 ", 50) == 0);
	assert_ends_with(line, "SYN_RCVD");
	assert_true(line_with(out, "0.011", line, sizeof(line)));
	assert_true(strncmp(line, "[40002]      0.011  SYN_SENT     --- SYN seq=3000 ", 50) == 0);
	assert_true(line_with(out, "0.020", line, sizeof(line)));
	assert_true(strncmp(line, "[40002]      0.020  ESTABLISHED  <-- SYN,ACK seq=9000 ", 54) == 0);
	assert_true(line_with(out, "0.021", line, sizeof(line)));
	assert_true(strncmp(line, "[40001]      0.021  ESTABLISHED  <-- SYN,ACK seq=8000 ", 54) == 0);
	assert_true(line_with(out, "0.030", line, sizeof(line)));
	assert_string_equal(line, "[40001]      0.030  ESTABLISHED -> CLOSED");
}

static void test_relative(void **state)
{
	struct fx *x = *state;
	const char *out;
	char line[512];

	sn_ladder_set_relative(x->l, true);
	handshake(x, 0);
	ev_seg(x->left, SN_TRACE_SEG_OUT, 40, sock_id(CLI),
	       c2s(1001, 8001, SN_TH_PSH | SN_TH_ACK, 100));
	ev_seg(x->right, SN_TRACE_SEG_IN, 50, sock_id(SRV),
	       c2s(1001, 8001, SN_TH_PSH | SN_TH_ACK, 100));
	ev_seg(x->right, SN_TRACE_SEG_OUT, 50, sock_id(SRV), s2c(8001, 1101, SN_TH_ACK, 0));
	ev_seg(x->left, SN_TRACE_SEG_IN, 60, sock_id(CLI), s2c(8001, 1101, SN_TH_ACK, 0));

	out = output(x);
	assert_true(line_with(out, "0.010", line, sizeof(line)));
	assert_non_null(strstr(line, "--- SYN seq=0 len=0 win=65535 <mss 1460> -"));
	assert_true(line_with(out, "0.020", line, sizeof(line)));
	assert_non_null(strstr(line, "<-- SYN,ACK seq=0 ack=1 len=0 "));
	assert_true(line_with(out, "0.030", line, sizeof(line)));
	assert_non_null(strstr(line, "--- ACK seq=1 ack=1 len=0 "));
	assert_true(line_with(out, "0.050", line, sizeof(line)));
	assert_non_null(strstr(line, "--- PSH,ACK seq=1 ack=1 len=100 "));
	assert_true(line_with(out, "0.060", line, sizeof(line)));
	assert_non_null(strstr(line, "<-- ACK seq=1 ack=101 len=0 "));

	/* Back to absolute numbers. */
	sn_ladder_set_relative(x->l, false);
	ev_seg(x->left, SN_TRACE_SEG_OUT, 70, sock_id(CLI), c2s(1101, 8001, SN_TH_ACK, 0));
	ev_seg(x->right, SN_TRACE_SEG_IN, 80, sock_id(SRV), c2s(1101, 8001, SN_TH_ACK, 0));
	out = output(x);
	assert_true(line_with(out, "0.080", line, sizeof(line)));
	assert_non_null(strstr(line, "--- ACK seq=1101 ack=8001 len=0 "));
}

static void test_duplicates(void **state)
{
	struct fx *x = *state;
	struct sn_trace_seg data = c2s(1001, 8001, SN_TH_PSH | SN_TH_ACK, 10);
	struct sn_trace_seg stray = s2c(8001, 1011, SN_TH_ACK, 0);
	const char *out;
	char line[512];

	handshake(x, 0);
	/* The link copies the segment; both copies carry the send-time state. */
	ev_seg(x->left, SN_TRACE_SEG_OUT, 40, sock_id(CLI), data);
	link_event(x, 0, SN_LINK_DUP, 40, data);
	ev_state(x->left, 45, sock_id(CLI), SN_ESTABLISHED, SN_FIN_WAIT_1);
	ev_seg(x->right, SN_TRACE_SEG_IN, 50, sock_id(SRV), data);
	ev_seg(x->right, SN_TRACE_SEG_IN, 50, sock_id(SRV), data);
	/* A copy nobody announced: drawn with the sender's state now. */
	ev_seg(x->left, SN_TRACE_SEG_IN, 60, sock_id(CLI), stray);

	out = output(x);
	assert_int_equal(lines_with(out, "     0.050  ESTABLISHED  --- PSH,ACK seq=1001"), 2);
	assert_true(line_with(out, "     0.060  FIN_WAIT_1", line, sizeof(line)));
	assert_ends_with(line, "---  ESTABLISHED");
	/*
	 * The close's FIN has not left when something else happens to the
	 * connection: its change gets a line of its own, before that arrival.
	 */
	assert_true(nth_line(out, count_lines(out) - 2, line, sizeof(line)));
	assert_string_equal(line, "     0.045  ESTABLISHED -> FIN_WAIT_1");
}

static void test_timer_and_unknowns(void **state)
{
	struct fx *x = *state;
	struct sn_trace_event ev;
	const char *out;
	char hdr[512], line[512];

	/* Arguments the ladder must shrug off. */
	assert_null(sn_ladder_side(x->l, 2));
	assert_null(sn_ladder_side(x->l, -1));
	assert_null(sn_ladder_side(NULL, 0));
	assert_null(sn_ladder_new(NULL, "a", "b"));
	memset(&ev, 0, sizeof(ev));
	sn_ladder_trace(&ev, NULL);
	sn_ladder_trace(NULL, x->left);
	sn_ladder_link_observer(NULL, 0, SN_LINK_LOST, "", 0, 0);
	sn_ladder_link_observer(x->l, 0, SN_LINK_LOST, "", 0, 0); /* too short */
	sn_ladder_link_observer(x->l, 5, SN_LINK_LOST, "", 0, 0);
	sn_ladder_flush(NULL);
	sn_ladder_set_relative(NULL, true);
	sn_ladder_free(NULL);
	assert_int_equal(count_lines(output(x)), 0);

	/* A SYN to a closed port: no state anywhere, the answer is a RST. */
	ev_seg(x->left, SN_TRACE_SEG_OUT, 0, sock_id(CLI), c2s(1000, 0, SN_TH_SYN, 0));
	ev_seg(x->right, SN_TRACE_SEG_IN, 10, NULL, c2s(1000, 0, SN_TH_SYN, 0));
	ev_seg(x->right, SN_TRACE_SEG_OUT, 10, NULL, s2c(0, 1001, SN_TH_RST | SN_TH_ACK, 0));
	ev_seg(x->left, SN_TRACE_SEG_IN, 20, sock_id(CLI), s2c(0, 1001, SN_TH_RST | SN_TH_ACK, 0));
	ev_state(x->left, 20, sock_id(CLI), SN_SYN_SENT, SN_CLOSED);
	ev_what(x->right, SN_TRACE_TIMER, 30, NULL, "keepalive");
	ev_what(x->right, SN_TRACE_DROP, 40, NULL, "bad checksum");

	out = output(x);
	assert_true(nth_line(out, 0, hdr, sizeof(hdr)));
	assert_true(line_with(out, "0.010", line, sizeof(line)));
	/* The client's state before any STATE event is unknown. */
	assert_true(strncmp(line, "     0.010  ?            --- SYN seq=1000", 40) == 0);
	assert_ends_with(line, "->  CLOSED");
	assert_true(line_with(out, "0.020", line, sizeof(line)));
	assert_true(strncmp(line, "     0.020  CLOSED       <-- RST,ACK seq=0 ack=1001 len=0", 57) ==
	            0);
	assert_ends_with(line, "---  CLOSED");
	assert_true(line_with(out, "(keepalive timer)", line, sizeof(line)));
	assert_int_equal(col_of(line, "(keepalive"), col_of(hdr, "server"));
	assert_true(line_with(out, "(dropped: bad checksum)", line, sizeof(line)));
	assert_int_equal(col_of(line, "(dropped"), col_of(hdr, "server"));
	assert_int_equal(lines_with(out, " -> "), 0);
}

/*
 * A closed socket's memory is reused for the next connection while the old
 * one still sits in TIME-WAIT under its 4-tuple only.
 */
static void test_sock_reuse(void **state)
{
	struct fx *x = *state;
	struct sn_trace_seg old_t = seg_from(1, 40001, 0, 0, 0, 0);
	struct sn_trace_seg new_t = seg_from(1, 40002, 0, 0, 0, 0);
	struct sn_trace_seg syn = seg_from(1, 40002, 5000, 0, SN_TH_SYN, 0);
	const char *out;
	char hdr[512], line[512];

	handshake(x, 0);
	ev_state_tuple(x->left, 100, sock_id(CLI), old_t, SN_ESTABLISHED, SN_TIME_WAIT);
	sn_ladder_flush(x->l);
	ev_state_tuple(x->left, 200, sock_id(CLI), new_t, SN_CLOSED, SN_SYN_SENT);
	ev_seg(x->left, SN_TRACE_SEG_OUT, 200, sock_id(CLI), syn);
	sn_ladder_flush(x->l);
	ev_seg(x->right, SN_TRACE_SEG_IN, 210, sock_id(LSN), syn);
	ev_state(x->right, 210, sock_id(SRV2), SN_LISTEN, SN_SYN_RECEIVED);
	sn_ladder_flush(x->l);
	ev_state_tuple(x->left, 60000100, NULL, old_t, SN_TIME_WAIT, SN_CLOSED);

	out = output(x);
	assert_true(nth_line(out, 0, hdr, sizeof(hdr)));
	assert_true(line_with(out, "0.210", line, sizeof(line)));
	assert_true(strncmp(line, "[40002]      0.210  SYN_SENT     --- SYN seq=5000 ", 50) == 0);
	assert_ends_with(line, "->  SYN_RCVD");
	assert_true(line_with(out, "TIME_WAIT -> CLOSED", line, sizeof(line)));
	assert_string_equal(line, "[40001]  60000.100  TIME_WAIT -> CLOSED");
	assert_true(line_with(out, "ESTABLISHED -> TIME_WAIT", line, sizeof(line)));
	assert_int_equal(col_of(line, "ESTABLISHED"), col_of(hdr, "client"));
	assert_int_equal(lines_with(out, " -> "), 2);
}

/* What reaches a listener without creating a connection is drawn at LISTEN. */
static void test_listener(void **state)
{
	struct fx *x = *state;
	struct sn_trace_seg stray = c2s(1234, 5678, SN_TH_ACK, 0);
	struct sn_trace_seg rst = s2c(5678, 0, SN_TH_RST, 0);
	const char *out;
	char line[512];

	ev_state_tuple(x->right, 0, sock_id(LSN), seg_from(0, 0, 0, 0, 0, 0), SN_CLOSED,
	               SN_LISTEN);
	sn_ladder_flush(x->l);
	ev_state(x->left, 10, sock_id(CLI), SN_CLOSED, SN_ESTABLISHED);
	ev_seg(x->left, SN_TRACE_SEG_OUT, 10, sock_id(CLI), stray);
	ev_seg(x->right, SN_TRACE_SEG_IN, 20, NULL, stray);
	ev_seg(x->right, SN_TRACE_SEG_OUT, 20, NULL, rst);
	ev_seg(x->left, SN_TRACE_SEG_IN, 30, sock_id(CLI), rst);
	ev_state(x->left, 30, sock_id(CLI), SN_ESTABLISHED, SN_CLOSED);

	out = output(x);
	assert_true(line_with(out, "0.020", line, sizeof(line)));
	assert_true(strncmp(line, "     0.020  ESTABLISHED  --- ACK seq=1234 ack=5678", 50) == 0);
	assert_ends_with(line, "->  LISTEN");
	assert_true(line_with(out, "0.030", line, sizeof(line)));
	assert_true(strncmp(line, "     0.030  CLOSED       <-- RST seq=5678 len=0", 47) == 0);
	assert_ends_with(line, "---  LISTEN");
	/* The listen got a line of its own; the client's change rode on its segment. */
	assert_int_equal(lines_with(out, "CLOSED -> LISTEN"), 1);
	assert_int_equal(lines_with(out, "CLOSED -> ESTABLISHED"), 0);
}

/* A change still waiting for its segment is not lost when the ladder ends. */
static void test_free_prints_waiting_marks(void **state)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	struct sn_ladder *l;

	(void)state;
	assert_non_null(f);
	l = sn_ladder_new(f, "a", "b");
	assert_non_null(l);
	ev_state(sn_ladder_side(l, 0), 5, sock_id(CLI), SN_CLOSED, SN_SYN_SENT);
	sn_ladder_flush(l);
	fflush(f);
	assert_int_equal(size, 0);
	sn_ladder_free(l);
	fflush(f);
	assert_non_null(strstr(buf, "     0.005  CLOSED -> SYN_SENT\n"));
	fclose(f);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_after_seg_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_wait_standalone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_duplicate_state_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_and_unknowns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sock_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener, setup, teardown),
		cmocka_unit_test(test_free_prints_waiting_marks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
