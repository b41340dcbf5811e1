/*
 * test_transfer.c - the transfer matrix: 10 MiB of seeded pseudo-random data
 * through two stacks on a memlink, under each impairment, one way (C->S,
 * S->C) and both ways at once, with the bytes checked end to end. Both
 * stacks offer window scaling, timestamps and SACK and run CUBIC, as by
 * default; the "-noopt" cells run with all three options off, "-nows",
 * "-nots" and "-nosack" with one off, and "-newreno" with NewReno.
 *
 * The application side is driven only by events, as a real program would be:
 * a sender writes as much as sn_send takes at the start and on every
 * SN_EV_WRITABLE, and half-closes (shutdown SHUT_WR) once all of its data is
 * queued; a receiver reads everything on SN_EV_READABLE until sn_recv returns
 * 0, and a side with nothing to send half-closes when it sees that end of
 * stream. The handles stay open until the cell ends, so that the final state
 * and SO_ERROR can be checked; a cell is done when both sides have seen end
 * of stream and SN_EV_HUP (their FIN was acknowledged, or they went through
 * TIME-WAIT).
 *
 * The receiver checks its stream three ways: total length, an FNV-1a 64 hash
 * compared with the sender's hash of what sn_send accepted, and byte by byte
 * against the regenerated stream, so that a failure names the first wrong
 * offset.
 *
 * Every cell has a fixed seed derived from its name and printed with it, so a
 * failure replays exactly. Two bounds keep a broken engine from hanging CI: a
 * virtual-time limit per cell (the table below says why each is what it is)
 * and a limit on simulation steps, which bounds the wall-clock time.
 *
 * Environment, for debugging:
 *   SN_TRANSFER_CELLS=clean,loss5/both   run only these cells; a name without
 *                                        "/dir" selects all three directions
 *   SN_TRANSFER_SEED=1234                use this seed in every cell
 *   SN_TRANSFER_VERBOSE=1                a progress line every 10 s of
 *                                        virtual time
 *   SN_TRANSFER_NOOPT=1                  no TCP options (WS, TS, SACK) in
 *                                        any cell
 *   SN_TRANSFER_NOTS=1                   no timestamps in any cell
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sim/simnet.h"
#include "synack.h"

#define C 0
#define S 1

#define MS  1000ull
#define SEC 1000000ull
#define MIN (60 * SEC)

#define XFER_BYTES  (10u * 1024 * 1024)
#define SERVER_PORT 80

/* The link's one-way delay in every cell that does not name its own. */
#define BASE_DELAY_US (5 * MS)

/*
 * Bound on sn_simnet_step calls per cell. The busiest cell, rate10m/both,
 * takes about 30 000 (a step per frame the rate limiter spaces out) and the
 * lossy ones a few thousand; this leaves room for an engine with many more
 * timers, while a cell spinning at one instant of virtual time is stopped in
 * seconds of wall-clock time.
 */
#define MAX_STEPS 2000000ull

/* ---- the cells ------------------------------------------------------- */

struct impairment {
	const char *name;     /* for SN_TRANSFER_CELLS */
	const char *describe; /* printed with the cell */
	struct sn_link_impair imp;
	/*
	 * Virtual time after which the cell fails: five to ten times what the
	 * cell takes, so it catches a stall, not a slow but correct engine.
	 * With fast retransmit and SACK recovery a one-way transfer takes
	 * 1.7 s clean, 9 s at 1 % loss, 1 min at 5 %, 5 min at 10 % and up to
	 * 55 min at 20 %, where most losses still end in a timeout (the RTO is
	 * at least a second, and backs off).
	 */
	uint64_t limit_us;
	int expect_csum_drops; /* the receiver must have caught corrupted frames */
	unsigned off;          /* OFF_*: options neither stack offers */
	const char *cc;        /* congestion control, NULL = the default */
};

enum { OFF_WS = 1, OFF_TS = 2, OFF_SACK = 4, OFF_ALL = 7 };

