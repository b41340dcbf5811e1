/*
 * world.c - see world.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wire/wire.h"
#include "world.h"

static void record(const struct sn_trace_event *ev, void *ctx);

struct side_ctx {
	struct world *w;
	int side;
};
static struct side_ctx side_ctx[2];

void world_prepare(struct world *w)
{
	memset(w, 0, sizeof(*w));
	for (int i = 0; i < 2; i++) {
		sn_config_init(&w->cfg[i]);
		w->cfg[i].isn_fixed = 1;
		w->cfg[i].isn_value = i == 0 ? 1000 : 8000;
		w->cfg[i].random_seed = 7 + (uint64_t)i;
	}
}

int world_setup(void **state)
{
	static struct world w;
	world_prepare(&w);
	*state = &w;
	return 0;
}

int world_teardown(void **state)
{
	world_free(*state);
	return 0;
}

void world_go(struct world *w, uint64_t delay_us)
{
	world_start(w, delay_us);
	world_static_arp(w);
}

void world_start(struct world *w, uint64_t delay_us)
{
	int err = sn_simnet_init(&w->net, &w->cfg[0], &w->cfg[1], 99, delay_us);
	if (err) {
		fprintf(stderr, "sn_simnet_init: %d\n", err);
		return;
	}
	for (int i = 0; i < 2; i++) {
		side_ctx[i] = (struct side_ctx){w, i};
		sn_set_trace(w->net.stack[i], record, &side_ctx[i]);
	}
}

void world_free(struct world *w)
{
	sn_simnet_free(&w->net);
}

void world_static_arp(struct world *w)
{
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in peer = sn_simnet_sockaddr(1 - i, 0);
		uint8_t mac[6] = {0x02, 0, 0, 0, 0, (uint8_t)(2 - i)};
		sn_arp_add(w->net.stack[i], peer.sin_addr, mac);
	}
}

static void record(const struct sn_trace_event *ev, void *ctx)
{
	struct side_ctx *sc = ctx;
	struct world *w = sc->w;
	switch (ev->kind) {
	case SN_TRACE_SEG_OUT:
		if (w->nsegs < W_MAX_EVENTS)
			w->segs[w->nsegs++] = (struct w_seg){sc->side, ev->now_us, ev->seg};
		break;
	case SN_TRACE_STATE:
		if (w->nstates < W_MAX_EVENTS)
			w->states[w->nstates++] =
			        (struct w_state){sc->side, ev->now_us, ev->old_state, ev->new_state};
		break;
	case SN_TRACE_DROP:
		w->ndrops[sc->side]++;
		break;
	case SN_TRACE_CC:
		if (w->ncc < W_MAX_CC)
			w->cc[w->ncc++] = (struct w_cc){sc->side, ev->now_us, ev->cc.cwnd, ev->cc.ssthresh,
			                                ev->cc.srtt_us, ev->cc.pipe, ev->what};
		break;
	default:
		break;
	}
}

struct sn_sock *w_listen(struct world *w, int side, uint16_t port, int backlog)
{
	struct sn_sock *s = sn_socket(w->net.stack[side]);
	struct sockaddr_in a = sn_simnet_sockaddr(side, port);
	if (!s || sn_bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || sn_listen(s, backlog) != 0)
		return NULL;
	return s;
}

struct sn_sock *w_connect(struct world *w, int side, uint16_t lport, uint16_t rport)
{
	struct sn_sock *s = sn_socket(w->net.stack[side]);
	if (!s)
		return NULL;
	if (lport) {
		struct sockaddr_in a = sn_simnet_sockaddr(side, lport);
		if (sn_bind(s, (struct sockaddr *)&a, sizeof(a)) != 0)
			return NULL;
	}
	struct sockaddr_in to = sn_simnet_sockaddr(1 - side, rport);
	if (sn_connect(s, (struct sockaddr *)&to, sizeof(to)) != -EINPROGRESS)
		return NULL;
	return s;
}

struct sn_sock *w_accept(struct sn_sock *ls)
{
	int err;
	return sn_accept(ls, NULL, NULL, &err);
}

void w_run(struct world *w, uint64_t for_us)
{
	sn_simnet_run_until(&w->net, w->net.now_us + for_us);
}

void w_run_until(struct world *w, uint64_t t_us)
{
	sn_simnet_run_until(&w->net, t_us);
}

static void flags_str(uint8_t f, char *buf, size_t n)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = {{SN_TH_SYN, "SYN"}, {SN_TH_FIN, "FIN"}, {SN_TH_RST, "RST"},
	             {SN_TH_PSH, "PSH"}, {SN_TH_ACK, "ACK"}, {SN_TH_URG, "URG"}};
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (f & names[i].bit) {
			if (buf[0])
				strncat(buf, ",", n - strlen(buf) - 1);
			strncat(buf, names[i].name, n - strlen(buf) - 1);
		}
	}
}

static const char *segs_text(struct world *w, size_t from, bool timed)
{
	size_t off = 0;
	w->text[0] = 0;
	for (size_t i = from; i < w->nsegs && off < sizeof(w->text) - 128; i++) {
		const struct w_seg *s = &w->segs[i];
		char f[40];
		flags_str(s->seg.flags, f, sizeof(f));
		if (timed)
			off += (size_t)snprintf(w->text + off, sizeof(w->text) - off, "%llu ",
			                        (unsigned long long)(s->t / 1000));
		off += (size_t)snprintf(w->text + off, sizeof(w->text) - off,
		                        "%c %s seq=%u ack=%u len=%u\n", s->side ? 'S' : 'C', f,
		                        s->seg.seq, s->seg.ack, s->seg.len);
	}
	return w->text;
}

const char *w_segs(struct world *w, size_t from)
{
	return segs_text(w, from, false);
}

const char *w_segs_timed(struct world *w, size_t from)
{
	return segs_text(w, from, true);
}

const char *w_states(struct world *w, int side)
{
	size_t off = 0;
	w->text[0] = 0;
	for (size_t i = 0; i < w->nstates && off < sizeof(w->text) - 64; i++) {
		const struct w_state *s = &w->states[i];
		if (s->side != side)
			continue;
		off += (size_t)snprintf(w->text + off, sizeof(w->text) - off, "%s%s",
		                        off ? " " : "", sn_state_name(s->to));
	}
	return w->text;
}

int w_state_of(const struct sn_sock *s)
{
	struct sn_tcp_info info;
	if (sn_tcp_info(s, &info) != 0)
		return -1;
	return info.state;
}

struct sn_stats w_stats(struct world *w, int side)
{
	struct sn_stats st;
	sn_stats(w->net.stack[side], &st);
	return st;
}

static void inject(struct world *w, int side, const struct w_pkt *p, uint16_t wnd)
{
	uint8_t frame[2048];
	size_t room = sizeof(frame) - SN_ETH_HLEN - SN_IPV4_HLEN;
	uint8_t *tcp = frame + SN_ETH_HLEN + SN_IPV4_HLEN;
	struct sn_tcp th = {
		.sport = p->sport, .dport = p->dport, .seq = p->seq, .ack = p->ack,
		.flags = p->flags, .wnd = wnd,
		.opts = {.has_mss = p->mss != 0, .mss = p->mss,
		         .has_wscale = p->has_wscale, .wscale = p->wscale,
		         .sack_permitted = p->sack_permitted,
		         .has_ts = p->has_ts, .ts_val = p->ts_val, .ts_ecr = p->ts_ecr,
		         .num_sack = p->num_sack},
	};
	for (unsigned i = 0; i < p->num_sack && i < 4; i++)
		th.opts.sack[i] = (struct sn_sack_block){p->sack[i][0], p->sack[i][1]};
	size_t hl = sn_tcp_emit(tcp, room, &th, NULL);
	if (!hl || hl + p->len > room)
		return;
	if (p->len)
		memcpy(tcp + hl, p->data, p->len);
	uint32_t src = SN_SIMNET_ADDR(1 - side), dst = SN_SIMNET_ADDR(side);
	sn_tcp_set_csum(tcp, hl + p->len, src, dst);
	struct sn_ipv4 ip = {.total_len = (uint16_t)(SN_IPV4_HLEN + hl + p->len), .df = true,
	                     .ttl = 64, .proto = SN_IPPROTO_TCP, .src = src, .dst = dst};
	sn_ipv4_emit(frame + SN_ETH_HLEN, SN_IPV4_HLEN, &ip);
	struct sn_eth eth = {.dst = {0x02, 0, 0, 0, 0, (uint8_t)(side + 1)},
	                     .src = {0x02, 0, 0, 0, 0, (uint8_t)(2 - side)},
	                     .type = SN_ETHERTYPE_IPV4};
	sn_eth_emit(frame, SN_ETH_HLEN, &eth);
	sn_input(w->net.stack[side], w->net.netif[side], frame, SN_ETH_HLEN + SN_IPV4_HLEN + hl + p->len,
	         w->net.now_us);
}

void w_inject(struct world *w, int side, const struct w_pkt *p)
{
	inject(w, side, p, p->wnd ? p->wnd : 65535);
}

void w_impair(struct world *w, int from_side, uint32_t loss_ppm, uint64_t delay_us)
{
	struct sn_link_impair imp = {.loss_ppm = loss_ppm, .delay_us = delay_us};
	sn_memlink_set_impair(w->net.link, from_side, &imp);
}

uint64_t w_state_time(const struct world *w, int side, int state)
{
	uint64_t t = UINT64_MAX;
	for (size_t i = 0; i < w->nstates; i++)
		if (w->states[i].side == side && w->states[i].to == state)
			t = w->states[i].t;
	return t;
}

void w_inject_wnd(struct world *w, int side, const struct w_pkt *p, uint16_t wnd)
{
	inject(w, side, p, wnd);
}
