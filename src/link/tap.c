/*
 * tap.c - a netif on a Linux TAP device.
 *
 * A TAP device is an Ethernet interface whose "wire" is a file descriptor:
 * every frame the kernel sends out of the interface can be read from the fd,
 * one frame per read(2), and every frame written to the fd (one per
 * write(2)) arrives at the kernel as if it came off a cable. IFF_NO_PI drops
 * the 4-byte packet-information header.
 *
 * The device is opened with IFF_VNET_HDR: every frame in either direction is
 * preceded by a struct virtio_net_hdr, and the kernel is told (TUNSETOFFLOAD)
 * that we take frames with the checksum left to us (TUN_F_CSUM) and TCP
 * segments larger than the MTU (TUN_F_TSO4). The kernel then hands a bulk
 * sender's data over in segments of up to 64 KiB, one read(2) each instead of
 * one per 1448 bytes, and skips checksumming what it sends us. Such a segment
 * is a valid IPv4 packet (its total length is the whole segment), and the
 * stack takes it like any other. A checksum the kernel left to us
 * (NEEDS_CSUM: the frame comes from the kernel's own memory) or verified
 * (DATA_VALID) is not checked again: sn_tap_receive hands the frame over with
 * SN_RX_CSUM_OK. sn_tap_read, whose deliver function takes no flags (the
 * impairment filter, which may corrupt), completes a NEEDS_CSUM checksum
 * first. A kernel that refuses the offloads still gets the header, and then
 * sends ordinary frames.
 *
 * The other way, the driver offers the stack checksum and segmentation
 * offload (ops.offload, when the fd has the header): TCP segments leave the
 * stack with the pseudo-header sum in the checksum field and are written
 * with NEEDS_CSUM (csum_start, csum_offset), and a super-segment of up to
 * 64 KiB (transmit_gso) with gso_type TCPV4 and gso_size = its MSS, which the
 * kernel takes in one write(2) and delivers to its own TCP whole (or cuts, if
 * it forwards it). Other frames carry an all-zero header: checksum done, no
 * segmentation. docs/PERFORMANCE.md has the figures.
 *
 * The fd is non-blocking. Reading is batched: sn_tap_receive drains up to a
 * given number of frames per call, so one wake-up of the event loop serves a
 * whole burst. Writing is one write(2) per frame; a write that cannot be done
 * at once (the kernel's backlog is full) loses the frame, as a full transmit
 * ring on a real NIC does, and TCP recovers it.
 *
 * An fd opened elsewhere without IFF_VNET_HDR (sn_tap_new asks the kernel
 * with TUNGETIFF) is used as before: bare Ethernet frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "link/link.h"
#include "synack.h"
#include "wire/wire.h"

#define VNET_HLEN sizeof(struct virtio_net_hdr)

/* Larger than any frame the kernel hands a TAP: a 64 KiB IP packet (MTU
 * 65535, or a segmentation-offload segment) plus the Ethernet and virtio-net
 * headers, rounded up. */
#define TAP_FRAME_MAX 65600

/* struct sn_tap is public; what only this file needs sits around it. */
struct tap_priv {
	struct sn_tap pub;
	bool vnet;       /* frames carry a struct virtio_net_hdr */
	unsigned offered; /* SN_NETIF_* the stack was given (tap_offload) */
	uint64_t rx_bad; /* frames whose virtio-net header did not fit them */

	/* Send coalescing (sn_tap_set_coalesce, used by the loop): data
	 * segments of one flow, in sequence, are merged into one frame that
	 * the kernel segments (TSO), until sn_tap_flush. */
	bool coalesce;
	uint8_t *tx;         /* the frame being built, NULL until needed */
	size_t tx_len;       /* its bytes; 0 = nothing pending */
	size_t tx_hlen;      /* Ethernet + IPv4 + TCP header bytes */
	uint32_t tx_next_seq;
	uint32_t tx_mss;     /* payload of each merged segment but the last */
	unsigned tx_segs;
	bool tx_closed;      /* a shorter or PSH segment came: nothing may follow */
};

