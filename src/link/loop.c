/*
 * loop.c - an epoll event loop that drives one stack (see synack.h).
 *
 * One iteration:
 *
 *   arm the timerfd at sn_next_deadline (absolute CLOCK_MONOTONIC time, so
 *       the deadline is met to the microsecond, not rounded to epoll's ms)
 *   epoll_wait (no timeout of its own unless the caller gave one)
 *   TAP readable  -> sn_tap_receive: a batch of frames into sn_input
 *   other fds     -> their watcher (stdin, a signalfd, ...)
 *   sn_poll(now)  -> timers that are due, and output queued by the above
 *   idle hook     -> the program's per-iteration work, then sn_poll again if
 *                    it queued output
 *
 * The stack's clock is CLOCK_MONOTONIC in microseconds, which is also the
 * timerfd's clock: a deadline from the stack is the timer's expiry as is.
 *
 * This is library code beside the drivers, not part of the core: the core
 * never calls it, and a program with its own loop (libuv, libevent, a game
 * loop) ignores it and makes the same three calls itself (docs/LOOP.md).
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "link/link.h"
#include "synack.h"

#define LOOP_MAX_EVENTS 32
#define LOOP_RX_BATCH 64   /* frames per TAP per wake-up, so one busy TAP cannot starve the rest */
#define LOOP_MAX_TAPS 8

struct watch {
	int fd;
	sn_loop_fd_fn fn;
	void *user;
	struct watch *next;
};

/*
 * epoll_event.data.u64 says what became ready: a watched fd is its own
 * number (below 2^32); the timer and the TAPs are tagged above that. The fd
 * is looked up again at dispatch, so a watcher removed by an earlier callback
 * of the same batch is never called.
 */
#define TAG_TIMER (1ull << 32)
#define TAG_TAP (2ull << 32)

struct sn_loop {
	struct sn_stack *stack;
	int epfd, tfd;
	uint64_t armed_us;    /* what the timerfd is set to; SN_TIME_NEVER = disarmed */
	struct {
		struct sn_tap *tap;
		struct sn_netif *netif;
		struct sn_impair *impair;
		bool pending;     /* more frames may wait than one batch took */
	} taps[LOOP_MAX_TAPS];
	int ntaps;
	struct watch *watches;
	sn_loop_idle_fn idle;
	void *idle_user;
	bool stop;
};

uint64_t sn_clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct sn_loop *sn_loop_new(struct sn_stack *stack, int *err)
{
	struct sn_loop *l = calloc(1, sizeof(*l));
	int e = 0;

	if (!l) {
		e = -ENOMEM;
		goto fail;
	}
	l->stack = stack;
	l->armed_us = SN_TIME_NEVER;
	l->epfd = l->tfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->epfd < 0 || l->tfd < 0) {
		e = -errno;
		goto fail;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_TIMER};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->tfd, &ev) < 0) {
		e = -errno;
		goto fail;
	}
	if (err)
		*err = 0;
	return l;
fail:
	if (l) {
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->tfd >= 0)
			close(l->tfd);
		free(l);
	}
	if (err)
		*err = e;
	return NULL;
}

void sn_loop_free(struct sn_loop *l)
{
	if (!l)
		return;
	while (l->watches) {
		struct watch *w = l->watches;
		l->watches = w->next;
		free(w);
	}
	close(l->epfd);
	close(l->tfd);
	free(l);
}

struct sn_stack *sn_loop_stack(const struct sn_loop *l)
{
	return l->stack;
}

int sn_loop_add_tap(struct sn_loop *l, struct sn_tap *tap, struct sn_netif *netif)
{
	if (!tap || !netif)
		return -EINVAL;
	if (l->ntaps == LOOP_MAX_TAPS)
		return -ENOSPC;
	int i = l->ntaps;
	l->taps[i].tap = tap;
	l->taps[i].netif = netif;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_TAP + (uint64_t)i};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, tap->fd, &ev) < 0)
		return -errno;
	l->ntaps++;
	/* Data segments sent in one turn of the loop leave in one TSO write
	 * (tap.c); the loop flushes before it sleeps. Without the virtio-net
	 * header this is refused and frames go one by one. */
	(void)sn_tap_set_coalesce(tap, 1);
	return 0;
}

int sn_loop_add_tap_impaired(struct sn_loop *l, struct sn_tap *tap, struct sn_impair *im)
{
	if (!im)
		return -EINVAL;
	/*
	 * Impairments act on frames, and a frame should be what a wire would
	 * carry: without this the kernel hands over 64 KiB offload segments
	 * (tap.c), and a 2 % frame loss would take out 45 segments' worth of
	 * data at a time. The kernel segments and checksums itself instead.
	 */
	(void)ioctl(tap->fd, TUNSETOFFLOAD, 0ul);
	/* The netif is not needed: the filter knows where its frames go. */
	int e = sn_loop_add_tap(l, tap, (struct sn_netif *)im);
	(void)sn_tap_set_coalesce(tap, 0); /* the filter's frames stay wire-sized too */
	if (e == 0) {
		l->taps[l->ntaps - 1].netif = NULL;
		l->taps[l->ntaps - 1].impair = im;
	}
	return e;
}

