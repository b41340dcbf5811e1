/*
 * test_api.c - the socket API as a POSIX sockets programmer reads it: every
 * call's errno contract, the options, the event callbacks (including a
 * callback that closes its own socket), sn_tcp_info after a handshake, and a
 * megabyte each way driven only by READABLE/WRITABLE events.
 *
 * Side 0 ("C", 198.18.0.1) is the client, side 1 ("S", 198.18.0.2) the server,
 * with ISNs fixed at 1000 and 8000 (tests/sim/world.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "world.h"

#define C 0
#define S 1

static struct world the_world;

static int setup(void **state)
{
	struct world *w = &the_world;
	world_prepare(w);
	world_start(w, 1 * W_MS);
	world_static_arp(w);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	world_free(*state);
	return 0;
}

static struct sockaddr_in addr_of(int side, uint16_t port)
{
	return sn_simnet_sockaddr(side, port);
}

static int bind_to(struct sn_sock *s, int side, uint16_t port)
{
	struct sockaddr_in a = addr_of(side, port);
	return sn_bind(s, (struct sockaddr *)&a, sizeof(a));
}

static int connect_to(struct sn_sock *s, int side, uint16_t port)
{
	struct sockaddr_in a = addr_of(side, port);
	return sn_connect(s, (struct sockaddr *)&a, sizeof(a));
}

static uint16_t local_port(const struct sn_sock *s)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	assert_int_equal(sn_getsockname(s, (struct sockaddr *)&a, &len), 0);
	assert_int_equal(len, sizeof(a));
	assert_int_equal(a.sin_family, AF_INET);
	return ntohs(a.sin_port);
}

static int set_int(struct sn_sock *s, int level, int name, int v)
{
	return sn_setsockopt(s, level, name, &v, sizeof(v));
}

static int get_int(struct sn_sock *s, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);
	int err = sn_getsockopt(s, level, name, &v, &len);
	assert_int_equal(err, 0);
	assert_int_equal(len, sizeof(v));
	return v;
}

/* Client C:40000 -> S:80 established, accepted; the listener stays open. */
static void open_pair(struct world *w, struct sn_sock **ls, struct sn_sock **c, struct sn_sock **s)
{
	*ls = w_listen(w, S, 80, 8);
	assert_non_null(*ls);
	*c = w_connect(w, C, 40000, 80);
	assert_non_null(*c);
	w_run(w, 50 * W_MS);
	*s = w_accept(*ls);
	assert_non_null(*s);
	assert_int_equal(w_state_of(*c), SN_ESTABLISHED);
	assert_int_equal(w_state_of(*s), SN_ESTABLISHED);
}

/* ---- event recorder ------------------------------------------------------ */

enum { EV_BITS = 6 };

struct evlog {
	unsigned seen;           /* union of every delivery */
	unsigned n[EV_BITS];     /* deliveries that carried each bit */
	unsigned calls;
};

static void ev_record(struct sn_sock *s, unsigned ev, void *user)
{
	struct evlog *l = user;
	l->seen |= ev;
	l->calls++;
	for (int i = 0; i < EV_BITS; i++)
		if (ev & (1u << i))
			l->n[i]++;
}

static unsigned ev_count(const struct evlog *l, unsigned bit)
{
	return l->n[__builtin_ctz(bit)];
}

/* ---- bind ---------------------------------------------------------------- */

static void bind_errors(void **state)
{
	struct world *w = *state;
	struct sn_sock *s = sn_socket(w->net.stack[S]);
	assert_non_null(s);

	/* Short addrlen and a missing address are EINVAL, as for bind(2). */
	struct sockaddr_in a = addr_of(S, 1000);
	assert_int_equal(sn_bind(s, (struct sockaddr *)&a, sizeof(a) - 1), -EINVAL);
	assert_int_equal(sn_bind(s, NULL, sizeof(a)), -EINVAL);

	/* Another family. */
	struct sockaddr_in6 a6;
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons(1000);
	assert_int_equal(sn_bind(s, (struct sockaddr *)&a6, sizeof(a6)), -EAFNOSUPPORT);

	/* An address no interface of this stack has. */
	struct sockaddr_in other = addr_of(C, 1000); /* the peer's address */
	assert_int_equal(sn_bind(s, (struct sockaddr *)&other, sizeof(other)), -EADDRNOTAVAIL);
	other.sin_addr.s_addr = htonl(0x0a090909); /* 10.9.9.9 */
	assert_int_equal(sn_bind(s, (struct sockaddr *)&other, sizeof(other)), -EADDRNOTAVAIL);

	/* None of the failures bound it; the first good bind works, the
	 * second is EINVAL (already bound), whatever the address. */
	assert_int_equal(bind_to(s, S, 1000), 0);
	assert_int_equal(local_port(s), 1000);
	assert_int_equal(bind_to(s, S, 1001), -EINVAL);
	assert_int_equal(bind_to(s, S, 1000), -EINVAL);
	assert_int_equal(local_port(s), 1000);
	sn_close(s);
}

