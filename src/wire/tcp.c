/*
 * tcp.c - the TCP header and its options: RFC 9293 sections 3.1 and 3.2,
 * window scale and timestamps from RFC 7323, SACK from RFC 2018.
 *
 *   0 source port   2 destination port   4 sequence number
 *   8 acknowledgment number
 *  12 data offset:4 reserved:4   13 flags (CWR ECE URG ACK PSH RST SYN FIN)
 *  14 window   16 checksum   18 urgent pointer   20 options (data offset > 5)
 */
#include "wire/wire.h"

#include <string.h>

/* Option lengths, kind and length bytes included. */
#define OLEN_MSS 4
#define OLEN_WSCALE 3
#define OLEN_SACK_PERM 2
#define OLEN_TIMESTAMP 10
#define OLEN_SACK_BLOCK 8

#define TCP_MAX_OPTS (SN_TCP_MAX_HLEN - SN_TCP_HLEN)
#define DEFAULT_ORDER "MSTWK"

/*
 * Parse the option list between the fixed header and hdr_len. Every read is
 * preceded by a check that the byte lies below hdr_len, which the caller has
 * checked against the buffer.
 */
static enum sn_wire_err parse_opts(const uint8_t *buf, size_t hdr_len, struct sn_tcp_opts *o)
{
	size_t i = SN_TCP_HLEN;

	/* Nearly every segment of a connection with timestamps carries just
	 * them, laid out as RFC 7323 appendix A recommends (NOP NOP kind
	 * length): read that layout straight away, as the appendix suggests. */
	if (hdr_len == SN_TCP_HLEN + 12 && buf[i] == SN_TCPOPT_NOP && buf[i + 1] == SN_TCPOPT_NOP &&
	    buf[i + 2] == SN_TCPOPT_TIMESTAMP && buf[i + 3] == OLEN_TIMESTAMP) {
		o->has_ts = true;
		o->ts_val = sn_get32(buf + i + 4);
		o->ts_ecr = sn_get32(buf + i + 8);
		return SN_WIRE_OK;
	}
	/* A SYN or SYN-ACK that offers all four options, as Linux lays them
	 * out (so do FreeBSD's, apart from its order, and ours): MSS,
	 * SACK-permitted in the two bytes before the timestamps, NOP, window
	 * scale. Every connection starts with two of them. */
	const uint8_t *opt = buf + i;
	if (hdr_len == SN_TCP_HLEN + 20 && opt[0] == SN_TCPOPT_MSS && opt[1] == OLEN_MSS &&
	    opt[4] == SN_TCPOPT_SACK_PERM && opt[5] == OLEN_SACK_PERM && opt[6] == SN_TCPOPT_TIMESTAMP &&
	    opt[7] == OLEN_TIMESTAMP && opt[16] == SN_TCPOPT_NOP && opt[17] == SN_TCPOPT_WSCALE &&
	    opt[18] == OLEN_WSCALE) {
		o->has_mss = true;
		o->mss = sn_get16(opt + 2);
		o->sack_permitted = true;
		o->has_ts = true;
		o->ts_val = sn_get32(opt + 8);
		o->ts_ecr = sn_get32(opt + 12);
		o->has_wscale = true;
		o->wscale = opt[19];
		return SN_WIRE_OK;
	}
	while (i < hdr_len) {
		uint8_t kind = buf[i];
		size_t olen;

		/* RFC 9293 3.2: EOL ends the list, NOP is a single byte. */
		if (kind == SN_TCPOPT_EOL)
			break;
		if (kind == SN_TCPOPT_NOP) {
			i++;
			continue;
		}
		/* Every other kind has a length byte that counts itself and the
		 * kind byte, so a length below 2 would not advance (a loop an
		 * attacker could choose) and must be rejected, RFC 9293 3.2. */
		if (hdr_len - i < 2)
			return SN_WIRE_BAD_OPTION;
		olen = buf[i + 1];
		if (olen < 2 || olen > hdr_len - i)
			return SN_WIRE_BAD_OPTION;

		switch (kind) {
		case SN_TCPOPT_MSS:
			if (olen != OLEN_MSS)
				return SN_WIRE_BAD_OPTION;
			o->has_mss = true;
			o->mss = sn_get16(buf + i + 2);
			break;
		case SN_TCPOPT_WSCALE:
			/* RFC 7323 2.3: the shift is clamped by the caller,
			 * which also decides whether to log a value above 14. */
			if (olen != OLEN_WSCALE)
				return SN_WIRE_BAD_OPTION;
			o->has_wscale = true;
			o->wscale = buf[i + 2];
			break;
		case SN_TCPOPT_SACK_PERM:
			if (olen != OLEN_SACK_PERM)
				return SN_WIRE_BAD_OPTION;
			o->sack_permitted = true;
			break;
		case SN_TCPOPT_TIMESTAMP:
			if (olen != OLEN_TIMESTAMP)
				return SN_WIRE_BAD_OPTION;
			o->has_ts = true;
			o->ts_val = sn_get32(buf + i + 2);
			o->ts_ecr = sn_get32(buf + i + 6);
			break;
		case SN_TCPOPT_SACK: {
			size_t n, k;

			/* RFC 2018 3: length 2 + 8n, n >= 1. Forty option
			 * bytes hold at most four blocks, but a longer list is
			 * not malformed: keep the first four. */
			if (olen < 2 + OLEN_SACK_BLOCK || (olen - 2) % OLEN_SACK_BLOCK != 0)
				return SN_WIRE_BAD_OPTION;
			n = (olen - 2) / OLEN_SACK_BLOCK;
			if (n > SN_TCP_MAX_SACK)
				n = SN_TCP_MAX_SACK;
			for (k = 0; k < n; k++) {
				const uint8_t *b = buf + i + 2 + k * OLEN_SACK_BLOCK;

				o->sack[k].left = sn_get32(b);
				o->sack[k].right = sn_get32(b + 4);
			}
			o->num_sack = (uint8_t)n;
			break;
		}
		default:
			/* RFC 9293 3.2 / RFC 1122 4.2.2.5: unknown options
			 * are skipped by their length. */
			break;
		}
		i += olen;
	}
	return SN_WIRE_OK;
}

