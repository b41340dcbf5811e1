/*
 * ladder.c - the ladder-diagram printer.
 *
 * Call chain: sn_ladder_trace() (one per stack event) and
 * sn_ladder_link_observer() (one per memlink event) feed the bookkeeping
 * below; print_seg_line(), print_mark() and print_note() write the lines.
 *
 * A segment line can only be written when the segment arrives, and even then
 * not at once: the receiver's state is final only after the STATE events that
 * follow its SEG_IN. So the ladder keeps
 *
 *   - per side, the connections it has seen and their current state, so a
 *     SEG_OUT can be stamped with the sender's state;
 *   - per direction, the segments sent and not yet arrived, each with that
 *     stamp, so the arrival line shows the state the sender was in when it
 *     sent the segment, not the state it has reached since;
 *   - one pending arrival, printed at the next event that is not a STATE
 *     event of its receiver;
 *   - state changes that no segment line will show ("marks"), printed at
 *     sn_ladder_flush unless a SEG_OUT of the same connection carries them
 *     first. A connect or close always sends a segment, maybe only at the
 *     next sn_poll, so its mark waits through flushes for that segment
 *     until something else happens to the connection.
 *
 * Lines are written in the order the ladder learns their content, which is
 * time order as long as the driver flushes after each sn_input / sn_poll.
 *
 * The stacks do not promise that a struct sn_sock outlives its connection
 * (TIME-WAIT keeps a compact record, a freed socket's address can be reused),
 * so a connection is found by its 4-tuple first and by its socket pointer
 * only when a STATE event gives nothing else.
 */
#include "trace/ladder.h"
#include "trace/seg.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

/* Column layout, in characters. The widest state name is ESTABLISHED (11). */
#define PREFIX_W 8 /* "[40001] " when several connections appear */
#define TIME_W 10  /* "%6u.%03u" milliseconds */
#define STATE_W 11
#define MID_W 62   /* the arrow with its label; longer labels push the right column */
#define GAP_W 2
#define LINE_CAP 512
#define REASON_CAP 64

/*
 * Segments sent but never seen to arrive (lost on a link without an observer,
 * dropped before the receiver traced them) would otherwise pile up for the
 * whole run; past this many per direction the oldest is forgotten.
 */
#define FLIGHT_MAX 4096

#define STATE_UNKNOWN (-1)

/* One connection's 4-tuple as seen from one side. */
struct tuple {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
};

struct conn {
	const struct sn_sock *sock; /* NULL once the stack stops naming it */
	bool has_tuple;
	bool has_local; /* a listener: only t.laddr and t.lport are known */
	struct tuple t;
	int state; /* enum sn_tcp_state or STATE_UNKNOWN */
};

/* A state change waiting for a line of its own. */
struct mark {
	int side;
	const struct sn_sock *sock;
	bool has_tuple;
	struct tuple t;
	int old_state, new_state;
	uint64_t t_us;
	bool awaits_seg; /* the call that made it always sends a segment */
};

/* A segment on its way, and the state its sender was in when it left. */
struct flight {
	struct sn_trace_seg seg;
	int snd_state;
};

/*
 * A connection as both sides see it: endpoint 0 is whichever sent the first
 * segment we saw. base[i] is the ISN of endpoint i, for relative numbers.
 */
struct flow {
	uint32_t addr[2];
	uint16_t port[2];
	bool client_known;
	uint16_t client_port;
	bool base_known[2];
	uint32_t base[2];
};

struct arrival {
	bool active;
	int side; /* the receiver */
	struct sn_trace_seg seg;
	int snd_state, rcv_state;
	uint64_t t_us;
	bool dropped;
	char reason[REASON_CAP];
};

struct ladder_side {
	struct sn_ladder *l;
	int idx;
	bool seen; /* any trace event from this side yet */
	int first_state;
	struct conn *conns;
	size_t nconns, capconns;
};

struct flight_list {
	struct flight *v;
	size_t n, cap;
};

struct sn_ladder {
	FILE *out;
	char *name[2];
	bool relative;
	bool header_done;
	bool multi; /* more than one flow seen: prefix lines with the client port */
	struct ladder_side side[2];
	struct flight_list flight[2]; /* indexed by the sending side */
	struct flow *flows;
	size_t nflows, capflows;
	struct mark *marks;
	size_t nmarks, capmarks;
	struct arrival pend;
};

struct line {
	char s[LINE_CAP];
	size_t n;
};

/* ---- small helpers ---------------------------------------------------- */

/* Room for need elements; returns the (possibly moved) array or NULL. */
static void *grow(void *v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return v;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SIZE_MAX / elem)
		return NULL;
	nv = realloc(v, ncap * elem);
	if (nv)
		*cap = ncap;
	return nv;
}

/* The textbook's short names; sn_state_name spells SYN_RECEIVED in full. */
static const char *short_state(int state)
{
	static const char *const names[SN_NUM_STATES] = {
		[SN_CLOSED] = "CLOSED",           [SN_LISTEN] = "LISTEN",
		[SN_SYN_SENT] = "SYN_SENT",       [SN_SYN_RECEIVED] = "SYN_RCVD",
		[SN_ESTABLISHED] = "ESTABLISHED", [SN_FIN_WAIT_1] = "FIN_WAIT_1",
		[SN_FIN_WAIT_2] = "FIN_WAIT_2",   [SN_CLOSE_WAIT] = "CLOSE_WAIT",
		[SN_CLOSING] = "CLOSING",         [SN_LAST_ACK] = "LAST_ACK",
		[SN_TIME_WAIT] = "TIME_WAIT",
	};

	if (state < 0 || state >= SN_NUM_STATES)
		return "?";
	return names[state];
}

