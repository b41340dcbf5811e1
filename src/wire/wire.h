/*
 * wire.h - encoding and decoding of Ethernet, ARP, IPv4, ICMP and TCP.
 *
 * Pure functions over byte buffers. A parser checks every length and offset
 * before it reads, fills a host-order struct, and returns SN_WIRE_OK or the
 * reason the bytes were rejected (the caller counts it). Once a parser has
 * returned SN_WIRE_OK, everything in the struct is safe to use. Emitters write
 * into a caller-supplied buffer and return the number of bytes written, or 0
 * if the buffer is too small.
 *
 * Nothing here knows about connections, sockets or the stack.
 * All multi-byte fields in the structs are in host byte order, including IPv4
 * addresses (uint32_t, 198.18.0.1 == 0xc6120001).
 */
#ifndef SN_WIRE_H
#define SN_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum sn_wire_err {
	SN_WIRE_OK = 0,
	SN_WIRE_SHORT,        /* buffer shorter than the fixed header */
	SN_WIRE_BAD_LEN,      /* a length field disagrees with the buffer */
	SN_WIRE_BAD_VERSION,  /* IPv4 version != 4 */
	SN_WIRE_BAD_HDR,      /* IHL < 5, TCP data offset < 5 or past the end, ... */
	SN_WIRE_BAD_CSUM,     /* checksum does not verify */
	SN_WIRE_FRAGMENT,     /* IPv4 fragment (MF set or offset != 0) */
	SN_WIRE_BAD_OPTION,   /* TCP option length 0/1 where >= 2 is required, runs
	                         off the header, or wrong length for a known kind */
	SN_WIRE_UNSUPPORTED,  /* well-formed but not something we speak (ARP for
	                         another hardware type, ICMP type we ignore, ...) */
};
const char *sn_wire_err_str(enum sn_wire_err e);

/* ---- checksum ---------------------------------------------------------- */

/*
 * Internet checksum (RFC 1071) accumulated 64 bits at a time. Accumulate any
 * number of pieces with sn_csum_add (each piece may have any length and
 * alignment; pieces after an odd-length piece are handled correctly), then fold
 * with sn_csum_fold, which returns the one's complement of the folded sum,
 * ready to store in the header (so a buffer that includes a correct checksum
 * folds to 0).
 */
struct sn_csum {
	uint64_t sum;
	bool odd; /* an odd number of bytes has been added so far */
};
void sn_csum_init(struct sn_csum *c);
void sn_csum_add(struct sn_csum *c, const void *data, size_t len);
uint16_t sn_csum_fold(const struct sn_csum *c);

/* Checksum of a single buffer (the value to store, in host order; store with
 * big-endian byte order): sn_csum, defined below sn_get32. */
uint16_t sn_csum_any(const void *data, size_t len);

/* Start a TCP/UDP checksum with the IPv4 pseudo-header. */
void sn_csum_pseudo(struct sn_csum *c, uint32_t src, uint32_t dst, uint8_t proto,
                    uint16_t len);

/* ---- Ethernet II ----------------------------------------------------- */

#define SN_ETH_HLEN 14
#define SN_ETHERTYPE_IPV4 0x0800
#define SN_ETHERTYPE_ARP 0x0806

struct sn_eth {
	uint8_t dst[6];
	uint8_t src[6];
	uint16_t type;
};
/* The payload starts at SN_ETH_HLEN. 802.1Q tags are not parsed (type is 0x8100). */
enum sn_wire_err sn_eth_parse(const uint8_t *buf, size_t len, struct sn_eth *out);
size_t sn_eth_emit(uint8_t *buf, size_t cap, const struct sn_eth *h);

/* ---- ARP (Ethernet / IPv4 only) ------------------------------------- */

#define SN_ARP_LEN 28
enum { SN_ARP_REQUEST = 1, SN_ARP_REPLY = 2 };

struct sn_arp {
	uint16_t op;
	uint8_t sha[6];
	uint32_t spa;
	uint8_t tha[6];
	uint32_t tpa;
};
/* Rejects htype != 1, ptype != 0x0800, hlen != 6, plen != 4 (UNSUPPORTED),
 * op not 1 or 2 (UNSUPPORTED), len < 28 (SHORT). Trailing padding allowed. */
enum sn_wire_err sn_arp_parse(const uint8_t *buf, size_t len, struct sn_arp *out);
size_t sn_arp_emit(uint8_t *buf, size_t cap, const struct sn_arp *a);

/* ---- IPv4 ------------------------------------------------------------ */

#define SN_IPV4_HLEN 20
#define SN_IPPROTO_ICMP 1
#define SN_IPPROTO_TCP 6

