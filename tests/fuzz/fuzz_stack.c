/*
 * fuzz_stack.c - libFuzzer target for sn_input against live connections.
 *
 * Every input starts from the same world (sim/simnet.h): a client stack
 * (198.18.0.1) with an established connection C:40000 -> S:80 to a server
 * stack (198.18.0.2), which also keeps a listener on port 80. The input is
 * then read as a program of operations:
 *
 *   raw frames             an Ethernet frame, an IPv4 packet or a TCP
 *                          segment (checksums fixed up) of fuzzer bytes
 *   forged segments        header fields and payload for the established
 *                          4-tuple (or a half-open one on the listener),
 *                          sequence and acknowledgment numbers chosen near
 *                          the receiver's own RCV.NXT / SND.UNA so that they
 *                          pass the acceptability tests and reach deep into
 *                          RFC 9293 3.10.7.4
 *   time                   the virtual clock moves on: frames cross the
 *                          link, timers fire, both stacks answer
 *   the application        send, recv, shutdown, close, abort, options,
 *                          accept, new connections, and event callbacks
 *                          that close their own socket
 *
 * The first input byte's low bit turns on the memlink's offload mode, so
 * that TSO super-segments, partial checksums and trusted frames meet the
 * same programs. Forged frames go to the server stack mostly, to the client sometimes. At
 * the end every handle is closed and both stacks are freed, so LeakSanitizer
 * sees anything the stack forgot. A few invariants that no input may break
 * are checked along the way; a violation traps.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/simnet.h"
#include "synack.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                          \
	do {                                 \
		if (!(cond))                 \
			__builtin_trap();    \
	} while (0)

#define C 0
#define S 1
#define CPORT 40000
#define SPORT 80
#define ISN_C 1000u
#define ISN_S 8000u
#define MAX_OPS 300
#define MAX_HANDLES 8
#define MS 1000ull
#define SEC 1000000ull
#define TIME_BUDGET (900 * SEC) /* virtual time one input may use */
#define STEP_BUDGET 20000        /* simulation steps one input may use */
#define AUTOWRITE_BUDGET (256 * 1024) /* bytes callbacks may send per input */
#define FRAME_MAX 4096

/* ---- reading the input ----------------------------------------------------- */

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t u16(struct input *in)
{
	uint16_t hi = u8(in);
	return (uint16_t)(hi << 8 | u8(in));
}

static uint32_t u32(struct input *in)
{
	uint32_t hi = u16(in);
	return hi << 16 | u16(in);
}

/* Up to want bytes of the input; *got says how many there were. */
static const uint8_t *take(struct input *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p;
	*got = want < in->n ? want : in->n;
	in->p += *got;
	in->n -= *got;
	return p;
}

/* ---- the world -------------------------------------------------------------- */

struct handle {
	struct sn_sock *s;
	int side;
	unsigned close_on;  /* events that make the callback close the socket */
	bool abort;         /* ... with sn_abort instead of sn_close */
	bool autoread;      /* the callback drains READABLE */
	bool autowrite;     /* the callback refills WRITABLE */
	uint16_t lport, rport; /* its 4-tuple, for forged segments */
};

static struct sn_simnet net;
static struct handle handles[MAX_HANDLES];
static struct sn_sock *listener;
static bool accept_in_cb;
static uint8_t payload[FRAME_MAX];
static uint64_t start_us;
static uint64_t steps_left;
static size_t autowrite_left;

static void handle_drop(struct handle *h)
{
	h->s = NULL;
	h->close_on = 0;
}

static void sock_cb(struct sn_sock *s, unsigned ev, void *user)
{
	struct handle *h = user;
	uint8_t buf[2048];
	CHECK(h->s == s);
	if ((ev & SN_EV_READABLE) && h->autoread) {
		for (int i = 0; i < 64; i++)
			if (sn_recv(s, buf, sizeof(buf), 0) <= 0)
				break;
	}
	if ((ev & SN_EV_WRITABLE) && h->autowrite && autowrite_left >= 1500) {
		ssize_t n = sn_send(s, payload, 1500, 0);
		if (n > 0)
			autowrite_left -= (size_t)n;
	}
	if (ev & h->close_on) {
		handle_drop(h);
		if (h->abort)
			sn_abort(s);
		else
			sn_close(s);
	}
}

