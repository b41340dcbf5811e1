/*
 * core.h - the stack's internal structures, shared by ip/, tcp/ and api/.
 *
 * Nothing here is visible to applications; include/synack.h is the public API.
 * Addresses and ports are host byte order everywhere inside the stack.
 */
#ifndef SN_CORE_H
#define SN_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf/ring.h"
#include "synack.h"
#include "tcp/cc/cc.h"
#include "tcp/reass.h"
#include "tcp/rtt.h"
#include "tcp/sack.h"
#include "tcp/wheel.h"
#include "util/rand.h"
#include "wire/wire.h"

#define SN_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* Room for the largest frame we build: Ethernet + a 64 KiB IP packet. */
#define SN_FRAME_MAX (SN_ETH_HLEN + 65535)

/* ---- intrusive doubly linked list ------------------------------------- */

struct sn_list {
	struct sn_list *next, *prev;
};
static inline void sn_list_init(struct sn_list *l) { l->next = l->prev = l; }
static inline bool sn_list_empty(const struct sn_list *l) { return l->next == l; }
static inline bool sn_list_linked(const struct sn_list *n) { return n->next != NULL && n->next != n; }
static inline void sn_list_add_tail(struct sn_list *head, struct sn_list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}
static inline void sn_list_del(struct sn_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

/* ---- netif and ARP ------------------------------------------------------ */

struct sn_netif {
	struct sn_stack *stack;
	struct sn_netif *next;
	const struct sn_netif_ops *ops;
	void *ctx;
	uint32_t addr, mask, gateway;
	uint16_t mtu;
	uint8_t mac[6];
	unsigned offload;           /* SN_NETIF_* the driver offers (sn_netif_add) */
	uint32_t tso_max;           /* with SN_NETIF_TSO: longest IPv4 packet to hand it */
	sn_capture_fn capture;
	void *capture_ctx;
	uint8_t *capture_buf;       /* netif_capture's copy, allocated on first use */
};

struct sn_arp_pending; /* a frame waiting for resolution, ip/arp.c */

struct sn_arp_entry {
	struct sn_arp_entry *next; /* hash chain */
	uint32_t ip;
	struct sn_netif *netif;
	uint8_t mac[6];
	bool resolved, permanent;
	uint8_t tries;
	uint8_t npending;
	uint64_t expires_us;       /* resolved: entry lifetime; pending: next request */
	struct sn_arp_pending *pending;
	struct sn_list list;       /* all entries, for the retry/expiry sweep */
};

#define SN_ARP_BUCKETS 64
#define SN_ARP_MAX_PENDING 8   /* frames held per unresolved address */

struct sn_arp_table {
	struct sn_arp_entry *bucket[SN_ARP_BUCKETS];
	struct sn_list all;
	size_t count;
	uint64_t next_us;          /* no entry is due before this (a lower bound) */
};

/* ---- TCP ---------------------------------------------------------------- */

struct sn_tuple {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
};

/* A listening socket's queues (RFC 9293 3.10.1 passive OPEN, plus the
 * conventional SYN queue / accept queue split). */
struct sn_listener {
	struct sn_list syn_q;     /* children in SYN-RECEIVED */
	struct sn_list accept_q;  /* children established, not yet accepted */
	uint32_t syn_len, accept_len;
	uint32_t backlog;         /* accept queue bound */
	uint32_t syn_max;         /* SYN queue bound */
};

/* Socket options with a value (flags are in sn_sock.flags). An accepted
 * connection starts with its listener's. Each field is as narrow as its
 * range allows, since every connection has them: setsockopt refuses what
 * Linux refuses (keepalive times above 32767 s, counts above 127, EINVAL),
 * and tcp_keepalive_defaults bounds the defaults in sn_config the same way. */
struct sn_sockopts {
	uint32_t user_timeout_ms;   /* TCP_USER_TIMEOUT, 0 = off */
	uint16_t keepidle_s;        /* TCP_KEEPIDLE, 1..32767 */
	uint16_t keepintvl_s;       /* TCP_KEEPINTVL, 1..32767 */
	uint16_t linger_sec;        /* SO_LINGER timeout; only zero or not matters
	                               (sn_close never blocks), larger is kept as 65535 */
	uint16_t user_mss;          /* TCP_MAXSEG, 0 = from the MTU */
	uint8_t keepcnt;            /* TCP_KEEPCNT, 1..127 */
	uint8_t cc;                 /* TCP_CONGESTION: index in sn_cc_algorithms */
};

/* Flags of a TCB (struct sn_sock). */
enum {
	SN_SF_USER_CLOSED = 1u << 0,  /* the handle was released by sn_close/sn_abort */
	SN_SF_SHUT_RD = 1u << 1,      /* application will not read any more */
	SN_SF_FIN_QUEUED = 1u << 2,   /* application shut the write side; FIN follows the data */
	SN_SF_FIN_RCVD = 1u << 3,     /* peer's FIN consumed: end of stream after buffered data */
	SN_SF_ACK_NOW = 1u << 4,      /* an ACK is owed and must go out at the next flush */
	SN_SF_PASSIVE = 1u << 5,      /* created by a listener (affects RST in SYN-RECEIVED) */
	SN_SF_ON_OUTPUT = 1u << 6,    /* linked on stack->output_q */
	SN_SF_ON_EVENTS = 1u << 7,    /* linked on stack->event_q */
	SN_SF_IN_HASH = 1u << 8,      /* in the connection table */
	SN_SF_BOUND = 1u << 9,        /* in the bind table */
	SN_SF_NODELAY = 1u << 10,     /* TCP_NODELAY */
	SN_SF_REUSEADDR = 1u << 11,
	SN_SF_KEEPALIVE = 1u << 12,
	SN_SF_LINGER = 1u << 13,      /* SO_LINGER on */
	SN_SF_DEAD = 1u << 14,        /* on the free list; ignore */
	SN_SF_EVER_CONNECTED = 1u << 15, /* reached ESTABLISHED at some point */
	SN_SF_CONNECTING = 1u << 16,  /* sn_connect called, outcome not yet reported */
	SN_SF_RTT_TIMING = 1u << 17,  /* rtt_seq is being timed (rtt_start_us) */
	SN_SF_FORCE = 1u << 18,       /* persist expiry: send what fits, SWS or not */
	SN_SF_TS_REXMT = 1u << 19,    /* ts_rexmt is set: older echoes are no sample */
	SN_SF_RECOVERY = 1u << 20,    /* in fast recovery (loss.c) until SND.UNA passes recover */
	SN_SF_REXMT_UNA = 1u << 21,   /* resend the first unacknowledged segment now */
	SN_SF_SACK_RECOVERY = 1u << 22, /* this recovery is driven by the scoreboard (RFC 6675) */
	SN_SF_DSACK = 1u << 23,       /* dsack holds a D-SACK block for the next ACK */
	SN_SF_DATA_SEEN = 1u << 24,   /* text has arrived (profile.quickack's start) */
	SN_SF_ACK_PLAIN = 1u << 25,   /* the owed ACK is a challenge ACK: no FIN on it */
	SN_SF_DELACK_HELD = 1u << 26, /* in stack->delack_held: the delayed-ACK timer
	                                 is armed at the end of the stack call */
};

/*
 * A socket and its TCP control block (RFC 9293 3.3.1) are one object. It is
 * owned by the application from sn_socket/sn_accept until sn_close/sn_abort,
 * and by the protocol until it reaches CLOSED or becomes a TIME-WAIT record;
 * it is freed when both have let go.
 */
struct sn_sock {
	/* Fields are grouped by alignment, so the struct has no holes:
	 * every connection pays for each byte (sizeof is checked below). */
	struct sn_stack *stack;
	uint32_t flags;
	uint8_t state;              /* enum sn_tcp_state */
	uint8_t syn_tries;          /* SYN / SYN-ACK transmissions so far */
	uint8_t rexmt_count;        /* consecutive retransmission timeouts */
	uint8_t so_error;           /* pending error (positive errno, all below 256), SO_ERROR */

	struct sn_tuple t;
	uint16_t mss_offer;         /* tcp_rcv_mss_offer, kept once the netif is known; 0: not yet */
	uint16_t peer_mss;          /* from the peer's SYN, 536 if absent (RFC 9293 3.7.1) */
	struct sn_sock *hash_next;  /* connection table chain */
	struct sn_sock *bind_next;  /* bind table chain */
	struct sn_netif *netif;     /* where our segments leave */

	/* Send sequence space, RFC 9293 3.3.1 figure 3. snd_max is the highest
	 * sequence number sent: after a retransmission timeout snd_nxt goes back
	 * to snd_una, and ACKs up to snd_max stay acceptable. */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint32_t max_snd_wnd;       /* largest window the peer offered, RFC 5961 5.2 */
	uint32_t snd_buf_seq;       /* sequence number of the first byte in snd_buf */
	/* Receive sequence space. rcv_adv is the right edge we last advertised. */
	uint32_t irs, rcv_nxt, rcv_adv;

	/* TCP options (RFC 7323, RFC 2018). Until the peer's SYN is seen, topts
	 * is what our SYN offers; from then on it is what both SYNs carried,
	 * which is also what a SYN-ACK of ours carries. */
	uint8_t topts;              /* SN_TCPI_OPT_* */
	uint8_t snd_wscale;         /* peer's shift: its window field << this */
	uint8_t rcv_wscale;         /* our shift: our window >> this on the wire */
	uint8_t quickacks;          /* segments still ACKed at once (profile.quickack) */
	uint32_t ts_offset;         /* added to the 1 ms clock, RFC 7323 5.4 */
	uint32_t ts_recent;         /* TS.Recent, RFC 7323 4.3 */
	uint32_t ts_recent_stamp;   /* when TS.Recent was set, tcp_stamp (the 24-day rule, 5.5) */
	uint32_t last_ack_sent;     /* Last.ACK.sent, RFC 7323 4.3 */
	uint32_t ts_rexmt;          /* our TSval when the rexmt timer last fired */

	/* RFC 6298 state (rtt.c). */
	struct sn_rtt rtt;
	uint32_t total_retrans;
	/* Times: 32 bits each, see tcp_ms below. */
	uint32_t last_oow_ack_ms;   /* last ACK sent for an unacceptable segment, input.c */
	uint32_t rtt_seq;           /* the segment being timed: ACK beyond it = sample */
	uint32_t rtt_start_us;      /* when it was sent: low 32 bits of the µs clock,
	                               enough for one RTT (timing stops at the first
	                               timeout, and the RTO is under 2^32 µs) */
	uint32_t progress_ms;       /* last time SND.UNA moved (or sending started) */
	uint32_t last_rcv_ms;       /* last segment accepted from the peer (keepalive) */
	uint32_t unacked_rcv;       /* bytes received since we last sent an ACK */
	uint16_t rcv_mss;           /* largest segment the peer has sent us */
	uint8_t persist_backoff;
	uint8_t keep_probes;        /* probes unanswered, keepalive or zero-window */

	/* Congestion control (tcp/cc/) and loss recovery (loss.c), in bytes.
	 * recover is RFC 6582's "recover" and RFC 6675's RecoveryPoint: the
	 * highest octet sent when recovery began; no new recovery starts
	 * before SND.UNA passes it. */
	uint32_t cwnd, ssthresh;
	uint32_t bytes_acked;       /* ABC counter in congestion avoidance (RFC 3465) */
	uint32_t recover;
	uint32_t dsack[2];          /* duplicate range to report first (RFC 2883),
	                               when SN_SF_DSACK; profile.dsack only */
	uint8_t dupacks;            /* duplicate ACKs in a row */
	uint8_t hs_phase;           /* HyStart++: SN_HS_* (cc/cc.h) */
	uint8_t ev_pending;         /* SN_EV_* raised, not yet delivered */
	struct sn_sockopts opt;     /* what setsockopt set; children inherit it */
	struct sn_sack_state *sack; /* allocated at the peer's first SACK block */
	/* The algorithm's state is idle until HyStart++ is over (cc/cc.h). */
	union {
		uint64_t cc_priv[SN_CC_PRIV / 8]; /* the algorithm's own state */
		struct sn_hystart hs;             /* HyStart++ in the first slow start */
	};

	struct sn_ring snd_buf, rcv_buf;
	/* A socket never needs both: out-of-order data arrives only once
	 * synchronized, and a listener's queues exist only while it listens
	 * (listen_start allocates them, listen_stop frees them). */
	union {
		struct sn_reass *reass;       /* out-of-order data (reass.c), while any is held */
		struct sn_listener *listener; /* LISTEN: the SYN and accept queues */
	};
	/* Three timers for five roles (timer.c): a pair that never runs
	 * together shares one, and the function it is armed with says which. */
	struct sn_timer rexmt_timer;   /* retransmission (SYN, SYN-ACK, data, FIN), or
	                                  persist: zero-window probe and the SWS override */
	struct sn_timer delack_timer;  /* an ACK we are holding back */
	struct sn_timer keep_timer;    /* keepalive, or an orphaned FIN-WAIT-2's lifetime */

	/* Application side. */
	sn_event_fn event_fn;
	void *event_user;
	struct sn_list event_link;  /* stack->event_q */
	struct sn_list output_link; /* stack->output_q */

	/* A listener's child: the listener and its queue link. */
	struct sn_sock *parent;
	struct sn_list child_link;
	struct sn_list sock_link;   /* stack->socks: every socket, for teardown */
};

/*
 * The size of an idle connection (issue 7: at most 512 bytes per idle
 * established connection, measured with malloc's 8-byte header and 16-byte
 * rounding and the connection table's share, so sizeof must stay at or below
 * 488; 480 leaves a margin). docs/PERFORMANCE.md tells where the bytes went.
 * On LP64 only: elsewhere pointers are smaller and the bound means nothing.
 */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(struct sn_sock) <= 480, "struct sn_sock grew past 480 bytes (issue 7)");
