/*
 * tso.c - the work a NIC does for segmentation and checksum offload, in
 * software: for a driver that declared the offloads (SN_NETIF_TSO,
 * SN_NETIF_TX_CSUM) but must put wire-sized frames with whole checksums on
 * its link after all (the memlink, when impairments act on single frames).
 *
 * The rules are those of a TSO NIC and of Linux's tcp_gso_segment: every
 * piece carries the super-segment's headers, options included (so a
 * timestamp is the same in every piece, as it would have been in segments
 * built one after the other in the same instant), with its own IPv4 total
 * length, ID and checksum, its own TCP sequence number and checksum; FIN and
 * PSH belong to the end of the data and go on the last piece only.
 */
#include <string.h>

#include "wire/wire.h"

#define TH_FIN 0x01
#define TH_PSH 0x08

void sn_tcp_set_csum_partial(uint8_t *seg, size_t seg_len, uint32_t src, uint32_t dst)
{
	struct sn_csum c;

	if (seg_len < SN_TCP_HLEN)
		return;
	sn_csum_pseudo(&c, src, dst, SN_IPPROTO_TCP, (uint16_t)seg_len);
	/* sn_csum_fold complements; the partial sum is stored as it is. */
	sn_put16(seg + 16, (uint16_t)~sn_csum_fold(&c));
}

bool sn_tcp_frame_view(const uint8_t *f, size_t len, struct sn_tcp_frame *v)
{
	if (len < SN_ETH_HLEN + SN_IPV4_HLEN + SN_TCP_HLEN || sn_get16(f + 12) != SN_ETHERTYPE_IPV4)
		return false;
	const uint8_t *ip = f + SN_ETH_HLEN;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t tot = sn_get16(ip + 2);
	if (ip[0] >> 4 != 4 || ihl < SN_IPV4_HLEN || ip[9] != SN_IPPROTO_TCP ||
	    tot > len - SN_ETH_HLEN || tot < ihl + SN_TCP_HLEN)
		return false;
	size_t doff = (size_t)(ip[ihl + 12] >> 4) * 4;
	if (doff < SN_TCP_HLEN || ihl + doff > tot)
		return false;
	v->ip_off = SN_ETH_HLEN;
	v->ip_hlen = ihl;
	v->tcp_hlen = doff;
	v->payload = tot - ihl - doff;
	return true;
}

bool sn_tcp_frame_csum(uint8_t *f, size_t len)
{
	struct sn_tcp_frame v;
	if (!sn_tcp_frame_view(f, len, &v))
		return false;
	uint8_t *ip = f + v.ip_off;
	sn_tcp_set_csum(ip + v.ip_hlen, v.tcp_hlen + v.payload, sn_get32(ip + 12), sn_get32(ip + 16));
	return true;
}

unsigned sn_tso_cut(const uint8_t *frame, size_t len, uint16_t gso_size, uint8_t *buf,
                    size_t cap, sn_tso_piece_fn fn, void *ctx)
{
	struct sn_tcp_frame v;
	if (gso_size == 0 || !sn_tcp_frame_view(frame, len, &v))
		return 0;
	size_t hlen = v.ip_off + v.ip_hlen + v.tcp_hlen;
	if (cap < hlen + gso_size)
		return 0;
	const uint8_t *ip = frame + v.ip_off;
	uint16_t id = sn_get16(ip + 4);
	uint32_t seq = sn_get32(ip + v.ip_hlen + 4);
	uint8_t flags = ip[v.ip_hlen + 13];
	uint32_t src = sn_get32(ip + 12), dst = sn_get32(ip + 16);
	const uint8_t *data = frame + hlen;
	size_t left = v.payload;
	unsigned n = 0;
	memcpy(buf, frame, hlen);
	uint8_t *pip = buf + v.ip_off, *pth = pip + v.ip_hlen;
	do {
		size_t take = left < gso_size ? left : gso_size;
		bool last = take == left;
		memcpy(buf + hlen, data, take);
		sn_put16(pip + 2, (uint16_t)(v.ip_hlen + v.tcp_hlen + take));
		sn_put16(pip + 4, (uint16_t)(id + n));
		sn_put16(pip + 10, 0);
		sn_put16(pip + 10, sn_csum(pip, v.ip_hlen));
		sn_put32(pth + 4, seq);
		pth[13] = last ? flags : (uint8_t)(flags & ~(TH_FIN | TH_PSH));
		sn_tcp_set_csum(pth, v.tcp_hlen + take, src, dst);
		fn(ctx, buf, hlen + take);
		n++;
		seq += (uint32_t)take;
		data += take;
		left -= take;
	} while (left > 0);
	return n;
}