static bool tuple_eq(const struct tuple *a, const struct tuple *b)
{
	return a->laddr == b->laddr && a->raddr == b->raddr && a->lport == b->lport &&
	       a->rport == b->rport;
}

/* The segment's 4-tuple as its sender sees it. */
static struct tuple tuple_out(const struct sn_trace_seg *s)
{
	struct tuple t = { s->saddr, s->daddr, s->sport, s->dport };
	return t;
}

/* ... and as its receiver sees it. */
static struct tuple tuple_in(const struct sn_trace_seg *s)
{
	struct tuple t = { s->daddr, s->saddr, s->dport, s->sport };
	return t;
}

/* The fields that tell one segment from another on the wire. */
static bool seg_eq(const struct sn_trace_seg *a, const struct sn_trace_seg *b)
{
	return a->saddr == b->saddr && a->daddr == b->daddr && a->sport == b->sport &&
	       a->dport == b->dport && a->seq == b->seq && a->ack == b->ack &&
	       a->flags == b->flags && a->wnd == b->wnd && a->len == b->len;
}

static bool seg_present(const struct sn_trace_seg *s)
{
	return s->sport != 0 || s->dport != 0;
}

/* ---- lines ------------------------------------------------------------ */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void line_add(struct line *ln, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (ln->n >= LINE_CAP - 1)
		return;
	va_start(ap, fmt);
	w = vsnprintf(ln->s + ln->n, LINE_CAP - ln->n, fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	ln->n += (size_t)w < LINE_CAP - 1 - ln->n ? (size_t)w : LINE_CAP - 1 - ln->n;
}

static void line_char(struct line *ln, char c)
{
	if (ln->n < LINE_CAP - 1) {
		ln->s[ln->n++] = c;
		ln->s[ln->n] = '\0';
	}
}

/*
 * Move to column col. Text that ran into this column still gets one space
 * after it, so an over-long field shifts the rest of the line instead of
 * running into it.
 */
static void line_col(struct line *ln, size_t col)
{
	if (ln->n >= col && ln->n > 0 && ln->s[ln->n - 1] != ' ')
		line_char(ln, ' ');
	while (ln->n < col && ln->n < LINE_CAP - 1)
		line_char(ln, ' ');
}

static void line_end(struct sn_ladder *l, struct line *ln)
{
	while (ln->n > 0 && ln->s[ln->n - 1] == ' ')
		ln->s[--ln->n] = '\0';
	fputs(ln->s, l->out);
	fputc('\n', l->out);
}

static size_t col_time(const struct sn_ladder *l)
{
	return l->multi ? PREFIX_W : 0;
}

static size_t col_left(const struct sn_ladder *l)
{
	return col_time(l) + TIME_W + GAP_W;
}

static size_t col_mid(const struct sn_ladder *l)
{
	return col_left(l) + STATE_W + GAP_W;
}

static size_t col_right(const struct sn_ladder *l)
{
	return col_mid(l) + MID_W + GAP_W;
}

static size_t col_side(const struct sn_ladder *l, int side)
{
	return side == 0 ? col_left(l) : col_right(l);
}

/* ---- flows: connection numbering and relative sequence numbers -------- */

/* The flow of a segment, and which endpoint (0 or 1) sent it. */
static struct flow *flow_find(struct sn_ladder *l, uint32_t saddr, uint16_t sport,
                              uint32_t daddr, uint16_t dport, int *dir)
{
	for (size_t i = 0; i < l->nflows; i++) {
		struct flow *f = &l->flows[i];

		for (int d = 0; d < 2; d++) {
			if (f->addr[d] == saddr && f->port[d] == sport && f->addr[1 - d] == daddr &&
			    f->port[1 - d] == dport) {
				*dir = d;
				return f;
			}
		}
	}
	return NULL;
}

static void flow_note(struct sn_ladder *l, const struct sn_trace_seg *s)
{
	struct flow *f;
	void *nv;
	int d;

	f = flow_find(l, s->saddr, s->sport, s->daddr, s->dport, &d);
	if (!f) {
		nv = grow(l->flows, &l->capflows, l->nflows + 1, sizeof(*l->flows));
		if (!nv)
			return;
		l->flows = nv;
		f = &l->flows[l->nflows++];
		memset(f, 0, sizeof(*f));
		f->addr[0] = s->saddr;
		f->port[0] = s->sport;
		f->addr[1] = s->daddr;
		f->port[1] = s->dport;
		d = 0;
		if (l->nflows > 1)
			l->multi = true;
	}
	if (s->flags & SN_TH_SYN) {
		/* A SYN with a new ISN starts a new incarnation of the same 4-tuple. */
		f->base_known[d] = true;
		f->base[d] = s->seq;
		if (!(s->flags & SN_TH_ACK)) {
			f->client_known = true;
			f->client_port = s->sport;
		}
	}
}

/*
 * The port that names a connection in the line prefix: the one that sent the
 * first SYN, or, if we never saw it, the left side's port.
 */
static uint16_t flow_label(struct sn_ladder *l, uint32_t saddr, uint16_t sport,
                           uint32_t daddr, uint16_t dport, uint16_t left_port)
{
	int d;
	struct flow *f = flow_find(l, saddr, sport, daddr, dport, &d);

	if (f && f->client_known)
		return f->client_port;
	return left_port;
}

/* ---- connections ------------------------------------------------------ */

static struct conn *conn_by_tuple(struct ladder_side *sd, const struct tuple *t)
{
	for (size_t i = 0; i < sd->nconns; i++)
		if (sd->conns[i].has_tuple && tuple_eq(&sd->conns[i].t, t))
			return &sd->conns[i];
	return NULL;
}

static struct conn *conn_by_sock(struct ladder_side *sd, const struct sn_sock *sock)
{
	if (!sock)
		return NULL;
	for (size_t i = 0; i < sd->nconns; i++)
		if (sd->conns[i].sock == sock)
			return &sd->conns[i];
	return NULL;
}

/*
 * The listener a segment for t would reach. The stack finds no connection
 * for a SYN to a listening port, so its SEG_IN names no socket.
 */
static struct conn *conn_listener(struct ladder_side *sd, const struct tuple *t)
{
	for (size_t i = 0; i < sd->nconns; i++) {
		const struct conn *c = &sd->conns[i];

		if (c->state == SN_LISTEN && c->has_local && c->t.lport == t->lport &&
		    (c->t.laddr == 0 || c->t.laddr == t->laddr))
			return &sd->conns[i];
	}
	return NULL;
}

/* The most recent connection in the given state, other than skip. */
static struct conn *conn_by_state(struct ladder_side *sd, int state, const struct conn *skip)
{
	for (size_t i = sd->nconns; i-- > 0;)
		if (&sd->conns[i] != skip && sd->conns[i].state == state)
			return &sd->conns[i];
	return NULL;
}

static struct conn *conn_new(struct ladder_side *sd, const struct sn_sock *sock,
                             const struct tuple *t, int state)
{
	struct conn *c;
	void *nv;

	nv = grow(sd->conns, &sd->capconns, sd->nconns + 1, sizeof(*sd->conns));
	if (!nv)
		return NULL;
	sd->conns = nv;
	c = &sd->conns[sd->nconns++];
	c->sock = sock;
	c->has_tuple = t != NULL;
	c->has_local = false;
	if (t)
		c->t = *t;
	else
		memset(&c->t, 0, sizeof(c->t));
	c->state = state;
	return c;
}

static void conn_remove(struct ladder_side *sd, struct conn *c)
{
	size_t i = (size_t)(c - sd->conns);

	memmove(&sd->conns[i], &sd->conns[i + 1], (sd->nconns - i - 1) * sizeof(*c));
	sd->nconns--;
}

/*
 * The connection a segment belongs to on side sd (t as that side sees it).
 * A listener's socket is returned for a segment to a connection we have not
 * seen yet, so a SYN arriving at a listener shows LISTEN; it never takes the
 * segment's tuple, since every SYN to it has a different one.
 */
static struct conn *conn_for_seg(struct ladder_side *sd, const struct tuple *t,
                                 const struct sn_sock *sock, bool create)
{
	struct conn *c = conn_by_tuple(sd, t);

	if (c) {
		if (!c->sock && sock && !conn_by_sock(sd, sock))
			c->sock = sock;
		return c;
	}
	c = conn_by_sock(sd, sock);
	if (c && c->state == SN_LISTEN)
		return c;
	if (c && !c->has_tuple) {
		c->has_tuple = true;
		c->t = *t;
		return c;
	}
	if (!c && !sock)
		return conn_listener(sd, t);
	if (!create || !sock)
		return NULL;
	/* The socket now names another 4-tuple: its old record lives on unnamed. */
	if (c)
		c->sock = NULL;
	return conn_new(sd, sock, t, STATE_UNKNOWN);
}

/*
 * The connection a STATE event is about. hint is the tuple of the segment
 * being processed when the change is caused by an arrival.
 */
static struct conn *conn_for_state(struct ladder_side *sd, const struct sn_trace_event *ev,
                                   const struct tuple *hint)
{
	struct conn *c, *alt;
	struct tuple own;

	/*
	 * The stack may name the connection's 4-tuple in a STATE event too (a
	 * listener has no remote half); that is the surest key there is.
	 */
	if (ev->seg.sport && ev->seg.dport) {
		own = tuple_out(&ev->seg);
		hint = &own;
		c = conn_by_tuple(sd, &own);
		if (c) {
			/* From CLOSED, it is a new incarnation of an old 4-tuple. */
			if (ev->old_state == SN_CLOSED)
				c->state = SN_CLOSED;
			if (ev->sock && c->sock != ev->sock) {
				alt = conn_by_sock(sd, ev->sock);
				if (alt)
					alt->sock = NULL;
				c->sock = ev->sock;
			}
			return c;
		}
	}
	c = conn_by_sock(sd, ev->sock);
	if (c && c->state == SN_LISTEN && ev->old_state == SN_LISTEN &&
	    ev->new_state != SN_LISTEN && ev->new_state != SN_CLOSED && hint) {
		/* A listener reporting its embryonic connection under its own name. */
		alt = conn_by_tuple(sd, hint);
		return alt ? alt : conn_new(sd, NULL, hint, ev->old_state);
	}
	if (c && c->state != STATE_UNKNOWN && c->state != ev->old_state) {
		/*
		 * The record we hold under this pointer is in another state: either
		 * the event is about an older connection the stack no longer names
		 * (a TIME-WAIT record), or the pointer was freed and reused.
		 */
		alt = conn_by_state(sd, ev->old_state, c);
		if (alt)
			return alt;
		if (ev->old_state != SN_CLOSED)
			return c;
		c->sock = NULL;
		c = NULL;
	}
	if (c)
		return c;
	if (hint) {
		c = conn_by_tuple(sd, hint);
		if (c) {
			if (!c->sock && ev->sock)
				c->sock = ev->sock;
			return c;
		}
	}
	if (!ev->sock) {
		c = conn_by_state(sd, ev->old_state, NULL);
		if (c)
			return c;
	}
	if (ev->new_state == SN_CLOSED)
		return NULL;
	return conn_new(sd, ev->sock, hint, ev->old_state);
}

static int conn_state(const struct conn *c)
{
	/* No control block is the RFC's CLOSED state. */
	return c ? c->state : SN_CLOSED;
}

/* The current state of whoever sends s from side idx, for lines without a stamp. */
static int sender_state_now(struct sn_ladder *l, int idx, const struct sn_trace_seg *s)
{
	struct tuple t = tuple_out(s);

	if (!l->side[idx].seen)
		return STATE_UNKNOWN;
	return conn_state(conn_for_seg(&l->side[idx], &t, NULL, false));
}

/* ---- segments in flight ----------------------------------------------- */

static void flight_push(struct sn_ladder *l, int sender, const struct sn_trace_seg *s,
                        int state)
{
	struct flight_list *fl = &l->flight[sender];
	void *nv;

	if (fl->n >= FLIGHT_MAX) {
		memmove(&fl->v[0], &fl->v[1], (fl->n - 1) * sizeof(*fl->v));
		fl->n--;
	}
	nv = grow(fl->v, &fl->cap, fl->n + 1, sizeof(*fl->v));
	if (!nv)
		return;
	fl->v = nv;
	fl->v[fl->n].seg = *s;
	fl->v[fl->n].snd_state = state;
	fl->n++;
}

/* Take the oldest matching segment; its sender's state goes to *state. */
static bool flight_take(struct sn_ladder *l, int sender, const struct sn_trace_seg *s,
                        int *state, uint16_t *gso_size)
{
	struct flight_list *fl = &l->flight[sender];

	for (size_t i = 0; i < fl->n; i++) {
		if (seg_eq(&fl->v[i].seg, s)) {
			*state = fl->v[i].snd_state;
			/* Only the sender knows it was a TSO super-segment. */
			if (gso_size)
				*gso_size = fl->v[i].seg.gso_size;
			memmove(&fl->v[i], &fl->v[i + 1], (fl->n - i - 1) * sizeof(*fl->v));
			fl->n--;
			return true;
		}
	}
	return false;
}

/* The link made a copy of a frame: both copies will arrive, with one stamp. */
static void flight_dup(struct sn_ladder *l, int sender, const struct sn_trace_seg *s)
{
	struct flight_list *fl = &l->flight[sender];

	for (size_t i = fl->n; i-- > 0;) {
		if (seg_eq(&fl->v[i].seg, s)) {
			flight_push(l, sender, s, fl->v[i].snd_state);
			return;
		}
	}
}

/* ---- printing --------------------------------------------------------- */

static void print_header(struct sn_ladder *l)
{
	struct line ln = { .n = 0 };

	if (l->header_done)
		return;
	l->header_done = true;
	ln.s[0] = '\0';
	for (int i = 0; i < 2; i++) {
		line_col(&ln, col_side(l, i));
		line_add(&ln, "%s", l->name[i]);
		if (l->side[i].first_state != STATE_UNKNOWN)
			line_add(&ln, " (%s)", short_state(l->side[i].first_state));
	}
	line_end(l, &ln);
}

static void line_start(struct sn_ladder *l, struct line *ln, bool labelled, uint16_t port,
                       uint64_t t_us)
{
	print_header(l);
	ln->n = 0;
	ln->s[0] = '\0';
	if (l->multi && labelled)
		line_add(ln, "[%u]", (unsigned)port);
	line_col(ln, col_time(l));
	line_add(ln, "%6" PRIu64 ".%03" PRIu64, t_us / 1000, t_us % 1000);
}

static void seg_label(struct sn_ladder *l, const struct sn_trace_seg *s, char *buf, size_t cap)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} flag_names[] = {
		{ SN_TH_SYN, "SYN" }, { SN_TH_FIN, "FIN" }, { SN_TH_RST, "RST" },
		{ SN_TH_PSH, "PSH" }, { SN_TH_ACK, "ACK" }, { SN_TH_URG, "URG" },
		{ SN_TH_ECE, "ECE" }, { SN_TH_CWR, "CWR" },
	};
	struct line ln = { .n = 0 };
	uint32_t seq = s->seq, ack = s->ack;
	bool any = false;
	struct flow *f;
	int d;

	ln.s[0] = '\0';
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		if (s->flags & flag_names[i].bit) {
			line_add(&ln, "%s%s", any ? "," : "", flag_names[i].name);
			any = true;
		}
	}
	if (!any)
		line_add(&ln, "none");

	f = l->relative ? flow_find(l, s->saddr, s->sport, s->daddr, s->dport, &d) : NULL;
	if (f && f->base_known[d])
		seq -= f->base[d];
	if (f && f->base_known[1 - d])
		ack -= f->base[1 - d];

	line_add(&ln, " seq=%" PRIu32, seq);
	/* The textbook leaves out the acknowledgment field when ACK is clear. */
	if (s->flags & SN_TH_ACK)
		line_add(&ln, " ack=%" PRIu32, ack);
	line_add(&ln, " len=%" PRIu32, s->len);
	/* A TSO super-segment: the pieces the link cuts it into. */
	if (s->gso_size)
		line_add(&ln, " tso=%" PRIu32 "x%u", (s->len + s->gso_size - 1) / s->gso_size,
		         (unsigned)s->gso_size);
	line_add(&ln, " win=%u", (unsigned)s->wnd);
	/* The options of a SYN, as tcpdump writes them; on other segments
	 * only SACK blocks (timestamps would be on every line). */
	if (s->flags & SN_TH_SYN) {
		const char *sep = " <";
		if (s->mss) {
			line_add(&ln, "%smss %u", sep, (unsigned)s->mss);
			sep = ",";
		}
		if (s->opts & SN_TRACE_OPT_SACK_OK) {
			line_add(&ln, "%ssackOK", sep);
			sep = ",";
		}
		if (s->opts & SN_TRACE_OPT_TS) {
			line_add(&ln, "%sTS", sep);
			sep = ",";
		}
		if (s->opts & SN_TRACE_OPT_WSCALE) {
			line_add(&ln, "%sws %u", sep, (unsigned)s->wscale);
			sep = ",";
		}
		if (sep[0] == ',')
			line_add(&ln, ">");
	} else if (s->num_sack) {
		/* Blocks are in the acknowledgment's sequence space. */
		uint32_t base = (f && f->base_known[1 - d]) ? f->base[1 - d] : 0;
		line_add(&ln, " <sack");
		for (unsigned i = 0; i < s->num_sack && i < 4; i++)
			line_add(&ln, " %" PRIu32 "-%" PRIu32, s->sack[i][0] - base,
			         s->sack[i][1] - base);
		line_add(&ln, ">");
	}
	snprintf(buf, cap, "%s", ln.s);
}