#endif

/* The connection's congestion control algorithm. */
static inline const struct sn_cc_ops *tcp_cc(const struct sn_sock *s)
{
	return sn_cc_algorithms[s->opt.cc];
}

/*
 * The sender's SACK state (loss.c): the scoreboard and what SACK-based
 * recovery keeps besides. Allocated when the peer's first SACK block
 * arrives, so a connection that never sees one pays 8 bytes for it.
 */
struct sn_sack_state {
	struct sn_sackboard board;
	uint32_t high_rxt;      /* RFC 6675 HighRxt: the end of what recovery resent */
	uint32_t rescue_rxt;    /* RFC 6675 RescueRxt */
	uint32_t prr_delivered, prr_out, recover_fs; /* RFC 6937 */
};

/*
 * A connection in TIME-WAIT (RFC 9293 3.10.7.4) keeps only what it needs to
 * answer a retransmitted FIN: the 4-tuple and the two sequence numbers. Every
 * record lives 2*MSL, so they sit in one FIFO ordered by expiry instead of in
 * the timing wheel; restarting a record's timer moves it to the tail.
 */
struct sn_tw {
	struct sn_tw *hash_next;
	struct sn_list fifo;
	struct sn_tuple t;
	uint32_t snd_nxt, rcv_nxt;
	uint32_t wnd;               /* the window we advertise, bytes */
	uint32_t expires_ms;        /* 32-bit ms clock, compared modulo 2^32 (tcb.c) */
	uint32_t ts_offset, ts_recent;
	uint8_t rcv_wscale;         /* its shift on the wire */
	bool ts;                    /* timestamps in use: ACKs carry them */
	uint16_t hv_lo;             /* low 16 bits of its table hash (tcb.c) */
};                                  /* 64 bytes on LP64 */

