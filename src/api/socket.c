/*
 * socket.c - the BSD-socket-like API (include/synack.h).
 *
 *   sn_connect / sn_send / sn_shutdown / sn_close
 *       -> change state and queue work -> tcb_want_output
 *       -> the segments leave in the next sn_poll or sn_input (stack_leave)
 *   sn_abort (and a close that must reset) sends its RST at once, at the
 *   stack's last known time, because the control block goes away with it.
 *
 * Errors follow what a POSIX programmer expects of a non-blocking TCP
 * socket; see the table in docs/API.md.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "tcp/seq.h"

struct sn_sock *sn_socket(struct sn_stack *st)
{
	return st ? tcb_new(st) : NULL;
}

void sn_set_event_cb(struct sn_sock *s, sn_event_fn fn, void *user)
{
	s->event_fn = fn;
	s->event_user = user;
}

void *sn_sock_user(const struct sn_sock *s)
{
	return s->event_user;
}

static int parse_addr(const struct sockaddr *addr, socklen_t len, uint32_t *ip, uint16_t *port)
{
	if (!addr || len < (socklen_t)sizeof(struct sockaddr_in))
		return -EINVAL;
	if (addr->sa_family != AF_INET)
		return -EAFNOSUPPORT;
	const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
	*ip = ntohl(in->sin_addr.s_addr);
	*port = ntohs(in->sin_port);
	return 0;
}

static void fill_addr(struct sockaddr *addr, socklen_t *len, uint32_t ip, uint16_t port)
{
	if (!addr || !len)
		return;
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port),
	                         .sin_addr.s_addr = htonl(ip)};
	size_t n = *len < sizeof(in) ? *len : sizeof(in);
	memcpy(addr, &in, n);
	*len = sizeof(in);
}

static bool is_local_addr(struct sn_stack *st, uint32_t ip)
{
	for (struct sn_netif *n = st->netifs; n; n = n->next)
		if (n->addr == ip)
			return true;
	return false;
}

int sn_bind(struct sn_sock *s, const struct sockaddr *addr, socklen_t len)
{
	uint32_t ip;
	uint16_t port;
	int err = parse_addr(addr, len, &ip, &port);
	if (err)
		return err;
	if (s->state != SN_CLOSED || (s->flags & SN_SF_BOUND))
		return -EINVAL;
	if (ip != 0 && !is_local_addr(s->stack, ip))
		return -EADDRNOTAVAIL;
	if (port == 0) {
		err = tcb_pick_ephemeral(s->stack, ip, &port);
		if (err)
			return err;
	}
	return tcb_bind(s, ip, port);
}

static int autobind(struct sn_sock *s, uint32_t ip)
{
	uint16_t port;
	int err = tcb_pick_ephemeral(s->stack, ip, &port);
	return err ? err : tcb_bind(s, ip, port);
}

int sn_listen(struct sn_sock *s, int backlog)
{
	if (s->state != SN_CLOSED && s->state != SN_LISTEN)
		return -EINVAL;
	if (s->flags & SN_SF_EVER_CONNECTED)
		return -EINVAL;
	if (!(s->flags & SN_SF_BOUND)) {
		int err = autobind(s, 0);
		if (err)
			return err;
	}
	if (s->state == SN_CLOSED && tcb_listener_conflict(s))
		return -EADDRINUSE;
	return listen_start(s, backlog);
}

struct sn_sock *sn_accept(struct sn_sock *s, struct sockaddr *addr, socklen_t *len, int *err)
{
	int e = 0;
	struct sn_sock *c = NULL;
	if (s->state != SN_LISTEN) {
		e = -EINVAL;
		goto out;
	}
	c = listen_accept(s);
	if (!c) {
		e = -EAGAIN;
		goto out;
	}
	fill_addr(addr, len, c->t.raddr, c->t.rport);
	/* What happened before the accept is not lost on the application:
	 * data may already wait, or the peer may have closed. */
	if (sn_ring_used(&c->rcv_buf) > 0 || (c->flags & SN_SF_FIN_RCVD))
		tcb_event(c, SN_EV_READABLE);
out:
	if (err)
		*err = e;
	return c;
}

static int take_error(struct sn_sock *s);

