/*
 * reass.h - the out-of-order queue of a connection's receive side.
 *
 * Segments that arrive beyond RCV.NXT wait here, sorted by sequence number
 * and never overlapping, until the hole before them fills; then their bytes
 * move into the receive ring in order. The queue is bounded in bytes by the
 * caller (normally the receive window), overlaps are trimmed, duplicates are
 * discarded, and a FIN is remembered with the segment that carried it.
 *
 * It also remembers which blocks arrived most recently, so the receiver can
 * report them as SACK blocks, most recent first (RFC 2018 section 4).
 *
 *   sync_input -> sn_reass_insert (out-of-order text)
 *              -> sn_reass_deliver (after in-order text advanced RCV.NXT)
 */
#ifndef SN_REASS_H
#define SN_REASS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf/ring.h"

struct sn_reass_seg; /* private to reass.c */

struct sn_reass {
	struct sn_reass_seg *head; /* lowest sequence number first */
	uint32_t bytes;            /* payload bytes held */
	uint32_t nsegs;
	bool fin;                  /* a FIN was seen at fin_seq */
	uint32_t fin_seq;          /* sequence number of that FIN */
	/* Blocks (left, right) touched by the latest insertions, most recent
	 * first; kept consistent with the queue as data is merged/delivered. */
	uint32_t recent[4][2];
	uint8_t nrecent;
};

void sn_reass_init(struct sn_reass *q);
/* Free everything held. */
void sn_reass_free(struct sn_reass *q);

/*
 * Hold [seq, seq + len) (len may be 0 when only a FIN is carried) that
 * arrived while RCV.NXT is rcv_nxt. Bytes before rcv_nxt and bytes at or past
 * rcv_nxt + limit are cut off (and a FIN past the limit is dropped); bytes
 * already held are not stored twice. fin says a FIN follows the last byte.
 * Returns the number of new bytes stored (0 for a pure duplicate), or
 * -ENOMEM if memory ran out (what was stored before stays consistent).
 */
long sn_reass_insert(struct sn_reass *q, uint32_t rcv_nxt, uint32_t limit, uint32_t seq,
                     const uint8_t *data, uint32_t len, bool fin);

/*
 * Move the bytes that are now in order (starting at *rcv_nxt) into ring,
 * advancing *rcv_nxt; stops when the ring is full. Sets *fin (and consumes
 * the FIN, advancing *rcv_nxt past it) when the FIN is reached. Returns the
 * number of bytes moved. Data at or before *rcv_nxt that is already
 * delivered (because in-order data overlapped it) is discarded.
 */
uint32_t sn_reass_deliver(struct sn_reass *q, uint32_t *rcv_nxt, struct sn_ring *ring, bool *fin);

/*
 * Up to max SACK blocks describing what is held, the block containing the
 * most recently received segment first, then the other recently touched
 * blocks, then the rest in sequence order (RFC 2018 section 4). Each block
 * is (left, right) with right exclusive. Returns the count.
 */
unsigned sn_reass_sack_blocks(const struct sn_reass *q, uint32_t blocks[][2], unsigned max);

/* The first range of [seq, seq + len) that the queue already holds, for a
 * D-SACK block (RFC 2883). Returns false if none of it is held. */
bool sn_reass_first_dup(const struct sn_reass *q, uint32_t seq, uint32_t len, uint32_t *left,
                        uint32_t *right);

static inline bool sn_reass_empty(const struct sn_reass *q) { return q->head == NULL && !q->fin; }

#endif /* SN_REASS_H */