struct sn_hash {
	void **bucket;     /* chains of sn_sock or sn_tw, linked through hash_next */
	size_t nbuckets;   /* power of two */
	size_t count;
	size_t link_off;   /* offsetof(entry type, hash_next) */
	size_t tuple_off;  /* offsetof(entry type, t) */
};

#define SN_BIND_BUCKETS 1024
#define SN_DELACK_HELD_MAX 16
#define SN_EPHEMERAL_LO 32768
#define SN_EPHEMERAL_HI 60999

struct sn_stack {
	struct sn_config cfg;
	struct sn_rto_bounds rto;    /* cfg's min_rto_ms and max_rto_ms, in µs */
	uint64_t now_us;
	uint32_t now_ms;             /* now_us / 1000, as 32 bits: tcp_ms */
	uint8_t cc_default;          /* cfg.cc_default as an algorithm index (SN_CC_*) */
	unsigned depth;              /* nesting of sn_input/sn_poll/API processing */
	struct sn_wheel wheel;
	struct sn_stats stats;
	struct sn_rand rng;
	uint8_t isn_key[16];
	uint8_t hash_key[16];
	uint64_t hash_v[4];          /* SipHash's state once hash_key is in (tcb.c) */
	uint16_t ip_id;
	/* The 4-tuple tcb_demux hashed for the segment or connect under way,
	 * and its hash (tcb.c). */
	struct sn_tuple demux_t;
	uint64_t demux_hv;
	bool demux_valid;