int sn_connect(struct sn_sock *s, const struct sockaddr *addr, socklen_t len)
{
	struct sn_stack *st = s->stack;
	uint32_t ip;
	uint16_t port;
	int err = parse_addr(addr, len, &ip, &port);
	if (err)
		return err;

	switch (s->state) {
	case SN_CLOSED:
		break;
	case SN_LISTEN:
		return -EINVAL;
	case SN_SYN_SENT:
	case SN_SYN_RECEIVED:
		return -EALREADY;
	default:
		return -EISCONN;
	}
	if (s->flags & SN_SF_EVER_CONNECTED)
		return -EISCONN;
	/* A connect that failed (refused, unreachable, timed out) and whose
	 * error nobody has read yet reports it to the next connect, and
	 * clears it, as Linux does: "call connect again to learn how the
	 * non-blocking one ended". The call after that starts anew. */
	if (s->so_error)
		return take_error(s);
	if (ip == 0 || port == 0)
		return -EINVAL;

	uint32_t hop;
	struct sn_netif *nif = ipv4_route(st, ip, &hop);
	if (!nif)
		return -ENETUNREACH;
	if (!(s->flags & SN_SF_BOUND)) {
		err = autobind(s, nif->addr);
		if (err)
			return err;
	}
	if (s->t.laddr == 0)
		s->t.laddr = nif->addr;
	s->t.raddr = ip;
	s->t.rport = port;
	struct sn_tw *tw;
	if (tcb_demux(st, &s->t, &tw) || tw) {
		tcb_demux_done(st);
		s->t.raddr = 0;
		s->t.rport = 0;
		return -EADDRNOTAVAIL;
	}
	s->netif = nif;
	tcp_mss_offer_update(s);
	s->so_error = 0;
	isn_generate(st, s);
	s->snd_una = s->snd_nxt = s->snd_max = s->iss;
	s->snd_buf_seq = s->iss + 1;
	s->syn_tries = 0;
	s->rexmt_count = 0;
	tcp_rtt_init(s);
	tcp_options_init(s);
	tcb_hash_insert(s);
	tcb_demux_done(st);
	s->flags |= SN_SF_CONNECTING;
	STAT_INC(st, tcp_active_opens);
	tcb_set_state(s, SN_SYN_SENT);
	tcb_want_output(s);
	return -EINPROGRESS;
}

/* Report a pending error once (as SO_ERROR does), then it is gone. */
static int take_error(struct sn_sock *s)
{
	int e = s->so_error;
	s->so_error = 0;
	return -e;
}

ssize_t sn_send(struct sn_sock *s, const void *buf, size_t len, int flags)
{
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (s->so_error)
		return take_error(s);
	switch (s->state) {
	case SN_ESTABLISHED:
	case SN_CLOSE_WAIT:
		break;
	case SN_SYN_SENT:
	case SN_SYN_RECEIVED:
		return -EAGAIN;
	case SN_CLOSED:
		return (s->flags & SN_SF_EVER_CONNECTED) ? -EPIPE : -ENOTCONN;
	case SN_LISTEN:
		return -ENOTCONN;
	default:
		return -EPIPE; /* our FIN is queued or sent */
	}
	if (s->flags & SN_SF_FIN_QUEUED)
		return -EPIPE;
	if (len == 0)
		return 0;
	tcb_ring_prime(s->stack, &s->snd_buf);
	long n = sn_ring_write(&s->snd_buf, buf, len);
	if (n < 0)
		return n;
	if (n == 0)
		return -EAGAIN;
	tcb_want_output(s);
	return n;
}

/*
 * After the application reads, announce the space it freed, but only once
 * the window can grow by two full segments or half the buffer (as BSD
 * does): a reader that keeps up would otherwise answer every segment with a
 * window update and defeat the delayed ACK. The edge then moves as far as
 * tcp_rcv_window allows. This update is what restarts a sender that a zero
 * window stopped (its persist timer is the backstop if the update is lost).
 */
static void maybe_window_update(struct sn_sock *s)
{
	if (s->state < SN_ESTABLISHED || s->state == SN_TIME_WAIT)
		return;
	uint32_t offered = tcp_rcv_offered(s);
	uint32_t wnd = tcp_rcv_window(s);
	uint32_t mss = tcp_rcv_mss_offer(s);
	uint32_t worth = 2u * mss;
	if (worth > s->rcv_buf.cap / 2)
		worth = s->rcv_buf.cap / 2;
	/* A window too small for a full segment is one the sender may be
	 * waiting on (persist): reopening it is always news. */
	if (wnd > offered && (wnd - offered >= worth || offered < mss))
		tcp_send_ack(s);
}

