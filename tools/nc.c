/*
 * nc.c - `synack listen` and `synack connect`: netcat on the synack stack.
 *
 * Each connection is a pump between the socket and an input/output pair:
 *
 *   input (stdin, --file IN, or the echo of what was received)
 *       -> pending buffer -> sn_send      until the input ends, then SHUT_WR
 *   sn_recv -> output (stdout, --file OUT, or nowhere with --discard)
 *
 * The pump runs once per loop iteration (the loop's idle hook), after the
 * frames of that iteration have been processed, so it sees every byte the
 * stack has for it; what it queues leaves in the sn_poll that follows. An
 * input that epoll can watch (a pipe, a terminal, a socket) is read only when
 * epoll says so, one read per wake-up, and only while nothing is pending, so
 * a slow network holds the input back instead of buffering it all. A regular
 * file is always ready and is read as fast as the socket takes it.
 *
 * Without an input (--file OUT, --discard), a listener sends its FIN after
 * the peer's, as a server does that answers nothing. With --echo it sends
 * its FIN once everything received has been echoed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "net.h"
#include "tools.h"

#define CHUNK 65536
#define CLOSE_GRACE_US (10ull * 1000000u) /* after a SIGINT, for FINs to be exchanged */

struct nconn {
	struct nc *nc;
	struct sn_sock *s;
	int in_fd;              /* -1: no input */
	bool in_watchable, in_armed, in_eof;
	int out_fd;             /* -1: discard */
	bool echo;
	char *buf;              /* pending bytes to send: buf[off..len) */
	size_t off, len;
	bool connected, rx_eof, shut, done;
	int error;              /* positive errno, 0 if none */
	uint64_t rx, tx, t_start, t_end;
	crypto_hash_sha256_state hash;
	struct nconn *next;
};

struct nc {
	struct net net;
	bool listen_mode, keep, echo, discard;
	bool no_hash;           /* --no-hash: report no sha256 (it costs more than TCP) */
	const char *file;
	struct sn_sock *listener;
	struct nconn *conns;
	int accepted;
	bool finishing;         /* the command's work is over: exit when all are done */
	uint64_t give_up_us;    /* after a SIGINT */
	int exit_code;
	char rbuf[CHUNK];
};

static int so_error(struct sn_sock *s)
{
	int e = 0;
	socklen_t len = sizeof(e);
	sn_getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len);
	return e;
}

static int state_of(struct sn_sock *s)
{
	struct sn_tcp_info ti;
	return sn_tcp_info(s, &ti) == 0 ? ti.state : SN_CLOSED;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void input_ready(int fd, unsigned events, void *user)
{
	struct nconn *c = user;
	/* One read per wake-up: epoll said it will not block. */
	if (c->off == c->len && !c->in_eof) {
		ssize_t n = read(fd, c->buf, CHUNK);
		if (n > 0) {
			c->off = 0;
			c->len = (size_t)n;
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			c->in_eof = true;
		}
	}
	sn_loop_watch(c->nc->net.loop, fd, 0, input_ready, c);
	c->in_armed = false;
}

static void finish(struct nconn *c, int error)
{
	struct nc *nc = c->nc;
	c->done = true;
	c->error = error;
	c->t_end = sn_clock_us();
	if (c->in_armed) {
		sn_loop_watch(nc->net.loop, c->in_fd, 0, input_ready, c);
		c->in_armed = false;
	}
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(h) + 1] = "not computed";
	if (!nc->no_hash) {
		crypto_hash_sha256_final(&c->hash, h);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	}
	double secs = (double)(c->t_end - c->t_start) / 1e6;
	/* A connection in TIME-WAIT has left its socket (state CLOSED) for a
	 * compact record: the stack's count says whether one is held. */
	struct sn_stats st;
	sn_stats(nc->net.stack, &st);
	if (secs <= 0)
		secs = 1e-6;
	fprintf(stderr,
	        "synack %s: received %llu bytes (sha256 %s), sent %llu bytes, %.3f s, "
	        "%.1f MB/s in, %.1f MB/s out, final state %s, TIME-WAIT records %llu\n",
	        nc->net.cmd, (unsigned long long)c->rx, hex, (unsigned long long)c->tx, secs,
	        (double)c->rx / secs / 1e6, (double)c->tx / secs / 1e6,
	        sn_state_name(state_of(c->s)), (unsigned long long)st.tcp_curr_tw);
	if (error) {
		fprintf(stderr, "synack %s: connection failed: %s (%s)\n", nc->net.cmd,
		        net_errname(error), strerror(error));
		nc->exit_code = 1;
	}
	if (error)
		sn_abort(c->s);
	else
		sn_close(c->s);
	c->s = NULL;
}

