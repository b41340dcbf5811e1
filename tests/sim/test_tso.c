/*
 * test_tso.c - segmentation and checksum offload (SN_NETIF_TSO,
 * SN_NETIF_TX_CSUM, SN_RX_CSUM_OK) and the memlink's offload mode.
 *
 * The strongest check is a comparison of two runs of the same transfer:
 * without offload, and with offload through an impaired memlink, which cuts
 * every super-segment into wire frames before the impairments draw. Every
 * frame delivered must be the same, byte for byte and in the same order:
 * then each piece of a super-segment is exactly the segment the stack would
 * have built on its own, IP ID and checksums included, and the decisions
 * (Nagle, windows, cwnd, recovery) were the same.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/simnet.h"
#include "synack.h"
#include "trace/ladder.h"
#include "wire/wire.h"

#define MS 1000ull
#define SEC 1000000ull
#define PORT 5001
#define XFER 300000u

/* ---- a transfer from end 0 to end 1, with every delivered frame logged ---- */

/* Optional: a ladder of both ends' traces, a capture of end 0's netif. */
static struct sn_ladder *xfer_ladder;
static struct sn_pcap *xfer_pcap;

struct xfer {
	struct sn_simnet net;
	struct sn_sock *ls, *cli, *srv;
	uint8_t *data;          /* what end 0 sends */
	size_t sent;
	uint8_t *rx;
	size_t rx_len;
	bool closed;
	/* Every frame delivered, in order: [end][len32][bytes]... */
	uint8_t *log;
	size_t log_len, log_cap;
	size_t frames, big_frames; /* big: longer than an MTU-1500 frame */
	size_t data_frames;
	uint32_t next_seq;      /* the receiver's view: data continues here */
	bool seq_gap;           /* a data frame from end 0 started past next_seq */
};

static void observe(void *ctx, int from_end, enum sn_link_event ev, const void *frame, size_t len,
                    uint64_t now_us)
{
	(void)now_us;
	struct xfer *x = ctx;
	if (ev != SN_LINK_DELIVERED)
		return;
	if (x->log_len + len + 8 > x->log_cap) {
		x->log_cap = (x->log_cap + len + 8) * 2;
		x->log = realloc(x->log, x->log_cap);
		assert_non_null(x->log);
	}
	uint32_t l = (uint32_t)len;
	x->log[x->log_len++] = (uint8_t)from_end;
	memcpy(x->log + x->log_len, &l, 4);
	x->log_len += 4;
	memcpy(x->log + x->log_len, frame, len);
	x->log_len += len;
	x->frames++;
	if (len > 1514)
		x->big_frames++;
	struct sn_tcp_frame v;
	if (from_end == 0 && sn_tcp_frame_view(frame, len, &v) && v.payload > 0) {
		const uint8_t *th = (const uint8_t *)frame + v.ip_off + v.ip_hlen;
		uint32_t seq = sn_get32(th + 4);
		x->data_frames++;
		if (x->next_seq && (int32_t)(seq - x->next_seq) > 0)
			x->seq_gap = true; /* possible under loss; checked only without */
		if (!x->next_seq || (int32_t)(seq + (uint32_t)v.payload - x->next_seq) > 0)
			x->next_seq = seq + (uint32_t)v.payload;
	}
}

static void pump(struct xfer *x)
{
	if (!x->srv && x->ls) {
		int err;
		x->srv = sn_accept(x->ls, NULL, NULL, &err);
	}
	while (x->cli && x->sent < XFER) {
		ssize_t n = sn_send(x->cli, x->data + x->sent, XFER - x->sent, 0);
		if (n <= 0)
			break;
		x->sent += (size_t)n;
	}
	if (x->cli && x->sent == XFER && !x->closed) {
		sn_shutdown(x->cli, SHUT_WR);
		x->closed = true;
	}
	while (x->srv) {
		ssize_t n = sn_recv(x->srv, x->rx + x->rx_len, XFER + 1 - x->rx_len, 0);
		if (n <= 0)
			break;
		x->rx_len += (size_t)n;
	}
}

static void after_step(struct sn_simnet *n, void *ctx)
{
	(void)n;
	pump(ctx);
}

/*
 * Run the transfer: offload mode of the memlink, impairment of both
 * directions (NULL: a 5 ms delay only). Returns when all has arrived and
 * both sides closed, or after 120 virtual seconds.
 */