/* Slots 0 and 1 belong to the first connection's two ends, for good: forged
 * segments for its 4-tuple read their sequence numbers there. */
#define FIRST_FREE 2

static struct handle *handle_add(struct sn_sock *s, int side, int from, uint16_t rport)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	uint16_t lport = sn_getsockname(s, (struct sockaddr *)&a, &len) == 0 ? ntohs(a.sin_port) : 0;
	len = sizeof(a);
	if (sn_getpeername(s, (struct sockaddr *)&a, &len) == 0)
		rport = ntohs(a.sin_port);
	for (int i = from; i < MAX_HANDLES; i++) {
		if (!handles[i].s) {
			handles[i] = (struct handle){.s = s, .side = side, .lport = lport,
			                             .rport = rport};
			sn_set_event_cb(s, sock_cb, &handles[i]);
			return &handles[i];
		}
	}
	sn_close(s);
	return NULL;
}

static void accept_all(void)
{
	struct sn_sock *c;
	if (!listener)
		return;
	while ((c = sn_accept(listener, NULL, NULL, NULL)) != NULL)
		handle_add(c, S, FIRST_FREE, 0);
}

static void listener_cb(struct sn_sock *s, unsigned ev, void *user)
{
	CHECK(s == listener);
	if ((ev & SN_EV_ACCEPTABLE) && accept_in_cb)
		accept_all();
}

static void run_for(uint64_t dt)
{
	uint64_t end = net.now_us + dt;
	if (end > start_us + TIME_BUDGET)
		end = start_us + TIME_BUDGET;
	if (end <= net.now_us)
		return;
	/* Step by step, so that one input cannot keep the stacks busy for
	 * long in real time (a bulk transfer lasting all of TIME_BUDGET). */
	while (steps_left > 0 && sn_simnet_step(&net, end))
		steps_left--;
	if (steps_left == 0)
		return;
	sn_simnet_run_until(&net, end);
	/* After a poll nothing is left that is due now: a stack that says
	 * otherwise would spin its driver forever. */
	for (int i = 0; i < 2; i++) {
		uint64_t d = sn_next_deadline(net.stack[i]);
		CHECK(d == SN_TIME_NEVER || d > net.now_us);
	}
}

static void world_up(bool offload)
{
	struct sn_config cfg[2];
	for (int i = 0; i < 2; i++) {
		sn_config_init(&cfg[i]);
		cfg[i].isn_fixed = 1;
		cfg[i].isn_value = i == C ? ISN_C : ISN_S;
		cfg[i].random_seed = 5 + (uint64_t)i;
		cfg[i].syn_backlog_max = 4;
	}
	memset(handles, 0, sizeof(handles));
	listener = NULL;
	accept_in_cb = false;
	CHECK(sn_simnet_init_offload(&net, &cfg[C], &cfg[S], 1, 1 * MS, offload) == 0);
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in peer = sn_simnet_sockaddr(1 - i, 0);
		uint8_t mac[6] = {0x02, 0, 0, 0, 0, (uint8_t)(2 - i)};
		CHECK(sn_arp_add(net.stack[i], peer.sin_addr, mac) == 0);
	}
	listener = sn_socket(net.stack[S]);
	struct sockaddr_in la = sn_simnet_sockaddr(S, SPORT);
	CHECK(sn_bind(listener, (struct sockaddr *)&la, sizeof(la)) == 0);
	CHECK(sn_listen(listener, 4) == 0);
	sn_set_event_cb(listener, listener_cb, NULL);

	struct sn_sock *c = sn_socket(net.stack[C]);
	struct sockaddr_in ca = sn_simnet_sockaddr(C, CPORT);
	CHECK(sn_bind(c, (struct sockaddr *)&ca, sizeof(ca)) == 0);
	CHECK(sn_connect(c, (struct sockaddr *)&la, sizeof(la)) == -EINPROGRESS);
	sn_simnet_run_until(&net, 10 * MS);
	struct sn_sock *s = sn_accept(listener, NULL, NULL, NULL);
	CHECK(s != NULL);
	handle_add(c, C, 0, SPORT); /* handles[0]: the client end */
	handle_add(s, S, 1, CPORT); /* handles[1]: the server end */
	start_us = net.now_us;
	steps_left = STEP_BUDGET;
	autowrite_left = AUTOWRITE_BUDGET;
}

