/*
 * sack.c - the sender's SACK scoreboard; see sack.h.
 */
#include "tcp/sack.h"

#include <string.h>

#include "tcp/seq.h"

static void recount(struct sn_sackboard *b)
{
	uint32_t sum = 0;
	for (uint32_t i = 0; i < b->n; i++)
		sum += b->r[i].end - b->r[i].start;
	b->sacked = sum;
}

bool sn_sack_add(struct sn_sackboard *b, uint32_t start, uint32_t end, uint32_t una,
                 uint32_t snd_max)
{
	if (!sn_seq_lt(start, end) || sn_seq_gt(end, snd_max) || sn_seq_leq(end, una))
		return false;
	if (sn_seq_lt(start, una))
		start = una;

	/* Ranges wholly before the block stay; ranges that overlap or touch it
	 * are swallowed into it; the rest stay after it. */
	uint32_t i = 0;
	while (i < b->n && sn_seq_lt(b->r[i].end, start))
		i++;
	uint32_t j = i;
	uint32_t ns = start, ne = end;
	while (j < b->n && sn_seq_leq(b->r[j].start, end)) {
		ns = sn_seq_min(ns, b->r[j].start);
		ne = sn_seq_max(ne, b->r[j].end);
		j++;
	}
	if (j == i + 1 && b->r[i].start == ns && b->r[i].end == ne)
		return false; /* nothing new */
	uint32_t after = b->n - j;
	if (j == i && b->n == SN_SACK_RANGES)
		return false; /* no room for a new range: forget the block */
	/* One range replaces r[i..j). */
	memmove(&b->r[i + 1], &b->r[j], after * sizeof(b->r[0]));
	b->r[i] = (struct sn_sack_range){ns, ne};
	b->n = i + 1 + after;
	uint32_t before = b->sacked;
	recount(b);
	return b->sacked != before;
}

void sn_sack_trim(struct sn_sackboard *b, uint32_t una)
{
	uint32_t i = 0;
	while (i < b->n && sn_seq_leq(b->r[i].end, una))
		i++;
	if (i > 0) {
		memmove(&b->r[0], &b->r[i], (b->n - i) * sizeof(b->r[0]));
		b->n -= i;
	}
	if (b->n > 0 && sn_seq_lt(b->r[0].start, una))
		b->r[0].start = una;
	recount(b);
}

uint32_t sn_sack_high(const struct sn_sackboard *b, uint32_t una)
{
	return b->n ? b->r[b->n - 1].end : una;
}

bool sn_sack_has(const struct sn_sackboard *b, uint32_t seq, uint32_t *end)
{
	for (uint32_t i = 0; i < b->n; i++) {
		if (sn_seq_lt(seq, b->r[i].start))
			return false;
		if (sn_seq_lt(seq, b->r[i].end)) {
			if (end)
				*end = b->r[i].end;
			return true;
		}
	}
	return false;
}

uint32_t sn_sack_next_start(const struct sn_sackboard *b, uint32_t seq, uint32_t limit)
{
	for (uint32_t i = 0; i < b->n; i++)
		if (sn_seq_geq(b->r[i].start, seq))
			return sn_seq_min(b->r[i].start, limit);
	return limit;
}

/* The hole just below range i is lost if what lies above it says so:
 * i.e. the ranges i..n-1. */
static bool hole_lost(const struct sn_sackboard *b, uint32_t i, uint32_t smss)
{
	uint32_t above = 0;
	for (uint32_t k = i; k < b->n; k++)
		above += b->r[k].end - b->r[k].start;
	return b->n - i >= SN_SACK_DUPTHRESH || above > (SN_SACK_DUPTHRESH - 1) * smss;
}

bool sn_sack_is_lost(const struct sn_sackboard *b, uint32_t seq, uint32_t smss)
{
	uint32_t i = 0;
	while (i < b->n && sn_seq_leq(b->r[i].start, seq))
		i++;
	return i < b->n && hole_lost(b, i, smss);
}

/* Octets of [a, b) below high_rxt: those we have sent twice. */
static uint32_t resent(uint32_t a, uint32_t b, uint32_t high_rxt)
{
	uint32_t top = sn_seq_min(b, high_rxt);
	return sn_seq_gt(top, a) ? top - a : 0;
}

uint32_t sn_sack_pipe(const struct sn_sackboard *b, uint32_t una, uint32_t snd_max,
                      uint32_t high_rxt, uint32_t smss)
{
	uint32_t pipe = 0;
	uint32_t a = una;
	for (uint32_t i = 0; i <= b->n; i++) {
		/* The hole [a, end): below range i, or above the last range. */
		uint32_t end = i < b->n ? b->r[i].start : snd_max;
		if (sn_seq_gt(end, a)) {
			if (i == b->n || !hole_lost(b, i, smss))
				pipe += end - a;
			pipe += resent(a, end, high_rxt);
		}
		if (i < b->n)
			a = sn_seq_max(a, b->r[i].end);
	}
	return pipe;
}

bool sn_sack_next_hole(const struct sn_sackboard *b, uint32_t una, uint32_t high_rxt,
                       uint32_t smss, bool lost_only, uint32_t *seq, uint32_t *len)
{
	uint32_t a = una;
	for (uint32_t i = 0; i < b->n; i++) {
		uint32_t end = b->r[i].start;
		uint32_t from = sn_seq_max(a, high_rxt);
		if (sn_seq_lt(from, end)) {
			/* Fewer octets lie SACKed above each later hole, so once
			 * one hole is not lost, none after it is. */
			if (lost_only && !hole_lost(b, i, smss))
				return false;
			*seq = from;
			*len = end - from < smss ? end - from : smss;
			return true;
		}
		a = sn_seq_max(a, b->r[i].end);
	}
	return false;
}
