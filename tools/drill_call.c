/*
 * drill_call.c - syscall lines (SPEC 9) performed through synack's API.
 *
 *   dr_call -> attempt (one try of the call) -> check (result, errno, time)
 *   dr_call_retry: a blocking call (`T1...T2 name(...)`) tried again each time
 *   the stack has moved, until it completes.
 *
 * Script fds are the script's numbers (3, 4, ...), mapped to sockets here.
 * Constants are this program's own (the host's libc values, which are also
 * the ones synack's API takes), never a table of Linux or FreeBSD numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "drill_run.h"

/* ---- names ----------------------------------------------------------------------- */

static const struct {
	const char *name;
	int64_t v;
} symbols[] = {
	{"AF_INET", AF_INET}, {"AF_UNSPEC", AF_UNSPEC}, {"SOCK_STREAM", SOCK_STREAM},
	{"SOCK_NONBLOCK", SOCK_NONBLOCK}, {"IPPROTO_TCP", IPPROTO_TCP}, {"IPPROTO_UDP", IPPROTO_UDP},
	{"IPPROTO_IP", IPPROTO_IP}, {"SOL_SOCKET", SOL_SOCKET}, {"SOL_TCP", IPPROTO_TCP},
	{"SO_REUSEADDR", SO_REUSEADDR}, {"SO_ERROR", SO_ERROR}, {"SO_RCVBUF", SO_RCVBUF},
	{"SO_SNDBUF", SO_SNDBUF}, {"SO_KEEPALIVE", SO_KEEPALIVE}, {"SO_LINGER", SO_LINGER},
	{"TCP_NODELAY", TCP_NODELAY}, {"TCP_MAXSEG", TCP_MAXSEG}, {"TCP_KEEPIDLE", TCP_KEEPIDLE},
	{"TCP_KEEPINTVL", TCP_KEEPINTVL}, {"TCP_KEEPCNT", TCP_KEEPCNT},
	{"F_GETFL", F_GETFL}, {"F_SETFL", F_SETFL}, {"O_RDWR", O_RDWR}, {"O_NONBLOCK", O_NONBLOCK},
	{"MSG_PEEK", MSG_PEEK}, {"MSG_DONTWAIT", MSG_DONTWAIT}, {"MSG_NOSIGNAL", MSG_NOSIGNAL},
	{"MSG_WAITALL", MSG_WAITALL}, {"SHUT_RD", SHUT_RD}, {"SHUT_WR", SHUT_WR},
	{"SHUT_RDWR", SHUT_RDWR}, {"POLLIN", POLLIN}, {"POLLOUT", POLLOUT}, {"POLLERR", POLLERR},
	{"POLLHUP", POLLHUP}, {"POLLPRI", POLLPRI}, {"POLLRDNORM", POLLRDNORM},
	{"POLLWRNORM", POLLWRNORM}, {"POLLRDHUP", POLLRDHUP}, {"NULL", 0},
};

static const struct {
	const char *name;
	int v;
} errnos[] = {
	{"EINPROGRESS", EINPROGRESS}, {"EAGAIN", EAGAIN}, {"EWOULDBLOCK", EWOULDBLOCK},
	{"EALREADY", EALREADY}, {"EISCONN", EISCONN}, {"ENOTCONN", ENOTCONN},
	{"ECONNREFUSED", ECONNREFUSED}, {"ECONNRESET", ECONNRESET}, {"ECONNABORTED", ECONNABORTED},
	{"ETIMEDOUT", ETIMEDOUT}, {"EPIPE", EPIPE}, {"EINVAL", EINVAL}, {"EBADF", EBADF},
	{"EADDRINUSE", EADDRINUSE}, {"EOPNOTSUPP", EOPNOTSUPP}, {"EHOSTUNREACH", EHOSTUNREACH},
	{"ENETUNREACH", ENETUNREACH}, {"EFAULT", EFAULT}, {"ENOPROTOOPT", ENOPROTOOPT},
	{"EPROTONOSUPPORT", EPROTONOSUPPORT}, {"ENOTSOCK", ENOTSOCK}, {"EDESTADDRREQ", EDESTADDRREQ},
};

