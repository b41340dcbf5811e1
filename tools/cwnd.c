/*
 * cwnd.c - `synack cwnd`: watch congestion control at work.
 *
 * Two stacks in memory, one sending as fast as it may through a bottleneck
 * (a rate limit with a tail-drop queue, a delay, optional random loss) for
 * some seconds of virtual time. Every SN_TRACE_CC event of the sender is
 * kept; the command draws cwnd (*) and ssthresh (-) against time as a text
 * chart, prints what happened (goodput, retransmissions, recoveries,
 * timeouts), and with --csv writes every event for a real plot.
 */
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/simnet.h"
#include "tools.h"

#define SENDER 0
#define RECEIVER 1

struct ev {
	uint64_t t;
	uint32_t cwnd, ssthresh, srtt_us, pipe;
	const char *what;
};

struct cwnd_run {
	struct ev *evs;
	size_t n, cap;
	FILE *csv;
};

static void on_trace(const struct sn_trace_event *e, void *ctx)
{
	struct cwnd_run *r = ctx;
	if (e->kind != SN_TRACE_CC)
		return;
	if (r->csv)
		fprintf(r->csv, "%.3f,%u,%u,%u,%u,%s\n", (double)e->now_us / 1000.0, e->cc.cwnd,
		        e->cc.ssthresh == UINT32_MAX ? 0 : e->cc.ssthresh, e->cc.srtt_us, e->cc.pipe,
		        e->what ? e->what : "");
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		struct ev *p = realloc(r->evs, cap * sizeof(*p));
		if (!p)
			return;
		r->evs = p;
		r->cap = cap;
	}
	r->evs[r->n++] = (struct ev){e->now_us, e->cc.cwnd, e->cc.ssthresh, e->cc.srtt_us,
	                             e->cc.pipe, e->what};
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: synack cwnd [--cc cubic|newreno] [--no-sack] [--rate MBIT] [--rtt MS]\n"
	        "                   [--queue KB] [--loss PCT] [--seconds N] [--csv FILE]\n"
	        "                   [--width N] [--height N]\n"
	        "\n"
	        "One bulk transfer through a bottleneck, on virtual time; draws the sender's\n"
	        "cwnd (*) and ssthresh (-). Defaults: cubic, 10 Mbit/s, 40 ms RTT, a queue\n"
	        "of one bandwidth-delay product, no random loss, 20 s.\n");
}

/* The chart: one column per time bucket, the bucket's last cwnd/ssthresh. */
static void draw(const struct cwnd_run *r, uint64_t t0, uint64_t t1, int width, int height,
                 uint32_t mss)
{
	uint32_t top = 1;
	for (size_t i = 0; i < r->n; i++) {
		if (r->evs[i].cwnd > top)
			top = r->evs[i].cwnd;
		if (r->evs[i].ssthresh != UINT32_MAX && r->evs[i].ssthresh > top)
			top = r->evs[i].ssthresh;
	}
	char *grid = malloc((size_t)width * (size_t)height);
	if (!grid)
		return;
	memset(grid, ' ', (size_t)width * (size_t)height);
	size_t k = 0;
	struct ev cur = {0, 0, UINT32_MAX, 0, 0, NULL};
	for (int x = 0; x < width; x++) {
		uint64_t end = t0 + (t1 - t0) * (uint64_t)(x + 1) / (uint64_t)width;
		while (k < r->n && r->evs[k].t <= end)
			cur = r->evs[k++];
		if (cur.cwnd == 0)
			continue;
		int yc = (int)((uint64_t)cur.cwnd * (uint64_t)(height - 1) / top);
		if (cur.ssthresh != UINT32_MAX) {
			int ys = (int)((uint64_t)cur.ssthresh * (uint64_t)(height - 1) / top);
			grid[(height - 1 - ys) * width + x] = '-';
		}
		grid[(height - 1 - yc) * width + x] = '*';
	}
	printf("cwnd in segments of %u bytes (* cwnd, - ssthresh)\n", mss);
	for (int y = 0; y < height; y++) {
		double v = (double)top * (double)(height - 1 - y) / (height - 1) / mss;
		if (y % 4 == 0 || y == height - 1)
			printf("%7.1f |", v);
		else
			printf("        |");
		fwrite(grid + y * width, 1, (size_t)width, stdout);
		printf("\n");
	}
	printf("        +");
	for (int x = 0; x < width; x++)
		putchar(x % 10 == 0 ? '+' : '-');
	printf("\n         0 s");
	int label_at = width / 2 - 4;
	printf("%*s%.1f s%*s%.1f s\n", label_at - 3, "", (double)(t1 - t0) / 2e6,
	       width - label_at - 12, "", (double)(t1 - t0) / 1e6);
	free(grid);
}

