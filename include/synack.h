/*
 * synack.h - the public interface of libsynack, a user-space TCP/IPv4 stack.
 *
 * The stack is "sans-I/O": it never reads a clock, sleeps, or touches a file or
 * socket. The caller drives it with three calls:
 *
 *   sn_input(stack, netif, frame, len, now_us)  an Ethernet frame arrived
 *   sn_poll(stack, now_us)                      run timers that are due
 *   sn_next_deadline(stack)                     when sn_poll must run next
 *
 * and receives frames to send through the transmit callback of each netif.
 * Time is a uint64_t count of microseconds on a monotonic clock the caller
 * chooses; it must never go backwards.
 *
 * One stack instance is single-threaded: call it from one thread at a time.
 *
 * Errors are returned as negative errno values (-EAGAIN, -ECONNREFUSED, ...),
 * with the meanings a POSIX sockets programmer expects.
 *
 * Addresses in this header are in network byte order where they appear in a
 * struct sockaddr_in or struct in_addr, as with BSD sockets.
 */
#ifndef SYNACK_H
#define SYNACK_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SN_VERSION_MAJOR 0
#define SN_VERSION_MINOR 1
#define SN_VERSION_PATCH 0

/* sn_next_deadline() returns this when nothing is scheduled. */
#define SN_TIME_NEVER UINT64_MAX

struct sn_stack;
struct sn_netif;
struct sn_sock;

/* ------------------------------------------------------------------------ */
/* Stack                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Observable defaults that differ between real stacks, gathered so that
 * third-party conformance scripts written against Linux or FreeBSD can run
 * unchanged (sn_config_set_profile). The "synack" profile is the library's
 * own behaviour. Fields read at run time, so a harness may flip the three
 * RFC 793 switches while a stack runs (FreeBSD's sysctls of those names).
 */
struct sn_profile {
	char name[16];
	/* Layout of the options in SYN and SYN-ACK, in sn_tcp_emit's letters:
	 * "" = synack's (Linux's) pairing <mss,sackOK,TS,nop,wscale>;
	 * "bMWST" = FreeBSD's <mss,nop,wscale,sackOK,TS>, <mss,sackOK,eol,eol>. */
	char syn_opt_order[8];
	/* The window-scale shift offered is the smallest that covers this many
	 * bytes (FreeBSD: kern.ipc.maxsockbuf; Linux: tcp_rmem[2]); 0 = the
	 * receive buffer. */
	uint32_t wscale_space;
	int rcvbuf_round_mss;   /* round the receive buffer up to a multiple of the
	                           MSS when the connection is set up (FreeBSD) */
	int rcv_wnd_bsd;        /* every segment offers all the free receive space
	                           (BSD); else the right edge moves in steps of
	                           min(buffer/2, MSS), RFC 1122 4.2.3.3 */
	int quickack;           /* Linux: the first text segments (up to 16) are
	                           ACKed at once, and the ACK of a FIN that follows
	                           text is delayed (quick-ACK and ping-pong modes) */
	int ack_every_2nd_seg;  /* ACK every second data segment, full-sized or
	                           not (FreeBSD); else every 2 full-sized ones */
	int rfc793_rst;         /* accept any in-window RST (RFC 793) instead of a
	                           challenge ACK (RFC 5961 3.2); FreeBSD insecure_rst */
	int rfc793_syn;         /* a SYN in window resets the connection (RFC 793)
	                           instead of a challenge ACK (RFC 5961 4.2);
	                           FreeBSD insecure_syn */
	int drop_synfin;        /* drop segments with SYN and FIN (synack, Linux);
	                           0: FreeBSD's default, the FIN is ignored */
	int synfin_listen_only; /* drop_synfin concerns only segments for a
	                           listener (FreeBSD); connections process them */
	int tw_syn_reopen;      /* a SYN above RCV.NXT reopens a TIME-WAIT 4-tuple
	                           (RFC 1122 4.2.2.13; synack, Linux); 0: challenge
	                           ACK, as RFC 5961 4 and tcp-testsuite's STANDARD */
	int tw_ack_unexpected;  /* TIME-WAIT ACKs a segment with data or an
	                           unexpected sequence number (BSD tcp_twcheck) */
	int dsack;              /* report duplicate data in the first SACK block
	                           (RFC 2883; synack, FreeBSD, Linux) */
	int synrcvd_bare_ack;   /* in SYN-RECEIVED, answer an unacceptable segment
	                           other than a SYN with a plain ACK (BSD) rather
	                           than the SYN-ACK again */
	int synack_mss_min_peer; /* SYN-ACK offers min(our MSS, the peer's) (FreeBSD) */
	int maxseg_with_options; /* TCP_MAXSEG reports the MSS before the 12 bytes
	                           of timestamps come off (FreeBSD t_maxseg) */
	int rst_reply_after_close; /* data after close is answered with
	                           <SEQ=SEG.ACK><CTL=RST> (BSD) rather than our
	                           <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> */
	int ack_resends_fin;    /* an ACK sent while our FIN is unacknowledged
	                           carries the FIN again (BSD tcp_output); not
	                           challenge ACKs */
	int ack_unsent_silent;  /* drop a segment that acknowledges data never
	                           sent without answering (Linux), rather than
	                           with an ACK (RFC 9293 3.10.7.4) */
	int icmp_unreach_refused; /* an administratively prohibited route ends a
	                           connect with ECONNREFUSED (FreeBSD), not
	                           EHOSTUNREACH (Linux) */
};

/*
 * Stack-wide settings. Fill with sn_config_init() and change what you need;
 * fields added in later versions are appended, so always call the init first.
 */