bool dr_symbol(const char *name, int64_t *v)
{
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		if (strcmp(symbols[i].name, name) == 0) {
			*v = symbols[i].v;
			return true;
		}
	}
	return false;
}

bool dr_errno(const char *name, int *err)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
		if (strcmp(errnos[i].name, name) == 0) {
			*err = errnos[i].v;
			return true;
		}
	}
	return false;
}

const char *dr_errno_name(int err)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].v == err)
			return errnos[i].name;
	return "E?";
}

/* ---- one attempt -------------------------------------------------------------------- */

enum outcome { DONE, WOULD_BLOCK, BAD };

struct attempt {
	int64_t ret;
	int err;                 /* positive errno when ret == -1 */
	char why[160];           /* BAD: what is wrong with the line */
};

static enum outcome bad(struct attempt *a, const char *why)
{
	snprintf(a->why, sizeof(a->why), "%s", why);
	return BAD;
}

static enum outcome result(struct attempt *a, int64_t r)
{
	if (r < 0) {
		a->ret = -1;
		a->err = (int)-r;
	} else {
		a->ret = r;
		a->err = 0;
	}
	return DONE;
}

static struct dr_fd *fd_of(struct dr_ctx *c, const struct dr_arg *a)
{
	if (a->kind != DA_INT || a->v < 0 || a->v >= DR_MAX_FD || !c->fds[a->v].used)
		return NULL;
	return &c->fds[a->v];
}

static int64_t arg_int(const struct dr_call *k, int i, int64_t dflt)
{
	return i < k->nargs && k->args[i].kind == DA_INT ? k->args[i].v : dflt;
}

/* A list argument `[N]`: its single integer. */
static bool list_int(const struct dr_arg *a, int64_t *v)
{
	if (a->kind != DA_LIST || a->n != 1 || a->items[0].kind != DA_INT)
		return false;
	*v = a->items[0].v;
	return true;
}

static struct sockaddr_in addr_of(uint32_t ip, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(ip);
	return sa;
}

/* poll(2) readiness from the socket's state. */
static short revents_of(struct sn_sock *s, short events)
{
	short r = 0;
	bool readable = sn_ring_used(&s->rcv_buf) > 0 || (s->flags & SN_SF_FIN_RCVD) ||
	                (s->state == SN_LISTEN && s->listener->accept_len > 0) || s->so_error;
	bool writable = (s->state == SN_ESTABLISHED || s->state == SN_CLOSE_WAIT) &&
	                !(s->flags & SN_SF_FIN_QUEUED) && sn_ring_space(&s->snd_buf) > 0;
	if (readable)
		r |= events & (POLLIN | POLLRDNORM);
	if (writable)
		r |= events & (POLLOUT | POLLWRNORM);
	if (s->so_error)
		r |= POLLERR;
	if (s->state == SN_CLOSED && (s->flags & SN_SF_EVER_CONNECTED))
		r |= POLLHUP;
	return r;
}

static enum outcome attempt(struct dr_ctx *c, const struct dr_event *e, bool first,
                            struct attempt *a)
{
	const struct dr_call *k = &e->call;
	const char *n = k->name;
	struct dr_fd *f = k->nargs > 0 ? fd_of(c, &k->args[0]) : NULL;
	bool need_fd = strcmp(n, "socket") != 0 && strcmp(n, "poll") != 0;
	if (need_fd && !f)
		return result(a, -EBADF);

