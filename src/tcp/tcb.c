/*
 * tcb.c - control block lifecycle and the tables that find them.
 *
 *   tcp_input -> tcb_lookup (4-tuple hash) | tw_lookup | tcb_find_listener
 *   state changes go through tcb_set_state (trace + counters)
 *   tcb_close -> CLOSED: leave the tables, stop timers, free when unowned
 *   tcb_enter_time_wait -> a compact struct sn_tw replaces the control block
 *
 * Three tables:
 *  - conns: every synchronized or half-open connection, keyed by the 4-tuple
 *    with a keyed hash (SipHash) so a peer cannot aim for one chain; grows by
 *    doubling so chains stay short whatever the number of connections;
 *  - tws: TIME-WAIT records, the same way;
 *  - bind: local port -> sockets bound to it (listeners and connecting
 *    sockets); accepted connections share their listener's port and are not
 *    in it.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "tcp/seq.h"

#define SIP_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND(v0, v1, v2, v3)                                                              \
	do {                                                                                   \
		v0 += v1; v1 = SIP_ROTL(v1, 13); v1 ^= v0; v0 = SIP_ROTL(v0, 32);              \
		v2 += v3; v3 = SIP_ROTL(v3, 16); v3 ^= v2;                                     \
		v0 += v3; v3 = SIP_ROTL(v3, 21); v3 ^= v0;                                     \
		v2 += v1; v1 = SIP_ROTL(v1, 17); v1 ^= v2; v2 = SIP_ROTL(v2, 32);              \
	} while (0)

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/*
 * SipHash-2-4 of the 4-tuple serialised as 12 bytes (local address and port,
 * remote address and port, network order), the same function as libsodium's
 * crypto_shorthash of those bytes (a unit test holds them equal), written out
 * for this one message length: a 12-byte message is one 8-byte block and a
 * last block of 4 bytes with the length in its top byte. The library call
 * cost twice as much; it runs once per connection end (isn.c).
 *
 * The two blocks are the little-endian words of those bytes, built here with
 * byte swaps instead of being written out and loaded again (the value does
 * not depend on the host's byte order).
 */
uint64_t tuple_siphash(const struct sn_tuple *t, const uint8_t key[16])
{
	uint64_t la = __builtin_bswap32(t->laddr), ra = __builtin_bswap32(t->raddr);
	uint64_t lp = __builtin_bswap16(t->lport), rp = __builtin_bswap16(t->rport);
	uint64_t m[2] = {la | lp << 32 | (ra & 0xffff) << 48, (ra >> 16) | rp << 16 | (uint64_t)12 << 56};
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
	for (int i = 0; i < 2; i++) {
		v3 ^= m[i];
		SIP_ROUND(v0, v1, v2, v3);
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m[i];
	}
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * The tables' hash: SipHash-1-3 (one compression round per word, three
 * finalisation rounds; the variant Rust's and Python's hash tables use against
 * hash flooding) of the 4-tuple as two 64-bit words, under the stack's random
 * key. Every segment computes it once or twice; with libsodium's SipHash-2-4
 * over 12 serialised bytes it was about a tenth of the instructions of a short
 * connection (docs/PERFORMANCE.md). ISNs and timestamp offsets keep
 * SipHash-2-4 (tuple_siphash): those are secrets, this only spreads chains.
 */
_Static_assert(offsetof(struct sn_tuple, laddr) == 0 && offsetof(struct sn_tuple, raddr) == 4 &&
                   offsetof(struct sn_tuple, lport) == 8 && offsetof(struct sn_tuple, rport) == 10,
               "a tuple is its two addresses, then its two ports");

/* A tuple is 12 bytes with no padding, so equal tuples are equal bytes: the
 * compiler makes this two word compares instead of four branches. */
_Static_assert(sizeof(struct sn_tuple) == 2 * sizeof(uint32_t) + 2 * sizeof(uint16_t),
               "struct sn_tuple has no padding");