struct sn_config {
	uint32_t msl_ms;            /* maximum segment lifetime; TIME-WAIT = 2*MSL (30000) */
	uint32_t syn_retries;       /* SYN retransmissions before -ETIMEDOUT (6) */
	uint32_t synack_retries;    /* SYN-ACK retransmissions before a half-open
	                               connection is dropped (5) */
	uint32_t data_retries;      /* retransmissions of data or FIN, or zero-window
	                               probes unanswered in a row, before the
	                               connection is dropped with -ETIMEDOUT (15) */
	uint32_t fin_wait2_timeout_ms; /* lifetime of a FIN-WAIT-2 connection whose
	                               handle was closed (60000) */
	uint32_t initial_rto_ms;    /* RTO before any RTT sample, RFC 6298 2.1 (1000) */
	uint32_t min_rto_ms;        /* lower bound of the RTO, RFC 6298 2.4 (1000) */
	uint32_t max_rto_ms;        /* upper bound of the backed-off RTO (120000) */
	uint32_t rcvbuf;            /* default receive buffer, bytes (65535) */
	uint32_t sndbuf;            /* default send buffer, bytes (65536) */
	uint32_t syn_backlog_max;   /* upper bound of any listener's SYN queue (256) */
	uint32_t challenge_ack_per_sec; /* RFC 5961 section 7 rate limit (1000) */
	uint32_t arp_timeout_ms;    /* lifetime of a resolved ARP entry (60000) */
	uint32_t arp_retry_ms;      /* interval between ARP requests (1000) */
	uint32_t arp_max_tries;     /* requests before queued packets are dropped (3) */

	/*
	 * Initial sequence numbers. By default every connection's ISN follows
	 * RFC 6528: SipHash-2-4 of the 4-tuple under a secret key, plus a
	 * 4-microsecond clock. The key comes from getrandom() unless
	 * isn_key_set is non-zero. With isn_fixed set, every connection uses
	 * isn_value instead: for teaching and for tests, never for a real network.
	 */
	int isn_fixed;
	uint32_t isn_value;
	int isn_key_set;
	uint8_t isn_key[16];

	/* Seed for the stack's other randomness (ephemeral ports, IP ID).
	 * 0 = take one from getrandom(). */
	uint64_t random_seed;

	uint32_t delack_ms;         /* delayed-ACK timeout (40; at most 200, RFC 1122 4.2.3.2) */
	uint32_t keepidle_s;        /* SO_KEEPALIVE: idle before the first probe (7200, <= 32767) */
	uint32_t keepintvl_s;       /* between probes (75, <= 32767) */
	uint32_t keepcnt;           /* unanswered probes before it is dropped (9, <= 127) */

	/*
	 * TCP options offered in our SYN (RFC 7323, RFC 2018). Each is used on a
	 * connection only when both SYNs carry it. The window-scale shift we
	 * offer is the smallest that lets the receive buffer's whole space be
	 * advertised, at most wscale_max (14, the RFC 7323 2.3 limit).
	 */
	uint32_t wscale_max;        /* 0..14 (14) */
	int no_wscale;              /* non-zero: do not offer window scaling */
	int no_timestamps;          /* non-zero: do not offer timestamps */
	int no_sack;                /* non-zero: do not offer SACK-permitted */

	/*
	 * Congestion control (src/tcp/cc/). cc_default names the algorithm a new
	 * socket starts with ("cubic" or "newreno"; TCP_CONGESTION changes it
	 * per socket). init_cwnd_segs is the initial window in segments,
	 * RFC 6928 (10). The first slow start of a connection uses HyStart++
	 * (RFC 9406) unless no_hystart is set.
	 */
	char cc_default[16];
	uint32_t init_cwnd_segs;
	int no_hystart;             /* non-zero: plain slow start, without RFC 9406 */

	/* See struct sn_profile; sn_config_init sets the "synack" profile. */
	struct sn_profile profile;

	/*
	 * TIME-WAIT records held at most (131072, Linux's tcp_max_tw_buckets
	 * here; 0 = no limit). A connection entering TIME-WAIT beyond it ends
	 * the oldest record early: the one whose old duplicates have had the
	 * longest to die. Bounds the memory a stream of short connections, or
	 * a peer that makes us close first, can take (about 90 bytes a record).
	 */
	uint32_t tw_max;
};

void sn_config_init(struct sn_config *cfg);

/*
 * Switch cfg to a named profile: "synack" (the default), "freebsd" or
 * "linux". Besides cfg->profile this sets the profile-like fields (buffer
 * sizes, delayed-ACK time, minimum RTO, initial window, window-scale bound);
 * call it before changing any of those by hand. -EINVAL for unknown names.
 */
int sn_config_set_profile(struct sn_config *cfg, const char *name);

/* Create a stack. cfg may be NULL for the defaults. Returns NULL if out of memory. */
struct sn_stack *sn_stack_new(const struct sn_config *cfg);

/* Free a stack and everything it owns (sockets, netifs). Sends nothing. */
void sn_stack_free(struct sn_stack *stack);

/* ------------------------------------------------------------------------ */
/* Network interfaces                                                       */
/* ------------------------------------------------------------------------ */

/*
 * Offloads a driver may declare (struct sn_netif_ops.offload), as a NIC's
 * features (Linux NETIF_F_HW_CSUM, NETIF_F_TSO): work the stack leaves to
 * the driver, or to a peer that does not need it done.
 *
 * SN_NETIF_TX_CSUM: every TCP segment the stack sends on this netif leaves
 * with its checksum field holding the folded pseudo-header sum (not
 * complemented; virtio-net's NEEDS_CSUM, Linux's CHECKSUM_PARTIAL) instead
 * of the checksum: the sum over the TCP header and data from the end of the
 * 20-byte IPv4 header (csum_start), stored at offset 16 of the TCP header
 * (csum_offset), completes it. The driver completes it, or hands the frame
 * to a receiver that does not verify it (sn_input_ex with SN_RX_CSUM_OK).
 * Other frames (ARP, ICMP) always carry complete checksums.
 *
 * SN_NETIF_TSO (needs SN_NETIF_TX_CSUM and transmit_gso): the stack may
 * hand transmit_gso a TCP segment carrying several MSS of data, an IPv4
 * packet of up to tso_max bytes, with the size to cut it at. The driver
 * cuts it (each piece with the headers replicated, the sequence number
 * advanced, the IP ID incremented, FIN and PSH on the last piece only, and
 * its own checksums), or passes it whole to a peer that takes it so.
 */