	if (strcmp(n, "socket") == 0) {
		int64_t type = arg_int(k, 1, SOCK_STREAM), proto = arg_int(k, 2, IPPROTO_TCP);
		if ((type & ~(int64_t)SOCK_NONBLOCK) != SOCK_STREAM || (proto != IPPROTO_TCP && proto != 0))
			return result(a, -EPROTONOSUPPORT);
		if (k->ret < 0 || k->ret >= DR_MAX_FD || c->fds[k->ret].used)
			return bad(a, "socket() must name a free script fd");
		struct sn_sock *s = sn_socket(c->st);
		if (!s)
			return result(a, -ENOMEM);
		c->fds[k->ret] = (struct dr_fd){.s = s, .used = true, .nonblock = type & SOCK_NONBLOCK};
		c->cur = s;
		c->cur_listening = false;
		dr_conn_reset(c);
		return result(a, k->ret);
	}
	if (strcmp(n, "bind") == 0) {
		struct sockaddr_in sa = addr_of(c->laddr, c->s->bind_port);
		return result(a, sn_bind(f->s, (struct sockaddr *)&sa, sizeof(sa)));
	}
	if (strcmp(n, "listen") == 0) {
		/* The listener becomes the socket under test: the next SYN
		 * starts a new connection from a new port (SPEC 7). */
		int r = sn_listen(f->s, (int)arg_int(k, 1, 1));
		if (r == 0) {
			c->cur = f->s;
			c->cur_listening = true;
		}
		return result(a, r);
	}
	if (strcmp(n, "accept") == 0) {
		int err = 0;
		struct sn_sock *ns = sn_accept(f->s, NULL, NULL, &err);
		if (!ns) {
			if (err == -EAGAIN && !f->nonblock)
				return WOULD_BLOCK;
			return result(a, err);
		}
		if (k->ret < 0 || k->ret >= DR_MAX_FD || c->fds[k->ret].used) {
			sn_abort(ns);
			return bad(a, "accept() must name a free script fd");
		}
		c->fds[k->ret] = (struct dr_fd){.s = ns, .used = true};
		c->cur = ns;
		return result(a, k->ret);
	}
	if (strcmp(n, "connect") == 0) {
		if (first || !f->connecting) {
			struct sockaddr_in sa = addr_of(c->raddr, c->s->connect_port);
			int r = sn_connect(f->s, (struct sockaddr *)&sa, sizeof(sa));
			if (r == -EINPROGRESS) {
				c->cur = f->s;
				c->cur_listening = false;
				dr_conn_reset(c);
				c->conn.has_tuple = true;
				c->conn.rport = c->s->connect_port;
				f->connecting = true;
				if (f->nonblock)
					return result(a, r);
				return WOULD_BLOCK;
			}
			return result(a, r);
		}
		/* a blocking connect waits for the outcome */
		if (f->s->state >= SN_ESTABLISHED) {
			f->connecting = false;
			return result(a, 0);
		}
		if (f->s->state == SN_CLOSED) {
			int v = 0;
			socklen_t l = sizeof(v);
			f->connecting = false;
			sn_getsockopt(f->s, SOL_SOCKET, SO_ERROR, &v, &l);
			return result(a, v ? -v : -ECONNREFUSED);
		}
		return WOULD_BLOCK;
	}
	if (strcmp(n, "write") == 0 || strcmp(n, "send") == 0 || strcmp(n, "sendto") == 0) {
		int64_t len = arg_int(k, 2, -1);
		int flags = (int)arg_int(k, 3, 0);
		if (len < 0 || len > (1 << 24))
			return bad(a, "length must be a number up to 16 MiB");
		uint8_t *zeros = calloc(1, (size_t)len + 1);
		if (!zeros)
			exit(2);
		ssize_t r = sn_send(f->s, zeros, (size_t)len, flags & ~(MSG_NOSIGNAL | MSG_DONTWAIT));
		free(zeros);
		if (r == -EAGAIN && !f->nonblock && !(flags & MSG_DONTWAIT))
			return WOULD_BLOCK;
		return result(a, r);
	}
	if (strcmp(n, "read") == 0 || strcmp(n, "recv") == 0) {
		int64_t len = arg_int(k, 2, -1);
		int flags = (int)arg_int(k, 3, 0);
		if (len < 0 || len > (1 << 24))
			return bad(a, "length must be a number up to 16 MiB");
		bool block = !f->nonblock && !(flags & MSG_DONTWAIT);
		if (block && (flags & MSG_WAITALL) && sn_ring_used(&f->s->rcv_buf) < (uint32_t)len &&
		    !(f->s->flags & SN_SF_FIN_RCVD) && f->s->state != SN_CLOSED)
			return WOULD_BLOCK;
		uint8_t *buf = malloc((size_t)len + 1);
		if (!buf)
			exit(2);
		ssize_t r = sn_recv(f->s, buf, (size_t)len, flags & (MSG_PEEK));
		free(buf);
		if (r == -EAGAIN && block)
			return WOULD_BLOCK;
		return result(a, r);
	}
	if (strcmp(n, "shutdown") == 0)
		return result(a, sn_shutdown(f->s, (int)arg_int(k, 1, SHUT_RDWR)));
	if (strcmp(n, "close") == 0) {
		int r = sn_close(f->s);
		f->used = false;
		if (c->cur == f->s)
			c->cur = NULL;
		f->s = NULL;
		return result(a, r);
	}
	if (strcmp(n, "setsockopt") == 0) {
		int level = (int)arg_int(k, 1, -1), name = (int)arg_int(k, 2, -1);
		int64_t v;
		if (k->nargs < 4)
			return bad(a, "setsockopt needs 5 arguments");
		const struct dr_arg *va = &k->args[3];
		if (level == SOL_SOCKET && name == SO_LINGER) {
			struct linger l = {0};
			if (va->kind != DA_STRUCT)
				return bad(a, "SO_LINGER takes {onoff=N, linger=N}");
			for (int i = 0; i < va->n; i++) {
				if (strcmp(va->items[i].field, "onoff") == 0)
					l.l_onoff = (int)va->items[i].v;
				else if (strcmp(va->items[i].field, "linger") == 0)
					l.l_linger = (int)va->items[i].v;
			}
			return result(a, sn_setsockopt(f->s, level, name, &l, sizeof(l)));
		}
		if (!list_int(va, &v))
			return bad(a, "setsockopt value must be [N]");
		int iv = (int)v;
		return result(a, sn_setsockopt(f->s, level, name, &iv, sizeof(iv)));
	}
	if (strcmp(n, "getsockopt") == 0) {
		int level = (int)arg_int(k, 1, -1), name = (int)arg_int(k, 2, -1);
		int64_t want, wantlen = 4;
		if (k->nargs < 5 || !list_int(&k->args[3], &want) ||
		    (k->args[4].kind == DA_LIST && !list_int(&k->args[4], &wantlen)))
			return bad(a, "getsockopt takes [value] and [length]");
		int v = 0;
		socklen_t l = sizeof(v);
		int r = sn_getsockopt(f->s, level, name, &v, &l);
		if (r == 0 && ((int64_t)v != want || (int64_t)l != wantlen)) {
			snprintf(a->why, sizeof(a->why), "getsockopt value [%d] length [%d], expected [%lld] [%lld]",
			         v, (int)l, (long long)want, (long long)wantlen);
			return BAD;
		}
		return result(a, r);
	}
	if (strcmp(n, "fcntl") == 0) {
		int64_t cmd = arg_int(k, 1, -1);
		if (cmd == F_GETFL)
			return result(a, O_RDWR | (f->nonblock ? O_NONBLOCK : 0));
		if (cmd == F_SETFL) {
			f->nonblock = (arg_int(k, 2, 0) & O_NONBLOCK) != 0;
			return result(a, 0);
		}
		return bad(a, "fcntl: only F_GETFL and F_SETFL");
	}
	if (strcmp(n, "poll") == 0) {
		const struct dr_arg *arr = k->nargs > 0 ? &k->args[0] : NULL;
		if (!arr || arr->kind != DA_LIST || arg_int(k, 1, -1) != arr->n)
			return bad(a, "poll takes [{fd=, events=, revents=}, ...], nfds, timeout");
		int ready = 0;
		for (int i = 0; i < arr->n; i++) {
			const struct dr_arg *p = &arr->items[i];
			int64_t fdn = -1, ev = 0;
			for (int j = 0; p->kind == DA_STRUCT && j < p->n; j++) {
				if (strcmp(p->items[j].field, "fd") == 0)
					fdn = p->items[j].v;
				else if (strcmp(p->items[j].field, "events") == 0)
					ev = p->items[j].v;
			}
			if (fdn < 0 || fdn >= DR_MAX_FD || !c->fds[fdn].used)
				return bad(a, "poll on an unknown fd");
			ready += revents_of(c->fds[fdn].s, (short)ev) != 0;
		}
		int64_t timeout_ms = arg_int(k, 2, 0);
		if (ready == 0 && timeout_ms != 0) {
			/* Wait on the virtual clock; a negative timeout never ends. */
			if (first)
				c->pend_timeout_at = timeout_ms > 0 ? c->now + (uint64_t)timeout_ms * 1000 : 0;
			if (!c->pend_timeout_at || c->now < c->pend_timeout_at)
				return WOULD_BLOCK;
		}
		return result(a, ready);
	}
	return bad(a, "unsupported call");
}