ssize_t sn_recv(struct sn_sock *s, void *buf, size_t len, int flags)
{
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	/* After SHUT_RD what is already buffered is still handed back, then
	 * end of stream, as on Linux. */
	if (sn_ring_used(&s->rcv_buf) > 0) {
		if (len == 0)
			return 0;
		size_t n;
		if (flags & MSG_PEEK) {
			n = sn_ring_peek(&s->rcv_buf, 0, buf, len);
		} else {
			n = sn_ring_read(&s->rcv_buf, buf, len);
			maybe_window_update(s);
		}
		return (ssize_t)n;
	}
	if (s->flags & (SN_SF_FIN_RCVD | SN_SF_SHUT_RD))
		return 0;
	if (s->so_error)
		return take_error(s);
	switch (s->state) {
	case SN_CLOSED:
		return (s->flags & SN_SF_EVER_CONNECTED) ? 0 : -ENOTCONN;
	case SN_LISTEN:
		return -ENOTCONN;
	default:
		return -EAGAIN;
	}
}

/* Queue our FIN: RFC 9293 3.10.4, CLOSE in each state. */
static void queue_fin(struct sn_sock *s)
{
	if (s->flags & SN_SF_FIN_QUEUED)
		return;
	s->flags |= SN_SF_FIN_QUEUED;
	switch (s->state) {
	case SN_SYN_RECEIVED:
	case SN_ESTABLISHED:
		tcb_set_state(s, SN_FIN_WAIT_1);
		break;
	case SN_CLOSE_WAIT:
		tcb_set_state(s, SN_LAST_ACK);
		break;
	default:
		break;
	}
	tcb_want_output(s);
}

int sn_shutdown(struct sn_sock *s, int how)
{
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	switch (s->state) {
	case SN_CLOSED:
	case SN_LISTEN:
	case SN_SYN_SENT:
		return -ENOTCONN;
	default:
		break;
	}
	if (how == SHUT_RD || how == SHUT_RDWR)
		s->flags |= SN_SF_SHUT_RD;
	if (how == SHUT_WR || how == SHUT_RDWR)
		queue_fin(s);
	return 0;
}

/* Reset a connection and let go of it (RFC 9293 3.10.5, ABORT). */
static void reset_and_close(struct sn_sock *s)
{
	switch (s->state) {
	case SN_SYN_RECEIVED:
	case SN_ESTABLISHED:
	case SN_FIN_WAIT_1:
	case SN_FIN_WAIT_2:
	case SN_CLOSE_WAIT:
		tcp_send_rst(s);
		break;
	default:
		/* SYN-SENT: nobody to tell. CLOSING, LAST-ACK, TIME-WAIT: the
		 * RFC only deletes the control block. */
		break;
	}
	tcb_close(s, 0);
}

static void release_listener(struct sn_sock *s)
{
	listen_stop(s);
	tcb_unbind(s);
	tcb_set_state(s, SN_CLOSED);
}

int sn_close(struct sn_sock *s)
{
	s->flags |= SN_SF_USER_CLOSED;
	s->event_fn = NULL;
	switch (s->state) {
	case SN_LISTEN:
		release_listener(s);
		tcb_maybe_free(s);
		return 0;
	case SN_CLOSED:
	case SN_SYN_SENT:
		tcb_close(s, 0);
		return 0;
	default:
		break;
	}
	bool linger0 = (s->flags & SN_SF_LINGER) && s->opt.linger_sec == 0;
	if (sn_ring_used(&s->rcv_buf) > 0 || linger0) {
		/* Unread data would be lost without the peer knowing: RFC 2525
		 * 2.17 and RFC 1122 4.2.2.13 say reset. SO_LINGER with a zero
		 * timeout asks for the same. */
		reset_and_close(s);
		return 0;
	}
	s->flags |= SN_SF_SHUT_RD;
	queue_fin(s);
	if (s->state == SN_FIN_WAIT_2)
		tcp_fin2_arm(s);
	return 0;
}

int sn_abort(struct sn_sock *s)
{
	s->flags |= SN_SF_USER_CLOSED;
	s->event_fn = NULL;
	if (s->state == SN_LISTEN) {
		release_listener(s);
		tcb_maybe_free(s);
		return 0;
	}
	reset_and_close(s);
	return 0;
}

