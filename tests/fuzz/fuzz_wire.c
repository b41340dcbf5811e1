/*
 * fuzz_wire.c - libFuzzer target for src/wire.
 *
 * The input is taken as an Ethernet frame and handed down the same parsers
 * sn_input uses (eth -> arp | ipv4 -> icmp | tcp). TCP is parsed both with and
 * without checksum verification. Whatever parses is emitted again and parsed
 * back, and the fields must survive; any disagreement traps, which libFuzzer
 * reports as a crash with the input that caused it. The raw input also goes
 * straight to sn_tcp_parse and the checksum is cross-checked against a
 * 16-bit reference loop.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                          \
	do {                                 \
		if (!(cond))                 \
			__builtin_trap();    \
	} while (0)

#define RAW_SRC 0xc6120001u
#define RAW_DST 0xc6120002u

static uint16_t ref_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2) {
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
		sum = (sum & 0xffff) + (sum >> 16);
	}
	if (n & 1) {
		sum += (uint32_t)p[n - 1] << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

static void check_csum(const uint8_t *data, size_t size)
{
	uint16_t want = ref_csum(data, size);
	struct sn_csum c;
	size_t a, b;

	CHECK(sn_csum(data, size) == want);
	if (size == 0)
		return;
	/* Three pieces at split points chosen by the input, odd ones included. */
	a = data[0] % (size + 1);
	b = a + data[size - 1] % (size - a + 1);
	sn_csum_init(&c);
	sn_csum_add(&c, data, a);
	sn_csum_add(&c, data + a, b - a);
	sn_csum_add(&c, data + b, size - b);
	CHECK(sn_csum_fold(&c) == want);
}

static void check_opts_equal(const struct sn_tcp_opts *a, const struct sn_tcp_opts *b)
{
	int i;

	CHECK(a->has_mss == b->has_mss);
	CHECK(!a->has_mss || a->mss == b->mss);
	CHECK(a->has_wscale == b->has_wscale);
	CHECK(!a->has_wscale || a->wscale == b->wscale);
	CHECK(a->sack_permitted == b->sack_permitted);
	CHECK(a->has_ts == b->has_ts);
	CHECK(!a->has_ts || (a->ts_val == b->ts_val && a->ts_ecr == b->ts_ecr));
	CHECK(a->num_sack == b->num_sack);
	for (i = 0; i < a->num_sack; i++) {
		CHECK(a->sack[i].left == b->sack[i].left);
		CHECK(a->sack[i].right == b->sack[i].right);
	}
}

/* Emit t (with order), parse the bytes back, and compare. */
static void tcp_reemit(const struct sn_tcp *t, const char *order, uint32_t src, uint32_t dst)
{
	uint8_t buf[SN_TCP_MAX_HLEN];
	struct sn_tcp back;
	size_t hl;

	hl = sn_tcp_emit(buf, sizeof(buf), t, order);
	if (hl == 0)
		return; /* the caller checked that this may happen */
	CHECK(hl >= SN_TCP_HLEN && hl <= SN_TCP_MAX_HLEN && hl % 4 == 0);
	if (order == NULL)
		CHECK(hl == SN_TCP_HLEN + sn_tcp_opts_len(&t->opts));
	/* Too small a buffer must be refused, never overrun. */
	CHECK(sn_tcp_emit(buf, hl - 1, t, order) == 0);
	CHECK(sn_tcp_emit(buf, hl, t, order) == hl);

	sn_tcp_set_csum(buf, hl, src, dst);
	CHECK(sn_tcp_parse(buf, hl, src, dst, true, &back) == SN_WIRE_OK);
	CHECK(back.sport == t->sport && back.dport == t->dport);
	CHECK(back.seq == t->seq && back.ack == t->ack);
	CHECK(back.flags == t->flags);
	CHECK(back.wnd == t->wnd && back.urp == t->urp);
	CHECK(back.hdr_len == hl && back.payload_off == hl && back.payload_len == 0);
	CHECK(back.csum == sn_get16(buf + 16));
	check_opts_equal(&back.opts, &t->opts);
}

