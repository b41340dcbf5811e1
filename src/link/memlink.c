/*
 * memlink.c - two Ethernet endpoints joined in memory, with impairments.
 *
 * A frame sent on end i goes through, in this order: a copy, the scheduled
 * drop (sn_memlink_drop_nth), the loss draw, the direction's rate limiter
 * (serialisation and tail drop), the propagation delay, the reorder draw, the
 * corruption draw, the in-flight queue, and the duplication draw.
 * sn_memlink_poll() later hands it to end 1 - i.
 *
 * Every random choice comes from one PRNG seeded at creation and the draws are
 * made in that fixed order, so the same seed and the same sequence of calls
 * give the same run: a failing simulation can be replayed from its seed. The
 * scheduled drop comes first and draws nothing, so a test can take out one
 * chosen segment without changing the luck of any other frame.
 *
 * Frames in flight are delivered in (arrival time, sequence number) order,
 * both directions together. The sequence number, given as a frame is queued,
 * keeps frames that arrive at the same microsecond in the order they were
 * sent, and it bounds each poll: only frames queued before the poll began are
 * delivered by it, so two ends that answer each other with zero delay cannot
 * keep one poll call running forever. Two queues hold them: a FIFO, for a
 * frame that arrives no earlier than the FIFO's last (the usual case: no
 * delay, or the same delay as the frames before it), and a binary min-heap
 * for the others (reordered frames, a delay that shrank). A poll takes the
 * first of the two heads each time, so the order is that of one queue.
 *
 * The fast path: a direction with nothing but a plain delay (no loss,
 * duplication, reordering, corruption, rate limit or scheduled drop: its
 * `impaired` flag, worked out when these change rather than per frame)
 * sends a frame that the FIFO takes by copying it, counting it for
 * sn_memlink_drop_nth, queueing it and telling the observer. The full path
 * (send_impaired) would do no more to it: its draws at 0 ppm draw nothing.
 * Every other frame takes the full path.
 *
 * Offload mode (sn_memlink_set_offload) makes the link a veth pair: the
 * ends offer checksum and segmentation offload, a super-segment travels as
 * one frame, and the receiver is told (SN_RX_CSUM_OK) that the checksum
 * needs no verification, which is true of memory. Impairments act on wire
 * frames, one draw each: in a direction with any impairment but a plain
 * delay, super-segments are cut into wire frames first and every TCP
 * checksum is completed, so that a corrupted byte is caught as on a wire,
 * and the frames, the draws and their fates are those of a run without
 * offload.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "synack.h"
#include "util/rand.h"
#include "wire/wire.h"

/* Arrival times saturate here so that no frame is ever due at SN_TIME_NEVER. */
#define MEMLINK_TIME_MAX (SN_TIME_NEVER - 1)

/* A frame in flight; the bytes follow the header. Delivered frames go back
 * to the link's pool for the next transmit. */
struct inflight {
	struct memlink_end *to;     /* the receiving end */
	unsigned rx_flags;          /* SN_RX_*, for a deliver_ex function */
	size_t len;
	size_t cap;                 /* bytes of room in data[] */
	uint64_t arrival_us;        /* set when queued */
	uint64_t seq;
	struct inflight *next;      /* in the FIFO, or in the pool */
	uint8_t data[];
};

/*
 * Frames kept for reuse. A malloc and a free per frame were about a tenth of
 * the CPU time of a bulk transfer at MTU 1500 (docs/PERFORMANCE.md); a small
 * LIFO pool makes them rare. Room for a full Ethernet frame at MTU 1500 is
 * the least a pooled frame gets, so pure ACKs and data share one pool.
 */
#define POOL_MAX 256
#define POOL_MIN_CAP 1536

struct heap_slot {
	uint64_t arrival_us;
	uint64_t seq;
	struct inflight *frame;
};

/*
 * A frame accepted by the rate limiter whose serialisation has not begun yet.
 * These are the bytes "waiting for the transmitter" that queue_limit_bytes
 * bounds; a frame on the transmitter no longer counts, as on a NIC whose
 * qdisc has handed the frame to the hardware.
 */
struct waiting {
	uint64_t start_us;
	size_t len;
};

