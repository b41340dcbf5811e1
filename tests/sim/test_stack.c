/*
 * test_stack.c - the layers below TCP, one stack at a time: frames are built
 * with the wire emitters, handed to sn_input, and whatever the stack sends is
 * caught by a netif whose transmit callback records it.
 *
 *   ARP (RFC 826): replies, resolution with a queue, retries, static entries
 *   ICMP echo (RFC 792)
 *   malformed input: each frame dropped, counted in exactly its counter,
 *   and answered with nothing
 *   Ethernet padding, initial sequence numbers (RFC 6528), sn_next_deadline
 *
 * The stack under test is 198.18.0.2 (02:00:00:00:00:02); the peer whose
 * frames we forge is 198.18.0.1 (02:00:00:00:00:01).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synack.h"
#include "wire/wire.h"
#include "world.h"

#define OUR_IP 0xc6120002u
#define PEER_IP 0xc6120001u
#define STRANGER_IP 0xc6120009u /* on-link, never answers ARP */
#define MS 1000ull
#define SEC 1000000ull

static const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t other_mac[6] = {0x02, 0, 0, 0, 0, 0x09};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- a stack whose netif records what it sends --------------------------- */

#define CAP_MAX 32
#define CAP_LEN 1600

struct rig {
	struct sn_stack *st;
	struct sn_netif *nif;
	size_t n;                  /* frames sent so far (may exceed CAP_MAX) */
	size_t len[CAP_MAX];
	uint64_t t[CAP_MAX];
	uint8_t frame[CAP_MAX][CAP_LEN];
};

static int rig_transmit(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct rig *r = ctx;
	if (r->n < CAP_MAX) {
		size_t k = len < CAP_LEN ? len : CAP_LEN;
		memcpy(r->frame[r->n], frame, k);
		r->len[r->n] = len;
		r->t[r->n] = now_us;
	}
	r->n++;
	return 0;
}

static const struct sn_netif_ops rig_ops = {.transmit = rig_transmit};

static void rig_config(struct sn_config *cfg)
{
	sn_config_init(cfg);
	cfg->isn_fixed = 1;
	cfg->isn_value = 5000;
	cfg->random_seed = 11;
}

static struct rig *rig_new(const struct sn_config *cfg)
{
	struct rig *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	struct sn_config def;
	if (!cfg) {
		rig_config(&def);
		cfg = &def;
	}
	r->st = sn_stack_new(cfg);
	assert_non_null(r->st);
	struct sn_netif_config nc = {
		.addr.s_addr = htonl(OUR_IP), .prefix_len = 24, .mtu = 1500,
	};
	memcpy(nc.mac, our_mac, 6);
	int err = -1;
	r->nif = sn_netif_add(r->st, &rig_ops, r, &nc, &err);
	assert_non_null(r->nif);
	assert_int_equal(err, 0);
	return r;
}

static void rig_free(struct rig *r)
{
	sn_stack_free(r->st);
	free(r);
}

static void rig_static_peer(struct rig *r)
{
	struct in_addr a = {.s_addr = htonl(PEER_IP)};
	assert_int_equal(sn_arp_add(r->st, a, peer_mac), 0);
}

static int setup(void **state)
{
	*state = rig_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	rig_free(*state);
	return 0;
}

/* ---- building frames ---------------------------------------------------- */

static size_t eth_hdr(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	struct sn_eth e = {.type = type};
	memcpy(e.dst, dst, 6);
	memcpy(e.src, src, 6);
	return sn_eth_emit(f, SN_ETH_HLEN, &e);
}

/* Ethernet + IPv4 headers in front of payload_len bytes the caller writes. */
static size_t ip_frame(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, size_t payload_len)
{
	eth_hdr(f, our_mac, peer_mac, SN_ETHERTYPE_IPV4);
	struct sn_ipv4 ip = {.total_len = (uint16_t)(SN_IPV4_HLEN + payload_len), .id = 77,
	                     .df = true, .ttl = 64, .proto = proto, .src = src, .dst = dst};
	sn_ipv4_emit(f + SN_ETH_HLEN, SN_IPV4_HLEN, &ip);
	return SN_ETH_HLEN + SN_IPV4_HLEN + payload_len;
}

/* Recompute the IPv4 header checksum after a test changed a header field. */
static void ip_fix_csum(uint8_t *f)
{
	uint8_t *ip = f + SN_ETH_HLEN;
	size_t hl = (size_t)(ip[0] & 0x0f) * 4;
	sn_put16(ip + 10, 0);
	sn_put16(ip + 10, sn_csum(ip, hl));
}

struct seg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;
	const uint8_t *opts;  /* raw option bytes, a multiple of 4 */
	size_t optlen;
	const void *data;
	size_t len;
};

/* A TCP segment from the peer to us, checksums correct unless damaged later. */
static size_t tcp_frame(uint8_t *f, const struct seg *s)
{
	uint8_t *tcp = f + SN_ETH_HLEN + SN_IPV4_HLEN;
	struct sn_tcp th = {.sport = s->sport, .dport = s->dport, .seq = s->seq, .ack = s->ack,
	                    .flags = s->flags, .wnd = s->wnd ? s->wnd : 65535};
	size_t hl = sn_tcp_emit(tcp, SN_TCP_MAX_HLEN, &th, NULL);
	assert_int_equal(hl, SN_TCP_HLEN);
	/* Options are written raw: the point is often that they are wrong. */
	if (s->optlen)
		memcpy(tcp + hl, s->opts, s->optlen);
	hl += s->optlen;
	tcp[12] = (uint8_t)(hl / 4 << 4);
	if (s->len)
		memcpy(tcp + hl, s->data, s->len);
	sn_tcp_set_csum(tcp, hl + s->len, PEER_IP, OUR_IP);
	return ip_frame(f, PEER_IP, OUR_IP, SN_IPPROTO_TCP, hl + s->len);
}

static size_t icmp_frame(uint8_t *f, uint32_t src, uint32_t dst, uint8_t type, uint16_t id,
                         uint16_t seq, const void *data, size_t len)
{
	struct sn_icmp m = {.type = type, .id = id, .seq = seq};
	size_t n = sn_icmp_emit(f + SN_ETH_HLEN + SN_IPV4_HLEN, CAP_LEN, &m, data, len);
	assert_int_equal(n, 8 + len);
	return ip_frame(f, src, dst, SN_IPPROTO_ICMP, n);
}