enum sn_wire_err sn_tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
                              bool verify_csum, struct sn_tcp *out)
{
	size_t hdr_len;
	enum sn_wire_err err;

	if (len < SN_TCP_HLEN)
		return SN_WIRE_SHORT;
	hdr_len = (size_t)(buf[12] >> 4) * 4;
	if (hdr_len < SN_TCP_HLEN || hdr_len > len)
		return SN_WIRE_BAD_HDR;

	if (verify_csum) {
		struct sn_csum c;

		/* The pseudo-header's TCP length is 16 bits (RFC 9293 3.1);
		 * a longer segment cannot have come out of an IPv4 packet. */
		if (len > UINT16_MAX)
			return SN_WIRE_BAD_LEN;
		sn_csum_pseudo(&c, src, dst, SN_IPPROTO_TCP, (uint16_t)len);
		sn_csum_add(&c, buf, len);
		if (sn_csum_fold(&c) != 0)
			return SN_WIRE_BAD_CSUM;
	}

	/* Options are read only from a segment that passed its checksum, so
	 * corruption shows up as BAD_CSUM, not as a misleading option error. */
	memset(&out->opts, 0, sizeof(out->opts));
	err = parse_opts(buf, hdr_len, &out->opts);
	if (err != SN_WIRE_OK)
		return err;

	out->sport = sn_get16(buf);
	out->dport = sn_get16(buf + 2);
	out->seq = sn_get32(buf + 4);
	out->ack = sn_get32(buf + 8);
	out->hdr_len = (uint8_t)hdr_len;
	out->flags = buf[13];
	out->wnd = sn_get16(buf + 14);
	out->csum = sn_get16(buf + 16);
	out->urp = sn_get16(buf + 18);
	out->payload_off = hdr_len;
	out->payload_len = len - hdr_len;
	return SN_WIRE_OK;
}

/*
 * One pass over `order` that either measures (out == NULL) or writes the
 * options. Measuring and writing share this code so that sn_tcp_opts_len can
 * never disagree with sn_tcp_emit. Returns the unpadded length, which may
 * exceed 40 when the options cannot all fit. When writing, out must have room
 * for the length a measuring pass returned.
 */