enum {
	SN_NETIF_TX_CSUM = 1u << 0,
	SN_NETIF_TSO = 1u << 1,
};

struct sn_netif_ops {
	/*
	 * Send one Ethernet II frame (no preamble, no FCS). Return 0 on success
	 * or a negative errno; a failure is counted and the frame is lost, as on
	 * a real wire. The frame buffer is only valid during the call. now_us is
	 * the time of the sn_input or sn_poll call that produced the frame.
	 */
	int (*transmit)(void *ctx, const void *frame, size_t len, uint64_t now_us);
	/*
	 * Optional, with SN_NETIF_TSO: send a TCP/IPv4 super-segment (longer
	 * than the MTU) to be cut into pieces of gso_size bytes of data, the
	 * last piece possibly shorter. Used only for such segments; everything
	 * else goes through transmit.
	 */
	int (*transmit_gso)(void *ctx, const void *frame, size_t len, uint16_t gso_size,
	                    uint64_t now_us);
	/*
	 * Optional: the offloads this driver offers (SN_NETIF_*), asked once,
	 * by sn_netif_add. With SN_NETIF_TSO, *tso_max is the longest IPv4
	 * packet transmit_gso takes (the stack leaves it at 65535 if not set).
	 * Absent: no offload.
	 */
	unsigned (*offload)(void *ctx, uint32_t *tso_max);
};

struct sn_netif_config {
	struct in_addr addr;    /* this interface's IPv4 address */
	uint8_t prefix_len;     /* on-link prefix, e.g. 24 */
	struct in_addr gateway; /* next hop for off-link addresses; 0 = none */
	uint16_t mtu;           /* IP MTU, 68..65535 (1500) */
	uint8_t mac[6];         /* this interface's Ethernet address */
};

/* Attach an interface. Returns NULL (and sets *err if non-NULL) on -EINVAL
 * or -ENOMEM. The ops and ctx must outlive the netif. */
struct sn_netif *sn_netif_add(struct sn_stack *stack, const struct sn_netif_ops *ops,
                              void *ctx, const struct sn_netif_config *cfg, int *err);

/* Add a permanent ARP entry (for tests and point-to-point links). */
int sn_arp_add(struct sn_stack *stack, struct in_addr ip, const uint8_t mac[6]);

/*
 * Capture hook: called for every frame the netif receives (dir = SN_DIR_IN,
 * before any validation) and sends (SN_DIR_OUT). A pcap writer uses this.
 */
enum { SN_DIR_IN = 0, SN_DIR_OUT = 1 };
typedef void (*sn_capture_fn)(void *ctx, int dir, const void *frame, size_t len,
                              uint64_t now_us);
void sn_netif_set_capture(struct sn_netif *netif, sn_capture_fn fn, void *ctx);

/* ------------------------------------------------------------------------ */
/* Driving the stack                                                        */
/* ------------------------------------------------------------------------ */

/* A frame arrived on netif. The stack does not keep the pointer. */
void sn_input(struct sn_stack *stack, struct sn_netif *netif, const void *frame, size_t len,
              uint64_t now_us);

/*
 * What a driver knows about a received frame (sn_input_ex):
 * SN_RX_CSUM_OK: the TCP checksum needs no verification, because the driver
 * verified it (virtio-net DATA_VALID, a NIC's RX checksum offload) or because
 * the frame never crossed anything that could corrupt it and its sender left
 * the checksum to the link (virtio-net NEEDS_CSUM from a local sender; the
 * memlink's offload mode). The field may then hold a partial sum. Say it only
 * when it is true: the stack takes such a segment without looking.
 */
enum {
	SN_RX_CSUM_OK = 1u << 0,
};
void sn_input_ex(struct sn_stack *stack, struct sn_netif *netif, const void *frame, size_t len,
                 unsigned rx_flags, uint64_t now_us);

/*
 * Run every timer due at now_us and send queued output. Socket calls such as
 * sn_send, sn_connect and sn_close only queue their segments; they leave in
 * the next sn_poll (or at the end of the next sn_input), so a burst of calls
 * becomes as few segments as possible.
 */
void sn_poll(struct sn_stack *stack, uint64_t now_us);

/* The earliest time at which sn_poll must be called, or SN_TIME_NEVER.
 * It may be earlier than strictly needed, never later; 0 means "now" (output
 * is queued). */
uint64_t sn_next_deadline(const struct sn_stack *stack);

/* ------------------------------------------------------------------------ */
/* Sockets (TCP only)                                                       */
/* ------------------------------------------------------------------------ */

/* TCP states, RFC 9293 section 3.3.2. */
enum sn_tcp_state {
	SN_CLOSED = 0,
	SN_LISTEN,
	SN_SYN_SENT,
	SN_SYN_RECEIVED,
	SN_ESTABLISHED,
	SN_FIN_WAIT_1,
	SN_FIN_WAIT_2,
	SN_CLOSE_WAIT,
	SN_CLOSING,
	SN_LAST_ACK,
	SN_TIME_WAIT,
	SN_NUM_STATES
};

/* "ESTABLISHED", "SYN_SENT", ... */
const char *sn_state_name(int state);

/* Events delivered to a socket's callback (a bit mask). */
enum {
	SN_EV_READABLE = 1u << 0,   /* data or end-of-stream to read */
	SN_EV_WRITABLE = 1u << 1,   /* send buffer has room */
	SN_EV_CONNECTED = 1u << 2,  /* active open completed */
	SN_EV_ACCEPTABLE = 1u << 3, /* a listener has a connection to accept */
	SN_EV_HUP = 1u << 4,        /* connection fully closed */
	SN_EV_ERROR = 1u << 5,      /* an error is pending (SO_ERROR) */
};
typedef void (*sn_event_fn)(struct sn_sock *sock, unsigned events, void *user);

