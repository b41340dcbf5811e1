/*
 * demo.c - `synack demo`: two stacks on an in-memory link, walking through
 * the textbook scenarios with a ladder diagram of every segment.
 *
 * Each scenario is a small script of application actions (connect, send,
 * close, ...) at chosen virtual times, plus reactions to socket events. The
 * applications wait a little before acting ("think time"), as real ones do,
 * so the ladder shows the stack's own ACKs separately from the application's
 * data, as the textbooks draw them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/simnet.h"
#include "tools.h"
#include "trace/ladder.h"

#define CLIENT 0
#define SERVER 1
#define PORT 80
#define MS 1000ull
#define THINK_US (1 * MS)

struct demo {
	struct sn_simnet net;
	struct sn_ladder *ladder;
	struct sn_pcap *pcap;
	const char *scenario;
	struct sn_sock *listener;
	struct sn_sock *conn[2];    /* the client's socket, the server's accepted socket */
	struct sn_sock *extra;      /* backlog-full: the second client */
	int errors[2];
	bool accepted_late;
};

/* ---- small helpers ------------------------------------------------------- */

static void note(struct demo *d, const char *fmt, const char *arg)
{
	sn_ladder_flush(d->ladder);
	printf("%10.3f  # ", (double)d->net.now_us / 1000.0);
	printf(fmt, arg);
	printf("\n");
}

static struct sn_sock *client_connect(struct demo *d, uint16_t lport, uint16_t rport)
{
	struct sn_sock *s = sn_socket(d->net.stack[CLIENT]);
	if (!s)
		return NULL;
	if (lport) {
		struct sockaddr_in a = sn_simnet_sockaddr(CLIENT, lport);
		int one = 1;
		sn_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sn_bind(s, (struct sockaddr *)&a, sizeof(a));
	}
	struct sockaddr_in to = sn_simnet_sockaddr(SERVER, rport);
	sn_connect(s, (struct sockaddr *)&to, sizeof(to));
	return s;
}

static struct sn_sock *server_listen(struct demo *d, int backlog)
{
	struct sn_sock *s = sn_socket(d->net.stack[SERVER]);
	struct sockaddr_in a = sn_simnet_sockaddr(SERVER, PORT);
	if (!s || sn_bind(s, (struct sockaddr *)&a, sizeof(a)) || sn_listen(s, backlog))
		return NULL;
	return s;
}

/* Step the world until `until` (virtual µs), stopping early if nothing is due. */
static void run(struct demo *d, uint64_t until)
{
	sn_simnet_run_until(&d->net, until);
	sn_ladder_flush(d->ladder);
}

/* Run until the world is quiet (all timers done), with a generous bound. */
static void run_to_end(struct demo *d)
{
	run(d, d->net.now_us + 600 * 1000 * MS);
}

static const char *err_name(int e)
{
	switch (e) {
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case ETIMEDOUT: return "ETIMEDOUT";
	case 0: return "no error";
	default: return strerror(e);
	}
}

static int take_so_error(struct sn_sock *s)
{
	int e = 0;
	socklen_t len = sizeof(e);
	sn_getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len);
	return e;
}

/* ---- scenarios ------------------------------------------------------------- */

/* Server side of the request/response exchange: read the request, answer 10
 * bytes at once (so the answer carries the ACK), close after end-of-stream. */
static void server_events(struct sn_sock *s, unsigned ev, void *user)
{
	struct demo *d = user;
	if (ev & SN_EV_READABLE) {
		static char data[16384];
		char what[64];
		ssize_t n;
		size_t total = 0;
		while ((n = sn_recv(s, data, sizeof(data), 0)) > 0)
			total += (size_t)n;
		if (total > 0) {
			snprintf(what, sizeof(what), "%zu bytes", total);
			note(d, "server application reads %s", what);
			/* The request/response scenarios answer every request. */
			if (strcmp(d->scenario, "handshake") == 0 ||
			    strcmp(d->scenario, "half-close") == 0) {
				sn_send(s, "0123456789", 10, 0);
				note(d, "server application writes %s", "10 bytes");
			}
		}
		if (n < 0 && n != -EAGAIN && d->errors[SERVER] == 0) {
			d->errors[SERVER] = (int)-n;
			note(d, "server application: recv() fails with %s", err_name((int)-n));
		}
		if (n == 0 && strcmp(d->scenario, "simultaneous-close") != 0) {
			note(d, "server application sees end of stream, %s", "closes shortly");
			sn_simnet_wake_at(&d->net, d->net.now_us + 5 * MS);
			d->conn[SERVER] = s; /* closed by the main loop at the wake-up */
			sn_set_event_cb(s, NULL, NULL);
		}
	}
	if (ev & SN_EV_ERROR) {
		int e = take_so_error(s);
		if (e) {
			d->errors[SERVER] = e;
			note(d, "server application sees error %s", err_name(e));
		}
	}
}