/* Let every impairment filter deliver what is due. */
static void poll_filters(struct sn_loop *l, uint64_t now)
{
	for (int t = 0; t < l->ntaps; t++)
		if (l->taps[t].impair)
			sn_impair_poll(l->taps[t].impair, now);
}

int sn_loop_watch(struct sn_loop *l, int fd, unsigned events, sn_loop_fd_fn fn, void *user)
{
	struct watch **pp = &l->watches;
	while (*pp && (*pp)->fd != fd)
		pp = &(*pp)->next;
	struct watch *w = *pp;

	if (!fn) {
		if (!w)
			return -ENOENT;
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		*pp = w->next;
		free(w);
		return 0;
	}
	bool add = !w;
	if (add) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->fd = fd;
	}
	w->fn = fn;
	w->user = user;
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)(unsigned)fd};
	if (epoll_ctl(l->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) < 0) {
		int e = -errno;
		if (add)
			free(w);
		return e;
	}
	if (add) {
		w->next = l->watches;
		l->watches = w;
	}
	return 0;
}

void sn_loop_set_idle(struct sn_loop *l, sn_loop_idle_fn fn, void *user)
{
	l->idle = fn;
	l->idle_user = user;
}

void sn_loop_stop(struct sn_loop *l)
{
	l->stop = true;
}

static void arm_timer(struct sn_loop *l, uint64_t due)
{
	if (due == l->armed_us)
		return;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (due != SN_TIME_NEVER) {
		/* it_value 0 would disarm: a deadline of "now" (0) becomes 1 µs,
		 * which is in the past and fires at once. */
		if (due == 0)
			due = 1;
		its.it_value.tv_sec = (time_t)(due / 1000000u);
		its.it_value.tv_nsec = (long)(due % 1000000u) * 1000;
	}
	timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	l->armed_us = due;
}

static struct watch *watch_find(struct sn_loop *l, int fd)
{
	for (struct watch *w = l->watches; w; w = w->next)
		if (w->fd == fd)
			return w;
	return NULL;
}

/* Write what the TAP drivers hold back for coalescing. */
static void flush_taps(struct sn_loop *l)
{
	for (int t = 0; t < l->ntaps; t++)
		sn_tap_flush(l->taps[t].tap);
}

int sn_loop_run_once(struct sn_loop *l, uint64_t timeout_us)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	bool backlog = false;
	int wait_ms;

	for (int i = 0; i < l->ntaps; i++)
		backlog |= l->taps[i].pending;
	uint64_t due = sn_next_deadline(l->stack);
	for (int t = 0; t < l->ntaps; t++) {
		if (l->taps[t].impair) {
			uint64_t d = sn_impair_next_deadline(l->taps[t].impair);
			if (d < due)
				due = d;
		}
	}
	flush_taps(l); /* frames sent since the last turn (sn_abort's RST, say) */
	uint64_t now = sn_clock_us();
	if (backlog || due <= now || timeout_us == 0) {
		wait_ms = 0;
	} else {
		arm_timer(l, due);
		if (timeout_us == SN_TIME_NEVER)
			wait_ms = -1;
		else
			wait_ms = (int)((timeout_us + 999) / 1000 > 86400000 ? 86400000
			                                                       : (timeout_us + 999) / 1000);
	}
	int n = epoll_wait(l->epfd, evs, LOOP_MAX_EVENTS, wait_ms);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	now = sn_clock_us();
	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;
		if (tag == TAG_TIMER) {
			uint64_t ticks;
			if (read(l->tfd, &ticks, sizeof(ticks)) < 0) {
				/* EAGAIN: re-armed meanwhile; nothing to do. */
			}
			l->armed_us = SN_TIME_NEVER;
			continue;
		}
		if (tag >= TAG_TAP) {
			if (tag - TAG_TAP < (uint64_t)l->ntaps)
				l->taps[tag - TAG_TAP].pending = true;
			continue;
		}
		struct watch *w = watch_find(l, (int)tag);
		if (w)
			w->fn(w->fd, evs[i].events, w->user);
	}
	for (int t = 0; t < l->ntaps; t++) {
		if (!l->taps[t].pending)
			continue;
		int got;
		if (l->taps[t].impair)
			got = sn_tap_read(l->taps[t].tap, sn_impair_input, l->taps[t].impair, now,
			                  LOOP_RX_BATCH);
		else
			got = sn_tap_receive(l->taps[t].tap, l->stack, l->taps[t].netif, now,
			                     LOOP_RX_BATCH);
		/* A full batch means more may be waiting: come back without
		 * sleeping, after the watchers and timers have had their turn. */
		l->taps[t].pending = got == LOOP_RX_BATCH;
	}
	poll_filters(l, now);
	now = sn_clock_us();
	sn_poll(l->stack, now);
	/* The idle hook comes after the timers, so it sees what they did (a
	 * connection that timed out) before the loop sleeps again; what it
	 * queues leaves at once. */
	if (l->idle) {
		l->idle(l, l->idle_user);
		if (sn_next_deadline(l->stack) <= now)
			sn_poll(l->stack, now);
	}
	poll_filters(l, now);
	flush_taps(l);
	return 0;
}

