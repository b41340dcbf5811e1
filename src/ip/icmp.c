/*
 * icmp.c - ICMP (RFC 792): answer pings addressed to us, and pass
 * Destination Unreachable messages about our TCP segments to TCP.
 *
 *   ipv4_input -> icmp_input -> ipv4_output (echo reply)
 *                            -> tcp_icmp_unreach (input.c)
 */
#include <string.h>

#include "core.h"

/*
 * A Destination Unreachable carries the IP header and at least the first 8
 * bytes of the datagram that failed (RFC 792): for TCP, the ports and the
 * sequence number. Anything that is not one of our TCP segments is ignored.
 */
static void unreach(struct sn_netif *nif, const struct sn_ipv4 *ip, const uint8_t *d, size_t len,
                    uint8_t code)
{
	if (len < SN_IPV4_HLEN + 8 || (d[0] >> 4) != 4)
		return;
	size_t ihl = (size_t)(d[0] & 0x0f) * 4;
	if (ihl < SN_IPV4_HLEN || len < ihl + 8 || d[9] != SN_IPPROTO_TCP)
		return;
	struct sn_tuple t = {
		.laddr = sn_get32(d + 12), .raddr = sn_get32(d + 16),
		.lport = sn_get16(d + ihl), .rport = sn_get16(d + ihl + 2),
	};
	if (t.laddr != ip->dst)
		return; /* not a datagram we sent */
	tcp_icmp_unreach(nif->stack, &t, sn_get32(d + ihl + 4), code);
}

void icmp_input(struct sn_netif *nif, const struct sn_ipv4 *ip, const uint8_t *pkt, size_t len)
{
	struct sn_stack *st = nif->stack;
	struct sn_icmp m;
	STAT_INC(st, icmp_rx);
	if (sn_icmp_parse(pkt, len, &m) != SN_WIRE_OK) {
		STAT_INC(st, icmp_drop_malformed);
		return;
	}
	if (m.type == SN_ICMP_DEST_UNREACH) {
		unreach(nif, ip, pkt + m.data_off, m.data_len, m.code);
		return;
	}
	if (m.type != SN_ICMP_ECHO_REQUEST || m.code != 0)
		return; /* other types are not acted on */
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
	ipv4_output(st, nif, ip->dst, ip->src, SN_IPPROTO_ICMP, n, 0, 1);
}