static void world_down(void)
{
	for (int i = 0; i < MAX_HANDLES; i++) {
		if (handles[i].s) {
			struct sn_sock *s = handles[i].s;
			handle_drop(&handles[i]);
			sn_close(s);
		}
	}
	if (listener)
		sn_close(listener);
	listener = NULL;
	/* Let the closes play out a little, then throw everything away. */
	uint64_t end = net.now_us + 2 * SEC;
	for (int i = 0; i < 2000 && sn_simnet_step(&net, end); i++)
		;
	sn_simnet_free(&net);
}

/* ---- invariants ---------------------------------------------------------------- */

static void check_sock(const struct handle *h)
{
	struct sn_tcp_info ti;
	CHECK(sn_tcp_info(h->s, &ti) == 0);
	CHECK(ti.state < SN_NUM_STATES);
	int rcvbuf = 0, sndbuf = 0;
	socklen_t len = sizeof(int);
	CHECK(sn_getsockopt(h->s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) == 0);
	len = sizeof(int);
	CHECK(sn_getsockopt(h->s, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0);
	CHECK(ti.rcv_buf_used <= (uint32_t)rcvbuf);
	CHECK(ti.snd_buf_used <= (uint32_t)sndbuf);
	if (ti.state >= SN_SYN_SENT && ti.state <= SN_LAST_ACK) {
		/* Whatever is in flight is still held by the send buffer; the
		 * SYN and the FIN take one sequence number each. */
		CHECK(ti.bytes_in_flight <= ti.snd_buf_used + 2);
		CHECK((int32_t)(ti.snd_nxt - ti.snd_una) >= 0);
		CHECK(ti.mss >= 1 && ti.mss <= 1460);
		/* The scoreboard holds only octets in flight; a window of
		 * nothing would stall the connection for good. */
		CHECK(ti.sacked <= ti.bytes_in_flight);
		CHECK(ti.cwnd >= 1 && ti.ssthresh >= 1);
		CHECK(!ti.in_recovery || ti.bytes_in_flight > 0);
	}
}

static void check_all(void)
{
	for (int i = 0; i < MAX_HANDLES; i++)
		if (handles[i].s)
			check_sock(&handles[i]);
	for (int i = 0; i < 2; i++) {
		struct sn_stats st;
		sn_stats(net.stack[i], &st);
		/* Gauges that went below zero would show as huge numbers. */
		CHECK(st.tcp_curr_estab <= 64);
		CHECK(st.tcp_curr_tw <= 64);
	}
}

/* ---- forging frames --------------------------------------------------------------- */

static void deliver(int to, const uint8_t *f, size_t len)
{
	sn_input(net.stack[to], net.netif[to], f, len, net.now_us);
}

/* Ethernet header from the other side to `to`. */
static void eth_to(uint8_t *f, int to, uint16_t type)
{
	struct sn_eth e = {.dst = {0x02, 0, 0, 0, 0, (uint8_t)(to + 1)},
	                   .src = {0x02, 0, 0, 0, 0, (uint8_t)(2 - to)},
	                   .type = type};
	sn_eth_emit(f, SN_ETH_HLEN, &e);
}

/* Ethernet and IPv4 headers in front of payload_len bytes already in place. */
static size_t ip_to(uint8_t *f, int to, uint8_t proto, size_t payload_len)
{
	eth_to(f, to, SN_ETHERTYPE_IPV4);
	struct sn_ipv4 ip = {.total_len = (uint16_t)(SN_IPV4_HLEN + payload_len), .id = 1,
	                     .df = true, .ttl = 64, .proto = proto,
	                     .src = SN_SIMNET_ADDR(1 - to), .dst = SN_SIMNET_ADDR(to)};
	sn_ipv4_emit(f + SN_ETH_HLEN, SN_IPV4_HLEN, &ip);
	return SN_ETH_HLEN + SN_IPV4_HLEN + payload_len;
}

/* Options: either a structured set through the emitter, or raw bytes. */
static size_t put_options(struct input *in, struct sn_tcp *th, uint8_t *raw, size_t *rawlen)
{
	uint8_t sel = u8(in);
	*rawlen = 0;
	memset(&th->opts, 0, sizeof(th->opts));
	if (sel < 128)
		return 0;
	if (sel < 224) {
		th->opts.has_mss = sel & 1;
		th->opts.mss = u16(in);
		th->opts.has_wscale = (sel >> 1) & 1;
		th->opts.wscale = u8(in);
		th->opts.sack_permitted = (sel >> 2) & 1;
		th->opts.has_ts = (sel >> 3) & 1;
		if (th->opts.has_ts) {
			th->opts.ts_val = u32(in);
			th->opts.ts_ecr = u32(in);
		}
		th->opts.num_sack = (uint8_t)((sel >> 4) % 4);
		for (int i = 0; i < th->opts.num_sack; i++) {
			/* Mostly blocks just above the ACK, where a sender's
			 * scoreboard takes them (octets it has sent); else any. */
			if (u8(in) & 3) {
				th->opts.sack[i].left = th->ack + u16(in);
				th->opts.sack[i].right = th->opts.sack[i].left + u16(in) % 8192;
			} else {
				th->opts.sack[i].left = u32(in);
				th->opts.sack[i].right = u32(in);
			}
		}
		return 0;
	}
	size_t got;
	const uint8_t *p = take(in, (size_t)(sel & 0x0f) * 4 % 44, &got);
	got &= ~(size_t)3;
	memcpy(raw, p, got);
	*rawlen = got;
	return got;
}

/* A TCP segment with the given header from (1 - to) to `to`, checksums right. */
static void send_segment(struct input *in, int to, struct sn_tcp *th)
{
	static uint8_t f[SN_ETH_HLEN + SN_IPV4_HLEN + SN_TCP_MAX_HLEN + FRAME_MAX];
	uint8_t raw[64];
	size_t rawlen;
	uint8_t *tcp = f + SN_ETH_HLEN + SN_IPV4_HLEN;

	put_options(in, th, raw, &rawlen);
	size_t hl = sn_tcp_emit(tcp, SN_TCP_MAX_HLEN, th, NULL);
	if (hl == 0) {
		memset(&th->opts, 0, sizeof(th->opts));
		hl = sn_tcp_emit(tcp, SN_TCP_MAX_HLEN, th, NULL);
	}
	if (rawlen && hl + rawlen <= SN_TCP_MAX_HLEN) {
		memcpy(tcp + hl, raw, rawlen);
		hl += rawlen;
		tcp[12] = (uint8_t)(hl / 4 << 4);
	}
	/* Payload length: mostly small, sometimes past the MSS or the window. */
	uint8_t lsel = u8(in);
	size_t len = lsel < 192 ? lsel % 64 : (size_t)u16(in) % FRAME_MAX;
	size_t got;
	const uint8_t *p = take(in, len < 32 ? len : 0, &got);
	memcpy(tcp + hl, payload, len);
	memcpy(tcp + hl, p, got);
	sn_tcp_set_csum(tcp, hl + len, SN_SIMNET_ADDR(1 - to), SN_SIMNET_ADDR(to));
	deliver(to, f, ip_to(f, to, SN_IPPROTO_TCP, hl + len));
}

/* A number near base: the interesting edges are a few octets or a window away. */
static uint32_t near(struct input *in, uint32_t base)
{
	uint8_t how = u8(in);
	switch (how >> 6) {
	case 0:
		return base;
	case 1:
		return base + (uint32_t)(int32_t)(int8_t)u8(in);
	case 2:
		return base + (uint32_t)(int32_t)(int16_t)u16(in);
	default:
		return how & 1 ? u32(in) : base + 0x80000000u;
	}
}

/* Header fields for a segment on the connection whose receiving end is h. */
static void forge_on(struct input *in, const struct handle *h, uint16_t sport, uint16_t dport,
                     uint32_t seq_base, uint32_t ack_base)
{
	struct sn_tcp th = {.sport = sport, .dport = dport};
	if (h && h->s) {
		struct sn_tcp_info ti;
		sn_tcp_info(h->s, &ti);
		seq_base = ti.rcv_nxt;
		ack_base = u8(in) & 1 ? ti.snd_nxt : ti.snd_una;
	}
	th.seq = near(in, seq_base);
	th.ack = near(in, ack_base);
	th.flags = u8(in);
	/* Mostly no SYN+FIN: that is dropped at the door and shows nothing new. */
	if ((th.flags & (SN_TH_SYN | SN_TH_FIN)) == (SN_TH_SYN | SN_TH_FIN) && (u8(in) & 3))
		th.flags &= (uint8_t)~SN_TH_FIN;
	uint8_t wsel = u8(in);
	th.wnd = wsel < 128 ? 65535 : wsel < 192 ? (uint16_t)(wsel - 128) : u16(in);
	th.urp = wsel == 255 ? u16(in) : 0;
	send_segment(in, h ? h->side : S, &th);
}

/* ---- the application ------------------------------------------------------------ */

static void app_op(struct input *in)
{
	struct handle *h = &handles[u8(in) % MAX_HANDLES];
	uint8_t op = u8(in);
	uint8_t buf[4096];
	if (!h->s)
		return;
	struct sn_sock *s = h->s;
	int v;
	switch (op % 16) {
	case 0:
	case 1:
		(void)sn_send(s, payload, (size_t)u16(in) % sizeof(payload), 0);
		break;
	case 2:
	case 3:
		(void)sn_recv(s, buf, (size_t)u16(in) % sizeof(buf), op & 16 ? MSG_PEEK : 0);
		break;
	case 4:
		(void)sn_shutdown(s, u8(in) % 4); /* 3 is invalid on purpose */
		break;
	case 5:
		handle_drop(h);
		sn_close(s);
		break;
	case 6:
		handle_drop(h);
		sn_abort(s);
		break;
	case 7:
		v = 256 + u16(in);
		(void)sn_setsockopt(s, SOL_SOCKET, op & 16 ? SO_RCVBUF : SO_SNDBUF, &v, sizeof(v));
		break;
	case 8:
		v = u8(in) & 1;
		(void)sn_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
		break;
	case 9:
		v = u16(in);
		(void)sn_setsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v));
		break;
	case 10: {
		struct linger l = {.l_onoff = u8(in) & 1, .l_linger = 0};
		(void)sn_setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		break;
	}
	case 11: {
		/* Callbacks that act, and close, from inside event delivery. */
		uint8_t m = u8(in);
		h->close_on = m & 0x3f;
		h->abort = m & 0x40;
		h->autoread = op & 16;
		h->autowrite = op & 32;
		break;
	}
	case 12: {
		socklen_t len = sizeof(v);
		(void)sn_getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &len);
		break;
	}
	case 13: {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);
		(void)sn_getpeername(s, (struct sockaddr *)&a, &len);
		len = sizeof(a);
		(void)sn_getsockname(s, (struct sockaddr *)&a, &len);
		struct sockaddr_in to = sn_simnet_sockaddr(1 - h->side, SPORT);
		(void)sn_connect(s, (struct sockaddr *)&to, sizeof(to));
		(void)sn_listen(s, 1);
		break;
	}
	default:
		break;
	}
}

