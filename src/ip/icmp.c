/*
 * icmp.c - ICMP echo (RFC 792): answer pings addressed to us.
 *
 *   ipv4_input -> icmp_input -> ipv4_output (echo reply)
 */
#include <string.h>

#include "core.h"

void icmp_input(struct sn_netif *nif, const struct sn_ipv4 *ip, const uint8_t *pkt, size_t len)
{
	struct sn_stack *st = nif->stack;
	struct sn_icmp m;
	STAT_INC(st, icmp_rx);
	if (sn_icmp_parse(pkt, len, &m) != SN_WIRE_OK) {
		STAT_INC(st, icmp_drop_malformed);
		return;
	}
	if (m.type != SN_ICMP_ECHO_REQUEST || m.code != 0)
		return; /* other types (e.g. unreachables) are not acted on yet */
	size_t room = sizeof(st->frame) - SN_ETH_HLEN - SN_IPV4_HLEN;
	if (m.data_len + 8 > room)
		return;
	struct sn_icmp reply = {.type = SN_ICMP_ECHO_REPLY, .code = 0, .id = m.id, .seq = m.seq};
	uint8_t *out = st->frame + SN_ETH_HLEN + SN_IPV4_HLEN;
	/* pkt points into the caller's frame, never into st->frame, so no overlap. */
	size_t n = sn_icmp_emit(out, room, &reply, pkt + m.data_off, m.data_len);
	if (n == 0)
		return;
	STAT_INC(st, icmp_echo_tx);
	ipv4_output(st, nif, ip->dst, ip->src, SN_IPPROTO_ICMP, n);
}
