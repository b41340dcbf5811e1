/*
 * arp.c - ARP for IPv4 over Ethernet, RFC 826.
 *
 * Only the one combination this stack speaks is accepted: hardware type 1
 * (Ethernet), protocol type 0x0800 (IPv4), 6-byte hardware and 4-byte
 * protocol addresses. That fixes the packet at 28 bytes:
 *
 *   0 htype  2 ptype  4 hlen  5 plen  6 op
 *   8 sha[6]  14 spa[4]  18 tha[6]  24 tpa[4]
 */
#include "wire/wire.h"

#include <string.h>

#define ARP_HTYPE_ETHER 1

enum sn_wire_err sn_arp_parse(const uint8_t *buf, size_t len, struct sn_arp *out)
{
	uint16_t op;

	/* Frames shorter than 60 bytes are padded on the wire, so trailing
	 * bytes after the 28 are normal and ignored. */
	if (len < SN_ARP_LEN)
		return SN_WIRE_SHORT;
	if (sn_get16(buf) != ARP_HTYPE_ETHER || sn_get16(buf + 2) != SN_ETHERTYPE_IPV4 ||
	    buf[4] != 6 || buf[5] != 4)
		return SN_WIRE_UNSUPPORTED;
	op = sn_get16(buf + 6);
	if (op != SN_ARP_REQUEST && op != SN_ARP_REPLY)
		return SN_WIRE_UNSUPPORTED;

	out->op = op;
	memcpy(out->sha, buf + 8, 6);
	out->spa = sn_get32(buf + 14);
	memcpy(out->tha, buf + 18, 6);
	out->tpa = sn_get32(buf + 24);
	return SN_WIRE_OK;
}

size_t sn_arp_emit(uint8_t *buf, size_t cap, const struct sn_arp *a)
{
	if (cap < SN_ARP_LEN)
		return 0;
	sn_put16(buf, ARP_HTYPE_ETHER);
	sn_put16(buf + 2, SN_ETHERTYPE_IPV4);
	buf[4] = 6;
	buf[5] = 4;
	sn_put16(buf + 6, a->op);
	memcpy(buf + 8, a->sha, 6);
	sn_put32(buf + 14, a->spa);
	memcpy(buf + 18, a->tha, 6);
	sn_put32(buf + 24, a->tpa);
	return SN_ARP_LEN;
}
