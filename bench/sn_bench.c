/*
 * sn_bench.c - synack's side of `make bench` (bench/run.sh drives it).
 *
 * Every mode runs synack against synack in one thread: a client stack and a
 * server stack joined by a memlink (no delay, no loss, no rate limit), pumped
 * in a loop: deliver what is in flight, poll both stacks. The client stack
 * may have several addresses (one netif each, all on the same memlink end),
 * because a 4-tuple toward one server port leaves only 28,232 ephemeral ports
 * per client address and the memory benchmark wants a million connections.
 *
 *   sn_bench bulk  --mtu M --seconds S [--bytes B] [--offload]   one flow, client -> server
 *                  (--offload: the memlink's offload mode, TSO and checksum offload, as veth)
 *   sn_bench crr   --seconds S --count C [--offload] connect, 64 B each way, close
 *                  (--offload: checksum offload, as the kernel's loopback has)
 *   sn_bench mem   --n N [--tw]                      N idle connections (or TIME-WAITs)
 *   sn_bench scale --n N --seconds S                 bulk beside N idle keepalive conns
 *   sn_bench tap-send --tap NAME --addr A/P --to IP:PORT --seconds S [--buf B]
 *   sn_bench tap-recv --tap NAME --addr A/P [--to PORT] --seconds S [--buf B]
 *        (--sndbuf B, --rcvbuf B: SO_SNDBUF and SO_RCVBUF on the socket)
 *
 * Each mode prints one JSON object on stdout. The measured region is wrapped
 * in callgrind toggles, so `valgrind --tool=callgrind --collect-atstart=no`
 * counts the instructions of that region only (run.sh divides by segments or
 * connections). Benchmarks print figures; they never pass or fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#if defined(__has_include) && __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT ((void)0) /* valgrind's headers absent: no counts */
#endif

#include "core.h"
#include "synack.h"

#define SERVER_ADDR 0xc6120001u      /* 198.18.0.1, end 1 */
#define CLIENT_BASE 0xc6130001u      /* 198.19.0.1 + i, end 0 */
#define PREFIX 15                    /* 198.18.0.0/15 holds both */
#define MAX_CLIENT_ADDRS 64
#define PORTS_PER_ADDR 28000         /* of the 28,232 ephemeral ports */
#define SERVER_PORT 5001
#define BULK_PORT 5002

static const uint8_t mac_client[6] = {0x02, 0, 0, 0, 0, 1};
static const uint8_t mac_server[6] = {0x02, 0, 0, 0, 0, 2};

/* ---- clocks ---------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the world: two stacks on a memlink ------------------------------------ */

struct world {
	struct sn_memlink *link;
	struct sn_stack *cli, *srv;
	struct sn_netif *cli_nif[MAX_CLIENT_ADDRS];
	struct sn_netif *srv_nif;
	unsigned naddrs;
	bool virtual_clock;  /* mem: time stands still (1 µs per pump) so nothing expires */
	bool offload;        /* the memlink's offload mode (bulk --offload) */
	uint64_t now_us;
};

static void pump(struct world *w);

static uint64_t world_now(struct world *w)
{
	if (w->virtual_clock)
		return ++w->now_us;
	uint64_t t = mono_ns() / 1000;
	if (t > w->now_us)
		w->now_us = t;
	return w->now_us;
}

/* Frames for the client end go to the netif that owns the destination
 * address, as a switch would; the memlink only has two ends. With one
 * client address there is only one place to send them. */
static void deliver_cli(void *ctx, const void *frame, size_t len, unsigned rx_flags,
                        uint64_t now_us)
{
	struct world *w = ctx;
	const uint8_t *f = frame;
	unsigned i = 0;
	if (w->naddrs > 1 && len >= 34 && f[12] == 0x08 && f[13] == 0x00) {
		uint32_t dst = (uint32_t)f[30] << 24 | (uint32_t)f[31] << 16 | (uint32_t)f[32] << 8 | f[33];
		if (dst - CLIENT_BASE < w->naddrs)
			i = dst - CLIENT_BASE;
	}
	sn_input_ex(w->cli, w->cli_nif[i], frame, len, rx_flags, now_us);
}

static void deliver_srv(void *ctx, const void *frame, size_t len, unsigned rx_flags,
                        uint64_t now_us)
{
	struct world *w = ctx;
	sn_input_ex(w->srv, w->srv_nif, frame, len, rx_flags, now_us);
}

