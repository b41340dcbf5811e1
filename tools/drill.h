/*
 * drill.h - the packetdrill interpreter behind `synack drill`.
 *
 *   cmd_drill (drill.c) -> dr_parse (drill_parse.c): text -> struct dr_script
 *                            -> dr_parse_shell/code (drill_shell.c)
 *                       -> dr_run (drill.c): events against a fresh stack
 *                            -> dr_call (drill_call.c): syscall lines
 * drill_run.h holds the runner's state shared by drill.c and drill_call.c.
 *
 * The language subset and its semantics are ../shared/packetdrill/SPEC.md;
 * section numbers below refer to it. A script is parsed whole before it runs,
 * so anything outside the subset is reported as SKIP without touching a stack.
 */
#ifndef SN_DRILL_H
#define SN_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the parsed script --------------------------------------------------- */

enum dr_tkind { DT_ABS, DT_REL, DT_ANY };

/* An event's time (SPEC 4.1), in microseconds of script time. */
struct dr_time {
	enum dr_tkind kind;
	int64_t us;
	bool range;            /* t1~t2: outbound packets only */
	bool blocking;         /* t1...t2: syscalls only */
	enum dr_tkind end_kind;
	int64_t end_us;
};

/* One TCP option as written. kind is the wire kind (SN_TCPOPT_*). */
struct dr_opt {
	uint8_t kind;
	uint32_t a, b;         /* mss / wscale / TS val, ecr */
	bool val_any, ecr_abs; /* nplab: `val ...`, `ecr N!` */
	uint8_t nsack;
	uint32_t sack[4][2];
};

#define DR_MAX_OPTS 16

struct dr_packet {
	bool outbound;
	/* An inbound ICMP Destination Unreachable ("< icmp unreachable CODE
	 * [S:E(L)]") quoting our segment with sequence number seq. */
	bool icmp;
	uint8_t icmp_code;
	uint8_t flags;          /* SN_TH_* */
	uint32_t seq, len;
	bool seq_abs, seq_any;  /* nplab `!` and `...(LEN)` */
	bool has_ack;
	uint32_t ack;
	bool has_win;
	uint32_t win;
	bool opts_any;          /* <...> */
	int nopts;
	struct dr_opt opts[DR_MAX_OPTS];
};

enum dr_akind { DA_INT, DA_ELLIPSIS, DA_LIST, DA_STRUCT, DA_STRING };

/* A syscall argument: an integer (symbols already resolved), `...`, a
 * bracketed list `[...]`, a braced struct `{name=value, ...}`, a string. */
struct dr_arg {
	enum dr_akind kind;
	int64_t v;
	char *field;            /* in a struct: the member's name */
	int n;
	struct dr_arg *items;
};

#define DR_MAX_ARGS 8

struct dr_call {
	char name[24];
	int nargs;
	struct dr_arg args[DR_MAX_ARGS];
	int64_t ret;
	int err;                /* expected errno (positive), 0 if none written */
};

enum dr_shkind {
	SH_IGNORE,   /* a baseline setting: nothing to do */
	SH_STATE,    /* assert how many connections are in a state */
	SH_SYSCTL,   /* a knob the stack has (insecure_rst, ...) */
};

struct dr_shell {
	enum dr_shkind kind;
	int state;              /* SH_STATE: enum sn_tcp_state */
	int count;              /* SH_STATE: expected number; -1: the current connection */
	int knob;               /* SH_SYSCTL: DR_KNOB_* */
	int value;
};

enum {
	DR_KNOB_INSECURE_RST, DR_KNOB_INSECURE_SYN, DR_KNOB_DROP_SYNFIN, DR_KNOB_RFC1323, DR_KNOB_SACK,
	DR_KNOB_KEEPIDLE, DR_KNOB_KEEPINTVL, DR_KNOB_KEEPCNT, /* values: ms, ms, count */
	DR_KNOB_RMEM_MAX, /* Linux tcp_rmem[2], bytes: what defaults.sh sets */
};

enum dr_evkind { DE_PACKET, DE_CALL, DE_SHELL };

struct dr_event {
	int line;
	enum dr_evkind kind;
	struct dr_time t;
	struct dr_packet pkt;
	struct dr_call call;
	struct dr_shell sh;
};

struct dr_script {
	struct dr_event *ev;
	int nev, cap;
	/* Option lines (SPEC 10). */
	int64_t tol_us;
	double tol_pct;
	uint16_t bind_port, connect_port, mtu;
	bool strict_segments;
	uint32_t ts_tick_us;
	bool ecr_scaled;
	bool non_fatal_packet, non_fatal_syscall;
};

/* A name=value given on the command line (-D) or in the script (--define). */
struct dr_define {
	char name[64];
	char value[64];
};

/* Result of parsing or running: a verdict and a message naming the line. */
enum dr_verdict { DR_PASS, DR_FAIL, DR_SKIP };

struct dr_result {
	enum dr_verdict verdict;
	char msg[512];
};

/* Parse text (NUL-terminated). On DR_FAIL (syntax) or DR_SKIP (outside the
 * subset), res says why and s is freed. */
enum dr_verdict dr_parse(const char *text, const struct dr_define *defs, int ndefs,
                         struct dr_script *s, struct dr_result *res);
void dr_script_free(struct dr_script *s);

/* Shell lines and python blocks (drill_shell.c). False: outside the subset,
 * with the reason in why. */
bool dr_parse_shell(const char *text, struct dr_shell *sh, char *why, size_t n);
bool dr_parse_code(const char *text, struct dr_shell *sh, char *why, size_t n);

/* Symbolic names of syscall arguments and errno values (drill_call.c). */
bool dr_symbol(const char *name, int64_t *v);
bool dr_errno(const char *name, int *err);
const char *dr_errno_name(int err);

/* Run a parsed script against a fresh stack with the given profile (drill.c). */
void dr_run(const struct dr_script *s, const char *profile, bool verbose, struct dr_result *res);

#endif