static void tcp_roundtrip(const struct sn_tcp *parsed, uint32_t src, uint32_t dst)
{
	struct sn_tcp t = *parsed;
	size_t olen = sn_tcp_opts_len(&t.opts);
	uint8_t probe[SN_TCP_MAX_HLEN];
	size_t hl = sn_tcp_emit(probe, sizeof(probe), &t, NULL);

	CHECK(olen % 4 == 0);
	if (olen <= SN_TCP_MAX_HLEN - SN_TCP_HLEN) {
		CHECK(hl == SN_TCP_HLEN + olen);
	} else {
		/* Parsed options can need more room re-emitted than they took
		 * (no NOP alignment on the wire); only then may emit refuse.
		 * Drop SACK blocks until they fit, as an output path would. */
		CHECK(hl == 0);
		while (sn_tcp_opts_len(&t.opts) > SN_TCP_MAX_HLEN - SN_TCP_HLEN) {
			CHECK(t.opts.num_sack > 0);
			CHECK(sn_tcp_emit(probe, sizeof(probe), &t, NULL) == 0);
			t.opts.num_sack--;
		}
	}
	tcp_reemit(&t, NULL, src, dst);
	tcp_reemit(&t, "MWSTK", src, dst);
	tcp_reemit(&t, "KTWSM", src, dst);
}

static void check_tcp(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst)
{
	struct sn_tcp loose, strict;
	enum sn_wire_err el, es;

	el = sn_tcp_parse(seg, len, src, dst, false, &loose);
	es = sn_tcp_parse(seg, len, src, dst, true, &strict);
	if (el != SN_WIRE_OK) {
		/* Checksum verification can only add reasons to reject. */
		CHECK(es != SN_WIRE_OK);
		return;
	}
	CHECK(loose.hdr_len >= SN_TCP_HLEN && loose.hdr_len <= SN_TCP_MAX_HLEN);
	CHECK(loose.hdr_len <= len && loose.payload_off == loose.hdr_len);
	CHECK(loose.payload_off + loose.payload_len == len);
	CHECK(loose.opts.num_sack <= SN_TCP_MAX_SACK);
	tcp_roundtrip(&loose, src, dst);

	if (es == SN_WIRE_OK) {
		CHECK(strict.sport == loose.sport && strict.seq == loose.seq);
		CHECK(strict.hdr_len == loose.hdr_len && strict.flags == loose.flags);
		check_opts_equal(&strict.opts, &loose.opts);
	} else {
		CHECK(es == SN_WIRE_BAD_CSUM || es == SN_WIRE_BAD_LEN);
	}
}

static void check_icmp(const uint8_t *msg, size_t len)
{
	struct sn_icmp h, back;
	uint8_t *buf;

	if (sn_icmp_parse(msg, len, &h) != SN_WIRE_OK)
		return;
	CHECK(len >= 8 && h.data_off == 8 && h.data_off + h.data_len == len);
	buf = malloc(len);
	CHECK(buf != NULL);
	CHECK(sn_icmp_emit(buf, len - 1, &h, msg + h.data_off, h.data_len) == 0);
	CHECK(sn_icmp_emit(buf, len, &h, msg + h.data_off, h.data_len) == len);
	CHECK(sn_icmp_parse(buf, len, &back) == SN_WIRE_OK);
	CHECK(back.type == h.type && back.code == h.code);
	CHECK(back.id == h.id && back.seq == h.seq);
	CHECK(back.data_len == h.data_len);
	/* Same bytes except the checksum, which has two encodings of zero. */
	CHECK(memcmp(buf, msg, 2) == 0 && memcmp(buf + 4, msg + 4, len - 4) == 0);
	free(buf);
}

static void check_ipv4(const uint8_t *pkt, size_t len)
{
	struct sn_ipv4 ip, back;
	const uint8_t *pl;
	uint8_t *buf;
	size_t n;

	if (sn_ipv4_parse(pkt, len, &ip) != SN_WIRE_OK)
		return;
	CHECK(ip.hdr_len >= SN_IPV4_HLEN && ip.hdr_len <= 60 && ip.hdr_len % 4 == 0);
	CHECK(ip.total_len <= len && ip.payload_off == ip.hdr_len);
	CHECK(ip.payload_off + ip.payload_len == ip.total_len);
	pl = pkt + ip.payload_off;

	/* Re-emit without options in front of the same payload. */
	n = SN_IPV4_HLEN + ip.payload_len;
	if (n <= UINT16_MAX) {
		struct sn_ipv4 out = ip;

		buf = malloc(n);
		CHECK(buf != NULL);
		out.total_len = (uint16_t)n;
		CHECK(sn_ipv4_emit(buf, SN_IPV4_HLEN - 1, &out) == 0);
		CHECK(sn_ipv4_emit(buf, n, &out) == SN_IPV4_HLEN);
		memcpy(buf + SN_IPV4_HLEN, pl, ip.payload_len);
		CHECK(sn_ipv4_parse(buf, n, &back) == SN_WIRE_OK);
		CHECK(back.hdr_len == SN_IPV4_HLEN && back.total_len == n);
		CHECK(back.tos == ip.tos && back.id == ip.id && back.df == ip.df);
		CHECK(back.ttl == ip.ttl && back.proto == ip.proto);
		CHECK(back.src == ip.src && back.dst == ip.dst);
		CHECK(back.payload_len == ip.payload_len);
		free(buf);
	}

	if (ip.proto == SN_IPPROTO_ICMP)
		check_icmp(pl, ip.payload_len);
	else if (ip.proto == SN_IPPROTO_TCP)
		check_tcp(pl, ip.payload_len, ip.src, ip.dst);
}