static void new_connection(struct input *in)
{
	uint8_t sel = u8(in);
	struct sn_sock *c = sn_socket(net.stack[C]);
	/* Port 80 has the listener (unless closed); 81 never does. */
	uint16_t port = sel & 1 ? SPORT + 1 : SPORT;
	struct sockaddr_in to = sn_simnet_sockaddr(S, port);
	if (sn_connect(c, (struct sockaddr *)&to, sizeof(to)) != -EINPROGRESS) {
		sn_close(c);
		return;
	}
	handle_add(c, C, FIRST_FREE, port);
}

static void listener_op(struct input *in)
{
	uint8_t sel = u8(in);
	switch (sel % 4) {
	case 0:
		accept_all();
		break;
	case 1:
		accept_in_cb = !accept_in_cb;
		break;
	case 2:
		if (listener) {
			sn_close(listener);
			listener = NULL;
		} else {
			listener = sn_socket(net.stack[S]);
			struct sockaddr_in la = sn_simnet_sockaddr(S, SPORT);
			if (sn_bind(listener, (struct sockaddr *)&la, sizeof(la)) != 0 ||
			    sn_listen(listener, 1 + sel / 4 % 4) != 0) {
				sn_close(listener);
				listener = NULL;
			} else {
				sn_set_event_cb(listener, listener_cb, NULL);
			}
		}
		break;
	default:
		if (listener)
			(void)sn_listen(listener, 1 + sel / 4 % 4);
		break;
	}
}