static const struct impairment impairments[] = {
	{
		.name = "clean",
		.describe = "loss=0% delay=5ms",
		.imp = {.delay_us = BASE_DELAY_US},
		.limit_us = 10 * MIN,
	},
	{
		/* The same, with the TCP options of RFC 7323 and RFC 2018 off on
		 * both sides (they are on by default everywhere else). */
		.name = "clean-noopt",
		.describe = "loss=0% delay=5ms, no WS/TS/SACK",
		.imp = {.delay_us = BASE_DELAY_US},
		.limit_us = 10 * MIN,
		.off = OFF_ALL,
	},
	{
		.name = "loss1",
		.describe = "loss=1% delay=5ms",
		.imp = {.loss_ppm = 10000, .delay_us = BASE_DELAY_US},
		.limit_us = 30 * MIN,
	},
	{
		/* Each option off on its own, and the other algorithm. */
		.name = "loss1-nows",
		.describe = "loss=1% delay=5ms, no WS",
		.imp = {.loss_ppm = 10000, .delay_us = BASE_DELAY_US},
		.limit_us = 30 * MIN,
		.off = OFF_WS,
	},
	{
		.name = "loss1-nots",
		.describe = "loss=1% delay=5ms, no TS",
		.imp = {.loss_ppm = 10000, .delay_us = BASE_DELAY_US},
		.limit_us = 30 * MIN,
		.off = OFF_TS,
	},
	{
		.name = "loss1-nosack",
		.describe = "loss=1% delay=5ms, no SACK",
		.imp = {.loss_ppm = 10000, .delay_us = BASE_DELAY_US},
		.limit_us = 30 * MIN,
		.off = OFF_SACK,
	},
	{
		.name = "loss1-newreno",
		.describe = "loss=1% delay=5ms, NewReno",
		.imp = {.loss_ppm = 10000, .delay_us = BASE_DELAY_US},
		.limit_us = 30 * MIN,
		.cc = "newreno",
	},
	{
		.name = "loss5",
		.describe = "loss=5% delay=5ms",
		.imp = {.loss_ppm = 50000, .delay_us = BASE_DELAY_US},
		.limit_us = 60 * MIN,
	},
	{
		.name = "loss5-noopt",
		.describe = "loss=5% delay=5ms, no WS/TS/SACK",
		.imp = {.loss_ppm = 50000, .delay_us = BASE_DELAY_US},
		.limit_us = 60 * MIN,
		.off = OFF_ALL,
	},
	{
		.name = "loss10",
		.describe = "loss=10% delay=5ms",
		.imp = {.loss_ppm = 100000, .delay_us = BASE_DELAY_US},
		.limit_us = 120 * MIN,
	},
	{
		.name = "loss20",
		.describe = "loss=20% delay=5ms",
		.imp = {.loss_ppm = 200000, .delay_us = BASE_DELAY_US},
		.limit_us = 240 * MIN,
	},
	{
		.name = "dup5",
		.describe = "dup=5% delay=5ms",
		.imp = {.dup_ppm = 50000, .delay_us = BASE_DELAY_US},
		.limit_us = 10 * MIN,
	},
	{
		.name = "reorder10",
		.describe = "reorder=10% reorder_delay=10ms delay=5ms",
		.imp = {.reorder_ppm = 100000, .reorder_delay_us = 10 * MS, .delay_us = BASE_DELAY_US},
		.limit_us = 30 * MIN,
	},
	{
		.name = "corrupt1",
		.describe = "corrupt=1% delay=5ms",
		.imp = {.corrupt_ppm = 10000, .delay_us = BASE_DELAY_US},
		.limit_us = 30 * MIN,
		.expect_csum_drops = 1,
	},
	{
		.name = "rate10m",
		.describe = "delay=20ms rate=10Mbit/s queue=64KiB",
		.imp = {.delay_us = 20 * MS, .rate_bps = 10000000, .queue_limit_bytes = 64 * 1024},
		.limit_us = 10 * MIN,
	},
};

#define NUM_IMPAIRMENTS (sizeof(impairments) / sizeof(impairments[0]))

