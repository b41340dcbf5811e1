/*
 * ipv4.c - the IPv4 header, RFC 791 section 3.1.
 *
 *   0 version:4 IHL:4   1 TOS   2 total length
 *   4 identification    6 flags:3 fragment offset:13
 *   8 TTL   9 protocol  10 header checksum
 *  12 source address   16 destination address   20 options (IHL > 5)
 */
#include "wire/wire.h"

#define IP_FLAG_DF 0x4000u
#define IP_FLAG_MF 0x2000u
#define IP_FRAG_OFFSET_MASK 0x1fffu

enum sn_wire_err sn_ipv4_parse(const uint8_t *buf, size_t len, struct sn_ipv4 *out)
{
	size_t hdr_len, total_len;
	uint16_t frag;

	if (len < SN_IPV4_HLEN)
		return SN_WIRE_SHORT;
	if (buf[0] >> 4 != 4)
		return SN_WIRE_BAD_VERSION;
	/* IHL counts 32-bit words; 5 is the minimum legal value (RFC 791). */
	hdr_len = (size_t)(buf[0] & 0x0f) * 4;
	if (hdr_len < SN_IPV4_HLEN || hdr_len > len)
		return SN_WIRE_BAD_HDR;
	/* Bytes beyond total_len are link padding; fewer means truncation. */
	total_len = sn_get16(buf + 2);
	if (total_len < hdr_len || total_len > len)
		return SN_WIRE_BAD_LEN;
	/* The checksum covers the header only, options included. */
	if (sn_csum(buf, hdr_len) != 0)
		return SN_WIRE_BAD_CSUM;
	/* No reassembly: a fragment is reported only once the header is known
	 * to be sound, so the caller can count it as a fragment, not noise. */
	frag = sn_get16(buf + 6);
	if (frag & (IP_FLAG_MF | IP_FRAG_OFFSET_MASK))
		return SN_WIRE_FRAGMENT;

	out->hdr_len = (uint8_t)hdr_len;
	out->tos = buf[1];
	out->total_len = (uint16_t)total_len;
	out->id = sn_get16(buf + 4);
	out->df = (frag & IP_FLAG_DF) != 0;
	out->ttl = buf[8];
	out->proto = buf[9];
	out->src = sn_get32(buf + 12);
	out->dst = sn_get32(buf + 16);
	out->payload_off = hdr_len;
	out->payload_len = total_len - hdr_len;
	return SN_WIRE_OK;
}

size_t sn_ipv4_emit(uint8_t *buf, size_t cap, const struct sn_ipv4 *h)
{
	if (cap < SN_IPV4_HLEN)
		return 0;
	/* The header as five 32-bit words, the checksum field 0 in the third. */
	uint32_t w0 = (uint32_t)(4 << 4 | SN_IPV4_HLEN / 4) << 24 | (uint32_t)h->tos << 16 |
	              h->total_len;
	uint32_t w1 = (uint32_t)h->id << 16 | (h->df ? IP_FLAG_DF : 0);
	uint32_t w2 = (uint32_t)h->ttl << 24 | (uint32_t)h->proto << 16;
	/* The header checksum summed from the words as they go out, not read
	 * back from buf: 32-bit words sum to the same one's complement sum
	 * as their 16-bit halves (RFC 1071 2(C)). */
	struct sn_csum c = {.sum = (uint64_t)w0 + w1 + w2 + h->src + h->dst};
	w2 |= sn_csum_fold(&c);
	sn_put32(buf, w0);
	sn_put32(buf + 4, w1);
	sn_put32(buf + 8, w2);
	sn_put32(buf + 12, h->src);
	sn_put32(buf + 16, h->dst);
	return SN_IPV4_HLEN;
}