static void pump(struct nconn *c)
{
	struct nc *nc = c->nc;
	ssize_t n;

	if (c->done)
		return;
	if (!c->connected) {
		int st = state_of(c->s);
		if (st == SN_CLOSED) {
			int e = so_error(c->s);
			finish(c, e ? e : ECONNABORTED);
			return;
		}
		if (st < SN_ESTABLISHED)
			return;
		c->connected = true;
		c->t_start = sn_clock_us();
		char who[64];
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		sn_getpeername(c->s, (struct sockaddr *)&peer, &plen);
		inet_ntop(AF_INET, &peer.sin_addr, who, sizeof(who));
		net_note(&nc->net, "connected to %s:%u", who, ntohs(peer.sin_port));
	}

	/* Receive. With --echo, only while the last chunk has been sent on. */
	while (!c->rx_eof && !(c->echo && c->off < c->len)) {
		n = sn_recv(c->s, nc->rbuf, CHUNK, 0);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			finish(c, (int)-n);
			return;
		}
		if (n == 0) {
			c->rx_eof = true;
			break;
		}
		c->rx += (uint64_t)n;
		if (!nc->no_hash)
			crypto_hash_sha256_update(&c->hash, (unsigned char *)nc->rbuf, (size_t)n);
		if (c->out_fd >= 0 && write_all(c->out_fd, nc->rbuf, (size_t)n) < 0) {
			/* Nobody wants the rest: say so to the peer. */
			finish(c, EPIPE);
			return;
		}
		if (c->echo) {
			memcpy(c->buf, nc->rbuf, (size_t)n);
			c->off = 0;
			c->len = (size_t)n;
		}
	}

	/* Send. */
	while (!c->shut) {
		if (c->off < c->len) {
			n = sn_send(c->s, c->buf + c->off, c->len - c->off, 0);
			if (n == -EAGAIN)
				break;
			if (n < 0) {
				finish(c, (int)-n);
				return;
			}
			c->off += (size_t)n;
			c->tx += (uint64_t)n;
			continue;
		}
		c->off = c->len = 0;
		if (c->in_fd < 0 || c->in_eof)
			break;
		if (c->in_watchable) {
			if (!c->in_armed && sn_loop_watch(nc->net.loop, c->in_fd, EPOLLIN, input_ready,
			                                  c) == 0)
				c->in_armed = true;
			break;
		}
		n = read(c->in_fd, c->buf, CHUNK);
		if (n > 0)
			c->len = (size_t)n;
		else if (n == 0 || errno != EINTR)
			c->in_eof = true;
	}

	/* Half-close when our side has nothing more to say: our input ended
	 * (or SIGINT ended it), or, with no input of our own (--echo,
	 * --discard, --file), once the peer has finished. */
	bool said_all = c->off == c->len && (c->in_eof || (c->in_fd < 0 && c->rx_eof));
	if (!c->shut && said_all) {
		int r = sn_shutdown(c->s, SHUT_WR);
		if (r < 0 && r != -ENOTCONN) {
			finish(c, -r);
			return;
		}
		c->shut = true;
	}
	if (c->shut && c->rx_eof) {
		int st = state_of(c->s);
		if (st == SN_CLOSED || st == SN_TIME_WAIT)
			finish(c, 0);
	}
}

static struct nconn *nconn_new(struct nc *nc, struct sn_sock *s)
{
	struct nconn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->buf = malloc(CHUNK);
	if (!c->buf) {
		free(c);
		return NULL;
	}
	c->nc = nc;
	c->s = s;
	c->in_fd = -1;
	c->out_fd = -1;
	c->t_start = sn_clock_us();
	crypto_hash_sha256_init(&c->hash);
	c->next = nc->conns;
	nc->conns = c;
	return c;
}

static int open_input(struct nc *nc, struct nconn *c)
{
	if (nc->echo || nc->discard || (nc->listen_mode && nc->file))
		return 0;
	if (nc->file) {
		c->in_fd = open(nc->file, O_RDONLY | O_CLOEXEC);
		if (c->in_fd < 0) {
			fprintf(stderr, "synack %s: cannot read %s: %s\n", nc->net.cmd, nc->file,
			        strerror(errno));
			return -errno;
		}
	} else {
		c->in_fd = STDIN_FILENO;
	}
	/* epoll refuses regular files (EPERM): they never block, read them directly. */
	c->in_watchable = sn_loop_watch(nc->net.loop, c->in_fd, 0, input_ready, c) == 0;
	return 0;
}