static void bind_address_in_use(void **state)
{
	struct world *w = *state;
	struct sn_stack *st = w->net.stack[S];
	struct sn_sock *a = sn_socket(st), *b = sn_socket(st), *c = sn_socket(st);
	struct sn_sock *d = sn_socket(st);

	assert_int_equal(bind_to(a, S, 2000), 0);
	assert_int_equal(bind_to(b, S, 2000), -EADDRINUSE);
	/* The wildcard overlaps every local address. */
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(2000)};
	assert_int_equal(sn_bind(b, (struct sockaddr *)&any, sizeof(any)), -EADDRINUSE);
	/* SO_REUSEADDR on only the newcomer is not enough. */
	assert_int_equal(set_int(b, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(bind_to(b, S, 2000), -EADDRINUSE);
	sn_close(a);
	/* The port is free again once its holder is closed. */
	assert_int_equal(bind_to(b, S, 2000), 0);

	/* Both with SO_REUSEADDR and neither listening: allowed. */
	assert_int_equal(set_int(c, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(get_int(c, SOL_SOCKET, SO_REUSEADDR), 1);
	assert_int_equal(bind_to(c, S, 2000), 0);

	/* Once one of them listens, nobody else may bind there. */
	assert_int_equal(sn_listen(b, 4), 0);
	assert_int_equal(set_int(d, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(bind_to(d, S, 2000), -EADDRINUSE);
	/* And the other reuser may not listen beside it. */
	assert_int_equal(sn_listen(c, 4), -EADDRINUSE);
	assert_int_equal(w_state_of(c), SN_CLOSED);
	sn_close(b);
	sn_close(c);
	sn_close(d);
}

static void bind_port_zero_is_ephemeral(void **state)
{
	struct world *w = *state;
	struct sn_stack *st = w->net.stack[S];
	uint16_t seen[8];
	for (int i = 0; i < 8; i++) {
		struct sn_sock *s = sn_socket(st);
		assert_int_equal(bind_to(s, S, 0), 0);
		uint16_t p = local_port(s);
		assert_in_range(p, 32768, 60999);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(p, seen[j]);
		seen[i] = p;
		/* Left open: the next one must get a different port. */
	}
	/* sockets are freed with the stack in teardown */
}

/* ---- listen and accept --------------------------------------------------- */

static void listen_autobind_and_errors(void **state)
{
	struct world *w = *state;
	struct sn_stack *st = w->net.stack[S];

	/* listen() on an unbound socket binds it to an ephemeral port on the
	 * wildcard address, as Linux does. */
	struct sn_sock *l = sn_socket(st);
	assert_int_equal(sn_listen(l, 4), 0);
	assert_int_equal(w_state_of(l), SN_LISTEN);
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	assert_int_equal(sn_getsockname(l, (struct sockaddr *)&a, &len), 0);
	assert_int_equal(a.sin_addr.s_addr, htonl(INADDR_ANY));
	uint16_t port = ntohs(a.sin_port);
	assert_in_range(port, 32768, 60999);
	/* listen() again only changes the backlog. */
	assert_int_equal(sn_listen(l, 16), 0);

	/* And it really listens there. */
	struct sn_sock *c = w_connect(w, C, 0, port);
	assert_non_null(c);
	w_run(w, 50 * W_MS);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);

	/* A connected socket cannot listen. */
	assert_int_equal(sn_listen(c, 4), -EINVAL);
	struct sn_sock *s = w_accept(l);
	assert_non_null(s);
	assert_int_equal(sn_listen(s, 4), -EINVAL);
	/* Nor can a connecting one. */
	struct sn_sock *c2 = w_connect(w, C, 0, port);
	assert_int_equal(w_state_of(c2), SN_SYN_SENT);
	assert_int_equal(sn_listen(c2, 4), -EINVAL);

	/* Two listeners on one address and port: the second is refused, at
	 * bind without SO_REUSEADDR, at listen with it. */
	struct sn_sock *l1 = w_listen(w, S, 3000, 4);
	assert_non_null(l1);
	struct sn_sock *l2 = sn_socket(st);
	assert_int_equal(bind_to(l2, S, 3000), -EADDRINUSE);
	sn_close(l2);

	struct sn_sock *r1 = sn_socket(st), *r2 = sn_socket(st);
	assert_int_equal(set_int(r1, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(set_int(r2, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(bind_to(r1, S, 3001), 0);
	assert_int_equal(bind_to(r2, S, 3001), 0);
	assert_int_equal(sn_listen(r1, 4), 0);
	assert_int_equal(sn_listen(r2, 4), -EADDRINUSE);
	sn_close(r1);
	sn_close(r2);
	sn_close(l1);
	sn_close(c);
	sn_close(c2);
	sn_close(s);
	sn_close(l);
	w_run(w, 100 * W_MS);
}

static void accept_errors_and_peer_address(void **state)
{
	struct world *w = *state;
	struct sn_stack *st = w->net.stack[S];
	int err = 0;

	/* Not listening: EINVAL, whether fresh or connected. */
	struct sn_sock *fresh = sn_socket(st);
	assert_null(sn_accept(fresh, NULL, NULL, &err));
	assert_int_equal(err, -EINVAL);
	sn_close(fresh);

	struct sn_sock *ls = w_listen(w, S, 80, 8);
	/* Nothing queued: EAGAIN, and err may be omitted. */
	err = 0;
	assert_null(sn_accept(ls, NULL, NULL, &err));
	assert_int_equal(err, -EAGAIN);
	assert_null(sn_accept(ls, NULL, NULL, NULL));

	/* A half-open connection is not acceptable yet. */
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run(w, 1 * W_MS + 1); /* the SYN has arrived, the ACK has not */
	err = 0;
	assert_null(sn_accept(ls, NULL, NULL, &err));
	assert_int_equal(err, -EAGAIN);
	w_run(w, 50 * W_MS);

	struct sockaddr_in peer;
	memset(&peer, 0xee, sizeof(peer));
	socklen_t len = sizeof(peer);
	err = 1;
	struct sn_sock *s = sn_accept(ls, (struct sockaddr *)&peer, &len, &err);
	assert_non_null(s);
	assert_int_equal(err, 0);
	assert_int_equal(len, sizeof(peer));
	assert_int_equal(peer.sin_family, AF_INET);
	assert_int_equal(ntohs(peer.sin_port), 40000);
	assert_int_equal(ntohl(peer.sin_addr.s_addr), SN_SIMNET_ADDR(C));

	/* getpeername/getsockname of the accepted socket agree. */
	struct sockaddr_in pn, sn;
	socklen_t pl = sizeof(pn), sl = sizeof(sn);
	assert_int_equal(sn_getpeername(s, (struct sockaddr *)&pn, &pl), 0);
	assert_memory_equal(&pn, &peer, sizeof(pn));
	assert_int_equal(sn_getsockname(s, (struct sockaddr *)&sn, &sl), 0);
	assert_int_equal(ntohs(sn.sin_port), 80);
	assert_int_equal(ntohl(sn.sin_addr.s_addr), SN_SIMNET_ADDR(S));

	/* The queue is empty again; an accepted socket cannot accept. */
	assert_null(sn_accept(ls, NULL, NULL, &err));
	assert_int_equal(err, -EAGAIN);
	assert_null(sn_accept(s, NULL, NULL, &err));
	assert_int_equal(err, -EINVAL);
	sn_close(c);
	sn_close(s);
	sn_close(ls);
	w_run(w, 100 * W_MS);
}

/* ---- connect ------------------------------------------------------------- */

static void connect_progress_errors(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	struct sn_sock *c = sn_socket(w->net.stack[C]);

	/* Bad arguments are reported before anything else. */
	struct sockaddr_in to = addr_of(S, 80);
	assert_int_equal(sn_connect(c, (struct sockaddr *)&to, sizeof(to) - 1), -EINVAL);
	struct sockaddr_in6 a6;
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	assert_int_equal(sn_connect(c, (struct sockaddr *)&a6, sizeof(a6)), -EAFNOSUPPORT);
	struct sockaddr_in bad = addr_of(S, 0);
	assert_int_equal(sn_connect(c, (struct sockaddr *)&bad, sizeof(bad)), -EINVAL);

	/* No route: 203.0.113.1 (TEST-NET-3) is off-link and there is no gateway. */
	struct sockaddr_in far = {.sin_family = AF_INET, .sin_port = htons(80),
	                          .sin_addr.s_addr = htonl(0xcb007101)};
	assert_int_equal(sn_connect(c, (struct sockaddr *)&far, sizeof(far)), -ENETUNREACH);
	assert_int_equal(w_state_of(c), SN_CLOSED);

	/* Before the SYN-ACK: in progress, already in progress. */
	assert_int_equal(connect_to(c, S, 80), -EINPROGRESS);
	assert_int_equal(w_state_of(c), SN_SYN_SENT);
	/* Autobound to the outgoing interface's address and an ephemeral port. */
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	assert_int_equal(sn_getsockname(c, (struct sockaddr *)&me, &len), 0);
	assert_int_equal(ntohl(me.sin_addr.s_addr), SN_SIMNET_ADDR(C));
	assert_in_range(ntohs(me.sin_port), 32768, 60999);
	assert_int_equal(connect_to(c, S, 80), -EALREADY);
	assert_int_equal(connect_to(c, S, 81), -EALREADY);
	/* No data can be queued before the handshake. */
	assert_int_equal(sn_send(c, "x", 1, 0), -EAGAIN);
	/* Not yet connected, so no peer name. */
	struct sockaddr_in pn;
	socklen_t pl = sizeof(pn);
	assert_int_equal(sn_getpeername(c, (struct sockaddr *)&pn, &pl), -ENOTCONN);

	w_run(w, 50 * W_MS);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	assert_int_equal(connect_to(c, S, 80), -EISCONN);
	assert_int_equal(connect_to(c, S, 81), -EISCONN);
	pl = sizeof(pn);
	assert_int_equal(sn_getpeername(c, (struct sockaddr *)&pn, &pl), 0);
	assert_int_equal(ntohs(pn.sin_port), 80);

	/* A listener cannot connect. */
	assert_int_equal(connect_to(ls, C, 9), -EINVAL);
	sn_close(c);
	sn_close(ls);
	w_run(w, 100 * W_MS);
}

static void unconnected_socket_errors(void **state)
{
	struct world *w = *state;
	struct sn_sock *s = sn_socket(w->net.stack[C]);
	char buf[8];

	assert_int_equal(sn_send(s, "x", 1, 0), -ENOTCONN);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), -ENOTCONN);
	assert_int_equal(sn_shutdown(s, SHUT_WR), -ENOTCONN);
	assert_int_equal(sn_shutdown(s, SHUT_RDWR), -ENOTCONN);
	/* A bad `how` is EINVAL before anything else. */
	assert_int_equal(sn_shutdown(s, 3), -EINVAL);
	assert_int_equal(sn_shutdown(s, -1), -EINVAL);
	struct sockaddr_in pn;
	socklen_t pl = sizeof(pn);
	assert_int_equal(sn_getpeername(s, (struct sockaddr *)&pn, &pl), -ENOTCONN);

	/* Options nobody implements. */
	int v = 1;
	socklen_t vl = sizeof(v);
	assert_int_equal(sn_getsockopt(s, SOL_SOCKET, SO_BROADCAST, &v, &vl), -ENOPROTOOPT);
	assert_int_equal(sn_getsockopt(s, IPPROTO_TCP, TCP_CORK, &v, &vl), -ENOPROTOOPT);
	assert_int_equal(sn_getsockopt(s, IPPROTO_IP, IP_TTL, &v, &vl), -ENOPROTOOPT);
	assert_int_equal(sn_setsockopt(s, SOL_SOCKET, SO_BROADCAST, &v, sizeof(v)), -ENOPROTOOPT);
	assert_int_equal(sn_setsockopt(s, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)), -ENOPROTOOPT);
	/* A short option value. */
	assert_int_equal(sn_setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, 1), -EINVAL);
	/* Nothing to report. */
	assert_int_equal(get_int(s, SOL_SOCKET, SO_ERROR), 0);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	sn_close(s);

	/* A listener is not connected either. */
	struct sn_sock *ls = w_listen(w, S, 80, 1);
	assert_int_equal(sn_send(ls, "x", 1, 0), -ENOTCONN);
	assert_int_equal(sn_recv(ls, buf, sizeof(buf), 0), -ENOTCONN);
	assert_int_equal(sn_shutdown(ls, SHUT_WR), -ENOTCONN);
	pl = sizeof(pn);
	assert_int_equal(sn_getpeername(ls, (struct sockaddr *)&pn, &pl), -ENOTCONN);
	sn_close(ls);
}

/* ---- send and receive ---------------------------------------------------- */

static void recv_eagain_peek_and_eof(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c, *s;
	open_pair(w, &ls, &c, &s);
	char buf[64];

	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(sn_send(c, "", 0, 0), 0);

	assert_int_equal(sn_send(c, "hello, world", 12, 0), 12);
	w_run(w, 10 * W_MS);
	/* MSG_PEEK copies without consuming, as often as asked. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(sn_recv(s, buf, 5, MSG_PEEK), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), MSG_PEEK), 12);
	assert_memory_equal(buf, "hello, world", 12);
	struct sn_tcp_info info;
	sn_tcp_info(s, &info);
	assert_int_equal(info.rcv_buf_used, 12);
	/* Then a normal read takes it, in pieces. */
	assert_int_equal(sn_recv(s, buf, 7, 0), 7);
	assert_memory_equal(buf, "hello, ", 7);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), -EAGAIN);

	/* The peer sends more and then its FIN: the data is read first, then
	 * end of stream, and end of stream again. */
	assert_int_equal(sn_send(c, "last words", 10, 0), 10);
	assert_int_equal(sn_shutdown(c, SHUT_WR), 0);
	w_run(w, 10 * W_MS);
	assert_int_equal(w_state_of(s), SN_CLOSE_WAIT);
	assert_int_equal(sn_recv(s, buf, 4, 0), 4);
	assert_memory_equal(buf, "last", 4);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, " words", 6);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), MSG_PEEK), 0);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0);

	/* The half-closed side may still send; the other still receives. */
	assert_int_equal(sn_send(s, "reply", 5, 0), 5);
	w_run(w, 10 * W_MS);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "reply", 5);

	sn_close(s);
	sn_close(c);
	sn_close(ls);
	w_run(w, 100 * W_MS);
}