static size_t put_opts(uint8_t *out, const struct sn_tcp_opts *o, const char *order)
{
	bool done_mss = false, done_sp = false, done_ts = false, done_ws = false;
	bool done_sack = false;
	size_t n = 0;
	size_t nsack = o->num_sack > SN_TCP_MAX_SACK ? SN_TCP_MAX_SACK : o->num_sack;
	const char *p;

	for (p = order; *p != '\0'; p++) {
		switch (*p) {
		case 'M':
			if (!o->has_mss || done_mss)
				break;
			done_mss = true;
			if (out) {
				out[n] = SN_TCPOPT_MSS;
				out[n + 1] = OLEN_MSS;
				sn_put16(out + n + 2, o->mss);
			}
			n += 4;
			break;
		case 'S': {
			const char *q = p + 1;
			bool with_ts;

			if (!o->sack_permitted || done_sp)
				break;
			done_sp = true;
			/* Is the next option actually written the timestamp?
			 * Then SACK-permitted fills the two bytes that would
			 * otherwise be NOPs in front of it (as Linux and
			 * FreeBSD do): 04 02 08 0a. */
			while (*q != '\0' && !((*q == 'M' && o->has_mss && !done_mss) ||
			                       (*q == 'T' && o->has_ts && !done_ts) ||
			                       (*q == 'W' && o->has_wscale && !done_ws) ||
			                       (*q == 'K' && nsack > 0 && !done_sack)))
				q++;
			with_ts = *q == 'T';
			if (with_ts) {
				done_ts = true;
				if (out) {
					out[n] = SN_TCPOPT_SACK_PERM;
					out[n + 1] = OLEN_SACK_PERM;
					out[n + 2] = SN_TCPOPT_TIMESTAMP;
					out[n + 3] = OLEN_TIMESTAMP;
					sn_put32(out + n + 4, o->ts_val);
					sn_put32(out + n + 8, o->ts_ecr);
				}
				n += 12;
			} else {
				if (out) {
					out[n] = SN_TCPOPT_NOP;
					out[n + 1] = SN_TCPOPT_NOP;
					out[n + 2] = SN_TCPOPT_SACK_PERM;
					out[n + 3] = OLEN_SACK_PERM;
				}
				n += 4;
			}
			break;
		}
		case 'T':
			if (!o->has_ts || done_ts)
				break;
			done_ts = true;
			/* RFC 7323 appendix A: two NOPs keep the 32-bit
			 * values aligned. */
			if (out) {
				out[n] = SN_TCPOPT_NOP;
				out[n + 1] = SN_TCPOPT_NOP;
				out[n + 2] = SN_TCPOPT_TIMESTAMP;
				out[n + 3] = OLEN_TIMESTAMP;
				sn_put32(out + n + 4, o->ts_val);
				sn_put32(out + n + 8, o->ts_ecr);
			}
			n += 12;
			break;
		case 'W':
			if (!o->has_wscale || done_ws)
				break;
			done_ws = true;
			if (out) {
				out[n] = SN_TCPOPT_NOP;
				out[n + 1] = SN_TCPOPT_WSCALE;
				out[n + 2] = OLEN_WSCALE;
				out[n + 3] = o->wscale;
			}
			n += 4;
			break;
		case 'K': {
			size_t k;

			if (nsack == 0 || done_sack)
				break;
			done_sack = true;
			/* RFC 2018 appendix A layout: NOP NOP kind length. */
			if (out) {
				out[n] = SN_TCPOPT_NOP;
				out[n + 1] = SN_TCPOPT_NOP;
				out[n + 2] = SN_TCPOPT_SACK;
				out[n + 3] = (uint8_t)(2 + nsack * OLEN_SACK_BLOCK);
				for (k = 0; k < nsack; k++) {
					uint8_t *b = out + n + 4 + k * OLEN_SACK_BLOCK;

					sn_put32(b, o->sack[k].left);
					sn_put32(b + 4, o->sack[k].right);
				}
			}
			n += 4 + nsack * OLEN_SACK_BLOCK;
			break;
		}
		default:
			/* Unknown letters are ignored, so a profile string
			 * written for a later version still works. */
			break;
		}
	}
	return n;
}

/*
 * FreeBSD's layout (tcp_addoptions): each option is placed at the alignment
 * it wants, NOPs filling the gap, with no pairing of neighbours: MSS at 4n,
 * window scale at 4n+1, SACK-permitted at 2n, timestamps and SACK blocks at
 * 4n+2. What is left to the 4-byte boundary is EOL (sn_tcp_emit pads), so a
 * SYN-ACK with only MSS and SACK-permitted reads <mss,sackOK,eol,eol>.
 */