static void xfer_run2(struct xfer *x, int offload, const struct sn_link_impair *imp0,
                      const struct sn_link_impair *imp1);

static void xfer_run(struct xfer *x, int offload, const struct sn_link_impair *imp)
{
	xfer_run2(x, offload, imp, imp);
}

/* The same with each direction's impairment (NULL: the 5 ms delay only). */
static void xfer_run2(struct xfer *x, int offload, const struct sn_link_impair *imp0,
                      const struct sn_link_impair *imp1)
{
	memset(x, 0, sizeof(*x));
	struct sn_config cfg[2];
	for (int i = 0; i < 2; i++) {
		sn_config_init(&cfg[i]);
		cfg[i].isn_fixed = 1;
		cfg[i].isn_value = i == 0 ? 1000 : 8000;
		cfg[i].random_seed = 7 + (uint64_t)i;
		cfg[i].sndbuf = cfg[i].rcvbuf = 128 * 1024;
	}
	assert_int_equal(sn_simnet_init_offload(&x->net, &cfg[0], &cfg[1], 5, 5 * MS, offload), 0);
	if (imp0)
		sn_memlink_set_impair(x->net.link, 0, imp0);
	if (imp1)
		sn_memlink_set_impair(x->net.link, 1, imp1);
	for (int i = 0; i < 2; i++) {
		static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}};
		struct in_addr a = {.s_addr = htonl(SN_SIMNET_ADDR(1 - i))};
		assert_int_equal(sn_arp_add(x->net.stack[i], a, mac[1 - i]), 0);
	}
	sn_memlink_set_observer(x->net.link, observe, x);
	for (int i = 0; xfer_ladder && i < 2; i++)
		sn_set_trace(x->net.stack[i], sn_ladder_trace, sn_ladder_side(xfer_ladder, i));
	if (xfer_pcap)
		sn_netif_set_capture(x->net.netif[0], sn_pcap_capture, xfer_pcap);
	x->data = malloc(XFER);
	x->rx = malloc(XFER + 1);
	uint32_t r = 12345;
	for (size_t i = 0; i < XFER; i++) {
		r = r * 1103515245u + 12345u;
		x->data[i] = (uint8_t)(r >> 16);
	}
	x->net.after_step = after_step;
	x->net.after_step_ctx = x;

	x->ls = sn_socket(x->net.stack[1]);
	struct sockaddr_in sa = sn_simnet_sockaddr(1, PORT);
	assert_int_equal(sn_bind(x->ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(sn_listen(x->ls, 4), 0);
	x->cli = sn_socket(x->net.stack[0]);
	assert_int_equal(sn_connect(x->cli, (struct sockaddr *)&sa, sizeof(sa)), -EINPROGRESS);
	for (int i = 0; i < 1000000 && x->net.now_us < 120 * SEC; i++) {
		if (!sn_simnet_step(&x->net, 120 * SEC))
			break;
		if (x->rx_len == XFER && x->closed && sn_memlink_in_flight(x->net.link) == 0 &&
		    x->net.now_us > 2 * SEC)
			break;
	}
}

static struct sn_stats stats_of(struct xfer *x, int end)
{
	struct sn_stats st;
	sn_stats(x->net.stack[end], &st);
	return st;
}

static void xfer_free(struct xfer *x)
{
	sn_simnet_free(&x->net);
	free(x->data);
	free(x->rx);
	free(x->log);
}

static void assert_delivered(struct xfer *x)
{
	assert_int_equal(x->rx_len, XFER);
	assert_memory_equal(x->rx, x->data, XFER);
}

/*
 * Offload on, but every frame impaired (3 % loss both ways): the link cuts
 * the super-segments. The frames delivered are those of the run without
 * offload, byte for byte, through slow start, losses, SACK recovery and
 * retransmission timeouts alike.
 */
static void test_pieces_equal_separate_segments(void **state)
{
	(void)state;
	static struct xfer plain, tso;
	struct sn_link_impair imp = {.loss_ppm = 30000, .delay_us = 5 * MS};
	xfer_run(&plain, 0, &imp);
	xfer_run(&tso, 1, &imp);
	assert_delivered(&plain);
	assert_delivered(&tso);
	struct sn_stats a = stats_of(&plain, 0), b = stats_of(&tso, 0);
	assert_int_equal(a.tcp_tso_tx, 0);
	assert_true(b.tcp_tso_tx > 10); /* super-segments were built */
	assert_true(a.tcp_retrans > 0); /* and losses repaired */
	assert_int_equal(tso.big_frames, 0); /* every one cut */
	assert_int_equal(plain.frames, tso.frames);
	assert_int_equal(plain.log_len, tso.log_len);
	assert_memory_equal(plain.log, tso.log, plain.log_len);
	/* Statistics count the pieces. */
	assert_int_equal(a.tcp_tx, b.tcp_tx);
	assert_int_equal(a.ip_tx, b.ip_tx);
	assert_int_equal(a.tcp_retrans, b.tcp_retrans);
	assert_int_equal(stats_of(&tso, 1).tcp_rx_csum_trusted, 0);
	xfer_free(&plain);
	xfer_free(&tso);
}

/*
 * Offload on, a plain delay: super-segments arrive whole, as on a veth
 * pair, and are taken on trust; the receiver gets the same bytes, in
 * sequence, in far fewer frames.
 */
static void test_super_segments_whole(void **state)
{
	(void)state;
	static struct xfer plain, tso;
	xfer_run(&plain, 0, NULL);
	xfer_run(&tso, 1, NULL);
	assert_delivered(&plain);
	assert_delivered(&tso);
	assert_int_equal(plain.big_frames, 0);
	assert_true(tso.big_frames > 0);
	assert_false(tso.seq_gap);
	assert_false(plain.seq_gap);
	assert_int_equal(plain.next_seq, tso.next_seq); /* same sequence space */
	assert_true(tso.data_frames * 4 < plain.data_frames);
	struct sn_stats s = stats_of(&tso, 1);
	assert_true(s.tcp_rx_csum_trusted > 0);
	assert_int_equal(s.tcp_drop_csum, 0);
	/* The receiver ACKs a super-segment at once, as several full-sized
	 * segments: no delayed ACK holds the sender. */
	assert_int_equal(s.tcp_delayed_acks, 0);
	xfer_free(&plain);
	xfer_free(&tso);
}

/*
 * The trace shows a super-segment once, with its pieces (the ladder's
 * "tso=45x1448"); a capture records it as the one frame it is, with the
 * checksum the stack left to the link completed, as on a wire (tshark reads
 * and validates it: checked by hand, docs/PERFORMANCE.md).
 */
static void test_super_segment_in_ladder_and_pcap(void **state)
{
	(void)state;
	static struct xfer x;
	char *text = NULL;
	size_t text_len = 0;
	FILE *out = open_memstream(&text, &text_len);
	assert_non_null(out);
	xfer_ladder = sn_ladder_new(out, "C", "S");
	char path[] = "/tmp/test_tso_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	int err;
	xfer_pcap = sn_pcap_open(path, &err);
	assert_non_null(xfer_pcap);
	xfer_run(&x, 1, NULL);
	sn_ladder_flush(xfer_ladder);
	sn_ladder_free(xfer_ladder);
	xfer_ladder = NULL;
	assert_int_equal(sn_pcap_close(xfer_pcap), 0);
	xfer_pcap = NULL;
	fclose(out);
	assert_delivered(&x);
	assert_non_null(strstr(text, " tso="));
	assert_non_null(strstr(text, "x1448 win="));
	/* The capture holds frames longer than the MTU. */
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t hdr[24], rec[16];
	assert_int_equal(fread(hdr, 1, 24, f), 24);
	size_t big = 0, bad = 0;
	static uint8_t fr[SN_ETH_HLEN + 65535];
	while (fread(rec, 1, 16, f) == 16) {
		uint32_t caplen;
		memcpy(&caplen, rec + 8, 4);
		assert_true(caplen <= sizeof(fr));
		assert_int_equal(fread(fr, 1, caplen, f), caplen);
		if (caplen > 1514)
			big++;
		struct sn_tcp_frame v;
		struct sn_tcp th;
		const uint8_t *ip = fr + SN_ETH_HLEN;
		if (sn_tcp_frame_view(fr, caplen, &v) &&
		    sn_tcp_parse(ip + v.ip_hlen, v.tcp_hlen + v.payload, sn_get32(ip + 12),
		                 sn_get32(ip + 16), true, &th) != SN_WIRE_OK)
			bad++;
	}
	assert_int_equal(bad, 0);
	fclose(f);
	if (getenv("TSO_KEEP_PCAP"))
		fprintf(stderr, "capture kept: %s\n", path);
	else
		unlink(path);
	assert_true(big > 0);
	free(text);
	xfer_free(&x);
}

/* Without the memlink's offload mode the netifs offer nothing: no
 * super-segment is built, no checksum is left undone or trusted. */
static void test_no_tso_without_offload(void **state)
{
	(void)state;
	static struct xfer x;
	xfer_run(&x, 0, NULL);
	assert_delivered(&x);
	assert_int_equal(x.big_frames, 0);
	assert_int_equal(stats_of(&x, 0).tcp_tso_tx, 0);
	assert_int_equal(stats_of(&x, 1).tcp_rx_csum_trusted, 0);
	assert_int_equal(stats_of(&x, 0).tcp_rx_csum_trusted, 0);
	xfer_free(&x);
}

/*
 * Offload on with corruption: the link cuts, completes every checksum, and
 * then corrupts frames, which the receivers catch by their checksums and
 * drop; the data arrives intact.
 */
static void test_offload_corrupt_checksums_caught(void **state)
{
	(void)state;
	static struct xfer x;
	struct sn_link_impair imp = {.corrupt_ppm = 20000, .delay_us = 5 * MS};
	xfer_run(&x, 1, &imp);
	assert_delivered(&x);
	assert_int_equal(x.big_frames, 0);
	assert_true(stats_of(&x, 0).tcp_tso_tx > 0);
	struct sn_stats r = stats_of(&x, 1), s = stats_of(&x, 0);
	assert_true(r.tcp_drop_csum + r.ip_drop_csum + s.tcp_drop_csum + s.ip_drop_csum > 0);
	assert_int_equal(r.tcp_rx_csum_trusted + s.tcp_rx_csum_trusted, 0);
	xfer_free(&x);
}

/*
 * Only the data's direction impaired, with duplication and corruption; the
 * ACKs come back whole and trusted. A duplicate is verified like the frame
 * it copies, whatever frame of the other direction the link's pool had
 * held before (it once kept that one's trust flag).
 */
static void test_offload_one_direction_impaired(void **state)
{
	(void)state;
	static struct xfer x;
	struct sn_link_impair imp = {.corrupt_ppm = 30000, .dup_ppm = 300000, .delay_us = 5 * MS};
	xfer_run2(&x, 1, &imp, NULL);
	assert_delivered(&x);
	struct sn_stats r = stats_of(&x, 1), s = stats_of(&x, 0);
	assert_int_equal(r.tcp_rx_csum_trusted, 0);  /* end 1 gets the impaired direction */
	assert_true(s.tcp_rx_csum_trusted > 0);      /* end 0 gets ACKs on trust */
	assert_true(r.tcp_drop_csum + r.ip_drop_csum > 0);
	xfer_free(&x);
}

/* ---- one stack, frames made by hand --------------------------------------- */

struct lone {
	struct sn_stack *st;
	struct sn_netif *nif;
	unsigned out;           /* frames sent */
	uint8_t last[2048];
	size_t last_len;
};

static int lone_tx(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	(void)now_us;
	struct lone *l = ctx;
	l->out++;
	l->last_len = len < sizeof(l->last) ? len : sizeof(l->last);
	memcpy(l->last, frame, l->last_len);
	return 0;
}

static const struct sn_netif_ops lone_ops = {.transmit = lone_tx};

#define ME 0xc6120002u
#define PEER 0xc6120001u

static void lone_init(struct lone *l)
{
	memset(l, 0, sizeof(*l));
	struct sn_config cfg;
	sn_config_init(&cfg);
	cfg.isn_fixed = 1;
	cfg.isn_value = 8000;
	cfg.random_seed = 3;
	cfg.no_timestamps = 1;
	cfg.no_sack = 1;
	l->st = sn_stack_new(&cfg);
	struct sn_netif_config nc = {.addr.s_addr = htonl(ME), .prefix_len = 24, .mtu = 1500,
	                             .mac = {2, 0, 0, 0, 0, 2}};
	l->nif = sn_netif_add(l->st, &lone_ops, l, &nc, NULL);
	assert_non_null(l->nif);
	struct in_addr a = {.s_addr = htonl(PEER)};
	sn_arp_add(l->st, a, (const uint8_t[6]){2, 0, 0, 0, 0, 1});
	struct sn_sock *ls = sn_socket(l->st);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT),
	                         .sin_addr.s_addr = htonl(ME)};
	assert_int_equal(sn_bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(sn_listen(ls, 4), 0);
	sn_poll(l->st, 1000);
}