static void send_after_shutdown_is_epipe(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c, *s;
	open_pair(w, &ls, &c, &s);

	assert_int_equal(sn_shutdown(c, SHUT_WR), 0);
	assert_int_equal(sn_send(c, "x", 1, 0), -EPIPE);
	w_run(w, 10 * W_MS);
	assert_int_equal(w_state_of(c), SN_FIN_WAIT_2);
	assert_int_equal(sn_send(c, "x", 1, 0), -EPIPE);
	/* Shutting down twice is harmless. */
	assert_int_equal(sn_shutdown(c, SHUT_WR), 0);

	/* The other direction after the peer's FIN: CLOSE-WAIT may send,
	 * LAST-ACK may not. */
	assert_int_equal(sn_send(s, "y", 1, 0), 1);
	assert_int_equal(sn_shutdown(s, SHUT_RDWR), 0);
	assert_int_equal(sn_send(s, "y", 1, 0), -EPIPE);
	char buf[4];
	/* After SHUT_RD nothing more is read. */
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0);
	w_run(w, 10 * W_MS);
	/* The connection is over for s: still EPIPE, not ENOTCONN. */
	assert_int_equal(w_state_of(s), SN_CLOSED);
	assert_int_equal(sn_send(s, "y", 1, 0), -EPIPE);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 1);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 0);
	sn_close(s);
	sn_close(c);
	sn_close(ls);
}