static size_t put_opts_bsd(uint8_t *out, const struct sn_tcp_opts *o, const char *order)
{
	size_t n = 0;
	size_t nsack = o->num_sack > SN_TCP_MAX_SACK ? SN_TCP_MAX_SACK : o->num_sack;
	bool done[5] = {false};
	const char *letters = "MWSTK";
	const uint8_t align_mod[] = {4, 4, 2, 4, 4}, align_rem[] = {0, 1, 0, 2, 2};

	for (const char *p = order; *p != '\0'; p++) {
		const char *at = strchr(letters, *p);
		if (!at)
			continue;
		int i = (int)(at - letters);
		bool present = (i == 0 && o->has_mss) || (i == 1 && o->has_wscale) ||
		               (i == 2 && o->sack_permitted) || (i == 3 && o->has_ts) ||
		               (i == 4 && nsack > 0);
		if (!present || done[i])
			continue;
		done[i] = true;
		while (n % align_mod[i] != align_rem[i]) {
			if (out)
				out[n] = SN_TCPOPT_NOP;
			n++;
		}
		switch (i) {
		case 0:
			if (out) {
				out[n] = SN_TCPOPT_MSS;
				out[n + 1] = OLEN_MSS;
				sn_put16(out + n + 2, o->mss);
			}
			n += 4;
			break;
		case 1:
			if (out) {
				out[n] = SN_TCPOPT_WSCALE;
				out[n + 1] = OLEN_WSCALE;
				out[n + 2] = o->wscale;
			}
			n += 3;
			break;
		case 2:
			if (out) {
				out[n] = SN_TCPOPT_SACK_PERM;
				out[n + 1] = OLEN_SACK_PERM;
			}
			n += 2;
			break;
		case 3:
			if (out) {
				out[n] = SN_TCPOPT_TIMESTAMP;
				out[n + 1] = OLEN_TIMESTAMP;
				sn_put32(out + n + 2, o->ts_val);
				sn_put32(out + n + 6, o->ts_ecr);
			}
			n += 10;
			break;
		default:
			if (out) {
				out[n] = SN_TCPOPT_SACK;
				out[n + 1] = (uint8_t)(2 + nsack * OLEN_SACK_BLOCK);
				for (size_t k = 0; k < nsack; k++) {
					sn_put32(out + n + 2 + k * OLEN_SACK_BLOCK, o->sack[k].left);
					sn_put32(out + n + 6 + k * OLEN_SACK_BLOCK, o->sack[k].right);
				}
			}
			n += 2 + nsack * OLEN_SACK_BLOCK;
			break;
		}
	}
	return n;
}

/* An order string starting with 'b' asks for FreeBSD's alignment rules. */
static size_t put_opts_any(uint8_t *out, const struct sn_tcp_opts *o, const char *order)
{
	if (order[0] == 'b')
		return put_opts_bsd(out, o, order + 1);
	return put_opts(out, o, order);
}

static size_t round4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

size_t sn_tcp_opts_len(const struct sn_tcp_opts *o)
{
	return round4(put_opts(NULL, o, DEFAULT_ORDER));
}

/*
 * The most any order string can make put_opts_any write: each of the five
 * options once (done_* flags), at its longest (SACK-permitted with the
 * timestamp 12, four SACK blocks 36), each behind at most 3 bytes of
 * alignment padding.
 */
#define OPTS_SCRATCH 96

/* The fixed header as five 32-bit words, olen bytes of options after it.
 * The data offset counts 32-bit words; the reserved bits are sent as zero
 * (RFC 9293 3.1), and so is the checksum until sn_tcp_set_csum. */
static size_t put_header(uint8_t *buf, const struct sn_tcp *h, size_t olen)
{
	sn_put32(buf, (uint32_t)h->sport << 16 | h->dport);
	sn_put32(buf + 4, h->seq);
	sn_put32(buf + 8, h->ack);
	sn_put32(buf + 12, (uint32_t)((SN_TCP_HLEN + olen) / 4 << 4) << 24 |
	                       (uint32_t)h->flags << 16 | h->wnd);
	sn_put32(buf + 16, h->urp);
	return SN_TCP_HLEN + olen;
}

/*
 * A header with any options in any order (put_opts_any). Out of line, so
 * that the segments sn_tcp_emit writes itself, which call nothing, need not
 * save registers for this (it was about 16 instructions a segment).
 */
