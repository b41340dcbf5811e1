/*
 * checksum.c - the Internet checksum, RFC 1071.
 *
 * The checksum is the one's complement of the one's complement sum of the data
 * taken as big-endian 16-bit words. Three properties from RFC 1071 section 2
 * make it cheap to compute:
 *
 *  (A) it is commutative and associative, so words can be added in any order
 *      and in any grouping, and carries can be folded back in at the end;
 *  (B) it is byte-order independent: summing native-order words and swapping
 *      the two bytes of the folded result gives the big-endian sum;
 *  (C) it can be computed on wider words: a 64-bit accumulator absorbs 32-bit
 *      words for a long time before it could overflow, and folding the top
 *      half into the bottom half keeps the value mod 0xffff.
 *
 * One more fact handles pieces that start at an odd offset of the message:
 * moving every byte one position changes each byte's weight by 2^8, and
 * multiplying by 2^8 modulo 0xffff is a rotation of the 16-bit sum by 8 bits.
 *
 * struct sn_csum.sum holds an unfolded sum of big-endian 16-bit words, so the
 * pseudo-header can be added to it with plain integer additions.
 */
#include "wire/wire.h"

#include <string.h>

/*
 * Largest piece summed with one local accumulator. Each 32-bit word adds less
 * than 2^32, so 2^32 words (16 GiB) could overflow 64 bits; 1 GiB keeps a wide
 * margin. It is even, so splitting at it keeps 16-bit word boundaries.
 */
#define CSUM_CHUNK ((size_t)1 << 30)

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && \
	__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define CSUM_NATIVE_IS_BE 1
#else
#define CSUM_NATIVE_IS_BE 0
#endif

/*
 * Reduce a sum to at most 16 bits, preserving its value mod 0xffff (and
 * keeping a non-zero sum non-zero). 2^32 and 2^16 are both 1 mod 0xffff, so
 * a carry out of either half is worth 1 and goes back in at the bottom (the
 * end-around carry). Two halves of 32, then two of 16: adding the word to
 * itself rotated by 16 puts hi + lo + the carry out of lo + hi in the top
 * half. This is every packet's fold, on both paths; it was 14 instructions
 * as four rounds of shift, mask and add, and is 8.
 */
static inline uint32_t fold64(uint64_t s)
{
	uint32_t hi = (uint32_t)(s >> 32);
	uint32_t x = (uint32_t)s + hi;
	x += x < hi;                           /* the carry out of bit 31 */
	x += (x << 16) | (x >> 16);            /* top half: the 16-bit fold */
	return x >> 16;
}

static inline uint32_t load32(const uint8_t *p)
{
	uint32_t v;

	/* memcpy: any alignment, and no aliasing rules broken. */
	memcpy(&v, p, sizeof(v));
	return v;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CSUM_HAVE_AVX2 1

/*
 * Native-order sum of the 16-bit words of n bytes (a multiple of 64), with
 * AVX2: each 32-byte load is widened into eight 32-bit lanes (the words
 * zero-extended, low and high halves separately) and added, two accumulators
 * deep. A lane grows by at most 2 * 0xffff per 64 bytes, so lanes are
 * emptied into the 64-bit total every 16 KiB, long before they could
 * overflow. By RFC 1071 2(C) a sum of 16-bit words and a sum of 32-bit words
 * are the same number modulo 0xffff, so the caller can add this to its own.
 * Measured in docs/PERFORMANCE.md: the checksum was half of the CPU time of a
 * 64 KiB-segment transfer with 32-bit scalar words.
 */
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint8_t *p, size_t n)
{
	const __m256i zero = _mm256_setzero_si256();
	uint64_t total = 0;

	while (n > 0) {
		size_t block = n < 16384 ? n : 16384;
		__m256i a0 = zero, a1 = zero;
		for (size_t i = 0; i < block; i += 64) {
			__m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
			__m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
			a0 = _mm256_add_epi32(a0, _mm256_unpacklo_epi16(v0, zero));
			a1 = _mm256_add_epi32(a1, _mm256_unpackhi_epi16(v0, zero));
			a0 = _mm256_add_epi32(a0, _mm256_unpacklo_epi16(v1, zero));
			a1 = _mm256_add_epi32(a1, _mm256_unpackhi_epi16(v1, zero));
		}
		/* Eight 32-bit lanes of each, widened to 64 bits and added. */
		__m256i s = _mm256_add_epi64(_mm256_unpacklo_epi32(a0, zero),
		                             _mm256_unpackhi_epi32(a0, zero));
		s = _mm256_add_epi64(s, _mm256_unpacklo_epi32(a1, zero));
		s = _mm256_add_epi64(s, _mm256_unpackhi_epi32(a1, zero));
		uint64_t lane[4];
		_mm256_storeu_si256((__m256i *)(void *)lane, s);
		total += lane[0] + lane[1] + lane[2] + lane[3];
		p += block;
		n -= block;
	}
	return total;
}