int cmd_cwnd(int argc, char **argv)
{
	const char *cc = "cubic", *csv_path = NULL;
	int no_sack = 0, width = 72, height = 20;
	double rate_mbit = 10, rtt_ms = 40, queue_kb = -1, loss_pct = 0, seconds = 20;
	static const struct option opts[] = {
		{"cc", required_argument, NULL, 'c'},     {"no-sack", no_argument, NULL, 'n'},
		{"rate", required_argument, NULL, 'r'},   {"rtt", required_argument, NULL, 't'},
		{"queue", required_argument, NULL, 'q'},  {"loss", required_argument, NULL, 'l'},
		{"seconds", required_argument, NULL, 's'}, {"csv", required_argument, NULL, 'o'},
		{"width", required_argument, NULL, 'w'},  {"height", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cc = optarg; break;
		case 'n': no_sack = 1; break;
		case 'r': rate_mbit = atof(optarg); break;
		case 't': rtt_ms = atof(optarg); break;
		case 'q': queue_kb = atof(optarg); break;
		case 'l': loss_pct = atof(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'o': csv_path = optarg; break;
		case 'w': width = atoi(optarg); break;
		case 'H': height = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || rate_mbit <= 0 || rate_mbit > 100000 || rtt_ms < 0 || rtt_ms > 10000 ||
	    loss_pct < 0 || loss_pct > 50 || seconds <= 0 || seconds > 3600 || width < 20 ||
	    width > 400 || height < 5 || height > 100) {
		usage(stderr);
		return 2;
	}
	double bdp = rate_mbit * 1e6 / 8 * rtt_ms / 1000;
	if (queue_kb < 0)
		queue_kb = bdp / 1000;

	struct sn_config cfg[2];
	for (int i = 0; i < 2; i++) {
		sn_config_init(&cfg[i]);
		cfg[i].no_sack = no_sack;
		cfg[i].rcvbuf = 16u << 20; /* the window never limits */
		cfg[i].sndbuf = 16u << 20;
		cfg[i].min_rto_ms = 200;
	}
	struct cwnd_run run = {0};
	if (csv_path) {
		run.csv = fopen(csv_path, "w");
		if (!run.csv) {
			perror(csv_path);
			return 1;
		}
		fprintf(run.csv, "time_ms,cwnd,ssthresh,srtt_us,pipe,event\n");
	}
	struct sn_simnet net;
	uint64_t one_way = (uint64_t)(rtt_ms * 500);
	if (sn_simnet_init(&net, &cfg[0], &cfg[1], 1, one_way) != 0) {
		fprintf(stderr, "synack cwnd: out of memory\n");
		return 1;
	}
	struct sn_link_impair fwd = {.delay_us = one_way, .rate_bps = (uint64_t)(rate_mbit * 1e6),
	                             .queue_limit_bytes = (uint32_t)(queue_kb * 1000),
	                             .loss_ppm = (uint32_t)(loss_pct * 10000)};
	struct sn_link_impair rev = {.delay_us = one_way, .rate_bps = fwd.rate_bps};
	sn_memlink_set_impair(net.link, SENDER, &fwd);
	sn_memlink_set_impair(net.link, RECEIVER, &rev);
	sn_set_trace(net.stack[SENDER], on_trace, &run);

	struct sn_sock *ls = sn_socket(net.stack[RECEIVER]);
	struct sockaddr_in a = sn_simnet_sockaddr(RECEIVER, 5001);
	sn_bind(ls, (struct sockaddr *)&a, sizeof(a));
	sn_listen(ls, 1);
	struct sn_sock *snd = sn_socket(net.stack[SENDER]), *rcv = NULL;
	if (sn_setsockopt(snd, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc)) != 0) {
		fprintf(stderr, "synack cwnd: unknown algorithm '%s' (cubic, newreno)\n", cc);
		sn_simnet_free(&net);
		return 2;
	}
	sn_connect(snd, (struct sockaddr *)&a, sizeof(a));
	static uint8_t buf[1 << 16];
	uint64_t got = 0, t0 = 0, end = 0;
	while (!rcv || net.now_us < end) {
		if (!rcv) {
			int err;
			rcv = sn_accept(ls, NULL, NULL, &err);
			if (rcv) {
				t0 = net.now_us;
				end = t0 + (uint64_t)(seconds * 1e6);
			} else if (net.now_us > 30000000) {
				fprintf(stderr, "synack cwnd: no connection\n");
				return 1;
			}
		} else {
			while (sn_send(snd, buf, sizeof(buf), 0) > 0) {
			}
			ssize_t n;
			while ((n = sn_recv(rcv, buf, sizeof(buf), 0)) > 0)
				got += (uint64_t)n;
		}
		uint64_t next = net.now_us + 1000;
		sn_simnet_wake_at(&net, next);
		sn_simnet_run_until(&net, next);
	}
	struct sn_tcp_info info;
	sn_tcp_info(snd, &info);
	struct sn_stats st;
	sn_stats(net.stack[SENDER], &st);

	printf("synack cwnd: %s%s, %.0f Mbit/s, RTT %.0f ms, queue %.0f KB, loss %.1f %%, %.0f s\n\n",
	       cc, no_sack ? " without SACK" : "", rate_mbit, rtt_ms, queue_kb, loss_pct, seconds);
	draw(&run, t0, end, width, height, info.mss);
	printf("\ngoodput %.2f Mbit/s of %.0f; %llu segments sent again, %llu fast recoveries, "
	       "%llu timeouts\n",
	       (double)got * 8 / seconds / 1e6, rate_mbit, (unsigned long long)st.tcp_retrans,
	       (unsigned long long)st.tcp_fast_recoveries, (unsigned long long)st.tcp_rto_events);
	if (csv_path)
		printf("%zu congestion events written to %s\n", run.n, csv_path);
	if (run.csv)
		fclose(run.csv);
	free(run.evs);
	sn_simnet_free(&net);
	return 0;
}