__attribute__((noinline)) static size_t emit_any(uint8_t *buf, size_t cap, const struct sn_tcp *h,
                                                 const char *order)
{
	/* One pass writes the options, then their length is checked: a
	 * measuring pass first would walk the order string twice. They go
	 * straight behind the fixed header when buf has room for the most any
	 * order can write, else aside and are copied once they are known to
	 * fit. */
	uint8_t scratch[OPTS_SCRATCH];
	uint8_t *out = cap >= SN_TCP_HLEN + OPTS_SCRATCH ? buf + SN_TCP_HLEN : scratch;
	size_t olen = put_opts_any(out, &h->opts, order ? order : DEFAULT_ORDER);
	size_t padded = round4(olen);

	if (padded > TCP_MAX_OPTS || cap < SN_TCP_HLEN + padded)
		return 0;
	/* Pad with EOL up to the data offset; the encodings are already
	 * 4-byte multiples except FreeBSD's layout, which ends in EOLs. */
	memset(out + olen, SN_TCPOPT_EOL, padded - olen);
	if (out == scratch)
		memcpy(buf + SN_TCP_HLEN, scratch, padded);
	return put_header(buf, h, padded);
}

size_t sn_tcp_emit(uint8_t *buf, size_t cap, const struct sn_tcp *h, const char *order)
{
	const struct sn_tcp_opts *o = &h->opts;

	/* Only the SYN sends an order; any other layout goes to emit_any. */
	if (order != NULL)
		return emit_any(buf, cap, h, order);
	if (!o->has_mss && !o->sack_permitted && !o->has_wscale && o->num_sack == 0) {
		/* After the handshake most segments carry the timestamps alone,
		 * which every layout writes the same way: NOP NOP kind length
		 * (RFC 7323 appendix A), straight into place. */
		size_t olen = o->has_ts ? 12 : 0;
		if (cap < SN_TCP_HLEN + olen)
			return 0;
		if (o->has_ts) {
			uint8_t *p = buf + SN_TCP_HLEN;
			sn_put32(p, (uint32_t)SN_TCPOPT_NOP << 24 | SN_TCPOPT_NOP << 16 |
			                SN_TCPOPT_TIMESTAMP << 8 | OLEN_TIMESTAMP);
			sn_put32(p + 4, o->ts_val);
			sn_put32(p + 8, o->ts_ecr);
		}
		return put_header(buf, h, olen);
	}
	if (o->has_mss && o->sack_permitted && o->has_ts && o->has_wscale && o->num_sack == 0) {
		/* A SYN that offers everything, in the default order: MSS,
		 * SACK-permitted in the two bytes before the timestamps, window
		 * scale, as put_opts writes it (20 bytes). Two of every
		 * connection's segments. */
		uint8_t *p = buf + SN_TCP_HLEN;
		if (cap < SN_TCP_HLEN + 20)
			return 0;
		sn_put32(p, (uint32_t)SN_TCPOPT_MSS << 24 | OLEN_MSS << 16 | o->mss);
		sn_put32(p + 4, (uint32_t)SN_TCPOPT_SACK_PERM << 24 | OLEN_SACK_PERM << 16 |
		                    SN_TCPOPT_TIMESTAMP << 8 | OLEN_TIMESTAMP);
		sn_put32(p + 8, o->ts_val);
		sn_put32(p + 12, o->ts_ecr);
		sn_put32(p + 16, (uint32_t)SN_TCPOPT_NOP << 24 | SN_TCPOPT_WSCALE << 16 |
		                     OLEN_WSCALE << 8 | o->wscale);
		return put_header(buf, h, 20);
	}
	return emit_any(buf, cap, h, NULL);
}

void sn_tcp_set_csum(uint8_t *seg, size_t seg_len, uint32_t src, uint32_t dst)
{
	struct sn_csum c;

	if (seg_len < SN_TCP_HLEN)
		return;
	/* The sum is taken with the checksum field as zero (RFC 9293 3.1). */
	sn_put16(seg + 16, 0);
	sn_csum_pseudo(&c, src, dst, SN_IPPROTO_TCP, (uint16_t)seg_len);
	sn_csum_add(&c, seg, seg_len);
	sn_put16(seg + 16, sn_csum_fold(&c));
}
