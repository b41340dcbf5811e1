/*
 * test_wire.c - unit tests for src/wire: the Internet checksum, and for each
 * layer an emit -> parse round trip plus one test per way of being malformed,
 * each checking the exact error code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synack.h"
#include "wire/wire.h"

/* ---- helpers ----------------------------------------------------------- */

/* xorshift64*: a small seeded generator, so a failure reproduces. */
struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(rng_next(r) % n);
}

static void rng_fill(struct rng *r, uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rng_next(r);
}

/* The textbook RFC 1071 loop: big-endian 16-bit words, one at a time. */
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

/* TCP checksum the slow way: an explicit pseudo-header in front of the data. */
static uint16_t ref_tcp_csum(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst)
{
	uint8_t *tmp = malloc(12 + len);
	uint16_t r;

	assert_non_null(tmp);
	sn_put32(tmp, src);
	sn_put32(tmp + 4, dst);
	tmp[8] = 0;
	tmp[9] = SN_IPPROTO_TCP;
	sn_put16(tmp + 10, (uint16_t)len);
	memcpy(tmp + 12, seg, len);
	r = ref_csum(tmp, 12 + len);
	free(tmp);
	return r;
}

#define SRC_IP 0xc6120001u /* 198.18.0.1 */
#define DST_IP 0xc6120002u /* 198.18.0.2 */

/* ---- checksum ---------------------------------------------------------- */

static void test_csum_rfc1071_example(void **state)
{
	/* RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2. */
	static const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	struct sn_csum c;

	assert_int_equal(sn_csum(d, sizeof(d)), 0x220d);
	assert_int_equal((uint16_t)~sn_csum(d, sizeof(d)), 0xddf2);
	sn_csum_init(&c);
	sn_csum_add(&c, d, 3);
	sn_csum_add(&c, d + 3, 5);
	assert_int_equal(sn_csum_fold(&c), 0x220d);
}

/* The fold of any 64-bit sum: the value mod 0xffff, complemented, where a
 * non-zero multiple of 0xffff folds to 0xffff (complement 0) and only a zero
 * sum to 0 (complement 0xffff). The sums straddle every carry the fold makes. */
static void test_csum_fold_edges(void **state)
{
	static const uint64_t sums[] = {
		0, 1, 0xfffe, 0xffff, 0x10000, 0x1fffe, 0x1ffff, 0xfffeffffu, 0xffff0000u,
		0xffffffffu, 0x100000000ull, 0x100000001ull, 0x1fffffffeull, 0x1ffffffffull,
		0xffffffff00000000ull, 0xffffffff00000001ull, 0xfffffffffffffffeull,
		0xffffffffffffffffull, 0x8000000080000000ull, 0x0000ffff0000ffffull,
		0xfffe0001fffe0001ull, 0x123456789abcdef0ull,
	};
	for (size_t i = 0; i < sizeof(sums) / sizeof(sums[0]); i++) {
		struct sn_csum c = {.sum = sums[i]};
		uint64_t m = sums[i] % 0xffff;
		uint16_t want = (uint16_t)~(sums[i] == 0 ? 0 : m == 0 ? 0xffff : m);
		assert_int_equal(sn_csum_fold(&c), want);
	}
}

static void test_csum_known_ipv4_header(void **state)
{
	/* A real UDP/IPv4 header (192.168.0.1 -> 192.168.0.199), checksum b861. */
	uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	               0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

	assert_int_equal(sn_csum(h, sizeof(h)), 0);
	h[10] = 0;
	h[11] = 0;
	assert_int_equal(sn_csum(h, sizeof(h)), 0xb861);
}

static void test_csum_empty_and_tiny(void **state)
{
	static const uint8_t one[] = {0x01};
	static const uint8_t three[] = {0x01, 0x02, 0x03};
	static const uint8_t zeros[8] = {0};

	assert_int_equal(sn_csum(one, 0), 0xffff);
	/* A lone trailing byte is padded with a zero on the right. */
	assert_int_equal(sn_csum(one, 1), (uint16_t)~0x0100);
	assert_int_equal(sn_csum(three, 3), (uint16_t)~(0x0102 + 0x0300));
	assert_int_equal(sn_csum(zeros, sizeof(zeros)), 0xffff);
}

static void test_csum_odd_lengths(void **state)
{
	struct rng r = {0x1071};
	uint8_t buf[301];
	size_t n;

	rng_fill(&r, buf, sizeof(buf));
	for (n = 1; n <= sizeof(buf); n += 2)
		assert_int_equal(sn_csum(buf, n), ref_csum(buf, n));
}

/* Every length, even ones included (20 has a path of its own: the IPv4
 * header), at every alignment, random bytes and all-ones bytes. */
static void test_csum_every_length(void **state)
{
	struct rng r = {0x2001};
	uint8_t buf[304];
	size_t n, off;

	rng_fill(&r, buf, sizeof(buf));
	for (off = 0; off < 4; off++)
		for (n = 0; n + off <= 300; n++)
			assert_int_equal(sn_csum(buf + off, n), ref_csum(buf + off, n));
	memset(buf, 0xff, sizeof(buf));
	for (n = 0; n <= 300; n++)
		assert_int_equal(sn_csum(buf, n), ref_csum(buf, n));
}

static void test_csum_all_ones_carries(void **state)
{
	/* Every word 0xffff: the most carries the accumulator ever sees. */
	size_t n = 100003;
	uint8_t *buf = malloc(n);

	assert_non_null(buf);
	memset(buf, 0xff, n);
	assert_int_equal(sn_csum(buf, n), ref_csum(buf, n));
	assert_int_equal(sn_csum(buf, n - 1), ref_csum(buf, n - 1));
	free(buf);
}

/* Long pieces at every alignment, whole and split at random points: the
 * vector path (pieces of 256 bytes and more) against the reference. */
static void test_csum_long_unaligned(void **state)
{
	struct rng r = {9000};
	size_t cap = 66000;
	uint8_t *buf = malloc(cap);

	assert_non_null(buf);
	rng_fill(&r, buf, cap);
	for (int t = 0; t < 400; t++) {
		uint8_t pick[4];
		rng_fill(&r, pick, sizeof(pick));
		size_t off = pick[0] % 64;
		size_t len = ((size_t)pick[1] << 8 | pick[2]) % (cap - 64);
		size_t cut = len ? ((size_t)pick[3] * 257) % len : 0;
		struct sn_csum c;

		assert_int_equal(sn_csum(buf + off, len), ref_csum(buf + off, len));
		sn_csum_init(&c);
		sn_csum_add(&c, buf + off, cut);
		sn_csum_add(&c, buf + off + cut, len - cut);
		assert_int_equal(sn_csum_fold(&c), ref_csum(buf + off, len));
	}
	free(buf);
}

static void test_csum_every_split(void **state)
{
	struct rng r = {42};
	uint8_t buf[77];
	size_t len, i, j;

	rng_fill(&r, buf, sizeof(buf));
	for (len = 0; len <= sizeof(buf); len++) {
		uint16_t want = ref_csum(buf, len);

		for (i = 0; i <= len; i++) {
			struct sn_csum c;

			sn_csum_init(&c);
			sn_csum_add(&c, buf, i);
			sn_csum_add(&c, buf + i, len - i);
			assert_int_equal(sn_csum_fold(&c), want);
		}
	}
	/* Three pieces, every pair of split points (odd ones included). */
	len = sizeof(buf);
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			struct sn_csum c;

			sn_csum_init(&c);
			sn_csum_add(&c, buf, i);
			sn_csum_add(&c, buf + i, j - i);
			sn_csum_add(&c, buf + j, len - j);
			assert_int_equal(sn_csum_fold(&c), ref_csum(buf, len));
		}
	}
}

static void test_csum_byte_by_byte(void **state)
{
	struct rng r = {7};
	uint8_t buf[64];
	struct sn_csum c;
	size_t i;

	rng_fill(&r, buf, sizeof(buf));
	sn_csum_init(&c);
	for (i = 0; i < sizeof(buf); i++)
		sn_csum_add(&c, buf + i, 1);
	assert_int_equal(sn_csum_fold(&c), ref_csum(buf, sizeof(buf)));
}

static void test_csum_unaligned(void **state)
{
	struct rng r = {99};
	uint8_t data[200];
	uint8_t *mem = malloc(sizeof(data) + 16);
	size_t off, len;

	assert_non_null(mem);
	rng_fill(&r, data, sizeof(data));
	for (off = 0; off < 16; off++) {
		memcpy(mem + off, data, sizeof(data));
		for (len = 0; len <= sizeof(data); len += 13)
			assert_int_equal(sn_csum(mem + off, len), ref_csum(data, len));
		assert_int_equal(sn_csum(mem + off, sizeof(data)), ref_csum(data, sizeof(data)));
	}
	free(mem);
}