enum direction { DIR_C2S, DIR_S2C, DIR_BOTH, NUM_DIRS };
static const char *const dir_names[NUM_DIRS] = {"c2s", "s2c", "both"};

struct cell {
	const struct impairment *imp;
	enum direction dir;
	char name[32]; /* "loss5/both" */
};

static struct cell cells[NUM_IMPAIRMENTS * NUM_DIRS];

/* ---- the data -------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Bytes [off, off + len) of the stream with key `key`. Each 8-byte word is a
 * function of its index alone, so the receiver can regenerate any stretch it
 * is handed without keeping a copy of what was sent.
 */
static void stream_fill(uint64_t key, uint64_t off, uint8_t *buf, size_t len)
{
	while (len) {
		uint64_t word = mix64(key + (off / 8) * 0x9e3779b97f4a7c15ULL);
		unsigned at = (unsigned)(off % 8);

		for (; at < 8 && len; at++, len--, off++)
			*buf++ = (uint8_t)(word >> (8 * at));
	}
}

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME  1099511628211ULL

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

/* ---- one side of a connection ---------------------------------------- */

#define STAGE_BYTES (64 * 1024)

struct side {
	struct sn_sock *s;

	/* Sending. */
	uint64_t tx_key;
	size_t to_send;
	size_t sent; /* accepted by sn_send */
	uint64_t tx_hash;
	uint8_t stage[STAGE_BYTES]; /* stream bytes [stage_off, stage_off + stage_len) */
	size_t stage_off, stage_len;
	int shut;

	/* Receiving. */
	uint64_t rx_key;
	size_t rcvd;
	uint64_t rx_hash;
	int eof;
	int mismatch;
	size_t first_bad;  /* stream offset of the first wrong byte */
	uint8_t got, want; /* the bytes there */

	int hup;
	int errors;    /* SN_EV_ERROR or an unexpected return value */
	char why[128]; /* the first of them */
};

static void side_error(struct side *sd, const char *fmt, ...)
{
	va_list ap;

	if (!sd->errors++) {
		va_start(ap, fmt);
		vsnprintf(sd->why, sizeof(sd->why), fmt, ap);
		va_end(ap);
	}
}

static void side_shutdown(struct side *sd)
{
	int r;

	if (sd->shut)
		return;
	sd->shut = 1;
	r = sn_shutdown(sd->s, SHUT_WR);
	if (r != 0)
		side_error(sd, "shutdown: %d", r);
}

static void side_write(struct side *sd)
{
	while (sd->sent < sd->to_send) {
		ssize_t r;

		if (sd->stage_len == 0) {
			size_t n = sd->to_send - sd->sent;

			if (n > STAGE_BYTES)
				n = STAGE_BYTES;
			sd->stage_off = 0;
			sd->stage_len = n;
			stream_fill(sd->tx_key, sd->sent, sd->stage, n);
		}
		r = sn_send(sd->s, sd->stage + sd->stage_off, sd->stage_len, 0);
		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			side_error(sd, "send: %zd after %zu bytes", r, sd->sent);
			return;
		}
		sd->tx_hash = fnv1a(sd->tx_hash, sd->stage + sd->stage_off, (size_t)r);
		sd->sent += (size_t)r;
		sd->stage_off += (size_t)r;
		sd->stage_len -= (size_t)r;
	}
	/* All queued: the sender's close. The FIN follows the data. */
	if (sd->to_send)
		side_shutdown(sd);
}

static void side_check(struct side *sd, const uint8_t *buf, size_t len)
{
	uint8_t want[8192];

	sd->rx_hash = fnv1a(sd->rx_hash, buf, len);
	if (sd->mismatch)
		return;
	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof(want) ? len - done : sizeof(want);

		stream_fill(sd->rx_key, sd->rcvd + done, want, n);
		if (memcmp(buf + done, want, n) != 0) {
			for (size_t i = 0; i < n; i++) {
				if (buf[done + i] != want[i]) {
					sd->mismatch = 1;
					sd->first_bad = sd->rcvd + done + i;
					sd->got = buf[done + i];
					sd->want = want[i];
					return;
				}
			}
		}
		done += n;
	}
}