struct sn_ipv4 {
	uint8_t hdr_len;     /* bytes, 20..60 */
	uint8_t tos;
	uint16_t total_len;  /* from the header; <= buffer length */
	uint16_t id;
	bool df;
	uint8_t ttl;
	uint8_t proto;
	uint32_t src, dst;
	/* payload = buf + hdr_len, payload_len = total_len - hdr_len. Bytes past
	 * total_len in the buffer (Ethernet padding) are ignored. */
	size_t payload_off;
	size_t payload_len;
};
/*
 * Checks version, IHL >= 5, hdr_len <= total_len <= len, the header checksum,
 * and rejects fragments (SN_WIRE_FRAGMENT) after the other checks pass.
 * IP options are skipped.
 */
enum sn_wire_err sn_ipv4_parse(const uint8_t *buf, size_t len, struct sn_ipv4 *out);
/*
 * Write a 20-byte header with no options: version 4, IHL 5, the given tos,
 * total_len, id, ttl, proto, src, dst; DF set when h->df; fragment offset 0;
 * header checksum computed. Ignores hdr_len/payload_* in h.
 */
size_t sn_ipv4_emit(uint8_t *buf, size_t cap, const struct sn_ipv4 *h);

/* ---- ICMP ------------------------------------------------------------ */

enum { SN_ICMP_ECHO_REPLY = 0, SN_ICMP_DEST_UNREACH = 3, SN_ICMP_ECHO_REQUEST = 8 };

struct sn_icmp {
	uint8_t type, code;
	uint16_t id, seq;  /* echo request/reply */
	size_t data_off;   /* echo data after the 8-byte header */
	size_t data_len;
};
/* Verifies the checksum over the whole message (len bytes). Any type parses;
 * id/seq are read from bytes 4..7 regardless. SHORT if len < 8. */
enum sn_wire_err sn_icmp_parse(const uint8_t *buf, size_t len, struct sn_icmp *out);
/* Header (8 bytes) + data, with checksum. Returns 8 + data_len, or 0. */
size_t sn_icmp_emit(uint8_t *buf, size_t cap, const struct sn_icmp *h, const uint8_t *data,
                    size_t data_len);

/* ---- TCP ------------------------------------------------------------- */

#define SN_TCP_HLEN 20
#define SN_TCP_MAX_HLEN 60
#define SN_TCP_MAX_SACK 4

/* Option kinds, RFC 9293 3.2, RFC 7323, RFC 2018. */
enum {
	SN_TCPOPT_EOL = 0,
	SN_TCPOPT_NOP = 1,
	SN_TCPOPT_MSS = 2,
	SN_TCPOPT_WSCALE = 3,
	SN_TCPOPT_SACK_PERM = 4,
	SN_TCPOPT_SACK = 5,
	SN_TCPOPT_TIMESTAMP = 8,
};

struct sn_sack_block {
	uint32_t left, right;
};

struct sn_tcp_opts {
	bool has_mss, has_wscale, sack_permitted, has_ts;
	uint16_t mss;
	uint8_t wscale;              /* as received; the caller clamps to 14 (RFC 7323 2.3) */
	uint32_t ts_val, ts_ecr;
	uint8_t num_sack;            /* 0..4 */
	struct sn_sack_block sack[SN_TCP_MAX_SACK];
};

struct sn_tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t hdr_len;             /* bytes, 20..60 */
	uint8_t flags;               /* SN_TH_* from synack.h: FIN SYN RST PSH ACK URG ECE CWR */
	uint16_t wnd;
	uint16_t csum;               /* as received */
	uint16_t urp;
	struct sn_tcp_opts opts;
	size_t payload_off;          /* == hdr_len */
	size_t payload_len;
};

/*
 * Parse a TCP segment of exactly len bytes (the IPv4 payload). When
 * verify_csum is true, the checksum over the pseudo-header (src, dst) and the
 * whole segment must verify (and a segment over 65535 bytes, whose length the
 * pseudo-header cannot carry, is BAD_LEN). Option rules:
 *  - EOL ends option processing; NOP is one byte;
 *  - every other option has a length byte >= 2 that must not run past hdr_len
 *    (BAD_OPTION if it is 0 or 1, or runs off the end, or a kind byte is the
 *    last byte with no room for its length);
 *  - MSS must have length 4, WSCALE 3, SACK_PERM 2, TIMESTAMP 10, SACK
 *    2 + 8n with n >= 1 (BAD_OPTION otherwise); at most 4 blocks fit in 40
 *    bytes, so a longer SACK option always runs off the header;
 *  - unknown kinds are skipped by their length.
 */
enum sn_wire_err sn_tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
                              bool verify_csum, struct sn_tcp *out);