static struct tap_priv *priv_of(struct sn_tap *t)
{
	return (struct tap_priv *)((char *)t - offsetof(struct tap_priv, pub));
}

int sn_tap_open(const char *name, char *actual_name, size_t len)
{
	struct ifreq ifr;
	int fd, e;

	if (name && strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (name && *name)
		memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		/* Without CAP_NET_ADMIN the open succeeds and the ioctl fails. */
		return e == EPERM ? -EACCES : -e;
	}
	int hlen = (int)VNET_HLEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hlen) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	/* Best effort: without offloads the kernel sends plain frames. */
	(void)ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4));
	if (actual_name && len) {
		size_t n = strnlen(ifr.ifr_name, IFNAMSIZ);
		if (n >= len) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(actual_name, ifr.ifr_name, n);
		actual_name[n] = '\0';
	}
	return fd;
}

const char *sn_tap_strerror(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		return "/dev/net/tun is missing: load the tun module (modprobe tun), or in a "
		       "container pass the device in (e.g. docker run --device /dev/net/tun)";
	case -EACCES:
	case -EPERM:
		return "not allowed to create a TAP device: run as root or give the program "
		       "CAP_NET_ADMIN (e.g. sudo setcap cap_net_admin+ep ./synack), or use a "
		       "device created for you with `ip tuntap add NAME mode tap user $USER`";
	case -EBUSY:
		return "the TAP device is already open in another process, or the name belongs "
		       "to an interface of another kind: choose another name";
	case -EINVAL:
		return "the kernel refused the TAP request: the name may belong to an existing "
		       "non-TAP interface";
	case -ENAMETOOLONG:
		return "interface names are at most 15 characters";
	default:
		return "could not open the TAP device";
	}
}

struct sn_tap *sn_tap_new(int fd)
{
	struct tap_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	struct sn_tap *t = &p->pub;
	t->fd = fd;
	t->frame = malloc(TAP_FRAME_MAX);
	if (!t->frame) {
		free(p);
		return NULL;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) == 0)
		p->vnet = (ifr.ifr_flags & IFF_VNET_HDR) != 0;
	return t;
}

void sn_tap_free(struct sn_tap *t)
{
	if (!t)
		return;
	sn_tap_flush(t);
	if (t->fd >= 0)
		close(t->fd);
	free(t->frame);
	free(priv_of(t)->tx);
	free(priv_of(t));
}

/* Write one frame, with the given virtio-net header when the fd takes one. */
static int tap_write(struct sn_tap *t, const struct virtio_net_hdr *hdr, const void *frame,
                     size_t len, unsigned segs)
{
	ssize_t n;

	if (priv_of(t)->vnet) {
		struct virtio_net_hdr h;
		struct sn_tcp_frame v;
		if (hdr) {
			h = *hdr;
		} else if ((priv_of(t)->offered & SN_NETIF_TX_CSUM) &&
		           sn_tcp_frame_view(frame, len, &v)) {
			/* The stack left the TCP checksum to us (SN_NETIF_TX_CSUM):
			 * to the kernel, as the sender on a virtio NIC would. */
			memset(&h, 0, sizeof(h));
			h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			h.csum_start = (uint16_t)(v.ip_off + v.ip_hlen);
			h.csum_offset = 16;
		} else { /* all zero: checksum complete, no segmentation */
			memset(&h, 0, sizeof(h));
		}
		struct iovec iov[2] = {{&h, VNET_HLEN}, {(void *)(uintptr_t)frame, len}};
		do
			n = writev(t->fd, iov, 2);
		while (n < 0 && errno == EINTR);
		if (n >= (ssize_t)VNET_HLEN)
			n -= (ssize_t)VNET_HLEN;
		else if (n >= 0)
			n = 0;
	} else {
		do
			n = write(t->fd, frame, len);
		while (n < 0 && errno == EINTR);
	}
	if (n < 0) {
		t->tx_drops++;
		return -errno;
	}
	if ((size_t)n != len) {
		/* A TAP write is all or nothing; a short one means a broken fd. */
		t->tx_drops++;
		return -EIO;
	}
	t->tx_frames += segs;
	return 0;
}

