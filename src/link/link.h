/*
 * link.h - what the drivers in src/link/ offer each other and no one else:
 * the loop (loop.c) drives the TAP driver's send coalescing (tap.c).
 */
#ifndef SN_LINK_H
#define SN_LINK_H

#include "synack.h"

/*
 * Merge consecutive data segments of one flow into one TSO frame (needs the
 * virtio-net header; -EOPNOTSUPP without it). Frames then wait in the driver
 * until sn_tap_flush, which whoever turns this on must call before sleeping.
 * Turning it off flushes.
 */
int sn_tap_set_coalesce(struct sn_tap *t, int on);
/* Write what is pending. 0, or a negative errno from the write. */
int sn_tap_flush(struct sn_tap *t);

#endif /* SN_LINK_H */