/* One direction of the link: frames sent from one end. */
struct direction {
	struct sn_link_impair imp;
	/* Anything but a plain delay: an impairment or a scheduled drop
	 * (update_impaired() after every change to either). */
	bool impaired;

	/*
	 * Scheduled drops: the numbers (counting every frame sent from this
	 * end, the first being 1) of frames to lose. 0 = free slot.
	 */
	uint64_t sent;
	uint64_t drop_at[SN_MEMLINK_MAX_DROPS];

	/*
	 * The transmitter is free at tx_free_us + tx_free_frac / rate_bps. The
	 * fraction carries the sub-microsecond remainder of each serialisation
	 * time, so a long burst keeps the configured rate exactly instead of
	 * drifting by up to a microsecond per frame.
	 */
	uint64_t tx_free_us;
	uint64_t tx_free_frac;

	/* FIFO ring of frames waiting for the transmitter (start times only grow). */
	struct waiting *wait;
	size_t wait_cap; /* a power of two, or 0 */
	size_t wait_head;
	size_t wait_count;
	size_t wait_bytes;
};

/* What sn_memlink_end() hands out as the netif ctx. */
struct memlink_end {
	struct sn_memlink *link;
	int index;
	struct direction *dir;     /* of the frames this end sends */
	struct memlink_end *peer;  /* the end that receives them */
	unsigned offered;          /* SN_NETIF_* this end's netif was given */
	sn_deliver_fn deliver;
	sn_deliver_ex_fn deliver_ex;
	void *deliver_ctx;
};

struct sn_memlink {
	struct sn_rand rng;
	struct memlink_end ends[2];
	struct direction dir[2]; /* indexed by the sending end */

	sn_link_observer_fn observer;
	void *observer_ctx;

	/* Frames in flight: see the top of the file. */
	struct inflight *fifo_head; /* linked through next */
	struct inflight *fifo_tail;
	size_t fifo_len;
	struct heap_slot *heap;
	size_t heap_len;
	size_t heap_cap;
	uint64_t next_seq;

	struct inflight *pool;      /* frames to reuse, LIFO */
	size_t pool_len;

	bool offload;               /* sn_memlink_set_offload */
	uint8_t *cut;               /* software segmentation's piece buffer */
	size_t cut_cap;
};

static int valid_end(int end)
{
	return end == 0 || end == 1;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > MEMLINK_TIME_MAX - b ? MEMLINK_TIME_MAX : a + b;
}

static void observe(struct sn_memlink *link, int from_end, enum sn_link_event ev,
                    const struct inflight *f, uint64_t now_us)
{
	if (link->observer)
		link->observer(link->observer_ctx, from_end, ev, f->data, f->len, now_us);
}

/* ---- in-flight heap -------------------------------------------------- */

static int slot_before(const struct heap_slot *a, const struct heap_slot *b)
{
	if (a->arrival_us != b->arrival_us)
		return a->arrival_us < b->arrival_us;
	return a->seq < b->seq;
}

/* Make room for `extra` more frames, so the pushes that follow cannot fail. */
static int heap_reserve(struct sn_memlink *link, size_t extra)
{
	size_t cap = link->heap_cap ? link->heap_cap : 16;
	struct heap_slot *h;

	if (link->heap_len + extra <= link->heap_cap)
		return 0;
	while (cap < link->heap_len + extra) {
		if (cap > SIZE_MAX / 2 / sizeof(*h))
			return -ENOMEM;
		cap *= 2;
	}
	h = realloc(link->heap, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	link->heap = h;
	link->heap_cap = cap;
	return 0;
}

/* Caller has reserved space. */
static void heap_push(struct sn_memlink *link, struct inflight *f, uint64_t arrival_us)
{
	struct heap_slot *h = link->heap;
	struct heap_slot s = { arrival_us, link->next_seq++, f };
	size_t i = link->heap_len++;

	f->arrival_us = s.arrival_us;
	f->seq = s.seq;

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!slot_before(&s, &h[parent]))
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = s;
}