/*
 * ---- send coalescing ------------------------------------------------------
 *
 * One write(2) per 1448-byte segment bounded synack -> Linux over a TAP
 * (docs/PERFORMANCE.md): each write also runs the kernel's receive path for
 * that frame. The stack sends a window's worth of segments in one flush, all
 * with the same headers but the sequence number (and the IP ID and checksums):
 * merged into one frame with gso_type TCPV4 and gso_size = the segments'
 * payload, the kernel takes them in one write and delivers them to its own
 * TCP as one large segment (or cuts them up again if it forwards them). Only
 * plain data segments are merged: ACK, optionally PSH on the last one, IPv4
 * without options, every segment but the last a full gso_size. The TCP
 * checksum is left to the kernel (NEEDS_CSUM, pseudo-header sum in place),
 * which computes it per segment. Anything else is written as it is, after
 * whatever was pending, so the order on the wire never changes.
 */

#define ETH_HLEN_ 14
#define IP_HLEN_ 20
#define TSO_MAX 65535 /* IPv4 total length */

struct tcp_view {
	size_t hlen;     /* Ethernet + IPv4 + TCP headers */
	size_t payload;
	uint32_t seq;
	uint8_t flags;
};

/* A frame that may be merged: Ethernet, IPv4 without options or fragments,
 * TCP with ACK and possibly PSH, and data. */
static bool mergeable(const uint8_t *f, size_t len, struct tcp_view *v)
{
	if (len < ETH_HLEN_ + IP_HLEN_ + 20 || f[12] != 0x08 || f[13] != 0x00)
		return false;
	const uint8_t *ip = f + ETH_HLEN_;
	size_t tot = (size_t)ip[2] << 8 | ip[3];
	if (ip[0] != 0x45 || ip[9] != 6 || (ip[6] & 0x3f) || ip[7] || tot != len - ETH_HLEN_)
		return false;
	const uint8_t *th = ip + IP_HLEN_;
	size_t doff = (size_t)(th[12] >> 4) * 4;
	if (doff < 20 || ETH_HLEN_ + IP_HLEN_ + doff >= len)
		return false;
	v->flags = th[13];
	if ((v->flags & ~(SN_TH_ACK | SN_TH_PSH)) || !(v->flags & SN_TH_ACK))
		return false;
	v->hlen = ETH_HLEN_ + IP_HLEN_ + doff;
	v->payload = len - v->hlen;
	v->seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 | (uint32_t)th[6] << 8 | th[7];
	return true;
}

/* Same flow and headers as the pending frame, but the fields each segment
 * has of its own: IP total length, ID and checksum; TCP sequence number,
 * flags and checksum. */
static bool same_headers(const uint8_t *a, const uint8_t *b, size_t hlen)
{
	const uint8_t *ia = a + ETH_HLEN_, *ib = b + ETH_HLEN_;
	const uint8_t *ta = ia + IP_HLEN_, *tb = ib + IP_HLEN_;
	return memcmp(a, b, ETH_HLEN_) == 0 && ia[0] == ib[0] && ia[1] == ib[1] &&
	       memcmp(ia + 6, ib + 6, 4) == 0 && memcmp(ia + 12, ib + 12, 8) == 0 &&
	       memcmp(ta, tb, 4) == 0 && memcmp(ta + 8, tb + 8, 5) == 0 &&
	       memcmp(ta + 14, tb + 14, 2) == 0 &&
	       memcmp(ta + 18, tb + 18, hlen - ETH_HLEN_ - IP_HLEN_ - 18) == 0;
}