/*
 * One segment line. note replaces the receiver's state (lost or dropped
 * segments); lost draws the arrow ending in X.
 */
static void print_seg_line(struct sn_ladder *l, int sender, const struct sn_trace_seg *s,
                           uint64_t t_us, int snd_state, int rcv_state, const char *note,
                           bool lost)
{
	struct line ln;
	char label[LINE_CAP];
	uint16_t port;
	size_t start;
	int dashes = 0;

	flow_note(l, s);
	port = flow_label(l, s->saddr, s->sport, s->daddr, s->dport,
	                  sender == 0 ? s->sport : s->dport);
	seg_label(l, s, label, sizeof(label));
	line_start(l, &ln, true, port, t_us);
	line_col(&ln, col_left(l));
	if (sender == 0)
		line_add(&ln, "%s", short_state(snd_state));
	else if (!note)
		line_add(&ln, "%s", short_state(rcv_state));

	line_col(&ln, col_mid(l));
	start = ln.n;
	if (sender == 0) {
		line_add(&ln, "--- %s ", label);
		while (ln.n - start < MID_W - 1 || dashes < 2) {
			line_char(&ln, '-');
			dashes++;
			if (ln.n >= LINE_CAP - 2)
				break;
		}
		line_char(&ln, lost ? 'X' : '>');
	} else {
		line_add(&ln, "%s %s ", lost ? "X--" : "<--", label);
		while (ln.n - start < MID_W || dashes < 3) {
			line_char(&ln, '-');
			dashes++;
			if (ln.n >= LINE_CAP - 1)
				break;
		}
	}

	line_col(&ln, col_right(l));
	if (sender == 1) {
		line_add(&ln, "%s", short_state(snd_state));
		if (note)
			line_add(&ln, "  %s", note);
	} else {
		line_add(&ln, "%s", note ? note : short_state(rcv_state));
	}
	line_end(l, &ln);
}