/* A segment from the peer: flags, seq, ack, data; checksum right unless
 * bad_csum; delivered with rx_flags. */
static void lone_seg(struct lone *l, uint8_t flags, uint32_t seq, uint32_t ack, size_t dlen,
                     bool bad_csum, unsigned rx_flags)
{
	static uint8_t frame[SN_ETH_HLEN + 65535];
	uint8_t *tcp = frame + SN_ETH_HLEN + SN_IPV4_HLEN;
	struct sn_tcp th = {.sport = 40000, .dport = PORT, .seq = seq, .ack = ack, .flags = flags,
	                    .wnd = 65535, .opts = {.has_mss = (flags & SN_TH_SYN) != 0, .mss = 1460}};
	size_t hl = sn_tcp_emit(tcp, 65535 - SN_IPV4_HLEN, &th, NULL);
	for (size_t i = 0; i < dlen; i++)
		tcp[hl + i] = (uint8_t)i;
	sn_tcp_set_csum(tcp, hl + dlen, PEER, ME);
	if (bad_csum)
		tcp[16] ^= 0x55;
	struct sn_ipv4 ip = {.total_len = (uint16_t)(SN_IPV4_HLEN + hl + dlen), .df = true,
	                     .ttl = 64, .proto = SN_IPPROTO_TCP, .src = PEER, .dst = ME};
	sn_ipv4_emit(frame + SN_ETH_HLEN, SN_IPV4_HLEN, &ip);
	struct sn_eth eth = {.dst = {2, 0, 0, 0, 0, 2}, .src = {2, 0, 0, 0, 0, 1},
	                     .type = SN_ETHERTYPE_IPV4};
	sn_eth_emit(frame, SN_ETH_HLEN, &eth);
	sn_input_ex(l->st, l->nif, frame, SN_ETH_HLEN + SN_IPV4_HLEN + hl + dlen, rx_flags, 2000);
}