/*
 * Events are delivered after the stack has finished processing the frame,
 * timer or call that caused them, never from inside protocol processing, so
 * the callback may call any socket function, including sn_close.
 */
void sn_set_event_cb(struct sn_sock *sock, sn_event_fn fn, void *user);
void *sn_sock_user(const struct sn_sock *sock);

/* A new, unbound TCP socket. NULL if out of memory. */
struct sn_sock *sn_socket(struct sn_stack *stack);

int sn_bind(struct sn_sock *s, const struct sockaddr *addr, socklen_t len);
int sn_listen(struct sn_sock *s, int backlog);

/* Returns a new socket, or NULL with *err = -EAGAIN (nothing to accept) or
 * -EINVAL (not listening). addr/len may be NULL. */
struct sn_sock *sn_accept(struct sn_sock *s, struct sockaddr *addr, socklen_t *len, int *err);

/* Active open. Returns -EINPROGRESS; SN_EV_CONNECTED or SN_EV_ERROR follows. */
int sn_connect(struct sn_sock *s, const struct sockaddr *addr, socklen_t len);

/* Bytes queued (possibly fewer than len), or -EAGAIN, -ENOTCONN, -EPIPE, ... */
ssize_t sn_send(struct sn_sock *s, const void *buf, size_t len, int flags);

/* Bytes read, 0 at end of stream, or -EAGAIN, -ENOTCONN, -ECONNRESET, ... */
ssize_t sn_recv(struct sn_sock *s, void *buf, size_t len, int flags);

/* how = SHUT_RD, SHUT_WR or SHUT_RDWR. */
int sn_shutdown(struct sn_sock *s, int how);

/*
 * Release the handle. The connection closes gracefully (FIN) in the
 * background, unless unread data remains or SO_LINGER is on with a zero
 * timeout, in which case it is reset (RST). The handle is invalid afterwards.
 */
int sn_close(struct sn_sock *s);

/* Reset the connection (RST) and release the handle. */
int sn_abort(struct sn_sock *s);

int sn_getsockname(const struct sn_sock *s, struct sockaddr *addr, socklen_t *len);
int sn_getpeername(const struct sn_sock *s, struct sockaddr *addr, socklen_t *len);

/*
 * Options. SOL_SOCKET: SO_ERROR (get, clears), SO_LINGER, SO_RCVBUF, SO_SNDBUF,
 * SO_REUSEADDR, SO_KEEPALIVE, SO_TYPE (get). IPPROTO_TCP: TCP_NODELAY,
 * TCP_MAXSEG, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT (seconds / count),
 * TCP_USER_TIMEOUT (milliseconds; 0 = off), TCP_CONGESTION (a string:
 * "cubic" or "newreno"; -ENOENT for another name). Anything else: -ENOPROTOOPT.
 */
int sn_setsockopt(struct sn_sock *s, int level, int name, const void *val, socklen_t len);
int sn_getsockopt(struct sn_sock *s, int level, int name, void *val, socklen_t *len);

struct sn_tcp_info {
	uint8_t state;         /* enum sn_tcp_state */
	uint32_t iss, irs;     /* initial send / receive sequence numbers */
	uint32_t snd_una, snd_nxt, snd_wnd;
	uint32_t rcv_nxt, rcv_wnd;
	uint32_t mss;          /* effective send MSS */
	uint32_t rto_us;       /* current retransmission timeout */
	uint32_t srtt_us;      /* 0 until the first sample */
	uint32_t rttvar_us;
	uint32_t retransmits;  /* consecutive retransmissions of the current segment */
	uint32_t total_retrans;
	uint32_t bytes_in_flight;
	uint32_t snd_buf_used, rcv_buf_used;
	/* Options agreed in the handshake (both SYNs carried them). */
	uint8_t options;       /* SN_TCPI_OPT_* */
	uint8_t snd_wscale;    /* shift applied to the peer's window field */
	uint8_t rcv_wscale;    /* shift applied to the window field we send */
	/* Congestion control. */
	uint32_t cwnd, ssthresh; /* bytes; ssthresh UINT32_MAX until the first loss */
	char congestion[16];   /* the algorithm, "cubic" or "newreno" */
	uint8_t in_recovery;   /* 1 during fast recovery */
	uint32_t sacked;       /* octets above snd_una the peer reports holding */
};
enum {
	SN_TCPI_OPT_WSCALE = 1u << 0,     /* RFC 7323 window scaling */
	SN_TCPI_OPT_TIMESTAMPS = 1u << 1, /* RFC 7323 timestamps (RTTM, PAWS) */
	SN_TCPI_OPT_SACK = 1u << 2,       /* RFC 2018 SACK permitted */
};
int sn_tcp_info(const struct sn_sock *s, struct sn_tcp_info *info);

/* ------------------------------------------------------------------------ */
/* Counters (in the spirit of netstat -s and RFC 4022)                      */
/* ------------------------------------------------------------------------ */