static void side_read(struct side *sd)
{
	uint8_t buf[16384];

	for (;;) {
		ssize_t r = sn_recv(sd->s, buf, sizeof(buf), 0);

		if (r == -EAGAIN)
			return;
		if (r == 0) {
			if (!sd->eof) {
				sd->eof = 1;
				/* A side with nothing to send closes when the peer has. */
				if (!sd->to_send)
					side_shutdown(sd);
			}
			return;
		}
		if (r < 0) {
			side_error(sd, "recv: %zd after %zu bytes", r, sd->rcvd);
			return;
		}
		side_check(sd, buf, (size_t)r);
		sd->rcvd += (size_t)r;
	}
}

static void side_cb(struct sn_sock *s, unsigned ev, void *user)
{
	struct side *sd = user;

	if (ev & SN_EV_ERROR) {
		int err = 0;
		socklen_t len = sizeof(err);

		sn_getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
		side_error(sd, "error event, SO_ERROR %d (%s)", err, strerror(err));
	}
	if (ev & SN_EV_READABLE)
		side_read(sd);
	if (ev & (SN_EV_WRITABLE | SN_EV_CONNECTED))
		side_write(sd);
	if (ev & SN_EV_HUP)
		sd->hup = 1;
}

static int side_done(const struct side *sd)
{
	return sd->sent == sd->to_send && sd->shut && sd->eof && sd->hup;
}

/* ---- a running cell -------------------------------------------------- */

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double secs(uint64_t us)
{
	return (double)us / 1e6;
}

/* The last events both stacks traced, printed when a cell fails. */
#define TRACE_RING 96

struct trace_rec {
	int side;
	struct sn_trace_event ev;
};

struct run {
	const struct cell *cell;
	uint64_t seed;
	struct sn_simnet net;
	struct sn_sock *listener;
	struct side side[2];
	int verbose;
	struct trace_rec trace[TRACE_RING];
	uint64_t ntrace;
	struct trace_ctx {
		struct run *r;
		int side;
	} trace_ctx[2];
};

static void trace_cb(const struct sn_trace_event *ev, void *ctx)
{
	struct trace_ctx *tc = ctx;
	struct trace_rec *rec = &tc->r->trace[tc->r->ntrace++ % TRACE_RING];

	rec->side = tc->side;
	rec->ev = *ev;
	/* The strings are static in the stack; the socket pointer is not kept. */
	rec->ev.sock = NULL;
}

static void print_trace(const struct run *r)
{
	uint64_t first = r->ntrace > TRACE_RING ? r->ntrace - TRACE_RING : 0;
	uint32_t isn[2] = {0, 0};

	for (int i = 0; i < 2; i++) {
		struct sn_tcp_info info;

		if (r->side[i].s && sn_tcp_info(r->side[i].s, &info) == 0)
			isn[i] = info.iss;
	}

	print_message("    last %" PRIu64 " traced events (sequence numbers relative to "
	              "each side's ISN):\n",
	              r->ntrace - first);
	for (uint64_t i = first; i < r->ntrace; i++) {
		const struct trace_rec *rec = &r->trace[i % TRACE_RING];
		const struct sn_trace_event *ev = &rec->ev;
		char who = rec->side == C ? 'C' : 'S';

		switch (ev->kind) {
		case SN_TRACE_SEG_IN:
		case SN_TRACE_SEG_OUT: {
			/* Incoming segments carry the peer's sequence numbers. */
			int from = ev->kind == SN_TRACE_SEG_OUT ? rec->side : 1 - rec->side;

			print_message("    %10.6f %c %s %s%s%s%s seq=%u ack=%u len=%u wnd=%u\n",
			              secs(ev->now_us), who,
			              ev->kind == SN_TRACE_SEG_OUT ? "out" : "in ",
			              ev->seg.flags & SN_TH_SYN ? "S" : "",
			              ev->seg.flags & SN_TH_FIN ? "F" : "",
			              ev->seg.flags & SN_TH_RST ? "R" : "",
			              ev->seg.flags & SN_TH_ACK ? "." : "", ev->seg.seq - isn[from],
			              ev->seg.ack - isn[1 - from], ev->seg.len, ev->seg.wnd);
			break;
		}
		case SN_TRACE_STATE:
			print_message("    %10.6f %c state %s -> %s\n", secs(ev->now_us), who,
			              sn_state_name(ev->old_state), sn_state_name(ev->new_state));
			break;
		case SN_TRACE_TIMER:
			print_message("    %10.6f %c timer %s\n", secs(ev->now_us), who,
			              ev->what ? ev->what : "?");
			break;
		case SN_TRACE_DROP:
			print_message("    %10.6f %c drop: %s\n", secs(ev->now_us), who,
			              ev->what ? ev->what : "?");
			break;
		default:
			break;
		}
	}
}