static void test_csum_random_vs_reference(void **state)
{
	struct rng r = {0x5eed5eedull};
	enum { MAXLEN = 4000 };
	uint8_t *mem = malloc(MAXLEN + 8);
	int iter;

	assert_non_null(mem);
	for (iter = 0; iter < 2000; iter++) {
		size_t off = rng_below(&r, 8);
		size_t len = rng_below(&r, MAXLEN + 1);
		uint8_t *buf = mem + off;
		uint16_t want;
		struct sn_csum c;
		size_t pos = 0;

		rng_fill(&r, buf, len);
		want = ref_csum(buf, len);
		assert_int_equal(sn_csum(buf, len), want);

		/* The same bytes as random pieces. */
		sn_csum_init(&c);
		while (pos < len) {
			size_t n = rng_below(&r, (uint32_t)(len - pos) + 1);

			sn_csum_add(&c, buf + pos, n);
			pos += n;
		}
		assert_int_equal(sn_csum_fold(&c), want);
	}
	free(mem);
}

static void test_csum_pseudo_header(void **state)
{
	struct rng r = {3};
	uint8_t seg[123];
	struct sn_csum c;
	size_t len;

	rng_fill(&r, seg, sizeof(seg));
	for (len = 0; len <= sizeof(seg); len++) {
		sn_csum_pseudo(&c, 0xdeadbeef, 0xfffefdfc, SN_IPPROTO_TCP, (uint16_t)len);
		sn_csum_add(&c, seg, len);
		assert_int_equal(sn_csum_fold(&c), ref_tcp_csum(seg, len, 0xdeadbeef, 0xfffefdfc));
	}
	/* sn_csum_pseudo starts afresh whatever c held before. */
	sn_csum_init(&c);
	sn_csum_add(&c, seg, 1);
	sn_csum_pseudo(&c, SRC_IP, DST_IP, SN_IPPROTO_TCP, 20);
	sn_csum_add(&c, seg, 20);
	assert_int_equal(sn_csum_fold(&c), ref_tcp_csum(seg, 20, SRC_IP, DST_IP));
}

/* ---- error strings ----------------------------------------------------- */

static void test_err_str(void **state)
{
	int e, f;

	for (e = SN_WIRE_OK; e <= SN_WIRE_UNSUPPORTED; e++) {
		const char *s = sn_wire_err_str((enum sn_wire_err)e);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		for (f = SN_WIRE_OK; f < e; f++)
			assert_string_not_equal(s, sn_wire_err_str((enum sn_wire_err)f));
	}
	assert_non_null(sn_wire_err_str((enum sn_wire_err)1000));
}

/* ---- Ethernet ---------------------------------------------------------- */

static void test_eth_roundtrip(void **state)
{
	struct sn_eth in = {.dst = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	                    .src = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01},
	                    .type = SN_ETHERTYPE_ARP};
	struct sn_eth out;
	uint8_t buf[SN_ETH_HLEN];

	assert_int_equal(sn_eth_emit(buf, sizeof(buf), &in), SN_ETH_HLEN);
	assert_int_equal(buf[12], 0x08);
	assert_int_equal(buf[13], 0x06);
	assert_int_equal(sn_eth_parse(buf, sizeof(buf), &out), SN_WIRE_OK);
	assert_memory_equal(out.dst, in.dst, 6);
	assert_memory_equal(out.src, in.src, 6);
	assert_int_equal(out.type, SN_ETHERTYPE_ARP);
}

static void test_eth_short(void **state)
{
	uint8_t buf[SN_ETH_HLEN] = {0};
	struct sn_eth out;
	struct sn_eth h = {.type = SN_ETHERTYPE_IPV4};

	assert_int_equal(sn_eth_parse(buf, SN_ETH_HLEN - 1, &out), SN_WIRE_SHORT);
	assert_int_equal(sn_eth_parse(buf, 0, &out), SN_WIRE_SHORT);
	assert_int_equal(sn_eth_emit(buf, SN_ETH_HLEN - 1, &h), 0);
}

static void test_eth_vlan_not_parsed(void **state)
{
	uint8_t buf[18] = {0};
	struct sn_eth out;

	buf[12] = 0x81;
	buf[13] = 0x00;
	assert_int_equal(sn_eth_parse(buf, sizeof(buf), &out), SN_WIRE_OK);
	assert_int_equal(out.type, 0x8100);
}

/* ---- ARP --------------------------------------------------------------- */

static const struct sn_arp arp_sample = {
	.op = SN_ARP_REQUEST,
	.sha = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01},
	.spa = SRC_IP,
	.tha = {0},
	.tpa = DST_IP,
};

static void test_arp_roundtrip(void **state)
{
	static const uint8_t want[SN_ARP_LEN] = {
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
		0x00, 0x00, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x02};
	uint8_t buf[60] = {0};
	struct sn_arp out;

	assert_int_equal(sn_arp_emit(buf, sizeof(buf), &arp_sample), SN_ARP_LEN);
	assert_memory_equal(buf, want, SN_ARP_LEN);
	/* Parsed from a minimum-size (padded) frame payload. */
	assert_int_equal(sn_arp_parse(buf, sizeof(buf), &out), SN_WIRE_OK);
	assert_int_equal(out.op, SN_ARP_REQUEST);
	assert_memory_equal(out.sha, arp_sample.sha, 6);
	assert_memory_equal(out.tha, arp_sample.tha, 6);
	assert_int_equal(out.spa, SRC_IP);
	assert_int_equal(out.tpa, DST_IP);

	buf[7] = SN_ARP_REPLY;
	assert_int_equal(sn_arp_parse(buf, SN_ARP_LEN, &out), SN_WIRE_OK);
	assert_int_equal(out.op, SN_ARP_REPLY);
}

static void test_arp_short(void **state)
{
	uint8_t buf[SN_ARP_LEN];
	struct sn_arp out;

	assert_int_equal(sn_arp_emit(buf, sizeof(buf), &arp_sample), SN_ARP_LEN);
	assert_int_equal(sn_arp_parse(buf, SN_ARP_LEN - 1, &out), SN_WIRE_SHORT);
	assert_int_equal(sn_arp_emit(buf, SN_ARP_LEN - 1, &arp_sample), 0);
}

static void test_arp_unsupported(void **state)
{
	/* byte index, value that makes it something we do not speak */
	static const struct {
		size_t at;
		uint8_t v;
	} bad[] = {
		{1, 6},    /* htype 6 (IEEE 802) */
		{0, 1},    /* htype 0x0101 */
		{2, 0x86}, /* ptype 0x86dd */
		{3, 0x06}, /* ptype 0x0806 */
		{4, 8},    /* hlen 8 */
		{5, 16},   /* plen 16 */
		{5, 6},    /* plen 6 */
		{7, 3},    /* op 3 (RARP request) */
		{7, 0},    /* op 0 */
		{6, 1},    /* op 0x0101 */
	};
	uint8_t buf[SN_ARP_LEN];
	struct sn_arp out;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sn_arp_emit(buf, sizeof(buf), &arp_sample), SN_ARP_LEN);
		buf[bad[i].at] = bad[i].v;
		assert_int_equal(sn_arp_parse(buf, sizeof(buf), &out), SN_WIRE_UNSUPPORTED);
	}
}

/* ---- IPv4 -------------------------------------------------------------- */

static const struct sn_ipv4 ip_sample = {
	.tos = 0x10,
	.total_len = 40,
	.id = 0xbeef,
	.df = true,
	.ttl = 64,
	.proto = SN_IPPROTO_TCP,
	.src = SRC_IP,
	.dst = DST_IP,
};

/* A valid 40-byte packet (20-byte header + 20 payload bytes) in buf. */
static void ip_build(uint8_t *buf)
{
	memset(buf, 0xab, 40);
	assert_int_equal(sn_ipv4_emit(buf, 40, &ip_sample), SN_IPV4_HLEN);
}

/* Recompute the header checksum after a test has edited the header. */
static void ip_fix_csum(uint8_t *buf, size_t hdr_len)
{
	sn_put16(buf + 10, 0);
	sn_put16(buf + 10, sn_csum(buf, hdr_len));
}

static void test_ipv4_roundtrip(void **state)
{
	uint8_t buf[64];
	struct sn_ipv4 out, in = ip_sample;

	ip_build(buf);
	assert_int_equal(buf[0], 0x45);
	assert_int_equal(buf[6], 0x40); /* DF, offset 0 */
	assert_int_equal(buf[7], 0x00);
	assert_int_equal(ref_csum(buf, 20), 0);

	/* Ethernet padding after total_len is ignored. */
	assert_int_equal(sn_ipv4_parse(buf, 60, &out), SN_WIRE_OK);
	assert_int_equal(out.hdr_len, 20);
	assert_int_equal(out.tos, 0x10);
	assert_int_equal(out.total_len, 40);
	assert_int_equal(out.id, 0xbeef);
	assert_true(out.df);
	assert_int_equal(out.ttl, 64);
	assert_int_equal(out.proto, SN_IPPROTO_TCP);
	assert_int_equal(out.src, SRC_IP);
	assert_int_equal(out.dst, DST_IP);
	assert_int_equal(out.payload_off, 20);
	assert_int_equal(out.payload_len, 20);

	in.df = false;
	in.total_len = 20;
	in.hdr_len = 99; /* ignored by emit */
	assert_int_equal(sn_ipv4_emit(buf, 20, &in), 20);
	assert_int_equal(buf[6], 0);
	assert_int_equal(sn_ipv4_parse(buf, 20, &out), SN_WIRE_OK);
	assert_false(out.df);
	assert_int_equal(out.payload_len, 0);
}