#define SN_STATS_FIELDS(X)                                                                \
	X(eth_rx, "Ethernet frames received")                                             \
	X(eth_tx, "Ethernet frames sent")                                                 \
	X(eth_tx_err, "frames the driver failed to send")                                 \
	X(eth_drop_short, "frames shorter than an Ethernet header")                       \
	X(eth_drop_type, "frames of an ethertype we do not speak")                        \
	X(eth_drop_dst, "frames addressed to another station")                            \
	X(arp_rx, "ARP packets received")                                                 \
	X(arp_tx, "ARP packets sent")                                                     \
	X(arp_drop_malformed, "malformed ARP packets")                                    \
	X(arp_queue_drop, "packets dropped waiting for ARP")                              \
	X(ip_rx, "IPv4 packets received")                                                 \
	X(ip_tx, "IPv4 packets sent")                                                     \
	X(ip_drop_malformed, "IPv4 packets with bad version, header or total length")     \
	X(ip_drop_csum, "IPv4 packets with a bad header checksum")                        \
	X(ip_drop_frag, "IPv4 fragments (reassembly is not supported)")                   \
	X(ip_drop_not_ours, "IPv4 packets for another address")                           \
	X(ip_drop_bad_src, "IPv4 packets from an impossible source (0, broadcast, multicast, us)") \
	X(ip_drop_proto, "IPv4 packets of an unsupported protocol")                       \
	X(ip_drop_no_route, "outgoing packets with no route")                             \
	X(icmp_rx, "ICMP messages received")                                              \
	X(icmp_drop_malformed, "malformed ICMP messages")                                 \
	X(icmp_echo_tx, "ICMP echo replies sent")                                         \
	X(icmp_unreach_rx, "ICMP unreachables about a segment in flight, acted on")       \
	X(icmp_unreach_ignored, "ICMP unreachables quoting no segment in flight (RFC 5927)") \
	X(tcp_rx, "TCP segments received")                                                \
	X(tcp_tx, "TCP segments sent")                                                    \
	X(tcp_drop_malformed, "TCP segments too short or with a bad data offset")         \
	X(tcp_drop_options, "TCP segments with malformed options")                        \
	X(tcp_drop_csum, "TCP segments with a bad checksum")                              \
	X(tcp_drop_bad_seg, "TCP segments not acceptable in their state")                 \
	X(tcp_retrans, "TCP segments retransmitted")                                      \
	X(tcp_active_opens, "active opens (connect)")                                     \
	X(tcp_passive_opens, "passive opens (SYN to a listener)")                         \
	X(tcp_attempt_fails, "connection attempts that failed")                           \
	X(tcp_estab_resets, "resets in ESTABLISHED or CLOSE-WAIT")                        \
	X(tcp_rst_tx, "RST segments sent")                                                \
	X(tcp_rst_rx, "RST segments accepted")                                            \
	X(tcp_rst_ignored, "RST segments outside the window, ignored")                    \
	X(tcp_challenge_ack, "challenge ACKs sent (RFC 5961)")                            \
	X(tcp_challenge_ack_limited, "challenge ACKs suppressed by the rate limit")       \
	X(tcp_listen_overflow, "SYNs dropped: SYN queue or accept queue full")            \
	X(tcp_synack_retrans, "SYN-ACKs retransmitted")                                   \
	X(tcp_syn_retrans, "SYNs retransmitted")                                          \
	X(tcp_halfopen_expired, "half-open connections dropped after SYN-ACK retries")    \
	X(tcp_timeouts, "connections dropped by the retransmission or persist timer")    \
	X(tcp_tw_created, "connections that entered TIME-WAIT")                           \
	X(tcp_tw_reack, "TIME-WAIT re-ACKs of a retransmitted FIN")                       \
	X(tcp_drop_syn_fin, "segments with both SYN and FIN, dropped")                    \
	X(tcp_ooo_queued, "out-of-order segments held for reassembly")                     \
	X(tcp_rtt_samples, "round-trip time samples taken")                                \
	X(tcp_delayed_acks, "ACKs sent when the delayed-ACK timer expired")                \
	X(tcp_persist_probes, "zero-window probes sent")                                   \
	X(tcp_keepalive_probes, "keepalive probes sent")                                   \
	X(tcp_keepalive_drops, "connections dropped for unanswered keepalives")           \
	X(tcp_paws_drops, "segments dropped by PAWS (RFC 7323 5), timestamp too old")      \
	X(tcp_sack_blocks_sent, "SACK blocks sent in our ACKs (RFC 2018)")                 \
	X(tcp_sack_blocks_rcvd, "SACK blocks received from the peer")                   \
	X(tcp_fast_recoveries, "fast recovery episodes (RFC 5681, 6582, 6675)")            \
	X(tcp_fast_retrans, "segments sent again by fast retransmit or recovery")          \
	X(tcp_sack_rescue, "rescue retransmissions (RFC 6675 NextSeg rule 4)")             \
	X(tcp_limited_transmit, "segments sent by limited transmit (RFC 3042)")            \
	X(tcp_rto_events, "retransmission timeouts of data")                              \
	X(tcp_hystart_exits, "slow starts left early by HyStart++ (RFC 9406)")             \
	X(tcp_tw_evicted, "TIME-WAIT records ended early to stay within tw_max")          \
	X(tcp_tso_tx, "TCP super-segments handed to the link to cut (TSO; their pieces count in tcp_tx)") \
	X(tcp_rx_csum_trusted, "TCP segments taken without verifying the checksum (SN_RX_CSUM_OK)")

struct sn_stats {
#define SN_STATS_DECL(name, desc) uint64_t name;
	SN_STATS_FIELDS(SN_STATS_DECL)
#undef SN_STATS_DECL
	uint64_t tcp_curr_estab; /* connections now in ESTABLISHED or CLOSE-WAIT */
	uint64_t tcp_curr_tw;    /* TIME-WAIT records now held */
};
void sn_stats(const struct sn_stack *stack, struct sn_stats *out);

/* ------------------------------------------------------------------------ */
/* Tracing                                                                  */
/* ------------------------------------------------------------------------ */

enum sn_trace_kind {
	SN_TRACE_SEG_IN,  /* a TCP segment passed validation and is about to be processed */
	SN_TRACE_SEG_OUT, /* a TCP segment was built and handed to IP */
	SN_TRACE_STATE,   /* a connection changed state */
	SN_TRACE_TIMER,   /* a connection timer fired */
	SN_TRACE_DROP,    /* a frame or segment was dropped; reason says why */
	SN_TRACE_CC,      /* congestion state changed: cwnd, ssthresh, srtt or pipe */
};