int sn_tap_flush(struct sn_tap *t)
{
	struct tap_priv *p = priv_of(t);
	if (!p->tx_len)
		return 0;
	size_t len = p->tx_len;
	unsigned segs = p->tx_segs;
	p->tx_len = 0;
	p->tx_segs = 0;
	if (segs == 1)
		return tap_write(t, NULL, p->tx, len, 1);
	uint8_t *ip = p->tx + ETH_HLEN_, *th = ip + IP_HLEN_;
	size_t ip_len = len - ETH_HLEN_, tcp_len = ip_len - IP_HLEN_;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[10] = ip[11] = 0;
	uint16_t c = sn_csum(ip, IP_HLEN_);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	/* NEEDS_CSUM: the checksum field holds the folded pseudo-header sum
	 * (not complemented); the kernel adds the segment's bytes to it. */
	struct sn_csum ps;
	uint32_t src = (uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15];
	uint32_t dst = (uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19];
	sn_csum_pseudo(&ps, src, dst, 6, (uint16_t)tcp_len);
	uint16_t partial = (uint16_t)~sn_csum_fold(&ps);
	th[16] = (uint8_t)(partial >> 8);
	th[17] = (uint8_t)partial;
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = (uint16_t)p->tx_hlen,
		.gso_size = (uint16_t)p->tx_mss,
		.csum_start = ETH_HLEN_ + IP_HLEN_,
		.csum_offset = 16,
	};
	return tap_write(t, &h, p->tx, len, segs);
}

int sn_tap_set_coalesce(struct sn_tap *t, int on)
{
	struct tap_priv *p = priv_of(t);
	if (on && !p->vnet)
		return -EOPNOTSUPP;
	if (!on)
		sn_tap_flush(t);
	p->coalesce = on != 0;
	return 0;
}

/* Add a frame to the pending one if it continues it; 1 if taken. */
static int coalesce_add(struct sn_tap *t, const uint8_t *f, size_t len)
{
	struct tap_priv *p = priv_of(t);
	struct tcp_view v;
	if (!mergeable(f, len, &v))
		return 0;
	if (p->tx_len && !p->tx_closed && v.hlen == p->tx_hlen && v.seq == p->tx_next_seq &&
	    v.payload <= p->tx_mss && p->tx_len + v.payload <= ETH_HLEN_ + TSO_MAX &&
	    same_headers(p->tx, f, v.hlen)) {
		memcpy(p->tx + p->tx_len, f + v.hlen, v.payload);
		p->tx_len += v.payload;
		p->tx_next_seq += (uint32_t)v.payload;
		p->tx_segs++;
		if (v.flags & SN_TH_PSH) {
			p->tx[ETH_HLEN_ + IP_HLEN_ + 13] |= SN_TH_PSH;
			p->tx_closed = true;
		}
		if (v.payload < p->tx_mss)
			p->tx_closed = true;
		return 1;
	}
	sn_tap_flush(t);
	if (!p->tx && !(p->tx = malloc(ETH_HLEN_ + TSO_MAX)))
		return 0;
	memcpy(p->tx, f, len);
	p->tx_len = len;
	p->tx_hlen = v.hlen;
	p->tx_mss = (uint32_t)v.payload;
	p->tx_next_seq = v.seq + (uint32_t)v.payload;
	p->tx_segs = 1;
	p->tx_closed = (v.flags & SN_TH_PSH) != 0;
	return 1;
}

static int tap_transmit(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct sn_tap *t = ctx;
	if (priv_of(t)->coalesce) {
		if (coalesce_add(t, frame, len))
			return 0;
		sn_tap_flush(t);
	}
	return tap_write(t, NULL, frame, len, 1);
}

/* A super-segment from the stack (SN_NETIF_TSO): to the kernel as it is,
 * after whatever was pending, so the order on the wire never changes. */
static int tap_transmit_gso(void *ctx, const void *frame, size_t len, uint16_t gso_size,
                            uint64_t now_us)
{
	(void)now_us;
	struct sn_tap *t = ctx;
	struct sn_tcp_frame v;
	if (!priv_of(t)->vnet || !sn_tcp_frame_view(frame, len, &v) || gso_size == 0)
		return -EINVAL;
	sn_tap_flush(t);
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = (uint16_t)(v.ip_off + v.ip_hlen + v.tcp_hlen),
		.gso_size = gso_size,
		.csum_start = (uint16_t)(v.ip_off + v.ip_hlen),
		.csum_offset = 16,
	};
	return tap_write(t, &h, frame, len, (unsigned)((v.payload + gso_size - 1) / gso_size));
}

/* With the virtio-net header the kernel completes checksums and cuts
 * super-segments for us; without it, nothing is offered. */