static void so_error_reports_refused_once(void **state)
{
	struct world *w = *state;
	struct evlog ev = {0};
	/* Nobody listens on port 9: the SYN draws a RST. */
	struct sn_sock *c = sn_socket(w->net.stack[C]);
	sn_set_event_cb(c, ev_record, &ev);
	assert_int_equal(connect_to(c, S, 9), -EINPROGRESS);
	w_run(w, 50 * W_MS);
	assert_int_equal(w_state_of(c), SN_CLOSED);
	assert_true(ev.seen & SN_EV_ERROR);
	assert_false(ev.seen & SN_EV_CONNECTED);

	assert_int_equal(get_int(c, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
	/* Reading SO_ERROR cleared it. */
	assert_int_equal(get_int(c, SOL_SOCKET, SO_ERROR), 0);
	char buf[4];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -ENOTCONN);
	assert_int_equal(sn_send(c, "x", 1, 0), -ENOTCONN);

	/* The same error is reported by the first call that can, once. */
	struct sn_sock *c2 = w_connect(w, C, 0, 9);
	w_run(w, 50 * W_MS);
	assert_int_equal(sn_recv(c2, buf, sizeof(buf), 0), -ECONNREFUSED);
	assert_int_equal(get_int(c2, SOL_SOCKET, SO_ERROR), 0);
	assert_int_equal(w_stats(w, C).tcp_attempt_fails, 2);

	/* A second connect reports an error nobody has read, once (Linux). */
	struct sn_sock *c3 = w_connect(w, C, 0, 9);
	w_run(w, 50 * W_MS);
	assert_int_equal(connect_to(c3, S, 9), -ECONNREFUSED);
	assert_int_equal(get_int(c3, SOL_SOCKET, SO_ERROR), 0);
	sn_close(c3);

	/* A refused socket may try again, this time to someone who listens. */
	struct sn_sock *ls = w_listen(w, S, 9, 1);
	assert_int_equal(connect_to(c, S, 9), -EINPROGRESS);
	w_run(w, 50 * W_MS);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	sn_close(c);
	sn_close(c2);
	sn_close(ls);
}

/* A peer that does not read: our sends fill its window, then our buffer. */
static void send_buffer_full_then_writable(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	assert_int_equal(set_int(ls, SOL_SOCKET, SO_RCVBUF, 1024), 0);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	assert_int_equal(set_int(c, SOL_SOCKET, SO_SNDBUF, 4096), 0);
	struct evlog ev = {0};
	sn_set_event_cb(c, ev_record, &ev);
	w_run(w, 50 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_RCVBUF), 1024);
	assert_true(ev.seen & SN_EV_WRITABLE); /* with CONNECTED */

	static char junk[10000];
	memset(junk, 'j', sizeof(junk));
	/* A partial write says how much fitted, then EAGAIN. */
	assert_int_equal(sn_send(c, junk, sizeof(junk), 0), 4096);
	assert_int_equal(sn_send(c, junk, 1, 0), -EAGAIN);
	w_run(w, 200 * W_MS);
	/* The window closed after 1024 bytes: 3072 remain queued. */
	struct sn_tcp_info ci, si;
	sn_tcp_info(c, &ci);
	sn_tcp_info(s, &si);
	assert_int_equal(si.rcv_buf_used, 1024);
	assert_int_equal(ci.snd_wnd, 0);
	assert_int_equal(ci.snd_buf_used, 3072);
	/* The acked 1024 freed room, and said so. */
	assert_true(ev.seen & SN_EV_WRITABLE);
	assert_int_equal(sn_send(c, junk, sizeof(junk), 0), 1024);
	assert_int_equal(sn_send(c, junk, sizeof(junk), 0), -EAGAIN);
	w_run(w, 200 * W_MS);
	assert_int_equal(sn_send(c, junk, 1, 0), -EAGAIN);

	/* Now the peer reads: the window opens, more goes out, its ACK frees
	 * room in our buffer, and WRITABLE is delivered. */
	memset(&ev, 0, sizeof(ev));
	char buf[2048];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 1024);
	w_run(w, 50 * W_MS);
	assert_true(ev.seen & SN_EV_WRITABLE);
	assert_int_equal(sn_send(c, junk, sizeof(junk), 0), 1024);

	/* Drain everything; all 4096 + 1024 + 1024 bytes arrive. */
	size_t total = 1024;
	for (int i = 0; i < 50 && total < 6144; i++) {
		ssize_t n;
		while ((n = sn_recv(s, buf, sizeof(buf), 0)) > 0)
			total += (size_t)n;
		w_run(w, 20 * W_MS);
	}
	assert_int_equal(total, 6144);
	sn_close(c);
	sn_close(s);
	sn_close(ls);
	w_run(w, 100 * W_MS);
}

/* ---- options ------------------------------------------------------------- */

static void buffer_options(void **state)
{
	struct world *w = *state;
	struct sn_sock *s = sn_socket(w->net.stack[C]);

	/* Defaults come from the stack configuration. */
	assert_int_equal(get_int(s, SOL_SOCKET, SO_RCVBUF), 65535);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_SNDBUF), 65536);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_RCVBUF, 8192), 0);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_SNDBUF, 16384), 0);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_RCVBUF), 8192);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_SNDBUF), 16384);
	/* Tiny values are rounded up to a floor, nonsense refused. */
	assert_int_equal(set_int(s, SOL_SOCKET, SO_RCVBUF, 1), 0);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_RCVBUF), 256);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_SNDBUF, 0), -EINVAL);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_SNDBUF, -5), -EINVAL);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_SNDBUF), 16384);
	/* Too small a result buffer. */
	char small[2];
	socklen_t sl = sizeof(small);
	assert_int_equal(sn_getsockopt(s, SOL_SOCKET, SO_RCVBUF, small, &sl), -EINVAL);

	/* The receive buffer is the window offered in the SYN. */
	struct sn_sock *ls = w_listen(w, S, 80, 1);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_RCVBUF, 5000), 0);
	assert_int_equal(connect_to(s, S, 80), -EINPROGRESS);
	size_t first = w->nsegs;
	w_run(w, 50 * W_MS);
	assert_true(w->nsegs > first);
	assert_int_equal(w->segs[first].side, C);
	assert_int_equal(w->segs[first].seg.flags, SN_TH_SYN);
	assert_int_equal(w->segs[first].seg.wnd, 5000);
	sn_close(s);
	sn_close(ls);
}

static void nodelay_and_maxseg_options(void **state)
{
	struct world *w = *state;
	struct sn_sock *s = sn_socket(w->net.stack[C]);

	assert_int_equal(get_int(s, IPPROTO_TCP, TCP_NODELAY), 0);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	assert_int_equal(get_int(s, IPPROTO_TCP, TCP_NODELAY), 1);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_NODELAY, 0), 0);
	assert_int_equal(get_int(s, IPPROTO_TCP, TCP_NODELAY), 0);

	/* Before a connection TCP_MAXSEG reads back what was set (tcp(7)). */
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_MAXSEG, 1000), 0);
	assert_int_equal(get_int(s, IPPROTO_TCP, TCP_MAXSEG), 1000);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_MAXSEG, 10), -EINVAL);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_MAXSEG, 70000), -EINVAL);
	assert_int_equal(get_int(s, IPPROTO_TCP, TCP_MAXSEG), 1000);

	/* Once connected it is the MSS in use: the smaller of ours and the peer's. */
	struct sn_sock *ls = w_listen(w, S, 80, 1);
	assert_int_equal(connect_to(s, S, 80), -EINPROGRESS);
	w_run(w, 50 * W_MS);
	assert_int_equal(w_state_of(s), SN_ESTABLISHED);
	/* Less the 12 bytes of timestamps every segment carries (RFC 7323;
	 * Linux's TCP_MAXSEG reads the same way). */
	assert_int_equal(get_int(s, IPPROTO_TCP, TCP_MAXSEG), 988);
	struct sn_sock *a = w_accept(ls);
	/* The peer heard 1000 in our SYN and uses it too. */
	assert_int_equal(get_int(a, IPPROTO_TCP, TCP_MAXSEG), 988);
	sn_close(a);
	sn_close(s);
	sn_close(ls);
	w_run(w, 100 * W_MS);
}