static void accept_cb(struct sn_sock *ls, unsigned ev, void *user)
{
	struct run *r = user;
	struct side *sd = &r->side[S];
	struct sn_sock *s;
	int err;

	if (!(ev & SN_EV_ACCEPTABLE))
		return;
	s = sn_accept(ls, NULL, NULL, &err);
	if (!s)
		return;
	if (sd->s) {
		/* One connection per cell; a second would be a bug somewhere. */
		side_error(sd, "a second connection was accepted");
		sn_abort(s);
		return;
	}
	sd->s = s;
	sn_set_event_cb(s, side_cb, sd);
	/* A new connection is writable at once: no event will say so. */
	side_write(sd);
	side_read(sd);
}

static uint64_t seed_of(const char *name)
{
	const char *env = getenv("SN_TRANSFER_SEED");

	if (env && *env)
		return strtoull(env, NULL, 0);
	return fnv1a(FNV_OFFSET, (const uint8_t *)name, strlen(name));
}

static void run_start(struct run *r, const struct cell *cell)
{
	struct sn_config cfg[2];
	uint64_t x;
	int err;

	memset(r, 0, sizeof(*r));
	r->cell = cell;
	r->seed = seed_of(cell->name);
	r->verbose = getenv("SN_TRANSFER_VERBOSE") != NULL;
	x = r->seed;
	for (int i = 0; i < 2; i++) {
		sn_config_init(&cfg[i]);
		/* Everything the stacks choose at random follows from the seed too. */
		cfg[i].random_seed = mix64(x += 0x9e3779b97f4a7c15ULL) | 1;
		cfg[i].isn_key_set = 1;
		unsigned off = cell->imp->off | (getenv("SN_TRANSFER_NOOPT") ? OFF_ALL : 0);
		cfg[i].no_wscale = !!(off & OFF_WS);
		cfg[i].no_timestamps = !!(off & OFF_TS);
		cfg[i].no_sack = !!(off & OFF_SACK);
		if (cell->imp->cc)
			snprintf(cfg[i].cc_default, sizeof(cfg[i].cc_default), "%s", cell->imp->cc);
		if (getenv("SN_TRANSFER_NOTS"))
			cfg[i].no_timestamps = 1;
		for (int k = 0; k < 16; k += 8) {
			uint64_t v = mix64(x += 0x9e3779b97f4a7c15ULL);

			memcpy(cfg[i].isn_key + k, &v, 8);
		}
	}
	err = sn_simnet_init(&r->net, &cfg[C], &cfg[S], mix64(x + 1), 0);
	assert_int_equal(err, 0);
	for (int i = 0; i < 2; i++) {
		r->trace_ctx[i] = (struct trace_ctx){r, i};
		sn_set_trace(r->net.stack[i], trace_cb, &r->trace_ctx[i]);
	}
	sn_memlink_set_impair(r->net.link, 0, &cell->imp->imp);
	sn_memlink_set_impair(r->net.link, 1, &cell->imp->imp);
	/* The matrix is about TCP; keep ARP (its own tests elsewhere) out of the losses. */
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in peer = sn_simnet_sockaddr(1 - i, 0);
		uint8_t mac[6] = {0x02, 0, 0, 0, 0, (uint8_t)(2 - i)};

		assert_int_equal(sn_arp_add(r->net.stack[i], peer.sin_addr, mac), 0);
	}

	for (int i = 0; i < 2; i++) {
		struct side *sd = &r->side[i];

		sd->tx_key = mix64(r->seed ^ (0x5a5a0000u + (uint64_t)i));
		sd->rx_key = mix64(r->seed ^ (0x5a5a0000u + (uint64_t)(1 - i)));
		sd->tx_hash = FNV_OFFSET;
		sd->rx_hash = FNV_OFFSET;
	}
	if (cell->dir != DIR_S2C)
		r->side[C].to_send = XFER_BYTES;
	if (cell->dir != DIR_C2S)
		r->side[S].to_send = XFER_BYTES;

	r->listener = sn_socket(r->net.stack[S]);
	assert_non_null(r->listener);
	{
		struct sockaddr_in a = sn_simnet_sockaddr(S, SERVER_PORT);

		assert_int_equal(sn_bind(r->listener, (struct sockaddr *)&a, sizeof(a)), 0);
	}
	assert_int_equal(sn_listen(r->listener, 1), 0);
	sn_set_event_cb(r->listener, accept_cb, r);

	r->side[C].s = sn_socket(r->net.stack[C]);
	assert_non_null(r->side[C].s);
	sn_set_event_cb(r->side[C].s, side_cb, &r->side[C]);
	{
		struct sockaddr_in to = sn_simnet_sockaddr(S, SERVER_PORT);

		assert_int_equal(sn_connect(r->side[C].s, (struct sockaddr *)&to, sizeof(to)),
		                 -EINPROGRESS);
	}
}

