/*
 * cc.h - congestion control behind one ops table.
 *
 * What every algorithm shares lives in the TCB and in cc.c: cwnd and
 * ssthresh in bytes, the initial window (RFC 6928), slow start with
 * appropriate byte counting (RFC 3465, L = 2 SMSS), growth only while the
 * window is what limits the sender (RFC 7661), and the loss window after a
 * retransmission timeout (RFC 5681 3.1). Loss detection and recovery
 * (fast retransmit, NewReno partial ACKs, SACK) are in loss.c and do not
 * depend on the algorithm.
 *
 * An algorithm decides only two things:
 *   cong_avoid  how cwnd grows above ssthresh when `acked` new octets are
 *               acknowledged (RFC 5681 3.1: about one SMSS per RTT; CUBIC:
 *               RFC 9438 4.2-4.4);
 *   ssthresh    the new ssthresh on a congestion event (RFC 5681 eq. 4:
 *               FlightSize / 2; CUBIC: cwnd * 0.7, RFC 9438 4.6), where it
 *               may also note the event (CUBIC remembers W_max).
 * and resets its own state with init (a new connection, or after an idle
 * period).
 * Its private state lives in sn_sock.cc_priv, at most SN_CC_PRIV bytes.
 * That room is HyStart++'s during the first slow start (it is idle then:
 * the algorithm acts only in congestion avoidance and on a congestion
 * event), so init runs when HyStart++ is over (cc.c, hystart_end).
 */
#ifndef SN_CC_H
#define SN_CC_H

#include <stdbool.h>
#include <stdint.h>

struct sn_sock;

#define SN_CC_PRIV 24 /* bytes of per-connection state an algorithm may use */

enum sn_cc_event {
	SN_CC_FAST_RETRANSMIT, /* three duplicate ACKs, or SACK says a loss */
	SN_CC_TIMEOUT,         /* the first retransmission timeout of a segment */
};

struct sn_cc_ops {
	const char *name;
	void (*init)(struct sn_sock *s);
	void (*cong_avoid)(struct sn_sock *s, uint32_t acked);
	uint32_t (*ssthresh)(struct sn_sock *s, enum sn_cc_event ev);
};

/*
 * HyStart++ (RFC 9406), for the first slow start of a connection: when the
 * smallest RTT of a round (at least 8 samples) exceeds the previous round's
 * by an eighth (clamped to 4-16 ms), the queue at the bottleneck is
 * filling; slow start gives way to Conservative Slow Start (a quarter of
 * the growth) for 5 rounds, and then to congestion avoidance with ssthresh
 * = cwnd, instead of doubling until the queue overflows. An RTT back below
 * the level that started CSS means the rise was noise: slow start resumes.
 * Any loss ends it (ssthresh is then no longer "arbitrarily high").
 */
enum { SN_HS_SLOW_START, SN_HS_CSS, SN_HS_DONE }; /* sn_sock.hs_phase */
struct sn_hystart {
	uint32_t window_end;    /* the round ends when SND.UNA passes this */
	uint32_t last_min_us;   /* the previous round's smallest RTT (UINT32_MAX: none) */
	uint32_t cur_min_us;    /* this round's so far */
	uint32_t css_base_us;   /* cur_min_us when CSS began */
	uint8_t samples;        /* RTT samples this round */
	uint8_t css_rounds;     /* rounds spent in CSS */
};
/* It shares the room of the algorithm's state (core.h, sn_sock.hs). */
_Static_assert(sizeof(struct sn_hystart) <= SN_CC_PRIV, "HyStart++ state does not fit");

extern const struct sn_cc_ops sn_cc_newreno;
extern const struct sn_cc_ops sn_cc_cubic;

/* Every algorithm, at the index that struct sn_sockopts.cc keeps: a byte
 * rather than a pointer in every connection. */
enum { SN_CC_CUBIC, SN_CC_NEWRENO, SN_CC_COUNT };
extern const struct sn_cc_ops *const sn_cc_algorithms[SN_CC_COUNT];

/* The algorithm called name, or NULL. */
const struct sn_cc_ops *sn_cc_find(const char *name);
/* Its index in sn_cc_algorithms. */
uint8_t sn_cc_index(const struct sn_cc_ops *ops);

/* RFC 6928: IW = min(N * SMSS, max(2 * SMSS, N * 1460)) for N segments. */
uint32_t sn_cc_initial_window(uint32_t segs, uint32_t smss);

/* Connection established (or idle long enough): cwnd = IW, ssthresh high. */
void tcp_cc_init(struct sn_sock *s);
/* TCP_CONGESTION: use the algorithm sn_cc_algorithms[i], its state reset. */
void tcp_cc_set(struct sn_sock *s, uint8_t i);
/* Before sending after an idle period longer than the RTO (RFC 5681 4.1):
 * restart from the initial window. */
void tcp_cc_idle_restart(struct sn_sock *s);
/* acked new octets arrived outside recovery; in_flight was outstanding
 * before the ACK; rtt_us is the RTT sample it gave (0: none); mss is
 * tcp_send_mss(s), which the caller has at hand. Slow start
 * (with HyStart++) or the algorithm's congestion avoidance. */
void tcp_cc_ack(struct sn_sock *s, uint32_t acked, uint32_t in_flight, uint32_t rtt_us,
                uint32_t mss);
/* A congestion event: set ssthresh (once per event). */
void tcp_cc_congestion(struct sn_sock *s, enum sn_cc_event ev);
/* Emit an SN_TRACE_CC event with cwnd, ssthresh, srtt and pipe now; the
 * callers do so where one of them has changed. */
void tcp_cc_trace(struct sn_sock *s, const char *why);

/* Shared by the algorithms: FlightSize (RFC 5681), octets outstanding. */
uint32_t tcp_flight_size(const struct sn_sock *s);

#endif /* SN_CC_H */