/* Take out the top (the caller has read it). */
static void heap_pop(struct sn_memlink *link)
{
	struct heap_slot *h = link->heap;
	struct heap_slot last = h[--link->heap_len];
	size_t n = link->heap_len;
	size_t i = 0;

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= n)
			break;
		if (child + 1 < n && slot_before(&h[child + 1], &h[child]))
			child++;
		if (!slot_before(&h[child], &last))
			break;
		h[i] = h[child];
		i = child;
	}
	if (n > 0)
		h[i] = last;
}

/* ---- the two queues, as one ------------------------------------------ */

/* Would a frame arriving at arrival_us keep the FIFO in (arrival, seq) order? */
static bool fifo_takes(const struct sn_memlink *link, uint64_t arrival_us)
{
	return !link->fifo_tail || link->fifo_tail->arrival_us <= arrival_us;
}

/* Only if fifo_takes(link, arrival_us). */
static void fifo_push(struct sn_memlink *link, struct inflight *f, uint64_t arrival_us)
{
	f->arrival_us = arrival_us;
	f->seq = link->next_seq++;
	f->next = NULL;
	if (link->fifo_tail)
		link->fifo_tail->next = f;
	else
		link->fifo_head = f;
	link->fifo_tail = f;
	link->fifo_len++;
}

static void fifo_pop(struct sn_memlink *link)
{
	link->fifo_head = link->fifo_head->next;
	if (!link->fifo_head)
		link->fifo_tail = NULL;
	link->fifo_len--;
}

/*
 * Put a frame in flight, due at arrival_us. Caller has reserved a heap slot
 * unless fifo_takes(link, arrival_us).
 */
static void enqueue(struct sn_memlink *link, struct inflight *f, uint64_t arrival_us)
{
	if (fifo_takes(link, arrival_us))
		fifo_push(link, f, arrival_us);
	else
		heap_push(link, f, arrival_us);
}

/* Does the heap's top come before the FIFO's head? (False if the heap is empty.) */
static bool heap_first(const struct sn_memlink *link)
{
	const struct inflight *f = link->fifo_head;

	if (!link->heap_len)
		return false;
	if (!f)
		return true;
	return slot_before(&link->heap[0], &(struct heap_slot){ f->arrival_us, f->seq, NULL });
}

/* ---- rate limiter ---------------------------------------------------- */

static void wait_expire(struct direction *d, uint64_t now_us)
{
	while (d->wait_count && d->wait[d->wait_head].start_us <= now_us) {
		d->wait_bytes -= d->wait[d->wait_head].len;
		d->wait_head = (d->wait_head + 1) & (d->wait_cap - 1);
		d->wait_count--;
	}
}

static int wait_reserve(struct direction *d)
{
	size_t cap = d->wait_cap ? d->wait_cap * 2 : 16;
	struct waiting *w;

	if (d->wait_count < d->wait_cap)
		return 0;
	if (cap > SIZE_MAX / sizeof(*w))
		return -ENOMEM;
	w = malloc(cap * sizeof(*w));
	if (!w)
		return -ENOMEM;
	/* Unroll the old ring so the entries start at index 0. */
	for (size_t i = 0; i < d->wait_count; i++)
		w[i] = d->wait[(d->wait_head + i) & (d->wait_cap - 1)];
	free(d->wait);
	d->wait = w;
	d->wait_cap = cap;
	d->wait_head = 0;
	return 0;
}

/*
 * Where the transmitter stands for a frame of len bytes offered at now_us:
 * when it would start (rounded up to a microsecond), when its last bit
 * would leave, and the transmitter state that accepting it would leave behind.
 */
struct tx_plan {
	uint64_t start_us;
	uint64_t depart_us;
	uint64_t free_us;
	uint64_t free_frac;
};

static struct tx_plan tx_plan(const struct direction *d, size_t len, uint64_t now_us)
{
	uint64_t rate = d->imp.rate_bps;
	uint64_t bit_us = (uint64_t)len * 8 * 1000000; /* len is bounded by the caller */
	uint64_t whole = bit_us / rate;
	uint64_t part = bit_us % rate;
	struct tx_plan p;

