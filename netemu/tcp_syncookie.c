/* Linux's IPv4 SYN cookie (reference §4), bit for bit on a little-endian
 * host given the same keys:
 *   ISN = H(k0; tuple, 0) + client_isn + (count << 24)
 *         + ((H(k1; tuple, count) + mss_index) mod 2^24)
 * where H is SipHash-2-4 over saddr, daddr (network byte order),
 * sport << 16 | dport (as Linux builds it from big-endian ports) and the
 * counter, truncated to 32 bits. Called by tcp_listen.c. */
#include "tcp_syncookie.h"

#include <sodium.h>
#include <string.h>

#include "bytes.h"

#define COOKIE_BITS 24
#define COOKIE_MASK ((1u << COOKIE_BITS) - 1)
#define TS_OPT_WSCALE_MASK 0x0fu
#define TS_OPT_SACK 0x10u
#define TS_OPT_ECN 0x20u

/* Linux msstab (IPv4): index 0..3, the index is what the cookie carries. */
static const uint16_t msstab[] = { 536, 1300, 1440, 1460 };

void tcp_syncookie_keys_init(struct tcp_syncookie_keys *k, const uint8_t secret[32])
{
	static const char label[] = "tcplab syncookie keys v1";
	uint8_t out[32];

	crypto_generichash(out, sizeof(out), (const uint8_t *)label, sizeof(label) - 1,
			   secret, 32);
	memcpy(k->k0, out, 16);
	memcpy(k->k1, out + 16, 16);
	sodium_memzero(out, sizeof(out));
}

uint32_t tcp_syncookie_count(tl_usec_t now)
{
	return (uint32_t)(now / (60 * TL_USEC_PER_SEC));
}

/* Linux cookie_hash(): siphash_4u32(saddr, daddr, sport << 16 | dport,
 * count). The kernel's u32 words hold big-endian addresses and ports and
 * SipHash reads them little-endian, so the message bytes are: saddr and
 * daddr in network order, then dport and sport in network order (the low
 * half of the third word comes first), then the counter little-endian. */
static uint32_t cookie_hash(const uint8_t key[16], uint32_t saddr, uint32_t daddr,
			    uint16_t sport, uint16_t dport, uint32_t count)
{
	uint8_t msg[16], out[8];

	put_be32(msg, saddr);
	put_be32(msg + 4, daddr);
	put_be16(msg + 8, dport);
	put_be16(msg + 10, sport);
	msg[12] = (uint8_t)count;
	msg[13] = (uint8_t)(count >> 8);
	msg[14] = (uint8_t)(count >> 16);
	msg[15] = (uint8_t)(count >> 24);
	crypto_shorthash_siphash24(out, msg, sizeof(msg), key);
	/* the low 32 bits of the little-endian 64-bit result */
	return (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
	       (uint32_t)out[3] << 24;
}

uint32_t tcp_syncookie_make(const struct tcp_syncookie_keys *k, uint32_t saddr,
			    uint32_t daddr, uint16_t sport, uint16_t dport,
			    uint32_t client_isn, uint16_t client_mss, uint32_t count,
			    uint16_t *mss_out)
{
	/* Linux: round down to a table entry; below 536 still gets 536. */
	uint32_t mssind = TL_ARRAY_SIZE(msstab) - 1;
	while (mssind > 0 && client_mss < msstab[mssind])
		mssind--;
	if (mss_out != NULL)
		*mss_out = msstab[mssind];

	return cookie_hash(k->k0, saddr, daddr, sport, dport, 0) + client_isn +
	       (count << COOKIE_BITS) +
	       ((cookie_hash(k->k1, saddr, daddr, sport, dport, count) + mssind) &
		COOKIE_MASK);
}

int tcp_syncookie_check(const struct tcp_syncookie_keys *k, uint32_t saddr,
			uint32_t daddr, uint16_t sport, uint16_t dport,
			uint32_t ack_seq_minus_1, uint32_t seq_minus_1,
			uint32_t count_now, uint16_t *mss_out)
{
	uint32_t cookie = ack_seq_minus_1;

	/* Strip the outer layer; the top 8 bits are then the counter. */
	cookie -= cookie_hash(k->k0, saddr, daddr, sport, dport, 0) + seq_minus_1;
	uint32_t diff = (count_now - (cookie >> COOKIE_BITS)) & (0xffffffffu >> COOKIE_BITS);
	if (diff >= TCP_SYNCOOKIE_MAX_AGE)
		return -1;
	uint32_t mssind = (cookie - cookie_hash(k->k1, saddr, daddr, sport, dport,
						count_now - diff)) & COOKIE_MASK;
	if (mssind >= TL_ARRAY_SIZE(msstab))
		return -1;
	if (mss_out != NULL)
		*mss_out = msstab[mssind];
	return 0;
}

uint32_t tcp_syncookie_ts_encode(uint32_t ts_now, uint8_t wscale, bool sack, bool ecn)
{
	uint32_t options = wscale & TS_OPT_WSCALE_MASK;
	if (sack)
		options |= TS_OPT_SACK;
	if (ecn)
		options |= TS_OPT_ECN;

	uint32_t ts = (ts_now >> TCP_SYNCOOKIE_TS_BITS) << TCP_SYNCOOKIE_TS_BITS;
	ts |= options;
	/* Linux cookie_init_timestamp(): never ahead of the real clock. */
	if (ts > ts_now)
		ts -= 1u << TCP_SYNCOOKIE_TS_BITS;
	return ts;
}

bool tcp_syncookie_ts_decode(uint32_t tsecr, uint8_t *wscale, bool *sack, bool *ecn)
{
	*wscale = (uint8_t)(tsecr & TS_OPT_WSCALE_MASK);
	*sack = (tsecr & TS_OPT_SACK) != 0;
	*ecn = (tsecr & TS_OPT_ECN) != 0;
	return true;
}