static size_t arp_frame(uint8_t *f, const uint8_t eth_dst[6], uint16_t op, const uint8_t sha[6],
                        uint32_t spa, const uint8_t tha[6], uint32_t tpa)
{
	eth_hdr(f, eth_dst, sha, SN_ETHERTYPE_ARP);
	struct sn_arp a = {.op = op, .spa = spa, .tpa = tpa};
	memcpy(a.sha, sha, 6);
	memcpy(a.tha, tha, 6);
	sn_arp_emit(f + SN_ETH_HLEN, SN_ARP_LEN, &a);
	return SN_ETH_HLEN + SN_ARP_LEN;
}

static void input(struct rig *r, const uint8_t *f, size_t len, uint64_t now)
{
	sn_input(r->st, r->nif, f, len, now);
}

/* ---- reading what was sent ------------------------------------------------ */

static const uint8_t *sent(struct rig *r, size_t i, size_t *len)
{
	assert_true(i < r->n && i < CAP_MAX);
	*len = r->len[i];
	return r->frame[i];
}

static void expect_arp(struct rig *r, size_t i, const uint8_t eth_dst[6], uint16_t op,
                       const uint8_t tha[6], uint32_t tpa)
{
	size_t len;
	const uint8_t *f = sent(r, i, &len);
	struct sn_eth e;
	struct sn_arp a;
	assert_int_equal(sn_eth_parse(f, len, &e), SN_WIRE_OK);
	assert_memory_equal(e.dst, eth_dst, 6);
	assert_memory_equal(e.src, our_mac, 6);
	assert_int_equal(e.type, SN_ETHERTYPE_ARP);
	assert_int_equal(sn_arp_parse(f + SN_ETH_HLEN, len - SN_ETH_HLEN, &a), SN_WIRE_OK);
	assert_int_equal(a.op, op);
	assert_memory_equal(a.sha, our_mac, 6);
	assert_int_equal(a.spa, OUR_IP);
	assert_memory_equal(a.tha, tha, 6);
	assert_int_equal(a.tpa, tpa);
}

/* Parse sent frame i as IPv4 to `to` via `mac`; returns the payload. */
static const uint8_t *expect_ip(struct rig *r, size_t i, const uint8_t mac[6], uint32_t to,
                                uint8_t proto, struct sn_ipv4 *ip)
{
	size_t len;
	const uint8_t *f = sent(r, i, &len);
	struct sn_eth e;
	assert_int_equal(sn_eth_parse(f, len, &e), SN_WIRE_OK);
	assert_memory_equal(e.dst, mac, 6);
	assert_memory_equal(e.src, our_mac, 6);
	assert_int_equal(e.type, SN_ETHERTYPE_IPV4);
	/* sn_ipv4_parse verifies the header checksum. */
	assert_int_equal(sn_ipv4_parse(f + SN_ETH_HLEN, len - SN_ETH_HLEN, ip), SN_WIRE_OK);
	assert_int_equal(ip->total_len, len - SN_ETH_HLEN);
	assert_int_equal(ip->src, OUR_IP);
	assert_int_equal(ip->dst, to);
	assert_int_equal(ip->proto, proto);
	return f + SN_ETH_HLEN + ip->payload_off;
}

static void expect_tcp(struct rig *r, size_t i, struct sn_tcp *th)
{
	struct sn_ipv4 ip;
	const uint8_t *p = expect_ip(r, i, peer_mac, PEER_IP, SN_IPPROTO_TCP, &ip);
	assert_int_equal(sn_tcp_parse(p, ip.payload_len, ip.src, ip.dst, true, th), SN_WIRE_OK);
}