	if (d->tx_free_us > now_us || (d->tx_free_us == now_us && d->tx_free_frac)) {
		/* Busy: start where the previous frame ends, fraction and all. */
		p.start_us = d->tx_free_us + (d->tx_free_frac != 0);
		p.free_us = d->tx_free_us;
		p.free_frac = d->tx_free_frac;
	} else {
		p.start_us = now_us;
		p.free_us = now_us;
		p.free_frac = 0;
	}
	/* free_frac + part may reach rate; compare without overflowing. */
	if (part >= rate - p.free_frac) {
		p.free_frac = part - (rate - p.free_frac);
		whole++;
	} else {
		p.free_frac += part;
	}
	p.free_us = add_sat(p.free_us, whole);
	/* Never deliver early: a frame whose last bit leaves at 10.3 µs departs at 11. */
	p.depart_us = add_sat(p.free_us, p.free_frac != 0);
	return p;
}

/* ---- public API ------------------------------------------------------ */

struct sn_memlink *sn_memlink_new(uint64_t seed)
{
	struct sn_memlink *link = calloc(1, sizeof(*link));

	if (!link)
		return NULL;
	sn_rand_seed(&link->rng, seed);
	for (int i = 0; i < 2; i++) {
		link->ends[i].link = link;
		link->ends[i].index = i;
		link->ends[i].dir = &link->dir[i];
		link->ends[i].peer = &link->ends[1 - i];
	}
	return link;
}

void sn_memlink_free(struct sn_memlink *link)
{
	if (!link)
		return;
	for (size_t i = 0; i < link->heap_len; i++)
		free(link->heap[i].frame);
	free(link->heap);
	while (link->fifo_head) {
		struct inflight *f = link->fifo_head;
		link->fifo_head = f->next;
		free(f);
	}
	while (link->pool) {
		struct inflight *f = link->pool;
		link->pool = f->next;
		free(f);
	}
	for (int i = 0; i < 2; i++)
		free(link->dir[i].wait);
	free(link->cut);
	free(link);
}

void *sn_memlink_end(struct sn_memlink *link, int end)
{
	if (!link || !valid_end(end))
		return NULL;
	return &link->ends[end];
}

void sn_memlink_set_deliver(struct sn_memlink *link, int end, sn_deliver_fn fn, void *ctx)
{
	if (!link || !valid_end(end))
		return;
	link->ends[end].deliver = fn;
	link->ends[end].deliver_ex = NULL;
	link->ends[end].deliver_ctx = ctx;
}

void sn_memlink_set_deliver_ex(struct sn_memlink *link, int end, sn_deliver_ex_fn fn, void *ctx)
{
	if (!link || !valid_end(end))
		return;
	link->ends[end].deliver = NULL;
	link->ends[end].deliver_ex = fn;
	link->ends[end].deliver_ctx = ctx;
}

void sn_memlink_set_offload(struct sn_memlink *link, int on)
{
	if (link)
		link->offload = on != 0;
}

/*
 * Does this direction do anything to a frame but delay it? Then frames take
 * the full path, and in offload mode they must be wire frames with whole
 * checksums (see the top of the file).
 */
static void update_impaired(struct direction *d)
{
	const struct sn_link_impair *i = &d->imp;

	d->impaired = i->loss_ppm || i->dup_ppm || i->reorder_ppm || i->corrupt_ppm ||
	              i->rate_bps || i->queue_limit_bytes;
	for (size_t k = 0; k < SN_MEMLINK_MAX_DROPS; k++)
		if (d->drop_at[k])
			d->impaired = true;
}

void sn_memlink_set_impair(struct sn_memlink *link, int from_end,
                           const struct sn_link_impair *imp)
{
	struct direction *d;

	if (!link || !valid_end(from_end))
		return;
	d = &link->dir[from_end];
	/*
	 * The carried fraction is in units of the old rate; round it up to a
	 * whole microsecond rather than reinterpret it.
	 */
	if (d->tx_free_frac) {
		d->tx_free_us = add_sat(d->tx_free_us, 1);
		d->tx_free_frac = 0;
	}
	if (imp)
		d->imp = *imp;
	else
		memset(&d->imp, 0, sizeof(d->imp));
	update_impaired(d);
}