static int open_output(struct nc *nc, struct nconn *c)
{
	if (nc->echo || nc->discard)
		return 0;
	if (nc->listen_mode && nc->file) {
		c->out_fd = open(nc->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0) {
			fprintf(stderr, "synack %s: cannot write %s: %s\n", nc->net.cmd, nc->file,
			        strerror(errno));
			return -errno;
		}
	} else {
		c->out_fd = STDOUT_FILENO;
	}
	return 0;
}

static void accept_all(struct nc *nc)
{
	int err;
	struct sn_sock *s;
	while (nc->listener && (s = sn_accept(nc->listener, NULL, NULL, &err)) != NULL) {
		struct nconn *c = nconn_new(nc, s);
		if (!c || open_input(nc, c) < 0 || open_output(nc, c) < 0) {
			sn_abort(s);
			if (c)
				c->done = true, c->s = NULL;
			nc->exit_code = 1;
			nc->finishing = true;
			continue;
		}
		c->echo = nc->echo;
		nc->accepted++;
		/* Like nc -l: one connection unless -k. */
		if (!nc->keep) {
			sn_close(nc->listener);
			nc->listener = NULL;
			nc->finishing = true;
		}
	}
}

static void on_interrupt(struct nc *nc)
{
	int k = net_signals(&nc->net);
	if (k == 0)
		return;
	if (k == 1 && !nc->give_up_us) {
		net_note(&nc->net, "interrupted: closing connections (again to abort)");
		nc->give_up_us = sn_clock_us() + CLOSE_GRACE_US;
		nc->finishing = true;
		if (nc->listener) {
			sn_close(nc->listener);
			nc->listener = NULL;
		}
		for (struct nconn *c = nc->conns; c; c = c->next) {
			if (c->done)
				continue;
			/* Stop sending: whatever is pending is dropped, then FIN. */
			c->in_eof = true;
			c->off = c->len = 0;
			if (!c->connected)
				finish(c, ECONNABORTED);
		}
	} else if (k >= 2) {
		net_note(&nc->net, "interrupted again: aborting");
		for (struct nconn *c = nc->conns; c; c = c->next)
			if (!c->done)
				finish(c, ECONNABORTED);
		nc->exit_code = 130;
		sn_loop_stop(nc->net.loop);
	}
}

static void idle(struct sn_loop *loop, void *user)
{
	struct nc *nc = user;
	on_interrupt(nc);
	accept_all(nc);
	bool all_done = true;
	for (struct nconn *c = nc->conns; c; c = c->next) {
		pump(c);
		all_done &= c->done;
	}
	net_flush(&nc->net);
	if (nc->finishing && all_done)
		sn_loop_stop(loop);
	if (nc->give_up_us && sn_clock_us() > nc->give_up_us) {
		for (struct nconn *c = nc->conns; c; c = c->next)
			if (!c->done)
				finish(c, ETIMEDOUT);
		sn_loop_stop(loop);
	}
}

static void signal_ready(int fd, unsigned events, void *user)
{
	/* Read in the idle hook, where the count is acted on. */
}

static int run(struct nc *nc)
{
	sn_loop_watch(nc->net.loop, nc->net.sigfd, EPOLLIN, signal_ready, nc);
	sn_loop_set_idle(nc->net.loop, idle, nc);
	int e;
	for (;;) {
		/* After a SIGINT, wake up now and then to notice the grace period end. */
		e = sn_loop_run_once(nc->net.loop, nc->give_up_us ? 100000 : SN_TIME_NEVER);
		if (e < 0)
			break;
		bool all_done = nc->finishing;
		for (struct nconn *c = nc->conns; c && all_done; c = c->next)
			all_done = c->done;
		if ((nc->finishing && all_done) || nc->exit_code == 130)
			break;
	}
	return e;
}

static void free_all(struct nc *nc)
{
	while (nc->conns) {
		struct nconn *c = nc->conns;
		nc->conns = c->next;
		if (c->in_fd > STDERR_FILENO)
			close(c->in_fd);
		if (c->out_fd > STDERR_FILENO)
			close(c->out_fd);
		free(c->buf);
		free(c);
	}
}

static void usage_listen(FILE *f)
{
	fprintf(f, "usage: synack listen PORT [--echo | --discard | --file OUT] [-k] [--no-hash]\n"
	           "                     COMMON...\n"
	           "  accept a connection on PORT; write what arrives to stdout (or OUT), send\n"
	           "  stdin; with --echo send back what arrives; -k: keep accepting. At the end\n"
	           "  it reports the bytes and the sha256 of what arrived; --no-hash skips the\n"
	           "  hash, which at gigabits costs more CPU than the TCP stack does\n\n%s",
	        NET_USAGE_COMMON);
}

