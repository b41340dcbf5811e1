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
	buf[0] = 4 << 4 | SN_IPV4_HLEN / 4;
	buf[1] = h->tos;
	sn_put16(buf + 2, h->total_len);
	sn_put16(buf + 4, h->id);
	sn_put16(buf + 6, h->df ? IP_FLAG_DF : 0);
	buf[8] = h->ttl;
	buf[9] = h->proto;
	sn_put16(buf + 10, 0);
	sn_put32(buf + 12, h->src);
	sn_put32(buf + 16, h->dst);
	sn_put16(buf + 10, sn_csum(buf, SN_IPV4_HLEN));
	return SN_IPV4_HLEN;
}
