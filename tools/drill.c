/*
 * drill.c - `synack drill`: run packetdrill scripts against a fresh stack.
 *
 *   cmd_drill -> run_file -> dr_parse (drill_parse.c)
 *                         -> dr_run: for each event, in file order
 *                              inbound packet  -> dr_advance, build a frame, sn_input
 *                              outbound packet -> wait_segment (timer by timer), match
 *                              syscall         -> dr_advance, dr_call (drill_call.c)
 *                              shell / python  -> state check or stack knob
 *
 * The clock is virtual (SPEC 1): the interpreter owns it and moves it only to
 * the next event or the stack's next deadline, so a script with a 60 s
 * TIME-WAIT runs in microseconds. Frames the stack sends are queued with their
 * emission time and consumed in order by the outbound lines (SPEC 1.4).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "drill_run.h"
#include "tools.h"
#include "wire/wire.h"

#define DR_CLOCK_START 1000000000ull /* the stack's clock at script time 0 */
#define DR_WAIT_ANY_US 600000000ll   /* how long `*` waits for a segment */

static const uint8_t stack_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x02};

void dr_failf(struct dr_ctx *c, int line, const char *fmt, ...)
{
	va_list ap;
	if (c->res->verdict != DR_PASS)
		return;
	c->res->verdict = DR_FAIL;
	int off = snprintf(c->res->msg, sizeof(c->res->msg), "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(c->res->msg + off, sizeof(c->res->msg) - (size_t)off, fmt, ap);
	va_end(ap);
}

int64_t dr_script_now(const struct dr_ctx *c)
{
	return (int64_t)(c->now - c->t0);
}

/* SPEC 4.3: |A - E| <= max(tolerance_usecs, percent of E - base). */
bool dr_time_ok(const struct dr_ctx *c, int64_t expected, int64_t actual, int64_t base,
                int64_t *tol)
{
	int64_t t = c->s->tol_us;
	int64_t pct = (int64_t)((double)(expected - base) * c->s->tol_pct / 100.0);
	if (pct > t)
		t = pct;
	*tol = t;
	return actual >= expected - t && actual <= expected + t;
}

static int transmit(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct dr_ctx *c = ctx;
	const uint8_t *f = frame;
	if (len < SN_ETH_HLEN || sn_get16(f + 12) != SN_ETHERTYPE_IPV4)
		return 0;
	if (c->qn == c->qcap) {
		c->qcap = c->qcap ? c->qcap * 2 : 64;
		c->q = realloc(c->q, (size_t)c->qcap * sizeof(*c->q));
		if (!c->q)
			exit(2);
	}
	struct dr_seg *sg = &c->q[c->qn++];
	sg->t_us = now_us;
	sg->len = len - SN_ETH_HLEN;
	sg->ip = malloc(sg->len);
	if (!sg->ip)
		exit(2);
	memcpy(sg->ip, f + SN_ETH_HLEN, sg->len);
	return 0;
}

static const struct sn_netif_ops drill_ops = {.transmit = transmit};

/* The next time something is due: the stack's deadline, or the timeout of
 * a pending poll(). */
static uint64_t next_deadline(const struct dr_ctx *c)
{
	uint64_t d = sn_next_deadline(c->st);
	if (c->pend && !c->pend_done && c->pend_timeout_at && c->pend_timeout_at < d)
		d = c->pend_timeout_at;
	return d;
}

/* Move the clock to `to`, firing every timer on the way (SPEC 1.3). */
void dr_advance(struct dr_ctx *c, uint64_t to)
{
	for (int guard = 0; guard < 1000000; guard++) {
		uint64_t d = next_deadline(c);
		if (d > to)
			break;
		if (d > c->now)
			c->now = d;
		sn_poll(c->st, c->now);
		dr_call_retry(c);
		if (d >= to)
			break;
	}
	if (to > c->now)
		c->now = to;
	sn_poll(c->st, c->now);
	dr_call_retry(c);
}

void dr_conn_reset(struct dr_ctx *c)
{
	memset(&c->conn, 0, sizeof(c->conn));
	c->nts = 0;
}

/* A new connection from the injector to the stack's bind port (SPEC 7). */
static void conn_new_inbound(struct dr_ctx *c)
{
	dr_conn_reset(c);
	c->conn.has_tuple = true;
	c->conn.rport = c->next_port++;
	c->conn.lport = c->s->bind_port;
	c->conn.lport_known = true;
}

/* ---- inbound packets ------------------------------------------------------------ */

static bool ts_live_for(struct dr_ctx *c, uint32_t script, uint32_t *live)
{
	for (int i = c->nts - 1; i >= 0; i--) {
		if (c->ts_script[i] == script) {
			*live = c->ts_live[i];
			return true;
		}
	}
	if (c->s->ecr_scaled && c->nts > 0) {
		*live = script - c->ts_script[0] + c->ts_live[0];
		return true;
	}
	return false;
}

/* Put the IPv4 and Ethernet headers (from the injector to the stack) in
 * front of the payload_len bytes already at frame + SN_ETH_HLEN +
 * SN_IPV4_HLEN, and hand the frame to the stack. */
static void deliver_ip(struct dr_ctx *c, uint8_t *frame, uint8_t proto, size_t payload_len)
{
	struct sn_ipv4 ip = {.total_len = (uint16_t)(SN_IPV4_HLEN + payload_len), .ttl = 255,
	                     .proto = proto, .src = c->raddr, .dst = c->laddr};
	sn_ipv4_emit(frame + SN_ETH_HLEN, SN_IPV4_HLEN, &ip);
	struct sn_eth eth = {.type = SN_ETHERTYPE_IPV4};
	memcpy(eth.dst, stack_mac, 6);
	memcpy(eth.src, peer_mac, 6);
	sn_eth_emit(frame, SN_ETH_HLEN, &eth);
	sn_input(c->st, c->nif, frame, SN_ETH_HLEN + SN_IPV4_HLEN + payload_len, c->now);
	dr_call_retry(c);
}

/* An ICMP Destination Unreachable from the peer's address quoting the
 * stack's segment of the current connection (SPEC 5: ICMP lines). */
static bool inject_icmp(struct dr_ctx *c, const struct dr_event *e)
{
	const struct dr_packet *k = &e->pkt;
	struct dr_conn *cn = &c->conn;
	if (!cn->has_tuple || !cn->lport_known) {
		dr_failf(c, e->line, "ICMP for a connection the stack has not opened");
		return false;
	}
	uint8_t frame[SN_ETH_HLEN + SN_IPV4_HLEN + 8 + SN_IPV4_HLEN + 8];
	uint8_t *icmp = frame + SN_ETH_HLEN + SN_IPV4_HLEN;
	uint8_t *q = icmp + 8; /* the quoted datagram: its IP header and 8 bytes */
	struct sn_ipv4 qip = {.total_len = (uint16_t)(SN_IPV4_HLEN + SN_TCP_HLEN + k->len),
	                      .ttl = 64, .proto = SN_IPPROTO_TCP, .src = c->laddr, .dst = c->raddr};
	sn_ipv4_emit(q, SN_IPV4_HLEN, &qip);
	sn_put16(q + SN_IPV4_HLEN, cn->lport);
	sn_put16(q + SN_IPV4_HLEN + 2, cn->rport);
	uint32_t seq = k->seq + (cn->local_isn_known ? cn->live_local_isn : 0);
	sn_put32(q + SN_IPV4_HLEN + 4, seq);
	struct sn_icmp h = {.type = SN_ICMP_DEST_UNREACH, .code = k->icmp_code};
	size_t n = sn_icmp_emit(icmp, 8 + SN_IPV4_HLEN + 8, &h, q, SN_IPV4_HLEN + 8);
	deliver_ip(c, frame, SN_IPPROTO_ICMP, n);
	return true;
}

static bool inject(struct dr_ctx *c, const struct dr_event *e)
{
	const struct dr_packet *k = &e->pkt;
	if (k->icmp)
		return inject_icmp(c, e);
	bool syn = k->flags & SN_TH_SYN;
	if (c->cur_listening && syn && !(k->flags & SN_TH_ACK)) {
		conn_new_inbound(c);
		c->cur_listening = false;
	} else if (!c->conn.has_tuple) {
		conn_new_inbound(c);
	}
	struct dr_conn *cn = &c->conn;
	/* SPEC 6: the first inbound segment gives the remote ISN; if that was
	 * not a SYN (a RST to a SYN-SENT socket, say), the SYN that follows
	 * is the real start of the peer's sequence space. */
	if (!cn->remote_isn_known || (syn && !cn->remote_isn_from_syn)) {
		cn->remote_isn = k->seq;
		cn->remote_isn_known = true;
		cn->remote_isn_from_syn = syn;
	}
	uint32_t delta = cn->local_isn_known ? cn->live_local_isn - cn->script_local_isn : 0;
	uint32_t live_isn = cn->local_isn_known ? cn->live_local_isn : 0;
	uint32_t seq = (syn || k->seq_abs) ? k->seq : k->seq + cn->remote_isn;
	uint32_t ack = 0;
	if (k->has_ack)
		ack = syn ? k->ack + delta : k->ack + live_isn;

	uint8_t frame[SN_ETH_HLEN + 60 + 65535];
	uint8_t *tcp = frame + SN_ETH_HLEN + SN_IPV4_HLEN;
	size_t olen = 0;
	uint8_t *o = tcp + SN_TCP_HLEN;
	for (int i = 0; i < k->nopts; i++) {
		const struct dr_opt *op = &k->opts[i];
		switch (op->kind) {
		case SN_TCPOPT_EOL:
		case SN_TCPOPT_NOP:
			o[olen++] = op->kind;
			break;
		case SN_TCPOPT_MSS:
			o[olen] = op->kind;
			o[olen + 1] = 4;
			sn_put16(o + olen + 2, (uint16_t)op->a);
			olen += 4;
			break;
		case SN_TCPOPT_WSCALE:
			o[olen] = op->kind;
			o[olen + 1] = 3;
			o[olen + 2] = (uint8_t)op->a;
			olen += 3;
			break;
		case SN_TCPOPT_SACK_PERM:
			o[olen] = op->kind;
			o[olen + 1] = 2;
			olen += 2;
			break;
		case SN_TCPOPT_SACK:
			o[olen] = op->kind;
			o[olen + 1] = (uint8_t)(2 + 8 * op->nsack);
			for (int b = 0; b < op->nsack; b++) {
				sn_put32(o + olen + 2 + 8 * b, op->sack[b][0] + (syn ? delta : live_isn));
				sn_put32(o + olen + 6 + 8 * b, op->sack[b][1] + (syn ? delta : live_isn));
			}
			olen += 2 + 8u * op->nsack;
			break;
		case SN_TCPOPT_TIMESTAMP: {
			uint32_t ecr = op->b;
			/* SPEC 6: an echo names a TSval the stack sent, in script
			 * terms; put the one it really sent. */
			if ((k->flags & SN_TH_ACK) && !op->ecr_abs && ecr != 0 &&
			    !ts_live_for(c, op->b, &ecr)) {
				dr_failf(c, e->line, "unable to infer live TS ecr for script ecr %u", op->b);
				return false;
			}
			o[olen] = op->kind;
			o[olen + 1] = 10;
			sn_put32(o + olen + 2, op->a);
			sn_put32(o + olen + 6, ecr);
			olen += 10;
			break;
		}
		}
	}
	size_t tlen = SN_TCP_HLEN + olen + k->len;
	if (tlen + SN_IPV4_HLEN > 65535) {
		dr_failf(c, e->line, "inbound segment too long");
		return false;
	}
	sn_put16(tcp, cn->rport);
	sn_put16(tcp + 2, cn->lport);
	sn_put32(tcp + 4, seq);
	sn_put32(tcp + 8, ack);
	tcp[12] = (uint8_t)((SN_TCP_HLEN + olen) / 4 << 4);
	tcp[13] = k->flags;
	sn_put16(tcp + 14, (uint16_t)k->win);
	sn_put16(tcp + 16, 0);
	sn_put16(tcp + 18, 0);
	memset(tcp + SN_TCP_HLEN + olen, 0, k->len);
	sn_tcp_set_csum(tcp, tlen, c->raddr, c->laddr);
	deliver_ip(c, frame, SN_IPPROTO_TCP, tlen);
	return true;
}

/* ---- outbound packets ----------------------------------------------------------- */

/* One outbound segment, parsed, in wire numbers. */
struct out_seg {
	uint64_t t_us;
	struct sn_tcp th;
	const uint8_t *opt;     /* raw option bytes */
	size_t optlen;
	const uint8_t *payload;
	size_t len;
	uint16_t sport, dport;
};

static bool parse_out(const struct dr_seg *sg, struct out_seg *o, uint32_t *dst)
{
	struct sn_ipv4 ip;
	if (sn_ipv4_parse(sg->ip, sg->len, &ip) != SN_WIRE_OK || ip.proto != SN_IPPROTO_TCP ||
	    ip.hdr_len != SN_IPV4_HLEN)
		return false;
	const uint8_t *tcp = sg->ip + ip.payload_off;
	if (sn_tcp_parse(tcp, ip.payload_len, ip.src, ip.dst, false, &o->th) != SN_WIRE_OK)
		return false;
	o->t_us = sg->t_us;
	o->opt = tcp + SN_TCP_HLEN;
	o->optlen = o->th.hdr_len - SN_TCP_HLEN;
	o->payload = tcp + o->th.hdr_len;
	o->len = o->th.payload_len;
	*dst = ip.dst;
	return true;
}

/* Does this segment belong to the connection under test? Learns the local
 * port of an active open from its first segment. */
static bool ours(struct dr_ctx *c, const struct out_seg *o, uint32_t dst)
{
	struct dr_conn *cn = &c->conn;
	if (!cn->has_tuple || dst != c->raddr || o->th.dport != cn->rport)
		return false;
	if (!cn->lport_known) {
		cn->lport = o->th.sport;
		cn->lport_known = true;
	}
	return o->th.sport == cn->lport;
}

static void seg_free(struct dr_seg *sg)
{
	free(sg->ip);
	sg->ip = NULL;
}

/* The oldest queued segment of the connection, advancing the clock timer by
 * timer up to `limit` (absolute) if none is queued yet (SPEC 1.3). */
static bool wait_segment(struct dr_ctx *c, uint64_t limit, struct out_seg *o, struct dr_seg *keep)
{
	for (int guard = 0; guard < 1000000; guard++) {
		while (c->qhead < c->qn) {
			struct dr_seg *sg = &c->q[c->qhead++];
			uint32_t dst;
			if (parse_out(sg, o, &dst) && ours(c, o, dst)) {
				*keep = *sg;
				sg->ip = NULL;
				parse_out(keep, o, &dst);
				return true;
			}
			seg_free(sg);
		}
		c->qhead = c->qn = 0;
		uint64_t d = next_deadline(c);
		if (d > limit)
			return false;
		if (d > c->now)
			c->now = d;
		sn_poll(c->st, c->now);
		dr_call_retry(c);
	}
	return false;
}

/* Options as a list of (kind, bytes) from the raw header. */
struct raw_opt {
	uint8_t kind, len;
	const uint8_t *data;
};

static int raw_opts(const uint8_t *p, size_t n, struct raw_opt *out, int max)
{
	int k = 0;
	size_t i = 0;
	while (i < n && k < max) {
		out[k].kind = p[i];
		out[k].data = p + i;
		if (p[i] == SN_TCPOPT_EOL || p[i] == SN_TCPOPT_NOP) {
			out[k++].len = 1;
			i++;
			continue;
		}
		if (i + 1 >= n || p[i + 1] < 2 || i + p[i + 1] > n)
			break;
		out[k++].len = p[i + 1];
		i += p[i + 1];
	}
	return k;
}

static int fmt_flags(char *b, size_t n, uint8_t f)
{
	char s[8];
	int k = 0;
	if (f & SN_TH_SYN) s[k++] = 'S';
	if (f & SN_TH_FIN) s[k++] = 'F';
	if (f & SN_TH_RST) s[k++] = 'R';
	if (f & SN_TH_PSH) s[k++] = 'P';
	if (f & SN_TH_URG) s[k++] = 'U';
	if (f & SN_TH_ECE) s[k++] = 'E';
	if (f & SN_TH_CWR) s[k++] = 'W';
	if (f & SN_TH_ACK) s[k++] = '.';
	s[k] = '\0';
	return snprintf(b, n, "%s", k ? s : "-");
}

/* "S. 0:0(0) ack 1 win 65535 <mss 1460,...>" for the actual segment, in
 * script numbers. */
static void fmt_actual(char *b, size_t n, const struct out_seg *o, uint32_t seq, uint32_t ack,
                       uint32_t sack_base)
{
	size_t off = (size_t)fmt_flags(b, n, o->th.flags);
	off += (size_t)snprintf(b + off, n - off, " %u:%u(%zu)", seq, seq + (uint32_t)o->len, o->len);
	if (o->th.flags & SN_TH_ACK)
		off += (size_t)snprintf(b + off, n - off, " ack %u", ack);
	off += (size_t)snprintf(b + off, n - off, " win %u", o->th.wnd);
	struct raw_opt r[40];
	int nr = raw_opts(o->opt, o->optlen, r, 40);
	for (int i = 0; i < nr && off < n; i++) {
		const uint8_t *d = r[i].data;
		const char *sep = i == 0 ? " <" : ",";
		switch (r[i].kind) {
		case SN_TCPOPT_EOL: off += (size_t)snprintf(b + off, n - off, "%seol", sep); break;
		case SN_TCPOPT_NOP: off += (size_t)snprintf(b + off, n - off, "%snop", sep); break;
		case SN_TCPOPT_MSS:
			off += (size_t)snprintf(b + off, n - off, "%smss %u", sep, sn_get16(d + 2));
			break;
		case SN_TCPOPT_WSCALE:
			off += (size_t)snprintf(b + off, n - off, "%swscale %u", sep, d[2]);
			break;
		case SN_TCPOPT_SACK_PERM: off += (size_t)snprintf(b + off, n - off, "%ssackOK", sep); break;
		case SN_TCPOPT_TIMESTAMP:
			off += (size_t)snprintf(b + off, n - off, "%sTS val %u ecr %u", sep, sn_get32(d + 2),
			                        sn_get32(d + 6));
			break;
		case SN_TCPOPT_SACK:
			off += (size_t)snprintf(b + off, n - off, "%ssack", sep);
			for (int k = 0; k + 8 <= r[i].len - 2 && off < n; k += 8)
				off += (size_t)snprintf(b + off, n - off, " %u:%u",
				                        sn_get32(d + 2 + k) - sack_base,
				                        sn_get32(d + 6 + k) - sack_base);
			break;
		default:
			off += (size_t)snprintf(b + off, n - off, "%sopt%u", sep, r[i].kind);
		}
	}
	if (nr > 0 && off < n)
		snprintf(b + off, n - off, ">");
}

static void fmt_expected(char *b, size_t n, const struct dr_packet *k)
{
	size_t off = (size_t)fmt_flags(b, n, k->flags);
	if (k->seq_any)
		off += (size_t)snprintf(b + off, n - off, " ...(%u)", k->len);
	else
		off += (size_t)snprintf(b + off, n - off, " %u:%u(%u)", k->seq, k->seq + k->len, k->len);
	if (k->has_ack)
		off += (size_t)snprintf(b + off, n - off, " ack %u", k->ack);
	if (k->has_win)
		off += (size_t)snprintf(b + off, n - off, " win %u", k->win);
	if (k->opts_any)
		off += (size_t)snprintf(b + off, n - off, " <...>");
	for (int i = 0; i < k->nopts && off < n; i++) {
		const struct dr_opt *op = &k->opts[i];
		const char *sep = i == 0 ? " <" : ",";
		switch (op->kind) {
		case SN_TCPOPT_EOL: off += (size_t)snprintf(b + off, n - off, "%seol", sep); break;
		case SN_TCPOPT_NOP: off += (size_t)snprintf(b + off, n - off, "%snop", sep); break;
		case SN_TCPOPT_MSS: off += (size_t)snprintf(b + off, n - off, "%smss %u", sep, op->a); break;
		case SN_TCPOPT_WSCALE:
			off += (size_t)snprintf(b + off, n - off, "%swscale %u", sep, op->a);
			break;
		case SN_TCPOPT_SACK_PERM: off += (size_t)snprintf(b + off, n - off, "%ssackOK", sep); break;
		case SN_TCPOPT_TIMESTAMP:
			off += (size_t)snprintf(b + off, n - off, "%sTS val %u ecr %u", sep, op->a, op->b);
			break;
		case SN_TCPOPT_SACK:
			off += (size_t)snprintf(b + off, n - off, "%ssack", sep);
			for (int s = 0; s < op->nsack && off < n; s++)
				off += (size_t)snprintf(b + off, n - off, " %u:%u", op->sack[s][0], op->sack[s][1]);
			break;
		}
	}
	if (k->nopts > 0 && off < n)
		snprintf(b + off, n - off, ">");
}

/* Compare option lists (SPEC 8). Returns NULL or what differs. */
static const char *opts_differ(struct dr_ctx *c, const struct dr_packet *k, const struct out_seg *o,
                               uint32_t sack_base)
{
	struct raw_opt r[40];
	int nr = raw_opts(o->opt, o->optlen, r, 40);
	if (nr != k->nopts)
		return "options";
	for (int i = 0; i < nr; i++) {
		const struct dr_opt *op = &k->opts[i];
		const uint8_t *d = r[i].data;
		if (r[i].kind != op->kind)
			return "options";
		switch (op->kind) {
		case SN_TCPOPT_MSS:
			if (r[i].len != 4 || sn_get16(d + 2) != op->a)
				return "MSS option";
			break;
		case SN_TCPOPT_WSCALE:
			if (r[i].len != 3 || d[2] != op->a)
				return "window scale option";
			break;
		case SN_TCPOPT_SACK_PERM:
			if (r[i].len != 2)
				return "SACK-permitted option";
			break;
		case SN_TCPOPT_SACK:
			if (r[i].len != 2 + 8 * op->nsack)
				return "number of SACK blocks";
			for (int s = 0; s < op->nsack; s++)
				if (sn_get32(d + 2 + 8 * s) - sack_base != op->sack[s][0] ||
				    sn_get32(d + 6 + 8 * s) - sack_base != op->sack[s][1])
					return "SACK blocks";
			break;
		case SN_TCPOPT_TIMESTAMP:
			if (r[i].len != 10)
				return "timestamp option";
			/* SPEC 6: TSval only with --tcp_ts_tick_usecs, ecr never. */
			if (c->s->ts_tick_us && !op->val_any && c->nts > 0) {
				int64_t live = (int64_t)(sn_get32(d + 2) - c->ts_live[0]);
				int64_t want = (int64_t)(op->a - c->ts_script[0]);
				int64_t slack = c->s->tol_us / c->s->ts_tick_us + 1;
				int64_t got = live * 1000 / c->s->ts_tick_us;
				if (got < want - slack || got > want + slack)
					return "TS val";
			}
			break;
		}
	}
	return NULL;
}

static void remember_ts(struct dr_ctx *c, const struct dr_packet *k, const struct out_seg *o)
{
	struct raw_opt r[40];
	int nr = raw_opts(o->opt, o->optlen, r, 40);
	for (int i = 0; i < nr && i < k->nopts; i++) {
		if (r[i].kind == SN_TCPOPT_TIMESTAMP && k->opts[i].kind == SN_TCPOPT_TIMESTAMP &&
		    !k->opts[i].val_any && c->nts < DR_MAX_TS) {
			c->ts_script[c->nts] = k->opts[i].a;
			c->ts_live[c->nts] = sn_get32(r[i].data + 2);
			c->nts++;
		}
	}
}

static bool expect_packet(struct dr_ctx *c, const struct dr_event *e, int64_t anchor,
                          int64_t *happened)
{
	const struct dr_packet *k = &e->pkt;
	int64_t lo, hi, tol = 0;
	if (e->t.kind == DT_ANY) {
		lo = dr_script_now(c);
		hi = lo + DR_WAIT_ANY_US;
	} else {
		lo = e->t.kind == DT_REL ? anchor + e->t.us : e->t.us;
		hi = lo;
		if (e->t.range)
			hi = e->t.end_kind == DT_REL ? anchor + e->t.end_us : e->t.end_us;
		dr_time_ok(c, hi, hi, anchor, &tol);
	}
	uint64_t limit = c->t0 + (uint64_t)(hi + tol);
	struct out_seg o, more;
	struct dr_seg keep = {0}, keep2 = {0};
	char exp[256], act[256];
	fmt_expected(exp, sizeof(exp), k);
	if (!wait_segment(c, limit, &o, &keep)) {
		dr_failf(c, e->line, "timed out waiting for packet '%s'", exp);
		return false;
	}
	/* Segment aggregation (SPEC 8): several segments may make one line. */
	uint32_t first_seq = o.th.seq;
	uint8_t first_cwr = o.th.flags & SN_TH_CWR;
	size_t total = o.len;
	while (!c->s->strict_segments && total < k->len && !(o.th.flags & (SN_TH_SYN | SN_TH_FIN))) {
		if (!wait_segment(c, limit, &more, &keep2))
			break;
		if (more.th.seq != first_seq + total) {
			/* not contiguous: put it back for the next line */
			c->qhead = c->qhead > 0 ? c->qhead - 1 : 0;
			c->q[c->qhead] = keep2;
			keep2.ip = NULL;
			break;
		}
		total += more.len;
		seg_free(&keep);
		keep = keep2;
		keep2.ip = NULL;
		o = more;
		o.th.flags = (uint8_t)((o.th.flags & ~SN_TH_CWR) | first_cwr);
	}
	if (c->now < o.t_us)
		c->now = o.t_us;
	*happened = dr_script_now(c);

	struct dr_conn *cn = &c->conn;
	bool syn = o.th.flags & SN_TH_SYN;
	if (syn && (k->flags & SN_TH_SYN) && !cn->local_isn_known && !k->seq_abs) {
		cn->script_local_isn = k->seq;
		cn->live_local_isn = o.th.seq;
		cn->local_isn_known = true;
	}
	uint32_t delta = cn->local_isn_known ? cn->live_local_isn - cn->script_local_isn : 0;
	uint32_t live_isn = cn->local_isn_known ? cn->live_local_isn : 0;
	uint32_t seq = syn ? first_seq - delta : first_seq - live_isn;
	uint32_t ack = syn ? o.th.ack : o.th.ack - cn->remote_isn;
	struct out_seg shown = o; /* the combined segment, as compared */
	shown.len = total;
	fmt_actual(act, sizeof(act), &shown, seq, ack, cn->remote_isn);
	if (total != o.len) {
		size_t l = strlen(act);
		snprintf(act + l, sizeof(act) - l, " (%zu bytes in several segments)", total);
	}
	const char *what = NULL;
	if ((o.th.flags & 0xff) != k->flags)
		what = "flags";
	else if (!k->seq_any && (k->seq_abs ? first_seq : seq) != k->seq)
		what = "sequence number";
	else if ((o.th.flags & SN_TH_ACK) && ack != (k->has_ack ? k->ack : 0))
		what = "ack number";
	else if (!(o.th.flags & SN_TH_ACK) && o.th.ack != (k->has_ack ? k->ack : 0))
		what = "ack field";
	else if (k->has_win && o.th.wnd != k->win)
		what = "window";
	else if (o.th.urp != 0)
		what = "urgent pointer";
	else if (total != k->len)
		what = "payload length";
	else if (!k->opts_any)
		what = opts_differ(c, k, &o, cn->remote_isn);
	for (size_t i = 0; !what && i < o.len; i++)
		if (o.payload[i] != 0)
			what = "payload bytes";
	int64_t at = (int64_t)(o.t_us - c->t0);
	if (!what && e->t.kind != DT_ANY) {
		int64_t t1;
		bool early = !dr_time_ok(c, lo, at, anchor, &t1) && at < lo;
		bool late = !dr_time_ok(c, hi, at, anchor, &t1) && at > hi;
		if (early || late) {
			dr_failf(c, e->line, "timing error: expected '%s' at %.6f s%s, sent at %.6f s (tolerance %.6f s)",
			         exp, (double)lo / 1e6, e->t.range ? " (range start)" : "", (double)at / 1e6,
			         (double)t1 / 1e6);
			seg_free(&keep);
			return c->s->non_fatal_packet;
		}
	}
	if (what) {
		dr_failf(c, e->line, "bad outbound packet (%s): expected '%s', got '%s' at %.6f s", what, exp,
		         act, (double)at / 1e6);
		seg_free(&keep);
		seg_free(&keep2);
		return false;
	}
	remember_ts(c, k, &o);
	if (c->verbose)
		printf("  %.6f > %s\n", (double)at / 1e6, act);
	seg_free(&keep);
	seg_free(&keep2);
	return true;
}

/* ---- shell lines --------------------------------------------------------------- */

static bool shell_event(struct dr_ctx *c, const struct dr_event *e)
{
	switch (e->sh.kind) {
	case SH_IGNORE:
		return true;
	case SH_SYSCTL:
		/* The FreeBSD switches between RFC 793 and RFC 5961 behaviour;
		 * they are read when a segment arrives, so a change applies
		 * from the next one on. */
		switch (e->sh.knob) {
		case DR_KNOB_INSECURE_RST:
			c->st->cfg.profile.rfc793_rst = e->sh.value;
			break;
		case DR_KNOB_INSECURE_SYN:
			c->st->cfg.profile.rfc793_syn = e->sh.value;
			break;
		case DR_KNOB_DROP_SYNFIN:
			c->st->cfg.profile.drop_synfin = e->sh.value;
			break;
		case DR_KNOB_RFC1323:
			/* RFC 1323 (now 7323) on or off: window scaling and
			 * timestamps, offered by sockets made from now on */
			c->st->cfg.no_wscale = c->st->cfg.no_timestamps = !e->sh.value;
			break;
		case DR_KNOB_SACK:
			c->st->cfg.no_sack = !e->sh.value;
			break;
		case DR_KNOB_KEEPIDLE: /* FreeBSD counts milliseconds */
			c->st->cfg.keepidle_s = (uint32_t)(e->sh.value / 1000);
			break;
		case DR_KNOB_KEEPINTVL:
			c->st->cfg.keepintvl_s = (uint32_t)(e->sh.value / 1000);
			break;
		case DR_KNOB_KEEPCNT:
			c->st->cfg.keepcnt = (uint32_t)e->sh.value;
			break;
		case DR_KNOB_RMEM_MAX:
			/* only for a profile that sizes the shift for the
			 * system's largest buffer (linux), not for synack */
			if (c->st->cfg.profile.wscale_space)
				c->st->cfg.profile.wscale_space = (uint32_t)e->sh.value;
			break;
		}
		return true;
	case SH_STATE:
		return dr_state_check(c, e);
	}
	return true;
}

/* ---- the script ---------------------------------------------------------------- */

static void run_events(struct dr_ctx *c)
{
	const struct dr_script *s = c->s;
	int64_t anchor = 0;
	for (int i = 0; i < s->nev && c->res->verdict == DR_PASS; i++) {
		const struct dr_event *e = &s->ev[i];
		int64_t sched = e->t.kind == DT_ABS ? e->t.us : anchor + e->t.us;
		if (e->kind == DE_PACKET && e->pkt.outbound) {
			int64_t happened;
			if (!expect_packet(c, e, anchor, &happened))
				break;
			anchor = happened;
			continue;
		}
		if (sched < dr_script_now(c) && e->t.kind == DT_ABS) {
			/* an absolute time already passed: run it now, as packetdrill */
			sched = dr_script_now(c);
		}
		if (sched > dr_script_now(c))
			dr_advance(c, c->t0 + (uint64_t)sched);
		else
			dr_call_retry(c);
		switch (e->kind) {
		case DE_PACKET:
			if (c->verbose)
				printf("  %.6f < line %d\n", (double)sched / 1e6, e->line);
			inject(c, e);
			break;
		case DE_CALL:
			dr_call(c, e, sched);
			break;
		case DE_SHELL:
			if (!shell_event(c, e) && c->res->verdict == DR_PASS)
				dr_failf(c, e->line, "state check failed");
			break;
		}
		anchor = sched;
	}
	if (c->res->verdict == DR_PASS && c->pend && !c->pend_done) {
		/* A blocking call still pending at the end: give it its time. */
		dr_advance(c, c->t0 + (uint64_t)(c->pend_end_us + c->s->tol_us));
		if (c->res->verdict == DR_PASS && c->pend && !c->pend_done)
			dr_failf(c, c->pend->line, "blocking call did not return");
	}
}

void dr_run(const struct dr_script *s, const char *profile, bool verbose, struct dr_result *res)
{
	struct dr_ctx *c = calloc(1, sizeof(*c));
	struct sn_config cfg;
	if (!c)
		exit(2);
	c->s = s;
	c->res = res;
	c->verbose = verbose;
	res->verdict = DR_PASS;
	res->msg[0] = '\0';
	sn_config_init(&cfg);
	if (sn_config_set_profile(&cfg, profile) != 0) {
		res->verdict = DR_FAIL;
		snprintf(res->msg, sizeof(res->msg), "unknown profile '%s'", profile);
		free(c);
		return;
	}
	/* Reproducible runs: the same script gives the same segments. */
	cfg.random_seed = 0x5eed;
	cfg.isn_key_set = 1;
	memset(cfg.isn_key, 0x42, sizeof(cfg.isn_key));
	c->st = sn_stack_new(&cfg);
	if (!c->st)
		exit(2);
	c->laddr = 0xc0a80001; /* 192.168.0.1 */
	c->raddr = 0xc0000201; /* 192.0.2.1, off-link: through the gateway */
	struct sn_netif_config nc = {.prefix_len = 16, .mtu = s->mtu};
	nc.addr.s_addr = htonl(c->laddr);
	nc.gateway.s_addr = htonl(0xc0a800fe);
	memcpy(nc.mac, stack_mac, 6);
	int err = 0;
	c->nif = sn_netif_add(c->st, &drill_ops, c, &nc, &err);
	struct in_addr gw = {.s_addr = htonl(0xc0a800fe)};
	if (!c->nif || sn_arp_add(c->st, gw, peer_mac) != 0) {
		res->verdict = DR_FAIL;
		snprintf(res->msg, sizeof(res->msg), "cannot set up the interface (%d)", err);
	} else {
		c->now = c->t0 = DR_CLOCK_START;
		c->next_port = 40000;
		sn_poll(c->st, c->now);
		run_events(c);
		dr_close_all(c);
	}
	sn_stack_free(c->st);
	for (int i = c->qhead; i < c->qn; i++)
		seg_free(&c->q[i]);
	free(c->q);
	free(c);
}

/* ---- the command ---------------------------------------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	for (size_t r; b && (r = fread(b + n, 1, cap - n - 1, f)) > 0;) {
		n += r;
		if (n + 1 == cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				b = NULL;
			}
			b = nb;
		}
	}
	fclose(f);
	if (b)
		b[n] = '\0';
	if (b && strlen(b) != n) {
		free(b);
		return NULL; /* NUL bytes: not a script */
	}
	return b;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: synack drill [--profile NAME] [-D NAME[=VALUE]]... [-v] SCRIPT...\n"
	           "\n"
	           "Run packetdrill scripts against a fresh synack stack each, on a virtual clock.\n"
	           "  --profile NAME   synack (default), freebsd or linux: the stack's observable\n"
	           "                   defaults (options, windows, timers) the scripts expect\n"
	           "  -D NAME[=VALUE]  define a symbol (for #ifdef NAME, and NAME -> VALUE)\n"
	           "  -v               print every segment checked\n"
	           "Prints PASS, FAIL or SKIP with the reason for each script, then\n"
	           "'N passed, N failed, N skipped'. Exit status 1 if any failed.\n");
}