static size_t max_data_len(struct world *w, size_t from, int side, unsigned *count)
{
	size_t max = 0;
	*count = 0;
	for (size_t i = from; i < w->nsegs; i++) {
		if (w->segs[i].side != side || w->segs[i].seg.len == 0)
			continue;
		(*count)++;
		if (w->segs[i].seg.len > max)
			max = w->segs[i].seg.len;
	}
	return max;
}

static void maxseg_limits_segments_on_the_wire(void **state)
{
	struct world *w = *state;
	static char data[5000];
	memset(data, 'd', sizeof(data));
	char buf[6000];
	unsigned count;

	/* The sender's own TCP_MAXSEG: its SYN announces it, its data obeys it. */
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	struct sn_sock *c = sn_socket(w->net.stack[C]);
	assert_int_equal(set_int(c, IPPROTO_TCP, TCP_MAXSEG, 700), 0);
	size_t first = w->nsegs;
	assert_int_equal(connect_to(c, S, 80), -EINPROGRESS);
	w_run(w, 50 * W_MS);
	assert_int_equal(w->segs[first].seg.flags, SN_TH_SYN);
	assert_int_equal(w->segs[first].seg.mss, 700);
	struct sn_sock *s = w_accept(ls);
	first = w->nsegs;
	assert_int_equal(sn_send(c, data, sizeof(data), 0), (ssize_t)sizeof(data));
	assert_int_equal(sn_send(s, data, sizeof(data), 0), (ssize_t)sizeof(data));
	w_run(w, 100 * W_MS);
	/* 700 less the 12 bytes of timestamps in every segment (RFC 7323). */
	assert_int_equal(max_data_len(w, first, C, &count), 688);
	assert_int_equal(count, 8); /* 7 * 688 + 184 */
	/* ... and so does the peer, which learned it from the SYN. */
	assert_int_equal(max_data_len(w, first, S, &count), 688);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), (ssize_t)sizeof(data));
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), (ssize_t)sizeof(data));
	sn_close(s);
	sn_close(c);
	sn_close(ls);
	w_run(w, 100 * W_MS);

	/* On a listener it is inherited and announced in the SYN-ACK, so the
	 * client's data obeys it too. */
	ls = w_listen(w, S, 81, 4);
	assert_int_equal(set_int(ls, IPPROTO_TCP, TCP_MAXSEG, 536), 0);
	first = w->nsegs;
	c = w_connect(w, C, 0, 81);
	w_run(w, 50 * W_MS);
	s = w_accept(ls);
	assert_non_null(s);
	assert_int_equal(w->segs[first + 1].seg.flags, SN_TH_SYN | SN_TH_ACK);
	assert_int_equal(w->segs[first + 1].seg.mss, 536);
	/* 536 less 12 bytes of timestamps, as above. */
	assert_int_equal(get_int(s, IPPROTO_TCP, TCP_MAXSEG), 524);
	assert_int_equal(get_int(c, IPPROTO_TCP, TCP_MAXSEG), 524);
	first = w->nsegs;
	assert_int_equal(sn_send(c, data, sizeof(data), 0), (ssize_t)sizeof(data));
	w_run(w, 100 * W_MS);
	assert_int_equal(max_data_len(w, first, C, &count), 524);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), (ssize_t)sizeof(data));
	sn_close(s);
	sn_close(c);
	sn_close(ls);
	w_run(w, 100 * W_MS);
}

/* ---- events -------------------------------------------------------------- */

static void events_connect_accept_read_write(void **state)
{
	struct world *w = *state;
	struct evlog lev = {0}, cev = {0}, sev = {0};
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	sn_set_event_cb(ls, ev_record, &lev);
	struct sn_sock *c = sn_socket(w->net.stack[C]);
	sn_set_event_cb(c, ev_record, &cev);
	assert_ptr_equal(sn_sock_user(c), &cev);
	assert_int_equal(connect_to(c, S, 80), -EINPROGRESS);
	/* Nothing is delivered from inside the call. */
	assert_int_equal(cev.calls, 0);

	w_run(w, 1 * W_MS + 1); /* SYN arrived at S, SYN-ACK in flight */
	assert_int_equal(lev.calls, 0);
	assert_int_equal(cev.calls, 0);
	w_run(w, 1 * W_MS); /* SYN-ACK at C: connected */
	assert_int_equal(cev.seen, SN_EV_CONNECTED | SN_EV_WRITABLE);
	assert_int_equal(ev_count(&cev, SN_EV_CONNECTED), 1);
	assert_int_equal(lev.calls, 0);
	w_run(w, 1 * W_MS); /* ACK at S: acceptable */
	assert_int_equal(lev.seen, SN_EV_ACCEPTABLE);
	assert_int_equal(ev_count(&lev, SN_EV_ACCEPTABLE), 1);

	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	sn_set_event_cb(s, ev_record, &sev);

	/* Data makes the receiver READABLE and, once acknowledged, the sender
	 * WRITABLE (room freed in its buffer). */
	memset(&cev, 0, sizeof(cev));
	assert_int_equal(sn_send(c, "ping", 4, 0), 4);
	w_run(w, 50 * W_MS); /* past the receiver's 40 ms delayed ACK */
	assert_int_equal(sev.seen, SN_EV_READABLE);
	assert_int_equal(cev.seen, SN_EV_WRITABLE);
	assert_int_equal(ev_count(&cev, SN_EV_CONNECTED), 0); /* once only */

	/* Nothing else happens while idle. */
	unsigned calls = sev.calls + cev.calls + lev.calls;
	w_run(w, 5 * W_SEC);
	assert_int_equal(sev.calls + cev.calls + lev.calls, calls);

	/* A second connection while the first is unaccepted... */
	struct sn_sock *c2 = w_connect(w, C, 0, 80);
	w_run(w, 10 * W_MS);
	assert_int_equal(ev_count(&lev, SN_EV_ACCEPTABLE), 2);
	/* ...which already has data and the peer's FIN when accepted: a
	 * READABLE is delivered at once, so the application need not poll. */
	assert_int_equal(sn_send(c2, "early", 5, 0), 5);
	assert_int_equal(sn_shutdown(c2, SHUT_WR), 0);
	w_run(w, 10 * W_MS);
	struct evlog s2ev = {0};
	struct sn_sock *s2 = w_accept(ls);
	assert_non_null(s2);
	sn_set_event_cb(s2, ev_record, &s2ev);
	w_run(w, 1 * W_MS);
	assert_true(s2ev.seen & SN_EV_READABLE);
	char buf[16];
	assert_int_equal(sn_recv(s2, buf, sizeof(buf), 0), 5);
	assert_int_equal(sn_recv(s2, buf, sizeof(buf), 0), 0);

	sn_close(s2);
	sn_close(c2);
	sn_close(s);
	sn_close(c);
	sn_close(ls);
	w_run(w, 100 * W_MS);
}