/* ---- checking ---------------------------------------------------------------------- */

static bool check(struct dr_ctx *c, const struct dr_event *e, const struct attempt *a)
{
	const struct dr_call *k = &e->call;
	bool fd_result = strcmp(k->name, "socket") == 0 || strcmp(k->name, "accept") == 0;
	bool ok = a->ret == k->ret || (fd_result && k->ret >= 0 && a->ret >= 0);
	if (ok && k->ret == -1 && k->err && a->err != k->err &&
	    !(k->err == EWOULDBLOCK && a->err == EAGAIN))
		ok = false;
	if (ok && strcmp(k->name, "poll") == 0 && a->ret >= 0) {
		/* revents of every entry compared exactly */
		const struct dr_arg *arr = &k->args[0];
		for (int i = 0; i < arr->n; i++) {
			const struct dr_arg *p = &arr->items[i];
			int64_t fdn = -1, ev = 0, want = 0;
			for (int j = 0; j < p->n; j++) {
				if (strcmp(p->items[j].field, "fd") == 0)
					fdn = p->items[j].v;
				else if (strcmp(p->items[j].field, "events") == 0)
					ev = p->items[j].v;
				else if (strcmp(p->items[j].field, "revents") == 0)
					want = p->items[j].v;
			}
			short got = revents_of(c->fds[fdn].s, (short)ev);
			if (got != want) {
				dr_failf(c, e->line, "poll: fd %lld revents 0x%x, expected 0x%llx", (long long)fdn,
				         (unsigned)got, (unsigned long long)want);
				return c->s->non_fatal_syscall;
			}
		}
	}
	if (ok)
		return true;
	char want[64], got[64];
	if (k->ret == -1 && k->err)
		snprintf(want, sizeof(want), "-1 %s", dr_errno_name(k->err));
	else
		snprintf(want, sizeof(want), "%lld", (long long)k->ret);
	if (a->ret == -1)
		snprintf(got, sizeof(got), "-1 %s (%s)", dr_errno_name(a->err), strerror(a->err));
	else
		snprintf(got, sizeof(got), "%lld", (long long)a->ret);
	dr_failf(c, e->line, "%s() returned %s, expected %s", k->name, got, want);
	return c->s->non_fatal_syscall;
}