/* The prefix port of a connection known only from one side's tuple. */
static bool tuple_label(struct sn_ladder *l, int side, bool has_tuple, const struct tuple *t,
                        uint16_t *port)
{
	if (!has_tuple)
		return false;
	*port = flow_label(l, t->laddr, t->lport, t->raddr, t->rport,
	                   side == 0 ? t->lport : t->rport);
	return true;
}

/* A line with only a note in one side's column. */
static void print_note(struct sn_ladder *l, int side, const struct conn *c, uint64_t t_us,
                       const char *text)
{
	struct line ln;
	uint16_t port = 0;
	bool labelled = c && tuple_label(l, side, c->has_tuple, &c->t, &port);

	line_start(l, &ln, labelled, port, t_us);
	line_col(&ln, col_side(l, side));
	line_add(&ln, "%s", text);
	line_end(l, &ln);
}

static void print_mark(struct sn_ladder *l, const struct mark *m)
{
	struct line ln;
	uint16_t port = 0;
	bool labelled = tuple_label(l, m->side, m->has_tuple, &m->t, &port);

	line_start(l, &ln, labelled, port, m->t_us);
	line_col(&ln, col_side(l, m->side));
	line_add(&ln, "%s -> %s", short_state(m->old_state), short_state(m->new_state));
	line_end(l, &ln);
}