static void test_ipv4_known_header(void **state)
{
	static const uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	                            0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	uint8_t buf[0x73] = {0};
	struct sn_ipv4 out;

	memcpy(buf, h, sizeof(h));
	assert_int_equal(sn_ipv4_parse(buf, sizeof(buf), &out), SN_WIRE_OK);
	assert_int_equal(out.total_len, 0x73);
	assert_int_equal(out.proto, 17);
	assert_int_equal(out.ttl, 64);
	assert_true(out.df);
	assert_int_equal(out.src, 0xc0a80001);
	assert_int_equal(out.dst, 0xc0a800c7);
	assert_int_equal(out.payload_len, 0x73 - 20);
}

/* sn_ipv4_emit sums the checksum from the fields it writes: the known header
 * byte for byte, and headers with large fields (carries in every fold)
 * that must verify. */
static void test_ipv4_emit_checksum(void **state)
{
	static const uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	                            0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	struct sn_ipv4 in = {.total_len = 0x73, .df = true, .ttl = 64, .proto = 17,
	                     .src = 0xc0a80001, .dst = 0xc0a800c7};
	uint8_t buf[20];
	uint32_t x = 12345;

	assert_int_equal(sn_ipv4_emit(buf, sizeof(buf), &in), 20);
	assert_memory_equal(buf, h, sizeof(h));
	for (int i = 0; i < 1000; i++) {
		x = x * 1103515245u + 12345u;
		in.tos = (uint8_t)(x >> 24);
		in.total_len = (uint16_t)(0xff00u | x >> 8);
		in.id = (uint16_t)(x >> 3);
		in.df = (x & 1) != 0;
		in.ttl = (uint8_t)(0xf0u | x >> 20);
		in.proto = (uint8_t)x;
		in.src = ~x;
		in.dst = x * 2654435761u | 0xffff0000u;
		assert_int_equal(sn_ipv4_emit(buf, sizeof(buf), &in), 20);
		assert_int_equal(ref_csum(buf, 20), 0);
	}
}

static void test_ipv4_emit_short_cap(void **state)
{
	uint8_t buf[20];

	assert_int_equal(sn_ipv4_emit(buf, 19, &ip_sample), 0);
}

static void test_ipv4_short(void **state)
{
	uint8_t buf[40];
	struct sn_ipv4 out;

	ip_build(buf);
	assert_int_equal(sn_ipv4_parse(buf, 19, &out), SN_WIRE_SHORT);
	assert_int_equal(sn_ipv4_parse(buf, 0, &out), SN_WIRE_SHORT);
}

static void test_ipv4_bad_version(void **state)
{
	uint8_t buf[40];
	struct sn_ipv4 out;

	ip_build(buf);
	buf[0] = 0x65;
	ip_fix_csum(buf, 20);
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_VERSION);
	buf[0] = 0x05;
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_VERSION);
}

static void test_ipv4_ihl_too_small(void **state)
{
	uint8_t buf[40];
	struct sn_ipv4 out;

	ip_build(buf);
	buf[0] = 0x44;
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_HDR);
	buf[0] = 0x40;
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_HDR);
}

static void test_ipv4_ihl_past_end(void **state)
{
	uint8_t buf[40];
	struct sn_ipv4 out;

	ip_build(buf);
	buf[0] = 0x4f; /* 60-byte header in a 40-byte buffer */
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_HDR);
}

static void test_ipv4_total_len_past_buffer(void **state)
{
	uint8_t buf[40];
	struct sn_ipv4 out;

	ip_build(buf);
	sn_put16(buf + 2, 41);
	ip_fix_csum(buf, 20);
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_LEN);
	/* A truncated capture of a valid packet is the same case. */
	ip_build(buf);
	assert_int_equal(sn_ipv4_parse(buf, 39, &out), SN_WIRE_BAD_LEN);
}

static void test_ipv4_total_len_below_header(void **state)
{
	uint8_t buf[40];
	struct sn_ipv4 out;

	ip_build(buf);
	sn_put16(buf + 2, 19);
	ip_fix_csum(buf, 20);
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_LEN);

	/* With options: total_len must cover the 24-byte header too. */
	ip_build(buf);
	buf[0] = 0x46;
	sn_put16(buf + 2, 22);
	ip_fix_csum(buf, 24);
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_LEN);
}

static void test_ipv4_bad_csum(void **state)
{
	uint8_t buf[40];
	struct sn_ipv4 out;

	ip_build(buf);
	buf[8] ^= 0x01; /* TTL changed without updating the checksum */
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_CSUM);
	ip_build(buf);
	buf[11] ^= 0x80;
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_CSUM);
}

static void test_ipv4_fragment_mf(void **state)
{
	uint8_t buf[40];
	struct sn_ipv4 out;

	ip_build(buf);
	sn_put16(buf + 6, 0x2000); /* MF, offset 0: a first fragment */
	ip_fix_csum(buf, 20);
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_FRAGMENT);
}

static void test_ipv4_fragment_offset(void **state)
{
	uint8_t buf[40];
	struct sn_ipv4 out;

	ip_build(buf);
	sn_put16(buf + 6, 0x4001); /* DF and offset 8: a last fragment */
	ip_fix_csum(buf, 20);
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_FRAGMENT);
	sn_put16(buf + 6, 0x1fff);
	ip_fix_csum(buf, 20);
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_FRAGMENT);
}

static void test_ipv4_fragment_after_other_checks(void **state)
{
	uint8_t buf[40];
	struct sn_ipv4 out;

	/* A fragment with a bad checksum is reported as the bad checksum. */
	ip_build(buf);
	sn_put16(buf + 6, 0x2000);
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_CSUM);
	sn_put16(buf + 2, 50);
	ip_fix_csum(buf, 20);
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_BAD_LEN);
}

static void test_ipv4_options_skipped(void **state)
{
	uint8_t buf[40];
	struct sn_ipv4 out;

	ip_build(buf);
	buf[0] = 0x46;
	memset(buf + 20, 0x01, 4); /* four NOP options */
	ip_fix_csum(buf, 24);
	assert_int_equal(sn_ipv4_parse(buf, 40, &out), SN_WIRE_OK);
	assert_int_equal(out.hdr_len, 24);
	assert_int_equal(out.payload_off, 24);
	assert_int_equal(out.payload_len, 16);
}

/* ---- ICMP -------------------------------------------------------------- */

static void test_icmp_echo(void **state)
{
	static const uint8_t payload[] = "synack ping payload!";
	struct sn_icmp req = {.type = SN_ICMP_ECHO_REQUEST, .id = 0x1234, .seq = 7};
	struct sn_icmp got, rep;
	uint8_t buf[64];
	size_t n;

	n = sn_icmp_emit(buf, sizeof(buf), &req, payload, sizeof(payload));
	assert_int_equal(n, 8 + sizeof(payload));
	assert_int_equal(buf[0], 8);
	assert_int_equal(buf[1], 0);
	assert_int_equal(ref_csum(buf, n), 0);

	assert_int_equal(sn_icmp_parse(buf, n, &got), SN_WIRE_OK);
	assert_int_equal(got.type, SN_ICMP_ECHO_REQUEST);
	assert_int_equal(got.code, 0);
	assert_int_equal(got.id, 0x1234);
	assert_int_equal(got.seq, 7);
	assert_int_equal(got.data_off, 8);
	assert_int_equal(got.data_len, sizeof(payload));
	assert_memory_equal(buf + got.data_off, payload, sizeof(payload));

	/* RFC 792: the reply echoes id, seq and data; built in place. */
	rep = got;
	rep.type = SN_ICMP_ECHO_REPLY;
	assert_int_equal(sn_icmp_emit(buf, sizeof(buf), &rep, buf + got.data_off, got.data_len), n);
	assert_int_equal(sn_icmp_parse(buf, n, &got), SN_WIRE_OK);
	assert_int_equal(got.type, SN_ICMP_ECHO_REPLY);
	assert_int_equal(got.id, 0x1234);
	assert_int_equal(got.seq, 7);
	assert_memory_equal(buf + 8, payload, sizeof(payload));

	/* No data at all. */
	assert_int_equal(sn_icmp_emit(buf, 8, &req, NULL, 0), 8);
	assert_int_equal(sn_icmp_parse(buf, 8, &got), SN_WIRE_OK);
	assert_int_equal(got.data_len, 0);
}

static void test_icmp_odd_data(void **state)
{
	static const uint8_t payload[] = {1, 2, 3, 4, 5};
	struct sn_icmp h = {.type = SN_ICMP_DEST_UNREACH, .code = 3};
	struct sn_icmp got;
	uint8_t buf[16];

	assert_int_equal(sn_icmp_emit(buf, sizeof(buf), &h, payload, 5), 13);
	assert_int_equal(sn_icmp_parse(buf, 13, &got), SN_WIRE_OK);
	assert_int_equal(got.type, SN_ICMP_DEST_UNREACH);
	assert_int_equal(got.code, 3);
	assert_int_equal(got.data_len, 5);
}