	struct sn_netif *netifs;
	struct sn_arp_table arp;

	struct sn_hash conns;        /* 4-tuple -> sn_sock */
	struct sn_hash tws;          /* 4-tuple -> sn_tw */
	struct sn_list tw_fifo;      /* sn_tw by expiry */
	struct sn_sock **bind;       /* local port -> bound sockets (tcb.c) */
	size_t bind_nbuckets;        /* power of two, SN_BIND_BUCKETS up to 65536 */
	size_t bind_count;           /* sockets in it */
	uint16_t next_ephemeral;

	struct sn_list socks;        /* every socket */
	struct sn_list event_q;      /* sockets with events to deliver */
	struct sn_list output_q;     /* sockets with output to send */
	struct sn_sock *dead;        /* to free at the end of the flush */
	/* Sockets that hold back an ACK in this stack call (input.c,
	 * delack_hold); more than fit have their timer armed at once. */
	struct sn_sock *delack_held[SN_DELACK_HELD_MAX];
	unsigned ndelack_held;
	/* Freed sockets kept for reuse (tcb.c), linked through hash_next, at
	 * most SN_FREE_CACHE; the blocks of TIME-WAIT records with a free one. */
	struct sn_sock *free_socks;
	unsigned nfree_socks;
	struct sn_list tw_blocks;
	/* Freed first blocks of ring storage (SN_RING_MIN bytes), linked
	 * through their first bytes, at most SN_FREE_CACHE. */
	void *free_rings;
	unsigned nfree_rings;

