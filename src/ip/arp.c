/*
 * arp.c - the ARP cache (RFC 826) and the queue of packets waiting on it.
 *
 *   arp_output(nif, next_hop, ip packet) -> cached MAC ? send : queue + request
 *   arp_input -> learn the sender (RFC 826 "merge" rule), answer requests,
 *                release the queue of a newly resolved address
 *   arp_poll -> re-send requests, give up after arp_max_tries, expire entries
 *
 * The cache is small (one entry per neighbour), so the retry sweep walks all
 * entries; it runs only when an entry is due (arp_next_deadline).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct sn_arp_pending {
	struct sn_arp_pending *next;
	size_t len; /* IPv4 packet bytes that follow */
	uint16_t gso_size; /* a TSO super-segment's piece size, else 0 */
	uint8_t pkt[];
};

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static unsigned arp_bucket(uint32_t ip)
{
	return (ip * 0x9e3779b1u) >> (32 - 6);
}

static struct sn_arp_entry *arp_find(struct sn_stack *st, uint32_t ip)
{
	for (struct sn_arp_entry *e = st->arp.bucket[arp_bucket(ip)]; e; e = e->next)
		if (e->ip == ip)
			return e;
	return NULL;
}

static struct sn_arp_entry *arp_create(struct sn_stack *st, struct sn_netif *nif, uint32_t ip)
{
	struct sn_arp_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->ip = ip;
	e->netif = nif;
	unsigned b = arp_bucket(ip);
	e->next = st->arp.bucket[b];
	st->arp.bucket[b] = e;
	sn_list_add_tail(&st->arp.all, &e->list);
	st->arp.count++;
	return e;
}

static void arp_drop_pending(struct sn_stack *st, struct sn_arp_entry *e)
{
	while (e->pending) {
		struct sn_arp_pending *p = e->pending;
		e->pending = p->next;
		free(p);
		STAT_INC(st, arp_queue_drop);
	}
	e->npending = 0;
}

static void arp_destroy(struct sn_stack *st, struct sn_arp_entry *e)
{
	struct sn_arp_entry **pp = &st->arp.bucket[arp_bucket(e->ip)];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	sn_list_del(&e->list);
	arp_drop_pending(st, e);
	st->arp.count--;
	free(e);
}

/* Put an Ethernet header in the headroom before `ip` and hand the frame to
 * the driver: through transmit_gso if it is a super-segment (gso_size set). */
static void eth_send(struct sn_netif *nif, const uint8_t dst[6], uint16_t type, uint8_t *payload,
                     size_t len, uint16_t gso_size)
{
	struct sn_stack *st = nif->stack;
	struct sn_eth h;
	memcpy(h.dst, dst, 6);
	memcpy(h.src, nif->mac, 6);
	h.type = type;
	uint8_t *frame = payload - SN_ETH_HLEN;
	sn_eth_emit(frame, SN_ETH_HLEN, &h);
	size_t flen = len + SN_ETH_HLEN;
	if (nif->capture)
		netif_capture(nif, SN_DIR_OUT, frame, flen,
		              type == SN_ETHERTYPE_IPV4 && (nif->offload & SN_NETIF_TX_CSUM));
	STAT_INC(st, eth_tx);
	int err = gso_size ? nif->ops->transmit_gso(nif->ctx, frame, flen, gso_size, st->now_us)
	                   : nif->ops->transmit(nif->ctx, frame, flen, st->now_us);
	if (err < 0)
		STAT_INC(st, eth_tx_err);
}

static void arp_send(struct sn_netif *nif, uint16_t op, const uint8_t tha[6], uint32_t tpa)
{
	/* Our own small buffer: st->frame may hold a packet being queued. */
	uint8_t buf[SN_ETH_HLEN + SN_ARP_LEN];
	struct sn_arp a = {.op = op, .spa = nif->addr, .tpa = tpa};
	memcpy(a.sha, nif->mac, 6);
	memcpy(a.tha, tha, 6);
	sn_arp_emit(buf + SN_ETH_HLEN, SN_ARP_LEN, &a);
	STAT_INC(nif->stack, arp_tx);
	eth_send(nif, op == SN_ARP_REQUEST ? bcast_mac : tha, SN_ETHERTYPE_ARP, buf + SN_ETH_HLEN,
	         SN_ARP_LEN, 0);
}

/* Every expiry goes through here, so that arp.next_us stays a lower bound
 * of them all and arp_poll can skip the walk until then. */
static void arp_set_expiry(struct sn_stack *st, struct sn_arp_entry *e, uint64_t at)
{
	e->expires_us = at;
	if (at < st->arp.next_us)
		st->arp.next_us = at;
}

static void arp_request(struct sn_stack *st, struct sn_arp_entry *e)
{
	static const uint8_t zero[6];
	e->tries++;
	arp_set_expiry(st, e, st->now_us + (uint64_t)st->cfg.arp_retry_ms * 1000);
	arp_send(e->netif, SN_ARP_REQUEST, zero, e->ip);
}

/* No address for next_hop yet: ask (once per entry) and hold the packet.
 * Out of line, so that arp_output's common case does not pay for the
 * registers this needs. */
