/*
 * world.h - test fixture for simulation tests: two stacks on a memlink
 * (sim/simnet.h) plus a recorder of everything they trace.
 *
 * Side 0 is "C" (198.18.0.1), side 1 is "S" (198.18.0.2). Segments are
 * recorded when sent, as lines such as
 *     C SYN seq=1000 ack=0 len=0
 *     S SYN,ACK seq=8000 ack=1001 len=0
 * and state changes as
 *     C CLOSED>SYN_SENT
 * so a test compares whole conversations as text.
 */
#ifndef SN_TEST_WORLD_H
#define SN_TEST_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/simnet.h"
#include "synack.h"

#define W_MS 1000ull
#define W_SEC 1000000ull
#define W_MAX_EVENTS 4096

struct w_seg {
	int side;
	uint64_t t;
	struct sn_trace_seg seg;
};

struct w_state {
	int side;
	uint64_t t;
	int from, to;
};

/* A congestion-control trace event (SN_TRACE_CC). */
struct w_cc {
	int side;
	uint64_t t;
	uint32_t cwnd, ssthresh, srtt_us, pipe;
	const char *what;
};
#define W_MAX_CC 65536

struct world {
	struct sn_simnet net;
	struct sn_config cfg[2];
	struct w_seg segs[W_MAX_EVENTS];
	size_t nsegs;
	struct w_state states[W_MAX_EVENTS];
	size_t nstates;
	size_t ndrops[2];
	struct w_cc cc[W_MAX_CC];
	size_t ncc;
	char text[65536];
};

/* Defaults with ISNs fixed at 1000 (side 0) and 8000 (side 1), seeds fixed.
 * Call world_config (optional) between world_prepare and world_start to
 * change cfg[]. */
void world_prepare(struct world *w);

/* cmocka fixtures: setup hands the test a prepared world (not started, so
 * the test may change cfg[] first), teardown frees it. */
int world_setup(void **state);
int world_teardown(void **state);
/* Start a prepared world: one-way delay, neighbours in ARP already. */
void world_go(struct world *w, uint64_t delay_us);
void world_start(struct world *w, uint64_t delay_us);
void world_free(struct world *w);

/* Skip ARP in the recordings' timing: install both neighbours statically. */
void world_static_arp(struct world *w);

struct sn_sock *w_listen(struct world *w, int side, uint16_t port, int backlog);
struct sn_sock *w_connect(struct world *w, int side, uint16_t lport, uint16_t rport);
/* Accept one connection on ls (NULL if none). */
struct sn_sock *w_accept(struct sn_sock *ls);

void w_run(struct world *w, uint64_t for_us);
void w_run_until(struct world *w, uint64_t t_us);

/* The recorded segments (from index `from`) / states, one per line. */
const char *w_segs(struct world *w, size_t from);
const char *w_segs_timed(struct world *w, size_t from);
const char *w_states(struct world *w, int side);

int w_state_of(const struct sn_sock *s);
struct sn_stats w_stats(struct world *w, int side);

#endif

/*
 * Hand-made segments, for what a well-behaved peer never sends: a segment
 * that appears to come from the other side's address, delivered straight to
 * `side`'s stack at the current virtual time (not through the link).
 */
struct w_pkt {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;          /* SN_TH_* */
	uint16_t wnd;           /* 0 means 65535 */
	uint16_t mss;           /* MSS option if non-zero */
	const void *data;
	size_t len;
	/* RFC 7323 and RFC 2018 options, each sent only when set. */
	bool has_wscale;
	uint8_t wscale;
	bool sack_permitted;
	bool has_ts;
	uint32_t ts_val, ts_ecr;
	uint8_t num_sack;       /* SACK blocks (left, right) */
	uint32_t sack[4][2];
};
void w_inject(struct world *w, int side, const struct w_pkt *p);

/* Impair the frames `from_side` sends: loss in parts per million and the
 * one-way delay (the setting replaces the whole impairment of that direction). */
void w_impair(struct world *w, int from_side, uint32_t loss_ppm, uint64_t delay_us);
/* Virtual time of the last recorded change of `side` into `state`, or
 * UINT64_MAX if there is none. */
uint64_t w_state_time(const struct world *w, int side, int state);

/* As w_inject, but the window is taken as given (w_pkt.wnd = 0 means 65535
 * there); `wnd` may be 0, for a peer that closes or shrinks its window. */
void w_inject_wnd(struct world *w, int side, const struct w_pkt *p, uint16_t wnd);