/* Names of the counters that moved between a and b ("name+N" if not by 1). */
static const char *stats_moved(const struct sn_stats *a, const struct sn_stats *b)
{
	static char out[1024];
	size_t off = 0;
	out[0] = 0;
#define MOVED(name, desc)                                                                   \
	if (b->name != a->name) {                                                           \
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%s", off ? " " : "", \
		                        #name);                                             \
		if (b->name - a->name != 1)                                                 \
			off += (size_t)snprintf(out + off, sizeof(out) - off, "+%llu",      \
			                        (unsigned long long)(b->name - a->name));   \
	}
	SN_STATS_FIELDS(MOVED)
#undef MOVED
	return out;
}

static struct sn_stats stats(struct rig *r)
{
	struct sn_stats s;
	sn_stats(r->st, &s);
	return s;
}

static struct sn_sock *listen_on(struct rig *r, uint16_t port)
{
	struct sn_sock *ls = sn_socket(r->st);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	assert_int_equal(sn_bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(sn_listen(ls, 8), 0);
	return ls;
}

static struct sn_sock *connect_peer(struct rig *r, uint32_t ip, uint16_t lport, uint16_t rport)
{
	struct sn_sock *s = sn_socket(r->st);
	if (lport) {
		struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(lport)};
		assert_int_equal(sn_bind(s, (struct sockaddr *)&me, sizeof(me)), 0);
	}
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(rport),
	                         .sin_addr.s_addr = htonl(ip)};
	assert_int_equal(sn_connect(s, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	return s;
}

/* ---- ARP ------------------------------------------------------------------ */

static void arp_request_is_answered(void **state)
{
	struct rig *r = *state;
	uint8_t f[128];
	static const uint8_t zero[6];

	/* Who has 198.18.0.2? Tell 198.18.0.1. */
	size_t n = arp_frame(f, bcast, SN_ARP_REQUEST, peer_mac, PEER_IP, zero, OUR_IP);
	input(r, f, n, 1 * MS);
	assert_int_equal(r->n, 1);
	expect_arp(r, 0, peer_mac, SN_ARP_REPLY, peer_mac, PEER_IP);
	assert_int_equal(r->len[0], SN_ETH_HLEN + SN_ARP_LEN);
	assert_int_equal(stats(r).arp_rx, 1);
	assert_int_equal(stats(r).arp_tx, 1);

	/* A request for somebody else is not ours to answer. */
	n = arp_frame(f, bcast, SN_ARP_REQUEST, peer_mac, PEER_IP, zero, 0xc6120003u);
	input(r, f, n, 2 * MS);
	assert_int_equal(r->n, 1);

	/* The requester was learned (RFC 826: the target merges the sender),
	 * so a ping from it is answered with no ARP request of our own. */
	uint8_t data[4] = {1, 2, 3, 4};
	n = icmp_frame(f, PEER_IP, OUR_IP, SN_ICMP_ECHO_REQUEST, 1, 1, data, sizeof(data));
	input(r, f, n, 3 * MS);
	assert_int_equal(r->n, 2);
	struct sn_ipv4 ip;
	expect_ip(r, 1, peer_mac, PEER_IP, SN_IPPROTO_ICMP, &ip);
}

static void arp_resolves_then_releases_queue(void **state)
{
	struct rig *r = *state;
	static const uint8_t zero[6];
	uint8_t f[128];

	/* Two connections to a neighbour nobody has resolved yet: one
	 * broadcast request, both SYNs held. */
	sn_poll(r->st, 10 * MS);
	connect_peer(r, PEER_IP, 40000, 80);
	connect_peer(r, PEER_IP, 40001, 80);
	sn_poll(r->st, 10 * MS);
	assert_int_equal(r->n, 1);
	expect_arp(r, 0, bcast, SN_ARP_REQUEST, zero, PEER_IP);
	assert_int_equal(stats(r).arp_tx, 1);
	/* Something is due by the ARP retry (the SYNs' timers may come first). */
	assert_true(sn_next_deadline(r->st) <= 10 * MS + 1000 * MS);

	/* The reply releases the queue, in order, to the MAC it names. */
	size_t n = arp_frame(f, our_mac, SN_ARP_REPLY, peer_mac, PEER_IP, our_mac, OUR_IP);
	input(r, f, n, 12 * MS);
	assert_int_equal(r->n, 3);
	struct sn_tcp th;
	expect_tcp(r, 1, &th);
	assert_int_equal(th.flags, SN_TH_SYN);
	assert_int_equal(th.sport, 40000);
	expect_tcp(r, 2, &th);
	assert_int_equal(th.sport, 40001);
	assert_int_equal(stats(r).arp_queue_drop, 0);

	/* From now on packets go straight out. */
	connect_peer(r, PEER_IP, 40002, 80);
	sn_poll(r->st, 13 * MS);
	assert_int_equal(r->n, 4);
	expect_tcp(r, 3, &th);
	assert_int_equal(th.sport, 40002);
	assert_int_equal(stats(r).arp_tx, 1);
}

static void arp_gives_up_after_max_tries(void **state)
{
	struct sn_config cfg;
	rig_config(&cfg);
	cfg.arp_retry_ms = 500;
	cfg.arp_max_tries = 4;
	struct rig *r = rig_new(&cfg);
	static const uint8_t zero[6];
	uint8_t f[256];
	uint8_t data[8] = "abcdefg";

	/* Two pings from a stranger: the replies wait for its MAC. */
	uint64_t t0 = 100 * MS;
	size_t n = icmp_frame(f, STRANGER_IP, OUR_IP, SN_ICMP_ECHO_REQUEST, 9, 1, data, 8);
	memcpy(f + 6, other_mac, 6);
	input(r, f, n, t0);
	n = icmp_frame(f, STRANGER_IP, OUR_IP, SN_ICMP_ECHO_REQUEST, 9, 2, data, 8);
	memcpy(f + 6, other_mac, 6);
	input(r, f, n, t0);
	assert_int_equal(r->n, 1);
	expect_arp(r, 0, bcast, SN_ARP_REQUEST, zero, STRANGER_IP);

	/* arp_max_tries requests in all, arp_retry_ms apart. */
	for (unsigned i = 1; i < cfg.arp_max_tries; i++) {
		uint64_t due = t0 + i * cfg.arp_retry_ms * MS;
		assert_int_equal(sn_next_deadline(r->st), due);
		sn_poll(r->st, due - 1);
		assert_int_equal(r->n, i);
		sn_poll(r->st, due);
		assert_int_equal(r->n, i + 1);
		expect_arp(r, i, bcast, SN_ARP_REQUEST, zero, STRANGER_IP);
		assert_int_equal(r->t[i], due);
		assert_int_equal(stats(r).arp_queue_drop, 0);
	}
	/* One more interval without an answer: the queue is dropped and counted. */
	uint64_t end = t0 + cfg.arp_max_tries * cfg.arp_retry_ms * MS;
	assert_int_equal(sn_next_deadline(r->st), end);
	sn_poll(r->st, end);
	assert_int_equal(r->n, cfg.arp_max_tries);
	assert_int_equal(stats(r).arp_queue_drop, 2);
	assert_int_equal(stats(r).arp_tx, cfg.arp_max_tries);
	assert_int_equal(sn_next_deadline(r->st), SN_TIME_NEVER);
	sn_poll(r->st, end + 60 * SEC);
	assert_int_equal(r->n, cfg.arp_max_tries);

	/* A late reply finds nothing waiting and sends nothing. */
	n = arp_frame(f, our_mac, SN_ARP_REPLY, other_mac, STRANGER_IP, our_mac, OUR_IP);
	input(r, f, n, end + 61 * SEC);
	assert_int_equal(r->n, cfg.arp_max_tries);
	rig_free(r);
}

static void arp_queue_is_bounded(void **state)
{
	struct rig *r = *state;
	uint8_t f[256];

	/* Ten pings wait for one neighbour; the queue holds the newest eight
	 * (SN_ARP_MAX_PENDING), the two oldest are dropped and counted. */
	for (uint16_t seq = 1; seq <= 10; seq++) {
		size_t n = icmp_frame(f, PEER_IP, OUR_IP, SN_ICMP_ECHO_REQUEST, 5, seq, "x", 1);
		input(r, f, n, 1 * MS);
	}
	assert_int_equal(r->n, 1); /* the ARP request */
	assert_int_equal(stats(r).arp_queue_drop, 2);
	size_t n = arp_frame(f, our_mac, SN_ARP_REPLY, peer_mac, PEER_IP, our_mac, OUR_IP);
	input(r, f, n, 2 * MS);
	assert_int_equal(r->n, 9);
	for (size_t i = 1; i < 9; i++) {
		struct sn_ipv4 ip;
		struct sn_icmp m;
		const uint8_t *p = expect_ip(r, i, peer_mac, PEER_IP, SN_IPPROTO_ICMP, &ip);
		assert_int_equal(sn_icmp_parse(p, ip.payload_len, &m), SN_WIRE_OK);
		assert_int_equal(m.seq, i + 2);
	}
}

static void arp_static_entries(void **state)
{
	struct rig *r = *state;
	uint8_t f[256];

	rig_static_peer(r);
	/* An address we have no route to cannot have an entry. */
	struct in_addr far = {.s_addr = htonl(0xcb007101)};
	assert_int_equal(sn_arp_add(r->st, far, other_mac), -ENETUNREACH);
	/* A static entry never expires and needs no timer. */
	assert_int_equal(sn_next_deadline(r->st), SN_TIME_NEVER);

	size_t n = icmp_frame(f, PEER_IP, OUR_IP, SN_ICMP_ECHO_REQUEST, 1, 1, "ab", 2);
	input(r, f, n, 1 * MS);
	assert_int_equal(r->n, 1);
	struct sn_ipv4 ip;
	expect_ip(r, 0, peer_mac, PEER_IP, SN_IPPROTO_ICMP, &ip);
	assert_int_equal(stats(r).arp_tx, 0);

	/* An ARP reply claiming another MAC does not override it... */
	n = arp_frame(f, our_mac, SN_ARP_REPLY, other_mac, PEER_IP, our_mac, OUR_IP);
	input(r, f, n, 2 * MS);
	/* ...nor does time. */
	sn_poll(r->st, 3600 * SEC);
	n = icmp_frame(f, PEER_IP, OUR_IP, SN_ICMP_ECHO_REQUEST, 1, 2, "ab", 2);
	input(r, f, n, 3600 * SEC);
	assert_int_equal(r->n, 2);
	expect_ip(r, 1, peer_mac, PEER_IP, SN_IPPROTO_ICMP, &ip);
	assert_int_equal(stats(r).arp_tx, 0);

	/* Adding again replaces the MAC. */
	struct in_addr peer = {.s_addr = htonl(PEER_IP)};
	assert_int_equal(sn_arp_add(r->st, peer, other_mac), 0);
	input(r, f, n, 3601 * SEC);
	assert_int_equal(r->n, 3);
	expect_ip(r, 2, other_mac, PEER_IP, SN_IPPROTO_ICMP, &ip);
}

static void arp_learned_entries_expire(void **state)
{
	struct rig *r = *state;
	static const uint8_t zero[6];
	uint8_t f[128];

	size_t n = arp_frame(f, bcast, SN_ARP_REQUEST, peer_mac, PEER_IP, zero, OUR_IP);
	input(r, f, n, 1 * SEC);
	assert_int_equal(r->n, 1);
	/* Learned for arp_timeout_ms (60 s); then forgotten, so the next
	 * packet asks again. */
	assert_int_equal(sn_next_deadline(r->st), 61 * SEC);
	sn_poll(r->st, 61 * SEC);
	assert_int_equal(sn_next_deadline(r->st), SN_TIME_NEVER);
	n = icmp_frame(f, PEER_IP, OUR_IP, SN_ICMP_ECHO_REQUEST, 1, 1, "ab", 2);
	input(r, f, n, 62 * SEC);
	assert_int_equal(r->n, 2);
	expect_arp(r, 1, bcast, SN_ARP_REQUEST, zero, PEER_IP);
}

/* ---- ICMP ------------------------------------------------------------------- */

static void icmp_echo_is_answered(void **state)
{
	struct rig *r = *state;
	rig_static_peer(r);
	uint8_t f[1600], data[1001];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);

	/* An odd length exercises the checksum's last byte. */
	size_t lens[] = {0, 1, 56, sizeof(data)};
	for (size_t k = 0; k < 4; k++) {
		size_t before = r->n;
		size_t n = icmp_frame(f, PEER_IP, OUR_IP, SN_ICMP_ECHO_REQUEST, 0xbeef,
		                      (uint16_t)(100 + k), data, lens[k]);
		input(r, f, n, (k + 1) * MS);
		assert_int_equal(r->n, before + 1);
		struct sn_ipv4 ip;
		const uint8_t *p = expect_ip(r, before, peer_mac, PEER_IP, SN_IPPROTO_ICMP, &ip);
		assert_int_equal(ip.hdr_len, SN_IPV4_HLEN);
		assert_int_equal(ip.ttl, 64);
		struct sn_icmp m;
		/* sn_icmp_parse verifies the ICMP checksum. */
		assert_int_equal(sn_icmp_parse(p, ip.payload_len, &m), SN_WIRE_OK);
		assert_int_equal(m.type, SN_ICMP_ECHO_REPLY);
		assert_int_equal(m.code, 0);
		assert_int_equal(m.id, 0xbeef);
		assert_int_equal(m.seq, 100 + k);
		assert_int_equal(m.data_len, lens[k]);
		if (lens[k])
			assert_memory_equal(p + m.data_off, data, lens[k]);
	}
	assert_int_equal(stats(r).icmp_echo_tx, 4);
	assert_int_equal(stats(r).icmp_rx, 4);

	/* Not for us: dropped by IP, not answered. */
	struct sn_stats a = stats(r);
	size_t n = icmp_frame(f, PEER_IP, 0xc6120003u, SN_ICMP_ECHO_REQUEST, 1, 1, "x", 1);
	input(r, f, n, 10 * MS);
	struct sn_stats b = stats(r);
	assert_string_equal(stats_moved(&a, &b), "eth_rx ip_rx ip_drop_not_ours");

	/* An echo reply, or any other type, is not answered. */
	a = b;
	n = icmp_frame(f, PEER_IP, OUR_IP, SN_ICMP_ECHO_REPLY, 1, 1, "x", 1);
	input(r, f, n, 11 * MS);
	n = icmp_frame(f, PEER_IP, OUR_IP, SN_ICMP_DEST_UNREACH, 1, 1, "x", 1);
	input(r, f, n, 11 * MS);
	b = stats(r);
	assert_string_equal(stats_moved(&a, &b), "eth_rx+2 ip_rx+2 icmp_rx+2");
	assert_int_equal(r->n, 4);
}

/* ---- malformed input ---------------------------------------------------------- */

static const uint8_t no_opts[1];

/* Deliver f and check that exactly `moved` changed and nothing was sent. */
static void expect_dropped(struct rig *r, const uint8_t *f, size_t len, const char *what,
                           const char *moved)
{
	struct sn_stats a = stats(r), b;
	size_t before = r->n;
	input(r, f, len, 5 * MS);
	sn_poll(r->st, 5 * MS);
	b = stats(r);
	if (strcmp(stats_moved(&a, &b), moved) != 0)
		print_message("case: %s\n", what);
	assert_string_equal(stats_moved(&a, &b), moved);
	assert_int_equal(r->n, before);
}

static size_t good_syn(uint8_t *f)
{
	struct seg s = {.sport = 40000, .dport = 80, .seq = 100, .flags = SN_TH_SYN,
	                .opts = no_opts};
	return tcp_frame(f, &s);
}

static void malformed_frames_are_counted_and_dropped(void **state)
{
	struct rig *r = *state;
	rig_static_peer(r);
	struct sn_sock *ls = listen_on(r, 80);
	uint8_t f[256];
	size_t n;
	uint8_t *ip = f + SN_ETH_HLEN;
	uint8_t *tcp = ip + SN_IPV4_HLEN;

	/* Ethernet. */
	n = good_syn(f);
	expect_dropped(r, f, 13, "13-byte frame", "eth_rx eth_drop_short");
	expect_dropped(r, f, 0, "empty frame", "eth_rx eth_drop_short");
	n = good_syn(f);
	sn_put16(f + 12, 0x86dd);
	expect_dropped(r, f, n, "IPv6 ethertype", "eth_rx eth_drop_type");
	n = good_syn(f);
	memcpy(f, other_mac, 6);
	expect_dropped(r, f, n, "another station's MAC", "eth_rx eth_drop_dst");

	/* IPv4 header. */
	n = good_syn(f);
	ip[0] = 0x65;
	expect_dropped(r, f, n, "version 6", "eth_rx ip_rx ip_drop_malformed");
	n = good_syn(f);
	ip[0] = 0x44;
	expect_dropped(r, f, n, "IHL 4", "eth_rx ip_rx ip_drop_malformed");
	n = good_syn(f);
	ip[0] = 0x4f;
	expect_dropped(r, f, SN_ETH_HLEN + 40, "IHL 15 in a 40-byte packet",
	               "eth_rx ip_rx ip_drop_malformed");
	expect_dropped(r, f, SN_ETH_HLEN + 19, "19-byte IP packet", "eth_rx ip_rx ip_drop_malformed");
	n = good_syn(f);
	sn_put16(ip + 2, 41);
	ip_fix_csum(f);
	expect_dropped(r, f, n, "total length past the frame", "eth_rx ip_rx ip_drop_malformed");
	n = good_syn(f);
	sn_put16(ip + 2, 19);
	ip_fix_csum(f);
	expect_dropped(r, f, n, "total length below the header", "eth_rx ip_rx ip_drop_malformed");
	n = good_syn(f);
	ip[10] ^= 0x01;
	expect_dropped(r, f, n, "bad header checksum", "eth_rx ip_rx ip_drop_csum");
	n = good_syn(f);
	sn_put16(ip + 6, 0x2000); /* MF */
	ip_fix_csum(f);
	expect_dropped(r, f, n, "MF set", "eth_rx ip_rx ip_drop_frag");
	n = good_syn(f);
	sn_put16(ip + 6, 0x4000 | 185); /* DF, offset 1480 */
	ip_fix_csum(f);
	expect_dropped(r, f, n, "offset != 0", "eth_rx ip_rx ip_drop_frag");
	n = good_syn(f);
	ip[9] = 17; /* UDP */
	ip_fix_csum(f);
	expect_dropped(r, f, n, "UDP", "eth_rx ip_rx ip_drop_proto");

	/* TCP header. */
	n = good_syn(f);
	sn_put16(ip + 2, SN_IPV4_HLEN + 19);
	ip_fix_csum(f);
	expect_dropped(r, f, n - 1, "19-byte segment", "eth_rx ip_rx tcp_rx tcp_drop_malformed");
	n = good_syn(f);
	tcp[12] = 0x60; /* 24 bytes of header in a 20-byte segment */
	sn_tcp_set_csum(tcp, 20, PEER_IP, OUR_IP);
	expect_dropped(r, f, n, "data offset past the end", "eth_rx ip_rx tcp_rx tcp_drop_malformed");
	n = good_syn(f);
	tcp[12] = 0x40;
	sn_tcp_set_csum(tcp, 20, PEER_IP, OUR_IP);
	expect_dropped(r, f, n, "data offset 4", "eth_rx ip_rx tcp_rx tcp_drop_malformed");
	n = good_syn(f);
	tcp[16] ^= 0x80;
	expect_dropped(r, f, n, "bad TCP checksum", "eth_rx ip_rx tcp_rx tcp_drop_csum");
	/* The pseudo-header counts: the same segment "from" another address. */
	n = good_syn(f);
	sn_put32(ip + 12, 0xc6120005u);
	ip_fix_csum(f);
	expect_dropped(r, f, n, "pseudo-header mismatch", "eth_rx ip_rx tcp_rx tcp_drop_csum");

	static const uint8_t len0[4] = {SN_TCPOPT_MSS, 0, 0, 0};
	static const uint8_t len1[4] = {30, 1, 0, 0};
	static const uint8_t runs_off[4] = {SN_TCPOPT_TIMESTAMP, 10, 0, 0};
	static const uint8_t kind_last[4] = {1, 1, 1, SN_TCPOPT_MSS};
	static const uint8_t mss_len3[4] = {SN_TCPOPT_MSS, 3, 5, 1};
	const struct {
		const uint8_t *o;
		const char *what;
	} opts[] = {
		{len0, "option length 0"},
		{len1, "option length 1"},
		{runs_off, "option running off the header"},
		{kind_last, "kind byte with no length byte"},
		{mss_len3, "MSS of length 3"},
	};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct seg s = {.sport = 40000, .dport = 80, .seq = 100, .flags = SN_TH_SYN,
		                .opts = opts[i].o, .optlen = 4};
		n = tcp_frame(f, &s);
		expect_dropped(r, f, n, opts[i].what, "eth_rx ip_rx tcp_rx tcp_drop_options");
	}

	struct seg sf = {.sport = 40000, .dport = 80, .seq = 100, .flags = SN_TH_SYN | SN_TH_FIN,
	                 .opts = no_opts};
	n = tcp_frame(f, &sf);
	expect_dropped(r, f, n, "SYN+FIN", "eth_rx ip_rx tcp_rx tcp_drop_syn_fin");
	sf.flags = SN_TH_SYN | SN_TH_FIN | SN_TH_ACK | SN_TH_PSH | SN_TH_URG;
	n = tcp_frame(f, &sf);
	expect_dropped(r, f, n, "Christmas tree", "eth_rx ip_rx tcp_rx tcp_drop_syn_fin");

	/* ARP and ICMP. */
	static const uint8_t zero[6];
	n = arp_frame(f, bcast, SN_ARP_REQUEST, peer_mac, PEER_IP, zero, OUR_IP);
	expect_dropped(r, f, n - 1, "27-byte ARP", "eth_rx arp_rx arp_drop_malformed");
	n = arp_frame(f, bcast, SN_ARP_REQUEST, peer_mac, PEER_IP, zero, OUR_IP);
	sn_put16(f + SN_ETH_HLEN, 6); /* hardware type IEEE 802 */
	expect_dropped(r, f, n, "ARP for another hardware", "eth_rx arp_rx arp_drop_malformed");
	n = icmp_frame(f, PEER_IP, OUR_IP, SN_ICMP_ECHO_REQUEST, 1, 1, "abc", 3);
	tcp[2] ^= 0xff; /* the ICMP checksum */
	expect_dropped(r, f, n, "bad ICMP checksum", "eth_rx ip_rx icmp_rx icmp_drop_malformed");
	n = ip_frame(f, PEER_IP, OUR_IP, SN_IPPROTO_ICMP, 7);
	memset(tcp, 0, 7);
	expect_dropped(r, f, n, "7-byte ICMP", "eth_rx ip_rx icmp_rx icmp_drop_malformed");

	/* After all that, the listener still answers a good SYN. */
	size_t before = r->n;
	n = good_syn(f);
	input(r, f, n, 6 * MS);
	assert_int_equal(r->n, before + 1);
	struct sn_tcp th;
	expect_tcp(r, before, &th);
	assert_int_equal(th.flags, SN_TH_SYN | SN_TH_ACK);
	assert_int_equal(th.ack, 101);
	sn_close(ls);
}