static struct sn_netif *add_netif(struct sn_stack *st, struct world *w, int end, uint32_t addr,
                                  uint16_t mtu, const uint8_t mac[6])
{
	struct sn_netif_config nc = {.addr.s_addr = htonl(addr), .prefix_len = PREFIX, .mtu = mtu};
	memcpy(nc.mac, mac, 6);
	int err;
	struct sn_netif *nif = sn_netif_add(st, sn_memlink_ops(), sn_memlink_end(w->link, end), &nc, &err);
	if (!nif) {
		fprintf(stderr, "sn_bench: sn_netif_add: %s\n", strerror(-err));
		exit(1);
	}
	return nif;
}

/* The memory benchmark holds up to a million TIME-WAIT records: no cap. The
 * others keep the default (131072, as the kernel's tcp_max_tw_buckets). */
static bool tw_unlimited;

static void world_init_offload(struct world *w, uint16_t mtu, unsigned naddrs, uint32_t bufsize,
                               bool offload)
{
	memset(w, 0, sizeof(*w));
	w->naddrs = naddrs;
	w->offload = offload;
	w->link = sn_memlink_new(1);
	struct sn_config cfg;
	sn_config_init(&cfg);
	cfg.random_seed = 42;
	if (tw_unlimited)
		cfg.tw_max = 0;
	if (bufsize) {
		cfg.rcvbuf = bufsize;
		cfg.sndbuf = bufsize;
	}
	w->cli = sn_stack_new(&cfg);
	w->srv = sn_stack_new(&cfg);
	if (!w->link || !w->cli || !w->srv) {
		fprintf(stderr, "sn_bench: out of memory\n");
		exit(1);
	}
	/* Before the netifs: they ask the link for its offloads when added. */
	sn_memlink_set_offload(w->link, offload);
	sn_memlink_set_deliver_ex(w->link, 0, deliver_cli, w);
	sn_memlink_set_deliver_ex(w->link, 1, deliver_srv, w);
	w->srv_nif = add_netif(w->srv, w, 1, SERVER_ADDR, mtu, mac_server);
	/* Permanent ARP entries: the benchmarks measure TCP, not ARP. */
	struct in_addr a;
	for (unsigned i = 0; i < naddrs; i++) {
		w->cli_nif[i] = add_netif(w->cli, w, 0, CLIENT_BASE + i, mtu, mac_client);
		a.s_addr = htonl(CLIENT_BASE + i);
		if (sn_arp_add(w->srv, a, mac_client) < 0)
			exit(1);
	}
	a.s_addr = htonl(SERVER_ADDR);
	if (sn_arp_add(w->cli, a, mac_server) < 0)
		exit(1);
	/* Let both stacks learn the time before the first socket call: a
	 * connection opened at time 0 would take its ISN from a clock that
	 * then jumps, and a later one on the same 4-tuple could get a lower
	 * ISN, which a TIME-WAIT record rightly refuses. */
	pump(w);
}

static void world_init(struct world *w, uint16_t mtu, unsigned naddrs, uint32_t bufsize)
{
	world_init_offload(w, mtu, naddrs, bufsize, false);
}

/* One turn of the driver: frames in flight arrive, then both stacks run
 * their timers and queued output. */
static void pump(struct world *w)
{
	uint64_t now = world_now(w);
	sn_memlink_poll(w->link, now);
	sn_poll(w->cli, now);
	sn_poll(w->srv, now);
}

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
	                        .sin_addr.s_addr = htonl(addr)};
	return a;
}

static struct sn_sock *listen_on(struct world *w, uint16_t port, int backlog, sn_event_fn fn,
                                 void *user)
{
	struct sn_sock *ls = sn_socket(w->srv);
	struct sockaddr_in a = sin_of(SERVER_ADDR, port);
	if (!ls || sn_bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || sn_listen(ls, backlog) < 0) {
		fprintf(stderr, "sn_bench: cannot listen on %u\n", port);
		exit(1);
	}
	sn_set_event_cb(ls, fn, user);
	return ls;
}

/* A client socket from address index ai, connecting to the server's port. */
/* A client with one address connects as the kernel side's client does,
 * without bind: connect picks the address and the port. With several, the
 * address is bound first. */