void sn_memlink_drop_nth(struct sn_memlink *link, int from_end, uint64_t n)
{
	if (!link || !valid_end(from_end))
		return;
	struct direction *d = &link->dir[from_end];
	memset(d->drop_at, 0, sizeof(d->drop_at));
	d->drop_at[0] = n ? d->sent + n : 0;
	update_impaired(d);
}

int sn_memlink_drop_also(struct sn_memlink *link, int from_end, uint64_t n)
{
	if (!link || !valid_end(from_end) || n == 0)
		return -EINVAL;
	struct direction *d = &link->dir[from_end];
	uint64_t at = d->sent + n;
	size_t free_slot = SN_MEMLINK_MAX_DROPS;
	/*
	 * A frame already scheduled keeps its one slot: a second slot with the
	 * same number would never be cleared (drop_scheduled takes the first
	 * match) and would hold the direction off the fast path for good.
	 */
	for (size_t i = 0; i < SN_MEMLINK_MAX_DROPS; i++) {
		if (d->drop_at[i] == at)
			return 0;
		if (d->drop_at[i] == 0 && free_slot == SN_MEMLINK_MAX_DROPS)
			free_slot = i;
	}
	if (free_slot == SN_MEMLINK_MAX_DROPS)
		return -ENOSPC;
	d->drop_at[free_slot] = at;
	update_impaired(d);
	return 0;
}

/* Is the frame just counted one of the scheduled drops? Clears its slot. */
static bool drop_scheduled(struct direction *d)
{
	for (size_t i = 0; i < SN_MEMLINK_MAX_DROPS; i++) {
		if (d->drop_at[i] == d->sent) {
			d->drop_at[i] = 0;
			update_impaired(d);
			return true;
		}
	}
	return false;
}

void sn_memlink_set_observer(struct sn_memlink *link, sn_link_observer_fn fn, void *ctx)
{
	if (!link)
		return;
	link->observer = fn;
	link->observer_ctx = ctx;
}

static void frame_free(struct sn_memlink *link, struct inflight *f)
{
	if (link->pool_len >= POOL_MAX) {
		free(f);
		return;
	}
	f->next = link->pool;
	link->pool = f;
	link->pool_len++;
}

static struct inflight *frame_new(struct sn_memlink *link, struct memlink_end *to,
                                  unsigned rx_flags, const void *data, size_t len)
{
	struct inflight *f = link->pool;

	if (f && f->cap >= len) {
		link->pool = f->next;
		link->pool_len--;
	} else {
		/* Most recent first: a pool of small frames makes way for
		 * larger ones when the MTU is large. */
		if (f) {
			link->pool = f->next;
			link->pool_len--;
			free(f);
		}
		size_t cap = len > POOL_MIN_CAP ? len : POOL_MIN_CAP;
		f = malloc(sizeof(*f) + cap);
		if (!f)
			return NULL;
		f->cap = cap;
	}
	f->to = to;
	f->rx_flags = rx_flags;
	f->len = len;
	if (len)
		memcpy(f->data, data, len);
	return f;
}

/* What to do with a frame on the way in: complete its TCP checksum (the
 * sender left it partial and the frame will be impaired), and how it is
 * to be delivered. */
enum { SEND_COMPLETE_CSUM = 1u << 8 };

/*
 * The full path, for a frame already copied and counted: scheduled drop,
 * loss, rate limiter, delay, reorder, corruption, queue, duplication.
 */