static void ethernet_padding_is_ignored(void **state)
{
	struct rig *r = *state;
	rig_static_peer(r);
	struct sn_sock *ls = listen_on(r, 80);
	uint8_t f[64];

	/* A 40-byte SYN in a minimum-size (60-byte) frame, with junk in the
	 * padding, which is neither payload nor checksummed. */
	size_t n = good_syn(f);
	assert_int_equal(n, 54);
	memset(f + n, 0xa5, sizeof(f) - n);
	input(r, f, 60, 1 * MS);
	assert_int_equal(r->n, 1);
	struct sn_tcp th;
	expect_tcp(r, 0, &th);
	assert_int_equal(th.flags, SN_TH_SYN | SN_TH_ACK);
	assert_int_equal(th.seq, 5000);
	assert_int_equal(th.ack, 101);
	assert_int_equal(stats(r).tcp_drop_csum, 0);

	/* The handshake completes with a padded ACK carrying no data. */
	struct seg ack = {.sport = 40000, .dport = 80, .seq = 101, .ack = 5001,
	                  .flags = SN_TH_ACK, .opts = no_opts};
	n = tcp_frame(f, &ack);
	memset(f + n, 0x5a, sizeof(f) - n);
	input(r, f, 60, 2 * MS);
	struct sn_sock *s = sn_accept(ls, NULL, NULL, NULL);
	assert_non_null(s);
	struct sn_tcp_info info;
	sn_tcp_info(s, &info);
	assert_int_equal(info.state, SN_ESTABLISHED);
	assert_int_equal(info.rcv_nxt, 101);
	assert_int_equal(info.rcv_buf_used, 0);

	/* ARP in a padded frame too. */
	static const uint8_t zero[6];
	size_t before = r->n;
	n = arp_frame(f, bcast, SN_ARP_REQUEST, peer_mac, PEER_IP, zero, OUR_IP);
	memset(f + n, 0xee, sizeof(f) - n);
	input(r, f, 60, 3 * MS);
	assert_int_equal(r->n, before + 1);
	sn_close(s);
	sn_close(ls);
}