static struct sn_stats lone_stats(struct lone *l)
{
	struct sn_stats s;
	sn_stats(l->st, &s);
	return s;
}

/* A wrong checksum is caught unless the driver vouched for the frame. */
static void test_csum_trusted_only_when_declared(void **state)
{
	(void)state;
	struct lone l;
	lone_init(&l);
	lone_seg(&l, SN_TH_SYN, 100, 0, 0, true, 0);
	assert_int_equal(lone_stats(&l).tcp_drop_csum, 1);
	assert_int_equal(lone_stats(&l).tcp_rx_csum_trusted, 0);
	assert_int_equal(l.out, 0);
	lone_seg(&l, SN_TH_SYN, 100, 0, 0, true, SN_RX_CSUM_OK);
	assert_int_equal(lone_stats(&l).tcp_drop_csum, 1);
	assert_int_equal(lone_stats(&l).tcp_rx_csum_trusted, 1);
	assert_int_equal(l.out, 1); /* the SYN-ACK */
	sn_stack_free(l.st);
}

/*
 * A segment longer than the netif's MTU (what GRO, or a TSO sender on a
 * link that passes super-segments, delivers) is taken, and ACKed at once:
 * it counts as several full-sized segments.
 */
static void test_rx_large_segment(void **state)
{
	(void)state;
	struct lone l;
	lone_init(&l);
	lone_seg(&l, SN_TH_SYN, 100, 0, 0, false, 0);
	assert_int_equal(l.out, 1);
	lone_seg(&l, SN_TH_ACK, 101, 8001, 0, false, 0);
	unsigned before = l.out;
	lone_seg(&l, SN_TH_ACK, 101, 8001, 20000, false, 0);
	struct sn_stats s = lone_stats(&l);
	assert_int_equal(s.tcp_drop_csum + s.tcp_drop_malformed + s.ip_drop_malformed, 0);
	assert_int_equal(l.out, before + 1); /* ACKed at once, not delayed */
	struct sn_tcp_frame v;
	assert_true(sn_tcp_frame_view(l.last, l.last_len, &v));
	const uint8_t *th = l.last + v.ip_off + v.ip_hlen;
	assert_int_equal(sn_get32(th + 8), 101 + 20000);
	sn_stack_free(l.st);
}

