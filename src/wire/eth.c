/*
 * eth.c - Ethernet II (DIX) framing, the encapsulation RFC 894 gives IP:
 * destination, source, EtherType, then the payload. The preamble and the FCS
 * belong to the driver and never reach this layer.
 */
#include "wire/wire.h"

#include <string.h>

enum sn_wire_err sn_eth_parse(const uint8_t *buf, size_t len, struct sn_eth *out)
{
	if (len < SN_ETH_HLEN)
		return SN_WIRE_SHORT;
	memcpy(out->dst, buf, 6);
	memcpy(out->src, buf + 6, 6);
	out->type = sn_get16(buf + 12);
	return SN_WIRE_OK;
}

size_t sn_eth_emit(uint8_t *buf, size_t cap, const struct sn_eth *h)
{
	if (cap < SN_ETH_HLEN)
		return 0;
	memcpy(buf, h->dst, 6);
	memcpy(buf + 6, h->src, 6);
	sn_put16(buf + 12, h->type);
	return SN_ETH_HLEN;
}
