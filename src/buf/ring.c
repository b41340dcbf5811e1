/*
 * ring.c - the byte ring behind each connection's send and receive buffers.
 *
 * The stored bytes run from data[head] for len bytes, wrapping at size (the
 * storage allocated so far), so any run of them is at most two contiguous
 * pieces: every copy in or out is one or two memcpy calls. Index arithmetic
 * is written so that it cannot overflow 32 bits whatever the capacity.
 *
 * Storage grows on demand: the first write allocates SN_RING_MIN bytes (1 KiB,
 * small enough for malloc's per-thread cache; the capacity, if smaller), and
 * a write that does not fit doubles it, up to the capacity, laying the bytes
 * out again from index 0. A short connection (a 64-byte request and response)
 * used to take four 64 KiB allocations, which were the largest part of its
 * malloc cost (docs/PERFORMANCE.md). The owner may also hand storage in and
 * take it back (sn_ring_attach, sn_ring_detach) to reuse blocks itself.
 */
#include "buf/ring.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Index in data[] of the byte off bytes after the oldest; off <= size. */
static uint32_t ring_index(const struct sn_ring *r, uint32_t off)
{
	uint32_t to_end = r->size - r->head;

	return off < to_end ? r->head + off : off - to_end;
}

void sn_ring_init(struct sn_ring *r, uint32_t cap)
{
	*r = (struct sn_ring){ .cap = cap };
}

void sn_ring_free(struct sn_ring *r)
{
	free(r->data);
	r->data = NULL;
	r->size = 0;
	r->head = 0;
	r->len = 0;
}

void sn_ring_attach(struct sn_ring *r, uint8_t *block, uint32_t size)
{
	r->data = block;
	r->size = size;
	r->head = 0;
	r->len = 0;
}

uint8_t *sn_ring_detach(struct sn_ring *r, uint32_t *size)
{
	uint8_t *data = r->data;

	*size = r->size;
	r->data = NULL;
	r->size = 0;
	r->head = 0;
	r->len = 0;
	return data;
}

/* Make the storage hold at least `need` bytes (need <= cap): the next size
 * up by doubling, at most cap, with the stored bytes moved to index 0. Out
 * of line: rare, and in line its registers were saved on every write. */
__attribute__((noinline)) static int ring_grow(struct sn_ring *r, uint32_t need)
{
	uint32_t size = r->size ? r->size : (r->cap < SN_RING_MIN ? r->cap : SN_RING_MIN);
	uint8_t *data;

	while (size < need)
		size = size > r->cap / 2 ? r->cap : size * 2;
	data = malloc(size);
	if (!data)
		return -ENOMEM;
	if (r->data) {
		sn_ring_peek(r, 0, data, r->len);
		free(r->data);
	}
	r->data = data;
	r->size = size;
	r->head = 0;
	return 0;
}

int sn_ring_resize(struct sn_ring *r, uint32_t cap)
{
	uint8_t *data;

	if (cap < r->len)
		return -EINVAL;
	if (r->len == 0) {
		/* Nothing to keep: drop storage, the next write allocates anew. */
		sn_ring_free(r);
		r->cap = cap;
		return 0;
	}
	if (cap == r->cap)
		return 0;
	data = malloc(cap);
	if (!data)
		return -ENOMEM;
	/* Linearise: the oldest byte moves to index 0. */
	sn_ring_peek(r, 0, data, r->len);
	free(r->data);
	r->data = data;
	r->cap = cap;
	r->size = cap;
	r->head = 0;
	return 0;
}

long sn_ring_write(struct sn_ring *r, const void *src, size_t len)
{
	uint32_t n, tail, first;

	if (len > sn_ring_space(r))
		len = sn_ring_space(r);
	/* The count must fit the return type, even where long is 32 bits. */
	if (len > LONG_MAX)
		len = LONG_MAX;
	if (len == 0)
		return 0;
	n = (uint32_t)len;
	if (r->len + n > r->size && ring_grow(r, r->len + n) < 0)
		return -ENOMEM;
	tail = ring_index(r, r->len);
	first = r->size - tail < n ? r->size - tail : n;
	memcpy(r->data + tail, src, first);
	if (n > first)
		memcpy(r->data, (const uint8_t *)src + first, n - first);
	r->len += n;
	return (long)n;
}

size_t sn_ring_peek(const struct sn_ring *r, size_t off, void *dst, size_t len)
{
	uint32_t n, start, first;

	if (off >= r->len)
		return 0;
	if (len > r->len - off)
		len = r->len - off;
	if (len == 0)
		return 0;
	n = (uint32_t)len;
	start = ring_index(r, (uint32_t)off);
	first = r->size - start < n ? r->size - start : n;
	memcpy(dst, r->data + start, first);
	if (n > first)
		memcpy((uint8_t *)dst + first, r->data, n - first);
	return n;
}

size_t sn_ring_discard(struct sn_ring *r, size_t len)
{
	uint32_t n = len < r->len ? (uint32_t)len : r->len;

	r->len -= n;
	/*
	 * An empty ring starts again at index 0, so the next write (often
	 * the whole of a window) is one contiguous copy.
	 */
	r->head = r->len ? ring_index(r, n) : 0;
	return n;
}

size_t sn_ring_read(struct sn_ring *r, void *dst, size_t len)
{
	return sn_ring_discard(r, sn_ring_peek(r, 0, dst, len));
}