static unsigned tap_offload(void *ctx, uint32_t *tso_max)
{
	struct tap_priv *p = priv_of(ctx);
	p->offered = p->vnet ? SN_NETIF_TX_CSUM | SN_NETIF_TSO : 0;
	*tso_max = TSO_MAX;
	return p->offered;
}

static const struct sn_netif_ops tap_ops = {
	.transmit = tap_transmit,
	.transmit_gso = tap_transmit_gso,
	.offload = tap_offload,
};

const struct sn_netif_ops *sn_tap_ops(void)
{
	return &tap_ops;
}

/*
 * A frame read with its virtio-net header: when the kernel left the checksum
 * to us (NEEDS_CSUM), the field at csum_start + csum_offset holds the folded
 * pseudo-header sum; the checksum over everything from csum_start, that field
 * included, completes it (if complete, else it is left: the receiver takes
 * the frame on trust). *rx_flags says what the header vouches for. Returns
 * -1 for a header that points outside the frame.
 */
static int vnet_finish(uint8_t *buf, size_t len, bool complete, unsigned *rx_flags)
{
	struct virtio_net_hdr h;
	memcpy(&h, buf, sizeof(h));
	*rx_flags = 0;
	if (h.flags & VIRTIO_NET_HDR_F_DATA_VALID)
		*rx_flags = SN_RX_CSUM_OK; /* the kernel verified it */
	if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	uint8_t *f = buf + VNET_HLEN;
	size_t flen = len - VNET_HLEN, start = h.csum_start, at = start + h.csum_offset;
	if (start >= flen || at + 2 > flen)
		return -1;
	if (!complete) {
		/* From the kernel's memory, never across a wire. */
		*rx_flags = SN_RX_CSUM_OK;
		return 0;
	}
	uint16_t c = sn_csum(f + start, flen - start);
	/* sn_csum gives the complemented sum of big-endian words as a number:
	 * stored big-endian. */
	f[at] = (uint8_t)(c >> 8);
	f[at + 1] = (uint8_t)c;
	return 0;
}

/* Read up to max_frames frames; each to deliver (checksums completed) or,
 * if set, to deliver_ex with the flags the header gives. */
static int tap_read(struct sn_tap *t, sn_deliver_fn deliver, sn_deliver_ex_fn deliver_ex,
                    void *ctx, uint64_t now_us, unsigned max_frames)
{
	unsigned count = 0;

	while (count < max_frames) {
		ssize_t n = read(t->fd, t->frame, TAP_FRAME_MAX);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return count ? (int)count : -errno;
		}
		if (n == 0)
			break;
		const uint8_t *f = t->frame;
		size_t flen = (size_t)n;
		unsigned rx_flags = 0;
		if (priv_of(t)->vnet) {
			if (flen < VNET_HLEN ||
			    vnet_finish(t->frame, flen, !deliver_ex, &rx_flags) < 0) {
				priv_of(t)->rx_bad++;
				continue;
			}
			f += VNET_HLEN;
			flen -= VNET_HLEN;
		}
		t->rx_frames++;
		if (deliver_ex)
			deliver_ex(ctx, f, flen, rx_flags, now_us);
		else
			deliver(ctx, f, flen, now_us);
		count++;
	}
	return (int)count;
}

int sn_tap_read(struct sn_tap *t, sn_deliver_fn deliver, void *ctx, uint64_t now_us,
                unsigned max_frames)
{
	return tap_read(t, deliver, NULL, ctx, now_us, max_frames);
}

struct to_stack {
	struct sn_stack *st;
	struct sn_netif *nif;
};

static void deliver_to_stack(void *ctx, const void *frame, size_t len, unsigned rx_flags,
                             uint64_t now_us)
{
	struct to_stack *ts = ctx;
	sn_input_ex(ts->st, ts->nif, frame, len, rx_flags, now_us);
}

int sn_tap_receive(struct sn_tap *t, struct sn_stack *st, struct sn_netif *nif, uint64_t now_us,
                   unsigned max_frames)
{
	struct to_stack ts = {st, nif};
	return tap_read(t, NULL, deliver_to_stack, &ts, now_us, max_frames);
}