static void listener_events(struct sn_sock *ls, unsigned ev, void *user)
{
	struct demo *d = user;
	if (!(ev & SN_EV_ACCEPTABLE))
		return;
	if (strcmp(d->scenario, "backlog-full") == 0 && !d->accepted_late)
		return; /* the application is busy; it accepts later */
	int err;
	struct sn_sock *c;
	while ((c = sn_accept(ls, NULL, NULL, &err)) != NULL) {
		note(d, "server application accepts a %s", "connection");
		sn_set_event_cb(c, server_events, d);
		d->conn[SERVER] = c;
	}
}

static void client_events(struct sn_sock *s, unsigned ev, void *user)
{
	struct demo *d = user;
	char buf[256];
	if (ev & SN_EV_CONNECTED)
		note(d, "client application: connect() %s", "completed");
	if (ev & SN_EV_ERROR) {
		int e = take_so_error(s);
		if (e) {
			d->errors[CLIENT] = e;
			note(d, "client application sees error %s", err_name(e));
		}
	}
	if (ev & SN_EV_READABLE) {
		ssize_t n;
		while ((n = sn_recv(s, buf, sizeof(buf), 0)) > 0) {
			snprintf(buf, sizeof(buf), "%zd bytes", n);
			note(d, "client application reads %s", buf);
		}
		if (n == 0)
			note(d, "client application sees %s", "end of stream");
		if (n < 0 && n != -EAGAIN && d->errors[CLIENT] == 0) {
			d->errors[CLIENT] = (int)-n;
			note(d, "client application: recv() fails with %s", err_name((int)-n));
		}
	}
}

static void wait_established(struct demo *d)
{
	run(d, d->net.now_us + 100 * MS);
}

/* The server listens on PORT, the client connects, the handshake completes. */
static void open_connection(struct demo *d)
{
	d->listener = server_listen(d, 8);
	sn_set_event_cb(d->listener, listener_events, d);
	d->conn[CLIENT] = client_connect(d, 0, PORT);
	sn_set_event_cb(d->conn[CLIENT], client_events, d);
	wait_established(d);
}

static int scenario_exchange(struct demo *d, bool half_close)
{
	d->listener = server_listen(d, 8);
	sn_set_event_cb(d->listener, listener_events, d);
	note(d, "server application: listen() on port %s", "80");
	d->conn[CLIENT] = client_connect(d, 0, PORT);
	sn_set_event_cb(d->conn[CLIENT], client_events, d);
	note(d, "client application: %s", "connect()");
	wait_established(d);

	sn_send(d->conn[CLIENT], "GET /index.html HTTP", 20, 0);
	note(d, "client application writes %s", "20 bytes");
	if (half_close) {
		sn_shutdown(d->conn[CLIENT], SHUT_WR);
		note(d, "client application: %s (half-close)", "shutdown(SHUT_WR)");
	}
	run(d, d->net.now_us + 100 * MS);
	if (!half_close) {
		note(d, "client application: %s", "close()");
		sn_close(d->conn[CLIENT]);
		d->conn[CLIENT] = NULL;
	}
	/* The server closes a moment after it sees end-of-stream. */
	while (sn_simnet_step(&d->net, d->net.now_us + 100 * MS)) {
		if (d->net.wake_us == SN_TIME_NEVER && d->conn[SERVER] &&
		    sn_simnet_step(&d->net, d->net.now_us) == false) {
		}
	}
	sn_ladder_flush(d->ladder);
	if (d->conn[SERVER]) {
		note(d, "server application: %s", "close()");
		sn_close(d->conn[SERVER]);
		d->conn[SERVER] = NULL;
	}
	run(d, d->net.now_us + 100 * MS);
	if (half_close && d->conn[CLIENT]) {
		note(d, "client application: %s", "close()");
		sn_close(d->conn[CLIENT]);
		d->conn[CLIENT] = NULL;
	}
	note(d, "waiting out TIME-WAIT (2 x MSL = %s of virtual time)", "60 s");
	run_to_end(d);
	return 0;
}

