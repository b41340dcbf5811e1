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
 * A segment is drawn when it arrives, as one line carrying the sender's
 * state when it sent it and the receiver's state after processing it:
 *
 *   SYN_SENT     --- SYN seq=1000 ack=0 len=0 win=65535 --->      SYN_RCVD
 *   ESTABLISHED  <-- SYN,ACK seq=8000 ack=1001 len=0 ... ---       SYN_RCVD
 *
 * State changes that no segment line carries (a timer ending TIME-WAIT, an
 * application call that sends nothing) get a line of their own.
 */
#ifndef SN_LADDER_H
#define SN_LADDER_H

#include <stdbool.h>
#include <stdio.h>

#include "synack.h"

struct sn_ladder;

struct sn_ladder *sn_ladder_new(FILE *out, const char *left_name, const char *right_name);
void sn_ladder_free(struct sn_ladder *l); /* flushes first */

/* Context to pass to sn_set_trace for side 0 (left) or 1 (right). */
void *sn_ladder_side(struct sn_ladder *l, int side);

/* sn_trace_fn: ctx is a value from sn_ladder_side. */
void sn_ladder_trace(const struct sn_trace_event *ev, void *ctx);

/* sn_link_observer_fn: ctx is the struct sn_ladder. Memlink end 0 is the left side. */
void sn_ladder_link_observer(void *ctx, int from_end, enum sn_link_event ev, const void *frame,
                             size_t len, uint64_t now_us);

/* Show sequence numbers relative to each side's ISN (as Wireshark does). */
void sn_ladder_set_relative(struct sn_ladder *l, bool relative);

/* Print anything still pending. Call after each sn_input / sn_poll step. */
void sn_ladder_flush(struct sn_ladder *l);

#endif /* SN_LADDER_H */