	/* RFC 5961 section 7 challenge ACK limit: count in the current second. */
	uint64_t challenge_window_us;
	uint32_t challenge_count;

	sn_trace_fn trace_fn;
	void *trace_ctx;

	uint8_t frame[SN_FRAME_MAX]; /* output frames are built here */
};

/*
 * Clocks for the times a connection keeps (struct sn_sock is counted in
 * bytes: docs/PERFORMANCE.md). Those that need range more than precision
 * are 32-bit milliseconds: the clock wraps every 49.7 days and an elapsed
 * time is the difference modulo 2^32 (tcp_ms_since), right while less than
 * that has passed. Every use is far shorter (keepalive idle up to 9 hours,
 * TCP_USER_TIMEOUT, the out-of-window ACK limit, idle restart), except the
 * age of TS.Recent, which must tell 24 days (RFC 7323 5.5) from anything up
 * to forever: it uses a 32-bit clock of about a second (tcp_stamp: 2^20 µs,
 * 1.05 s; 142 years before it wraps), as Linux uses seconds. Both are read
 * for every segment, so neither divides there: stack_enter keeps the
 * milliseconds, and the stamp is a shift.
 */
static inline uint32_t tcp_ms(const struct sn_stack *st) { return st->now_ms; }
static inline uint32_t tcp_ms_since(const struct sn_stack *st, uint32_t then_ms)
{
	return tcp_ms(st) - then_ms;
}
/* Back to the stack's µs clock: when `then_ms` plus `after_ms` comes. */
static inline uint64_t tcp_ms_when_us(const struct sn_stack *st, uint32_t then_ms,
                                      uint32_t after_ms)
{
	return (st->now_us / 1000 - tcp_ms_since(st, then_ms) + after_ms) * 1000;
}
#define TCP_STAMP_SHIFT 20 /* µs per tcp_stamp tick: 2^20 */
static inline uint32_t tcp_stamp(const struct sn_stack *st)
{
	return (uint32_t)(st->now_us >> TCP_STAMP_SHIFT);
}

/* ---- stack.c ------------------------------------------------------------- */

void stack_enter(struct sn_stack *st, uint64_t now_us);
void stack_leave(struct sn_stack *st);
void stack_trace(struct sn_stack *st, const struct sn_trace_event *ev);
/* Hand a frame to the netif's capture hook. csum_partial: its TCP checksum
 * may be a partial sum (checksum offload); the capture gets a copy with the
 * checksum completed, as the frame is on the wire. */
void netif_capture(struct sn_netif *nif, int dir, const void *frame, size_t len,
                   bool csum_partial);
#define STAT_INC(st, name) ((st)->stats.name++)
#define STAT_ADD(st, name, n) ((st)->stats.name += (n))