/* ---- initial sequence numbers --------------------------------------------------- */

static uint32_t syn_isn(struct rig *r, uint64_t now, uint16_t lport)
{
	sn_poll(r->st, now);
	struct sn_sock *s = connect_peer(r, PEER_IP, lport, 80);
	struct sn_tcp_info info;
	sn_tcp_info(s, &info);
	size_t before = r->n;
	sn_poll(r->st, now);
	/* What is on the wire is what tcp_info says. */
	assert_int_equal(r->n, before + 1);
	struct sn_tcp th;
	expect_tcp(r, before, &th);
	assert_int_equal(th.flags, SN_TH_SYN);
	assert_int_equal(th.seq, info.iss);
	sn_abort(s);
	return info.iss;
}

static struct rig *keyed_rig(uint8_t key_byte)
{
	struct sn_config cfg;
	sn_config_init(&cfg);
	cfg.random_seed = 3;
	cfg.isn_key_set = 1;
	memset(cfg.isn_key, key_byte, sizeof(cfg.isn_key));
	struct rig *r = rig_new(&cfg);
	rig_static_peer(r);
	return r;
}

static void isn_fixed_value(void **state)
{
	struct sn_config cfg;
	rig_config(&cfg);
	cfg.isn_value = 0xfffffff0u; /* wraps during the connection */
	struct rig *r = rig_new(&cfg);
	rig_static_peer(r);
	assert_int_equal(syn_isn(r, 1 * MS, 40000), 0xfffffff0u);
	assert_int_equal(syn_isn(r, 2 * SEC, 40001), 0xfffffff0u);

	/* The passive side too. */
	struct sn_sock *ls = listen_on(r, 80);
	uint8_t f[128];
	size_t before = r->n;
	size_t n = good_syn(f);
	input(r, f, n, 3 * SEC);
	struct sn_tcp th;
	expect_tcp(r, before, &th);
	assert_int_equal(th.seq, 0xfffffff0u);
	sn_close(ls);
	rig_free(r);
}

