/* TCP segment wire format: the parser that turns bytes from ipv4 into a
 * host-order struct tcp_seg for tcp_input, and the emitter that turns
 * tcp_output's struct back into bytes (STYLE.md §3). Pure; any thread. */
#include "tcp_wire.h"

#include <string.h>

#include "bytes.h"
#include "checksum.h"
#include "tl_types.h"

#define IPPROTO_TCP_NUM 6

/* Option lengths (RFC 9293 §3.2, RFC 7323, RFC 2018). */
#define TCPOLEN_MSS 4
#define TCPOLEN_WSCALE 3
#define TCPOLEN_SACK_PERM 2
#define TCPOLEN_TIMESTAMP 10
#define TCPOLEN_SACK_BASE 2
#define TCPOLEN_SACK_PERBLOCK 8
#define TCP_OPT_SPACE (TCP_HDR_MAX - TCP_HDR_MIN)

void tcp_parse_options(const uint8_t *p, size_t len, struct tcp_opts *opt)
{
	size_t left = len;

	memset(opt, 0, sizeof(*opt));
	while (left > 0) {
		uint8_t kind = p[0];
		if (kind == TCPOPT_EOL)
			return;
		if (kind == TCPOPT_NOP) {
			p++;
			left--;
			continue;
		}
		/* Linux: a kind byte with no room for its length, or a length
		 * outside 2..left, ends the walk; what was read so far stands. */
		if (left < 2)
			return;
		size_t size = p[1];
		if (size < 2 || size > left)
			return;
		/* A known kind with the wrong length is skipped, not fatal. */
		switch (kind) {
		case TCPOPT_MSS:
			if (size == TCPOLEN_MSS) {
				opt->has_mss = true;
				opt->mss = be16_at(p + 2);
			}
			break;
		case TCPOPT_WSCALE:
			if (size == TCPOLEN_WSCALE) {
				opt->has_wscale = true;
				opt->wscale = p[2];
			}
			break;
		case TCPOPT_SACK_PERM:
			if (size == TCPOLEN_SACK_PERM)
				opt->sack_ok = true;
			break;
		case TCPOPT_TIMESTAMP:
			if (size == TCPOLEN_TIMESTAMP) {
				opt->has_ts = true;
				opt->ts_val = be32_at(p + 2);
				opt->ts_ecr = be32_at(p + 6);
			}
			break;
		case TCPOPT_SACK:
			if (size >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK &&
			    (size - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_PERBLOCK == 0) {
				size_t n = (size - TCPOLEN_SACK_BASE) /
					   TCPOLEN_SACK_PERBLOCK;
				n = TL_MIN(n, (size_t)TCP_MAX_SACK_BLOCKS);
				for (size_t i = 0; i < n; i++) {
					const uint8_t *b = p + 2 + 8 * i;
					opt->sack[i].start = be32_at(b);
					opt->sack[i].end = be32_at(b + 4);
				}
				opt->nsack = (uint8_t)n;
			}
			break;
		default: /* unknown kinds are skipped by their length */
			break;
		}
		p += size;
		left -= size;
	}
}

enum tcp_drop_reason tcp_parse(const uint8_t *buf, size_t len, uint32_t saddr,
			       uint32_t daddr, bool csum_ok, struct tcp_seg *seg)
{
	/* STYLE.md §3 order: fixed header, header length, checksum, fields. */
	if (len < TCP_HDR_MIN)
		return TCP_DROP_TOO_SHORT;
	size_t hdr_len = (size_t)(buf[12] >> 4) * 4;
	if (hdr_len < TCP_HDR_MIN || hdr_len > len)
		return TCP_DROP_BAD_DOFF;
	/* The IPv4 layer already trimmed link padding: len is the TCP length,
	 * which fits the pseudo-header's 16-bit field because IPv4 does. */
	if (!csum_ok) {
		uint32_t sum = csum_pseudo_ipv4(saddr, daddr, IPPROTO_TCP_NUM,
						(uint16_t)len);
		if (csum_fold(csum_add(sum, buf, len)) != 0)
			return TCP_DROP_BAD_CSUM;
	}

	seg->saddr = saddr;
	seg->daddr = daddr;
	seg->sport = be16_at(buf);
	seg->dport = be16_at(buf + 2);
	seg->seq = be32_at(buf + 4);
	seg->ack = be32_at(buf + 8);
	seg->flags = buf[13];
	seg->wnd = be16_at(buf + 14);
	seg->urp = be16_at(buf + 18);
	seg->hdr_len = (uint8_t)hdr_len;
	tcp_parse_options(buf + TCP_HDR_MIN, hdr_len - TCP_HDR_MIN, &seg->opt);
	seg->payload = buf + hdr_len;
	seg->len = (uint32_t)(len - hdr_len);
	return TCP_OK;
}

/* Bytes of the options before the SACK blocks, in Linux's layout. */
static size_t fixed_options_len(const struct tcp_opts *opt)
{
	size_t n = 0;
	if (opt->has_mss)
		n += 4;
	if (opt->has_ts)
		n += 12; /* SACK_PERM+TS or NOP,NOP,TS */
	else if (opt->sack_ok)
		n += 4;  /* NOP,NOP,SACK_PERM */
	if (opt->has_wscale)
		n += 4;
	return n;
}

/* How many SACK blocks fit after the other options in 40 bytes: Linux
 * sends at most 3 next to timestamps, 4 without. */
static size_t sack_blocks_fitting(const struct tcp_opts *opt)
{
	size_t room = TCP_OPT_SPACE - fixed_options_len(opt);
	if (opt->nsack == 0 || room < 4 + TCPOLEN_SACK_PERBLOCK)
		return 0;
	return TL_MIN((size_t)opt->nsack, (room - 4) / TCPOLEN_SACK_PERBLOCK);
}

size_t tcp_options_len(const struct tcp_opts *opt)
{
	size_t nblocks = sack_blocks_fitting(opt);
	size_t n = fixed_options_len(opt);
	if (nblocks > 0)
		n += 4 + TCPOLEN_SACK_PERBLOCK * nblocks;
	return n;
}

/* Writes the options and returns the number of bytes written (== tcp_options_len). */
static size_t write_options(const struct tcp_opts *opt, uint8_t *p)
{
	uint8_t *start = p;

	TL_ASSERT(opt->nsack <= TCP_MAX_SACK_BLOCKS);
	if (opt->has_mss) {
		p[0] = TCPOPT_MSS;
		p[1] = TCPOLEN_MSS;
		put_be16(p + 2, opt->mss);
		p += 4;
	}
	/* Linux: SACK_PERM takes the place of the two NOPs in front of TS,
	 * so the pair costs 12 bytes instead of 16. */
	if (opt->has_ts) {
		if (opt->sack_ok) {
			p[0] = TCPOPT_SACK_PERM;
			p[1] = TCPOLEN_SACK_PERM;
		} else {
			p[0] = TCPOPT_NOP;
			p[1] = TCPOPT_NOP;
		}
		p[2] = TCPOPT_TIMESTAMP;
		p[3] = TCPOLEN_TIMESTAMP;
		put_be32(p + 4, opt->ts_val);
		put_be32(p + 8, opt->ts_ecr);
		p += 12;
	} else if (opt->sack_ok) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_NOP;
		p[2] = TCPOPT_SACK_PERM;
		p[3] = TCPOLEN_SACK_PERM;
		p += 4;
	}
	if (opt->has_wscale) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_WSCALE;
		p[2] = TCPOLEN_WSCALE;
		p[3] = opt->wscale;
		p += 4;
	}
	size_t nblocks = sack_blocks_fitting(opt);
	if (nblocks > 0) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_NOP;
		p[2] = TCPOPT_SACK;
		p[3] = (uint8_t)(TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK * nblocks);
		p += 4;
		for (size_t i = 0; i < nblocks; i++) {
			put_be32(p, opt->sack[i].start);
			put_be32(p + 4, opt->sack[i].end);
			p += 8;
		}
	}
	return (size_t)(p - start);
}

