/*
 * reass.c - the out-of-order queue of the receive side (RFC 9293 3.10.7.4,
 * seventh step: text that is not yet in order is held until it is).
 *
 *   tcp input, seventh step -> sn_reass_insert       (text beyond RCV.NXT)
 *                           -> sn_reass_deliver      (RCV.NXT advanced)
 *   tcp output, an ACK      -> sn_reass_sack_blocks
 *
 * The queue is a list of pieces sorted by sequence number, each a single
 * allocation carrying its own copy of the bytes. Pieces never overlap: an
 * insert stores only the bytes not held yet, which can be several pieces when
 * it spans held ones. Adjacent pieces are left apart, since joining them would
 * mean copying bytes already held; SACK blocks are runs of adjacent pieces.
 *
 * The usual insert is an append after the last piece (segments keep arriving
 * in order behind a single hole), so it must not walk the list. The list is
 * doubly linked and the head's prev points at the tail, which gives that
 * without a tail field in struct sn_reass.
 *
 * recent[] holds whole runs, exactly as they stand in the list, most
 * recently touched first; every change to the list is followed by an update
 * of recent[], so the two never disagree.
 */
#include "tcp/reass.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/seq.h"

struct sn_reass_seg {
	struct sn_reass_seg *next; /* NULL for the tail */
	struct sn_reass_seg *prev; /* for the head: the tail */
	uint32_t seq;              /* of data[0] */
	uint32_t len;              /* never 0 */
	uint8_t *data;             /* into buf; moves on as the front is used */
	uint8_t buf[];
};

/* Capacity of recent[] in struct sn_reass. */
#define RECENT_MAX (sizeof(((struct sn_reass *)0)->recent) / sizeof(uint32_t[2]))

static uint32_t seg_end(const struct sn_reass_seg *s)
{
	return s->seq + s->len;
}

static struct sn_reass_seg *tail_of(const struct sn_reass *q)
{
	return q->head ? q->head->prev : NULL;
}

static struct sn_reass_seg *seg_new(uint32_t seq, const uint8_t *data, uint32_t len)
{
	struct sn_reass_seg *s = malloc(sizeof(*s) + len);

	if (!s)
		return NULL;
	s->next = NULL;
	s->prev = NULL;
	s->seq = seq;
	s->len = len;
	s->data = s->buf;
	memcpy(s->buf, data, len);
	return s;
}

/* Link s in after pred, or at the front when pred is NULL. */
static void link_after(struct sn_reass *q, struct sn_reass_seg *pred, struct sn_reass_seg *s)
{
	if (!pred) {
		s->next = q->head;
		s->prev = q->head ? q->head->prev : s;
		if (q->head)
			q->head->prev = s;
		q->head = s;
	} else {
		s->next = pred->next;
		s->prev = pred;
		if (pred->next)
			pred->next->prev = s;
		else
			q->head->prev = s; /* s is the new tail */
		pred->next = s;
	}
	q->bytes += s->len;
	q->nsegs++;
}

static void drop_head(struct sn_reass *q)
{
	struct sn_reass_seg *s = q->head;

	q->head = s->next;
	if (q->head)
		q->head->prev = s->prev;
	q->bytes -= s->len;
	q->nsegs--;
	free(s);
}

/* Forget the first n bytes of s (n < s->len). */
static void trim_front(struct sn_reass *q, struct sn_reass_seg *s, uint32_t n)
{
	s->seq += n;
	s->len -= n;
	s->data += n;
	q->bytes -= n;
}

/* The recent block that holds byte x, or NULL. */
static const uint32_t *recent_holding(const struct sn_reass *q, uint32_t x)
{
	for (unsigned i = 0; i < q->nrecent; i++)
		if (sn_seq_in(x, q->recent[i][0], q->recent[i][1]))
			return q->recent[i];
	return NULL;
}

/*
 * The run of adjacent pieces around an inserted range that now starts in
 * first and ends in last. recent[] still describes the runs as they were
 * before the insert, and bytes outside the inserted range have not changed:
 * so once the walk reaches a piece whose outer edge lies in a recent block,
 * that block's edge is the run's edge. This keeps the usual append to a
 * long run at the tail from walking the whole run.
 */
