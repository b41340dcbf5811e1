/*
 * listen.c - listeners, the SYN queue and the accept queue.
 *
 *   tcp_input -> listen_input (RFC 9293 3.10.7.2, LISTEN)
 *       SYN -> a child control block in SYN-RECEIVED, on the SYN queue
 *   sync_input (ACK completes the handshake) -> listen_child_established
 *       child moves to the accept queue; the listener gets SN_EV_ACCEPTABLE
 *   sn_accept -> listen_accept
 *
 * Both queues are bounded. A SYN that finds either queue full is dropped and
 * counted (tcp_listen_overflow), so a flood of SYNs costs a bounded amount of
 * memory, and a client retransmits its SYN later. A half-open child lives
 * until its SYN-ACK has been retransmitted synack_retries times with
 * exponential back-off (timer.c); then it is dropped silently. SYN cookies
 * are not implemented yet.
 */
#include <errno.h>
#include <stdlib.h>

#include "core.h"
#include "tcp/seq.h"

int listen_start(struct sn_sock *s, int backlog)
{
	struct sn_stack *st = s->stack;
	if (!s->listener) {
		s->listener = calloc(1, sizeof(*s->listener));
		if (!s->listener)
			return -ENOMEM;
		sn_list_init(&s->listener->syn_q);
		sn_list_init(&s->listener->accept_q);
	}
	/* As with Linux's listen(), a backlog <= 0 still admits one connection
	 * and a huge one is capped. */
	uint32_t b = backlog <= 0 ? 1 : (uint32_t)backlog;
	if (b > 65535)
		b = 65535;
	s->listener->backlog = b;
	s->listener->syn_max = b < st->cfg.syn_backlog_max ? b : st->cfg.syn_backlog_max;
	if (s->listener->syn_max == 0)
		s->listener->syn_max = 1;
	tcb_set_state(s, SN_LISTEN);
	return 0;
}

static void trace_listen_drop(struct sn_sock *ls, const char *why)
{
	if (!ls->stack->trace_fn)
		return;
	struct sn_trace_event ev = {
		.kind = SN_TRACE_DROP, .now_us = ls->stack->now_us, .sock = ls, .what = why,
	};
	stack_trace(ls->stack, &ev);
}

/* RFC 9293 3.10.7.2: a segment for a listening socket. */
void listen_input(struct sn_sock *ls, const struct sn_ipv4 *ip, const struct sn_tcp *th)
{
	struct sn_stack *st = ls->stack;
	struct sn_listener *l = ls->listener;

	if (th->flags & SN_TH_RST)
		return; /* first: an incoming RST is ignored */
	if (th->flags & SN_TH_ACK) {
		/* second: nothing here was ever sent, so any ACK is bad */
		struct sn_tuple t = {.laddr = ip->dst, .raddr = ip->src, .lport = th->dport,
		                     .rport = th->sport};
		tcp_send_raw(st, &t, th->ack, 0, SN_TH_RST, 0, NULL);
		return;
	}
	if (!(th->flags & SN_TH_SYN))
		return; /* fourth, "other text or control": drop */

	if (l->syn_len >= l->syn_max || l->accept_len >= l->backlog) {
		STAT_INC(st, tcp_listen_overflow);
		trace_listen_drop(ls, "listen queue full");
		return;
	}

	struct sn_sock *c = tcb_new_child(ls);
	if (!c) {
		STAT_INC(st, tcp_listen_overflow);
		trace_listen_drop(ls, "out of memory");
		return;
	}
	uint32_t hop;
	c->t = (struct sn_tuple){.laddr = ip->dst, .raddr = ip->src, .lport = th->dport,
	                         .rport = th->sport};
	c->netif = ipv4_route(st, c->t.raddr, &hop);
	/* Not yet the application's: no handle until sn_accept. */
	c->flags = SN_SF_PASSIVE | SN_SF_USER_CLOSED |
	           (ls->flags & (SN_SF_NODELAY | SN_SF_KEEPALIVE | SN_SF_LINGER));
	tcp_mss_offer_update(c);

	c->irs = th->seq;
	c->rcv_nxt = th->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	c->last_rcv_ms = tcp_ms(st);
	c->peer_mss = th->opts.has_mss ? th->opts.mss : 0;
	/* Our SYN-ACK carries an option only if the SYN did (RFC 7323 2.2, 3.2;
	 * RFC 2018 section 2). */
	tcp_options_init(c);
	tcp_options_agree(c, th);
	isn_generate(st, c);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_buf_seq = c->iss + 1;
	c->snd_wnd = th->wnd;
	c->snd_wl1 = th->seq;
	c->max_snd_wnd = th->wnd;
	/* Data on the SYN is not kept (no TCP Fast Open): the peer sends it
	 * again once we acknowledge only the SYN. */

	c->parent = ls;
	sn_list_add_tail(&l->syn_q, &c->child_link);
	l->syn_len++;
	tcb_hash_insert(c);
	STAT_INC(st, tcp_passive_opens);
	tcb_set_state(c, SN_SYN_RECEIVED);
	tcb_want_output(c);
}

void listen_child_established(struct sn_sock *c)
{
	struct sn_sock *ls = c->parent;
	if (!ls)
		return;
	struct sn_listener *l = ls->listener;
	sn_list_del(&c->child_link);
	l->syn_len--;
	sn_list_add_tail(&l->accept_q, &c->child_link);
	l->accept_len++;
	tcb_event(ls, SN_EV_ACCEPTABLE);
}

/* A child closed (reset, expired) before anyone accepted it. */
void listen_child_gone(struct sn_sock *c)
{
	struct sn_sock *ls = c->parent;
	if (!ls)
		return;
	struct sn_listener *l = ls->listener;
	sn_list_del(&c->child_link);
	/* Children in the accept queue are the ones that got to ESTABLISHED. */
	if (c->flags & SN_SF_EVER_CONNECTED)
		l->accept_len--;
	else
		l->syn_len--;
	c->parent = NULL;
}

struct sn_sock *listen_accept(struct sn_sock *ls)
{
	struct sn_listener *l = ls->listener;
	if (sn_list_empty(&l->accept_q))
		return NULL;
	struct sn_sock *c = SN_CONTAINER_OF(l->accept_q.next, struct sn_sock, child_link);
	sn_list_del(&c->child_link);
	l->accept_len--;
	c->parent = NULL;
	c->flags &= ~SN_SF_USER_CLOSED;
	return c;
}

/* The listener is closing: its unaccepted children are reset (their peers
 * believe they are connected) and its half-open ones forgotten. */
void listen_stop(struct sn_sock *ls)
{
	struct sn_listener *l = ls->listener;
	if (!l)
		return;
	while (!sn_list_empty(&l->accept_q)) {
		struct sn_sock *c = SN_CONTAINER_OF(l->accept_q.next, struct sn_sock, child_link);
		tcp_send_rst(c);
		tcb_close(c, 0); /* unlinks it via listen_child_gone */
	}
	while (!sn_list_empty(&l->syn_q)) {
		struct sn_sock *c = SN_CONTAINER_OF(l->syn_q.next, struct sn_sock, child_link);
		tcb_close(c, 0);
	}
	/* The queues share their pointer's place with the reassembly queue
	 * (core.h), so they go with the LISTEN state. */
	free(l);
	ls->listener = NULL;
}