size_t tcp_emit(const struct tcp_seg *seg, uint8_t *out)
{
	size_t hdr_len = TCP_HDR_MIN + write_options(&seg->opt, out + TCP_HDR_MIN);

	TL_ASSERT(hdr_len == TCP_HDR_MIN + tcp_options_len(&seg->opt));
	TL_ASSERT(hdr_len % 4 == 0 && hdr_len <= TCP_HDR_MAX);
	put_be16(out, seg->sport);
	put_be16(out + 2, seg->dport);
	put_be32(out + 4, seg->seq);
	put_be32(out + 8, seg->ack);
	out[12] = (uint8_t)((hdr_len / 4) << 4);
	out[13] = seg->flags;
	put_be16(out + 14, seg->wnd);
	put_be16(out + 16, 0);
	put_be16(out + 18, seg->urp);

	size_t total = hdr_len + seg->len;
	uint32_t sum = csum_pseudo_ipv4(seg->saddr, seg->daddr, IPPROTO_TCP_NUM,
					(uint16_t)total);
	put_be16(out + 16, csum_fold(csum_add(sum, out, total)));
	return hdr_len;
}

const char *tcp_flags_str(uint8_t flags, char *buf)
{
	/* tcpdump's order and letters (print-tcp.c), "." standing for ACK. */
	static const struct {
		uint8_t bit;
		char c;
	} letters[] = {
		{ TH_FIN, 'F' }, { TH_SYN, 'S' }, { TH_RST, 'R' }, { TH_PSH, 'P' },
		{ TH_ACK, '.' }, { TH_URG, 'U' }, { TH_ECE, 'E' }, { TH_CWR, 'W' },
	};
	char *p = buf;

	for (size_t i = 0; i < TL_ARRAY_SIZE(letters); i++)
		if (flags & letters[i].bit)
			*p++ = letters[i].c;
	if (p == buf) {
		memcpy(buf, "none", 5);
		return buf;
	}
	*p = '\0';
	return buf;
}