static void run_around(const struct sn_reass *q, const struct sn_reass_seg *first,
                       const struct sn_reass_seg *last, uint32_t *left, uint32_t *right)
{
	const uint32_t *b;

	while (!(b = recent_holding(q, first->seq)) && first != q->head &&
	       seg_end(first->prev) == first->seq)
		first = first->prev;
	*left = b ? b[0] : first->seq;

	while (!(b = recent_holding(q, seg_end(last) - 1)) && last->next &&
	       last->next->seq == seg_end(last))
		last = last->next;
	*right = b ? b[1] : seg_end(last);
}

/*
 * [left, right) is the run the latest insert landed in. A run only grows by
 * swallowing the runs it touches, so any old block that overlaps it is part
 * of it now and goes. The run itself becomes the most recent block unless it
 * starts at RCV.NXT: then it is about to be delivered and will not be
 * reported (RFC 2018 section 4 excepts the segment that advances the ACK),
 * so it should not push an older block out.
 */
static void note_recent(struct sn_reass *q, uint32_t left, uint32_t right, bool report)
{
	uint32_t keep[RECENT_MAX][2];
	unsigned n = 0, room = report ? RECENT_MAX - 1 : RECENT_MAX;

	for (unsigned i = 0; i < q->nrecent && n < room; i++) {
		if (sn_seq_lt(q->recent[i][0], right) && sn_seq_lt(left, q->recent[i][1]))
			continue;
		keep[n][0] = q->recent[i][0];
		keep[n][1] = q->recent[i][1];
		n++;
	}
	if (report) {
		q->recent[0][0] = left;
		q->recent[0][1] = right;
	}
	memcpy(q->recent[report ? 1 : 0], keep, n * sizeof(keep[0]));
	q->nrecent = (uint8_t)(n + (report ? 1 : 0));
}

/* After pieces left the front: drop blocks that went with them, cut the one
 * that went in part. */
static void trim_recent(struct sn_reass *q)
{
	unsigned n = 0;

	for (unsigned i = 0; i < q->nrecent; i++) {
		if (!q->head || sn_seq_leq(q->recent[i][1], q->head->seq))
			continue;
		q->recent[n][0] = sn_seq_max(q->recent[i][0], q->head->seq);
		q->recent[n][1] = q->recent[i][1];
		n++;
	}
	q->nrecent = (uint8_t)n;
}

void sn_reass_init(struct sn_reass *q)
{
	*q = (struct sn_reass){.head = NULL};
}

void sn_reass_free(struct sn_reass *q)
{
	while (q->head)
		drop_head(q);
	sn_reass_init(q);
}

long sn_reass_insert(struct sn_reass *q, uint32_t rcv_nxt, uint32_t limit, uint32_t seq,
                     const uint8_t *data, uint32_t len, bool fin)
{
	struct sn_reass_seg *p, *pred = NULL, *first = NULL, *last = NULL, *fresh = NULL, *s;
	uint32_t off, end, cur, left, right;
	long stored = 0;

	/* What lies before RCV.NXT has been received already. */
	if (sn_seq_lt(seq, rcv_nxt)) {
		uint32_t old = rcv_nxt - seq;

		if (old > len)
			return 0; /* a FIN here is old too */
		data += old;
		len -= old;
		seq = rcv_nxt;
	}
	/*
	 * What lies at or past the limit does not fit. The FIN follows the
	 * last byte, so it goes when any byte is cut; one right at the limit
	 * takes no room and stays (as in input.c's trim to the window).
	 */
	off = seq - rcv_nxt;
	if (off > limit)
		return 0;
	if (len > limit - off) {
		len = limit - off;
		fin = false;
	}
	/*
	 * A peer sends nothing after its FIN: bytes at or past a known FIN
	 * are not stored, and a second FIN elsewhere is ignored (the first
	 * one stands).
	 */
	if (q->fin) {
		fin = false;
		if (sn_seq_geq(seq, q->fin_seq))
			len = 0;
		else if (sn_seq_gt(seq + len, q->fin_seq))
			len = q->fin_seq - seq;
	}

	if (len > 0) {
		end = seq + len;

		/* Find the first piece that ends after seq, from the tail
		 * when the segment lands there. */
		p = tail_of(q);
		if (p && sn_seq_geq(seq, p->seq))
			pred = p == q->head ? NULL : p->prev;
		else
			p = q->head;
		while (p && sn_seq_leq(seg_end(p), seq)) {
			pred = p;
			p = p->next;
		}

		/*
		 * Copy each gap between held pieces into a new piece, and only
		 * link them in once all are allocated, so that running out of
		 * memory leaves the queue as it was.
		 */
		for (cur = seq; sn_seq_lt(cur, end);) {
			if (p && sn_seq_leq(p->seq, cur)) {
				/* Held already: keep what we have. */
				s = p;
				cur = seg_end(p);
				pred = p;
				p = p->next;
			} else {
				uint32_t gap_end = p && sn_seq_lt(p->seq, end) ? p->seq : end;

				s = seg_new(cur, data + (cur - seq), gap_end - cur);
				if (!s)
					goto no_memory;
				s->prev = pred; /* where it goes */
				s->next = fresh;
				fresh = s;
				stored += gap_end - cur;
				cur = gap_end;
			}
			if (!first)
				first = s;
			last = s;
		}
		while (fresh) {
			s = fresh;
			fresh = s->next;
			link_after(q, s->prev, s);
		}

		/* RFC 2018 section 4: the first SACK block reports the block
		 * holding the segment that caused the ACK, even a duplicate. */
		run_around(q, first, last, &left, &right);
		note_recent(q, left, right, sn_seq_gt(left, rcv_nxt));
	}

	/* Remember the FIN unless we hold bytes past it already; those
	 * came first and contradict it. */
	if (fin) {
		s = tail_of(q);
		if (!s || sn_seq_leq(seg_end(s), seq + len)) {
			q->fin = true;
			q->fin_seq = seq + len;
		}
	}
	return stored;

no_memory:
	while (fresh) {
		s = fresh;
		fresh = s->next;
		free(s);
	}
	return -ENOMEM;
}

