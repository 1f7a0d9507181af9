/* TCP segment wire format: tcp_parse() checks every length and the checksum
 * and fills a host-order struct tcp_seg (nothing after it reads raw bytes);
 * tcp_emit() writes one back. Pure; any thread. */
#ifndef TL_NETEMU_TCP_WIRE_H
#define TL_NETEMU_TCP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80

#define TCP_HDR_MIN 20
#define TCP_HDR_MAX 60
#define TCP_MAX_SACK_BLOCKS 4

/* Option kinds (IANA). */
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WSCALE 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TIMESTAMP 8

struct tcp_sack_block {
	uint32_t start, end; /* [start, end) */
};

/* The options of one segment; a has_* flag says the option was present and
 * well formed. */
struct tcp_opts {
	bool has_mss, has_wscale, sack_ok, has_ts;
	uint16_t mss;
	uint8_t wscale;      /* as received; the caller clamps to 14 */
	uint32_t ts_val, ts_ecr;
	uint8_t nsack;       /* number of valid sack[] blocks */
	struct tcp_sack_block sack[TCP_MAX_SACK_BLOCKS];
};

/* A parsed segment, host byte order. `payload` points into the caller's
 * buffer (valid as long as it is). */
struct tcp_seg {
	uint32_t saddr, daddr; /* from the IPv4 header */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;         /* TH_* */
	uint16_t wnd;          /* raw window field, not yet scaled */
	uint16_t urp;
	uint8_t hdr_len;       /* data offset in bytes */
	struct tcp_opts opt;
	const uint8_t *payload;
	uint32_t len;          /* payload bytes */
	uint8_t ip_ecn;        /* the IPv4 header's ECN field (0 Not-ECT .. 3 CE) */
};

/* Why a segment was refused (the caller counts it). */
enum tcp_drop_reason {
	TCP_OK = 0,
	TCP_DROP_TOO_SHORT,  /* fewer than 20 bytes */
	TCP_DROP_BAD_DOFF,   /* data offset < 5 words or beyond the buffer */
	TCP_DROP_BAD_CSUM,   /* checksum mismatch */
};

/* Parses `len` bytes of TCP (header + payload) carried from saddr to daddr.
 * Verifies the checksum unless `csum_ok` says the caller already did. */
enum tcp_drop_reason tcp_parse(const uint8_t *buf, size_t len, uint32_t saddr,
			       uint32_t daddr, bool csum_ok, struct tcp_seg *seg);

/* Option walk alone (exposed for tests): fills `opt` from `len` bytes. EOL
 * ends the walk, NOP skips a byte, a length outside 2..left ends the walk,
 * a known kind with the wrong length is skipped (as Linux does). */
void tcp_parse_options(const uint8_t *p, size_t len, struct tcp_opts *opt);

/* Length in bytes of the options tcp_emit would write for `opt` (padded to a
 * multiple of 4). Options are written in Linux's order and layout:
 * MSS, SACK_PERM+TS (or NOP,NOP,TS / NOP,NOP,SACK_PERM), NOP+WSCALE, SACK blocks. */
size_t tcp_options_len(const struct tcp_opts *opt);

/* Writes the header (with options from seg->opt) into `out`, which must hold
 * TCP_HDR_MIN + tcp_options_len() bytes, followed in memory by seg->len
 * payload bytes that the caller has already placed there (seg->payload is
 * ignored). Computes the checksum over header and payload with the
 * pseudo-header. Returns the header length. */
size_t tcp_emit(const struct tcp_seg *seg, uint8_t *out);

/* "S.", "F.", "R", "P." ... tcpdump-style flag string into buf (>= 9 bytes). */
const char *tcp_flags_str(uint8_t flags, char *buf);

#endif