static void isn_keyed_hash_and_clock(void **state)
{
	/* Same key, tuple and time: the same ISN, on two separate stacks. */
	struct rig *a = keyed_rig(0x42), *b = keyed_rig(0x42);
	uint64_t t = 1000 * SEC + 12;
	uint32_t isn_a = syn_isn(a, t, 40000);
	assert_int_equal(syn_isn(b, t, 40000), isn_a);

	/* Another 4-tuple (only the local port differs): another ISN. */
	uint32_t isn_other = syn_isn(b, t, 40001);
	assert_int_not_equal(isn_other, isn_a);
	assert_int_not_equal(syn_isn(b, t, 40002), isn_other);

	/* The same tuple later: the clock has moved it by elapsed/4 µs. */
	assert_int_equal(syn_isn(a, t + 4000, 40000), isn_a + 1000);
	/* An hour later, modulo 2^32. */
	assert_int_equal(syn_isn(b, t + 3600 * SEC, 40000),
	                 (uint32_t)(isn_a + 3600 * SEC / 4));

	/* Another key: another ISN for the same tuple and time. */
	struct rig *c = keyed_rig(0x43);
	assert_int_not_equal(syn_isn(c, t, 40000), isn_a);

	/* Passive opens are keyed the same way: the same SYN at the same
	 * time on two stacks with one key gets the same SYN-ACK ISN. */
	struct rig *p[2] = {keyed_rig(0x42), keyed_rig(0x42)};
	uint32_t syn_ack_isn[2];
	for (int i = 0; i < 2; i++) {
		struct sn_sock *ls = listen_on(p[i], 80);
		uint8_t f[128];
		size_t n = good_syn(f);
		input(p[i], f, n, t);
		struct sn_tcp th;
		expect_tcp(p[i], 0, &th);
		syn_ack_isn[i] = th.seq;
		sn_close(ls);
	}
	assert_int_equal(syn_ack_isn[0], syn_ack_isn[1]);
	for (int i = 0; i < 2; i++)
		rig_free(p[i]);
	rig_free(a);
	rig_free(b);
	rig_free(c);
}