static struct sn_sock *connect_from(struct world *w, unsigned ai, uint16_t port)
{
	struct sn_sock *s = sn_socket(w->cli);
	struct sockaddr_in local = sin_of(CLIENT_BASE + ai, 0);
	struct sockaddr_in to = sin_of(SERVER_ADDR, port);
	int err = 0;
	if (!s || (w->naddrs > 1 && (err = sn_bind(s, (struct sockaddr *)&local, sizeof(local))) < 0) ||
	    (err = sn_connect(s, (struct sockaddr *)&to, sizeof(to))) != -EINPROGRESS) {
		fprintf(stderr, "sn_bench: connect: %s\n", s ? strerror(-err) : "no memory");
		exit(1);
	}
	return s;
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* With SN_BENCH_STATS set, each stack's non-zero counters go to stderr. */
static void dump_stats(const char *who, struct sn_stack *st)
{
	if (!getenv("SN_BENCH_STATS"))
		return;
	struct sn_stats s;
	sn_stats(st, &s);
#define SN_BENCH_DUMP(name, desc) \
	if (s.name)               \
		fprintf(stderr, "%s %s %llu\n", who, #name, (unsigned long long)s.name);
	SN_STATS_FIELDS(SN_BENCH_DUMP)
#undef SN_BENCH_DUMP
}

static void world_free(struct world *w)
{
	dump_stats("client", w->cli);
	dump_stats("server", w->srv);
	sn_stack_free(w->cli);
	sn_stack_free(w->srv);
	sn_memlink_free(w->link);
}

/* ---- bulk: one flow ---------------------------------------------------------- */

static uint8_t chunk[1 << 16];
static uint8_t sink[1 << 18];

struct bulk {
	struct sn_sock *ls, *tx, *rx;
	uint64_t received;
	bool connected;
};

static void bulk_fill(struct bulk *b)
{
	if (!b->tx || !b->connected)
		return;
	while (sn_send(b->tx, chunk, sizeof(chunk), 0) > 0)
		;
}

static void bulk_rx_cb(struct sn_sock *s, unsigned ev, void *user)
{
	struct bulk *b = user;
	ssize_t n;
	while ((n = sn_recv(s, sink, sizeof(sink), 0)) > 0)
		b->received += (uint64_t)n;
}

static void bulk_tx_cb(struct sn_sock *s, unsigned ev, void *user)
{
	struct bulk *b = user;
	if (ev & SN_EV_CONNECTED)
		b->connected = true;
	if (ev & (SN_EV_ERROR | SN_EV_HUP)) {
		fprintf(stderr, "sn_bench: bulk connection failed\n");
		exit(1);
	}
	if (ev & SN_EV_WRITABLE)
		bulk_fill(b);
}

static void bulk_ls_cb(struct sn_sock *ls, unsigned ev, void *user)
{
	struct bulk *b = user;
	struct sn_sock *c;
	int err;
	while ((c = sn_accept(ls, NULL, NULL, &err)) != NULL) {
		b->rx = c;
		sn_set_event_cb(c, bulk_rx_cb, b);
		bulk_rx_cb(c, SN_EV_READABLE, b);
	}
}

/* Start the flow and run until it carries data; the measurement follows. */
static void bulk_start(struct world *w, struct bulk *b)
{
	memset(b, 0, sizeof(*b));
	b->ls = listen_on(w, BULK_PORT, 8, bulk_ls_cb, b);
	b->tx = connect_from(w, 0, BULK_PORT);
	sn_set_event_cb(b->tx, bulk_tx_cb, b);
	for (int i = 0; i < 1000 && !(b->connected && b->rx); i++)
		pump(w);
	if (!b->connected || !b->rx) {
		fprintf(stderr, "sn_bench: bulk flow did not open\n");
		exit(1);
	}
}

struct bulk_result {
	uint64_t bytes, segs, tso;
	double wall_s, cpu_s;
};

/* Run the flow for `seconds` or until `bytes` have arrived (0 = no limit). */
static void bulk_run(struct world *w, struct bulk *b, double seconds, uint64_t bytes,
                     struct bulk_result *r)
{
	struct sn_stats s0, s1;
	sn_stats(w->cli, &s0);
	uint64_t rx0 = b->received, t0 = mono_ns(), c0 = cpu_ns();
	uint64_t until = t0 + (uint64_t)(seconds * 1e9);
	CALLGRIND_TOGGLE_COLLECT;
	for (unsigned i = 0;; i++) {
		bulk_fill(b);
		pump(w);
		if (bytes && b->received - rx0 >= bytes)
			break;
		if ((i & 63) == 0 && mono_ns() >= until)
			break;
	}
	CALLGRIND_TOGGLE_COLLECT;
	r->wall_s = (double)(mono_ns() - t0) / 1e9;
	r->cpu_s = (double)(cpu_ns() - c0) / 1e9;
	sn_stats(w->cli, &s1);
	r->bytes = b->received - rx0;
	r->segs = s1.tcp_tx - s0.tcp_tx; /* a super-segment counts its pieces */
	r->tso = s1.tcp_tso_tx - s0.tcp_tso_tx;
}

static void print_bulk(const char *mode, unsigned mtu, const struct bulk_result *r, const char *extra)
{
	double gb = (double)r->bytes / 1e9;
	printf("{\"bench\":\"%s\",\"mtu\":%u,\"bytes\":%llu,\"segments\":%llu,\"wall_s\":%.4f,"
	       "\"cpu_s\":%.4f,\"gbps\":%.3f,\"cpu_s_per_gb\":%.4f,\"ns_per_seg\":%.1f%s}\n",
	       mode, mtu, (unsigned long long)r->bytes, (unsigned long long)r->segs, r->wall_s,
	       r->cpu_s, gb * 8 / r->wall_s, gb > 0 ? r->cpu_s / gb : 0,
	       r->segs ? r->cpu_s * 1e9 / (double)r->segs : 0, extra ? extra : "");
}

static int mode_bulk(unsigned mtu, double seconds, uint64_t bytes, uint32_t bufsize, bool offload)
{
	struct world w;
	struct bulk b;
	world_init_offload(&w, (uint16_t)mtu, 1, bufsize, offload);
	bulk_start(&w, &b);
	struct bulk_result r;
	bulk_run(&w, &b, seconds, bytes, &r);
	char extra[96];
	snprintf(extra, sizeof(extra), ",\"bufsize\":%u,\"offload\":%d,\"tso_segments\":%llu",
	         bufsize, offload ? 1 : 0, (unsigned long long)r.tso);
	print_bulk("bulk", mtu, &r, extra);
	world_free(&w);
	return 0;
}

/* ---- crr: connect, request, response, close ------------------------------------ */

#define MSG 64

struct crr {
	struct world *w;
	struct sn_sock *c;      /* the client's connection in progress */
	unsigned got;           /* response bytes so far */
	uint64_t done, failed;
	uint64_t count;         /* connections to make */
};

static void crr_start_one(struct crr *k);

/* The server's connections keep their request count in the callback's user
 * pointer: no per-connection allocation of the application's own. */
static void crr_srv_cb(struct sn_sock *s, unsigned ev, void *user)
{
	static uint8_t buf[MSG];
	uintptr_t got = (uintptr_t)user;
	if (ev & SN_EV_READABLE) {
		ssize_t n;
		while (got < MSG && (n = sn_recv(s, buf, MSG - got, 0)) > 0)
			got += (uintptr_t)n;
		if (got >= MSG) {
			/* The response and the FIN leave in one segment: the server
			 * closes first and keeps the TIME-WAIT, as an HTTP/1.0 server. */
			sn_send(s, buf, MSG, 0);
			sn_close(s);
			return;
		}
		sn_set_event_cb(s, crr_srv_cb, (void *)got);
	}
	if (ev & (SN_EV_ERROR | SN_EV_HUP))
		sn_close(s);
}

static void crr_ls_cb(struct sn_sock *ls, unsigned ev, void *user)
{
	struct sn_sock *c;
	int err;
	while ((c = sn_accept(ls, NULL, NULL, &err)) != NULL) {
		sn_set_event_cb(c, crr_srv_cb, NULL);
		crr_srv_cb(c, SN_EV_READABLE, NULL);
	}
}

static void crr_cli_cb(struct sn_sock *s, unsigned ev, void *user)
{
	static uint8_t buf[MSG];
	struct crr *k = user;
	if (s != k->c)
		return;
	if (ev & SN_EV_CONNECTED)
		sn_send(s, buf, MSG, 0);
	if (ev & SN_EV_READABLE) {
		ssize_t n;
		while (k->got < MSG && (n = sn_recv(s, buf, sizeof(buf), 0)) > 0)
			k->got += (unsigned)n;
		if (k->got >= MSG) {
			sn_close(s);
			k->c = NULL;
			k->done++;
			/* The next connection at once, as a blocking client's
			 * connect() follows its close(): its SYN leaves with
			 * this one's FIN. */
			if (k->done + k->failed < k->count)
				crr_start_one(k);
			return;
		}
	}
	if (ev & (SN_EV_ERROR | SN_EV_HUP)) {
		sn_close(s);
		k->c = NULL;
		k->failed++;
	}
}

static void crr_start_one(struct crr *k)
{
	k->got = 0;
	k->c = connect_from(k->w, 0, SERVER_PORT);
	sn_set_event_cb(k->c, crr_cli_cb, k);
}

static int mode_crr(double seconds, uint64_t count, bool offload)
{
	struct world w;
	struct crr k = {.w = &w, .count = count};
	world_init_offload(&w, 1500, 1, 0, offload);
	listen_on(&w, SERVER_PORT, 128, crr_ls_cb, NULL);
	struct sn_stats s0, s1;
	sn_stats(w.cli, &s0);
	uint64_t t0 = mono_ns(), c0 = cpu_ns(), until = t0 + (uint64_t)(seconds * 1e9);
	CALLGRIND_TOGGLE_COLLECT;
	for (unsigned i = 0; k.done + k.failed < count; i++) {
		if (!k.c)
			crr_start_one(&k);
		pump(&w);
		if ((i & 255) == 0 && mono_ns() >= until)
			break;
	}
	/* Let the last closes finish, as the kernel's do in the background. */
	for (int i = 0; i < 4; i++)
		pump(&w);
	CALLGRIND_TOGGLE_COLLECT;
	double wall = (double)(mono_ns() - t0) / 1e9, cpu = (double)(cpu_ns() - c0) / 1e9;
	sn_stats(w.cli, &s1);
	struct sn_stats ss;
	sn_stats(w.srv, &ss);
	printf("{\"bench\":\"crr\",\"conns\":%llu,\"failed\":%llu,\"wall_s\":%.4f,\"cpu_s\":%.4f,"
	       "\"conns_per_s\":%.0f,\"us_per_conn\":%.3f,\"segments\":%llu,\"server_tw\":%llu,"
	       "\"offload\":%d}\n",
	       (unsigned long long)k.done, (unsigned long long)k.failed, wall, cpu,
	       (double)k.done / wall, k.done ? cpu * 1e6 / (double)k.done : 0,
	       (unsigned long long)((s1.tcp_tx - s0.tcp_tx) + ss.tcp_tx),
	       (unsigned long long)ss.tcp_curr_tw, offload ? 1 : 0);
	world_free(&w);
	return k.failed ? 1 : 0;
}

/* ---- mem and scale: many idle connections ---------------------------------------- */

struct idle {
	struct sn_sock **cli, **srv;
	size_t n, accepted, connected;
	bool keepalive;
};

static void idle_srv_cb(struct sn_sock *s, unsigned ev, void *user)
{
}

static void idle_ls_cb(struct sn_sock *ls, unsigned ev, void *user)
{
	struct idle *d = user;
	struct sn_sock *c;
	int err, one = 1;
	while ((c = sn_accept(ls, NULL, NULL, &err)) != NULL) {
		if (d->keepalive)
			sn_setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		sn_set_event_cb(c, idle_srv_cb, NULL);
		d->srv[d->accepted++] = c;
	}
}

static void idle_cli_cb(struct sn_sock *s, unsigned ev, void *user)
{
	struct idle *d = user;
	if (ev & SN_EV_CONNECTED)
		d->connected++;
	if (ev & (SN_EV_ERROR | SN_EV_HUP)) {
		fprintf(stderr, "sn_bench: an idle connection failed\n");
		exit(1);
	}
}

#define BATCH 256

/* Open connections [from, to) and wait until all are accepted. */
static void idle_open(struct world *w, struct idle *d, size_t from, size_t to)
{
	int one = 1;
	for (size_t i = from; i < to; i++) {
		d->cli[i] = connect_from(w, (unsigned)(i / PORTS_PER_ADDR), SERVER_PORT);
		if (d->keepalive)
			sn_setsockopt(d->cli[i], SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		sn_set_event_cb(d->cli[i], idle_cli_cb, d);
	}
	for (int k = 0; k < 100000 && (d->accepted < to || d->connected < to); k++)
		pump(w);
	if (d->accepted < to || d->connected < to) {
		fprintf(stderr, "sn_bench: only %zu of %zu connections opened\n", d->accepted, to);
		exit(1);
	}
}

static unsigned addrs_for(size_t n)
{
	size_t a = n / PORTS_PER_ADDR + 1;
	if (a > MAX_CLIENT_ADDRS) {
		fprintf(stderr, "sn_bench: at most %d connections\n", MAX_CLIENT_ADDRS * PORTS_PER_ADDR);
		exit(1);
	}
	return (unsigned)a;
}

static int mode_mem(size_t n, bool tw)
{
	struct world w;
	struct idle d = {.n = n};
	tw_unlimited = true;
	world_init(&w, 1500, addrs_for(n), 0);
	w.virtual_clock = true;
	d.cli = calloc(n, sizeof(*d.cli));
	d.srv = calloc(n, sizeof(*d.srv));
	if (!d.cli || !d.srv)
		return 1;
	listen_on(&w, SERVER_PORT, BATCH * 2, idle_ls_cb, &d);
	for (int i = 0; i < 10; i++)
		pump(&w);
	size_t h0 = heap_bytes();
	uint64_t t0 = mono_ns();
	size_t peak = 0;
	for (size_t i = 0; i < n; i += BATCH) {
		size_t to = i + BATCH < n ? i + BATCH : n;
		idle_open(&w, &d, i, to);
		if (!tw)
			continue;
		/* Server closes first and keeps the TIME-WAIT; the client closes
		 * once the FIN is in (LAST-ACK, then nothing). */
		for (size_t j = i; j < to; j++)
			sn_close(d.srv[j]);
		for (int k = 0; k < 3; k++)
			pump(&w);
		for (size_t j = i; j < to; j++)
			sn_close(d.cli[j]);
		struct sn_stats ss;
		for (int k = 0; k < 1000; k++) {
			pump(&w);
			sn_stats(w.srv, &ss);
			if (ss.tcp_curr_tw >= to)
				break;
		}
		size_t h = heap_bytes();
		if (h > peak)
			peak = h;
	}
	size_t h1 = heap_bytes();
	double secs = (double)(mono_ns() - t0) / 1e9;
	struct sn_stats cs, ss;
	sn_stats(w.cli, &cs);
	sn_stats(w.srv, &ss);
	if (tw) {
		printf("{\"bench\":\"mem_tw\",\"n\":%zu,\"tw_entries\":%llu,\"heap_delta\":%zu,"
		       "\"bytes_per_tw\":%.1f,\"sizeof_tw\":%zu,\"setup_s\":%.2f}\n",
		       n, (unsigned long long)ss.tcp_curr_tw, h1 - h0,
		       (double)(h1 - h0) / (double)ss.tcp_curr_tw, sizeof(struct sn_tw), secs);
	} else {
		printf("{\"bench\":\"mem_estab\",\"n\":%zu,\"established\":%llu,\"heap_delta\":%zu,"
		       "\"bytes_per_conn\":%.1f,\"sizeof_sock\":%zu,\"total_mib_per_side\":%.1f,"
		       "\"setup_s\":%.2f,\"us_per_open\":%.2f}\n",
		       n, (unsigned long long)(cs.tcp_curr_estab + ss.tcp_curr_estab), h1 - h0,
		       (double)(h1 - h0) / (2.0 * (double)n), sizeof(struct sn_sock),
		       (double)(h1 - h0) / 2.0 / 1048576.0, secs, secs * 1e6 / (double)n);
	}
	world_free(&w);
	free(d.cli);
	free(d.srv);
	return 0;
}

static int mode_scale(size_t n, double seconds, uint64_t bytes, unsigned mtu)
{
	struct world w;
	struct idle d = {.n = n, .keepalive = true};
	/* As many client addresses (and so permanent ARP entries, which
	 * every poll visits) whatever N is, so that only N changes. */
	world_init(&w, (uint16_t)mtu, addrs_for(1000000), 0);
	d.cli = calloc(n ? n : 1, sizeof(*d.cli));
	d.srv = calloc(n ? n : 1, sizeof(*d.srv));
	listen_on(&w, SERVER_PORT, BATCH * 2, idle_ls_cb, &d);
	uint64_t t0 = mono_ns();
	for (size_t i = 0; i < n; i += BATCH)
		idle_open(&w, &d, i, i + BATCH < n ? i + BATCH : n);
	double setup = (double)(mono_ns() - t0) / 1e9;
	struct bulk b;
	bulk_start(&w, &b);
	/* The figure compared across N is the cost per segment, on a machine
	 * shared with other work: the best of three windows, as CPU cost
	 * estimates usually are (noise only ever adds). With --bytes (the
	 * callgrind run) one window carries them all. */
	struct bulk_result r, best = {0};
	int windows = bytes ? 1 : 3;
	for (int i = 0; i < windows; i++) {
		bulk_run(&w, &b, seconds / windows, bytes, &r);
		if (i == 0 || (r.segs && r.cpu_s / (double)r.segs < best.cpu_s / (double)best.segs))
			best = r;
	}
	r = best;
	char extra[160];
	snprintf(extra, sizeof(extra), ",\"idle\":%zu,\"setup_s\":%.2f,\"windows\":%d", n, setup,
	         windows);
	print_bulk("scale", mtu, &r, extra);
	world_free(&w);
	free(d.cli);
	free(d.srv);
	return 0;
}

/* ---- tap-send: synack sends to a Linux receiver over a TAP ---------------------- */

static int parse_cidr(const char *s, struct in_addr *a, int *prefix)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	*prefix = 24;
	if (slash) {
		*slash = 0;
		*prefix = atoi(slash + 1);
	}
	return inet_pton(AF_INET, buf, a) == 1 ? 0 : -1;
}

/* A stack on a new TAP device (its name in name), in a loop, with buffers
 * of bufsize bytes (0: the defaults). */
static int tap_stack(const char *tapname, char name[IFNAMSIZ], struct in_addr me, int prefix,
                     uint32_t bufsize, struct sn_stack **st, struct sn_tap **tap,
                     struct sn_loop **loop)
{
	int fd = sn_tap_open(tapname, name, IFNAMSIZ);
	if (fd < 0) {
		fprintf(stderr, "sn_bench: %s\n", sn_tap_strerror(fd));
		return 1;
	}
	struct sn_config cfg;
	sn_config_init(&cfg);
	if (bufsize)
		cfg.rcvbuf = cfg.sndbuf = bufsize;
	*st = sn_stack_new(&cfg);
	*tap = sn_tap_new(fd);
	struct sn_netif_config nc = {.addr = me, .prefix_len = (uint8_t)prefix, .mtu = 1500};
	memcpy(nc.mac, mac_client, 6);
	int err;
	struct sn_netif *nif = *st && *tap ? sn_netif_add(*st, sn_tap_ops(), *tap, &nc, &err) : NULL;
	*loop = nif ? sn_loop_new(*st, &err) : NULL;
	if (!*loop)
		return 1;
	sn_loop_add_tap(*loop, *tap, nif);
	return 0;
}

/* SO_SNDBUF / SO_RCVBUF on s, for those given (non-zero). */
static void set_sockbufs(struct sn_sock *s, uint32_t sndbuf, uint32_t rcvbuf)
{
	int v;
	if (sndbuf && (v = (int)sndbuf, sn_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v))) < 0)
		fprintf(stderr, "sn_bench: SO_SNDBUF %u refused\n", sndbuf);
	if (rcvbuf && (v = (int)rcvbuf, sn_setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v))) < 0)
		fprintf(stderr, "sn_bench: SO_RCVBUF %u refused\n", rcvbuf);
}