static void test_icmp_short(void **state)
{
	struct sn_icmp h = {.type = SN_ICMP_ECHO_REQUEST};
	struct sn_icmp got;
	uint8_t buf[16] = {0};

	assert_int_equal(sn_icmp_parse(buf, 7, &got), SN_WIRE_SHORT);
	assert_int_equal(sn_icmp_parse(buf, 0, &got), SN_WIRE_SHORT);
	assert_int_equal(sn_icmp_emit(buf, 7, &h, NULL, 0), 0);
	assert_int_equal(sn_icmp_emit(buf, 12, &h, buf, 5), 0);
	assert_int_equal(sn_icmp_emit(buf, 12, &h, buf, SIZE_MAX), 0);
}

static void test_icmp_bad_csum(void **state)
{
	static const uint8_t payload[] = {9, 8, 7, 6};
	struct sn_icmp h = {.type = SN_ICMP_ECHO_REQUEST, .id = 1, .seq = 2};
	struct sn_icmp got;
	uint8_t buf[16];

	assert_int_equal(sn_icmp_emit(buf, sizeof(buf), &h, payload, 4), 12);
	buf[11] ^= 0x40; /* the checksum covers the data too */
	assert_int_equal(sn_icmp_parse(buf, 12, &got), SN_WIRE_BAD_CSUM);
	buf[11] ^= 0x40;
	assert_int_equal(sn_icmp_parse(buf, 12, &got), SN_WIRE_OK);
	buf[2] ^= 0x01;
	assert_int_equal(sn_icmp_parse(buf, 12, &got), SN_WIRE_BAD_CSUM);
}

/* ---- TCP --------------------------------------------------------------- */

/* The options of a Linux SYN: MSS 1460, SACK-permitted, timestamps, wscale 7. */
static const uint8_t linux_syn_opts[20] = {
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x0a, 0x1b,
	0x2c, 0x3d, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* A TCP header with opt_len option bytes (copied from opts) and plen payload
 * bytes, checksummed for SRC_IP -> DST_IP. Returns the segment length. */
static size_t tcp_build(uint8_t *buf, const uint8_t *opts, size_t opt_len, size_t plen)
{
	size_t hdr = 20 + opt_len;

	memset(buf, 0, hdr + plen);
	sn_put16(buf, 40000);
	sn_put16(buf + 2, 80);
	sn_put32(buf + 4, 0x11223344);
	sn_put32(buf + 8, 0);
	buf[12] = (uint8_t)(hdr / 4 << 4);
	buf[13] = SN_TH_SYN;
	sn_put16(buf + 14, 64240);
	if (opt_len)
		memcpy(buf + 20, opts, opt_len);
	memset(buf + hdr, 'x', plen);
	sn_tcp_set_csum(buf, hdr + plen, SRC_IP, DST_IP);
	return hdr + plen;
}

/* Parse bytes with the option list opts (padded to a multiple of 4 with EOL)
 * with and without the checksum check; both must agree. */
static enum sn_wire_err tcp_parse_opts(const uint8_t *opts, size_t n, struct sn_tcp *out)
{
	uint8_t buf[60 + 8];
	size_t opt_len = (n + 3) & ~(size_t)3;
	uint8_t padded[40] = {0};
	size_t len;
	enum sn_wire_err e1, e2;

	assert_true(opt_len <= 40);
	memcpy(padded, opts, n);
	len = tcp_build(buf, padded, opt_len, 8);
	e1 = sn_tcp_parse(buf, len, SRC_IP, DST_IP, false, out);
	e2 = sn_tcp_parse(buf, len, SRC_IP, DST_IP, true, out);
	assert_int_equal(e1, e2);
	return e2;
}

static void assert_opts_equal(const struct sn_tcp_opts *a, const struct sn_tcp_opts *b)
{
	int i;

	assert_int_equal(a->has_mss, b->has_mss);
	if (a->has_mss)
		assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->has_wscale, b->has_wscale);
	if (a->has_wscale)
		assert_int_equal(a->wscale, b->wscale);
	assert_int_equal(a->sack_permitted, b->sack_permitted);
	assert_int_equal(a->has_ts, b->has_ts);
	if (a->has_ts) {
		assert_int_equal(a->ts_val, b->ts_val);
		assert_int_equal(a->ts_ecr, b->ts_ecr);
	}
	assert_int_equal(a->num_sack, b->num_sack);
	for (i = 0; i < a->num_sack; i++) {
		assert_int_equal(a->sack[i].left, b->sack[i].left);
		assert_int_equal(a->sack[i].right, b->sack[i].right);
	}
}

static void test_tcp_roundtrip_plain(void **state)
{
	struct sn_tcp in = {
		.sport = 0xc350, .dport = 443, .seq = 0xfffffff0, .ack = 0x80000001,
		.flags = SN_TH_ACK | SN_TH_PSH, .wnd = 0xfffe, .urp = 0,
		.hdr_len = 44, .csum = 0x1234, .payload_len = 9, /* ignored */
	};
	static const uint8_t want[20] = {0xc3, 0x50, 0x01, 0xbb, 0xff, 0xff, 0xff,
	                                 0xf0, 0x80, 0x00, 0x00, 0x01, 0x50, 0x18,
	                                 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00};
	uint8_t buf[64];
	struct sn_tcp out;

	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &in, NULL), 20);
	assert_memory_equal(buf, want, 20);
	memcpy(buf + 20, "payload", 7);
	sn_tcp_set_csum(buf, 27, SRC_IP, DST_IP);
	assert_int_equal(ref_tcp_csum(buf, 27, SRC_IP, DST_IP), 0);
	assert_int_equal(sn_tcp_parse(buf, 27, SRC_IP, DST_IP, true, &out), SN_WIRE_OK);
	assert_int_equal(out.sport, in.sport);
	assert_int_equal(out.dport, in.dport);
	assert_int_equal(out.seq, in.seq);
	assert_int_equal(out.ack, in.ack);
	assert_int_equal(out.hdr_len, 20);
	assert_int_equal(out.flags, in.flags);
	assert_int_equal(out.wnd, in.wnd);
	assert_int_equal(out.urp, 0);
	assert_int_equal(out.payload_off, 20);
	assert_int_equal(out.payload_len, 7);
	assert_int_equal(out.csum, sn_get16(buf + 16));
	assert_opts_equal(&out.opts, &in.opts);
}

static void test_tcp_set_csum_matches_reference(void **state)
{
	struct rng r = {0x7c9};
	uint8_t buf[1500];
	size_t len;

	for (len = 20; len <= 1400; len += 37) {
		uint16_t want;

		rng_fill(&r, buf, len);
		buf[12] = 0x50;
		sn_put16(buf + 16, 0);
		want = ref_tcp_csum(buf, len, SRC_IP, DST_IP);
		sn_put16(buf + 16, 0xabcd); /* stale value: must be ignored */
		sn_tcp_set_csum(buf, len, SRC_IP, DST_IP);
		assert_int_equal(sn_get16(buf + 16), want);
		assert_int_equal(ref_tcp_csum(buf, len, SRC_IP, DST_IP), 0);
	}
}

static void test_tcp_all_flags_and_urgent(void **state)
{
	struct sn_tcp in = {.sport = 1, .dport = 2, .flags = 0xff, .urp = 0x55aa};
	uint8_t buf[20];
	struct sn_tcp out;

	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &in, NULL), 20);
	assert_int_equal(buf[12], 0x50);
	assert_int_equal(buf[13], 0xff);
	assert_int_equal(sn_tcp_parse(buf, 20, 0, 0, false, &out), SN_WIRE_OK);
	assert_int_equal(out.flags, SN_TH_FIN | SN_TH_SYN | SN_TH_RST | SN_TH_PSH | SN_TH_ACK |
	                                    SN_TH_URG | SN_TH_ECE | SN_TH_CWR);
	assert_int_equal(out.urp, 0x55aa);
	/* Reserved bits in byte 12 are ignored on input. */
	buf[12] = 0x5f;
	assert_int_equal(sn_tcp_parse(buf, 20, 0, 0, false, &out), SN_WIRE_OK);
	assert_int_equal(out.hdr_len, 20);
}

static void test_tcp_linux_syn_options(void **state)
{
	uint8_t buf[80];
	struct sn_tcp out;
	size_t len = tcp_build(buf, linux_syn_opts, sizeof(linux_syn_opts), 0);

	assert_int_equal(len, 40);
	assert_int_equal(sn_tcp_parse(buf, len, SRC_IP, DST_IP, true, &out), SN_WIRE_OK);
	assert_int_equal(out.hdr_len, 40);
	assert_int_equal(out.flags, SN_TH_SYN);
	assert_int_equal(out.payload_off, 40);
	assert_int_equal(out.payload_len, 0);
	assert_true(out.opts.has_mss);
	assert_int_equal(out.opts.mss, 1460);
	assert_true(out.opts.sack_permitted);
	assert_true(out.opts.has_ts);
	assert_int_equal(out.opts.ts_val, 0x0a1b2c3d);
	assert_int_equal(out.opts.ts_ecr, 0);
	assert_true(out.opts.has_wscale);
	assert_int_equal(out.opts.wscale, 7);
	assert_int_equal(out.opts.num_sack, 0);
}

/*
 * The parser reads the 20-byte Linux SYN layout without its option loop.
 * Every byte that fast path tests, changed, must give what the loop gives
 * for the same list behind four NOPs (a length the fast path never takes),
 * whether an option disappears, moves, or makes the list malformed.
 */