/* ---- raw bytes -------------------------------------------------------------------- */

static void raw_frame(struct input *in, int kind)
{
	static uint8_t f[SN_ETH_HLEN + SN_IPV4_HLEN + FRAME_MAX];
	size_t want = u16(in) % FRAME_MAX, got;
	const uint8_t *p = take(in, want, &got);
	int to = u8(in) & 7 ? S : C;
	switch (kind) {
	case 0: /* a whole Ethernet frame */
		memcpy(f, p, got);
		deliver(to, f, got);
		break;
	case 1: /* an IPv4 packet (anything after the Ethernet header) */
		eth_to(f, to, SN_ETHERTYPE_IPV4);
		memcpy(f + SN_ETH_HLEN, p, got);
		deliver(to, f, SN_ETH_HLEN + got);
		break;
	case 2: { /* a TCP segment in a good IP packet; the ports aimed at live
	           * connections, the checksum made right */
		uint8_t *tcp = f + SN_ETH_HLEN + SN_IPV4_HLEN;
		memcpy(tcp, p, got);
		if (got >= SN_TCP_HLEN) {
			uint8_t aim = u8(in);
			if (aim & 1) {
				sn_put16(tcp, to == S ? CPORT : SPORT);
				sn_put16(tcp + 2, to == S ? SPORT : CPORT);
			}
			if (!(aim & 2))
				sn_tcp_set_csum(tcp, got, SN_SIMNET_ADDR(1 - to), SN_SIMNET_ADDR(to));
		}
		deliver(to, f, ip_to(f, to, SN_IPPROTO_TCP, got));
		break;
	}
	default: { /* ICMP echo, ICMP unreachable about a connection, or ARP */
		uint8_t *pl = f + SN_ETH_HLEN + SN_IPV4_HLEN;
		if ((got & 7) == 7) {
			/* A Destination Unreachable quoting a segment of the
			 * established connection (or a SYN of the client's next
			 * ones), its sequence number near the sender's. */
			uint8_t q[SN_IPV4_HLEN + 8];
			struct sn_ipv4 qip = {.total_len = 40, .ttl = 64, .proto = SN_IPPROTO_TCP,
			                      .src = SN_SIMNET_ADDR(to), .dst = SN_SIMNET_ADDR(1 - to)};
			sn_ipv4_emit(q, SN_IPV4_HLEN, &qip);
			sn_put16(q + SN_IPV4_HLEN, to == S ? SPORT : CPORT);
			sn_put16(q + SN_IPV4_HLEN + 2, to == S ? CPORT : SPORT);
			sn_put32(q + SN_IPV4_HLEN + 4, near(in, to == S ? ISN_S + 1 : ISN_C + 1));
			struct sn_icmp m = {.type = SN_ICMP_DEST_UNREACH, .code = (uint8_t)(u8(in) % 16)};
			size_t n = sn_icmp_emit(pl, FRAME_MAX, &m, q, sizeof(q) - (u8(in) & 1 ? 0 : 4));
			deliver(to, f, ip_to(f, to, SN_IPPROTO_ICMP, n));
		} else if (got & 1) {
			struct sn_icmp m = {.type = (uint8_t)(got >> 1 & 1 ? SN_ICMP_ECHO_REQUEST : p[0]),
			                    .id = 1, .seq = 2};
			size_t n = sn_icmp_emit(pl, FRAME_MAX, &m, p, got);
			deliver(to, f, ip_to(f, to, SN_IPPROTO_ICMP, n));
		} else {
			struct sn_arp a = {.op = got & 2 ? SN_ARP_REQUEST : SN_ARP_REPLY,
			                   .sha = {0x02, 0, 0, 0, 0, (uint8_t)(got >> 2)},
			                   .spa = SN_SIMNET_ADDR(got >> 2 & 7) - 1,
			                   .tpa = SN_SIMNET_ADDR(to)};
			eth_to(f, to, SN_ETHERTYPE_ARP);
			sn_arp_emit(f + SN_ETH_HLEN, SN_ARP_LEN, &a);
			deliver(to, f, SN_ETH_HLEN + SN_ARP_LEN);
		}
		break;
	}
	}
}