/* TCP flag bits as on the wire. */
enum {
	SN_TH_FIN = 0x01, SN_TH_SYN = 0x02, SN_TH_RST = 0x04,
	SN_TH_PSH = 0x08, SN_TH_ACK = 0x10, SN_TH_URG = 0x20,
	SN_TH_ECE = 0x40, SN_TH_CWR = 0x80,
};

struct sn_trace_seg {
	uint32_t saddr, daddr; /* host byte order */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;         /* SN_TH_* */
	uint16_t wnd;          /* as on the wire (unscaled) */
	uint32_t len;          /* payload bytes */
	uint16_t mss;          /* MSS option value, 0 if absent */
	/* The other options, for display. */
	uint8_t opts;          /* SN_TRACE_OPT_*: which are present */
	uint8_t wscale;        /* window-scale shift, if SN_TRACE_OPT_WSCALE */
	uint8_t num_sack;      /* SACK blocks below */
	uint32_t sack[4][2];   /* [left, right) as on the wire */
	/* SEG_OUT: a TSO super-segment (len > gso_size), which the link cuts
	 * into pieces of gso_size bytes; 0 for an ordinary segment. */
	uint16_t gso_size;
};
enum {
	SN_TRACE_OPT_WSCALE = 1u << 0,
	SN_TRACE_OPT_SACK_OK = 1u << 1,
	SN_TRACE_OPT_TS = 1u << 2,
};

struct sn_trace_event {
	enum sn_trace_kind kind;
	uint64_t now_us;
	const struct sn_sock *sock; /* the connection concerned, or NULL */
	struct sn_trace_seg seg;    /* SEG_IN, SEG_OUT: the segment. STATE, TIMER:
	                               the connection's 4-tuple (saddr/sport local) */
	int old_state, new_state;   /* STATE */
	const char *what;           /* TIMER: timer name; DROP: reason; CC: cause
	                               ("ack", "fast retransmit", "rto", ...) */
	struct {                    /* CC */
		uint32_t cwnd, ssthresh; /* bytes */
		uint32_t srtt_us;
		uint32_t pipe;           /* octets believed in flight */
	} cc;
};
typedef void (*sn_trace_fn)(const struct sn_trace_event *ev, void *ctx);
void sn_set_trace(struct sn_stack *stack, sn_trace_fn fn, void *ctx);

/* ------------------------------------------------------------------------ */
/* Drivers shipped with the library                                         */
/* ------------------------------------------------------------------------ */

/*
 * memlink: two Ethernet endpoints (0 and 1) joined in memory, with seeded,
 * deterministic impairments per direction. Give sn_memlink_ops() and
 * sn_memlink_end(link, i) to sn_netif_add; frames sent on end i are delivered
 * to the function set with sn_memlink_set_deliver(link, 1 - i, ...) when
 * sn_memlink_poll runs at or after their arrival time.
 */
struct sn_memlink;

struct sn_link_impair {
	uint32_t loss_ppm;          /* drop probability, parts per million */
	uint32_t dup_ppm;           /* duplicate probability (the copy follows at once) */
	uint32_t reorder_ppm;       /* probability a frame is held back by reorder_delay_us */
	uint32_t corrupt_ppm;       /* probability one random byte is changed */
	uint64_t delay_us;          /* one-way propagation delay */
	uint64_t reorder_delay_us;  /* extra delay of a reordered frame */
	uint64_t rate_bps;          /* serialisation rate, bits/s; 0 = unlimited */
	uint32_t queue_limit_bytes; /* bytes waiting for the rate limiter before tail
	                               drop; 0 = unbounded */
};

/* What happened to a frame, for observers (the ladder, tests). */
enum sn_link_event {
	SN_LINK_SENT,      /* accepted by the link */
	SN_LINK_LOST,      /* dropped by the loss impairment */
	SN_LINK_QDROP,     /* dropped because the rate-limit queue was full */
	SN_LINK_DUP,       /* a duplicate was made */
	SN_LINK_CORRUPT,   /* a byte was changed */
	SN_LINK_REORDER,   /* held back */
	SN_LINK_DELIVERED, /* handed to the receiving end */
};

typedef void (*sn_deliver_fn)(void *ctx, const void *frame, size_t len, uint64_t now_us);
typedef void (*sn_link_observer_fn)(void *ctx, int from_end, enum sn_link_event ev,
                                    const void *frame, size_t len, uint64_t now_us);

struct sn_memlink *sn_memlink_new(uint64_t seed);
void sn_memlink_free(struct sn_memlink *link);
const struct sn_netif_ops *sn_memlink_ops(void);
void *sn_memlink_end(struct sn_memlink *link, int end);
void sn_memlink_set_deliver(struct sn_memlink *link, int end, sn_deliver_fn fn, void *ctx);
/* The same for a receiver that takes each frame's SN_RX_* flags (pass them
 * to sn_input_ex); replaces a function set with sn_memlink_set_deliver. */
typedef void (*sn_deliver_ex_fn)(void *ctx, const void *frame, size_t len, unsigned rx_flags,
                                 uint64_t now_us);
void sn_memlink_set_deliver_ex(struct sn_memlink *link, int end, sn_deliver_ex_fn fn, void *ctx);
/*
 * Offload mode, off by default; set it before adding the netifs, which ask
 * for the offloads once. With it on, both ends offer SN_NETIF_TX_CSUM and
 * SN_NETIF_TSO (tso_max 65535), as a veth pair does, and the link carries
 * super-segments whole: the receiver gets one frame of up to 64 KiB, and
 * gets it with SN_RX_CSUM_OK (sn_deliver_ex_fn), the TCP checksum left as
 * the sender's partial sum. That is honest only because memory does not
 * corrupt: so in a direction with any impairment but a plain delay (loss,
 * duplication, reordering, corruption, a rate limit, a scheduled drop), the
 * link first cuts each super-segment into MSS-sized frames and completes
 * every TCP checksum, and only then impairs them, one frame at a time, as a
 * wire would (Linux's netem does the same before it corrupts); those frames
 * arrive without SN_RX_CSUM_OK and are verified. A super-segment sent to a
 * link whose offload mode is off is cut the same way.
 */