static uint32_t opt_sndbuf, opt_rcvbuf;

static int mode_tap_send(const char *tapname, const char *addr, const char *to, double seconds,
                         uint32_t bufsize)
{
	struct in_addr me, dst;
	int prefix;
	char host[32];
	snprintf(host, sizeof(host), "%s", to);
	char *colon = strchr(host, ':');
	if (!colon || parse_cidr(addr, &me, &prefix) < 0)
		return 2;
	*colon = 0;
	uint16_t port = (uint16_t)atoi(colon + 1);
	if (inet_pton(AF_INET, host, &dst) != 1)
		return 2;
	char name[IFNAMSIZ];
	struct sn_stack *st;
	struct sn_tap *tap;
	struct sn_loop *loop;
	int err;
	if (tap_stack(tapname, name, me, prefix, bufsize, &st, &tap, &loop) != 0)
		return 1;
	/* run.sh configures the kernel side of the device once it exists. */
	printf("{\"tap\":\"%s\"}\n", name);
	fflush(stdout);
	struct sn_sock *s = sn_socket(st);
	set_sockbufs(s, opt_sndbuf, opt_rcvbuf);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = dst};
	for (int tries = 0;; tries++) {
		err = sn_loop_connect(loop, s, (struct sockaddr *)&a, sizeof(a), 1000000);
		if (err == 0)
			break;
		if (tries > 10) {
			fprintf(stderr, "sn_bench: connect: %s\n", strerror(-err));
			return 1;
		}
		sn_close(s);
		s = sn_socket(st);
		set_sockbufs(s, opt_sndbuf, opt_rcvbuf);
		usleep(200000);
	}
	uint64_t sent = 0, t0 = mono_ns(), c0 = cpu_ns(), until = t0 + (uint64_t)(seconds * 1e9);
	while (mono_ns() < until) {
		ssize_t n;
		while ((n = sn_send(s, chunk, sizeof(chunk), 0)) > 0)
			sent += (uint64_t)n;
		sn_loop_run_once(loop, 10000);
	}
	sn_loop_close(loop, s, 3000000);
	double wall = (double)(mono_ns() - t0) / 1e9, cpu = (double)(cpu_ns() - c0) / 1e9;
	printf("{\"bench\":\"tap_send\",\"bytes\":%llu,\"wall_s\":%.3f,\"cpu_s\":%.3f,\"gbps\":%.3f,"
	       "\"sndbuf\":%u,\"rcvbuf\":%u}\n",
	       (unsigned long long)sent, wall, cpu, (double)sent * 8 / wall / 1e9, opt_sndbuf, opt_rcvbuf);
	sn_loop_free(loop);
	sn_stack_free(st);
	sn_tap_free(tap);
	return 0;
}

