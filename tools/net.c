/*
 * net.c - the common part of the network subcommands: options, one stack on
 * one TAP device, the kernel side of the device, the capture, the live
 * one-stack ladder, and SIGINT/SIGTERM through a signalfd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "net.h"

void net_opts_init(struct net_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->syn_retries = -1;
	o->seed = 1;
}

static int parse_prefix(const char *arg, struct in_addr *a, int *prefix)
{
	char buf[64];
	const char *slash = strchr(arg, '/');
	size_t n = slash ? (size_t)(slash - arg) : strlen(arg);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, arg, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, a) != 1)
		return -1;
	*prefix = 24;
	if (slash) {
		char *end;
		long p = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || p < 0 || p > 32)
			return -1;
		*prefix = (int)p;
	}
	return 0;
}

/* "2", "2.5", "2%" -> parts per million. */
static int parse_pct(const char *arg, uint32_t *ppm)
{
	char *end;
	double v = strtod(arg, &end);
	if (end == arg || (*end && strcmp(end, "%") != 0) || v < 0 || v > 100)
		return -1;
	*ppm = (uint32_t)(v * 10000.0 + 0.5);
	return 0;
}

int net_opt(struct net_opts *o, const char *cmd, int c, const char *arg)
{
	char *end;
	switch (c) {
	case 1000:
		o->tap = arg;
		return 1;
	case 1001:
		if (parse_prefix(arg, &o->addr, &o->prefix) < 0)
			goto bad;
		o->have_addr = true;
		return 1;
	case 1002:
		if (inet_pton(AF_INET, arg, &o->gw) != 1)
			goto bad;
		return 1;
	case 1003:
		if (parse_prefix(arg, &o->host_addr, &o->host_prefix) < 0)
			goto bad;
		o->have_host = true;
		return 1;
	case 1004:
		o->pcap = arg;
		return 1;
	case 1005:
		o->ladder = true;
		return 1;
	case 1006: {
		long v = strtol(arg, &end, 10);
		if (*end || end == arg || v < 0 || v > 100)
			goto bad;
		o->syn_retries = (int)v;
		return 1;
	}
	case 1007:
		return parse_pct(arg, &o->loss_ppm) < 0 ? (fprintf(stderr, "synack %s: bad --loss '%s'\n", cmd, arg), -1) : 1;
	case 1008:
		return parse_pct(arg, &o->dup_ppm) < 0 ? (fprintf(stderr, "synack %s: bad --dup '%s'\n", cmd, arg), -1) : 1;
	case 1009:
		return parse_pct(arg, &o->reorder_ppm) < 0 ? (fprintf(stderr, "synack %s: bad --reorder '%s'\n", cmd, arg), -1) : 1;
	case 1010: {
		double v = strtod(arg, &end);
		if (*end || end == arg || v < 0 || v > 60000)
			goto bad;
		o->delay_us = (uint64_t)(v * 1000.0);
		return 1;
	}
	case 1011:
		o->seed = strtoull(arg, &end, 0);
		if (*end || end == arg)
			goto bad;
		return 1;
	case 1012:
	case 1013: {
		/* 1 GiB: the largest window that window scaling can offer. */
		unsigned long long v = strtoull(arg, &end, 0);
		if (*end || end == arg || v < 256 || v > (1ull << 30))
			goto bad;
		*(c == 1012 ? &o->rcvbuf : &o->sndbuf) = (uint32_t)v;
		return 1;
	}
	case 'q':
		o->quiet = true;
		return 1;
	default:
		return 0;
	}
bad:
	fprintf(stderr, "synack %s: bad value '%s'\n", cmd, arg);
	return -1;
}

