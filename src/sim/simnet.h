/*
 * simnet.h - two stacks joined by a memlink, driven by a virtual clock.
 *
 * The deterministic world the demo, the simulation tests and (later) the
 * packetdrill interpreter live in. End 0 is 198.18.0.1, end 1 198.18.0.2,
 * both on 198.18.0.0/24 with MTU 1500. Time starts at 0 and only moves when
 * sn_simnet_step jumps it to the next thing that is due: a frame arriving, a
 * stack timer, or a wake-up the caller asked for.
 */
#ifndef SN_SIMNET_H
#define SN_SIMNET_H

#include <stdbool.h>
#include <stdint.h>

#include "synack.h"

#define SN_SIMNET_ADDR(end) (0xc6120001u + (uint32_t)(end)) /* 198.18.0.1 + end */

struct sn_simnet {
	struct sn_memlink *link;
	struct sn_stack *stack[2];
	struct sn_netif *netif[2];
	uint64_t now_us;
	uint64_t wake_us;     /* caller's next wake-up, SN_TIME_NEVER if none */
	uint64_t steps;
	/* Called after every step, e.g. to flush a ladder. */
	void (*after_step)(struct sn_simnet *n, void *ctx);
	void *after_step_ctx;
};

/* cfg[i] may be NULL for defaults. delay_us is the one-way delay both ways.
 * Returns 0 or a negative errno. */
int sn_simnet_init(struct sn_simnet *n, const struct sn_config *cfg0,
                   const struct sn_config *cfg1, uint64_t seed, uint64_t delay_us);
/* The same with the memlink's offload mode on (sn_memlink_set_offload):
 * segmentation and checksum offload, super-segments carried whole. */
int sn_simnet_init_offload(struct sn_simnet *n, const struct sn_config *cfg0,
                           const struct sn_config *cfg1, uint64_t seed, uint64_t delay_us,
                           int offload);
void sn_simnet_free(struct sn_simnet *n);

/* struct sockaddr_in for an end's address and a port. */
struct sockaddr_in sn_simnet_sockaddr(int end, uint16_t port);

/* Ask to be woken (step returns) at t. Keeps the earliest pending wake-up. */
void sn_simnet_wake_at(struct sn_simnet *n, uint64_t t);

/*
 * Jump to the next due time (if it is <= limit_us) and process everything due
 * then: frames, both stacks' timers and queued output. Returns false, without
 * moving past limit_us, when nothing is due by then.
 */
bool sn_simnet_step(struct sn_simnet *n, uint64_t limit_us);

/* Step until virtual time limit_us is reached or nothing remains scheduled. */
void sn_simnet_run_until(struct sn_simnet *n, uint64_t limit_us);

#endif /* SN_SIMNET_H */