static void test_tcp_syn_fast_path_agrees_with_loop(void **state)
{
	static const size_t tested[] = {0, 1, 4, 5, 6, 7, 16, 17, 18};
	static const uint8_t values[] = {SN_TCPOPT_EOL, SN_TCPOPT_NOP, 2, 3, 4, 8, 10, 0xfe};
	struct sn_tcp fast, loop;
	(void)state;

	for (size_t i = 0; i < sizeof(tested) / sizeof(tested[0]); i++) {
		for (size_t v = 0; v < sizeof(values); v++) {
			uint8_t opts[20], behind[24] = {SN_TCPOPT_NOP, SN_TCPOPT_NOP, SN_TCPOPT_NOP,
			                                SN_TCPOPT_NOP};
			memcpy(opts, linux_syn_opts, sizeof(opts));
			opts[tested[i]] = values[v];
			memcpy(behind + 4, opts, sizeof(opts));
			enum sn_wire_err e1 = tcp_parse_opts(opts, sizeof(opts), &fast);
			enum sn_wire_err e2 = tcp_parse_opts(behind, sizeof(behind), &loop);
			assert_int_equal(e1, e2);
			if (e1 == SN_WIRE_OK)
				assert_opts_equal(&fast.opts, &loop.opts);
		}
	}
	/* And the unchanged layout, taken by the fast path. */
	uint8_t behind[24] = {SN_TCPOPT_NOP, SN_TCPOPT_NOP, SN_TCPOPT_NOP, SN_TCPOPT_NOP};
	memcpy(behind + 4, linux_syn_opts, sizeof(linux_syn_opts));
	assert_int_equal(tcp_parse_opts(linux_syn_opts, sizeof(linux_syn_opts), &fast), SN_WIRE_OK);
	assert_int_equal(tcp_parse_opts(behind, sizeof(behind), &loop), SN_WIRE_OK);
	assert_opts_equal(&fast.opts, &loop.opts);
	assert_true(fast.opts.has_mss && fast.opts.has_wscale && fast.opts.has_ts &&
	            fast.opts.sack_permitted);
}

static void test_tcp_emit_linux_syn_bytes(void **state)
{
	struct sn_tcp h = {
		.sport = 40000, .dport = 80, .seq = 0x11223344, .flags = SN_TH_SYN,
		.wnd = 64240,
		.opts = {.has_mss = true, .mss = 1460, .sack_permitted = true,
		         .has_ts = true, .ts_val = 0x0a1b2c3d, .ts_ecr = 0,
		         .has_wscale = true, .wscale = 7},
	};
	uint8_t want[40], buf[60];

	tcp_build(want, linux_syn_opts, sizeof(linux_syn_opts), 0);
	assert_int_equal(sn_tcp_opts_len(&h.opts), 20);
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, NULL), 40);
	assert_memory_equal(buf + 20, linux_syn_opts, 20);
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, "MSTWK"), 40);
	assert_memory_equal(buf + 20, linux_syn_opts, 20);
	sn_tcp_set_csum(buf, 40, SRC_IP, DST_IP);
	assert_memory_equal(buf, want, 40);
}

static void test_tcp_emit_order_mwst(void **state)
{
	struct sn_tcp h = {
		.flags = SN_TH_SYN | SN_TH_ACK,
		.opts = {.has_mss = true, .mss = 1460, .sack_permitted = true,
		         .has_ts = true, .ts_val = 1, .ts_ecr = 2,
		         .has_wscale = true, .wscale = 6},
	};
	static const uint8_t want[20] = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03,
	                                 0x06, 0x04, 0x02, 0x08, 0x0a, 0, 0, 0,
	                                 1, 0, 0, 0, 2};
	uint8_t buf[60];
	struct sn_tcp out;

	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, "MWST"), 40);
	assert_memory_equal(buf + 20, want, 20);
	assert_int_equal(sn_tcp_parse(buf, 40, 0, 0, false, &out), SN_WIRE_OK);
	assert_opts_equal(&out.opts, &h.opts);
}

static void test_tcp_emit_order_ts_before_sackperm(void **state)
{
	struct sn_tcp h = {
		.opts = {.has_mss = true, .mss = 536, .sack_permitted = true,
		         .has_ts = true, .ts_val = 0xa0b0c0d0, .ts_ecr = 0x01020304},
	};
	static const uint8_t want[20] = {0x02, 0x04, 0x02, 0x18, 0x01, 0x01, 0x08,
	                                 0x0a, 0xa0, 0xb0, 0xc0, 0xd0, 0x01, 0x02,
	                                 0x03, 0x04, 0x01, 0x01, 0x04, 0x02};
	uint8_t buf[60];
	struct sn_tcp out;

	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, "MTS"), 40);
	assert_memory_equal(buf + 20, want, 20);
	assert_int_equal(sn_tcp_parse(buf, 40, 0, 0, false, &out), SN_WIRE_OK);
	assert_opts_equal(&out.opts, &h.opts);
}

static void test_tcp_emit_sackperm_ts_adjacent_after_skip(void **state)
{
	/* W is in the order but absent, so S and T are still written together. */
	struct sn_tcp h = {
		.opts = {.sack_permitted = true, .has_ts = true, .ts_val = 5, .ts_ecr = 6},
	};
	static const uint8_t want[12] = {0x04, 0x02, 0x08, 0x0a, 0, 0, 0, 5, 0, 0, 0, 6};
	uint8_t buf[60];

	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, "SWT"), 32);
	assert_memory_equal(buf + 20, want, 12);
	/* With W present between them they are not adjacent. */
	h.opts.has_wscale = true;
	h.opts.wscale = 2;
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, "SWT"), 40);
	assert_memory_equal(buf + 20,
	                    ((const uint8_t[20]){0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x02,
	                                         0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 5, 0, 0, 0, 6}),
	                    20);
}

static void test_tcp_emit_single_options(void **state)
{
	uint8_t buf[60];
	struct sn_tcp h;

	/* SACK-permitted alone (no timestamps). */
	memset(&h, 0, sizeof(h));
	h.opts.sack_permitted = true;
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, NULL), 24);
	assert_memory_equal(buf + 20, ((const uint8_t[4]){0x01, 0x01, 0x04, 0x02}), 4);

	/* Timestamps alone. */
	memset(&h, 0, sizeof(h));
	h.opts.has_ts = true;
	h.opts.ts_val = 0x01020304;
	h.opts.ts_ecr = 0x05060708;
	assert_int_equal(sn_tcp_opts_len(&h.opts), 12);
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, NULL), 32);
	assert_memory_equal(buf + 20, ((const uint8_t[12]){0x01, 0x01, 0x08, 0x0a, 1, 2, 3, 4, 5,
	                                                   6, 7, 8}),
	                    12);

	/* Window scale alone. */
	memset(&h, 0, sizeof(h));
	h.opts.has_wscale = true;
	h.opts.wscale = 14;
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, NULL), 24);
	assert_memory_equal(buf + 20, ((const uint8_t[4]){0x01, 0x03, 0x03, 0x0e}), 4);
	assert_int_equal(buf[12], 0x60);
}

static void test_tcp_emit_order_subset_and_unknown(void **state)
{
	struct sn_tcp h = {
		.opts = {.has_mss = true, .mss = 1000, .has_wscale = true, .wscale = 3},
	};
	uint8_t buf[60];
	struct sn_tcp out;

	/* Options absent from the order string are not written. */
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, ""), 20);
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, "W"), 24);
	assert_int_equal(sn_tcp_parse(buf, 24, 0, 0, false, &out), SN_WIRE_OK);
	assert_false(out.opts.has_mss);
	assert_true(out.opts.has_wscale);
	/* Unknown and repeated letters are ignored. */
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, "xWMWM?"), 28);
	assert_memory_equal(buf + 20, ((const uint8_t[8]){1, 3, 3, 3, 2, 4, 0x03, 0xe8}), 8);
}

static void test_tcp_sack_blocks_roundtrip(void **state)
{
	uint8_t buf[60];
	struct sn_tcp h, out;
	int n, k;

	for (n = 1; n <= SN_TCP_MAX_SACK; n++) {
		size_t hl;

		memset(&h, 0, sizeof(h));
		h.flags = SN_TH_ACK;
		h.opts.num_sack = (uint8_t)n;
		for (k = 0; k < n; k++) {
			h.opts.sack[k].left = 1000u * (uint32_t)k + 0xfffff000u;
			h.opts.sack[k].right = 1000u * (uint32_t)k + 0xfffff100u;
		}
		hl = sn_tcp_emit(buf, sizeof(buf), &h, NULL);
		assert_int_equal(hl, 20 + 4 + 8 * (size_t)n);
		assert_int_equal(sn_tcp_opts_len(&h.opts), 4 + 8 * (size_t)n);
		assert_int_equal(buf[20], 1);
		assert_int_equal(buf[21], 1);
		assert_int_equal(buf[22], 5);
		assert_int_equal(buf[23], 2 + 8 * n);
		assert_int_equal(sn_tcp_parse(buf, hl, 0, 0, false, &out), SN_WIRE_OK);
		assert_opts_equal(&out.opts, &h.opts);
	}
}

