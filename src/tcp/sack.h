/*
 * sack.h - the sender's SACK scoreboard (RFC 2018, RFC 6675).
 *
 * The peer's SACK blocks tell us which octets above SND.UNA it already
 * holds. The scoreboard keeps them as a sorted list of disjoint ranges
 * [start, end), merged as blocks arrive and trimmed as SND.UNA moves. From it
 * come the three questions of RFC 6675 loss recovery:
 *
 *   IsLost(seq)  an octet is taken for lost once more than
 *                (DupThresh - 1) * SMSS octets above it are SACKed, or
 *                DupThresh separate SACKed ranges lie above it (RFC 6675 4);
 *   pipe         the octets still believed to be in the network: every
 *                octet between SND.UNA and SND.MAX that is neither SACKed
 *                nor lost, plus every octet we have sent again (up to
 *                HighRxt), which counts once more (RFC 6675 4, SetPipe);
 *   NextSeg      which octets to send next (RFC 6675 4): the lowest lost
 *                hole not yet resent, else new data, else the lowest hole
 *                not yet resent even if not proven lost, else a single
 *                "rescue" retransmission of the highest unSACKed octets.
 *
 * Pure arithmetic on one struct, so it can be tested on its own; which
 * octets exist to be sent (new data, FIN) is the caller's business.
 * A board holds at most SN_SACK_RANGES ranges; a block that would need more
 * is dropped, which costs at worst an extra retransmission, never data.
 */
#ifndef SN_SACK_H
#define SN_SACK_H

#include <stdbool.h>
#include <stdint.h>

#define SN_SACK_RANGES 32
#define SN_SACK_DUPTHRESH 3 /* RFC 5681 / RFC 6675 DupThresh */

struct sn_sack_range {
	uint32_t start, end; /* [start, end) */
};

struct sn_sackboard {
	uint32_t n;          /* ranges in use, sorted by start */
	uint32_t sacked;     /* octets in all ranges */
	struct sn_sack_range r[SN_SACK_RANGES];
};

/*
 * Record the block [start, end) reported with cumulative ACK una while
 * snd_max is the highest octet sent. Returns true if it SACKed octets the
 * board did not have. A block at or below una (a D-SACK, RFC 2883), empty,
 * or beyond snd_max is ignored.
 */
bool sn_sack_add(struct sn_sackboard *b, uint32_t start, uint32_t end, uint32_t una,
                 uint32_t snd_max);

/* SND.UNA moved to una: forget what lies below it. */
void sn_sack_trim(struct sn_sackboard *b, uint32_t una);

/* The highest SACKed octet + 1, or una if nothing is SACKed. */
uint32_t sn_sack_high(const struct sn_sackboard *b, uint32_t una);

/* Is seq inside a SACKed range? If so and end is not NULL, *end is the
 * range's end. */
bool sn_sack_has(const struct sn_sackboard *b, uint32_t seq, uint32_t *end);

/* The first SACKed octet at or above seq (limit if none below limit). */
uint32_t sn_sack_next_start(const struct sn_sackboard *b, uint32_t seq, uint32_t limit);

/* RFC 6675 IsLost(seq), for an octet not itself SACKed. */
bool sn_sack_is_lost(const struct sn_sackboard *b, uint32_t seq, uint32_t smss);

/* RFC 6675 SetPipe(): octets in flight. */
uint32_t sn_sack_pipe(const struct sn_sackboard *b, uint32_t una, uint32_t snd_max,
                      uint32_t high_rxt, uint32_t smss);

/*
 * RFC 6675 NextSeg() rules 1 and 3, over the holes below the highest SACKed
 * octet: the lowest unSACKed octet above high_rxt that is lost (rule 1), or
 * if lost_only is false any such octet (rule 3). On success *seq and *len
 * (at most smss, never into a SACKed range) say what to resend.
 */
bool sn_sack_next_hole(const struct sn_sackboard *b, uint32_t una, uint32_t high_rxt,
                       uint32_t smss, bool lost_only, uint32_t *seq, uint32_t *len);

#endif /* SN_SACK_H */