/*
 * Write the TCP header with options into buf. Options present in h->opts are
 * written in the order given by `order`, a string of letters: M = MSS,
 * S = SACK-permitted, T = timestamps, W = window scale, K = SACK blocks.
 * NULL means "MSTWK", the order Linux uses. Each option is NOP-aligned the
 * conventional way:
 *   MSS:              02 04 mm mm
 *   SACK_PERM then TS (adjacent in order, both present):
 *                     04 02 08 0a <tsval> <tsecr>
 *   TS otherwise:     01 01 08 0a <tsval> <tsecr>
 *   SACK_PERM otherwise: 01 01 04 02
 *   WSCALE:           01 03 03 ss
 *   SACK blocks:      01 01 05 (2+8n) <blocks>
 * An order starting with 'b' ("bMWST") uses FreeBSD's layout instead: each
 * option at its own alignment (MSS 4n, WSCALE 4n+1, SACK_PERM 2n, TS and SACK
 * blocks 4n+2) with NOPs before it, e.g. <mss,nop,wscale,sackOK,TS> and
 * <mss,sackOK,eol,eol>.
 * The header length is rounded up to a multiple of 4 (padded with EOL = 0).
 * hdr_len, payload_* and csum in h are ignored. The checksum field is written
 * as 0; call sn_tcp_set_csum once the payload follows the header.
 * Returns the header length (20..60), or 0 if cap is too small or the options
 * do not fit in 40 bytes (buf may then hold some of the options).
 */
size_t sn_tcp_emit(uint8_t *buf, size_t cap, const struct sn_tcp *h, const char *order);

/* Compute and store the checksum of a TCP segment of seg_len bytes (header and
 * payload contiguous in seg). */
void sn_tcp_set_csum(uint8_t *seg, size_t seg_len, uint32_t src, uint32_t dst);

/* Length the options in o take when emitted (0..56, multiple of 4). Above 40
 * they do not fit and sn_tcp_emit returns 0: the caller drops SACK blocks. */
size_t sn_tcp_opts_len(const struct sn_tcp_opts *o);

/* Big-endian helpers used by the parsers and emitters. */
static inline uint16_t sn_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t sn_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Checksum of a single buffer. Nearly every IPv4 header is 20 bytes: five
 * 32-bit words, which sum as their 16-bit halves do (RFC 1071 2(C)), added in
 * line at the caller with no loop (through the general path it was about 140
 * instructions a header); every other length goes to sn_csum_any.
 */
static inline uint16_t sn_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	if (len != 20)
		return sn_csum_any(data, len);
	struct sn_csum c = {.sum = (uint64_t)sn_get32(p) + sn_get32(p + 4) + sn_get32(p + 8) +
	                           sn_get32(p + 12) + sn_get32(p + 16)};
	return sn_csum_fold(&c);
}
/* With GCC or clang on a little-endian machine the stores are one byte swap
 * and one store each: left to itself, GCC merges neighbouring byte stores
 * into long shift-and-or chains (about 60 instructions for an IPv4 header). */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) && \
	__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline void sn_put16(uint8_t *p, uint16_t v)
{
	v = __builtin_bswap16(v);
	memcpy(p, &v, sizeof(v));
}
static inline void sn_put32(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, sizeof(v));
}
#else
static inline void sn_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void sn_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
#endif

/* ---- segmentation and checksum offload (tso.c) ------------------------- */

/*
 * Checksum offload (SN_NETIF_TX_CSUM): store in the TCP checksum field the
 * folded pseudo-header sum, not complemented, so that the checksum over the
 * segment with that field in place, stored there, completes it (virtio-net's
 * NEEDS_CSUM convention).
 */
void sn_tcp_set_csum_partial(uint8_t *seg, size_t seg_len, uint32_t src, uint32_t dst);

/*
 * An Ethernet frame holding TCP in IPv4: the offsets software segmentation
 * and checksum completion need. false for anything else, or a frame whose
 * headers do not fit it.
 */
struct sn_tcp_frame {
	size_t ip_off;   /* Ethernet header length */
	size_t ip_hlen;
	size_t tcp_hlen;
	size_t payload;  /* data bytes after the headers */
};
bool sn_tcp_frame_view(const uint8_t *frame, size_t len, struct sn_tcp_frame *v);

/* Complete the TCP checksum of a TCP/IPv4 frame (whatever its field held:
 * a partial sum or a full checksum). false if the frame is not one. */
bool sn_tcp_frame_csum(uint8_t *frame, size_t len);

/*
 * Software segmentation (what a NIC does for TSO, Linux tcp_gso_segment):
 * cut the TCP/IPv4 frame into pieces of gso_size data bytes, the last one
 * possibly shorter. Each piece is built in buf (cap bytes, at least the
 * headers plus gso_size) with the headers copied, the IPv4 total length,
 * ID (incremented per piece) and checksum, the TCP sequence number advanced
 * by the data before it, FIN and PSH only on the last piece, and a complete
 * TCP checksum; then handed to fn. Returns the number of pieces, 0 (fn never
 * called) if the frame is not TCP/IPv4 or buf is too small.
 */
typedef void (*sn_tso_piece_fn)(void *ctx, uint8_t *piece, size_t len);
unsigned sn_tso_cut(const uint8_t *frame, size_t len, uint16_t gso_size, uint8_t *buf,
                    size_t cap, sn_tso_piece_fn fn, void *ctx);

#endif /* SN_WIRE_H */
