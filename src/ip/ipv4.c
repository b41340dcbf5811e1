/*
 * ipv4.c - IPv4 input and output (RFC 791), routing by on-link prefix.
 *
 *   sn_input -> ipv4_input -> icmp_input | tcp_input
 *   tcp_output -> ipv4_send -> arp_output -> netif transmit (TCP has the route)
 *   icmp_input -> ipv4_output (route, then ipv4_send)
 *
 * No fragmentation or reassembly: fragments are dropped and counted, and
 * everything we send has DF set (TCP sizes its segments to the MTU).
 */
#include <string.h>

#include "core.h"

struct sn_netif *ipv4_route(struct sn_stack *st, uint32_t dst, uint32_t *next_hop)
{
	for (struct sn_netif *n = st->netifs; n; n = n->next) {
		if ((dst & n->mask) == (n->addr & n->mask)) {
			*next_hop = dst;
			return n;
		}
	}
	for (struct sn_netif *n = st->netifs; n; n = n->next) {
		if (n->gateway) {
			*next_hop = n->gateway;
			return n;
		}
	}
	return NULL;
}

/*
 * RFC 1122 3.2.1.3: a packet whose source is "this host" (0), a broadcast,
 * a multicast group, or our own address cannot have come from a real peer;
 * answering it (a SYN-ACK, an echo reply) would send to nobody or to everyone.
 */
static bool source_valid(const struct sn_netif *nif, uint32_t src)
{
	if (src == 0 || src == 0xffffffffu || (src & 0xf0000000u) == 0xe0000000u)
		return false;
	if (src == nif->addr)
		return false;
	/* The directed broadcast of our own subnet. */
	if (nif->mask != 0xffffffffu && nif->mask != 0xfffffffeu &&
	    (src & ~nif->mask) == ~nif->mask && (src & nif->mask) == (nif->addr & nif->mask))
		return false;
	return true;
}

void ipv4_input(struct sn_netif *nif, const uint8_t *pkt, size_t len, unsigned rx_flags)
{
	struct sn_stack *st = nif->stack;
	struct sn_ipv4 ip;
	STAT_INC(st, ip_rx);
	switch (sn_ipv4_parse(pkt, len, &ip)) {
	case SN_WIRE_OK:
		break;
	case SN_WIRE_BAD_CSUM:
		STAT_INC(st, ip_drop_csum);
		return;
	case SN_WIRE_FRAGMENT:
		STAT_INC(st, ip_drop_frag);
		return;
	default:
		STAT_INC(st, ip_drop_malformed);
		return;
	}
	if (ip.dst != nif->addr) {
		STAT_INC(st, ip_drop_not_ours);
		return;
	}
	if (!source_valid(nif, ip.src)) {
		STAT_INC(st, ip_drop_bad_src);
		return;
	}
	const uint8_t *payload = pkt + ip.payload_off;
	switch (ip.proto) {
	case SN_IPPROTO_TCP:
		tcp_input(nif, &ip, payload, ip.payload_len, rx_flags);
		break;
	case SN_IPPROTO_ICMP:
		icmp_input(nif, &ip, payload, ip.payload_len);
		break;
	default:
		STAT_INC(st, ip_drop_proto);
		break;
	}
}

void ipv4_output(struct sn_stack *st, struct sn_netif *nif, uint32_t src, uint32_t dst,
                 uint8_t proto, size_t payload_len, uint16_t gso_size, unsigned segs)
{
	uint32_t hop;
	struct sn_netif *out = ipv4_out_netif(st, nif, dst, &hop);
	if (!out) {
		STAT_INC(st, ip_drop_no_route);
		return;
	}
	ipv4_send(st, out, hop, src, dst, proto, payload_len, gso_size, segs);
}