void sn_memlink_set_offload(struct sn_memlink *link, int on);
/* Impairments of frames sent from end `from_end`. Zeroed by default. */
void sn_memlink_set_impair(struct sn_memlink *link, int from_end,
                           const struct sn_link_impair *imp);
/*
 * Drop exactly one chosen frame: the n-th frame (1 = the next one) that end
 * `from_end` sends from now on is lost, whatever the impairments, and reported
 * to the observer as SN_LINK_LOST. Every frame passed to the transmit function
 * counts, including those the loss impairment would have dropped anyway. The
 * dropped frame takes no random draws, so the other frames' impairments come
 * from the same random sequence as if it had never been sent. A second call
 * before that frame is sent replaces the pending drop (n counts from the new
 * call); n = 0 cancels it. One drop per direction can be pending.
 */
void sn_memlink_drop_nth(struct sn_memlink *link, int from_end, uint64_t n);
/* Schedule one more drop, the n-th frame from now, beside those pending
 * (at most SN_MEMLINK_MAX_DROPS per direction; -ENOSPC beyond). A frame
 * already scheduled stays scheduled, once. */
#define SN_MEMLINK_MAX_DROPS 8
int sn_memlink_drop_also(struct sn_memlink *link, int from_end, uint64_t n);
void sn_memlink_set_observer(struct sn_memlink *link, sn_link_observer_fn fn, void *ctx);
/* Deliver every frame due at or before now_us, in arrival order. Frames sent
 * by the receivers during delivery are queued, not delivered recursively.
 * Returns the number delivered. */
size_t sn_memlink_poll(struct sn_memlink *link, uint64_t now_us);
/* Arrival time of the next frame, or SN_TIME_NEVER. */
uint64_t sn_memlink_next_deadline(const struct sn_memlink *link);
/* Frames in flight (both directions). */
size_t sn_memlink_in_flight(const struct sn_memlink *link);

/*
 * pcap writer (libpcap format, LINKTYPE_ETHERNET, microsecond timestamps).
 * sn_pcap_capture has the sn_capture_fn shape: pass it with the writer as ctx
 * to sn_netif_set_capture to record a netif's traffic.
 */
struct sn_pcap;
struct sn_pcap *sn_pcap_open(const char *path, int *err);
int sn_pcap_write(struct sn_pcap *p, const void *frame, size_t len, uint64_t ts_us);
void sn_pcap_capture(void *ctx, int dir, const void *frame, size_t len, uint64_t now_us);
/* Flush and close; returns 0 or the first write error. */
int sn_pcap_close(struct sn_pcap *p);

/* ------------------------------------------------------------------------ */
/* TAP (Linux)                                                              */
/* ------------------------------------------------------------------------ */

/*
 * A netif on a Linux TAP device: frames the kernel sends out of the device
 * are read from a file descriptor and fed to sn_input; frames the stack sends
 * are written to it and reach the kernel as if from a cable.
 *
 * sn_tap_open creates (or attaches to) the TAP device `name` ("" or NULL:
 * the kernel picks tapN) with IFF_TAP | IFF_NO_PI and returns a non-blocking,
 * close-on-exec fd, or a negative errno: -ENOENT when /dev/net/tun is
 * missing, -EACCES without CAP_NET_ADMIN, -EBUSY when the device is in use.
 * sn_tap_strerror(err) says in one sentence what the user can do about it.
 * The device's name is copied to actual_name (len bytes, may be NULL). It
 * disappears when the fd is closed, unless it was made persistent
 * (`ip tuntap add`).
 *
 * sn_tap_new wraps an fd (it owns it from then on) as the ctx for
 * sn_netif_add with sn_tap_ops(). sn_tap_receive reads up to max_frames
 * pending frames and hands each to sn_input_ex (SN_RX_CSUM_OK when the
 * kernel verified the checksum or left it to us); it returns how many, 0
 * when none was pending, or a negative errno if the first read failed.
 * With the virtio-net header (sn_tap_open's devices) the driver offers the
 * stack checksum and segmentation offload (SN_NETIF_TX_CSUM, SN_NETIF_TSO):
 * the kernel completes checksums and takes 64 KiB TCP segments whole.
 */
struct sn_tap {
	int fd;
	uint64_t rx_frames;  /* frames read and handed to sn_input */
	uint64_t tx_frames;  /* frames written */
	uint64_t tx_drops;   /* frames the kernel did not take (device down, backlog full) */
	void *frame;         /* receive buffer (private) */
};
int sn_tap_open(const char *name, char *actual_name, size_t len);
const char *sn_tap_strerror(int err);
struct sn_tap *sn_tap_new(int fd);
void sn_tap_free(struct sn_tap *tap);
const struct sn_netif_ops *sn_tap_ops(void);
int sn_tap_receive(struct sn_tap *tap, struct sn_stack *stack, struct sn_netif *netif,
                   uint64_t now_us, unsigned max_frames);
/* The same, handing each frame to deliver(ctx, ...) instead (a filter), with
 * any checksum the kernel left to us completed. */
int sn_tap_read(struct sn_tap *tap, sn_deliver_fn deliver, void *ctx, uint64_t now_us,
                unsigned max_frames);

/* ------------------------------------------------------------------------ */
/* Impairment filter                                                        */
/* ------------------------------------------------------------------------ */

