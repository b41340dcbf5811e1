/*
 * simnet.c - see simnet.h. The loop is the whole of an event-driven driver:
 * find the earliest deadline, move the clock there, deliver frames, poll.
 */
#include <errno.h>
#include <string.h>

#include "sim/simnet.h"

/* With the frame's SN_RX_* flags: the memlink's offload mode sets some. */
static void deliver0(void *ctx, const void *frame, size_t len, unsigned rx_flags, uint64_t now_us)
{
	struct sn_simnet *n = ctx;
	sn_input_ex(n->stack[0], n->netif[0], frame, len, rx_flags, now_us);
}

static void deliver1(void *ctx, const void *frame, size_t len, unsigned rx_flags, uint64_t now_us)
{
	struct sn_simnet *n = ctx;
	sn_input_ex(n->stack[1], n->netif[1], frame, len, rx_flags, now_us);
}

int sn_simnet_init(struct sn_simnet *n, const struct sn_config *cfg0,
                   const struct sn_config *cfg1, uint64_t seed, uint64_t delay_us)
{
	return sn_simnet_init_offload(n, cfg0, cfg1, seed, delay_us, 0);
}

int sn_simnet_init_offload(struct sn_simnet *n, const struct sn_config *cfg0,
                           const struct sn_config *cfg1, uint64_t seed, uint64_t delay_us,
                           int offload)
{
	memset(n, 0, sizeof(*n));
	n->wake_us = SN_TIME_NEVER;
	n->link = sn_memlink_new(seed);
	if (!n->link)
		return -ENOMEM;
	struct sn_link_impair imp = {.delay_us = delay_us};
	sn_memlink_set_impair(n->link, 0, &imp);
	sn_memlink_set_impair(n->link, 1, &imp);
	sn_memlink_set_offload(n->link, offload);
	sn_memlink_set_deliver_ex(n->link, 0, deliver0, n);
	sn_memlink_set_deliver_ex(n->link, 1, deliver1, n);
	const struct sn_config *cfg[2] = {cfg0, cfg1};
	for (int i = 0; i < 2; i++) {
		n->stack[i] = sn_stack_new(cfg[i]);
		if (!n->stack[i]) {
			sn_simnet_free(n);
			return -ENOMEM;
		}
		struct sn_netif_config nc = {
			.addr.s_addr = htonl(SN_SIMNET_ADDR(i)),
			.prefix_len = 24,
			.mtu = 1500,
			.mac = {0x02, 0, 0, 0, 0, (uint8_t)(i + 1)},
		};
		int err;
		n->netif[i] = sn_netif_add(n->stack[i], sn_memlink_ops(), sn_memlink_end(n->link, i),
		                           &nc, &err);
		if (!n->netif[i]) {
			sn_simnet_free(n);
			return err;
		}
	}
	return 0;
}

void sn_simnet_free(struct sn_simnet *n)
{
	for (int i = 0; i < 2; i++) {
		sn_stack_free(n->stack[i]);
		n->stack[i] = NULL;
	}
	sn_memlink_free(n->link);
	n->link = NULL;
}

struct sockaddr_in sn_simnet_sockaddr(int end, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
	                        .sin_addr.s_addr = htonl(SN_SIMNET_ADDR(end))};
	return a;
}

void sn_simnet_wake_at(struct sn_simnet *n, uint64_t t)
{
	if (t < n->wake_us)
		n->wake_us = t;
}

bool sn_simnet_step(struct sn_simnet *n, uint64_t limit_us)
{
	uint64_t next = sn_memlink_next_deadline(n->link);
	for (int i = 0; i < 2; i++) {
		uint64_t d = sn_next_deadline(n->stack[i]);
		if (d < next)
			next = d;
	}
	if (n->wake_us < next)
		next = n->wake_us;
	if (next == SN_TIME_NEVER || next > limit_us)
		return false;
	if (next > n->now_us)
		n->now_us = next;
	if (n->wake_us <= n->now_us)
		n->wake_us = SN_TIME_NEVER;
	n->steps++;
	sn_memlink_poll(n->link, n->now_us);
	for (int i = 0; i < 2; i++)
		sn_poll(n->stack[i], n->now_us);
	if (n->after_step)
		n->after_step(n, n->after_step_ctx);
	return true;
}

void sn_simnet_run_until(struct sn_simnet *n, uint64_t limit_us)
{
	while (sn_simnet_step(n, limit_us))
		;
	/* Time passes for the stacks too, so that what the caller does next is
	 * stamped with the new time. */
	if (n->now_us < limit_us && limit_us != SN_TIME_NEVER) {
		n->now_us = limit_us;
		for (int i = 0; i < 2; i++)
			sn_poll(n->stack[i], n->now_us);
		if (n->after_step)
			n->after_step(n, n->after_step_ctx);
	}
}