static void check_arp(const uint8_t *p, size_t len)
{
	struct sn_arp a, back;
	uint8_t buf[SN_ARP_LEN];

	if (sn_arp_parse(p, len, &a) != SN_WIRE_OK)
		return;
	CHECK(sn_arp_emit(buf, sizeof(buf) - 1, &a) == 0);
	CHECK(sn_arp_emit(buf, sizeof(buf), &a) == SN_ARP_LEN);
	/* Only htype/ptype/hlen/plen values we accept exist, so the bytes
	 * come back identical. */
	CHECK(memcmp(buf, p, SN_ARP_LEN) == 0);
	CHECK(sn_arp_parse(buf, sizeof(buf), &back) == SN_WIRE_OK);
	CHECK(back.op == a.op && back.spa == a.spa && back.tpa == a.tpa);
	CHECK(memcmp(back.sha, a.sha, 6) == 0 && memcmp(back.tha, a.tha, 6) == 0);
}

/*
 * Software segmentation of whatever the bytes are: every piece it makes is
 * a TCP/IPv4 frame with valid checksums, no longer than the headers and
 * gso_size, and the pieces carry exactly the data of the original.
 */
struct cut_state {
	size_t pieces, data, max;
	bool ok;
};

static void check_piece(void *ctx, uint8_t *f, size_t len)
{
	struct cut_state *c = ctx;
	struct sn_tcp_frame v;
	struct sn_csum sum;
	c->pieces++;
	if (len > c->max || !sn_tcp_frame_view(f, len, &v)) {
		c->ok = false;
		return;
	}
	/* The options may be nonsense (they are copied as they are); the
	 * checksums must hold all the same. */
	const uint8_t *ip = f + v.ip_off;
	size_t seg = v.tcp_hlen + v.payload;
	sn_csum_pseudo(&sum, sn_get32(ip + 12), sn_get32(ip + 16), SN_IPPROTO_TCP, (uint16_t)seg);
	sn_csum_add(&sum, ip + v.ip_hlen, seg);
	if (sn_csum(ip, v.ip_hlen) != 0 || sn_csum_fold(&sum) != 0)
		c->ok = false;
	c->data += v.payload;
}

static void check_tso(const uint8_t *data, size_t size)
{
	static uint8_t buf[4096];
	struct sn_tcp_frame v;
	if (size < 2 || !sn_tcp_frame_view(data, size, &v))
		return;
	uint16_t gso = (uint16_t)(1 + (data[size - 1] | data[size - 2] << 8) % 1500);
	struct cut_state c = {0, 0, v.ip_off + v.ip_hlen + v.tcp_hlen + gso, true};
	unsigned n = sn_tso_cut(data, size, gso, buf, sizeof(buf), check_piece, &c);
	CHECK(n == c.pieces && c.ok);
	if (n) {
		CHECK(c.data == v.payload);
		CHECK(n == (v.payload ? (v.payload + gso - 1) / gso : 1));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_eth eth, back;
	uint8_t hdr[SN_ETH_HLEN];

	check_csum(data, size);
	check_tcp(data, size, RAW_SRC, RAW_DST);
	check_tso(data, size);

	if (sn_eth_parse(data, size, &eth) != SN_WIRE_OK) {
		CHECK(size < SN_ETH_HLEN);
		return 0;
	}
	CHECK(sn_eth_emit(hdr, sizeof(hdr), &eth) == SN_ETH_HLEN);
	CHECK(memcmp(hdr, data, SN_ETH_HLEN) == 0);
	CHECK(sn_eth_parse(hdr, sizeof(hdr), &back) == SN_WIRE_OK && back.type == eth.type);

	if (eth.type == SN_ETHERTYPE_ARP)
		check_arp(data + SN_ETH_HLEN, size - SN_ETH_HLEN);
	else if (eth.type == SN_ETHERTYPE_IPV4)
		check_ipv4(data + SN_ETH_HLEN, size - SN_ETH_HLEN);
	return 0;
}