bool dr_call(struct dr_ctx *c, const struct dr_event *e, int64_t sched_us)
{
	struct attempt a = {0};
	if (c->pend && !c->pend_done) {
		dr_failf(c, e->line, "%s() reached while the blocking %s() of line %d has not returned",
		         e->call.name, c->pend->call.name, c->pend->line);
		return false;
	}
	c->pend = NULL;
	c->pend_timeout_at = 0;
	enum outcome o = attempt(c, e, true, &a);
	if (o == BAD) {
		dr_failf(c, e->line, "%s(): %s", e->call.name, a.why);
		return false;
	}
	if (!e->t.blocking) {
		if (o == WOULD_BLOCK) {
			dr_failf(c, e->line, "%s() blocked (write it as 'T1...T2 %s(...)' if it should)",
			         e->call.name, e->call.name);
			return false;
		}
		sn_poll(c->st, c->now); /* what the call queued leaves now */
		return check(c, e, &a);
	}
	/* `T1...T2 call`: returns at T2 (SPEC 9.3). */
	c->pend = e;
	c->pend_start_us = sched_us;
	c->pend_end_us = e->t.end_kind == DT_REL ? sched_us - e->t.us + e->t.end_us : e->t.end_us;
	c->pend_done = false;
	if (o == DONE) {
		c->pend_done = true;
		sn_poll(c->st, c->now);
		int64_t tol;
		if (!dr_time_ok(c, c->pend_end_us, dr_script_now(c), sched_us, &tol)) {
			dr_failf(c, e->line, "%s() returned at %.6f s, expected at %.6f s", e->call.name,
			         (double)dr_script_now(c) / 1e6, (double)c->pend_end_us / 1e6);
			return false;
		}
		return check(c, e, &a);
	}
	sn_poll(c->st, c->now);
	return true;
}

