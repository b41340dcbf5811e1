/*
 * cc_goodput.c - goodput of the congestion-control algorithms on a lossy
 * path: 100 Mbit/s, 20 ms RTT, a one-BDP tail-drop queue, 1 % random loss
 * on the data direction (issue 4's benchmark).
 *
 *   cc_goodput [--seconds N] [--seeds N]
 *       synack to synack over the memlink, on virtual time: NewReno and
 *       CUBIC, each with and without SACK. One line per configuration:
 *       "synack <algo> <sack|nosack> <Mbit/s> <retransmits> <timeouts>".
 *
 *   cc_goodput --forward NS_A NS_B [--seconds N]
 *       the same link model between two Linux network namespaces: makes a
 *       TAP device in each (snccA, snccB), and forwards frames between them
 *       through a memlink with the same impairments, on the real clock. The
 *       kernel's TCP runs at both ends (bench/cc_goodput.sh). Runs until
 *       SIGTERM or N + 30 seconds.
 *
 * The memlink is the same code both ways, so the path the two stacks see is
 * the same; what differs is the TCP.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/simnet.h"
#include "synack.h"

#define RATE_BPS 100000000ull
#define ONE_WAY_US 10000ull
#define QUEUE_BYTES 250000u /* 100 Mbit/s x 20 ms */
#define LOSS_PPM 10000u     /* 1 % */
#define BUF (8u << 20)

static void path(struct sn_link_impair *fwd, struct sn_link_impair *rev)
{
	*fwd = (struct sn_link_impair){.delay_us = ONE_WAY_US, .rate_bps = RATE_BPS,
	                               .queue_limit_bytes = QUEUE_BYTES, .loss_ppm = LOSS_PPM};
	*rev = (struct sn_link_impair){.delay_us = ONE_WAY_US, .rate_bps = RATE_BPS,
	                               .queue_limit_bytes = QUEUE_BYTES};
}

/* ---- synack over the memlink, virtual time -------------------------------- */

struct result {
	double mbps;
	uint64_t retrans, rtos, recoveries;
};

static struct result run_synack(const char *algo, int sack, uint64_t seconds, uint64_t seed)
{
	struct sn_config cfg[2];
	for (int i = 0; i < 2; i++) {
		sn_config_init(&cfg[i]);
		snprintf(cfg[i].cc_default, sizeof(cfg[i].cc_default), "%s", algo);
		cfg[i].no_sack = !sack;
		cfg[i].rcvbuf = BUF;
		cfg[i].sndbuf = BUF;
		cfg[i].min_rto_ms = 200; /* as Linux */
		cfg[i].random_seed = seed + (uint64_t)i;
	}
	struct result r = {0};
	struct sn_simnet net;
	if (sn_simnet_init(&net, &cfg[0], &cfg[1], seed, ONE_WAY_US) != 0) {
		fprintf(stderr, "cc_goodput: simnet init failed\n");
		exit(1);
	}
	struct sn_link_impair fwd, rev;
	path(&fwd, &rev);
	sn_memlink_set_impair(net.link, 0, &fwd);
	sn_memlink_set_impair(net.link, 1, &rev);

	struct sn_sock *ls = sn_socket(net.stack[1]);
	struct sockaddr_in a = sn_simnet_sockaddr(1, 5001);
	sn_bind(ls, (struct sockaddr *)&a, sizeof(a));
	sn_listen(ls, 4);
	struct sn_sock *c = sn_socket(net.stack[0]);
	sn_connect(c, (struct sockaddr *)&a, sizeof(a));
	struct sn_sock *s = NULL;
	static uint8_t buf[1 << 16];
	uint64_t got = 0, t0 = 0, end = 0;
	for (;;) {
		if (!s) {
			int err;
			s = sn_accept(ls, NULL, NULL, &err);
			if (s) {
				t0 = net.now_us;
				end = t0 + seconds * 1000000ull;
			}
		}
		if (s) {
			while (sn_send(c, buf, sizeof(buf), 0) > 0) {
			}
			ssize_t n;
			while ((n = sn_recv(s, buf, sizeof(buf), 0)) > 0)
				got += (uint64_t)n;
			if (net.now_us >= end)
				break;
		}
		uint64_t next = net.now_us + 1000;
		sn_simnet_wake_at(&net, next);
		sn_simnet_run_until(&net, next);
		if (!s && net.now_us > 10000000)
			break; /* no connection: give up */
	}
	struct sn_stats st;
	sn_stats(net.stack[0], &st);
	r.mbps = s ? (double)got * 8 / (double)(end - t0) : 0;
	r.retrans = st.tcp_retrans;
	r.rtos = st.tcp_rto_events;
	r.recoveries = st.tcp_fast_recoveries;
	sn_simnet_free(&net);
	return r;
}