/* ---- sn_next_deadline ------------------------------------------------------------ */

static void next_deadline(void **state)
{
	/* An idle stack has nothing to do, before and after an interface. */
	struct sn_stack *bare = sn_stack_new(NULL);
	assert_int_equal(sn_next_deadline(bare), SN_TIME_NEVER);
	sn_poll(bare, 5 * SEC);
	assert_int_equal(sn_next_deadline(bare), SN_TIME_NEVER);
	sn_stack_free(bare);

	struct rig *r = *state;
	rig_static_peer(r);
	assert_int_equal(sn_next_deadline(r->st), SN_TIME_NEVER);
	struct sn_sock *ls = listen_on(r, 80);
	assert_int_equal(sn_next_deadline(r->st), SN_TIME_NEVER);

	/* A connect queues a SYN: due now. */
	sn_poll(r->st, 1 * SEC);
	struct sn_sock *s = connect_peer(r, PEER_IP, 40000, 80);
	assert_int_equal(sn_next_deadline(r->st), 0);
	assert_int_equal(r->n, 0);
	sn_poll(r->st, 1 * SEC);
	assert_int_equal(r->n, 1);
	/* Then the SYN's retransmission timer, one initial RTO later (the
	 * wheel may answer early, never late). */
	uint64_t d = sn_next_deadline(r->st);
	assert_true(d > 1 * SEC && d <= 2 * SEC);

	/* The SYN-ACK: established and idle, nothing scheduled. */
	uint8_t f[128];
	struct seg sa = {.sport = 80, .dport = 40000, .seq = 700, .ack = 5001,
	                 .flags = SN_TH_SYN | SN_TH_ACK, .opts = no_opts};
	size_t n = tcp_frame(f, &sa);
	input(r, f, n, 1 * SEC + 10 * MS);
	assert_int_equal(r->n, 2); /* our ACK */
	struct sn_tcp_info info;
	sn_tcp_info(s, &info);
	assert_int_equal(info.state, SN_ESTABLISHED);
	assert_int_equal(sn_next_deadline(r->st), SN_TIME_NEVER);

	/* Data to send: due now; once sent, the RTO. */
	assert_int_equal(sn_send(s, "data", 4, 0), 4);
	assert_int_equal(sn_next_deadline(r->st), 0);
	sn_poll(r->st, 2 * SEC);
	assert_int_equal(r->n, 3);
	d = sn_next_deadline(r->st);
	assert_true(d > 2 * SEC && d <= 3 * SEC);
	/* Acknowledged: idle again. */
	struct seg ack = {.sport = 80, .dport = 40000, .seq = 701, .ack = 5005,
	                  .flags = SN_TH_ACK, .opts = no_opts};
	n = tcp_frame(f, &ack);
	input(r, f, n, 2 * SEC + 5 * MS);
	assert_int_equal(sn_next_deadline(r->st), SN_TIME_NEVER);
	sn_abort(s);
	sn_close(ls);
}

/* ---- regressions found by tests/fuzz/fuzz_stack.c -------------------------------- */

/* A connection established by forged segments: peer 198.18.0.1:40000 (ISN 100)
 * to our listener on port 80 (ISN 5000). */
static struct sn_sock *forged_connection(struct rig *r, struct sn_sock **ls)
{
	uint8_t f[128];
	rig_static_peer(r);
	*ls = listen_on(r, 80);
	size_t n = good_syn(f);
	input(r, f, n, 1 * MS);
	struct seg ack = {.sport = 40000, .dport = 80, .seq = 101, .ack = 5001,
	                  .flags = SN_TH_ACK, .opts = no_opts};
	n = tcp_frame(f, &ack);
	input(r, f, n, 2 * MS);
	struct sn_sock *s = sn_accept(*ls, NULL, NULL, NULL);
	assert_non_null(s);
	return s;
}

/*
 * ACKs in reply to unacceptable segments are rate-limited per connection when
 * the segment carries no data (RFC 5961 10; Linux's tcp_invalid_ratelimit),
 * so two desynchronised ends cannot ACK each other forever.
 */