static void flush_arrival(struct sn_ladder *l)
{
	struct arrival *a = &l->pend;
	char note[REASON_CAP + 16];

	if (!a->active)
		return;
	a->active = false;
	if (a->dropped)
		snprintf(note, sizeof(note), "(dropped: %s)", a->reason);
	print_seg_line(l, 1 - a->side, &a->seg, a->t_us, a->snd_state, a->rcv_state,
	               a->dropped ? note : NULL, false);
}

/* ---- events ----------------------------------------------------------- */

/*
 * Transitions only an application call makes (RFC 9293 3.10.1-3.10.4). When
 * one shows up while an arrival is pending, the segment has been processed
 * and the application is acting on it (a close in the readable callback, say):
 * it belongs on the next segment the application's call sends, not on the
 * arrival line.
 */
static bool app_transition(int old_state, int new_state)
{
	switch (new_state) {
	case SN_LISTEN:
		return true;
	case SN_SYN_SENT:
		return old_state == SN_CLOSED || old_state == SN_LISTEN;
	case SN_FIN_WAIT_1:
		return old_state == SN_ESTABLISHED || old_state == SN_SYN_RECEIVED;
	case SN_LAST_ACK:
		return old_state == SN_CLOSE_WAIT;
	default:
		return false;
	}
}