static void run_free(struct run *r)
{
	for (int i = 0; i < 2; i++)
		if (r->side[i].s)
			sn_close(r->side[i].s);
	if (r->listener)
		sn_close(r->listener);
	sn_simnet_free(&r->net);
	memset(r, 0, sizeof(*r));
}

static const char *state_of(const struct sn_sock *s)
{
	struct sn_tcp_info info;

	if (!s)
		return "(none)";
	if (sn_tcp_info(s, &info) != 0)
		return "?";
	return sn_state_name(info.state);
}

/* Where each side stands: for the progress lines and for a failure. */
static void print_sides(const struct run *r)
{
	for (int i = 0; i < 2; i++) {
		const struct side *sd = &r->side[i];
		struct sn_tcp_info info = {0};
		struct sn_stats st;

		if (sd->s)
			sn_tcp_info(sd->s, &info);
		sn_stats(r->net.stack[i], &st);
		print_message("    %c: %s sent=%zu/%zu rcvd=%zu eof=%d hup=%d una=%u nxt=%u "
		              "wnd=%u rto=%ums retrans=%" PRIu64 " timeouts=%" PRIu64
		              " errors=%d%s%s\n",
		              i == C ? 'C' : 'S', state_of(sd->s), sd->sent, sd->to_send, sd->rcvd,
		              sd->eof, sd->hup, info.snd_una - info.iss, info.snd_nxt - info.iss,
		              info.snd_wnd, info.rto_us / 1000, st.tcp_retrans, st.tcp_timeouts,
		              sd->errors, sd->errors ? " first: " : "", sd->errors ? sd->why : "");
	}
}

/* One cell runs at a time; static, since the staging buffers make it large. */
static struct run the_run;