/* ---- ip/ ----------------------------------------------------------------- */

void arp_input(struct sn_netif *nif, const uint8_t *pkt, size_t len);
/* Send an IPv4 packet whose header and payload are at `ip` (len bytes), with
 * SN_ETH_HLEN bytes of headroom before it. Fills the Ethernet header. */
void arp_output(struct sn_netif *nif, uint32_t next_hop, uint8_t *ip, size_t len,
                uint16_t gso_size);
void arp_poll(struct sn_stack *st);
uint64_t arp_next_deadline(const struct sn_stack *st);
void arp_free_all(struct sn_stack *st);

void ipv4_input(struct sn_netif *nif, const uint8_t *pkt, size_t len, unsigned rx_flags);
/* Route dst: the netif to leave by and the next hop; NULL if none. */
struct sn_netif *ipv4_route(struct sn_stack *st, uint32_t dst, uint32_t *next_hop);
/* The netif a packet to dst leaves by: nif if dst is on its link, else the
 * route's (ipv4_output decides the same way); NULL if there is none. Inline:
 * every segment asks, and the answer is nearly always the first test. */
static inline struct sn_netif *ipv4_out_netif(struct sn_stack *st, struct sn_netif *nif,
                                              uint32_t dst, uint32_t *next_hop)
{
	if (nif && ((dst ^ nif->addr) & nif->mask) == 0) {
		*next_hop = dst;
		return nif;
	}
	return ipv4_route(st, dst, next_hop);
}
/*
 * Fill the IPv4 header at st->frame + SN_ETH_HLEN for a payload of
 * payload_len bytes already in place behind it, and send. A TCP
 * super-segment (SN_NETIF_TSO) gives the size its data is cut at and the
 * number of pieces, which take consecutive IP IDs as the packets they
 * become; gso_size 0 and segs 1 for any other packet.
 */
void ipv4_output(struct sn_stack *st, struct sn_netif *nif, uint32_t src, uint32_t dst,
                 uint8_t proto, size_t payload_len, uint16_t gso_size, unsigned segs);
/* ipv4_output once the route is known: out and next_hop as ipv4_out_netif
 * gave them (out not NULL). For a caller that needed the route already
 * (tcp_emit_gso: does the netif finish the checksum?). Inline: every
 * segment comes through here, and as a call its nine arguments (three on
 * the stack) and saved registers cost more than the header it writes; the
 * call left is arp_output's, which takes five and so can be a jump. */
static inline void ipv4_send(struct sn_stack *st, struct sn_netif *out, uint32_t next_hop,
                             uint32_t src, uint32_t dst, uint8_t proto, size_t payload_len,
                             uint16_t gso_size, unsigned segs)
{
	uint8_t *ip = st->frame + SN_ETH_HLEN;
	struct sn_ipv4 h = {
		.total_len = (uint16_t)(SN_IPV4_HLEN + payload_len),
		.id = st->ip_id,
		.df = true,
		.ttl = 64,
		.proto = proto,
		.src = src,
		.dst = dst,
	};
	/* A super-segment's pieces take the IDs that separate packets would
	 * have had (a TSO NIC increments the ID per piece). */
	st->ip_id = (uint16_t)(st->ip_id + segs);
	sn_ipv4_emit(ip, SN_IPV4_HLEN, &h);
	STAT_ADD(st, ip_tx, segs);
	arp_output(out, next_hop, ip, SN_IPV4_HLEN + payload_len, gso_size);
}

void icmp_input(struct sn_netif *nif, const struct sn_ipv4 *ip, const uint8_t *pkt, size_t len);

/* ---- tcp/ ---------------------------------------------------------------- */

/* Octets of sequence space a segment occupies: data, plus one each for SYN
 * and FIN (RFC 9293 3.4, SEG.LEN). */
static inline uint32_t tcp_seg_seqlen(uint8_t flags, size_t len)
{
	return (uint32_t)len + !!(flags & SN_TH_SYN) + !!(flags & SN_TH_FIN);
}

/* The window we have offered and not yet seen filled: RCV.ADV - RCV.NXT. */
static inline uint32_t tcp_rcv_offered(const struct sn_sock *s)
{
	int32_t d = (int32_t)(s->rcv_adv - s->rcv_nxt);
	return d > 0 ? (uint32_t)d : 0;
}