static void add_mark(struct sn_ladder *l, int side, const struct sn_trace_event *ev,
                     const struct conn *c)
{
	struct mark *m;
	void *nv;

	nv = grow(l->marks, &l->capmarks, l->nmarks + 1, sizeof(*l->marks));
	if (!nv)
		return;
	l->marks = nv;
	m = &l->marks[l->nmarks++];
	m->side = side;
	m->sock = ev->sock ? ev->sock : (c ? c->sock : NULL);
	m->has_tuple = c && c->has_tuple;
	if (m->has_tuple)
		m->t = c->t;
	else
		memset(&m->t, 0, sizeof(m->t));
	m->old_state = ev->old_state;
	m->new_state = ev->new_state;
	m->t_us = ev->now_us;
	/*
	 * connect sends a SYN, close in ESTABLISHED, SYN_RCVD or CLOSE_WAIT a
	 * FIN (RFC 9293 3.10.1, 3.10.4), though perhaps only at the next
	 * sn_poll, after a flush: that segment's line will show the change.
	 */
	m->awaits_seg = app_transition(ev->old_state, ev->new_state) &&
	                ev->new_state != SN_LISTEN;
}

/*
 * Whether m is about the connection named by sock or t on side. A listener's
 * socket names no connection but its own, which never sends.
 */
static bool mark_matches(const struct mark *m, int side, const struct sn_sock *sock,
                         const struct tuple *t)
{
	if (m->side != side)
		return false;
	if (t && m->has_tuple && tuple_eq(&m->t, t))
		return true;
	return sock && m->sock == sock && m->new_state != SN_LISTEN;
}

/*
 * Print (print = true) or forget the marks of one connection. A segment
 * leaving shows its sender's state, so its marks need no line; any other
 * event of the connection means the ones still waiting for a segment are
 * history and must come out before its own line.
 */
static void settle_marks(struct sn_ladder *l, int side, const struct sn_sock *sock,
                         const struct tuple *t, bool print)
{
	size_t j = 0;

	for (size_t i = 0; i < l->nmarks; i++) {
		const struct mark *m = &l->marks[i];

		if (!mark_matches(m, side, sock, t))
			l->marks[j++] = *m;
		else if (print)
			print_mark(l, m);
	}
	l->nmarks = j;
}

static void on_state(struct sn_ladder *l, struct ladder_side *sd, const struct sn_trace_event *ev)
{
	struct arrival *a = &l->pend;
	bool carried;
	struct tuple hint;
	struct conn *c;

	/*
	 * A connection born in SYN_RCVD from no TCB at all is a listener's
	 * child (RFC 9293 3.10.7.2); the side was listening all along.
	 */
	if (sd->first_state == STATE_UNKNOWN)
		sd->first_state = ev->old_state == SN_CLOSED && ev->new_state == SN_SYN_RECEIVED
		                          ? SN_LISTEN
		                          : ev->old_state;
	/*
	 * Everything one arrival causes happens within the same sn_input call,
	 * at the same time; a change at a later time was caused by something else.
	 */
	carried = a->active && a->side == sd->idx && a->t_us == ev->now_us &&
	          !app_transition(ev->old_state, ev->new_state);
	if (!carried)
		flush_arrival(l);
	if (carried)
		hint = tuple_in(&a->seg);
	c = conn_for_state(sd, ev, carried ? &hint : NULL);
	if (c && !c->has_tuple && ev->seg.sport && ev->seg.dport &&
	    ev->new_state != SN_LISTEN) {
		c->has_tuple = true;
		c->t = tuple_out(&ev->seg);
	}
	if (c && ev->new_state == SN_LISTEN && ev->seg.sport) {
		c->has_local = true;
		c->t.laddr = ev->seg.saddr;
		c->t.lport = ev->seg.sport;
	}
	settle_marks(l, sd->idx, ev->sock, c && c->has_tuple ? &c->t : NULL, true);
	if (carried)
		a->rcv_state = ev->new_state;
	else
		add_mark(l, sd->idx, ev, c);
	if (c) {
		c->state = ev->new_state;
		/* A closed connection has no record left to find (RFC 9293 3.3.2). */
		if (c->state == SN_CLOSED)
			conn_remove(sd, c);
	}
}