void net_note(const struct net *n, const char *fmt, ...)
{
	if (n->o.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "synack %s: ", n->cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

const char *net_errname(int e)
{
	switch (e < 0 ? -e : e) {
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EPIPE: return "EPIPE";
	case ENETUNREACH: return "ENETUNREACH";
	case EADDRINUSE: return "EADDRINUSE";
	case ECONNABORTED: return "ECONNABORTED";
	default: return "error";
	}
}

/*
 * Give the kernel's side of the TAP an address and bring it up, with the
 * classic ioctls so that no external program is needed. This changes the
 * namespace the command runs in: meant for a namespace made for the purpose
 * (scripts/lab.sh), and it is never done unless --host-addr asks for it.
 */
static int configure_host(const char *ifname, struct in_addr addr, int prefix)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int e = 0;
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	if (strlen(ifname) >= sizeof(ifr.ifr_name)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	/* Up first, then the address: whoever waits for the address to
	 * appear (a script about to connect) then finds a usable route, not
	 * an address on a device that is still down (ENETUNREACH). */
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		e = -errno;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		e = -errno;
		goto out;
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
	sin->sin_family = AF_INET;
	sin->sin_addr = addr;
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0 && errno != EEXIST) {
		e = -errno;
		goto out;
	}
	sin->sin_addr.s_addr = htonl(prefix ? ~0u << (32 - prefix) : 0);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
		e = -errno;
out:
	close(fd);
	return e;
}

/* ---- the live one-stack ladder ----------------------------------------- */

/*
 * The two-stack ladder (src/trace/ladder.c) needs both sides' traces. Over a
 * TAP only one side is ours, so this prints each segment as it leaves or
 * arrives, with synack's state after it, and the peer column holds the
 * kernel's name only: its states cannot be seen from here.
 */
struct ladder1 {
	FILE *out;
	uint64_t t0;
};

static void ladder_seg(struct ladder1 *l, const struct sn_trace_event *ev, bool out)
{
	const struct sn_trace_seg *s = &ev->seg;
	char flags[40] = "";
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = {{SN_TH_SYN, "SYN"}, {SN_TH_FIN, "FIN"}, {SN_TH_RST, "RST"},
	             {SN_TH_PSH, "PSH"}, {SN_TH_ACK, "ACK"}, {SN_TH_URG, "URG"}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (s->flags & names[i].bit) {
			if (flags[0])
				strcat(flags, ",");
			strcat(flags, names[i].name);
		}
	}
	char body[160];
	int n = snprintf(body, sizeof(body), "%s seq=%u", flags, s->seq);
	if (s->flags & SN_TH_ACK)
		n += snprintf(body + n, sizeof(body) - (size_t)n, " ack=%u", s->ack);
	n += snprintf(body + n, sizeof(body) - (size_t)n, " len=%u win=%u", s->len, s->wnd);
	if (s->mss)
		snprintf(body + n, sizeof(body) - (size_t)n, " <mss %u>", s->mss);
	struct sn_tcp_info ti;
	const char *st = "-";
	if (ev->sock && sn_tcp_info(ev->sock, &ti) == 0)
		st = sn_state_name(ti.state);
	fprintf(l->out, "%10.3f  [%5u] %-12s %s %s %s  Linux\n",
	        (double)(ev->now_us - l->t0) / 1000.0, out ? s->sport : s->dport, st,
	        out ? "---" : "<--", body, out ? "-->" : "---");
}

static void ladder_trace(const struct sn_trace_event *ev, void *ctx)
{
	struct ladder1 *l = ctx;
	if (!l->t0)
		l->t0 = ev->now_us;
	switch (ev->kind) {
	case SN_TRACE_SEG_OUT:
		ladder_seg(l, ev, true);
		break;
	case SN_TRACE_SEG_IN:
		ladder_seg(l, ev, false);
		break;
	case SN_TRACE_STATE:
		fprintf(l->out, "%10.3f  [%5u] %s -> %s\n", (double)(ev->now_us - l->t0) / 1000.0,
		        ev->seg.sport, sn_state_name(ev->old_state), sn_state_name(ev->new_state));
		break;
	case SN_TRACE_TIMER:
		fprintf(l->out, "%10.3f  [%5u] (%s timer)\n", (double)(ev->now_us - l->t0) / 1000.0,
		        ev->seg.sport, ev->what ? ev->what : "?");
		break;
	case SN_TRACE_DROP:
		fprintf(l->out, "%10.3f          (dropped: %s)\n",
		        (double)(ev->now_us - l->t0) / 1000.0, ev->what ? ev->what : "?");
		break;
	case SN_TRACE_CC:
		break; /* the ladder shows segments; a plot wants these */
	}
}

void net_flush(struct net *n)
{
	if (n->ladder)
		fflush(n->ladder->out);
}

/* ---- setup ------------------------------------------------------------- */

int net_setup(struct net *n, const char *cmd)
{
	struct net_opts *o = &n->o;
	int err;

	n->cmd = cmd;
	n->sigfd = -1;
	if (!o->tap || !o->have_addr) {
		fprintf(stderr, "synack %s: --tap NAME and --addr A.B.C.D/P are required\n", cmd);
		return -EINVAL;
	}
	int fd = sn_tap_open(o->tap, n->ifname, sizeof(n->ifname));
	if (fd < 0) {
		fprintf(stderr, "synack %s: cannot open TAP device %s: %s\n  %s\n", cmd, o->tap,
		        strerror(-fd), sn_tap_strerror(fd));
		return fd;
	}
	n->tap = sn_tap_new(fd);
	if (!n->tap) {
		close(fd);
		return -ENOMEM;
	}
	if (o->have_host) {
		err = configure_host(n->ifname, o->host_addr, o->host_prefix);
		if (err < 0) {
			fprintf(stderr, "synack %s: cannot configure %s's kernel side: %s\n", cmd,
			        n->ifname, strerror(-err));
			return err;
		}
	}

	struct sn_config cfg;
	sn_config_init(&cfg);
	if (o->syn_retries >= 0)
		cfg.syn_retries = (uint32_t)o->syn_retries;
	if (o->rcvbuf)
		cfg.rcvbuf = o->rcvbuf;
	if (o->sndbuf)
		cfg.sndbuf = o->sndbuf;
	n->stack = sn_stack_new(&cfg);
	if (!n->stack)
		return -ENOMEM;

	struct sn_netif_config nc = {
		.addr = o->addr,
		.prefix_len = (uint8_t)o->prefix,
		.gateway = o->gw,
		.mtu = 1500,
		/* Locally administered, and never the kernel's own MAC. */
		.mac = {0x02, 0x53, 0x4e, (uint8_t)(ntohl(o->addr.s_addr) >> 16),
		        (uint8_t)(ntohl(o->addr.s_addr) >> 8), (uint8_t)ntohl(o->addr.s_addr)},
	};
	bool impaired = o->loss_ppm || o->dup_ppm || o->reorder_ppm || o->delay_us;
	if (impaired) {
		n->impair = sn_impair_new(sn_tap_ops(), n->tap, o->seed);
		if (!n->impair)
			return -ENOMEM;
		n->netif = sn_netif_add(n->stack, sn_impair_ops(), sn_impair_ctx(n->impair), &nc, &err);
		if (n->netif) {
			sn_impair_attach(n->impair, n->stack, n->netif);
			struct sn_link_impair imp = {
				.loss_ppm = o->loss_ppm,
				.dup_ppm = o->dup_ppm,
				.reorder_ppm = o->reorder_ppm,
				.delay_us = o->delay_us,
				.reorder_delay_us = 1000,
			};
			sn_impair_set(n->impair, SN_DIR_OUT, &imp);
			sn_impair_set(n->impair, SN_DIR_IN, &imp);
		}
	} else {
		n->netif = sn_netif_add(n->stack, sn_tap_ops(), n->tap, &nc, &err);
	}
	if (!n->netif) {
		fprintf(stderr, "synack %s: bad interface settings: %s\n", cmd, strerror(-err));
		return err;
	}
	if (o->pcap) {
		n->pcap = sn_pcap_open(o->pcap, &err);
		if (!n->pcap) {
			fprintf(stderr, "synack %s: cannot write %s: %s\n", cmd, o->pcap, strerror(-err));
			return err;
		}
		sn_netif_set_capture(n->netif, sn_pcap_capture, n->pcap);
	}
	if (o->ladder) {
		n->ladder = calloc(1, sizeof(*n->ladder));
		if (!n->ladder)
			return -ENOMEM;
		n->ladder->out = stderr;
		fprintf(stderr, "      time  [port]  synack %-30s Linux (%s)\n",
		        inet_ntoa(o->addr), n->ifname);
		sn_set_trace(n->stack, ladder_trace, n->ladder);
	}
	n->loop = sn_loop_new(n->stack, &err);
	if (!n->loop)
		return err;
	err = n->impair ? sn_loop_add_tap_impaired(n->loop, n->tap, n->impair)
	                : sn_loop_add_tap(n->loop, n->tap, n->netif);
	if (err < 0)
		return err;

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* A reader that goes away should show up as EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	n->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (n->sigfd < 0)
		return -errno;
	return 0;
}

int net_signals(struct net *n)
{
	struct signalfd_siginfo si;
	while (read(n->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		n->sigints++;
	return n->sigints;
}

void net_teardown(struct net *n)
{
	sn_loop_free(n->loop);
	sn_stack_free(n->stack);
	sn_impair_free(n->impair);
	if (n->pcap && sn_pcap_close(n->pcap) != 0)
		fprintf(stderr, "synack %s: error writing %s\n", n->cmd, n->o.pcap);
	free(n->ladder);
	sn_tap_free(n->tap);
	if (n->sigfd >= 0)
		close(n->sigfd);
}