static void usage_connect(FILE *f)
{
	fprintf(f, "usage: synack connect HOST PORT [--file IN] [--local-port N] [--no-hash] COMMON...\n"
	           "  connect; send stdin (or IN), half-close when it ends; write what arrives to\n"
	           "  stdout; exit when both directions are closed\n\n%s",
	        NET_USAGE_COMMON);
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || end == s || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int nc_main(int argc, char **argv, bool listen_mode)
{
	static const struct option longopts[] = {
		NET_LONG_OPTIONS,
		{"echo", no_argument, NULL, 'e'},
		{"discard", no_argument, NULL, 'd'},
		{"file", required_argument, NULL, 'f'},
		{"keep", no_argument, NULL, 'k'},
		{"no-hash", no_argument, NULL, 'n'},
		{"local-port", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = listen_mode ? "listen" : "connect";
	static struct nc nc; /* big receive buffer: not on the stack */
	uint16_t port = 0, lport = 0;
	int c, r;

	memset(&nc, 0, sizeof(nc));
	nc.listen_mode = listen_mode;
	net_opts_init(&nc.net.o);
	while ((c = getopt_long(argc, argv, "qkh", longopts, NULL)) != -1) {
		r = net_opt(&nc.net.o, cmd, c, optarg);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		switch (c) {
		case 'e': nc.echo = true; break;
		case 'd': nc.discard = true; break;
		case 'f': nc.file = optarg; break;
		case 'k': nc.keep = true; break;
		case 'n': nc.no_hash = true; break;
		case 'l':
			if (parse_port(optarg, &lport) < 0) {
				fprintf(stderr, "synack %s: bad port '%s'\n", cmd, optarg);
				return 2;
			}
			break;
		case 'h':
			listen_mode ? usage_listen(stdout) : usage_connect(stdout);
			return 0;
		default:
			listen_mode ? usage_listen(stderr) : usage_connect(stderr);
			return 2;
		}
	}
	struct in_addr host = {0};
	int need = listen_mode ? 1 : 2;
	if (argc - optind != need || (!listen_mode && inet_pton(AF_INET, argv[optind], &host) != 1) ||
	    parse_port(argv[argc - 1], &port) < 0 || (nc.echo + nc.discard + !!nc.file) > 1 ||
	    (!listen_mode && (nc.echo || nc.discard))) {
		listen_mode ? usage_listen(stderr) : usage_connect(stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	if (net_setup(&nc.net, cmd) < 0) {
		net_teardown(&nc.net);
		return 1;
	}

	struct sn_sock *s = sn_socket(nc.net.stack);
	struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr = nc.net.o.addr,
	                            .sin_port = htons(listen_mode ? port : lport)};
	r = s ? 0 : -ENOMEM;
	if (!r && (listen_mode || lport))
		r = sn_bind(s, (struct sockaddr *)&local, sizeof(local));
	if (!r && listen_mode) {
		r = sn_listen(s, 64);
		nc.listener = s;
		net_note(&nc.net, "listening on %s:%u (%s)", inet_ntoa(nc.net.o.addr), port,
		         nc.net.ifname);
	} else if (!r) {
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = host,
		                         .sin_port = htons(port)};
		r = sn_connect(s, (struct sockaddr *)&to, sizeof(to));
		if (r == -EINPROGRESS) {
			struct nconn *cn = nconn_new(&nc, s);
			r = cn ? 0 : -ENOMEM;
			if (!r)
				r = open_input(&nc, cn);
			if (!r)
				r = open_output(&nc, cn);
			nc.finishing = true;
		}
	}
	if (r < 0) {
		fprintf(stderr, "synack %s: %s\n", cmd, strerror(-r));
		net_teardown(&nc.net);
		return 1;
	}
	r = run(&nc);
	if (r < 0) {
		fprintf(stderr, "synack %s: event loop: %s\n", cmd, strerror(-r));
		nc.exit_code = 1;
	}
	/* Let the last segments (the ACK of a FIN) leave before the device goes. */
	sn_poll(nc.net.stack, sn_clock_us());
	free_all(&nc);
	net_teardown(&nc.net);
	return nc.exit_code;
}

int cmd_listen(int argc, char **argv)
{
	return nc_main(argc, argv, true);
}

int cmd_connect(int argc, char **argv)
{
	return nc_main(argc, argv, false);
}