/* ---- the program ------------------------------------------------------------------ */

static void advance(struct input *in)
{
	uint8_t b = u8(in);
	static const uint64_t unit[4] = {100, 1 * MS, 100 * MS, 1 * SEC};
	run_for((uint64_t)(b & 63) * unit[b >> 6]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	if (payload[0] == 0)
		for (size_t i = 0; i < sizeof(payload); i++)
			payload[i] = (uint8_t)(i * 13 + 1);

	world_up(u8(&in) & 1);
	for (int ops = 0; in.n > 0 && ops < MAX_OPS; ops++) {
		uint8_t op = u8(&in);
		switch (op % 16) {
		case 0:
		case 1:
		case 2:
		case 3:
			/* The established connection, seen from the server. */
			forge_on(&in, &handles[1], CPORT, SPORT, ISN_C + 1, ISN_S + 1);
			break;
		case 4: {
			/* ... from the client, or any other connection we hold,
			 * whatever its state (SYN-SENT included). */
			const struct handle *h = &handles[u8(&in) % MAX_HANDLES];
			if (!h->s || h->lport == 0 || h->rport == 0)
				h = &handles[0];
			forge_on(&in, h, h->rport, h->lport, ISN_S + 1, ISN_C + 1);
			break;
		}
		case 5: {
			/* A handshake of our own on the listener: four client ports,
			 * each with its own ISN, answered by the server's fixed ISN. */
			uint16_t k = u8(&in) % 4;
			forge_on(&in, NULL, (uint16_t)(50000 + k), SPORT,
			         0x10000000u * (k + 1) + 1, ISN_S + 1);
			break;
		}
		case 6:
		case 7:
			advance(&in);
			break;
		case 8:
		case 9:
			app_op(&in);
			break;
		case 10:
			new_connection(&in);
			break;
		case 11:
			listener_op(&in);
			break;
		default:
			raw_frame(&in, op % 16 - 12);
			break;
		}
		check_all();
	}
	world_down();
	return 0;
}