/* tcb.c */
struct sn_sock *tcb_new(struct sn_stack *st);
struct sn_sock *tcb_new_child(const struct sn_sock *ls);
/* The reassembly queue, allocated on first use (NULL if out of memory). */
struct sn_reass *tcb_reass(struct sn_sock *s);
/* Free the reassembly queue (it is empty, or its contents are no longer wanted). */
void tcb_reass_drop(struct sn_sock *s);
void tcb_ring_prime(struct sn_stack *st, struct sn_ring *r);
/* Is out-of-order data (or a FIN) held? Only asked of a synchronized
 * socket (a listener's pointer is its queues). */
static inline bool tcb_reass_held(const struct sn_sock *s)
{
	return s->reass && !sn_reass_empty(s->reass);
}
void tcb_set_state(struct sn_sock *s, int state);
void tcb_hash_insert(struct sn_sock *s);
void tcb_hash_remove(struct sn_sock *s);
struct sn_sock *tcb_lookup(struct sn_stack *st, const struct sn_tuple *t);
/* The connection with 4-tuple t; if there is none, *tw is its TIME-WAIT
 * record or NULL. */
struct sn_sock *tcb_demux(struct sn_stack *st, const struct sn_tuple *t, struct sn_tw **tw);
/* The segment or connect that called tcb_demux is over: forget its hash. */
void tcb_demux_done(struct sn_stack *st);
int tcb_bind(struct sn_sock *s, uint32_t addr, uint16_t port);
void tcb_unbind(struct sn_sock *s);
struct sn_sock *tcb_find_listener(struct sn_stack *st, uint32_t addr, uint16_t port);
bool tcb_listener_conflict(const struct sn_sock *s);
int tcb_pick_ephemeral(struct sn_stack *st, uint32_t laddr, uint16_t *port);
void tcb_event(struct sn_sock *s, unsigned ev);
void tcb_want_output(struct sn_sock *s);
/* Connection is over (CLOSED): leave tables, stop timers, free if nobody holds it. */
void tcb_close(struct sn_sock *s, int err);
void tcb_maybe_free(struct sn_sock *s);
void tcb_free_dead(struct sn_stack *st);
void tcb_free_all(struct sn_stack *st);
void tcb_enter_time_wait(struct sn_sock *s, bool ack_fin);
struct sn_tw *tw_lookup(struct sn_stack *st, const struct sn_tuple *t);
void tw_restart(struct sn_stack *st, struct sn_tw *tw);
void tw_expire(struct sn_stack *st);
/* Would tw_expire end a record now? A few instructions (sn_poll asks). */
bool tw_due(const struct sn_stack *st);
void tw_kill(struct sn_stack *st, struct sn_tw *tw);
void tw_free_all(struct sn_stack *st);
/* Free the sockets and TIME-WAIT records kept for reuse (stack teardown). */
void tcb_cache_free(struct sn_stack *st);
/* When the oldest TIME-WAIT record expires (µs), or SN_TIME_NEVER. */
uint64_t tw_next_deadline(const struct sn_stack *st);
uint64_t tuple_siphash(const struct sn_tuple *t, const uint8_t key[16]);
int tcb_tables_init(struct sn_stack *st);

/* isn.c */
/* The ISN for s->t into s->iss, and the timestamp offset into s->ts_offset. */
void isn_generate(struct sn_stack *st, struct sn_sock *s);

/* timer.c also: the estimator, with the stack's initial RTO */
void tcp_rtt_init(struct sn_sock *s);

/* input.c */
/* rx_flags: SN_RX_CSUM_OK skips the checksum, as the driver vouched for it. */
void tcp_input(struct sn_netif *nif, const struct sn_ipv4 *ip, const uint8_t *seg, size_t len,
               unsigned rx_flags);
/* ICMP Destination Unreachable (code) about our segment with tuple t and
 * sequence number seq. */
void tcp_icmp_unreach(struct sn_stack *st, const struct sn_tuple *t, uint32_t seq, uint8_t code);
/* The peer's SYN is here: keep the options both sides offered (RFC 7323, 2018). */
void tcp_options_agree(struct sn_sock *s, const struct sn_tcp *th);
void tcp_trace_seg(struct sn_stack *st, enum sn_trace_kind kind, const struct sn_sock *s,
                   uint32_t saddr, uint32_t daddr, const struct sn_tcp *th, uint32_t len,
                   const char *what);