int sn_getsockname(const struct sn_sock *s, struct sockaddr *addr, socklen_t *len)
{
	if (!addr || !len)
		return -EINVAL;
	fill_addr(addr, len, s->t.laddr, s->t.lport);
	return 0;
}

int sn_getpeername(const struct sn_sock *s, struct sockaddr *addr, socklen_t *len)
{
	if (!addr || !len)
		return -EINVAL;
	if (s->state == SN_CLOSED || s->state == SN_LISTEN || s->state == SN_SYN_SENT)
		return -ENOTCONN;
	fill_addr(addr, len, s->t.raddr, s->t.rport);
	return 0;
}

static int get_int(const void *val, socklen_t len, int *out)
{
	if (!val || len < (socklen_t)sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len || *len < (socklen_t)sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

static void set_flag(struct sn_sock *s, uint32_t flag, int on)
{
	if (on)
		s->flags |= flag;
	else
		s->flags &= ~flag;
}

/*
 * TCP_CONGESTION, as in Linux: the algorithm's name, not necessarily
 * NUL-terminated within len. An unknown name is -ENOENT. A connection may
 * change algorithm at any time; the new one starts from the present cwnd
 * and ssthresh with its own state reset.
 */
static int set_congestion(struct sn_sock *s, const void *val, socklen_t len)
{
	char name[16];
	if (!val || len == 0)
		return -EINVAL;
	size_t n = strnlen(val, len);
	if (n >= sizeof(name))
		return -ENOENT;
	memcpy(name, val, n);
	name[n] = '\0';
	const struct sn_cc_ops *cc = sn_cc_find(name);
	if (!cc)
		return -ENOENT;
	if (cc != tcp_cc(s))
		tcp_cc_set(s, sn_cc_index(cc));
	return 0;
}

int sn_setsockopt(struct sn_sock *s, int level, int name, const void *val, socklen_t len)
{
	int v = 0, err;
	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;
		if (!val || len < (socklen_t)sizeof(l))
			return -EINVAL;
		memcpy(&l, val, sizeof(l));
		set_flag(s, SN_SF_LINGER, l.l_onoff);
		/* Only zero or not matters (sn_close never blocks); kept up to 65535 s. */
		int sec = l.l_linger < 0 ? 0 : l.l_linger > UINT16_MAX ? UINT16_MAX : l.l_linger;
		s->opt.linger_sec = (uint16_t)sec;
		return 0;
	}
	if (level == IPPROTO_TCP && name == TCP_CONGESTION)
		return set_congestion(s, val, len);
	if ((err = get_int(val, len, &v)))
		return err;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
			set_flag(s, SN_SF_REUSEADDR, v);
			return 0;
		case SO_KEEPALIVE:
			set_flag(s, SN_SF_KEEPALIVE, v);
			tcp_keepalive_update(s);
			return 0;
		case SO_RCVBUF:
		case SO_SNDBUF: {
			if (v <= 0)
				return -EINVAL;
			struct sn_ring *r = name == SO_RCVBUF ? &s->rcv_buf : &s->snd_buf;
			uint32_t cap = (uint32_t)v < 256 ? 256 : (uint32_t)v;
			if (cap < sn_ring_used(r))
				cap = sn_ring_used(r);
			return sn_ring_resize(r, cap);
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY:
			set_flag(s, SN_SF_NODELAY, v);
			return 0;
		case TCP_MAXSEG:
			if (v < 88 || v > 65535)
				return -EINVAL;
			s->opt.user_mss = (uint16_t)v;
			tcp_mss_offer_update(s);
			return 0;
		/* Ranges as Linux's tcp(7). */
		case TCP_KEEPIDLE:
		case TCP_KEEPINTVL:
			if (v < 1 || v > 32767)
				return -EINVAL;
			if (name == TCP_KEEPIDLE)
				s->opt.keepidle_s = (uint16_t)v;
			else
				s->opt.keepintvl_s = (uint16_t)v;
			tcp_keepalive_update(s);
			return 0;
		case TCP_KEEPCNT:
			if (v < 1 || v > 127)
				return -EINVAL;
			s->opt.keepcnt = (uint8_t)v;
			return 0;
		case TCP_USER_TIMEOUT:
			if (v < 0)
				return -EINVAL;
			s->opt.user_timeout_ms = (uint32_t)v;
			return 0;
		default:
			return -ENOPROTOOPT;
		}
	}
	return -ENOPROTOOPT;
}