/*
 * Loss, delay, reordering, duplication and corruption between a stack and
 * any netif driver (ops + ctx), each direction on its own, with the memlink's
 * seeded impairments (struct sn_link_impair). Wiring:
 *
 *   im = sn_impair_new(sn_tap_ops(), tap, seed);
 *   nif = sn_netif_add(stack, sn_impair_ops(), sn_impair_ctx(im), &cfg, &err);
 *   sn_impair_attach(im, stack, nif);
 *   sn_impair_set(im, SN_DIR_OUT, &imp);   frames the stack sends
 *   sn_impair_set(im, SN_DIR_IN, &imp);    frames it receives
 *
 * and feed the driver's frames to sn_impair_input (an sn_deliver_fn with the
 * filter as ctx) instead of sn_input. Frames wait in the filter until
 * sn_impair_poll: call it after sn_input and sn_poll, and wake up for
 * sn_impair_next_deadline too. sn_loop_add_tap_impaired does all of that.
 */
struct sn_impair;
struct sn_impair *sn_impair_new(const struct sn_netif_ops *inner, void *inner_ctx, uint64_t seed);
void sn_impair_free(struct sn_impair *im);
const struct sn_netif_ops *sn_impair_ops(void);
void *sn_impair_ctx(struct sn_impair *im);
void sn_impair_attach(struct sn_impair *im, struct sn_stack *stack, struct sn_netif *netif);
/* dir is SN_DIR_OUT (frames the stack sends) or SN_DIR_IN; -EINVAL otherwise. */
int sn_impair_set(struct sn_impair *im, int dir, const struct sn_link_impair *imp);
void sn_impair_input(void *im, const void *frame, size_t len, uint64_t now_us);
void sn_impair_poll(struct sn_impair *im, uint64_t now_us);
uint64_t sn_impair_next_deadline(const struct sn_impair *im);
/* Observe losses, duplicates, ... (SN_LINK_*; end 0 = frames the stack sent). */
void sn_impair_set_observer(struct sn_impair *im, sn_link_observer_fn fn, void *ctx);

/* ------------------------------------------------------------------------ */
/* Event loop (Linux: epoll + timerfd)                                      */
/* ------------------------------------------------------------------------ */

/*
 * A ready-made driver loop for one stack: it waits in epoll_wait on the TAP
 * devices given to it, a timerfd armed at sn_next_deadline, and any other
 * file descriptors the program watches (stdin, a signalfd, ...); then it
 * feeds frames to sn_input, calls the watchers, and calls sn_poll. Time is
 * CLOCK_MONOTONIC in microseconds (sn_clock_us). The stack itself knows
 * nothing of this loop: docs/LOOP.md shows how to drive it from another one.
 */
struct sn_loop;

/* CLOCK_MONOTONIC in microseconds. */
uint64_t sn_clock_us(void);

struct sn_loop *sn_loop_new(struct sn_stack *stack, int *err);
/* Does not free the stack or the TAP devices. */
void sn_loop_free(struct sn_loop *loop);
struct sn_stack *sn_loop_stack(const struct sn_loop *loop);

/* Read frames from tap whenever its fd is readable and hand them to netif. */
int sn_loop_add_tap(struct sn_loop *loop, struct sn_tap *tap, struct sn_netif *netif);
/* The same through an impairment filter (see above): frames read from tap go
 * to sn_impair_input, and the loop polls the filter and waits for it. */
int sn_loop_add_tap_impaired(struct sn_loop *loop, struct sn_tap *tap, struct sn_impair *im);

/*
 * Watch another fd. events is EPOLLIN and/or EPOLLOUT (level-triggered); 0
 * keeps the registration but stops reporting. Calling again for the same fd
 * changes its events; fn NULL removes it. fn runs before the stack's sn_poll
 * in the same iteration, so socket calls it makes leave at once. -EPERM for
 * fds epoll cannot watch (regular files: they are always ready).
 */
typedef void (*sn_loop_fd_fn)(int fd, unsigned events, void *user);
int sn_loop_watch(struct sn_loop *loop, int fd, unsigned events, sn_loop_fd_fn fn, void *user);

/* Called once per iteration, after frames, watchers and sn_poll, so it sees
 * everything that iteration did; output it queues leaves before the loop
 * sleeps again. */
typedef void (*sn_loop_idle_fn)(struct sn_loop *loop, void *user);
void sn_loop_set_idle(struct sn_loop *loop, sn_loop_idle_fn fn, void *user);

/*
 * One iteration: wait until a watched fd is ready, the stack's deadline, or
 * timeout_us has passed (SN_TIME_NEVER: no limit; 0: do not wait), then
 * process. Returns 0 or a negative errno (-EINTR is not an error: it returns 0).
 */
int sn_loop_run_once(struct sn_loop *loop, uint64_t timeout_us);
/* Iterate until sn_loop_stop or an error. */
int sn_loop_run(struct sn_loop *loop);
void sn_loop_stop(struct sn_loop *loop);

/*
 * Blocking convenience calls for simple programs: each runs the loop until
 * the call can complete, or timeout_us (SN_TIME_NEVER: no limit) passes
 * (-ETIMEDOUT). Other sockets keep being served meanwhile.
 */
int sn_loop_connect(struct sn_loop *loop, struct sn_sock *s, const struct sockaddr *addr,
                    socklen_t len, uint64_t timeout_us);
struct sn_sock *sn_loop_accept(struct sn_loop *loop, struct sn_sock *listener, uint64_t timeout_us,
                               int *err);
/* Sends all len bytes (or fails); returns len or a negative errno. */
ssize_t sn_loop_send_all(struct sn_loop *loop, struct sn_sock *s, const void *buf, size_t len,
                         uint64_t timeout_us);
/* At least one byte, 0 at end of stream, or a negative errno. */
ssize_t sn_loop_recv(struct sn_loop *loop, struct sn_sock *s, void *buf, size_t len,
                     uint64_t timeout_us);
/* Graceful close that waits until the connection has finished closing
 * (CLOSED or TIME-WAIT) or the timeout passes, then releases the handle. */
int sn_loop_close(struct sn_loop *loop, struct sn_sock *s, uint64_t timeout_us);

#ifdef __cplusplus
}
#endif
#endif /* SYNACK_H */