static void on_seg_out(struct sn_ladder *l, struct ladder_side *sd,
                       const struct sn_trace_event *ev)
{
	struct tuple t = tuple_out(&ev->seg);
	struct conn *c;

	flush_arrival(l);
	flow_note(l, &ev->seg);
	c = conn_for_seg(sd, &t, ev->sock, true);
	settle_marks(l, sd->idx, ev->sock, &t, false);
	flight_push(l, sd->idx, &ev->seg, conn_state(c));
}

/*
 * Lines come out in time order: a change made earlier on either side (an
 * abort, say) that no segment will carry is printed before anything later.
 */
static void flush_older_marks(struct sn_ladder *l, uint64_t t_us)
{
	size_t j = 0;

	for (size_t i = 0; i < l->nmarks; i++) {
		if (l->marks[i].awaits_seg || l->marks[i].t_us >= t_us)
			l->marks[j++] = l->marks[i];
		else
			print_mark(l, &l->marks[i]);
	}
	l->nmarks = j;
}

static void on_seg_in(struct sn_ladder *l, struct ladder_side *sd, const struct sn_trace_event *ev)
{
	struct arrival *a = &l->pend;
	struct tuple t = tuple_in(&ev->seg);
	int sender = 1 - sd->idx;
	bool syn_only = (ev->seg.flags & (SN_TH_SYN | SN_TH_ACK)) == SN_TH_SYN;
	struct conn *c;

	flush_arrival(l);
	flush_older_marks(l, ev->now_us);
	settle_marks(l, sd->idx, ev->sock, &t, true);
	flow_note(l, &ev->seg);
	/* A SYN usually reaches a listener, which must not adopt its tuple. */
	c = conn_for_seg(sd, &t, ev->sock, !syn_only);
	memset(a, 0, sizeof(*a));
	a->active = true;
	a->side = sd->idx;
	a->seg = ev->seg;
	a->t_us = ev->now_us;
	a->rcv_state = conn_state(c);
	if (!flight_take(l, sender, &ev->seg, &a->snd_state, &a->seg.gso_size))
		a->snd_state = sender_state_now(l, sender, &ev->seg); /* a duplicate */
}

static void on_drop(struct sn_ladder *l, struct ladder_side *sd, const struct sn_trace_event *ev)
{
	struct arrival *a = &l->pend;
	const char *why = ev->what ? ev->what : "?";
	char note[REASON_CAP + 16];
	int sender, state;

	if (a->active && a->side == sd->idx &&
	    (!seg_present(&ev->seg) || seg_eq(&ev->seg, &a->seg))) {
		a->dropped = true;
		snprintf(a->reason, sizeof(a->reason), "%s", why);
		flush_arrival(l);
		return;
	}
	flush_arrival(l);
	snprintf(note, sizeof(note), "(dropped: %s)", why);
	if (!seg_present(&ev->seg)) {
		print_note(l, sd->idx, conn_by_sock(sd, ev->sock), ev->now_us, note);
		return;
	}
	/* Dropped on its way out (no route, ARP gave up) or on its way in. */
	if (flight_take(l, sd->idx, &ev->seg, &state, NULL)) {
		print_seg_line(l, sd->idx, &ev->seg, ev->now_us, state, STATE_UNKNOWN, note, true);
		return;
	}
	sender = 1 - sd->idx;
	if (!flight_take(l, sender, &ev->seg, &state, NULL))
		state = sender_state_now(l, sender, &ev->seg);
	print_seg_line(l, sender, &ev->seg, ev->now_us, state, STATE_UNKNOWN, note, false);
}

static void on_timer(struct sn_ladder *l, struct ladder_side *sd, const struct sn_trace_event *ev)
{
	char text[REASON_CAP + 16];

	struct conn *c = conn_by_sock(sd, ev->sock);

	flush_arrival(l);
	settle_marks(l, sd->idx, ev->sock, c && c->has_tuple ? &c->t : NULL, true);
	snprintf(text, sizeof(text), "(%s timer)", ev->what ? ev->what : "?");
	print_note(l, sd->idx, c, ev->now_us, text);
}

/* Congestion control's turning points (not every ACK's growth): a note in
 * the sender's column with the window after the event, in bytes. */
static void on_cc(struct sn_ladder *l, struct ladder_side *sd, const struct sn_trace_event *ev)
{
	char text[REASON_CAP + 64];
	if (!ev->what || strcmp(ev->what, "ack") == 0 || strcmp(ev->what, "partial ack") == 0)
		return;
	struct conn *c = conn_by_sock(sd, ev->sock);
	flush_arrival(l);
	settle_marks(l, sd->idx, ev->sock, c && c->has_tuple ? &c->t : NULL, true);
	if (ev->cc.ssthresh == UINT32_MAX)
		snprintf(text, sizeof(text), "(%s: cwnd %u)", ev->what, ev->cc.cwnd);
	else
		snprintf(text, sizeof(text), "(%s: cwnd %u, ssthresh %u)", ev->what, ev->cc.cwnd,
		         ev->cc.ssthresh);
	print_note(l, sd->idx, c, ev->now_us, text);
}