__attribute__((noinline)) static void arp_hold(struct sn_netif *nif, struct sn_arp_entry *e,
                                               uint32_t next_hop, const uint8_t *ip, size_t len,
                                               uint16_t gso_size)
{
	struct sn_stack *st = nif->stack;
	if (!e) {
		e = arp_create(st, nif, next_hop);
		if (!e) {
			STAT_INC(st, arp_queue_drop);
			return;
		}
		arp_request(st, e);
	}
	/* Hold the packet until the reply; when the queue is full the oldest
	 * goes, since the newest is the most likely to still matter. */
	struct sn_arp_pending *p = malloc(sizeof(*p) + len);
	if (!p) {
		STAT_INC(st, arp_queue_drop);
		return;
	}
	p->next = NULL;
	p->len = len;
	p->gso_size = gso_size;
	memcpy(p->pkt, ip, len);
	struct sn_arp_pending **pp = &e->pending;
	while (*pp)
		pp = &(*pp)->next;
	*pp = p;
	if (++e->npending > SN_ARP_MAX_PENDING) {
		struct sn_arp_pending *old = e->pending;
		e->pending = old->next;
		free(old);
		e->npending--;
		STAT_INC(st, arp_queue_drop);
	}
}

void arp_output(struct sn_netif *nif, uint32_t next_hop, uint8_t *ip, size_t len,
                uint16_t gso_size)
{
	struct sn_arp_entry *e = arp_find(nif->stack, next_hop);
	if (e && e->resolved)
		eth_send(nif, e->mac, SN_ETHERTYPE_IPV4, ip, len, gso_size);
	else
		arp_hold(nif, e, next_hop, ip, len, gso_size);
}

static void arp_learn(struct sn_stack *st, struct sn_arp_entry *e, const uint8_t mac[6])
{
	memcpy(e->mac, mac, 6);
	e->resolved = true;
	e->tries = 0;
	if (!e->permanent)
		arp_set_expiry(st, e, st->now_us + (uint64_t)st->cfg.arp_timeout_ms * 1000);
	while (e->pending) {
		struct sn_arp_pending *p = e->pending;
		e->pending = p->next;
		/* Copy into the frame buffer so there is headroom for Ethernet. */
		memcpy(st->frame + SN_ETH_HLEN, p->pkt, p->len);
		eth_send(e->netif, e->mac, SN_ETHERTYPE_IPV4, st->frame + SN_ETH_HLEN, p->len,
		         p->gso_size);
		free(p);
	}
	e->npending = 0;
}

void arp_input(struct sn_netif *nif, const uint8_t *pkt, size_t len)
{
	struct sn_stack *st = nif->stack;
	struct sn_arp a;
	STAT_INC(st, arp_rx);
	if (sn_arp_parse(pkt, len, &a) != SN_WIRE_OK) {
		STAT_INC(st, arp_drop_malformed);
		return;
	}
	/* RFC 826 packet reception: update an existing entry for the sender;
	 * create one only if the packet is for us. */
	bool for_us = a.tpa == nif->addr;
	struct sn_arp_entry *e = arp_find(st, a.spa);
	if (e && !e->permanent)
		arp_learn(st, e, a.sha);
	else if (!e && for_us && a.spa != 0) {
		e = arp_create(st, nif, a.spa);
		if (e)
			arp_learn(st, e, a.sha);
	}
	if (for_us && a.op == SN_ARP_REQUEST)
		arp_send(nif, SN_ARP_REPLY, a.sha, a.spa);
}

int sn_arp_add(struct sn_stack *st, struct in_addr ip, const uint8_t mac[6])
{
	uint32_t addr = ntohl(ip.s_addr);
	uint32_t hop;
	struct sn_netif *nif = ipv4_route(st, addr, &hop);
	if (!nif)
		return -ENETUNREACH;
	struct sn_arp_entry *e = arp_find(st, addr);
	if (!e)
		e = arp_create(st, nif, addr);
	if (!e)
		return -ENOMEM;
	e->permanent = true;
	arp_learn(st, e, mac);
	return 0;
}

/* Walk the entries only once one may be due; the walk finds the next
 * deadline exactly. Every poll used to walk them all. */
void arp_poll(struct sn_stack *st)
{
	if (st->now_us < st->arp.next_us)
		return;
	uint64_t next = SN_TIME_NEVER;
	struct sn_list *n = st->arp.all.next;
	while (n != &st->arp.all) {
		struct sn_arp_entry *e = SN_CONTAINER_OF(n, struct sn_arp_entry, list);
		n = n->next;
		if (e->permanent)
			continue;
		if (e->expires_us > st->now_us) {
			if (e->expires_us < next)
				next = e->expires_us;
			continue;
		}
		if (e->resolved || e->tries >= st->cfg.arp_max_tries) {
			arp_destroy(st, e); /* stale, or nobody answered: drop what waits */
		} else {
			arp_request(st, e);
			if (e->expires_us < next)
				next = e->expires_us;
		}
	}
	/* arp_request lowered next_us to its new expiry, which next holds. */
	st->arp.next_us = next;
}

uint64_t arp_next_deadline(const struct sn_stack *st)
{
	return st->arp.next_us;
}

void arp_free_all(struct sn_stack *st)
{
	while (!sn_list_empty(&st->arp.all))
		arp_destroy(st, SN_CONTAINER_OF(st->arp.all.next, struct sn_arp_entry, list));
}