static void events_hup_after_graceful_close(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c, *s;
	open_pair(w, &ls, &c, &s);
	struct evlog cev = {0}, sev = {0};
	sn_set_event_cb(c, ev_record, &cev);
	sn_set_event_cb(s, ev_record, &sev);

	/* C half-closes: S sees end of stream (READABLE) but not HUP. */
	assert_int_equal(sn_shutdown(c, SHUT_WR), 0);
	w_run(w, 10 * W_MS);
	assert_int_equal(sev.seen, SN_EV_READABLE);
	assert_int_equal(cev.seen & SN_EV_HUP, 0);
	char buf[4];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0);

	/* S half-closes too: S is fully closed when its FIN is acked (HUP);
	 * C enters TIME-WAIT, also fully closed for its application (HUP). */
	assert_int_equal(sn_shutdown(s, SHUT_WR), 0);
	w_run(w, 10 * W_MS);
	assert_int_equal(w_state_of(s), SN_CLOSED);
	assert_true(sev.seen & SN_EV_HUP);
	assert_true(cev.seen & SN_EV_HUP);
	assert_true(cev.seen & SN_EV_READABLE);
	assert_int_equal((sev.seen | cev.seen) & SN_EV_ERROR, 0);
	assert_int_equal(ev_count(&sev, SN_EV_HUP), 1);
	assert_int_equal(ev_count(&cev, SN_EV_HUP), 1);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 0);
	assert_int_equal(get_int(c, SOL_SOCKET, SO_ERROR), 0);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_ERROR), 0);
	sn_close(s);
	sn_close(c);
	sn_close(ls);
}

static void events_error_on_reset_and_timeout(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c, *s;
	open_pair(w, &ls, &c, &s);
	struct evlog cev = {0};
	sn_set_event_cb(c, ev_record, &cev);

	/* The peer aborts: ERROR and HUP; the error is ECONNRESET. */
	assert_int_equal(sn_abort(s), 0);
	w_run(w, 10 * W_MS);
	assert_int_equal(w_state_of(c), SN_CLOSED);
	assert_true(cev.seen & SN_EV_ERROR);
	assert_true(cev.seen & SN_EV_HUP);
	char buf[4];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -ECONNRESET);
	/* Reported once; afterwards, end of stream and a broken pipe. */
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 0);
	assert_int_equal(sn_send(c, "x", 1, 0), -EPIPE);
	sn_close(c);

	/* An unanswered SYN: ERROR with ETIMEDOUT after syn_retries
	 * retransmissions (1 + 2 + ... + 64 s = 127 s of back-off). The
	 * address is on-link but nobody answers ARP for it. */
	struct evlog tev = {0};
	struct sn_sock *t = sn_socket(w->net.stack[C]);
	sn_set_event_cb(t, ev_record, &tev);
	struct sockaddr_in nobody = {.sin_family = AF_INET, .sin_port = htons(80),
	                             .sin_addr.s_addr = htonl(SN_SIMNET_ADDR(5))};
	assert_int_equal(sn_connect(t, (struct sockaddr *)&nobody, sizeof(nobody)), -EINPROGRESS);
	w_run(w, 126 * W_SEC);
	assert_int_equal(w_state_of(t), SN_SYN_SENT);
	assert_int_equal(tev.calls, 0);
	w_run(w, 2 * W_SEC);
	assert_int_equal(w_state_of(t), SN_CLOSED);
	assert_true(tev.seen & SN_EV_ERROR);
	assert_int_equal(get_int(t, SOL_SOCKET, SO_ERROR), ETIMEDOUT);
	sn_close(t);
	sn_close(ls);
}

/* ---- callbacks that close their own socket --------------------------------
 * Each closes the socket from inside the callback and must leave no dangling
 * pointer behind: the sanitizer build (make test-sanitize) runs these. */

struct closer {
	unsigned on;             /* close when any of these events arrives */
	int use_abort;
	int closed;
	struct sn_sock *also;    /* another socket to close in the same callback */
	unsigned seen;
};

static void close_cb(struct sn_sock *s, unsigned ev, void *user)
{
	struct closer *k = user;
	k->seen |= ev;
	assert_false(k->closed); /* no events after the handle is gone */
	if (!(ev & k->on))
		return;
	k->closed = 1;
	if (k->also) {
		sn_close(k->also);
		k->also = NULL;
	}
	if (k->use_abort)
		sn_abort(s);
	else
		sn_close(s);
}