/* Step the simulation until the cell is done (NULL) or cannot be (why not). */
static const char *run_loop(struct run *r)
{
	const uint64_t limit_us = r->cell->imp->limit_us;
	uint64_t next_report_us = 10 * SEC;

	while (!(side_done(&r->side[C]) && side_done(&r->side[S]))) {
		if (r->side[C].mismatch || r->side[S].mismatch)
			return "a wrong byte";
		if (r->side[C].errors || r->side[S].errors)
			return "an error";
		if (r->net.steps >= MAX_STEPS)
			return "the step limit";
		if (!sn_simnet_step(&r->net, limit_us)) {
			int idle = sn_memlink_next_deadline(r->net.link) == SN_TIME_NEVER &&
			           sn_next_deadline(r->net.stack[C]) == SN_TIME_NEVER &&
			           sn_next_deadline(r->net.stack[S]) == SN_TIME_NEVER;

			return idle ? "a stall (nothing scheduled)" : "the virtual time limit";
		}
		if (r->verbose && r->net.now_us >= next_report_us) {
			print_message("  t=%.1fs steps=%" PRIu64 "\n", secs(r->net.now_us),
			              r->net.steps);
			print_sides(r);
			next_report_us += 10 * SEC;
		}
	}
	return NULL;
}

/* The bytes: none wrong, none missing, none extra. */
static void check_bytes(const struct run *r, const char *stop)
{
	for (int i = 0; i < 2; i++) {
		const struct side *rx = &r->side[i];

		if (rx->mismatch)
			fail_msg(
			    "%c received a wrong byte at stream offset %zu: 0x%02x, want 0x%02x",
			    i == C ? 'C' : 'S', rx->first_bad, rx->got, rx->want);
	}
	if (stop) {
		const char *why = r->side[C].errors   ? r->side[C].why
		                  : r->side[S].errors ? r->side[S].why
		                                      : stop;

		fail_msg("cell %s did not finish (%s): %zu of %zu bytes C->S and %zu of %zu S->C "
		         "got through",
		         r->cell->name, why, r->side[S].rcvd, r->side[C].to_send, r->side[C].rcvd,
		         r->side[S].to_send);
	}
	for (int i = 0; i < 2; i++) {
		const struct side *rx = &r->side[i];
		const struct side *tx = &r->side[1 - i];

		assert_int_equal(tx->sent, tx->to_send);
		assert_int_equal(rx->rcvd, tx->to_send);
		if (rx->rx_hash != tx->tx_hash)
			fail_msg("%c: hash of the bytes received %016" PRIx64
			         ", of those sent %016" PRIx64,
			         i == C ? 'C' : 'S', rx->rx_hash, tx->tx_hash);
	}
}

/* Both sides closed cleanly: nobody reset or timed out, nothing pending. */
static void check_close(struct run *r, const struct sn_stats st[2])
{
	for (int i = 0; i < 2; i++) {
		struct side *sd = &r->side[i];
		struct sn_tcp_info info;
		int so_error = -1;
		socklen_t len = sizeof(so_error);
		uint8_t b;

		assert_int_equal(sd->errors, 0);
		assert_int_equal(sn_tcp_info(sd->s, &info), 0);
		/* A side in TIME-WAIT has handed it to a compact record already. */
		assert_int_equal(info.state, SN_CLOSED);
		assert_int_equal(sn_getsockopt(sd->s, SOL_SOCKET, SO_ERROR, &so_error, &len), 0);
		assert_int_equal(so_error, 0);
		assert_int_equal(sn_recv(sd->s, &b, 1, 0), 0);
		assert_int_equal(st[i].tcp_estab_resets, 0);
		assert_int_equal(st[i].tcp_timeouts, 0);
	}
	/* Whoever closed first went through TIME-WAIT. */
	assert_true(st[C].tcp_tw_created + st[S].tcp_tw_created >= 1);
}