static int send_impaired(struct sn_memlink *link, int from, struct inflight *f,
                         uint64_t now_us)
{
	struct direction *d = &link->dir[from];
	struct inflight *copy;
	struct tx_plan plan = { 0 };
	uint64_t arrival_us;
	size_t len = f->len;
	int waits = 0;

	/*
	 * Checked before any draw and drawing nothing itself: the frames around
	 * it meet the same random sequence as if this one had never been sent.
	 */
	if (drop_scheduled(d)) {
		observe(link, from, SN_LINK_LOST, f, now_us);
		frame_free(link, f);
		return 0;
	}

	/* A lossy wire is not a send error: report success, as a NIC would. */
	if (sn_rand_ppm(&link->rng, d->imp.loss_ppm)) {
		observe(link, from, SN_LINK_LOST, f, now_us);
		frame_free(link, f);
		return 0;
	}

	arrival_us = now_us;
	if (d->imp.rate_bps) {
		plan = tx_plan(d, len, now_us);
		wait_expire(d, now_us);
		if (d->imp.queue_limit_bytes &&
		    d->wait_bytes + len > d->imp.queue_limit_bytes) {
			observe(link, from, SN_LINK_QDROP, f, now_us);
			frame_free(link, f);
			return 0;
		}
		waits = plan.start_us > now_us;
		if (waits && wait_reserve(d)) {
			frame_free(link, f);
			return -ENOMEM;
		}
		arrival_us = plan.depart_us;
	}
	/* Room for the frame and a possible duplicate, before anything is committed. */
	if (heap_reserve(link, 2)) {
		frame_free(link, f);
		return -ENOMEM;
	}
	if (d->imp.rate_bps) {
		d->tx_free_us = plan.free_us;
		d->tx_free_frac = plan.free_frac;
		if (waits) {
			size_t tail = (d->wait_head + d->wait_count) & (d->wait_cap - 1);

			d->wait[tail].start_us = plan.start_us;
			d->wait[tail].len = len;
			d->wait_count++;
			d->wait_bytes += len;
		}
	}

	arrival_us = add_sat(arrival_us, d->imp.delay_us);
	if (sn_rand_ppm(&link->rng, d->imp.reorder_ppm)) {
		arrival_us = add_sat(arrival_us, d->imp.reorder_delay_us);
		observe(link, from, SN_LINK_REORDER, f, now_us);
	}
	if (sn_rand_ppm(&link->rng, d->imp.corrupt_ppm) && len) {
		uint32_t at = sn_rand_below(&link->rng, (uint32_t)len);

		/* Adding 1..255 modulo 256 always yields a different byte. */
		f->data[at] = (uint8_t)(f->data[at] + 1 + sn_rand_below(&link->rng, 255));
		observe(link, from, SN_LINK_CORRUPT, f, now_us);
	}
	enqueue(link, f, arrival_us);
	observe(link, from, SN_LINK_SENT, f, now_us);

	if (sn_rand_ppm(&link->rng, d->imp.dup_ppm)) {
		/*
		 * The original is already on its way, so running out of memory
		 * here only loses the copy; it is not a send error.
		 */
		copy = frame_new(link, f->to, f->rx_flags, f->data, f->len);
		if (copy) {
			enqueue(link, copy, arrival_us);
			observe(link, from, SN_LINK_DUP, copy, now_us);
		}
	}
	return 0;
}

static int link_send(struct memlink_end *end, const void *frame, size_t len, unsigned how,
                     uint64_t now_us)
{
	struct sn_memlink *link = end->link;
	struct direction *d = end->dir;
	/* Read before the copy, which the compiler must assume writes anywhere. */
	bool impaired = d->impaired;
	struct inflight *f;

	/*
	 * Keeps len * 8e6 (the serialisation time in bit-microseconds) inside
	 * 64 bits and the corruption index inside sn_rand_below's range; no
	 * Ethernet frame comes anywhere near.
	 */
	if (len > UINT32_MAX)
		return -EMSGSIZE;
	f = frame_new(link, end->peer, how & SN_RX_CSUM_OK, frame, len);
	if (!f)
		return -ENOMEM;
	if (how & SEND_COMPLETE_CSUM)
		sn_tcp_frame_csum(f->data, f->len);
	d->sent++; /* every frame counts for sn_memlink_drop_nth */

	/* The fast path: a plain delay at most, and a frame for the FIFO's tail. */
	if (!impaired) {
		uint64_t arrival_us = add_sat(now_us, d->imp.delay_us);

		if (fifo_takes(link, arrival_us)) {
			fifo_push(link, f, arrival_us);
			observe(link, end->index, SN_LINK_SENT, f, now_us);
			return 0;
		}
	}
	return send_impaired(link, end->index, f, now_us);
}

/* How a frame of this end travels: whole (offload mode, unimpaired), or as
 * a wire frame with its TCP checksum completed if the stack left it to us. */