static void callback_closes_own_socket(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls = w_listen(w, S, 80, 8);

	/* 1. Close on CONNECTED: the connection then closes gracefully. */
	struct closer k1 = {.on = SN_EV_CONNECTED};
	struct sn_sock *c1 = sn_socket(w->net.stack[C]);
	sn_set_event_cb(c1, close_cb, &k1);
	assert_int_equal(connect_to(c1, S, 80), -EINPROGRESS);
	w_run(w, 50 * W_MS);
	assert_true(k1.closed);
	struct sn_sock *s1 = w_accept(ls);
	assert_non_null(s1);
	assert_int_equal(w_state_of(s1), SN_CLOSE_WAIT);

	/* 2. The server, READABLE at end of stream, closes from its callback. */
	struct closer k2 = {.on = SN_EV_READABLE};
	struct sn_sock *c2 = w_connect(w, C, 0, 80);
	w_run(w, 50 * W_MS);
	struct sn_sock *s2 = w_accept(ls);
	sn_set_event_cb(s2, close_cb, &k2);
	assert_int_equal(sn_shutdown(c2, SHUT_WR), 0);
	w_run(w, 50 * W_MS);
	assert_true(k2.closed);
	assert_int_equal(w_state_of(c2), SN_CLOSED); /* via TIME-WAIT */
	assert_int_equal(w_stats(w, S).tcp_rst_tx, 0);
	char buf[64];
	assert_int_equal(sn_recv(s1, buf, sizeof(buf), 0), 0);
	sn_close(s1);
	sn_close(c2);

	/* 3. Close with unread data on READABLE: that is an abort (RST). */
	struct closer k3 = {.on = SN_EV_READABLE};
	struct sn_sock *c3 = w_connect(w, C, 0, 80);
	w_run(w, 50 * W_MS);
	struct sn_sock *s3 = w_accept(ls);
	sn_set_event_cb(s3, close_cb, &k3);
	struct evlog c3ev = {0};
	sn_set_event_cb(c3, ev_record, &c3ev);
	assert_int_equal(sn_send(c3, "unread", 6, 0), 6);
	w_run(w, 50 * W_MS);
	assert_true(k3.closed);
	assert_true(c3ev.seen & SN_EV_ERROR);
	assert_int_equal(get_int(c3, SOL_SOCKET, SO_ERROR), ECONNRESET);
	sn_close(c3);

	/* 4. Close on ERROR after a reset: the socket is already CLOSED. */
	struct closer k4 = {.on = SN_EV_ERROR};
	struct sn_sock *c4 = w_connect(w, C, 0, 80);
	sn_set_event_cb(c4, close_cb, &k4);
	w_run(w, 50 * W_MS);
	struct sn_sock *s4 = w_accept(ls);
	sn_abort(s4);
	w_run(w, 50 * W_MS);
	assert_true(k4.closed);

	/* 5. Abort on WRITABLE, with data still queued. */
	struct closer k5 = {.on = SN_EV_WRITABLE, .use_abort = 1};
	uint64_t rst_before = w_stats(w, S).tcp_rst_rx;
	struct sn_sock *c5 = sn_socket(w->net.stack[C]);
	sn_set_event_cb(c5, close_cb, &k5);
	assert_int_equal(connect_to(c5, S, 80), -EINPROGRESS);
	w_run(w, 50 * W_MS);
	assert_true(k5.closed);
	/* The RST overtook the ACK that would have completed the handshake:
	 * the half-open child was forgotten, there is nothing to accept. */
	assert_null(w_accept(ls));
	assert_int_equal(w_stats(w, S).tcp_rst_rx, rst_before + 1);

	/* 6. Close on HUP after TIME-WAIT began, with the handle still held. */
	struct closer k6 = {.on = SN_EV_HUP};
	struct sn_sock *c6 = w_connect(w, C, 0, 80);
	sn_set_event_cb(c6, close_cb, &k6);
	w_run(w, 50 * W_MS);
	struct sn_sock *s6 = w_accept(ls);
	assert_int_equal(sn_shutdown(c6, SHUT_WR), 0);
	w_run(w, 50 * W_MS);
	sn_close(s6);
	w_run(w, 50 * W_MS);
	assert_true(k6.closed);

	/* 7. The listener closes itself on ACCEPTABLE, without accepting: the
	 * queued connection is reset. */
	struct closer k7 = {.on = SN_EV_ACCEPTABLE};
	struct sn_sock *l7 = w_listen(w, S, 81, 4);
	sn_set_event_cb(l7, close_cb, &k7);
	struct sn_sock *c7 = w_connect(w, C, 0, 81);
	w_run(w, 50 * W_MS);
	assert_true(k7.closed);
	w_run(w, 50 * W_MS);
	assert_int_equal(w_state_of(c7), SN_CLOSED);
	assert_int_equal(get_int(c7, SOL_SOCKET, SO_ERROR), ECONNRESET);
	sn_close(c7);

	/* 8. Two sockets fail in the same poll; the first callback closes
	 * both. The second must not be called afterwards. */
	struct closer ka = {.on = SN_EV_ERROR}, kb = {.on = SN_EV_ERROR};
	struct sn_sock *a = sn_socket(w->net.stack[C]), *b = sn_socket(w->net.stack[C]);
	ka.also = b;
	kb.also = a;
	sn_set_event_cb(a, close_cb, &ka);
	sn_set_event_cb(b, close_cb, &kb);
	struct sockaddr_in nobody = {.sin_family = AF_INET, .sin_port = htons(80),
	                             .sin_addr.s_addr = htonl(SN_SIMNET_ADDR(7))};
	assert_int_equal(sn_connect(a, (struct sockaddr *)&nobody, sizeof(nobody)), -EINPROGRESS);
	assert_int_equal(sn_connect(b, (struct sockaddr *)&nobody, sizeof(nobody)), -EINPROGRESS);
	w_run(w, 200 * W_SEC);
	assert_int_equal(ka.closed + kb.closed, 1);

	sn_close(ls);
	w_run(w, 100 * W_MS);
}

/* Accept inside the listener callback, then close the child and the listener. */
static void accept_close_cb(struct sn_sock *ls, unsigned ev, void *user)
{
	struct closer *k = user;
	k->seen |= ev;
	if (!(ev & SN_EV_ACCEPTABLE))
		return;
	struct sn_sock *child = sn_accept(ls, NULL, NULL, NULL);
	assert_non_null(child);
	assert_int_equal(sn_send(child, "bye", 3, 0), 3);
	sn_close(child);
	k->closed = 1;
	sn_close(ls);
}

static void callback_accepts_then_closes_listener(void **state)
{
	struct world *w = *state;
	struct closer k = {0};
	struct sn_sock *ls = w_listen(w, S, 82, 4);
	sn_set_event_cb(ls, accept_close_cb, &k);
	struct sn_sock *c = w_connect(w, C, 0, 82);
	w_run(w, 50 * W_MS);
	assert_true(k.closed);
	/* The child said bye and closed gracefully. */
	char buf[8];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "bye", 3);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 0);
	/* Port 82 is free again. */
	struct sn_sock *l2 = w_listen(w, S, 82, 4);
	assert_non_null(l2);
	sn_close(l2);
	sn_close(c);
	w_run(w, 100 * W_MS);
}

/* ---- sn_tcp_info ----------------------------------------------------------- */

static void tcp_info_after_handshake(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c, *s;
	open_pair(w, &ls, &c, &s);
	struct sn_tcp_info ci, si;

	assert_int_equal(sn_tcp_info(c, &ci), 0);
	assert_int_equal(ci.state, SN_ESTABLISHED);
	assert_int_equal(ci.iss, 1000);
	assert_int_equal(ci.irs, 8000);
	assert_int_equal(ci.snd_una, 1001);
	assert_int_equal(ci.snd_nxt, 1001);
	assert_int_equal(ci.rcv_nxt, 8001);
	assert_int_equal(ci.mss, 1448); /* 1460 less 12 bytes of timestamps (RFC 7323) */
	assert_int_equal(ci.snd_wnd, 65535);
	assert_int_equal(ci.bytes_in_flight, 0);
	assert_int_equal(ci.snd_buf_used, 0);
	assert_int_equal(ci.rcv_buf_used, 0);

	assert_int_equal(sn_tcp_info(s, &si), 0);
	assert_int_equal(si.state, SN_ESTABLISHED);
	assert_int_equal(si.iss, 8000);
	assert_int_equal(si.irs, 1000);
	assert_int_equal(si.snd_una, 8001);
	assert_int_equal(si.snd_nxt, 8001);
	assert_int_equal(si.rcv_nxt, 1001);
	assert_int_equal(si.mss, 1448);

	/* In flight and acknowledged. */
	assert_int_equal(sn_send(c, "0123456789", 10, 0), 10);
	w_run(w, 1 * W_MS + 1); /* sent, not yet acked */
	sn_tcp_info(c, &ci);
	assert_int_equal(ci.snd_una, 1001);
	assert_int_equal(ci.snd_nxt, 1011);
	assert_int_equal(ci.bytes_in_flight, 10);
	w_run(w, 50 * W_MS); /* the ACK is delayed 40 ms */
	sn_tcp_info(c, &ci);
	sn_tcp_info(s, &si);
	assert_int_equal(ci.snd_una, 1011);
	assert_int_equal(ci.bytes_in_flight, 0);
	assert_int_equal(si.rcv_nxt, 1011);
	assert_int_equal(si.rcv_buf_used, 10);

	assert_int_equal(sn_tcp_info(NULL, &ci), -EINVAL);
	assert_int_equal(sn_tcp_info(c, NULL), -EINVAL);
	sn_close(s);
	sn_close(c);
	sn_close(ls);
	w_run(w, 100 * W_MS);
}

