/*
 * rand.h - a small seeded PRNG (xoshiro256**, seeded through splitmix64).
 *
 * Not for secrets: ISNs use SipHash under a key from getrandom (tcp/isn.c).
 * This is for choices that must be reproducible from a seed: ephemeral ports,
 * IP IDs, and the memlink's impairments.
 */
#ifndef SN_RAND_H
#define SN_RAND_H

#include <stdint.h>

struct sn_rand {
	uint64_t s[4];
};

static inline uint64_t sn_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void sn_rand_seed(struct sn_rand *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = sn_splitmix64(&seed);
}

static inline uint64_t sn_rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t sn_rand_next(struct sn_rand *r)
{
	uint64_t *s = r->s;
	uint64_t result = sn_rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = sn_rotl64(s[3], 45);
	return result;
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias < 2^-32 for our n). */
static inline uint32_t sn_rand_below(struct sn_rand *r, uint32_t n)
{
	return (uint32_t)(((sn_rand_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* True with probability ppm / 1e6. */
static inline int sn_rand_ppm(struct sn_rand *r, uint32_t ppm)
{
	return ppm && sn_rand_below(r, 1000000) < ppm;
}

#endif /* SN_RAND_H */