static bool tuple_eq(const struct sn_tuple *a, const struct sn_tuple *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* SipHash's initial state depends on the key alone: tcb_tables_init
 * computes it once, and each hash starts from the copy. */
static void hash_key_init(struct sn_stack *st)
{
	uint64_t k0 = load_le64(st->hash_key), k1 = load_le64(st->hash_key + 8);
	st->hash_v[0] = k0 ^ 0x736f6d6570736575ull;
	st->hash_v[1] = k1 ^ 0x646f72616e646f6dull;
	st->hash_v[2] = k0 ^ 0x6c7967656e657261ull;
	st->hash_v[3] = k1 ^ 0x7465646279746573ull;
}

static uint64_t tuple_hash_compute(const struct sn_stack *st, const struct sn_tuple *t)
{
	uint64_t v0 = st->hash_v[0], v1 = st->hash_v[1], v2 = st->hash_v[2], v3 = st->hash_v[3];
	/* The tuple's 12 bytes as they lie in memory: its two addresses as one
	 * word, its two ports as half of the other. Any fixed encoding that
	 * keeps tuples apart will do for a table, and this one is two loads. */
	const unsigned char *bytes = (const unsigned char *)t;
	uint64_t addrs;
	uint32_t ports;
	memcpy(&addrs, bytes, sizeof(addrs));
	memcpy(&ports, bytes + 8, sizeof(ports));
	uint64_t m[2] = {addrs, (uint64_t)12 << 56 | ports};
	for (int i = 0; i < 2; i++) {
		v3 ^= m[i];
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m[i];
	}
	v2 ^= 0xff;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * While one segment (or one connect) is processed, the tuple that
 * tcb_demux looked up is usually hashed again: a new connection goes into
 * the table, a socket leaves it for a TIME-WAIT record, a record is ended
 * for a SYN that reopens its 4-tuple. tcb_demux keeps its hash for that
 * time, until tcb_demux_done.
 */
static uint64_t tuple_hash(const struct sn_stack *st, const struct sn_tuple *t)
{
	if (st->demux_valid && tuple_eq(&st->demux_t, t))
		return st->demux_hv;
	return tuple_hash_compute(st, t);
}

/* ---- the two 4-tuple tables ------------------------------------------------
 * Chained, power-of-two buckets, doubled when the load reaches 1; growth
 * rehashes every entry at once (amortised O(1) per insert). An entry is a
 * struct sn_sock (connections) or a struct sn_tw (TIME-WAIT); the table knows
 * where in an entry its chain link and its 4-tuple sit. */

static void **entry_link(const struct sn_hash *h, void *e)
{
	return (void **)((char *)e + h->link_off);
}

static const struct sn_tuple *entry_tuple(const struct sn_hash *h, const void *e)
{
	return (const struct sn_tuple *)((const char *)e + h->tuple_off);
}

static int hash_init(struct sn_hash *h, size_t link_off, size_t tuple_off)
{
	h->nbuckets = 256;
	h->count = 0;
	h->link_off = link_off;
	h->tuple_off = tuple_off;
	h->bucket = calloc(h->nbuckets, sizeof(void *));
	return h->bucket ? 0 : -ENOMEM;
}

int tcb_tables_init(struct sn_stack *st)
{
	hash_key_init(st);
	if (hash_init(&st->conns, offsetof(struct sn_sock, hash_next), offsetof(struct sn_sock, t)) ||
	    hash_init(&st->tws, offsetof(struct sn_tw, hash_next), offsetof(struct sn_tw, t)))
		return -ENOMEM;
	st->bind = calloc(SN_BIND_BUCKETS, sizeof(*st->bind));
	if (!st->bind)
		return -ENOMEM;
	st->bind_nbuckets = SN_BIND_BUCKETS;
	st->bind_count = 0;
	return 0;
}

/*
 * A TIME-WAIT record keeps the low 16 bits of its hash (hv_lo, in two bytes
 * its layout left free), which name its bucket in a table of up to 65,536
 * buckets: growing the table, or ending the record when it expires, then
 * needs no SipHash. The table rehashed every record each time it doubled,
 * about 160 instructions per connection while it grew to 20,000 records.
 * Connections have no room for it; their table is small and rarely grows.
 */
#define TW_HV_BUCKETS 65536u
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(struct sn_tw) == 64, "struct sn_tw is 64 bytes on LP64");
#endif

/* The hash of a TIME-WAIT record, or as much of it as a table of n buckets
 * uses. */
static uint64_t tw_hash(const struct sn_stack *st, const struct sn_tw *tw, size_t n)
{
	return n <= TW_HV_BUCKETS ? tw->hv_lo : tuple_hash(st, &tw->t);
}

/* Rare (the table doubles), and kept out of hash_add so that adding stays
 * a few instructions without saving registers for the loop. */
__attribute__((noinline)) static void hash_grow(const struct sn_stack *st, struct sn_hash *h)
{
	size_t n = h->nbuckets * 2;
	void **nb = calloc(n, sizeof(void *));
	if (!nb)
		return; /* keep the longer chains; still correct */
	for (size_t i = 0; i < h->nbuckets; i++) {
		void *e = h->bucket[i];
		while (e) {
			void *next = *entry_link(h, e);
			uint64_t hv = h == &st->tws ? tw_hash(st, e, n) : tuple_hash(st, entry_tuple(h, e));
			size_t b = hv & (n - 1);
			*entry_link(h, e) = nb[b];
			nb[b] = e;
			e = next;
		}
	}
	free(h->bucket);
	h->bucket = nb;
	h->nbuckets = n;
}

/* Add e, whose hash is hv. */
static void hash_add(const struct sn_stack *st, struct sn_hash *h, void *e, uint64_t hv)
{
	if (h->count >= h->nbuckets)
		hash_grow(st, h);
	size_t b = hv & (h->nbuckets - 1);
	*entry_link(h, e) = h->bucket[b];
	h->bucket[b] = e;
	h->count++;
}

/* Take e, whose hash is hv, out of the table. */
static void hash_del(struct sn_hash *h, void *e, uint64_t hv)
{
	size_t b = hv & (h->nbuckets - 1);
	void **pp = &h->bucket[b];
	while (*pp && *pp != e)
		pp = entry_link(h, *pp);
	if (*pp) {
		*pp = *entry_link(h, e);
		h->count--;
	}
	*entry_link(h, e) = NULL;
}

static void *hash_find_hv(const struct sn_hash *h, const struct sn_tuple *t, uint64_t hv)
{
	size_t b = hv & (h->nbuckets - 1);
	for (void *e = h->bucket[b]; e; e = *entry_link(h, e))
		if (tuple_eq(entry_tuple(h, e), t))
			return e;
	return NULL;
}

void tcb_hash_insert(struct sn_sock *s)
{
	if (s->flags & SN_SF_IN_HASH)
		return;
	hash_add(s->stack, &s->stack->conns, s, tuple_hash(s->stack, &s->t));
	s->flags |= SN_SF_IN_HASH;
}

void tcb_hash_remove(struct sn_sock *s)
{
	if (!(s->flags & SN_SF_IN_HASH))
		return;
	hash_del(&s->stack->conns, s, tuple_hash(s->stack, &s->t));
	s->flags &= ~SN_SF_IN_HASH;
}

static void *hash_find(const struct sn_stack *st, const struct sn_hash *h, const struct sn_tuple *t)
{
	return hash_find_hv(h, t, tuple_hash(st, t));
}

struct sn_sock *tcb_lookup(struct sn_stack *st, const struct sn_tuple *t)
{
	return hash_find(st, &st->conns, t);
}

/* Both tables hash a tuple the same way: one hash serves both lookups. */
struct sn_sock *tcb_demux(struct sn_stack *st, const struct sn_tuple *t, struct sn_tw **tw)
{
	uint64_t hv = tuple_hash_compute(st, t);
	st->demux_t = *t;
	st->demux_hv = hv;
	st->demux_valid = true;
	struct sn_sock *s = hash_find_hv(&st->conns, t, hv);
	*tw = s ? NULL : hash_find_hv(&st->tws, t, hv);
	return s;
}

void tcb_demux_done(struct sn_stack *st)
{
	st->demux_valid = false;
}

/* ---- bind table ---------------------------------------------------------- */

static struct sn_sock **bind_head(struct sn_stack *st, uint16_t port)
{
	return &st->bind[port & (st->bind_nbuckets - 1)];
}

/*
 * The bind table starts with SN_BIND_BUCKETS buckets and doubles, up to one
 * per port, when it holds as many sockets as buckets. With a fixed 1024 a
 * chain held every bound socket of 64 ports, and each bind walked it:
 * opening the millionth connection from 36 client addresses took 70 µs, 80 %
 * of it in port_in_use (docs/PERFORMANCE.md). Now a chain holds about one
 * port's sockets. Failing to grow only leaves chains longer.
 */
#define BIND_BUCKETS_MAX 65536

static void bind_grow(struct sn_stack *st)
{
	size_t n = st->bind_nbuckets * 2;
	struct sn_sock **nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (size_t i = 0; i < st->bind_nbuckets; i++) {
		struct sn_sock *s = st->bind[i];
		while (s) {
			struct sn_sock *next = s->bind_next;
			struct sn_sock **head = &nb[s->t.lport & (n - 1)];
			s->bind_next = *head;
			*head = s;
			s = next;
		}
	}
	free(st->bind);
	st->bind = nb;
	st->bind_nbuckets = n;
}

/*
 * A local address:port is in use when another bound socket has the same port
 * and an overlapping address (equal, or either is INADDR_ANY). SO_REUSEADDR on
 * both lets a new socket share with ones that are not listening, which is what
 * lets a server restart while old connections linger, and two sockets bind
 * the same port for a simultaneous open.
 */
static bool port_in_use(struct sn_stack *st, uint32_t addr, uint16_t port, bool reuse)
{
	for (struct sn_sock *o = *bind_head(st, port); o; o = o->bind_next) {
		if (o->t.lport != port)
			continue;
		if (o->t.laddr != addr && o->t.laddr != 0 && addr != 0)
			continue;
		if (reuse && (o->flags & SN_SF_REUSEADDR) && o->state != SN_LISTEN)
			continue;
		return true;
	}
	return false;
}

int tcb_bind(struct sn_sock *s, uint32_t addr, uint16_t port)
{
	struct sn_stack *st = s->stack;
	if (port_in_use(st, addr, port, s->flags & SN_SF_REUSEADDR))
		return -EADDRINUSE;
	if (st->bind_count >= st->bind_nbuckets && st->bind_nbuckets < BIND_BUCKETS_MAX)
		bind_grow(st);
	s->t.laddr = addr;
	s->t.lport = port;
	st->bind_count++;
	struct sn_sock **head = bind_head(st, port);
	s->bind_next = *head;
	*head = s;
	s->flags |= SN_SF_BOUND;
	return 0;
}

void tcb_unbind(struct sn_sock *s)
{
	if (!(s->flags & SN_SF_BOUND))
		return;
	struct sn_sock **pp = bind_head(s->stack, s->t.lport);
	while (*pp && *pp != s)
		pp = &(*pp)->bind_next;
	if (*pp) {
		*pp = s->bind_next;
		s->stack->bind_count--;
	}
	s->bind_next = NULL;
	s->flags &= ~SN_SF_BOUND;
}

/*
 * SO_REUSEADDR lets sockets share a port for connecting, but a listener must
 * be alone on its address and port: no other listener whose address overlaps
 * (equal, or either is INADDR_ANY), as on Linux.
 */
bool tcb_listener_conflict(const struct sn_sock *s)
{
	for (struct sn_sock *o = *bind_head(s->stack, s->t.lport); o; o = o->bind_next) {
		if (o == s || o->t.lport != s->t.lport || o->state != SN_LISTEN)
			continue;
		if (o->t.laddr == s->t.laddr || o->t.laddr == 0 || s->t.laddr == 0)
			return true;
	}
	return false;
}

struct sn_sock *tcb_find_listener(struct sn_stack *st, uint32_t addr, uint16_t port)
{
	struct sn_sock *wild = NULL;
	for (struct sn_sock *s = *bind_head(st, port); s; s = s->bind_next) {
		if (s->t.lport != port || s->state != SN_LISTEN)
			continue;
		if (s->t.laddr == addr)
			return s; /* the most specific match wins */
		if (s->t.laddr == 0)
			wild = s;
	}
	return wild;
}

int tcb_pick_ephemeral(struct sn_stack *st, uint32_t laddr, uint16_t *port)
{
	const unsigned range = SN_EPHEMERAL_HI - SN_EPHEMERAL_LO + 1;
	for (unsigned i = 0; i < range; i++) {
		uint16_t p = st->next_ephemeral;
		st->next_ephemeral = p >= SN_EPHEMERAL_HI ? SN_EPHEMERAL_LO : p + 1;
		if (!port_in_use(st, laddr, p, false)) {
			*port = p;
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}

/* ---- lifecycle ------------------------------------------------------------ */

/*
 * A stack that opens and closes connections all the time frees a socket and
 * allocates a new one for every connection. The last SN_FREE_CACHE sockets
 * freed are kept on a list and handed out again: glibc's calloc never takes
 * from the per-thread cache that free fills, so each went the slow way
 * through malloc (docs/PERFORMANCE.md). TIME-WAIT records have a slab of
 * their own (below).
 * Under AddressSanitizer nothing is kept, so that a use after free is still
 * caught.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SN_ASAN 1
#endif
#endif
#ifdef SN_ASAN
#include <sanitizer/asan_interface.h>
#define SN_FREE_CACHE 0u
#else
#define SN_FREE_CACHE 64u
#endif

static struct sn_sock *sock_alloc(struct sn_stack *st)
{
	struct sn_sock *s = st->free_socks;
	if (s) {
		st->free_socks = s->hash_next;
		st->nfree_socks--;
	} else if (!(s = malloc(sizeof(*s)))) {
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	return s;
}

static void sock_release(struct sn_stack *st, struct sn_sock *s)
{
	if (st->nfree_socks >= SN_FREE_CACHE) {
		free(s);
		return;
	}
	s->hash_next = st->free_socks;
	st->free_socks = s;
	st->nfree_socks++;
}

/*
 * Ring storage the same way: every connection's send and receive rings take
 * their first block (SN_RING_MIN bytes, ring.c) with the first byte they
 * hold, and give it back when the connection ends. The stack keeps the last
 * SN_FREE_CACHE such blocks and primes an empty ring with one before a
 * write; a block of any other size goes back to malloc.
 */
struct ring_free {
	struct ring_free *next;
};

void tcb_ring_prime(struct sn_stack *st, struct sn_ring *r)
{
	struct ring_free *b = st->free_rings;
	if (!b || r->data || r->cap < SN_RING_MIN)
		return;
	st->free_rings = b->next;
	st->nfree_rings--;
	sn_ring_attach(r, (uint8_t *)b, SN_RING_MIN);
}

static void ring_release(struct sn_stack *st, struct sn_ring *r)
{
	uint32_t size;
	struct ring_free *b = (struct ring_free *)sn_ring_detach(r, &size);
	if (!b)
		return;
	if (size != SN_RING_MIN || st->nfree_rings >= SN_FREE_CACHE) {
		free(b);
		return;
	}
	b->next = st->free_rings;
	st->free_rings = b;
	st->nfree_rings++;
}

/*
 * TIME-WAIT records come from 4 KiB blocks aligned to their size: a 64-byte
 * header, then 63 records. A record then costs its 64 bytes and 1/63 of a
 * header, where malloc gave each an 80-byte chunk; and its block is found by
 * masking its address. Blocks with a free record are on st->tw_blocks; a
 * block that empties is freed unless it is the only one there. Free records
 * are poisoned for AddressSanitizer, so a use after free is still caught.
 */
#define TW_BLOCK 4096u
#define TW_PER_BLOCK (TW_BLOCK / sizeof(struct sn_tw) - 1)

struct tw_block {
	struct sn_list link;  /* st->tw_blocks, while a record is free */
	struct sn_tw *free;   /* free records, linked through hash_next */
	unsigned used;
};
_Static_assert(sizeof(struct tw_block) <= sizeof(struct sn_tw), "the header fits a record's place");

#ifdef SN_ASAN
#define tw_poison(p) ASAN_POISON_MEMORY_REGION((p), sizeof(struct sn_tw))
#define tw_unpoison(p) ASAN_UNPOISON_MEMORY_REGION((p), sizeof(struct sn_tw))
#else
#define tw_poison(p) ((void)(p))
#define tw_unpoison(p) ((void)(p))
#endif

static struct tw_block *tw_block_of(struct sn_tw *tw)
{
	return (struct tw_block *)((uintptr_t)tw & ~(uintptr_t)(TW_BLOCK - 1));
}

static struct sn_tw *tw_alloc(struct sn_stack *st)
{
	struct tw_block *b;
	if (sn_list_empty(&st->tw_blocks)) {
		b = aligned_alloc(TW_BLOCK, TW_BLOCK);
		if (!b)
			return NULL;
		*b = (struct tw_block){0};
		struct sn_tw *rec = (struct sn_tw *)(void *)b;
		for (size_t i = TW_PER_BLOCK; i >= 1; i--) {
			rec[i].hash_next = b->free;
			b->free = &rec[i];
			tw_poison(&rec[i]);
		}
		sn_list_add_tail(&st->tw_blocks, &b->link);
	}
	b = SN_CONTAINER_OF(st->tw_blocks.next, struct tw_block, link);
	struct sn_tw *tw = b->free;
	tw_unpoison(tw);
	b->free = tw->hash_next;
	if (!b->free)
		sn_list_del(&b->link);
	b->used++;
	memset(tw, 0, sizeof(*tw));
	return tw;
}

static void tw_release(struct sn_stack *st, struct sn_tw *tw)
{
	struct tw_block *b = tw_block_of(tw);
	if (!b->free)
		sn_list_add_tail(&st->tw_blocks, &b->link); /* full until now */
	tw->hash_next = b->free;
	b->free = tw;
	tw_poison(tw);
	if (--b->used == 0 && st->tw_blocks.next != st->tw_blocks.prev) {
		sn_list_del(&b->link);
		free(b);
	}
}

void tcb_cache_free(struct sn_stack *st)
{
	while (st->free_socks) {
		struct sn_sock *s = st->free_socks;
		st->free_socks = s->hash_next;
		free(s);
	}
	st->nfree_socks = 0;
	while (st->free_rings) {
		struct ring_free *b = st->free_rings;
		st->free_rings = b->next;
		free(b);
	}
	st->nfree_rings = 0;
	/* Called after tw_free_all: every block left is empty. */
	while (!sn_list_empty(&st->tw_blocks)) {
		struct tw_block *b = SN_CONTAINER_OF(st->tw_blocks.next, struct tw_block, link);
		sn_list_del(&b->link);
		free(b);
	}
}

/* What every control block starts with, whoever makes it: sock_alloc has
 * zeroed it, so only what is not zero is written. */
static struct sn_sock *tcb_alloc(struct sn_stack *st)
{
	struct sn_sock *s = sock_alloc(st);
	if (!s)
		return NULL;
	s->stack = st;
	s->state = SN_CLOSED;
	sn_list_init(&s->event_link);
	sn_list_init(&s->output_link);
	sn_list_init(&s->child_link);
	sn_list_add_tail(&st->socks, &s->sock_link);
	s->rcv_mss = 536; /* RFC 9293 3.7.1 default, raised by what arrives */
	/* Until the handshake sets the real one (tcp_cc_init): enough for a
	 * FIN sent from SYN-RECEIVED. */
	s->cwnd = sn_cc_initial_window(st->cfg.init_cwnd_segs, 536);
	s->ssthresh = UINT32_MAX;
	tcp_timers_init(s);
	tcp_rtt_init(s);
	return s;
}

/* A socket for the application (sn_socket): the stack's defaults. */
struct sn_sock *tcb_new(struct sn_stack *st)
{
	struct sn_sock *s = tcb_alloc(st);
	if (!s)
		return NULL;
	sn_ring_init(&s->snd_buf, st->cfg.sndbuf);
	sn_ring_init(&s->rcv_buf, st->cfg.rcvbuf);
	s->opt.cc = st->cc_default;
	tcp_keepalive_defaults(s);
	return s;
}

/* A listener's child: it inherits the listener's options and buffer sizes,
 * so they are copied once rather than set to the defaults first. */
struct sn_sock *tcb_new_child(const struct sn_sock *ls)
{
	struct sn_sock *s = tcb_alloc(ls->stack);
	if (!s)
		return NULL;
	sn_ring_init(&s->snd_buf, ls->snd_buf.cap);
	sn_ring_init(&s->rcv_buf, ls->rcv_buf.cap);
	s->opt = ls->opt;
	return s;
}

/*
 * Most connections never hold out-of-order data; the queue's 64 bytes are
 * allocated with the first segment that needs them and freed once the queue
 * has emptied again.
 */
struct sn_reass *tcb_reass(struct sn_sock *s)
{
	if (!s->reass) {
		s->reass = malloc(sizeof(*s->reass));
		if (s->reass)
			sn_reass_init(s->reass);
	}
	return s->reass;
}

void tcb_reass_drop(struct sn_sock *s)
{
	if (s->reass) {
		sn_reass_free(s->reass);
		free(s->reass);
		s->reass = NULL;
	}
}

static void fill_trace_tuple(struct sn_trace_event *ev, const struct sn_sock *s)
{
	ev->seg.saddr = s->t.laddr;
	ev->seg.daddr = s->t.raddr;
	ev->seg.sport = s->t.lport;
	ev->seg.dport = s->t.rport;
}

/* The states tcp_curr_estab counts, as a set of bits (RFC 1213's
 * tcpCurrEstab): a state change adds 1 on entering it, takes 1 on leaving. */
#define CURR_ESTAB_STATES (1u << SN_ESTABLISHED | 1u << SN_CLOSE_WAIT)

void tcb_set_state(struct sn_sock *s, int state)
{
	struct sn_stack *st = s->stack;
	int old = s->state;
	if (old == state)
		return;
	st->stats.tcp_curr_estab += CURR_ESTAB_STATES >> state & 1;
	st->stats.tcp_curr_estab -= CURR_ESTAB_STATES >> old & 1;
	if (state == SN_ESTABLISHED)
		s->flags |= SN_SF_EVER_CONNECTED;
	s->state = (uint8_t)state;
	/* The event is a large struct: build it only for someone listening. */
	if (!st->trace_fn)
		return;
	struct sn_trace_event ev = {
		.kind = SN_TRACE_STATE, .now_us = st->now_us, .sock = s,
		.old_state = old, .new_state = state,
	};
	fill_trace_tuple(&ev, s);
	stack_trace(st, &ev);
}

void tcb_event(struct sn_sock *s, unsigned ev)
{
	struct sn_stack *st = s->stack;
	s->ev_pending |= ev;
	if (!(s->flags & SN_SF_ON_EVENTS)) {
		s->flags |= SN_SF_ON_EVENTS;
		sn_list_add_tail(&st->event_q, &s->event_link);
	}
}

void tcb_want_output(struct sn_sock *s)
{
	if (s->flags & (SN_SF_ON_OUTPUT | SN_SF_DEAD))
		return;
	s->flags |= SN_SF_ON_OUTPUT;
	sn_list_add_tail(&s->stack->output_q, &s->output_link);
}

/*
 * The connection is over. err (a positive errno, or 0) becomes SO_ERROR for
 * the application. The object stays while the application holds the handle,
 * so that recv/send can report what happened.
 */
void tcb_close(struct sn_sock *s, int err)
{
	struct sn_stack *st = s->stack;
	if (err)
		s->so_error = err;
	tcb_set_state(s, SN_CLOSED);
	tcp_timers_stop(s);
	tcb_hash_remove(s);
	tcb_unbind(s);
	if (s->parent)
		listen_child_gone(s);
	/* Nothing more will be sent; what was queued is lost with the connection. */
	ring_release(st, &s->snd_buf);
	tcb_reass_drop(s);
	tcp_loss_free(s);
	if (s->flags & SN_SF_ON_OUTPUT) {
		sn_list_del(&s->output_link);
		s->flags &= ~SN_SF_ON_OUTPUT;
	}
	unsigned ev = SN_EV_HUP | SN_EV_READABLE | SN_EV_WRITABLE;
	if (err)
		ev |= SN_EV_ERROR;
	tcb_event(s, ev);
	tcb_maybe_free(s);
}

void tcb_maybe_free(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	if (s->flags & SN_SF_DEAD)
		return;
	if (!(s->flags & SN_SF_USER_CLOSED) || s->state != SN_CLOSED || s->parent)
		return;
	s->flags |= SN_SF_DEAD;
	if (s->flags & SN_SF_ON_EVENTS) {
		sn_list_del(&s->event_link);
		s->flags &= ~SN_SF_ON_EVENTS;
	}
	if (s->flags & SN_SF_ON_OUTPUT) {
		sn_list_del(&s->output_link);
		s->flags &= ~SN_SF_ON_OUTPUT;
	}
	/* Reuse hash_next: a dead socket is in no table. */
	s->hash_next = st->dead;
	st->dead = s;
	if (st->depth == 0)
		tcb_free_dead(st);
}

static void tcb_destroy(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	sn_list_del(&s->sock_link);
	tcp_timers_stop(s);
	ring_release(st, &s->snd_buf);
	ring_release(st, &s->rcv_buf);
	if (s->state == SN_LISTEN)
		free(s->listener); /* the stack goes away under a listener */
	else
		tcb_reass_drop(s);
	tcp_loss_free(s);
	sock_release(st, s);
}

void tcb_free_dead(struct sn_stack *st)
{
	while (st->dead) {
		struct sn_sock *s = st->dead;
		st->dead = s->hash_next;
		tcb_destroy(s);
	}
}

/* Stack teardown: free every socket without sending anything. */
void tcb_free_all(struct sn_stack *st)
{
	tcb_free_dead(st);
	while (!sn_list_empty(&st->socks))
		tcb_destroy(SN_CONTAINER_OF(st->socks.next, struct sn_sock, sock_link));
}

/* ---- TIME-WAIT ----------------------------------------------------------- */

struct sn_tw *tw_lookup(struct sn_stack *st, const struct sn_tuple *t)
{
	return hash_find(st, &st->tws, t);
}

static void tw_trace_closed(struct sn_stack *st, const struct sn_tw *tw)
{
	if (!st->trace_fn)
		return;
	struct sn_trace_event ev = {
		.kind = SN_TRACE_STATE, .now_us = st->now_us, .sock = NULL,
		.old_state = SN_TIME_WAIT, .new_state = SN_CLOSED,
	};
	ev.seg.saddr = tw->t.laddr;
	ev.seg.daddr = tw->t.raddr;
	ev.seg.sport = tw->t.lport;
	ev.seg.dport = tw->t.rport;
	stack_trace(st, &ev);
}

static void tw_destroy(struct sn_stack *st, struct sn_tw *tw)
{
	hash_del(&st->tws, tw, tw_hash(st, tw, st->tws.nbuckets));
	sn_list_del(&tw->fifo);
	tw_release(st, tw);
}

/*
 * RFC 9293 3.10.7.4: entering TIME-WAIT. The control block's work is done;
 * keep a small record that can re-ACK a retransmitted FIN for 2*MSL. If the
 * record cannot be allocated the connection simply closes: the peer's FIN
 * retransmission would then draw a RST, the same as after TIME-WAIT ends.
 */
void tcb_enter_time_wait(struct sn_sock *s, bool ack_fin)
{
	struct sn_stack *st = s->stack;
	tcb_set_state(s, SN_TIME_WAIT);
	STAT_INC(st, tcp_tw_created);
	/* The ACK of the peer's FIN goes now: nothing will be left to send it. */
	uint32_t wnd = tcp_rcv_window(s);
	if (ack_fin)
		tcp_send_raw(st, &s->t, s->snd_max, s->rcv_nxt, SN_TH_ACK, wnd, s);
	if (st->cfg.tw_max && st->tws.count >= st->cfg.tw_max) {
		/* Full: the oldest record (the FIFO's head) makes room. */
		tw_kill(st, SN_CONTAINER_OF(st->tw_fifo.next, struct sn_tw, fifo));
		STAT_INC(st, tcp_tw_evicted);
	}
	struct sn_tw *tw = tw_alloc(st);
	if (tw) {
		tw->t = s->t;
		tw->snd_nxt = s->snd_max;
		tw->rcv_nxt = s->rcv_nxt;
		tw->wnd = wnd;
		tw->rcv_wscale = s->rcv_wscale;
		/* RFC 7323 3.2: the record's ACKs carry timestamps too. */
		tw->ts = (s->topts & SN_TCPI_OPT_TIMESTAMPS) != 0;
		tw->ts_offset = s->ts_offset;
		tw->ts_recent = s->ts_recent;
		uint64_t hv = tuple_hash(st, &tw->t);
		tw->hv_lo = (uint16_t)hv;
		hash_add(st, &st->tws, tw, hv);
		sn_list_init(&tw->fifo);
		tw_restart(st, tw);
	}
	/* The control block leaves silently: the TIME_WAIT -> CLOSED transition
	 * belongs to the record. */
	s->state = SN_CLOSED;
	tcp_timers_stop(s);
	tcb_hash_remove(s);
	tcb_unbind(s);
	ring_release(st, &s->snd_buf);
	tcb_reass_drop(s);
	tcp_loss_free(s);
	tcb_event(s, SN_EV_HUP | SN_EV_READABLE);
	tcb_maybe_free(s);
}

/*
 * A record's expiry is a 32-bit millisecond clock (now_us / 1000, wrapping
 * every 49.7 days), rounded up so a record never ends early, and compared
 * modulo 2^32: that tells times apart up to 24.8 days, and a record lives
 * 2*MSL, capped there. Keeping it in 32 bits is what brings struct sn_tw to
 * 64 bytes (it was 72 with a 64-bit expiry in µs).
 */
#define TW_LIFE_MAX_MS 0x7fffffffull

static uint32_t tw_clock_ms(uint64_t now_us)
{
	return (uint32_t)(now_us / 1000);
}

/* Milliseconds until tw expires, <= 0 once it has. */
static int32_t tw_ms_left(const struct sn_tw *tw, uint64_t now_us)
{
	return (int32_t)(tw->expires_ms - tw_clock_ms(now_us));
}

uint64_t tw_next_deadline(const struct sn_stack *st)
{
	if (sn_list_empty(&st->tw_fifo))
		return SN_TIME_NEVER;
	const struct sn_tw *tw = SN_CONTAINER_OF(st->tw_fifo.next, struct sn_tw, fifo);
	int32_t left = tw_ms_left(tw, st->now_us);
	if (left <= 0)
		return st->now_us;
	return (st->now_us / 1000 + (uint64_t)left) * 1000;
}

void tw_restart(struct sn_stack *st, struct sn_tw *tw)
{
	uint64_t life_ms = 2ull * st->cfg.msl_ms;
	if (life_ms > TW_LIFE_MAX_MS)
		life_ms = TW_LIFE_MAX_MS;
	tw->expires_ms = tw_clock_ms(st->now_us + life_ms * 1000 + 999);
	if (sn_list_linked(&tw->fifo))
		sn_list_del(&tw->fifo);
	sn_list_add_tail(&st->tw_fifo, &tw->fifo);
}

bool tw_due(const struct sn_stack *st)
{
	if (sn_list_empty(&st->tw_fifo))
		return false;
	const struct sn_tw *tw = SN_CONTAINER_OF(st->tw_fifo.next, struct sn_tw, fifo);
	/* tw_ms_left without the division: now_ms is tw_clock_ms(now_us). */
	return (int32_t)(tw->expires_ms - st->now_ms) <= 0;
}

void tw_expire(struct sn_stack *st)
{
	while (tw_due(st)) {
		struct sn_tw *tw = SN_CONTAINER_OF(st->tw_fifo.next, struct sn_tw, fifo);
		tw_trace_closed(st, tw);
		tw_destroy(st, tw);
	}
}

/* End one record now (a RST, or a SYN that reopens the 4-tuple), wherever it
 * sits in the FIFO: tw_expire only looks at the head. */
void tw_kill(struct sn_stack *st, struct sn_tw *tw)
{
	tw_trace_closed(st, tw);
	tw_destroy(st, tw);
}

void tw_free_all(struct sn_stack *st)
{
	while (!sn_list_empty(&st->tw_fifo))
		tw_destroy(st, SN_CONTAINER_OF(st->tw_fifo.next, struct sn_tw, fifo));
}