/* ---- a megabyte each way, driven by events -------------------------------- */

#define BULK (1u << 20)

struct pump {
	struct sn_sock *s;
	int dir;                 /* which pattern this end sends */
	size_t sent, rcvd;
	int shut, eof, bad, hup;
};

static uint8_t pattern(size_t i, int dir)
{
	uint32_t x = (uint32_t)i * 2654435761u + (uint32_t)dir * 40503u;
	return (uint8_t)(x >> 24 ^ x >> 11);
}

static void pump_write(struct pump *p)
{
	uint8_t chunk[3000];
	while (p->sent < BULK) {
		size_t n = BULK - p->sent < sizeof(chunk) ? BULK - p->sent : sizeof(chunk);
		for (size_t i = 0; i < n; i++)
			chunk[i] = pattern(p->sent + i, p->dir);
		ssize_t r = sn_send(p->s, chunk, n, 0);
		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			print_message("send: %zd (end %d, %zu sent)\n", r, p->dir, p->sent);
			p->bad++;
			return;
		}
		p->sent += (size_t)r;
	}
	if (!p->shut) {
		p->shut = 1;
		if (sn_shutdown(p->s, SHUT_WR) != 0)
			p->bad++;
	}
}

static void pump_read(struct pump *p)
{
	uint8_t buf[5000];
	for (;;) {
		ssize_t r = sn_recv(p->s, buf, sizeof(buf), 0);
		if (r == -EAGAIN)
			return;
		if (r == 0) {
			p->eof = 1;
			return;
		}
		if (r < 0) {
			print_message("recv: %zd (end %d)\n", r, p->dir);
			p->bad++;
			return;
		}
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(p->rcvd + (size_t)i, 1 - p->dir))
				p->bad++;
		p->rcvd += (size_t)r;
	}
}

static void pump_cb(struct sn_sock *s, unsigned ev, void *user)
{
	struct pump *p = user;
	if (ev & SN_EV_READABLE)
		pump_read(p);
	if (ev & (SN_EV_WRITABLE | SN_EV_CONNECTED))
		pump_write(p);
	if (ev & SN_EV_HUP)
		p->hup = 1;
	if (ev & SN_EV_ERROR) {
		print_message("error event (end %d)\n", p->dir);
		p->bad++;
	}
}

static struct pump server_pump;

static void bulk_accept_cb(struct sn_sock *ls, unsigned ev, void *user)
{
	struct sn_sock *s = sn_accept(ls, NULL, NULL, NULL);
	if (!s)
		return;
	server_pump.s = s;
	sn_set_event_cb(s, pump_cb, &server_pump);
	/* A new connection is writable at once: nobody will say so. */
	pump_write(&server_pump);
	pump_read(&server_pump);
}

static void bulk_transfer_both_ways(void **state)
{
	struct world *w = *state;
	struct pump cp = {.dir = 0};
	server_pump = (struct pump){.dir = 1};
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	sn_set_event_cb(ls, bulk_accept_cb, NULL);
	cp.s = sn_socket(w->net.stack[C]);
	sn_set_event_cb(cp.s, pump_cb, &cp);
	assert_int_equal(connect_to(cp.s, S, 80), -EINPROGRESS);

	for (int i = 0; i < 600 && !(cp.eof && server_pump.eof && cp.hup && server_pump.hup); i++)
		w_run(w, 100 * W_MS);
	assert_int_equal(cp.bad, 0);
	assert_int_equal(server_pump.bad, 0);
	assert_int_equal(cp.sent, BULK);
	assert_int_equal(server_pump.sent, BULK);
	assert_int_equal(cp.rcvd, BULK);
	assert_int_equal(server_pump.rcvd, BULK);
	assert_true(cp.eof && server_pump.eof);
	assert_true(cp.hup && server_pump.hup);
	/* A clean link: nothing was sent twice. */
	assert_int_equal(w_stats(w, C).tcp_retrans, 0);
	assert_int_equal(w_stats(w, S).tcp_retrans, 0);
	sn_close(cp.s);
	sn_close(server_pump.s);
	sn_close(ls);
}

/* A listener is alone on its port: SO_REUSEADDR does not let a specific
 * address listen beside the wildcard, in either order. */
static void listener_alone_on_its_port(void **state)
{
	struct world *w = *state;
	struct sn_sock *any = sn_socket(w->net.stack[S]);
	struct sn_sock *one = sn_socket(w->net.stack[S]);
	assert_int_equal(set_int(any, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(set_int(one, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	struct sockaddr_in wild = {.sin_family = AF_INET, .sin_port = htons(90)};
	struct sockaddr_in mine = sn_simnet_sockaddr(S, 90);
	assert_int_equal(sn_bind(any, (struct sockaddr *)&wild, sizeof(wild)), 0);
	assert_int_equal(sn_bind(one, (struct sockaddr *)&mine, sizeof(mine)), 0);
	assert_int_equal(sn_listen(any, 4), 0);
	assert_int_equal(sn_listen(one, 4), -EADDRINUSE);
	sn_close(any);
	assert_int_equal(sn_listen(one, 4), 0);
	sn_close(one);
}

/* After shutdown(SHUT_RD) what is already buffered is still read, then 0. */
static void shut_rd_hands_back_buffered_data(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c, *s;
	open_pair(w, &ls, &c, &s);
	assert_int_equal(sn_send(c, "hello", 5, 0), 5);
	w_run(w, 50 * W_MS);
	assert_int_equal(sn_shutdown(s, SHUT_RD), 0);
	char buf[16];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0);
	sn_close(c);
	sn_close(s);
	sn_close(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(bind_errors),
		T(bind_address_in_use),
		T(bind_port_zero_is_ephemeral),
		T(listen_autobind_and_errors),
		T(accept_errors_and_peer_address),
		T(connect_progress_errors),
		T(unconnected_socket_errors),
		T(recv_eagain_peek_and_eof),
		T(send_after_shutdown_is_epipe),
		T(so_error_reports_refused_once),
		T(send_buffer_full_then_writable),
		T(buffer_options),
		T(nodelay_and_maxseg_options),
		T(maxseg_limits_segments_on_the_wire),
		T(events_connect_accept_read_write),
		T(events_hup_after_graceful_close),
		T(events_error_on_reset_and_timeout),
		T(callback_closes_own_socket),
		T(callback_accepts_then_closes_listener),
		T(tcp_info_after_handshake),
		T(bulk_transfer_both_ways),
		T(listener_alone_on_its_port),
		T(shut_rd_hands_back_buffered_data),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
