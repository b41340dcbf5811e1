/*
 * ring.h - a byte ring buffer for a connection's send or receive data.
 *
 * Capacity is any size up to 2^31; storage is allocated on the first write
 * (so an idle connection costs nothing), and freed with sn_ring_free. It
 * starts small and doubles as the data needs it, up to the capacity, so a
 * connection that only ever holds a short request never takes a whole
 * window's worth of memory. Offsets
 * passed to peek are relative to the oldest byte in the ring, which lets the
 * sender retransmit straight from the send ring without copies.
 */
#ifndef SN_RING_H
#define SN_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sn_ring {
	uint8_t *data;  /* NULL until first needed */
	uint32_t cap;   /* capacity in bytes */
	uint32_t size;  /* bytes allocated at data (<= cap; indices wrap here) */
	uint32_t head;  /* index of the oldest byte */
	uint32_t len;   /* bytes stored */
};

/* The first storage a ring allocates, unless its capacity is smaller. */
#define SN_RING_MIN 1024u

/* Set up an empty ring of the given capacity; allocates nothing. */
void sn_ring_init(struct sn_ring *r, uint32_t cap);

/* Release storage; the ring becomes empty (capacity kept). */
void sn_ring_free(struct sn_ring *r);

/*
 * Storage handed over, for an owner that keeps blocks for reuse (tcb.c keeps
 * a stack's freed first blocks). sn_ring_attach gives a ring that has no
 * storage a block of `size` bytes (size <= cap), malloc'd; sn_ring_detach
 * empties the ring and returns its storage (NULL if none) and its size.
 */
void sn_ring_attach(struct sn_ring *r, uint8_t *block, uint32_t size);
uint8_t *sn_ring_detach(struct sn_ring *r, uint32_t *size);

/*
 * Change capacity. Allowed at any time as long as the new capacity holds the
 * bytes stored; returns 0, -EINVAL (too small) or -ENOMEM (ring unchanged).
 */
int sn_ring_resize(struct sn_ring *r, uint32_t cap);

static inline uint32_t sn_ring_used(const struct sn_ring *r) { return r->len; }
static inline uint32_t sn_ring_space(const struct sn_ring *r) { return r->cap - r->len; }

/* Append up to len bytes; returns bytes written (fewer when full), or -ENOMEM
 * if storage could not be allocated. */
long sn_ring_write(struct sn_ring *r, const void *src, size_t len);

/* Copy up to len bytes starting off bytes after the oldest, without removing
 * them. Returns bytes copied (0 if off >= used). */
size_t sn_ring_peek(const struct sn_ring *r, size_t off, void *dst, size_t len);

/* Remove up to len of the oldest bytes; returns bytes removed. When the ring
 * becomes empty, head resets to 0 (storage is kept). */
size_t sn_ring_discard(struct sn_ring *r, size_t len);

/* peek + discard. */
size_t sn_ring_read(struct sn_ring *r, void *dst, size_t len);

#endif /* SN_RING_H */
