/*
 * tap.c - a netif on a Linux TAP device.
 *
 * A TAP device is an Ethernet interface whose "wire" is a file descriptor:
 * every frame the kernel sends out of the interface can be read from the fd,
 * one frame per read(2), and every frame written to the fd (one per
 * write(2)) arrives at the kernel as if it came off a cable. IFF_NO_PI drops
 * the 4-byte packet-information header, so the bytes are exactly an Ethernet
 * II frame, which is what sn_input and the transmit callback deal in.
 *
 * The fd is non-blocking. Reading is batched: sn_tap_receive drains up to a
 * given number of frames per call, so one wake-up of the event loop serves a
 * whole burst. Writing is one write(2) per frame, because a TAP fd has no
 * multi-frame write without the virtio-net header machinery; a write that
 * cannot be done at once (the kernel's backlog is full) loses the frame, as a
 * full transmit ring on a real NIC does, and TCP recovers it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "synack.h"

/* Larger than any frame the kernel hands a TAP without offloads: MTU 65535
 * plus the Ethernet header, rounded up. */
#define TAP_FRAME_MAX 65552

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
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (name && *name)
		memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		/* Without CAP_NET_ADMIN the open succeeds and the ioctl fails. */
		return e == EPERM ? -EACCES : -e;
	}
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
	struct sn_tap *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->fd = fd;
	t->frame = malloc(TAP_FRAME_MAX);
	if (!t->frame) {
		free(t);
		return NULL;
	}
	return t;
}

void sn_tap_free(struct sn_tap *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t->frame);
	free(t);
}

static int tap_transmit(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct sn_tap *t = ctx;
	ssize_t n;

	do
		n = write(t->fd, frame, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		t->tx_drops++;
		return -errno;
	}
	if ((size_t)n != len) {
		/* A TAP write is all or nothing; a short one means a broken fd. */
		t->tx_drops++;
		return -EIO;
	}
	t->tx_frames++;
	return 0;
}

static const struct sn_netif_ops tap_ops = {.transmit = tap_transmit};

const struct sn_netif_ops *sn_tap_ops(void)
{
	return &tap_ops;
}

int sn_tap_read(struct sn_tap *t, sn_deliver_fn deliver, void *ctx, uint64_t now_us,
                unsigned max_frames)
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
		t->rx_frames++;
		deliver(ctx, t->frame, (size_t)n, now_us);
		count++;
	}
	return (int)count;
}

struct to_stack {
	struct sn_stack *st;
	struct sn_netif *nif;
};

static void deliver_to_stack(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct to_stack *ts = ctx;
	sn_input(ts->st, ts->nif, frame, len, now_us);
}

int sn_tap_receive(struct sn_tap *t, struct sn_stack *st, struct sn_netif *nif, uint64_t now_us,
                   unsigned max_frames)
{
	struct to_stack ts = {st, nif};
	return sn_tap_read(t, deliver_to_stack, &ts, now_us, max_frames);
}
