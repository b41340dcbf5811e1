/*
 * ladder.h - print a textbook ladder diagram of a TCP conversation.
 *
 * Two columns, "left" (usually the client) and "right" (the server). Install
 * sn_ladder_trace as the trace function of each stack with the matching side
 * as context, and (optionally) sn_ladder_link_observer on the memlink between
 * them so that frames lost on the wire are drawn too:
 *
 *   sn_set_trace(client, sn_ladder_trace, sn_ladder_side(l, 0));
 *   sn_set_trace(server, sn_ladder_trace, sn_ladder_side(l, 1));
 *   sn_memlink_set_observer(link, sn_ladder_link_observer, l);
 *
 * A segment is drawn when it arrives, as one line carrying the time in ms,
 * the sender's state when it sent it and the receiver's state after
 * processing it (ack= only when ACK is set, <mss N> only when the option is):
 *
 *      0.010  SYN_SENT     --- SYN seq=1000 len=0 win=65535 <mss 1460> ---->  SYN_RCVD
 *      0.020  ESTABLISHED  <-- SYN,ACK seq=8000 ack=1001 len=0 ... ---------  SYN_RCVD
 *
 * A segment lost on the link ends in X with "(lost)"; one the receiver
 * discards ends with "(dropped: <reason>)". State changes that no segment
 * line carries (a timer ending TIME-WAIT, an application call that sends
 * nothing) get a line of their own, "TIME_WAIT -> CLOSED", in that side's
 * column; timers that fire get a note, "(rexmt timer)". Once a second
 * connection appears, lines start with its client's port, "[40002]".
 */
#ifndef SN_LADDER_H
#define SN_LADDER_H

#include <stdbool.h>
#include <stdio.h>

#include "synack.h"

struct sn_ladder;

/* NULL if out is NULL or memory runs out. Names may be NULL ("left", "right").
 * The ladder writes to out but never flushes or closes it. */
struct sn_ladder *sn_ladder_new(FILE *out, const char *left_name, const char *right_name);
/* Prints everything still pending, then frees. NULL is a no-op. */
void sn_ladder_free(struct sn_ladder *l);

/* Context to pass to sn_set_trace for side 0 (left) or 1 (right); NULL for
 * any other side. */
void *sn_ladder_side(struct sn_ladder *l, int side);

/* sn_trace_fn: ctx is a value from sn_ladder_side. */
void sn_ladder_trace(const struct sn_trace_event *ev, void *ctx);

/* sn_link_observer_fn: ctx is the struct sn_ladder. Memlink end 0 is the left side. */
void sn_ladder_link_observer(void *ctx, int from_end, enum sn_link_event ev, const void *frame,
                             size_t len, uint64_t now_us);

/* Show sequence numbers relative to each side's ISN (as Wireshark does);
 * absolute by default. Numbers of a direction whose SYN was never seen stay
 * absolute. */
void sn_ladder_set_relative(struct sn_ladder *l, bool relative);

/*
 * Print anything still pending. Call after each sn_input / sn_poll step, so
 * lines come out in time order. The change made by a connect or close is
 * kept back until the SYN or FIN it sends (perhaps at the next sn_poll) can
 * show it, or until something else happens to that connection.
 */
void sn_ladder_flush(struct sn_ladder *l);

#endif /* SN_LADDER_H */