/* ---- tap-recv: a Linux sender to synack over a TAP, buffers of our choice ---- */

static int mode_tap_recv(const char *tapname, const char *addr, uint16_t port, double seconds,
                         uint32_t bufsize)
{
	struct in_addr me;
	int prefix;
	if (parse_cidr(addr, &me, &prefix) < 0)
		return 2;
	char name[IFNAMSIZ];
	struct sn_stack *st;
	struct sn_tap *tap;
	struct sn_loop *loop;
	int err;
	if (tap_stack(tapname, name, me, prefix, bufsize, &st, &tap, &loop) != 0)
		return 1;
	struct sn_sock *ls = sn_socket(st);
	set_sockbufs(ls, opt_sndbuf, opt_rcvbuf); /* an accepted connection inherits them */
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = me};
	if (sn_bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || sn_listen(ls, 4) < 0)
		return 1;
	struct sn_sock *c = sn_loop_accept(loop, ls, (uint64_t)(seconds + 20) * 1000000, &err);
	if (!c) {
		fprintf(stderr, "sn_bench: accept: %s\n", strerror(-err));
		return 1;
	}
	uint64_t got = 0, t0 = 0, c0 = cpu_ns(), until = mono_ns() + (uint64_t)(seconds + 20) * 1000000000u;
	for (;;) {
		ssize_t n = sn_loop_recv(loop, c, sink, sizeof(sink), 1000000);
		if (n > 0) {
			if (!t0)
				t0 = mono_ns();
			got += (uint64_t)n;
			continue;
		}
		if (n == 0 || (n != -EAGAIN && n != -ETIMEDOUT) || mono_ns() > until)
			break;
	}
	double wall = t0 ? (double)(mono_ns() - t0) / 1e9 : 0, cpu = (double)(cpu_ns() - c0) / 1e9;
	sn_loop_close(loop, c, 2000000);
	printf("{\"bench\":\"tap_recv\",\"bytes\":%llu,\"wall_s\":%.3f,\"cpu_s\":%.3f,\"gbps\":%.3f,"
	       "\"bufsize\":%u,\"sndbuf\":%u,\"rcvbuf\":%u}\n",
	       (unsigned long long)got, wall, cpu, wall > 0 ? (double)got * 8 / wall / 1e9 : 0, bufsize,
	       opt_sndbuf, opt_rcvbuf);
	sn_loop_free(loop);
	sn_stack_free(st);
	sn_tap_free(tap);
	return 0;
}