void dr_call_retry(struct dr_ctx *c)
{
	if (!c->pend || c->pend_done || c->res->verdict != DR_PASS)
		return;
	struct attempt a = {0};
	enum outcome o = attempt(c, c->pend, false, &a);
	if (o == WOULD_BLOCK)
		return;
	c->pend_done = true;
	if (o == BAD) {
		dr_failf(c, c->pend->line, "%s(): %s", c->pend->call.name, a.why);
		return;
	}
	int64_t tol;
	if (!dr_time_ok(c, c->pend_end_us, dr_script_now(c), c->pend_start_us, &tol)) {
		dr_failf(c, c->pend->line, "%s() returned at %.6f s, expected at %.6f s (tolerance %.6f s)",
		         c->pend->call.name, (double)dr_script_now(c) / 1e6,
		         (double)c->pend_end_us / 1e6, (double)tol / 1e6);
		return;
	}
	check(c, c->pend, &a);
}

/* ---- state checks (SPEC 11) ---------------------------------------------------------- */

bool dr_state_check(struct dr_ctx *c, const struct dr_event *e)
{
	int state = e->sh.state;
	if (e->sh.count < 0) {
		/* tcpi_state of the socket under test */
		int got = c->cur ? c->cur->state : SN_CLOSED;
		/* synack hands TIME-WAIT to a compact record and the socket
		 * reads CLOSED; the connection's state is the record's. */
		if (c->cur && got == SN_CLOSED && (c->cur->flags & SN_SF_EVER_CONNECTED) &&
		    tw_lookup(c->st, &c->cur->t))
			got = SN_TIME_WAIT;
		if (got != state) {
			dr_failf(c, e->line, "tcpi_state is %s, expected %s", sn_state_name(got),
			         sn_state_name(state));
			return false;
		}
		return true;
	}
	/* sockstat: count every socket of the stack in that state (a fresh
	 * stack holds only the script's). A CLOSED socket is listed while the
	 * application still holds it. */
	int n = 0;
	if (state == SN_TIME_WAIT) {
		n = (int)c->st->tws.count;
	} else {
		for (struct sn_list *l = c->st->socks.next; l != &c->st->socks; l = l->next) {
			struct sn_sock *s = SN_CONTAINER_OF(l, struct sn_sock, sock_link);
			if (s->flags & SN_SF_DEAD)
				continue;
			if (s->state == state &&
			    (state != SN_CLOSED || !(s->flags & SN_SF_USER_CLOSED)))
				n++;
		}
	}
	if (n != e->sh.count) {
		dr_failf(c, e->line, "%d connection(s) in %s, expected %d", n, sn_state_name(state),
		         e->sh.count);
		return false;
	}
	return true;
}

void dr_close_all(struct dr_ctx *c)
{
	for (int i = 0; i < DR_MAX_FD; i++) {
		if (c->fds[i].used)
			sn_abort(c->fds[i].s);
		c->fds[i].used = false;
	}
}