static int scenario_simultaneous_open(struct demo *d)
{
	/* Both ends bind a known port and connect to each other at once. */
	struct sn_sock *a = sn_socket(d->net.stack[CLIENT]);
	struct sn_sock *b = sn_socket(d->net.stack[SERVER]);
	struct sockaddr_in la = sn_simnet_sockaddr(CLIENT, 5000), lb = sn_simnet_sockaddr(SERVER, 6000);
	sn_bind(a, (struct sockaddr *)&la, sizeof(la));
	sn_bind(b, (struct sockaddr *)&lb, sizeof(lb));
	sn_set_event_cb(a, client_events, d);
	sn_set_event_cb(b, client_events, d);
	/* ARP first, so that both SYNs really cross on the wire. */
	uint8_t mac0[6] = {2, 0, 0, 0, 0, 1}, mac1[6] = {2, 0, 0, 0, 0, 2};
	sn_arp_add(d->net.stack[CLIENT], lb.sin_addr, mac1);
	sn_arp_add(d->net.stack[SERVER], la.sin_addr, mac0);
	note(d, "both applications: %s at the same moment", "connect()");
	sn_connect(a, (struct sockaddr *)&lb, sizeof(lb));
	sn_connect(b, (struct sockaddr *)&la, sizeof(la));
	run(d, d->net.now_us + 100 * MS);
	note(d, "both applications: %s at the same moment", "close()");
	sn_close(a);
	sn_close(b);
	run_to_end(d);
	return 0;
}

static int scenario_simultaneous_close(struct demo *d)
{
	open_connection(d);
	note(d, "both applications: %s at the same moment", "close()");
	sn_close(d->conn[CLIENT]);
	sn_close(d->conn[SERVER]);
	d->conn[CLIENT] = d->conn[SERVER] = NULL;
	run_to_end(d);
	return 0;
}

static int scenario_refused(struct demo *d)
{
	note(d, "nothing listens on port %s", "81");
	d->conn[CLIENT] = client_connect(d, 0, 81);
	sn_set_event_cb(d->conn[CLIENT], client_events, d);
	run_to_end(d);
	sn_close(d->conn[CLIENT]);
	return d->errors[CLIENT] == ECONNREFUSED ? 0 : 1;
}

static int scenario_abort(struct demo *d)
{
	open_connection(d);
	note(d, "client application: %s", "abort() (SO_LINGER 0 and close)");
	sn_abort(d->conn[CLIENT]);
	d->conn[CLIENT] = NULL;
	run_to_end(d);
	if (d->conn[SERVER])
		sn_close(d->conn[SERVER]);
	return d->errors[SERVER] == ECONNRESET ? 0 : 1;
}

/*
 * One segment lost on the wire. The client writes three full segments; the
 * link drops the second. The server holds the third (out of order) and says
 * at once, with a duplicate ACK, where the hole is; the client's
 * retransmission timer fires one RTO later and resends just the lost segment;
 * the server's ACK then covers all three.
 */
/* The client closes, then the server if it has not yet, and the world runs
 * until both are gone (TIME-WAIT included). */
static void close_both(struct demo *d)
{
	note(d, "client application: %s", "close()");
	sn_close(d->conn[CLIENT]);
	d->conn[CLIENT] = NULL;
	run(d, d->net.now_us + 100 * MS);
	if (d->conn[SERVER]) {
		sn_close(d->conn[SERVER]);
		d->conn[SERVER] = NULL;
	}
	run_to_end(d);
}