/* ---- main ---------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
	        "usage: sn_bench bulk [--mtu M] [--seconds S] [--bytes B] [--buf BYTES] [--offload]\n"
	        "       sn_bench crr [--seconds S] [--count C] [--offload]\n"
	        "       sn_bench mem --n N [--tw]\n"
	        "       sn_bench scale --n N [--seconds S] [--bytes B] [--mtu M]\n"
	        "       sn_bench tap-send --tap NAME --addr A/P --to IP:PORT [--seconds S] [--buf B]\n"
	        "       sn_bench tap-recv --tap NAME --addr A/P [--to PORT] [--seconds S] [--buf B]\n"
	        "       (tap modes: [--sndbuf B] [--rcvbuf B], SO_SNDBUF / SO_RCVBUF)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *mode = argv[1];
	unsigned mtu = 1500;
	double seconds = 2;
	uint64_t bytes = 0, count = 1000000;
	size_t n = 0;
	bool tw = false, offload = false;
	uint32_t bufsize = 0;
	const char *tap = "snb0", *addr = NULL, *to = NULL;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--tw")) {
			tw = true;
			continue;
		}
		if (!strcmp(o, "--offload")) {
			offload = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(o, "--mtu"))
			mtu = (unsigned)atoi(v);
		else if (!strcmp(o, "--seconds"))
			seconds = atof(v);
		else if (!strcmp(o, "--bytes"))
			bytes = strtoull(v, NULL, 0);
		else if (!strcmp(o, "--count"))
			count = strtoull(v, NULL, 0);
		else if (!strcmp(o, "--n"))
			n = strtoull(v, NULL, 0);
		else if (!strcmp(o, "--buf"))
			bufsize = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(o, "--sndbuf"))
			opt_sndbuf = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(o, "--rcvbuf"))
			opt_rcvbuf = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(o, "--tap"))
			tap = v;
		else if (!strcmp(o, "--addr"))
			addr = v;
		else if (!strcmp(o, "--to"))
			to = v;
		else
			usage();
	}
	if (mtu < 576 || mtu > 65535)
		usage();
	if (!strcmp(mode, "bulk"))
		return mode_bulk(mtu, seconds, bytes, bufsize, offload);
	if (!strcmp(mode, "crr"))
		return mode_crr(seconds, count, offload);
	if (!strcmp(mode, "mem") && n)
		return mode_mem(n, tw);
	if (!strcmp(mode, "scale"))
		return mode_scale(n, seconds, bytes, mtu);
	if (!strcmp(mode, "tap-recv") && addr)
		return mode_tap_recv(tap, addr, (uint16_t)(to ? atoi(to) : 5001), seconds, bufsize);
	if (!strcmp(mode, "tap-send") && addr && to)
		return mode_tap_send(tap, addr, to, seconds, bufsize);
	usage();
	return 2;
}
