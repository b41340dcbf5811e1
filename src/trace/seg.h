/*
 * seg.h - a TCP header's options as the trace shows them (struct
 * sn_trace_seg), for the stack's own events and for the ladder reading
 * frames off a link: one mapping for both.
 */
#ifndef SN_TRACE_SEG_H
#define SN_TRACE_SEG_H

#include "synack.h"
#include "wire/wire.h"

static inline void sn_trace_seg_opts(struct sn_trace_seg *seg, const struct sn_tcp_opts *o)
{
	seg->mss = o->has_mss ? o->mss : 0;
	seg->opts = (uint8_t)((o->has_wscale ? SN_TRACE_OPT_WSCALE : 0) |
	                      (o->sack_permitted ? SN_TRACE_OPT_SACK_OK : 0) |
	                      (o->has_ts ? SN_TRACE_OPT_TS : 0));
	seg->wscale = o->has_wscale ? o->wscale : 0;
	seg->num_sack = o->num_sack > 4 ? 4 : o->num_sack;
	for (unsigned i = 0; i < seg->num_sack; i++) {
		seg->sack[i][0] = o->sack[i].left;
		seg->sack[i][1] = o->sack[i].right;
	}
}

#endif /* SN_TRACE_SEG_H */