uint32_t sn_reass_deliver(struct sn_reass *q, uint32_t *rcv_nxt, struct sn_ring *ring, bool *fin)
{
	struct sn_reass_seg *s;
	uint32_t moved = 0;
	long n;

	*fin = false;
	while ((s = q->head) && sn_seq_leq(s->seq, *rcv_nxt)) {
		if (sn_seq_lt(s->seq, *rcv_nxt)) {
			/* In-order text that overlapped this piece has
			 * delivered its front (or all of it) already. */
			uint32_t old = *rcv_nxt - s->seq;

			if (old >= s->len) {
				drop_head(q);
				continue;
			}
			trim_front(q, s, old);
		}
		n = sn_ring_write(ring, s->data, s->len);
		if (n <= 0)
			break; /* full, or no memory: the bytes wait here */
		*rcv_nxt += (uint32_t)n;
		moved += (uint32_t)n;
		if ((uint32_t)n < s->len) {
			trim_front(q, s, (uint32_t)n);
			break;
		}
		drop_head(q);
	}
	trim_recent(q);

	/*
	 * RFC 9293 3.10.7.4, eighth step: the FIN counts once all before it
	 * has arrived. If in-order text ran past it, the peer contradicted
	 * its own FIN; that text stands and the FIN is forgotten.
	 */
	if (q->fin && *rcv_nxt == q->fin_seq) {
		*rcv_nxt += 1;
		q->fin = false;
		*fin = true;
	} else if (q->fin && sn_seq_gt(*rcv_nxt, q->fin_seq)) {
		q->fin = false;
	}
	return moved;
}

unsigned sn_reass_sack_blocks(const struct sn_reass *q, uint32_t blocks[][2], unsigned max)
{
	const struct sn_reass_seg *s = q->head;
	uint32_t left;
	unsigned n = 0;

	/* RFC 2018 section 4: the block holding the latest segment first,
	 * then the others recently touched, most recent first. */
	for (unsigned i = 0; i < q->nrecent && n < max; i++, n++) {
		blocks[n][0] = q->recent[i][0];
		blocks[n][1] = q->recent[i][1];
	}
	/* Then as many of the rest as fit, lowest first. */
	while (s && n < max) {
		left = s->seq;
		while (s->next && s->next->seq == seg_end(s))
			s = s->next;
		if (!recent_holding(q, left)) {
			blocks[n][0] = left;
			blocks[n][1] = seg_end(s);
			n++;
		}
		s = s->next;
	}
	return n;
}

bool sn_reass_first_dup(const struct sn_reass *q, uint32_t seq, uint32_t len, uint32_t *left,
                        uint32_t *right)
{
	for (const struct sn_reass_seg *p = q->head; p && len > 0; p = p->next) {
		uint32_t l = sn_seq_gt(p->seq, seq) ? p->seq : seq;
		uint32_t r = sn_seq_lt(seg_end(p), seq + len) ? seg_end(p) : seq + len;
		if (sn_seq_lt(l, r)) {
			*left = l;
			*right = r;
			return true;
		}
	}
	return false;
}