/*
 * A driver that declares more than it can do: TSO without transmit_gso, or
 * TSO without checksum offload, gets neither super-segments (as Linux's
 * netdev_fix_features drops TSO without checksum offload); checksum
 * offload alone leaves the pseudo-header sum in every TCP segment.
 */
static unsigned offer_both(void *ctx, uint32_t *tso_max)
{
	(void)ctx;
	*tso_max = 65535;
	return SN_NETIF_TSO | SN_NETIF_TX_CSUM;
}

static unsigned offer_tso_only(void *ctx, uint32_t *tso_max)
{
	(void)ctx;
	*tso_max = 65535;
	return SN_NETIF_TSO;
}

static unsigned big_frames, gso_calls, partial_csums, full_csums;

static void classify(const void *frame, size_t len)
{
	static uint8_t copy[SN_ETH_HLEN + 65535];
	struct sn_tcp_frame v;
	if (len > 1514)
		big_frames++;
	if (!sn_tcp_frame_view(frame, len, &v))
		return;
	memcpy(copy, frame, len);
	sn_tcp_frame_csum(copy, len);
	size_t at = v.ip_off + v.ip_hlen + 16;
	if (memcmp(copy + at, (const uint8_t *)frame + at, 2) == 0)
		full_csums++;
	else
		partial_csums++;
}