/* output.c */
void tcp_output(struct sn_sock *s);
void tcp_send_ack(struct sn_sock *s);
void tcp_send_rst(struct sn_sock *s);
/* Reply with a RST to a segment that has no connection (RFC 9293 3.10.7.1). */
void tcp_reply_rst(struct sn_stack *st, uint32_t saddr, uint32_t daddr, const struct sn_tcp *th,
                   size_t payload_len);
/* Send a bare segment with the given fields on the tuple's route. wnd is the
 * window in bytes; with s, it is scaled and the segment carries timestamps
 * when the connection uses them. */
void tcp_send_raw(struct sn_stack *st, const struct sn_tuple *t, uint32_t seq, uint32_t ack,
                  uint8_t flags, uint32_t wnd, struct sn_sock *s);
/* A TIME-WAIT record's ACK <SEQ=SND.NXT><ACK=RCV.NXT>. */
void tcp_send_tw_ack(struct sn_stack *st, const struct sn_tw *tw);
/* The window to advertise, in bytes (a multiple of 1 << rcv_wscale once
 * synchronized, so that it survives the shift on the wire). */
uint32_t tcp_rcv_window(struct sn_sock *s);
/* RFC 7323: our clock for TSval, and the options to offer in a SYN. */
uint32_t tcp_ts_now(const struct sn_sock *s);
void tcp_options_init(struct sn_sock *s);
uint32_t tcp_send_mss(const struct sn_sock *s);
uint16_t tcp_rcv_mss_offer(const struct sn_sock *s);
/* Work out the MSS offer again: call when s->netif or TCP_MAXSEG is set. */
void tcp_mss_offer_update(struct sn_sock *s);
bool tcp_challenge_ack_allowed(struct sn_stack *st);

/* timer.c */
/* What a connection's timers run (struct sn_timer.fn, an index into
 * tcp_timer_fns, the stack's wheel's table). */
enum { TCP_TIMER_REXMT, TCP_TIMER_PERSIST, TCP_TIMER_DELACK, TCP_TIMER_KEEP, TCP_TIMER_FIN2,
       TCP_TIMER_FNS };
extern const sn_timer_fn tcp_timer_fns[TCP_TIMER_FNS];
/* Is the retransmission timer running (not persist, which shares it)? */
static inline bool tcp_rexmt_armed(const struct sn_sock *s)
{
	return sn_timer_armed(&s->rexmt_timer) && s->rexmt_timer.fn == TCP_TIMER_REXMT;
}
void tcp_timers_init(struct sn_sock *s);
void tcp_keepalive_defaults(struct sn_sock *s);
void tcp_rexmt_arm(struct sn_sock *s);
void tcp_rexmt_stop(struct sn_sock *s);
void tcp_timers_stop(struct sn_sock *s);
void tcp_fin2_arm(struct sn_sock *s);
void tcp_delack_arm(struct sn_sock *s);
/* input.c: the end of a stack call; arm the delayed-ACK timer of every
 * socket that held back an ACK in it and still owes it. */
void tcp_delack_flush(struct sn_stack *st);
void tcp_persist_update(struct sn_sock *s, bool needed);
void tcp_keepalive_update(struct sn_sock *s);

/* loss.c: loss detection and recovery on the sender side. */
/* An acceptable ACK was processed (SND.UNA and the window already updated);
 * prior_una and prior_wnd are their values before it, len its payload,
 * rtt_us the RTT sample it gave (0: none). */
void tcp_loss_ack(struct sn_sock *s, const struct sn_tcp *th, size_t len, uint32_t prior_una,
                  uint32_t prior_wnd, uint32_t rtt_us);
/* The retransmission timer expired on data or FIN (before rexmt_count counts it). */
void tcp_loss_rto(struct sn_sock *s);
/* Free the scoreboard (connection closed). */
void tcp_loss_free(struct sn_sock *s);

/* listen.c */
int listen_start(struct sn_sock *s, int backlog);
void listen_input(struct sn_sock *ls, const struct sn_ipv4 *ip, const struct sn_tcp *th);
void listen_child_established(struct sn_sock *child);
void listen_child_gone(struct sn_sock *child);
struct sn_sock *listen_accept(struct sn_sock *ls);
void listen_stop(struct sn_sock *ls);

#endif /* SN_CORE_H */
