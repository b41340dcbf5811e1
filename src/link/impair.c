/*
 * impair.c - loss, delay, reordering, duplication and corruption as a filter
 * between a stack and any netif driver.
 *
 *   stack --transmit--> memlink end 0 ~~~> end 1 --deliver--> inner transmit
 *   stack <--sn_input-- memlink end 0 <~~~ end 1 <--sn_impair_input-- driver
 *
 * The filter is a memlink whose far end is the real driver: the memlink
 * already implements every impairment, seeded and in a fixed order of random
 * draws, so a TAP run with impairments is as reproducible as the driver's own
 * timing allows. The cost is that frames wait in the memlink until
 * sn_impair_poll runs (at once when nothing delays them): the driving loop
 * must call it after sn_input / sn_poll and wake at sn_impair_next_deadline.
 */
#include <errno.h>
#include <stdlib.h>

#include "synack.h"

struct sn_impair {
	struct sn_memlink *link;
	const struct sn_netif_ops *inner;
	void *inner_ctx;
	struct sn_stack *stack;   /* where frames from the driver go */
	struct sn_netif *netif;
	uint64_t inner_errors;
};

/* Out of the far end: hand the frame to the real driver. */
static void to_driver(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct sn_impair *im = ctx;
	if (im->inner->transmit(im->inner_ctx, frame, len, now_us) < 0)
		im->inner_errors++;
}

/* Out of the near end: hand the frame to the stack. */
static void to_stack(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct sn_impair *im = ctx;
	if (im->stack && im->netif)
		sn_input(im->stack, im->netif, frame, len, now_us);
}

struct sn_impair *sn_impair_new(const struct sn_netif_ops *inner, void *inner_ctx, uint64_t seed)
{
	if (!inner || !inner->transmit)
		return NULL;
	struct sn_impair *im = calloc(1, sizeof(*im));
	if (!im)
		return NULL;
	im->link = sn_memlink_new(seed);
	if (!im->link) {
		free(im);
		return NULL;
	}
	im->inner = inner;
	im->inner_ctx = inner_ctx;
	sn_memlink_set_deliver(im->link, 0, to_stack, im);
	sn_memlink_set_deliver(im->link, 1, to_driver, im);
	return im;
}

void sn_impair_free(struct sn_impair *im)
{
	if (!im)
		return;
	sn_memlink_free(im->link);
	free(im);
}

const struct sn_netif_ops *sn_impair_ops(void)
{
	return sn_memlink_ops();
}

void *sn_impair_ctx(struct sn_impair *im)
{
	return sn_memlink_end(im->link, 0);
}

void sn_impair_attach(struct sn_impair *im, struct sn_stack *stack, struct sn_netif *netif)
{
	im->stack = stack;
	im->netif = netif;
}

int sn_impair_set(struct sn_impair *im, int dir, const struct sn_link_impair *imp)
{
	if (dir != SN_DIR_IN && dir != SN_DIR_OUT)
		return -EINVAL;
	/* Frames the stack sends enter at end 0; frames it receives at end 1. */
	sn_memlink_set_impair(im->link, dir == SN_DIR_OUT ? 0 : 1, imp);
	return 0;
}

void sn_impair_input(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct sn_impair *im = ctx;
	sn_memlink_ops()->transmit(sn_memlink_end(im->link, 1), frame, len, now_us);
}

void sn_impair_poll(struct sn_impair *im, uint64_t now_us)
{
	sn_memlink_poll(im->link, now_us);
}

uint64_t sn_impair_next_deadline(const struct sn_impair *im)
{
	return sn_memlink_next_deadline(im->link);
}

void sn_impair_set_observer(struct sn_impair *im, sn_link_observer_fn fn, void *ctx)
{
	sn_memlink_set_observer(im->link, fn, ctx);
}