static void test_tcp_sack_parse_counts(void **state)
{
	uint8_t opts[40];
	struct sn_tcp out;
	int n, k;

	for (n = 1; n <= 4; n++) {
		/* Compact, no NOPs: kind, length, n blocks. */
		opts[0] = SN_TCPOPT_SACK;
		opts[1] = (uint8_t)(2 + 8 * n);
		for (k = 0; k < n; k++) {
			sn_put32(opts + 2 + 8 * k, (uint32_t)(10 * k + 1));
			sn_put32(opts + 6 + 8 * k, (uint32_t)(10 * k + 5));
		}
		assert_int_equal(tcp_parse_opts(opts, 2 + 8 * (size_t)n, &out), SN_WIRE_OK);
		assert_int_equal(out.opts.num_sack, n);
		for (k = 0; k < n; k++) {
			assert_int_equal(out.opts.sack[k].left, 10 * k + 1);
			assert_int_equal(out.opts.sack[k].right, 10 * k + 5);
		}
	}
}

static void test_tcp_sack_five_blocks(void **state)
{
	/* Five blocks take 42 option bytes, more than the 40 a header can
	 * hold, so such an option always runs off the header. */
	uint8_t buf[60 + 2];
	struct sn_tcp out;
	int k;

	memset(buf, 0, sizeof(buf));
	buf[12] = 0xf0;
	buf[20] = SN_TCPOPT_SACK;
	buf[21] = 2 + 8 * 5;
	for (k = 0; k < 5; k++) {
		sn_put32(buf + 22 + 8 * k, (uint32_t)k);
		sn_put32(buf + 26 + 8 * k, (uint32_t)k + 1);
	}
	assert_int_equal(sn_tcp_parse(buf, sizeof(buf), 0, 0, false, &out),
	                 SN_WIRE_BAD_OPTION);
}

static void test_tcp_sack_emit_clamps_and_overflow(void **state)
{
	uint8_t buf[60];
	struct sn_tcp h;
	struct sn_tcp out;

	memset(&h, 0, sizeof(h));
	h.opts.num_sack = 200; /* out of contract: treated as 4 */
	assert_int_equal(sn_tcp_opts_len(&h.opts), 36);
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, NULL), 56);
	assert_int_equal(sn_tcp_parse(buf, 56, 0, 0, false, &out), SN_WIRE_OK);
	assert_int_equal(out.opts.num_sack, 4);

	/* Timestamps + 3 blocks = 12 + 28 = 40: fits exactly. */
	h.opts.num_sack = 3;
	h.opts.has_ts = true;
	assert_int_equal(sn_tcp_opts_len(&h.opts), 40);
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, NULL), 60);
	/* Timestamps + 4 blocks do not fit: emit refuses; the length says why. */
	h.opts.num_sack = 4;
	assert_int_equal(sn_tcp_opts_len(&h.opts), 48);
	assert_int_equal(sn_tcp_emit(buf, sizeof(buf), &h, NULL), 0);
}

static void test_tcp_emit_cap_too_small(void **state)
{
	struct sn_tcp h = {.opts = {.has_mss = true, .mss = 1460}};
	uint8_t buf[60];

	assert_int_equal(sn_tcp_emit(buf, 23, &h, NULL), 0);
	assert_int_equal(sn_tcp_emit(buf, 24, &h, NULL), 24);
	h.opts.has_mss = false;
	assert_int_equal(sn_tcp_emit(buf, 19, &h, NULL), 0);
}

/* sn_tcp_emit writes the options in place when the buffer is roomy and
 * aside when it is tight: both must give the same bytes, and refuse the same
 * options. Cap 60 is the tight way, 200 the roomy one. Its fast paths must
 * agree with the general one. */
static void test_tcp_emit_roomy_and_tight_agree(void **state)
{
	static const char *orders[] = {"MSTWK", "bMWSTK", "KWTSM"};
	uint8_t tight[60], roomy[200];
	struct sn_tcp h;

	for (unsigned bits = 0; bits < 64; bits++) {
		for (size_t k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) {
			memset(&h, 0, sizeof(h));
			h.sport = 1;
			h.dport = 2;
			h.seq = 0x01020304;
			h.flags = SN_TH_SYN;
			h.opts.has_mss = bits & 1;
			h.opts.mss = 1460;
			h.opts.sack_permitted = (bits & 2) != 0;
			h.opts.has_wscale = (bits & 4) != 0;
			h.opts.wscale = 7;
			h.opts.has_ts = (bits & 8) != 0;
			h.opts.ts_val = 0xaabbccdd;
			h.opts.num_sack = (uint8_t)(bits >> 4); /* 0..3 */
			memset(tight, 0x55, sizeof(tight));
			memset(roomy, 0x55, sizeof(roomy));
			size_t a = sn_tcp_emit(tight, sizeof(tight), &h, orders[k]);
			size_t b = sn_tcp_emit(roomy, sizeof(roomy), &h, orders[k]);
			assert_int_equal(a, b);
			if (a)
				assert_memory_equal(tight, roomy, a);
		}
	}
	/* No order (the fast paths for the common SYN and for timestamps
	 * alone) writes what the default order written out does. */
	for (unsigned bits = 0; bits < 64; bits++) {
		memset(&h, 0, sizeof(h));
		h.opts.has_mss = bits & 1;
		h.opts.mss = 0x1234;
		h.opts.sack_permitted = (bits & 2) != 0;
		h.opts.has_wscale = (bits & 4) != 0;
		h.opts.wscale = 9;
		h.opts.has_ts = (bits & 8) != 0;
		h.opts.ts_val = 0x01020304;
		h.opts.ts_ecr = 0xa0b0c0d0;
		h.opts.num_sack = (uint8_t)(bits >> 4);
		h.opts.sack[0] = (struct sn_sack_block){5, 6};
		memset(tight, 0x55, sizeof(tight));
		memset(roomy, 0x55, sizeof(roomy));
		size_t a = sn_tcp_emit(tight, sizeof(tight), &h, "MSTWK");
		size_t b = sn_tcp_emit(roomy, sizeof(roomy), &h, NULL);
		assert_int_equal(a, b);
		assert_memory_equal(tight, roomy, a);
		assert_int_equal(sn_tcp_emit(roomy, a - 1, &h, NULL), 0);
	}
	/* Timestamps and four blocks (48 bytes) fit neither way. */
	memset(&h, 0, sizeof(h));
	h.opts.has_ts = true;
	h.opts.num_sack = 4;
	assert_int_equal(sn_tcp_emit(roomy, sizeof(roomy), &h, NULL), 0);
	assert_int_equal(sn_tcp_emit(tight, sizeof(tight), &h, NULL), 0);
}

static void test_tcp_opts_len_matches_emit(void **state)
{
	uint8_t buf[60];
	struct sn_tcp h;
	unsigned bits;
	int ns;

	for (bits = 0; bits < 16; bits++) {
		for (ns = 0; ns <= 4; ns++) {
			size_t olen, hl;

			memset(&h, 0, sizeof(h));
			h.opts.has_mss = bits & 1;
			h.opts.sack_permitted = bits & 2;
			h.opts.has_ts = bits & 4;
			h.opts.has_wscale = bits & 8;
			h.opts.num_sack = (uint8_t)ns;
			olen = sn_tcp_opts_len(&h.opts);
			assert_int_equal(olen % 4, 0);
			hl = sn_tcp_emit(buf, sizeof(buf), &h, NULL);
			if (olen <= 40)
				assert_int_equal(hl, 20 + olen);
			else
				assert_int_equal(hl, 0);
		}
	}
}

static void test_tcp_random_roundtrip(void **state)
{
	struct rng r = {0x70c9};
	uint8_t buf[60 + 100];
	int iter;

	for (iter = 0; iter < 5000; iter++) {
		struct sn_tcp h, out;
		size_t hl, plen = rng_below(&r, 100);
		static const char *const orders[] = {NULL, "MSTWK", "MWSTK", "KTWSM", "TSMWK", "SWTMK"};
		const char *order = orders[rng_below(&r, 6)];
		int k;

		memset(&h, 0, sizeof(h));
		h.sport = (uint16_t)rng_next(&r);
		h.dport = (uint16_t)rng_next(&r);
		h.seq = (uint32_t)rng_next(&r);
		h.ack = (uint32_t)rng_next(&r);
		h.flags = (uint8_t)rng_next(&r);
		h.wnd = (uint16_t)rng_next(&r);
		h.urp = (uint16_t)rng_next(&r);
		h.opts.has_mss = rng_below(&r, 2);
		h.opts.mss = (uint16_t)rng_next(&r);
		h.opts.has_wscale = rng_below(&r, 2);
		h.opts.wscale = (uint8_t)rng_next(&r);
		h.opts.sack_permitted = rng_below(&r, 2);
		h.opts.has_ts = rng_below(&r, 2);
		h.opts.ts_val = (uint32_t)rng_next(&r);
		h.opts.ts_ecr = (uint32_t)rng_next(&r);
		h.opts.num_sack = (uint8_t)rng_below(&r, 5);
		for (k = 0; k < h.opts.num_sack; k++) {
			h.opts.sack[k].left = (uint32_t)rng_next(&r);
			h.opts.sack[k].right = (uint32_t)rng_next(&r);
		}

		hl = sn_tcp_emit(buf, sizeof(buf), &h, order);
		if (hl == 0) {
			/* Only when the options really cannot fit. */
			assert_true(sn_tcp_opts_len(&h.opts) > 40 || order != NULL);
			continue;
		}
		if (order == NULL)
			assert_int_equal(hl, 20 + sn_tcp_opts_len(&h.opts));
		rng_fill(&r, buf + hl, plen);
		sn_tcp_set_csum(buf, hl + plen, SRC_IP, DST_IP);
		assert_int_equal(sn_tcp_parse(buf, hl + plen, SRC_IP, DST_IP, true, &out),
		                 SN_WIRE_OK);
		assert_int_equal(out.sport, h.sport);
		assert_int_equal(out.dport, h.dport);
		assert_int_equal(out.seq, h.seq);
		assert_int_equal(out.ack, h.ack);
		assert_int_equal(out.flags, h.flags);
		assert_int_equal(out.wnd, h.wnd);
		assert_int_equal(out.urp, h.urp);
		assert_int_equal(out.hdr_len, hl);
		assert_int_equal(out.payload_off, hl);
		assert_int_equal(out.payload_len, plen);
		assert_opts_equal(&out.opts, &h.opts);
	}
}