int sn_loop_run(struct sn_loop *l)
{
	l->stop = false;
	while (!l->stop) {
		int e = sn_loop_run_once(l, SN_TIME_NEVER);
		if (e < 0)
			return e;
	}
	return 0;
}

/* ---- the blocking layer ------------------------------------------------ */

static uint64_t deadline_after(uint64_t timeout_us)
{
	if (timeout_us == SN_TIME_NEVER)
		return SN_TIME_NEVER;
	return sn_clock_us() + timeout_us;
}

static uint64_t left_until(uint64_t deadline)
{
	if (deadline == SN_TIME_NEVER)
		return SN_TIME_NEVER;
	uint64_t now = sn_clock_us();
	return deadline > now ? deadline - now : 0;
}

static int so_error(struct sn_sock *s)
{
	int e = 0;
	socklen_t len = sizeof(e);
	sn_getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len);
	return e;
}

static int state_of(const struct sn_sock *s)
{
	struct sn_tcp_info ti;
	if (sn_tcp_info(s, &ti) < 0)
		return SN_CLOSED;
	return ti.state;
}

int sn_loop_connect(struct sn_loop *l, struct sn_sock *s, const struct sockaddr *addr,
                    socklen_t len, uint64_t timeout_us)
{
	uint64_t deadline = deadline_after(timeout_us);
	int r = sn_connect(s, addr, len);
	if (r != -EINPROGRESS)
		return r;
	for (;;) {
		int e = so_error(s);
		if (e)
			return -e;
		int st = state_of(s);
		if (st >= SN_ESTABLISHED)
			return 0;
		if (st == SN_CLOSED)
			return -ECONNABORTED;
		uint64_t left = left_until(deadline);
		if (left == 0)
			return -ETIMEDOUT;
		r = sn_loop_run_once(l, left);
		if (r < 0)
			return r;
	}
}

struct sn_sock *sn_loop_accept(struct sn_loop *l, struct sn_sock *ls, uint64_t timeout_us,
                               int *err)
{
	uint64_t deadline = deadline_after(timeout_us);
	for (;;) {
		int e;
		struct sn_sock *c = sn_accept(ls, NULL, NULL, &e);
		if (c || e != -EAGAIN) {
			if (err)
				*err = c ? 0 : e;
			return c;
		}
		uint64_t left = left_until(deadline);
		if (left == 0 || (e = sn_loop_run_once(l, left)) < 0) {
			if (err)
				*err = left == 0 ? -ETIMEDOUT : e;
			return NULL;
		}
	}
}

ssize_t sn_loop_send_all(struct sn_loop *l, struct sn_sock *s, const void *buf, size_t len,
                         uint64_t timeout_us)
{
	uint64_t deadline = deadline_after(timeout_us);
	size_t done = 0;
	while (done < len) {
		ssize_t n = sn_send(s, (const char *)buf + done, len - done, 0);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n != -EAGAIN)
			return n;
		uint64_t left = left_until(deadline);
		if (left == 0)
			return -ETIMEDOUT;
		int r = sn_loop_run_once(l, left);
		if (r < 0)
			return r;
	}
	return (ssize_t)len;
}

ssize_t sn_loop_recv(struct sn_loop *l, struct sn_sock *s, void *buf, size_t len,
                     uint64_t timeout_us)
{
	uint64_t deadline = deadline_after(timeout_us);
	for (;;) {
		ssize_t n = sn_recv(s, buf, len, 0);
		if (n != -EAGAIN)
			return n;
		uint64_t left = left_until(deadline);
		if (left == 0)
			return -ETIMEDOUT;
		int r = sn_loop_run_once(l, left);
		if (r < 0)
			return r;
	}
}

int sn_loop_close(struct sn_loop *l, struct sn_sock *s, uint64_t timeout_us)
{
	uint64_t deadline = deadline_after(timeout_us);
	int r = sn_shutdown(s, SHUT_WR);
	if (r < 0 && r != -ENOTCONN) {
		sn_close(s);
		return r;
	}
	for (;;) {
		/* Read and discard what the peer still sends, or unread data
		 * would turn the close into a reset. */
		char sink[4096];
		while (sn_recv(s, sink, sizeof(sink), 0) > 0)
			;
		int st = state_of(s);
		if (st == SN_CLOSED || st == SN_TIME_WAIT)
			break;
		uint64_t left = left_until(deadline);
		if (left == 0) {
			sn_close(s);
			return -ETIMEDOUT;
		}
		r = sn_loop_run_once(l, left);
		if (r < 0) {
			sn_close(s);
			return r;
		}
	}
	return sn_close(s);
}