/* Fill buf with n full segments' worth of text (n * the client's MSS). */
static size_t full_segments(struct demo *d, uint8_t *buf, size_t cap, unsigned n)
{
	struct sn_tcp_info ci;
	sn_tcp_info(d->conn[CLIENT], &ci);
	size_t len = (size_t)n * ci.mss;
	if (len > cap)
		len = cap;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)('a' + i % 26);
	return len;
}

static int scenario_loss(struct demo *d)
{
	open_connection(d);

	static uint8_t data[3 * 1460];
	size_t len = full_segments(d, data, sizeof(data), 3);
	char what[64];
	/* The link will drop the second frame the client sends from now on. */
	sn_memlink_drop_nth(d->net.link, CLIENT, 2);
	snprintf(what, sizeof(what), "%zu bytes (three full segments)", len);
	note(d, "client application writes %s", what);
	note(d, "the link will lose the client's %s", "second segment");
	note(d, "one duplicate ACK is no proof of loss: the %s", "retransmission timer repairs it");
	sn_send(d->conn[CLIENT], data, len, 0);
	run(d, d->net.now_us + 2000 * MS);

	struct sn_tcp_info ci;
	sn_tcp_info(d->conn[CLIENT], &ci);
	char buf[96];
	snprintf(buf, sizeof(buf), "%u retransmission, srtt %.1f ms, rto %.0f ms", ci.total_retrans,
	         ci.srtt_us / 1000.0, ci.rto_us / 1000.0);
	note(d, "client: %s", buf);
	close_both(d);
	return ci.total_retrans == 1 ? 0 : 1;
}

/*
 * Fast retransmit: eight full segments, the second lost. Each later one
 * draws a duplicate ACK whose SACK block says what the server holds; the
 * third starts fast retransmit (RFC 5681 3.2, RFC 6675), long before the
 * retransmission timer would, and one ACK then covers all eight.
 */
static int scenario_fast_retransmit(struct demo *d)
{
	open_connection(d);

	static uint8_t data[8 * 1460];
	size_t len = full_segments(d, data, sizeof(data), 8);
	char what[64];
	sn_memlink_drop_nth(d->net.link, CLIENT, 2);
	snprintf(what, sizeof(what), "%zu bytes (eight full segments)", len);
	note(d, "client application writes %s", what);
	note(d, "the link will lose the client's %s", "second segment");
	sn_send(d->conn[CLIENT], data, len, 0);
	run(d, d->net.now_us + 500 * MS);

	struct sn_tcp_info ci;
	sn_tcp_info(d->conn[CLIENT], &ci);
	struct sn_stats st;
	sn_stats(d->net.stack[CLIENT], &st);
	char buf[128];
	snprintf(buf, sizeof(buf),
	         "%u retransmission, %llu fast recovery, %llu timeouts; cwnd %u, ssthresh %u",
	         ci.total_retrans, (unsigned long long)st.tcp_fast_recoveries,
	         (unsigned long long)st.tcp_rto_events, ci.cwnd, ci.ssthresh);
	note(d, "client: %s", buf);
	close_both(d);
	return ci.total_retrans == 1 && st.tcp_fast_recoveries == 1 && st.tcp_rto_events == 0 ? 0
	                                                                                       : 1;
}

static int scenario_backlog_full(struct demo *d)
{
	d->listener = server_listen(d, 1);
	sn_set_event_cb(d->listener, listener_events, d);
	note(d, "server application: listen() with backlog %s, then is busy", "1");
	d->conn[CLIENT] = client_connect(d, 0, PORT);
	sn_set_event_cb(d->conn[CLIENT], client_events, d);
	note(d, "client 1: %s", "connect()");
	run(d, d->net.now_us + 100 * MS);
	d->extra = client_connect(d, 0, PORT);
	sn_set_event_cb(d->extra, client_events, d);
	note(d, "client 2: %s (the accept queue is full)", "connect()");
	run(d, 2500 * MS);
	note(d, "server application: %s", "accept() makes room");
	d->accepted_late = true;
	listener_events(d->listener, SN_EV_ACCEPTABLE, d);
	run(d, 8000 * MS);
	listener_events(d->listener, SN_EV_ACCEPTABLE, d);
	struct sn_stats st;
	sn_stats(d->net.stack[SERVER], &st);
	char buf[64];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)st.tcp_listen_overflow);
	note(d, "server: SYNs dropped because the queue was full: %s", buf);
	return st.tcp_listen_overflow > 0 ? 0 : 1;
}