static void test_tcp_short(void **state)
{
	uint8_t buf[20] = {0x00, 0x01, 0x00, 0x02, [12] = 0x50};
	struct sn_tcp out;

	assert_int_equal(sn_tcp_parse(buf, 19, 0, 0, false, &out), SN_WIRE_SHORT);
	assert_int_equal(sn_tcp_parse(buf, 0, 0, 0, true, &out), SN_WIRE_SHORT);
	assert_int_equal(sn_tcp_parse(buf, 20, 0, 0, false, &out), SN_WIRE_OK);
}

static void test_tcp_data_offset_too_small(void **state)
{
	uint8_t buf[40];
	struct sn_tcp out;
	size_t len = tcp_build(buf, NULL, 0, 20);

	buf[12] = 0x40;
	assert_int_equal(sn_tcp_parse(buf, len, SRC_IP, DST_IP, false, &out), SN_WIRE_BAD_HDR);
	buf[12] = 0x00;
	assert_int_equal(sn_tcp_parse(buf, len, SRC_IP, DST_IP, true, &out), SN_WIRE_BAD_HDR);
}

static void test_tcp_data_offset_past_end(void **state)
{
	uint8_t buf[60];
	struct sn_tcp out;

	tcp_build(buf, NULL, 0, 20);
	buf[12] = 0xf0; /* 60-byte header */
	assert_int_equal(sn_tcp_parse(buf, 40, SRC_IP, DST_IP, false, &out), SN_WIRE_BAD_HDR);
	buf[12] = 0x60; /* 24-byte header in a 20-byte segment */
	assert_int_equal(sn_tcp_parse(buf, 20, SRC_IP, DST_IP, false, &out), SN_WIRE_BAD_HDR);
}

static void test_tcp_option_len_zero(void **state)
{
	static const uint8_t o[] = {0x02, 0x00, 0x05, 0xb4};
	static const uint8_t u[] = {0x1e, 0x00, 0x00, 0x00};
	struct sn_tcp out;

	assert_int_equal(tcp_parse_opts(o, sizeof(o), &out), SN_WIRE_BAD_OPTION);
	assert_int_equal(tcp_parse_opts(u, sizeof(u), &out), SN_WIRE_BAD_OPTION);
}

static void test_tcp_option_len_one(void **state)
{
	static const uint8_t o[] = {0x01, 0x01, 0x08, 0x01};
	static const uint8_t u[] = {0xfe, 0x01, 0x01, 0x01};
	struct sn_tcp out;

	assert_int_equal(tcp_parse_opts(o, sizeof(o), &out), SN_WIRE_BAD_OPTION);
	assert_int_equal(tcp_parse_opts(u, sizeof(u), &out), SN_WIRE_BAD_OPTION);
}

static void test_tcp_option_runs_off(void **state)
{
	/* Timestamp claims 10 bytes, 8 are left in the header. */
	static const uint8_t ts[] = {0x02, 0x04, 0x05, 0xb4, 0x08, 0x0a, 0, 0, 0, 0, 0, 0};
	/* Unknown kind claims 9 bytes in a 4-byte option area. */
	static const uint8_t unk[] = {0x22, 0x09, 0, 0};
	/* MSS with the right length but one byte short of room. */
	static const uint8_t mss[] = {0x01, 0x02, 0x04, 0x05};
	struct sn_tcp out;

	assert_int_equal(tcp_parse_opts(ts, sizeof(ts) - 4, &out), SN_WIRE_BAD_OPTION);
	assert_int_equal(tcp_parse_opts(unk, sizeof(unk), &out), SN_WIRE_BAD_OPTION);
	assert_int_equal(tcp_parse_opts(mss, sizeof(mss), &out), SN_WIRE_BAD_OPTION);
}

static void test_tcp_option_kind_last_byte(void **state)
{
	static const uint8_t o[] = {0x01, 0x01, 0x01, 0x02};
	static const uint8_t u[] = {0x01, 0x01, 0x01, 0x99};
	struct sn_tcp out;

	assert_int_equal(tcp_parse_opts(o, sizeof(o), &out), SN_WIRE_BAD_OPTION);
	assert_int_equal(tcp_parse_opts(u, sizeof(u), &out), SN_WIRE_BAD_OPTION);
}

static void test_tcp_option_wrong_known_lengths(void **state)
{
	static const uint8_t cases[][12] = {
		{0x02, 0x03, 0x05, 0x01},       /* MSS length 3 */
		{0x02, 0x05, 0x05, 0xb4, 0x00}, /* MSS length 5 */
		{0x02, 0x02, 0x01, 0x01},       /* MSS length 2 */
		{0x03, 0x04, 0x07, 0x00},       /* WSCALE length 4 */
		{0x03, 0x02, 0x01, 0x01},       /* WSCALE length 2 */
		{0x04, 0x03, 0x00, 0x01},       /* SACK_PERM length 3 */
		{0x08, 0x08, 0, 0, 0, 0, 0, 0}, /* TIMESTAMP length 8 */
		{0x08, 0x0b},                   /* TIMESTAMP length 11 */
		{0x05, 0x02, 0x01, 0x01},       /* SACK with no blocks */
		{0x05, 0x09},                   /* SACK length 9 */
		{0x05, 0x0b},                   /* SACK length 11 */
	};
	struct sn_tcp out;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(tcp_parse_opts(cases[i], 12, &out), SN_WIRE_BAD_OPTION);
}

static void test_tcp_unknown_options_skipped(void **state)
{
	static const uint8_t o[] = {
		0x1e, 0x04, 0xaa, 0xbb,             /* kind 30 (MPTCP), length 4 */
		0x02, 0x04, 0x05, 0x78,             /* MSS 1400 */
		0xfd, 0x02,                         /* experimental kind 253, length 2 */
		0x13, 0x06, 0xff, 0xff, 0x01, 0x01, /* kind 19, length 6 */
		0x01, 0x03, 0x03, 0x02,             /* wscale 2 */
	};
	struct sn_tcp out;

	assert_int_equal(tcp_parse_opts(o, sizeof(o), &out), SN_WIRE_OK);
	assert_true(out.opts.has_mss);
	assert_int_equal(out.opts.mss, 1400);
	assert_true(out.opts.has_wscale);
	assert_int_equal(out.opts.wscale, 2);
	assert_false(out.opts.has_ts);
	assert_false(out.opts.sack_permitted);
}

static void test_tcp_eol_stops_parsing(void **state)
{
	/* After EOL the rest of the header is padding, whatever it holds:
	 * here a zero-length option that would otherwise be rejected. */
	static const uint8_t o[] = {0x02, 0x04, 0x05, 0xb4, 0x00, 0x02, 0x00, 0x03,
	                            0x03, 0x00, 0xff, 0xff};
	struct sn_tcp out;

	assert_int_equal(tcp_parse_opts(o, sizeof(o), &out), SN_WIRE_OK);
	assert_true(out.opts.has_mss);
	assert_false(out.opts.has_wscale);
	assert_int_equal(out.payload_off, 32);
}

static void test_tcp_nops_only(void **state)
{
	static const uint8_t o[] = {1, 1, 1, 1, 1, 1, 1, 1};
	struct sn_tcp out;

	assert_int_equal(tcp_parse_opts(o, sizeof(o), &out), SN_WIRE_OK);
	assert_false(out.opts.has_mss || out.opts.has_wscale || out.opts.sack_permitted ||
	             out.opts.has_ts || out.opts.num_sack);
}

static void test_tcp_bad_csum(void **state)
{
	uint8_t buf[80];
	struct sn_tcp out;
	size_t len = tcp_build(buf, linux_syn_opts, sizeof(linux_syn_opts), 11);

	assert_int_equal(sn_tcp_parse(buf, len, SRC_IP, DST_IP, true, &out), SN_WIRE_OK);
	/* Wrong pseudo-header addresses. */
	assert_int_equal(sn_tcp_parse(buf, len, SRC_IP, DST_IP + 1, true, &out),
	                 SN_WIRE_BAD_CSUM);
	/* One flipped payload bit (last, odd-positioned byte). */
	buf[len - 1] ^= 0x01;
	assert_int_equal(sn_tcp_parse(buf, len, SRC_IP, DST_IP, true, &out), SN_WIRE_BAD_CSUM);
	/* Without verification the same bytes parse. */
	assert_int_equal(sn_tcp_parse(buf, len, SRC_IP, DST_IP, false, &out), SN_WIRE_OK);
	assert_int_equal(out.payload_len, 11);
	/* Swapped addresses still verify: the sum is commutative. */
	buf[len - 1] ^= 0x01;
	assert_int_equal(sn_tcp_parse(buf, len, DST_IP, SRC_IP, true, &out), SN_WIRE_OK);
}

