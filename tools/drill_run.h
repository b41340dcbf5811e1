/*
 * drill_run.h - the runner's state, shared by drill.c (clock, packets) and
 * drill_call.c (syscall lines). Private to the interpreter.
 *
 * The interpreter is a test harness and reads a few things no application
 * should (a listener's accept queue for poll, the stack's knobs that the
 * FreeBSD sysctl lines switch): it includes src/core.h for them.
 */
#ifndef SN_DRILL_RUN_H
#define SN_DRILL_RUN_H

#include "drill.h"
#include "synack.h"

struct dr_seg {
	uint64_t t_us;          /* emission time on the virtual clock */
	size_t len;
	uint8_t *ip;            /* the IPv4 packet */
};

struct dr_fd {
	struct sn_sock *s;
	bool used, nonblock, connecting;
};

/* The connection under test (SPEC 7) and its sequence-number spaces (SPEC 6). */
struct dr_conn {
	bool has_tuple;
	uint16_t rport;         /* the injector's port */
	uint16_t lport;         /* the stack's port */
	bool lport_known;
	bool remote_isn_known, local_isn_known;
	bool remote_isn_from_syn;
	uint32_t remote_isn, script_local_isn, live_local_isn;
};

#define DR_MAX_FD 64
#define DR_MAX_TS 512

struct dr_ctx {
	const struct dr_script *s;
	struct dr_result *res;
	bool verbose;
	struct sn_stack *st;
	struct sn_netif *nif;
	uint32_t laddr, raddr;  /* host order */
	uint64_t now, t0;       /* virtual clock, µs; t0 = script time 0 */

	struct dr_seg *q;       /* outbound queue */
	int qhead, qn, qcap;

	struct dr_fd fds[DR_MAX_FD];
	struct sn_sock *cur;    /* socket under test */
	bool cur_listening;
	struct dr_conn conn;
	uint16_t next_port;

	/* TS val pairs of matched outbound segments: script -> live (SPEC 6). */
	uint32_t ts_script[DR_MAX_TS], ts_live[DR_MAX_TS];
	int nts;

	/* A blocking call in progress (SPEC 9.3). */
	const struct dr_event *pend;
	int64_t pend_start_us, pend_end_us; /* script time */
	bool pend_done;
	int64_t pend_ret;
	int pend_err;
	uint64_t pend_timeout_at; /* clock value at which a pending poll() times out, or 0 */
};

/* drill.c */
int64_t dr_script_now(const struct dr_ctx *c);
void dr_advance(struct dr_ctx *c, uint64_t to);
void dr_failf(struct dr_ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool dr_time_ok(const struct dr_ctx *c, int64_t expected, int64_t actual, int64_t base,
                int64_t *tol);
void dr_conn_reset(struct dr_ctx *c);

/* drill_call.c */
/* Perform a syscall line. Returns false when the script failed. */
bool dr_call(struct dr_ctx *c, const struct dr_event *e, int64_t sched_us);
/* Retry the pending blocking call after the stack has moved. */
void dr_call_retry(struct dr_ctx *c);
/* Check a state assertion (shell or python line). */
bool dr_state_check(struct dr_ctx *c, const struct dr_event *e);
void dr_close_all(struct dr_ctx *c);

#endif