/* ---- main ----------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: synack demo [--scenario NAME] [--pcap FILE] [--random-isn] [--relative]\n"
	        "scenarios: handshake (default), half-close, simultaneous-open,\n"
	        "           simultaneous-close, refused, abort, backlog-full, loss,\n"
	        "           fast-retransmit\n");
}

static void after_step(struct sn_simnet *n, void *ctx)
{
	sn_ladder_flush(ctx);
}

int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{"scenario", required_argument, NULL, 's'},
		{"pcap", required_argument, NULL, 'p'},
		{"random-isn", no_argument, NULL, 'r'},
		{"relative", no_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *scenario = "handshake", *pcap_path = NULL;
	bool random_isn = false, relative = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:p:rRh", opts, NULL)) != -1) {
		switch (c) {
		case 's': scenario = optarg; break;
		case 'p': pcap_path = optarg; break;
		case 'r': random_isn = true; break;
		case 'R': relative = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}

	struct sn_config cfg[2];
	for (int i = 0; i < 2; i++) {
		sn_config_init(&cfg[i]);
		cfg[i].random_seed = 1 + (uint64_t)i;
		if (!random_isn) {
			cfg[i].isn_fixed = 1;
			cfg[i].isn_value = i == CLIENT ? 1000 : 8000;
		}
	}
	struct demo d = {.scenario = scenario};
	int err = sn_simnet_init(&d.net, &cfg[0], &cfg[1], 42, 5 * MS);
	if (err) {
		fprintf(stderr, "synack demo: %s\n", strerror(-err));
		return 1;
	}
	d.ladder = sn_ladder_new(stdout, "client 198.18.0.1", "server 198.18.0.2");
	sn_ladder_set_relative(d.ladder, relative);
	sn_set_trace(d.net.stack[CLIENT], sn_ladder_trace, sn_ladder_side(d.ladder, CLIENT));
	sn_set_trace(d.net.stack[SERVER], sn_ladder_trace, sn_ladder_side(d.ladder, SERVER));
	sn_memlink_set_observer(d.net.link, sn_ladder_link_observer, d.ladder);
	d.net.after_step = after_step;
	d.net.after_step_ctx = d.ladder;
	if (pcap_path) {
		d.pcap = sn_pcap_open(pcap_path, &err);
		if (!d.pcap) {
			fprintf(stderr, "synack demo: cannot write %s: %s\n", pcap_path, strerror(-err));
			return 1;
		}
		sn_netif_set_capture(d.net.netif[CLIENT], sn_pcap_capture, d.pcap);
	}

	printf("synack demo: scenario %s (one-way delay 5 ms, times in ms)\n\n", scenario);
	int rc;
	if (strcmp(scenario, "handshake") == 0)
		rc = scenario_exchange(&d, false);
	else if (strcmp(scenario, "half-close") == 0)
		rc = scenario_exchange(&d, true);
	else if (strcmp(scenario, "simultaneous-open") == 0)
		rc = scenario_simultaneous_open(&d);
	else if (strcmp(scenario, "simultaneous-close") == 0)
		rc = scenario_simultaneous_close(&d);
	else if (strcmp(scenario, "refused") == 0)
		rc = scenario_refused(&d);
	else if (strcmp(scenario, "abort") == 0)
		rc = scenario_abort(&d);
	else if (strcmp(scenario, "backlog-full") == 0)
		rc = scenario_backlog_full(&d);
	else if (strcmp(scenario, "loss") == 0)
		rc = scenario_loss(&d);
	else if (strcmp(scenario, "fast-retransmit") == 0)
		rc = scenario_fast_retransmit(&d);
	else {
		fprintf(stderr, "synack demo: unknown scenario '%s'\n", scenario);
		usage(stderr);
		rc = 2;
	}
	sn_ladder_free(d.ladder);
	if (d.pcap && sn_pcap_close(d.pcap) != 0) {
		fprintf(stderr, "synack demo: error writing %s\n", pcap_path);
		rc = 1;
	}
	sn_simnet_free(&d.net);
	return rc;
}
