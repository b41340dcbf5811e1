/*
 * icmp.c - ICMP messages, RFC 792.
 *
 *   0 type  1 code  2 checksum  4 identifier  6 sequence number  8 data
 *
 * Bytes 4..7 are the identifier and sequence number for echo; other types put
 * something else there (unused, or a pointer), and the caller ignores id/seq
 * for them. The checksum covers the whole message (RFC 792, "Checksum").
 */
#include "wire/wire.h"

#include <string.h>

#define ICMP_HLEN 8

enum sn_wire_err sn_icmp_parse(const uint8_t *buf, size_t len, struct sn_icmp *out)
{
	if (len < ICMP_HLEN)
		return SN_WIRE_SHORT;
	if (sn_csum(buf, len) != 0)
		return SN_WIRE_BAD_CSUM;
	out->type = buf[0];
	out->code = buf[1];
	out->id = sn_get16(buf + 4);
	out->seq = sn_get16(buf + 6);
	out->data_off = ICMP_HLEN;
	out->data_len = len - ICMP_HLEN;
	return SN_WIRE_OK;
}

size_t sn_icmp_emit(uint8_t *buf, size_t cap, const struct sn_icmp *h, const uint8_t *data,
                    size_t data_len)
{
	if (cap < ICMP_HLEN || data_len > cap - ICMP_HLEN)
		return 0;
	/* memmove: an echo reply is often built in the request's own buffer,
	 * with data already at (or near) buf + 8. */
	if (data_len > 0)
		memmove(buf + ICMP_HLEN, data, data_len);
	buf[0] = h->type;
	buf[1] = h->code;
	sn_put16(buf + 2, 0);
	sn_put16(buf + 4, h->id);
	sn_put16(buf + 6, h->seq);
	sn_put16(buf + 2, sn_csum(buf, ICMP_HLEN + data_len));
	return ICMP_HLEN + data_len;
}