static void run_cell(void **state)
{
	const struct cell *cell = *state;
	struct run *r = &the_run;
	struct sn_stats st[2];
	const char *stop;
	double wall;

	/* From here on the teardown frees the run, also when an assertion fails. */
	*state = r;
	run_start(r, cell);
	print_message("cell %s (%s, dir=%s) seed=%" PRIu64 "\n", cell->name, cell->imp->describe,
	              dir_names[cell->dir], r->seed);
	wall = wall_now();
	stop = run_loop(r);
	wall = wall_now() - wall;

	for (int i = 0; i < 2; i++)
		sn_stats(r->net.stack[i], &st[i]);
	if (stop) {
		print_message(
		    "cell %s FAILED: stopped by %s at t=%.3fs (limit %.0fs) after %" PRIu64
		    " steps, %.2fs wall; delivered C->S %zu of %zu, S->C %zu of %zu\n",
		    cell->name, stop, secs(r->net.now_us), secs(cell->imp->limit_us), r->net.steps,
		    wall, r->side[S].rcvd, r->side[C].to_send, r->side[C].rcvd, r->side[S].to_send);
		print_sides(r);
		print_trace(r);
	} else {
		print_message("cell %s: %.3fs virtual, %.2fs wall, %" PRIu64 " steps; segments "
		              "C=%" PRIu64 " S=%" PRIu64 "; retrans C=%" PRIu64 " S=%" PRIu64
		              "; delivered C->S=%zu S->C=%zu\n",
		              cell->name, secs(r->net.now_us), wall, r->net.steps, st[C].tcp_tx,
		              st[S].tcp_tx, st[C].tcp_retrans, st[S].tcp_retrans, r->side[S].rcvd,
		              r->side[C].rcvd);
	}
	check_bytes(r, stop);
	check_close(r, st);
	if (!strncmp(cell->imp->name, "clean", 5) && cell->dir != DIR_BOTH) {
		/* On a clean one-way path the receiver sends one ACK for every
		 * second full-sized segment (RFC 5681 4.2), not one for each:
		 * its window updates and delayed ACKs must not undo that. */
		int rx = r->side[C].to_send ? S : C;
		print_message("    receiver sent %" PRIu64 " segments for the sender's %" PRIu64 "\n",
		              st[rx].tcp_tx, st[1 - rx].tcp_tx);
		assert_true(st[rx].tcp_tx <= st[1 - rx].tcp_tx / 2 + 8);
	}
	if (cell->imp->expect_csum_drops) {
		/* Every receiver of data caught corrupted frames by their checksums. */
		for (int i = 0; i < 2; i++) {
			if (!r->side[1 - i].to_send)
				continue;
			print_message("    %c dropped %" PRIu64 " TCP and %" PRIu64
			              " IP checksum failures\n",
			              i == C ? 'C' : 'S', st[i].tcp_drop_csum, st[i].ip_drop_csum);
			assert_true(st[i].tcp_drop_csum + st[i].ip_drop_csum > 0);
		}
	}
}

static int cell_teardown(void **state)
{
	if (*state == &the_run)
		run_free(&the_run);
	return 0;
}

/* ---- selection -------------------------------------------------------- */

/* Is `cell` named in the comma-separated list (a bare impairment name selects all
 * of its directions)? No list selects everything. */
static int selected(const struct cell *cell, const char *list)
{
	size_t imp_len = strlen(cell->imp->name);

	if (!list || !*list)
		return 1;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");

		if ((n == strlen(cell->name) && !strncmp(p, cell->name, n)) ||
		    (n == imp_len && !strncmp(p, cell->imp->name, n)))
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void skipped_cell(void **state)
{
	skip();
}

int main(void)
{
	struct CMUnitTest tests[NUM_IMPAIRMENTS * NUM_DIRS];
	const char *list = getenv("SN_TRANSFER_CELLS");
	size_t n = 0;

	for (size_t i = 0; i < NUM_IMPAIRMENTS; i++) {
		for (int d = 0; d < NUM_DIRS; d++, n++) {
			struct cell *cell = &cells[n];

			cell->imp = &impairments[i];
			cell->dir = (enum direction)d;
			snprintf(cell->name, sizeof(cell->name), "%s/%s", impairments[i].name,
			         dir_names[d]);
			tests[n] = (struct CMUnitTest){
			    .name = cell->name,
			    .test_func = selected(cell, list) ? run_cell : skipped_cell,
			    .teardown_func = cell_teardown,
			    .initial_state = cell,
			};
		}
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