/* ---- the forwarder for the kernel's run ----------------------------------- */

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

static int enter_netns(const char *name)
{
	char path_buf[256];
	snprintf(path_buf, sizeof(path_buf), "/var/run/netns/%s", name);
	int fd = open(path_buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
		fprintf(stderr, "cc_goodput: cannot enter netns %s: %s\n", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Frames arriving at an end of the memlink leave by that end's TAP. */
static void to_tap(void *ctx, const void *frame, size_t len, uint64_t t)
{
	(void)t;
	int fd = *(int *)ctx;
	if (write(fd, frame, len) < 0) {
		/* A full TAP queue loses the frame, as a cable would. */
	}
}

static int forward(const char *ns_a, const char *ns_b, uint64_t seconds)
{
	int fd[2];
	const char *ns[2] = {ns_a, ns_b};
	const char *dev[2] = {"snccA", "snccB"};
	for (int i = 0; i < 2; i++) {
		if (enter_netns(ns[i]) != 0)
			return 1;
		fd[i] = sn_tap_open(dev[i], NULL, 0);
		if (fd[i] < 0) {
			fprintf(stderr, "cc_goodput: %s: %s\n", dev[i], sn_tap_strerror(fd[i]));
			return 1;
		}
	}
	struct sn_memlink *link = sn_memlink_new(42);
	struct sn_link_impair fwd, rev;
	path(&fwd, &rev);
	sn_memlink_set_impair(link, 0, &fwd);
	sn_memlink_set_impair(link, 1, &rev);
	sn_memlink_set_deliver(link, 1, to_tap, &fd[1]); /* sent from A arrive at B */
	sn_memlink_set_deliver(link, 0, to_tap, &fd[0]);
	const struct sn_netif_ops *ops = sn_memlink_ops();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	static uint8_t frame[65536];
	uint64_t deadline = now_us() + (seconds + 30) * 1000000ull;
	while (!stop && now_us() < deadline) {
		struct pollfd p[2] = {{fd[0], POLLIN, 0}, {fd[1], POLLIN, 0}};
		uint64_t next = sn_memlink_next_deadline(link), t = now_us();
		int timeout = 100;
		if (next != SN_TIME_NEVER)
			timeout = next <= t ? 0 : (int)((next - t + 999) / 1000);
		if (timeout > 100)
			timeout = 100;
		poll(p, 2, timeout);
		t = now_us();
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			for (int k = 0; k < 64; k++) {
				ssize_t n = read(fd[i], frame, sizeof(frame));
				if (n <= 0)
					break;
				ops->transmit(sn_memlink_end(link, i), frame, (size_t)n, t);
			}
		}
		sn_memlink_poll(link, now_us());
	}
	sn_memlink_free(link);
	close(fd[0]);
	close(fd[1]);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t seconds = 20, seeds = 3;
	const char *ns_a = NULL, *ns_b = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			seeds = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--forward") == 0 && i + 2 < argc) {
			ns_a = argv[++i];
			ns_b = argv[++i];
		} else {
			fprintf(stderr, "usage: cc_goodput [--seconds N] [--seeds N]\n"
			                "       cc_goodput --forward NS_A NS_B [--seconds N]\n");
			return 2;
		}
	}
	if (ns_a)
		return forward(ns_a, ns_b, seconds);
	if (seconds == 0 || seeds == 0)
		return 2;
	static const char *algos[] = {"newreno", "cubic"};
	for (int a = 0; a < 2; a++) {
		for (int sack = 1; sack >= 0; sack--) {
			struct result sum = {0};
			for (uint64_t k = 0; k < seeds; k++) {
				struct result r = run_synack(algos[a], sack, seconds, 1000 + k);
				sum.mbps += r.mbps;
				sum.retrans += r.retrans;
				sum.rtos += r.rtos;
				sum.recoveries += r.recoveries;
			}
			printf("synack %s %s %.2f %llu %llu %llu\n", algos[a], sack ? "sack" : "nosack",
			       sum.mbps / (double)seeds, (unsigned long long)(sum.retrans / seeds),
			       (unsigned long long)(sum.rtos / seeds),
			       (unsigned long long)(sum.recoveries / seeds));
		}
	}
	return 0;
}