static unsigned send_how(const struct memlink_end *end)
{
	if (end->link->offload && !end->dir->impaired)
		return SN_RX_CSUM_OK;
	return end->offered & SN_NETIF_TX_CSUM ? SEND_COMPLETE_CSUM : 0;
}

static int memlink_transmit(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct memlink_end *end = ctx;

	if (!end || (!frame && len))
		return -EINVAL;
	return link_send(end, frame, len, send_how(end), now_us);
}

struct cut_ctx {
	struct memlink_end *end;
	uint64_t now_us;
	int err;
};

static void send_piece(void *ctx, uint8_t *piece, size_t len)
{
	struct cut_ctx *c = ctx;
	int err = link_send(c->end, piece, len, 0, c->now_us);
	if (err && !c->err)
		c->err = err;
}

static int memlink_transmit_gso(void *ctx, const void *frame, size_t len, uint16_t gso_size,
                                uint64_t now_us)
{
	struct memlink_end *end = ctx;
	struct sn_memlink *link;

	if (!end || !frame)
		return -EINVAL;
	link = end->link;
	if (send_how(end) == SN_RX_CSUM_OK)
		return link_send(end, frame, len, SN_RX_CSUM_OK, now_us);
	/* Software segmentation: the pieces, each a frame of its own, built
	 * in a buffer with room for the largest headers (Ethernet, IPv4 and
	 * TCP with options) and one piece of data. */
	size_t need = (size_t)gso_size + SN_ETH_HLEN + 60 + 60;
	if (need > link->cut_cap) {
		uint8_t *b = realloc(link->cut, need);
		if (!b)
			return -ENOMEM;
		link->cut = b;
		link->cut_cap = need;
	}
	struct cut_ctx c = { end, now_us, 0 };
	if (sn_tso_cut(frame, len, gso_size, link->cut, link->cut_cap, send_piece, &c) == 0)
		return -EINVAL;
	return c.err;
}

static unsigned memlink_offload(void *ctx, uint32_t *tso_max)
{
	struct memlink_end *end = ctx;

	end->offered = end->link->offload ? SN_NETIF_TX_CSUM | SN_NETIF_TSO : 0;
	*tso_max = 65535;
	return end->offered;
}

static const struct sn_netif_ops memlink_ops = {
	.transmit = memlink_transmit,
	.transmit_gso = memlink_transmit_gso,
	.offload = memlink_offload,
};

const struct sn_netif_ops *sn_memlink_ops(void)
{
	return &memlink_ops;
}

size_t sn_memlink_poll(struct sn_memlink *link, uint64_t now_us)
{
	uint64_t seq_limit;
	size_t delivered = 0;

	if (!link)
		return 0;
	/*
	 * Frames queued from here on, by the deliver functions we call, wait for
	 * the next poll; otherwise zero-delay echoes would never let us return.
	 */
	seq_limit = link->next_seq;
	for (;;) {
		bool from_heap = heap_first(link);
		struct inflight *f = from_heap ? link->heap[0].frame : link->fifo_head;
		struct memlink_end *to;

		if (!f || f->arrival_us > now_us || f->seq >= seq_limit)
			break;
		/* Dequeue first: the deliver function may transmit. */
		if (from_heap)
			heap_pop(link);
		else
			fifo_pop(link);
		to = f->to;
		if (to->deliver || to->deliver_ex) {
			observe(link, 1 - to->index, SN_LINK_DELIVERED, f, now_us);
			if (to->deliver_ex)
				to->deliver_ex(to->deliver_ctx, f->data, f->len, f->rx_flags, now_us);
			else
				to->deliver(to->deliver_ctx, f->data, f->len, now_us);
			delivered++;
		}
		frame_free(link, f);
	}
	return delivered;
}

uint64_t sn_memlink_next_deadline(const struct sn_memlink *link)
{
	if (!link)
		return SN_TIME_NEVER;
	if (heap_first(link))
		return link->heap[0].arrival_us;
	return link->fifo_head ? link->fifo_head->arrival_us : SN_TIME_NEVER;
}

size_t sn_memlink_in_flight(const struct sn_memlink *link)
{
	return link ? link->fifo_len + link->heap_len : 0;
}
