/*
 * net.h - what the network subcommands (listen, connect, http) share: the
 * common options, one stack on one TAP device driven by the event loop, the
 * capture, the live ladder, the signals and the impairments.
 */
#ifndef SN_TOOLS_NET_H
#define SN_TOOLS_NET_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "synack.h"

struct net_opts {
	const char *tap;            /* --tap NAME */
	struct in_addr addr;        /* --addr A/P */
	int prefix;
	struct in_addr gw;          /* --gw ADDR */
	struct in_addr host_addr;   /* --host-addr A/P: configure the kernel side */
	int host_prefix;
	bool have_addr, have_host;
	const char *pcap;           /* --pcap FILE */
	bool ladder;                /* --ladder */
	int syn_retries;            /* --syn-retries N, -1 = default */
	uint32_t loss_ppm;          /* --loss PCT, both directions */
	uint32_t dup_ppm;           /* --dup PCT */
	uint32_t reorder_ppm;       /* --reorder PCT */
	uint64_t delay_us;          /* --delay MS, both directions */
	uint64_t seed;              /* --seed N for the impairments */
	bool quiet;                 /* -q: no progress notes on stderr */
	uint32_t rcvbuf, sndbuf;    /* --rcvbuf/--sndbuf BYTES, 0 = the stack's default */
};

struct net {
	struct net_opts o;
	const char *cmd;            /* "listen", for messages */
	struct sn_stack *stack;
	struct sn_tap *tap;
	struct sn_impair *impair;   /* NULL when no impairment was asked for */
	struct sn_netif *netif;
	struct sn_loop *loop;
	struct sn_pcap *pcap;
	struct ladder1 *ladder;
	int sigfd;
	int sigints;                /* SIGINT/SIGTERM seen so far */
	char ifname[32];
};

/* The long options every network subcommand accepts; option codes from 1000. */
#define NET_LONG_OPTIONS                                                          \
	{"tap", required_argument, NULL, 1000},                                   \
	{"addr", required_argument, NULL, 1001},                                  \
	{"gw", required_argument, NULL, 1002},                                    \
	{"host-addr", required_argument, NULL, 1003},                             \
	{"pcap", required_argument, NULL, 1004},                                  \
	{"ladder", no_argument, NULL, 1005},                                      \
	{"syn-retries", required_argument, NULL, 1006},                           \
	{"loss", required_argument, NULL, 1007},                                  \
	{"dup", required_argument, NULL, 1008},                                   \
	{"reorder", required_argument, NULL, 1009},                               \
	{"delay", required_argument, NULL, 1010},                                 \
	{"seed", required_argument, NULL, 1011},                                  \
	{"rcvbuf", required_argument, NULL, 1012},                                \
	{"sndbuf", required_argument, NULL, 1013},                                \
	{"quiet", no_argument, NULL, 'q'}

#define NET_USAGE_COMMON                                                                    \
	"common options:\n"                                                                 \
	"  --tap NAME            the TAP device to run on (created if missing)\n"           \
	"  --addr A.B.C.D/P      synack's address on it, e.g. 198.18.0.2/24\n"              \
	"  --gw A.B.C.D          next hop for addresses off the prefix\n"                   \
	"  --host-addr A.B.C.D/P also give the kernel's side of the device this address\n"  \
	"                        and bring it up (one command is enough in a fresh netns)\n"\
	"  --pcap FILE           capture synack's side of the device\n"                     \
	"  --ladder              print a ladder diagram of every segment, live (stderr)\n" \
	"  --syn-retries N       SYN retransmissions before ETIMEDOUT (default 6)\n"        \
	"  --loss PCT --dup PCT --reorder PCT --delay MS [--seed N]\n"                      \
	"                        impair synack's netif in both directions\n"               \
	"  --rcvbuf BYTES --sndbuf BYTES\n"                                                 \
	"                        socket buffer sizes (default 65535 and 65536; up to 1 GiB)\n"\
	"  -q, --quiet           no progress messages\n"

void net_opts_init(struct net_opts *o);
/* Handle a common option; returns 1 if c was one, 0 if not, -1 on a bad value. */
int net_opt(struct net_opts *o, const char *cmd, int c, const char *arg);
/* Open the TAP, configure the kernel side, build the stack and the loop.
 * Prints its own message and returns a negative errno on failure. */
int net_setup(struct net *n, const char *cmd);
void net_teardown(struct net *n);
/* Drain the signalfd; returns the number of SIGINT/SIGTERM seen in total. */
int net_signals(struct net *n);
void net_note(const struct net *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *net_errname(int e);
/* Flush the live ladder, if any (call once per loop iteration). */
void net_flush(struct net *n);

#endif