int sn_getsockopt(struct sn_sock *s, int level, int name, void *val, socklen_t *len)
{
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR:
			return put_int(val, len, -take_error(s));
		case SO_TYPE:
			return put_int(val, len, SOCK_STREAM);
		case SO_REUSEADDR:
			return put_int(val, len, !!(s->flags & SN_SF_REUSEADDR));
		case SO_KEEPALIVE:
			return put_int(val, len, !!(s->flags & SN_SF_KEEPALIVE));
		case SO_RCVBUF:
			return put_int(val, len, (int)s->rcv_buf.cap);
		case SO_SNDBUF:
			return put_int(val, len, (int)s->snd_buf.cap);
		case SO_LINGER: {
			struct linger l = {.l_onoff = !!(s->flags & SN_SF_LINGER),
			                   .l_linger = s->opt.linger_sec};
			if (!val || !len || *len < (socklen_t)sizeof(l))
				return -EINVAL;
			memcpy(val, &l, sizeof(l));
			*len = sizeof(l);
			return 0;
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		/* Linux copies at most *len bytes of the name and sets *len. */
		const char *cc = tcp_cc(s)->name;
		if (!val || !len)
			return -EINVAL;
		size_t n = strlen(cc) + 1;
		if (n > (size_t)*len)
			n = (size_t)*len;
		memcpy(val, cc, n);
		*len = (socklen_t)n;
		return 0;
	}
	if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY:
			return put_int(val, len, !!(s->flags & SN_SF_NODELAY));
		case TCP_KEEPIDLE:
			return put_int(val, len, (int)s->opt.keepidle_s);
		case TCP_KEEPINTVL:
			return put_int(val, len, (int)s->opt.keepintvl_s);
		case TCP_KEEPCNT:
			return put_int(val, len, (int)s->opt.keepcnt);
		case TCP_USER_TIMEOUT:
			return put_int(val, len, (int)s->opt.user_timeout_ms);
		case TCP_MAXSEG: {
			struct sn_tcp_info info;
			/* Before a connection there is no MSS in use yet: report
			 * what was set, as Linux does. */
			if ((s->state == SN_CLOSED || s->state == SN_LISTEN) && s->opt.user_mss)
				return put_int(val, len, s->opt.user_mss);
			sn_tcp_info(s, &info);
			/* FreeBSD reports t_maxseg, before the timestamps' 12 bytes. */
			if (s->stack->cfg.profile.maxseg_with_options && s->state >= SN_SYN_RECEIVED &&
			    (s->topts & SN_TCPI_OPT_TIMESTAMPS))
				info.mss += 12;
			return put_int(val, len, (int)info.mss);
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	return -ENOPROTOOPT;
}

int sn_tcp_info(const struct sn_sock *s, struct sn_tcp_info *info)
{
	if (!s || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->state = s->state;
	info->iss = s->iss;
	info->irs = s->irs;
	info->snd_una = s->snd_una;
	info->snd_nxt = s->snd_nxt;
	info->snd_wnd = s->snd_wnd;
	info->rcv_nxt = s->rcv_nxt;
	info->rcv_wnd = tcp_rcv_offered(s);
	info->mss = tcp_send_mss(s);
	info->rto_us = s->rtt.rto_us;
	info->srtt_us = s->rtt.srtt_us;
	info->rttvar_us = s->rtt.rttvar_us;
	info->retransmits = s->rexmt_count;
	info->total_retrans = s->total_retrans;
	info->bytes_in_flight = s->snd_max - s->snd_una;
	info->snd_buf_used = sn_ring_used(&s->snd_buf);
	info->rcv_buf_used = sn_ring_used(&s->rcv_buf);
	/* Until the peer's SYN arrives topts holds only our offer. */
	if (s->state >= SN_SYN_RECEIVED) {
		info->options = s->topts;
		info->snd_wscale = s->snd_wscale;
		info->rcv_wscale = s->rcv_wscale;
	}
	info->cwnd = s->cwnd;
	info->ssthresh = s->ssthresh;
	snprintf(info->congestion, sizeof(info->congestion), "%s", tcp_cc(s)->name);
	info->in_recovery = (s->flags & SN_SF_RECOVERY) != 0;
	info->sacked = s->sack ? s->sack->board.sacked : 0;
	return 0;
}