static int count_tx(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	(void)ctx;
	(void)now_us;
	classify(frame, len);
	return 0;
}

static int count_gso(void *ctx, const void *frame, size_t len, uint16_t gso_size, uint64_t now_us)
{
	(void)ctx;
	(void)now_us;
	(void)gso_size;
	gso_calls++;
	classify(frame, len);
	return 0;
}

/* One stack with a listener on a netif with the given ops; a peer (made
 * by hand) connects and opens a 60 KiB window; the server writes 40 KiB. */
static void serve_40k(const struct sn_netif_ops *ops)
{
	big_frames = gso_calls = partial_csums = full_csums = 0;
	struct lone l;
	memset(&l, 0, sizeof(l));
	struct sn_config cfg;
	sn_config_init(&cfg);
	cfg.isn_fixed = 1;
	cfg.isn_value = 8000;
	cfg.no_timestamps = 1;
	cfg.no_sack = 1;
	cfg.init_cwnd_segs = 40;
	l.st = sn_stack_new(&cfg);
	struct sn_netif_config nc = {.addr.s_addr = htonl(ME), .prefix_len = 24, .mtu = 1500,
	                             .mac = {2, 0, 0, 0, 0, 2}};
	l.nif = sn_netif_add(l.st, ops, &l, &nc, NULL);
	assert_non_null(l.nif);
	struct in_addr a = {.s_addr = htonl(PEER)};
	sn_arp_add(l.st, a, (const uint8_t[6]){2, 0, 0, 0, 0, 1});
	struct sn_sock *ls = sn_socket(l.st);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT),
	                         .sin_addr.s_addr = htonl(ME)};
	assert_int_equal(sn_bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(sn_listen(ls, 4), 0);
	sn_poll(l.st, 1000);
	lone_seg(&l, SN_TH_SYN, 100, 0, 0, false, 0);
	lone_seg(&l, SN_TH_ACK, 101, 8001, 0, false, 0);
	int err;
	struct sn_sock *c = sn_accept(ls, NULL, NULL, &err);
	assert_non_null(c);
	static uint8_t buf[40000];
	assert_int_equal(sn_send(c, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	sn_poll(l.st, 3000);
	sn_stack_free(l.st);
}

static void test_offload_declared_but_unusable(void **state)
{
	(void)state;
	/* TSO and checksum offload, but no transmit_gso: checksum offload only. */
	static const struct sn_netif_ops no_gso = {.transmit = count_tx, .offload = offer_both};
	serve_40k(&no_gso);
	assert_int_equal(big_frames, 0);
	assert_true(partial_csums > 20);
	assert_int_equal(full_csums, 0);
	/* TSO without checksum offload: nothing. */
	static const struct sn_netif_ops no_csum = {.transmit = count_tx, .transmit_gso = count_gso,
	                                            .offload = offer_tso_only};
	serve_40k(&no_csum);
	assert_int_equal(big_frames + gso_calls + partial_csums, 0);
	assert_true(full_csums > 20);
	/* Both, and the op: super-segments, partial checksums. */
	static const struct sn_netif_ops both = {.transmit = count_tx, .transmit_gso = count_gso,
	                                         .offload = offer_both};
	serve_40k(&both);
	assert_true(gso_calls > 0);
	assert_true(big_frames > 0);
	assert_int_equal(full_csums, 0);
}

/* ---- software segmentation ------------------------------------------------ */

struct pieces {
	unsigned n;
	uint8_t flags[64];
	uint32_t seq[64];
	uint16_t id[64];
	size_t len[64];
	bool csum_ok[64];
};

static void take_piece(void *ctx, uint8_t *f, size_t len)
{
	struct pieces *p = ctx;
	struct sn_tcp_frame v;
	assert_true(sn_tcp_frame_view(f, len, &v));
	uint8_t *ip = f + v.ip_off, *th = ip + v.ip_hlen;
	struct sn_tcp t;
	p->csum_ok[p->n] = sn_tcp_parse(th, v.tcp_hlen + v.payload, sn_get32(ip + 12),
	                                sn_get32(ip + 16), true, &t) == SN_WIRE_OK &&
	                   sn_csum(ip, v.ip_hlen) == 0;
	p->flags[p->n] = th[13];
	p->seq[p->n] = sn_get32(th + 4);
	p->id[p->n] = sn_get16(ip + 4);
	p->len[p->n] = v.payload;
	p->n++;
}

static void test_tso_cut(void **state)
{
	(void)state;
	static uint8_t frame[SN_ETH_HLEN + 65535], buf[2048];
	uint8_t *tcp = frame + SN_ETH_HLEN + SN_IPV4_HLEN;
	struct sn_tcp th = {.sport = 1, .dport = 2, .seq = 0xfffff000u, .ack = 7,
	                    .flags = SN_TH_ACK | SN_TH_PSH | SN_TH_FIN, .wnd = 100,
	                    .opts = {.has_ts = true, .ts_val = 5, .ts_ecr = 6}};
	size_t hl = sn_tcp_emit(tcp, 65000, &th, NULL);
	size_t dlen = 3 * 1448 + 100;
	memset(tcp + hl, 0xab, dlen);
	sn_tcp_set_csum_partial(tcp, hl + dlen, 1, 2);
	struct sn_ipv4 ip = {.total_len = (uint16_t)(SN_IPV4_HLEN + hl + dlen), .id = 65534,
	                     .df = true, .ttl = 64, .proto = SN_IPPROTO_TCP, .src = 1, .dst = 2};
	sn_ipv4_emit(frame + SN_ETH_HLEN, SN_IPV4_HLEN, &ip);
	struct sn_eth eth = {.type = SN_ETHERTYPE_IPV4};
	sn_eth_emit(frame, SN_ETH_HLEN, &eth);
	struct pieces p = {0};
	assert_int_equal(sn_tso_cut(frame, SN_ETH_HLEN + SN_IPV4_HLEN + hl + dlen, 1448, buf,
	                            sizeof(buf), take_piece, &p), 4);
	assert_int_equal(p.n, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_true(p.csum_ok[i]);
		assert_int_equal(p.seq[i], 0xfffff000u + 1448u * i);
		assert_int_equal(p.id[i], (uint16_t)(65534 + i));
		assert_int_equal(p.len[i], i < 3 ? 1448 : 100);
		assert_int_equal(p.flags[i], i < 3 ? SN_TH_ACK : (SN_TH_ACK | SN_TH_PSH | SN_TH_FIN));
	}
	/* Not TCP/IPv4, or no room: nothing. */
	assert_int_equal(sn_tso_cut(frame, 30, 1448, buf, sizeof(buf), take_piece, &p), 0);
	assert_int_equal(sn_tso_cut(frame, SN_ETH_HLEN + SN_IPV4_HLEN + hl + dlen, 1448, buf, 100,
	                            take_piece, &p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tso_cut),
		cmocka_unit_test(test_pieces_equal_separate_segments),
		cmocka_unit_test(test_super_segments_whole),
		cmocka_unit_test(test_no_tso_without_offload),
		cmocka_unit_test(test_super_segment_in_ladder_and_pcap),
		cmocka_unit_test(test_offload_corrupt_checksums_caught),
		cmocka_unit_test(test_offload_one_direction_impaired),
		cmocka_unit_test(test_csum_trusted_only_when_declared),
		cmocka_unit_test(test_rx_large_segment),
		cmocka_unit_test(test_offload_declared_but_unusable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
