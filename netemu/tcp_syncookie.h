/* Linux's IPv4 SYN cookies (reference §4; net/ipv4/syncookies.c): a
 * listener under SYN flood answers with an ISN that encodes a keyed hash of
 * the 4-tuple, a minute counter and a 2-bit MSS index, keeps no state, and
 * rebuilds the connection from the final ACK. Window scale, SACK and ECN
 * travel in the low 6 bits of the SYN-ACK's timestamp. Pure (SipHash-2-4
 * from libsodium); any thread, the keys are read-only after init. */
#ifndef TL_NETEMU_TCP_SYNCOOKIE_H
#define TL_NETEMU_TCP_SYNCOOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "tl_types.h"

/* Linux: a cookie is valid for the minute it was made and the next one. */
#define TCP_SYNCOOKIE_MAX_AGE 2
/* Timestamp option encoding (Linux TS_OPT_*): bits 0-3 the client's window
 * scale (15 = none), bit 4 SACK permitted, bit 5 ECN. */
#define TCP_SYNCOOKIE_TS_BITS 6
#define TCP_SYNCOOKIE_NO_WSCALE 15

/* The two SipHash keys (Linux syncookie_secret[2]): k0 hashes the tuple
 * alone, k1 the tuple and the minute counter. */
struct tcp_syncookie_keys {
	uint8_t k0[16], k1[16];
};

/* Derives both keys from the host's 32-byte secret (domain-separated with
 * BLAKE2b, so the secret can also seed other things such as ISNs). */
void tcp_syncookie_keys_init(struct tcp_syncookie_keys *k, const uint8_t secret[32]);

/* The minute counter: now / 60 s (Linux tcp_cookie_time). */
uint32_t tcp_syncookie_count(tl_usec_t now);

/* The cookie ISN for a SYN from saddr:sport (the client) to daddr:dport
 * with client ISN client_isn and MSS option client_mss (536 if absent).
 * *mss_out receives the MSS table entry encoded: the largest of
 * 536, 1300, 1440, 1460 not above client_mss (536 if client_mss is below). */
uint32_t tcp_syncookie_make(const struct tcp_syncookie_keys *k, uint32_t saddr,
			    uint32_t daddr, uint16_t sport, uint16_t dport,
			    uint32_t client_isn, uint16_t client_mss, uint32_t count,
			    uint16_t *mss_out);

/* Checks the final ACK of a cookie handshake: ack_seq_minus_1 is the
 * cookie, seq_minus_1 the client ISN, count_now the current minute counter.
 * Returns 0 and sets *mss_out, or -1 if forged or older than
 * TCP_SYNCOOKIE_MAX_AGE minutes. */
int tcp_syncookie_check(const struct tcp_syncookie_keys *k, uint32_t saddr,
			uint32_t daddr, uint16_t sport, uint16_t dport,
			uint32_t ack_seq_minus_1, uint32_t seq_minus_1,
			uint32_t count_now, uint16_t *mss_out);

/* The TSval for a cookie SYN-ACK: ts_now with its low 6 bits replaced by
 * the options, lowered by 64 if that would put it after ts_now (a
 * timestamp never runs ahead of the clock). wscale is the client's shift
 * (0..14) or 15 for "no window scaling". Linux: the per-connection
 * timestamp offset is added after encoding and removed before decoding. */
uint32_t tcp_syncookie_ts_encode(uint32_t ts_now, uint8_t wscale, bool sack,
				 bool ecn);

/* Reads the options back from the TSecr of the final ACK. Every 6-bit
 * pattern is a possible encoding, so this returns true; the caller still
 * rejects options that are disabled locally (Linux cookie_timestamp_decode). */
bool tcp_syncookie_ts_decode(uint32_t tsecr, uint8_t *wscale, bool *sack, bool *ecn);

#endif
