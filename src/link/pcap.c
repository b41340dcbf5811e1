/*
 * pcap.c - write frames to a classic libpcap capture file.
 *
 * The format is the original one read by tcpdump and Wireshark: a 24-byte
 * global header, then per frame a 16-byte record header and the bytes. All
 * fields are in the writer's byte order; readers recognise that order from
 * the magic number (0xa1b2c3d4, which also announces microsecond stamps).
 *
 * Writes go through a stdio buffer, so an I/O error may surface only at a
 * later write or at close. The writer keeps the first error it sees, stops
 * writing after it (a half-written record would corrupt everything behind
 * it), and hands the error back from sn_pcap_close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "synack.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_SNAPLEN 262144u   /* what tcpdump uses; readers reject larger records */
#define LINKTYPE_ETHERNET 1u
#define PCAP_STDIO_BUFFER 65536

struct pcap_file_header {
	uint32_t magic;
	uint16_t version_major;
	uint16_t version_minor;
	int32_t thiszone;  /* GMT offset of the stamps: always 0 */
	uint32_t sigfigs;  /* stamp accuracy: always 0 */
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_record_header {
	uint32_t ts_sec;
	uint32_t ts_usec;
	uint32_t caplen;   /* bytes stored in the file */
	uint32_t origlen;  /* bytes the frame had */
};

_Static_assert(sizeof(struct pcap_file_header) == 24, "pcap global header is 24 bytes");
_Static_assert(sizeof(struct pcap_record_header) == 16, "pcap record header is 16 bytes");

struct sn_pcap {
	FILE *f;
	int err; /* first error seen, 0 if none */
};

/* stdio does not always set errno (a short write to a full buffer may not). */
static int stdio_error(void)
{
	return errno ? -errno : -EIO;
}

static int put(struct sn_pcap *p, const void *data, size_t len)
{
	if (p->err)
		return p->err;
	errno = 0;
	if (len && fwrite(data, 1, len, p->f) != len)
		p->err = stdio_error();
	return p->err;
}

struct sn_pcap *sn_pcap_open(const char *path, int *err)
{
	const struct pcap_file_header hdr = {
		.magic = PCAP_MAGIC_USEC,
		.version_major = PCAP_VERSION_MAJOR,
		.version_minor = PCAP_VERSION_MINOR,
		.snaplen = PCAP_SNAPLEN,
		.linktype = LINKTYPE_ETHERNET,
	};
	struct sn_pcap *p;
	int e;

	if (!path) {
		e = -EINVAL;
		goto fail;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		e = -ENOMEM;
		goto fail;
	}
	p->f = fopen(path, "wb");
	if (!p->f) {
		e = -errno;
		free(p);
		goto fail;
	}
	/* A buffer of our size, not stdio's default, so a capture costs few syscalls. */
	setvbuf(p->f, NULL, _IOFBF, PCAP_STDIO_BUFFER);
	e = put(p, &hdr, sizeof(hdr));
	if (e) {
		fclose(p->f);
		free(p);
		goto fail;
	}
	if (err)
		*err = 0;
	return p;
fail:
	if (err)
		*err = e;
	return NULL;
}

int sn_pcap_write(struct sn_pcap *p, const void *frame, size_t len, uint64_t ts_us)
{
	struct pcap_record_header rec;

	if (!p || (!frame && len))
		return -EINVAL;
	if (p->err)
		return p->err;
	rec.ts_sec = (uint32_t)(ts_us / 1000000);
	rec.ts_usec = (uint32_t)(ts_us % 1000000);
	/*
	 * Larger frames than the snap length cannot come from Ethernet; if one
	 * does, store its head and its true length, as a capture would, so the
	 * file stays readable.
	 */
	rec.caplen = (uint32_t)(len < PCAP_SNAPLEN ? len : PCAP_SNAPLEN);
	rec.origlen = (uint32_t)(len < UINT32_MAX ? len : UINT32_MAX);
	if (put(p, &rec, sizeof(rec)))
		return p->err;
	return put(p, frame, rec.caplen);
}

void sn_pcap_capture(void *ctx, int dir, const void *frame, size_t len, uint64_t now_us)
{
	/* A capture must not disturb the traffic; the error waits for close. */
	(void)sn_pcap_write(ctx, frame, len, now_us);
}

int sn_pcap_close(struct sn_pcap *p)
{
	int e;

	if (!p)
		return 0;
	e = p->err;
	errno = 0;
	if (fflush(p->f) != 0 && !e)
		e = stdio_error();
	errno = 0;
	if (fclose(p->f) != 0 && !e)
		e = stdio_error();
	free(p);
	return e;
}