static bool cpu_has_avx2(void)
{
	static int has = -1; /* a benign race: every thread computes the same value */
	if (has < 0) {
		__builtin_cpu_init();
		has = __builtin_cpu_supports("avx2") ? 1 : 0;
	}
	return has == 1;
}
#else
#define CSUM_HAVE_AVX2 0
#endif

/*
 * Big-endian 16-bit sum (folded to <= 0xffff, before complement) of n bytes
 * that start on a word boundary of the message. n <= CSUM_CHUNK.
 */
static uint32_t sum_piece(const uint8_t *p, size_t n)
{
	uint64_t acc = 0;
	uint32_t s;
	uint16_t w;

#if CSUM_HAVE_AVX2
	/* Short pieces (headers, options) are not worth the vector set-up. */
	if (n >= 256 && cpu_has_avx2()) {
		size_t v = n & ~(size_t)63;
		acc = sum_avx2(p, v);
		p += v;
		n -= v;
	}
#endif

	/* Eight independent loads per round let the compiler pipeline or
	 * vectorise; the 64-bit accumulator defers every carry to fold64. */
	while (n >= 32) {
		acc += load32(p);
		acc += load32(p + 4);
		acc += load32(p + 8);
		acc += load32(p + 12);
		acc += load32(p + 16);
		acc += load32(p + 20);
		acc += load32(p + 24);
		acc += load32(p + 28);
		p += 32;
		n -= 32;
	}
	while (n >= 4) {
		acc += load32(p);
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		memcpy(&w, p, sizeof(w));
		acc += w;
		p += 2;
		n -= 2;
	}

	s = fold64(acc);
#if !CSUM_NATIVE_IS_BE
	/* RFC 1071 2(B): swap the folded native sum into network order. */
	s = ((s & 0xffu) << 8) | (s >> 8);
#endif
	/* A trailing byte is the high half of a word padded with zero. */
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

void sn_csum_init(struct sn_csum *c)
{
	c->sum = 0;
	c->odd = false;
}

void sn_csum_add(struct sn_csum *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		size_t n = len < CSUM_CHUNK ? len : CSUM_CHUNK;
		uint32_t s = sum_piece(p, n);

		if (c->odd) {
			/* This piece starts at an odd offset of the message:
			 * every byte sits one position later than sum_piece
			 * assumed, which is a rotation by 8 of the folded sum. */
			s = (s >> 16) + (s & 0xffffu);
			s = ((s & 0xffu) << 8) | (s >> 8);
		}
		c->sum += s;
		c->odd ^= (n & 1) != 0;
		p += n;
		len -= n;
	}
}

uint16_t sn_csum_fold(const struct sn_csum *c)
{
	return (uint16_t)~fold64(c->sum);
}

uint16_t sn_csum_any(const void *data, size_t len)
{
	const uint8_t *p = data;
	struct sn_csum c;

	if (len <= CSUM_CHUNK)
		return (uint16_t)~fold64(sum_piece(p, len));
	sn_csum_init(&c);
	sn_csum_add(&c, data, len);
	return sn_csum_fold(&c);
}

void sn_csum_pseudo(struct sn_csum *c, uint32_t src, uint32_t dst, uint8_t proto,
                    uint16_t len)
{
	/* RFC 9293 3.1: source, destination, zero, protocol, TCP length. The
	 * zero byte and the protocol form one 16-bit word. */
	c->sum = (uint64_t)(src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) +
	         proto + len;
	c->odd = false;
}