int cmd_drill(int argc, char **argv)
{
	const char *profile = "synack";
	struct dr_define defs[16];
	int ndefs = 0, npass = 0, nfail = 0, nskip = 0, i;
	bool verbose = false;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--profile") == 0 && i + 1 < argc) {
			profile = argv[++i];
		} else if (strncmp(a, "--profile=", 10) == 0) {
			profile = a + 10;
		} else if ((strcmp(a, "-D") == 0 || strcmp(a, "--define") == 0) && i + 1 < argc) {
			a = argv[++i];
			goto define;
		} else if (strncmp(a, "-D", 2) == 0 && a[2]) {
			a += 2;
		define:
			if (ndefs == 16) {
				fprintf(stderr, "synack drill: too many -D\n");
				return 2;
			}
			const char *eq = strchr(a, '=');
			snprintf(defs[ndefs].name, sizeof(defs->name), "%.*s", eq ? (int)(eq - a) : 63, a);
			snprintf(defs[ndefs].value, sizeof(defs->value), "%s", eq ? eq + 1 : "");
			ndefs++;
		} else if (strcmp(a, "-v") == 0) {
			verbose = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "synack drill: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		} else {
			break;
		}
	}
	struct sn_config probe;
	sn_config_init(&probe);
	if (sn_config_set_profile(&probe, profile) != 0) {
		fprintf(stderr, "synack drill: unknown profile '%s' (synack, freebsd, linux)\n", profile);
		return 2;
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	for (; i < argc; i++) {
		struct dr_result res = {0};
		struct dr_script s;
		char *text = read_file(argv[i]);
		if (!text) {
			res.verdict = DR_FAIL;
			snprintf(res.msg, sizeof(res.msg), "cannot read: %s", strerror(errno ? errno : EINVAL));
		} else if (dr_parse(text, defs, ndefs, &s, &res) == DR_PASS) {
			dr_run(&s, profile, verbose, &res);
			dr_script_free(&s);
		}
		free(text);
		static const char *const name[] = {"PASS", "FAIL", "SKIP"};
		printf("%s %s%s%s\n", name[res.verdict], argv[i], res.msg[0] ? ": " : "", res.msg);
		npass += res.verdict == DR_PASS;
		nfail += res.verdict == DR_FAIL;
		nskip += res.verdict == DR_SKIP;
	}
	printf("%d passed, %d failed, %d skipped\n", npass, nfail, nskip);
	return nfail ? 1 : 0;
}