void sn_ladder_trace(const struct sn_trace_event *ev, void *ctx)
{
	struct ladder_side *sd = ctx;
	struct sn_ladder *l;

	if (!sd || !ev)
		return;
	l = sd->l;
	sd->seen = true;
	switch (ev->kind) {
	case SN_TRACE_STATE:
		on_state(l, sd, ev);
		break;
	case SN_TRACE_SEG_OUT:
		on_seg_out(l, sd, ev);
		break;
	case SN_TRACE_SEG_IN:
		on_seg_in(l, sd, ev);
		break;
	case SN_TRACE_DROP:
		on_drop(l, sd, ev);
		break;
	case SN_TRACE_TIMER:
		on_timer(l, sd, ev);
		break;
	case SN_TRACE_CC:
		on_cc(l, sd, ev);
		break;
	}
}

/* The TCP segment in an Ethernet frame, or false if there is none. */
static bool frame_seg(const void *frame, size_t len, struct sn_trace_seg *s)
{
	const uint8_t *p = frame;
	struct sn_eth eth;
	struct sn_ipv4 ip;
	struct sn_tcp tcp;

	if (sn_eth_parse(p, len, &eth) != SN_WIRE_OK || eth.type != SN_ETHERTYPE_IPV4)
		return false;
	p += SN_ETH_HLEN;
	len -= SN_ETH_HLEN;
	if (sn_ipv4_parse(p, len, &ip) != SN_WIRE_OK || ip.proto != SN_IPPROTO_TCP)
		return false;
	/* The checksum is not ours to judge: the stack traced what it sent. */
	if (sn_tcp_parse(p + ip.payload_off, ip.payload_len, ip.src, ip.dst, false, &tcp) !=
	    SN_WIRE_OK)
		return false;
	memset(s, 0, sizeof(*s));
	s->saddr = ip.src;
	s->daddr = ip.dst;
	s->sport = tcp.sport;
	s->dport = tcp.dport;
	s->seq = tcp.seq;
	s->ack = tcp.ack;
	s->flags = tcp.flags;
	s->wnd = tcp.wnd;
	s->len = (uint32_t)tcp.payload_len;
	sn_trace_seg_opts(s, &tcp.opts);
	return true;
}

void sn_ladder_link_observer(void *ctx, int from_end, enum sn_link_event ev, const void *frame,
                             size_t len, uint64_t now_us)
{
	struct sn_ladder *l = ctx;
	struct sn_trace_seg s;
	int state;

	if (!l || !frame || (from_end != 0 && from_end != 1))
		return;
	if (ev != SN_LINK_LOST && ev != SN_LINK_QDROP && ev != SN_LINK_DUP)
		return;
	if (!frame_seg(frame, len, &s))
		return; /* ARP and anything else that is not TCP */
	if (ev == SN_LINK_DUP) {
		flight_dup(l, from_end, &s);
		return;
	}
	flush_arrival(l);
	if (!flight_take(l, from_end, &s, &state, NULL))
		state = sender_state_now(l, from_end, &s);
	print_seg_line(l, from_end, &s, now_us, state, STATE_UNKNOWN,
	               ev == SN_LINK_LOST ? "(lost)" : "(lost: link queue full)", true);
}

/* ---- life cycle ------------------------------------------------------- */

struct sn_ladder *sn_ladder_new(FILE *out, const char *left_name, const char *right_name)
{
	struct sn_ladder *l;

	if (!out)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->out = out;
	l->name[0] = strdup(left_name ? left_name : "left");
	l->name[1] = strdup(right_name ? right_name : "right");
	if (!l->name[0] || !l->name[1]) {
		free(l->name[0]);
		free(l->name[1]);
		free(l);
		return NULL;
	}
	for (int i = 0; i < 2; i++) {
		l->side[i].l = l;
		l->side[i].idx = i;
		l->side[i].first_state = STATE_UNKNOWN;
	}
	return l;
}

void *sn_ladder_side(struct sn_ladder *l, int side)
{
	if (!l || (side != 0 && side != 1))
		return NULL;
	return &l->side[side];
}

void sn_ladder_set_relative(struct sn_ladder *l, bool relative)
{
	if (l)
		l->relative = relative;
}

/* Print the pending arrival and the marks; all = also those awaiting a segment. */
static void flush_all(struct sn_ladder *l, bool all)
{
	size_t j = 0;

	flush_arrival(l);
	for (size_t i = 0; i < l->nmarks; i++) {
		if (l->marks[i].awaits_seg && !all)
			l->marks[j++] = l->marks[i];
		else
			print_mark(l, &l->marks[i]);
	}
	l->nmarks = j;
}

void sn_ladder_flush(struct sn_ladder *l)
{
	if (l)
		flush_all(l, false);
}

void sn_ladder_free(struct sn_ladder *l)
{
	if (!l)
		return;
	flush_all(l, true);
	for (int i = 0; i < 2; i++) {
		free(l->side[i].conns);
		free(l->flight[i].v);
		free(l->name[i]);
	}
	free(l->flows);
	free(l->marks);
	free(l);
}