static void oow_acks_are_rate_limited(void **state)
{
	struct rig *r = *state;
	struct sn_sock *ls, *s = forged_connection(r, &ls);
	uint8_t f[128];
	size_t base = r->n;

	/* Pure ACKs far outside the receive window, ten in 100 ms: one reply. */
	struct seg old = {.sport = 40000, .dport = 80, .seq = 101 + 200000, .ack = 5001,
	                  .flags = SN_TH_ACK, .opts = no_opts};
	size_t n = tcp_frame(f, &old);
	for (int i = 0; i < 10; i++)
		input(r, f, n, 1 * SEC + (uint64_t)i * 10 * MS);
	assert_int_equal(r->n, base + 1);
	struct sn_tcp th;
	expect_tcp(r, base, &th);
	assert_int_equal(th.flags, SN_TH_ACK);
	assert_int_equal(th.seq, 5001);
	assert_int_equal(th.ack, 101);
	/* ACKs of data never sent count against the same allowance. */
	struct seg ahead = {.sport = 40000, .dport = 80, .seq = 101, .ack = 5001 + 7000,
	                    .flags = SN_TH_ACK, .opts = no_opts};
	n = tcp_frame(f, &ahead);
	input(r, f, n, 1 * SEC + 200 * MS);
	assert_int_equal(r->n, base + 1);
	/* Half a second after the last reply another is allowed. */
	input(r, f, n, 1 * SEC + 500 * MS);
	assert_int_equal(r->n, base + 2);
	input(r, f, n, 1 * SEC + 600 * MS);
	assert_int_equal(r->n, base + 2);

	/* Data outside the window (a retransmission of what we have) is
	 * answered every time: its sender is waiting for that ACK. */
	struct seg dup = {.sport = 40000, .dport = 80, .seq = 91, .ack = 5001,
	                  .flags = SN_TH_ACK, .data = "0123456789", .len = 10, .opts = no_opts};
	n = tcp_frame(f, &dup);
	for (int i = 0; i < 3; i++)
		input(r, f, n, 1 * SEC + 700 * MS);
	assert_int_equal(r->n, base + 5);
	sn_abort(s);
	sn_close(ls);
}

/*
 * What the fuzzer found: data forged into one end of a connection moves its
 * RCV.NXT past anything the real peer sent. The real peer sees an ACK of data
 * it never sent and answers with an ACK; that ACK is below the forged end's
 * window and is answered with an ACK; and so on, one pair per round trip,
 * forever. Now the loop stops after a few segments.
 */
static void desynchronised_ends_do_not_ack_forever(void **state)
{
	static struct world w;
	world_prepare(&w);
	world_start(&w, 1 * W_MS);
	world_static_arp(&w);
	struct sn_sock *ls = w_listen(&w, 1, 80, 4);
	struct sn_sock *c = w_connect(&w, 0, 40000, 80);
	w_run(&w, 50 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);

	size_t first = w.nsegs;
	struct w_pkt forged = {.sport = 40000, .dport = 80, .seq = 1001, .ack = 8001,
	                       .flags = SN_TH_ACK | SN_TH_PSH, .data = "forged!!", .len = 8};
	w_inject(&w, 1, &forged);
	w_run(&w, 10 * W_SEC);
	/* S acks the forgery, C and S exchange one ACK each, then quiet. */
	assert_in_range(w.nsegs - first, 1, 8);
	sn_close(c);
	sn_close(s);
	sn_close(ls);
	world_free(&w);
}

/* RFC 1122 3.2.1.3: a SYN from an address no peer can have is not answered. */
static void impossible_sources_are_dropped(void **state)
{
	struct rig *r = *state;
	rig_static_peer(r);
	struct sn_sock *ls = listen_on(r, 80);
	const uint32_t bad[] = {0, 0xffffffffu, 0xe0000001u /* 224.0.0.1 */, OUR_IP,
	                        0xc61200ffu /* our subnet's broadcast */};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t f[CAP_LEN];
		size_t n = tcp_frame(f, &(struct seg){.sport = 4000, .dport = 80, .seq = 1,
		                                      .flags = SN_TH_SYN});
		/* Rewrite the source, then both checksums. */
		uint8_t *ip = f + SN_ETH_HLEN, *tcp = ip + SN_IPV4_HLEN;
		sn_put32(ip + 12, bad[i]);
		ip_fix_csum(f);
		sn_tcp_set_csum(tcp, n - SN_ETH_HLEN - SN_IPV4_HLEN, bad[i], OUR_IP);
		struct sn_stats before = stats(r);
		input(r, f, n, (i + 1) * MS);
		sn_poll(r->st, (i + 1) * MS);
		struct sn_stats after = stats(r);
		assert_int_equal(after.ip_drop_bad_src - before.ip_drop_bad_src, 1);
		assert_int_equal(after.tcp_passive_opens, before.tcp_passive_opens);
	}
	assert_int_equal(r->n, 0);
	sn_close(ls);
}

/*
 * The MSS we offer is worked out once and kept (tcp_mss_offer_update): it
 * must follow the netif connect picks (MTU 1200 here, below TCP_MAXSEG set
 * before) and a TCP_MAXSEG set afterwards (the SYN sent again offers it).
 */
static void mss_offer_follows_netif_and_maxseg(void **state)
{
	(void)state;
	struct sn_config cfg;
	rig_config(&cfg);
	struct rig *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->st = sn_stack_new(&cfg);
	assert_non_null(r->st);
	struct sn_netif_config nc = {.addr.s_addr = htonl(OUR_IP), .prefix_len = 24, .mtu = 1200};
	memcpy(nc.mac, our_mac, 6);
	int err = -1;
	r->nif = sn_netif_add(r->st, &rig_ops, r, &nc, &err);
	assert_non_null(r->nif);
	rig_static_peer(r);

	struct sn_sock *s = sn_socket(r->st);
	int v = 1300;
	assert_int_equal(sn_setsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v)), 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(80),
	                         .sin_addr.s_addr = htonl(PEER_IP)};
	assert_int_equal(sn_connect(s, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sn_poll(r->st, 1 * MS);
	struct sn_tcp th;
	assert_int_equal(r->n, 1);
	expect_tcp(r, 0, &th);
	assert_int_equal(th.flags, SN_TH_SYN);
	assert_true(th.opts.has_mss);
	assert_int_equal(th.opts.mss, 1200 - 40);

	v = 600;
	assert_int_equal(sn_setsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v)), 0);
	sn_poll(r->st, 3 * SEC);
	assert_true(r->n >= 2);
	expect_tcp(r, r->n - 1, &th);
	assert_int_equal(th.flags, SN_TH_SYN);
	assert_int_equal(th.opts.mss, 600);
	sn_close(s);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(arp_request_is_answered),
		T(arp_resolves_then_releases_queue),
		T(arp_gives_up_after_max_tries),
		T(arp_queue_is_bounded),
		T(arp_static_entries),
		T(arp_learned_entries_expire),
		T(icmp_echo_is_answered),
		T(malformed_frames_are_counted_and_dropped),
		T(ethernet_padding_is_ignored),
		T(isn_fixed_value),
		T(isn_keyed_hash_and_clock),
		T(next_deadline),
		T(oow_acks_are_rate_limited),
		T(impossible_sources_are_dropped),
		cmocka_unit_test(desynchronised_ends_do_not_ack_forever),
		cmocka_unit_test(mss_offer_follows_netif_and_maxseg),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