static void test_tcp_csum_checked_before_options(void **state)
{
	static const uint8_t bad_opt[] = {0x02, 0x00, 0x00, 0x00};
	uint8_t buf[40];
	struct sn_tcp out;
	size_t len = tcp_build(buf, bad_opt, sizeof(bad_opt), 0);

	buf[4] ^= 0xff; /* corrupt the sequence number */
	assert_int_equal(sn_tcp_parse(buf, len, SRC_IP, DST_IP, true, &out), SN_WIRE_BAD_CSUM);
	assert_int_equal(sn_tcp_parse(buf, len, SRC_IP, DST_IP, false, &out),
	                 SN_WIRE_BAD_OPTION);
}

static void test_tcp_unaligned_parse(void **state)
{
	uint8_t mem[64 + 8];
	struct sn_tcp out;
	size_t off;

	for (off = 0; off < 8; off++) {
		size_t len = tcp_build(mem + off, linux_syn_opts, sizeof(linux_syn_opts), 3);

		assert_int_equal(sn_tcp_parse(mem + off, len, SRC_IP, DST_IP, true, &out),
		                 SN_WIRE_OK);
		assert_int_equal(out.opts.mss, 1460);
		assert_int_equal(out.opts.ts_val, 0x0a1b2c3d);
	}
}

static void test_tcp_too_long_for_pseudo_header(void **state)
{
	size_t len = 65536;
	uint8_t *buf = calloc(1, len);
	struct sn_tcp out;

	assert_non_null(buf);
	buf[12] = 0x50;
	assert_int_equal(sn_tcp_parse(buf, len, 0, 0, true, &out), SN_WIRE_BAD_LEN);
	assert_int_equal(sn_tcp_parse(buf, len, 0, 0, false, &out), SN_WIRE_OK);
	assert_int_equal(out.payload_len, len - 20);
	free(buf);
}

/* A whole frame built from the layers, then parsed back down. */
static void test_full_frame(void **state)
{
	uint8_t f[14 + 20 + 40 + 5];
	struct sn_eth eth = {.dst = {2, 0, 0, 0, 0, 2}, .src = {2, 0, 0, 0, 0, 1},
	                     .type = SN_ETHERTYPE_IPV4};
	struct sn_ipv4 ip = ip_sample;
	struct sn_tcp tcp = {
		.sport = 1234, .dport = 80, .seq = 1, .ack = 2, .flags = SN_TH_ACK | SN_TH_PSH,
		.wnd = 502, .opts = {.has_ts = true, .ts_val = 100, .ts_ecr = 200},
	};
	struct sn_eth e2;
	struct sn_ipv4 i2;
	struct sn_tcp t2;
	size_t tl;

	assert_int_equal(sn_eth_emit(f, sizeof(f), &eth), 14);
	tl = sn_tcp_emit(f + 34, sizeof(f) - 34, &tcp, NULL);
	assert_int_equal(tl, 32);
	memcpy(f + 34 + tl, "hello", 5);
	sn_tcp_set_csum(f + 34, tl + 5, ip.src, ip.dst);
	ip.total_len = (uint16_t)(20 + tl + 5);
	assert_int_equal(sn_ipv4_emit(f + 14, sizeof(f) - 14, &ip), 20);

	assert_int_equal(sn_eth_parse(f, sizeof(f), &e2), SN_WIRE_OK);
	assert_int_equal(e2.type, SN_ETHERTYPE_IPV4);
	assert_int_equal(sn_ipv4_parse(f + 14, sizeof(f) - 14, &i2), SN_WIRE_OK);
	assert_int_equal(i2.payload_len, tl + 5);
	assert_int_equal(sn_tcp_parse(f + 14 + i2.payload_off, i2.payload_len, i2.src, i2.dst,
	                              true, &t2),
	                 SN_WIRE_OK);
	assert_int_equal(t2.payload_len, 5);
	assert_memory_equal(f + 14 + i2.payload_off + t2.payload_off, "hello", 5);
	assert_true(t2.opts.has_ts);
	assert_int_equal(t2.opts.ts_ecr, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_rfc1071_example),
		cmocka_unit_test(test_csum_known_ipv4_header),
		cmocka_unit_test(test_csum_fold_edges),
		cmocka_unit_test(test_csum_empty_and_tiny),
		cmocka_unit_test(test_csum_odd_lengths),
		cmocka_unit_test(test_csum_every_length),
		cmocka_unit_test(test_csum_all_ones_carries),
		cmocka_unit_test(test_csum_long_unaligned),
		cmocka_unit_test(test_csum_every_split),
		cmocka_unit_test(test_csum_byte_by_byte),
		cmocka_unit_test(test_csum_unaligned),
		cmocka_unit_test(test_csum_random_vs_reference),
		cmocka_unit_test(test_csum_pseudo_header),
		cmocka_unit_test(test_err_str),
		cmocka_unit_test(test_eth_roundtrip),
		cmocka_unit_test(test_eth_short),
		cmocka_unit_test(test_eth_vlan_not_parsed),
		cmocka_unit_test(test_arp_roundtrip),
		cmocka_unit_test(test_arp_short),
		cmocka_unit_test(test_arp_unsupported),
		cmocka_unit_test(test_ipv4_roundtrip),
		cmocka_unit_test(test_ipv4_known_header),
		cmocka_unit_test(test_ipv4_emit_short_cap),
		cmocka_unit_test(test_ipv4_emit_checksum),
		cmocka_unit_test(test_ipv4_short),
		cmocka_unit_test(test_ipv4_bad_version),
		cmocka_unit_test(test_ipv4_ihl_too_small),
		cmocka_unit_test(test_ipv4_ihl_past_end),
		cmocka_unit_test(test_ipv4_total_len_past_buffer),
		cmocka_unit_test(test_ipv4_total_len_below_header),
		cmocka_unit_test(test_ipv4_bad_csum),
		cmocka_unit_test(test_ipv4_fragment_mf),
		cmocka_unit_test(test_ipv4_fragment_offset),
		cmocka_unit_test(test_ipv4_fragment_after_other_checks),
		cmocka_unit_test(test_ipv4_options_skipped),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_icmp_odd_data),
		cmocka_unit_test(test_icmp_short),
		cmocka_unit_test(test_icmp_bad_csum),
		cmocka_unit_test(test_tcp_roundtrip_plain),
		cmocka_unit_test(test_tcp_set_csum_matches_reference),
		cmocka_unit_test(test_tcp_all_flags_and_urgent),
		cmocka_unit_test(test_tcp_linux_syn_options),
		cmocka_unit_test(test_tcp_syn_fast_path_agrees_with_loop),
		cmocka_unit_test(test_tcp_emit_linux_syn_bytes),
		cmocka_unit_test(test_tcp_emit_order_mwst),
		cmocka_unit_test(test_tcp_emit_order_ts_before_sackperm),
		cmocka_unit_test(test_tcp_emit_sackperm_ts_adjacent_after_skip),
		cmocka_unit_test(test_tcp_emit_single_options),
		cmocka_unit_test(test_tcp_emit_order_subset_and_unknown),
		cmocka_unit_test(test_tcp_sack_blocks_roundtrip),
		cmocka_unit_test(test_tcp_sack_parse_counts),
		cmocka_unit_test(test_tcp_sack_five_blocks),
		cmocka_unit_test(test_tcp_sack_emit_clamps_and_overflow),
		cmocka_unit_test(test_tcp_emit_roomy_and_tight_agree),
		cmocka_unit_test(test_tcp_emit_cap_too_small),
		cmocka_unit_test(test_tcp_opts_len_matches_emit),
		cmocka_unit_test(test_tcp_random_roundtrip),
		cmocka_unit_test(test_tcp_short),
		cmocka_unit_test(test_tcp_data_offset_too_small),
		cmocka_unit_test(test_tcp_data_offset_past_end),
		cmocka_unit_test(test_tcp_option_len_zero),
		cmocka_unit_test(test_tcp_option_len_one),
		cmocka_unit_test(test_tcp_option_runs_off),
		cmocka_unit_test(test_tcp_option_kind_last_byte),
		cmocka_unit_test(test_tcp_option_wrong_known_lengths),
		cmocka_unit_test(test_tcp_unknown_options_skipped),
		cmocka_unit_test(test_tcp_eol_stops_parsing),
		cmocka_unit_test(test_tcp_nops_only),
		cmocka_unit_test(test_tcp_bad_csum),
		cmocka_unit_test(test_tcp_csum_checked_before_options),
		cmocka_unit_test(test_tcp_unaligned_parse),
		cmocka_unit_test(test_tcp_too_long_for_pseudo_header),
		cmocka_unit_test(test_full_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
