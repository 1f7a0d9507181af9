/* Round-trip time estimation and retransmission timeouts: the RFC 6298
 * estimator with Linux's clamps, exponential backoff, and the schedules
 * Linux derives from retry counts (tcp_retries2 budget, SYN retransmission
 * intervals and give-up time, reference §2.2 and §3.2).
 *
 * Karn's rule (RFC 6298 §3) is the caller's job: never feed
 * tcp_rtt_sample() a measurement taken from a segment that was
 * retransmitted (unless a timestamp echo says which copy was acknowledged).
 *
 * Pure; any thread (the state lives in the caller's connection). */
#ifndef TL_NETEMU_TCP_RTT_H
#define TL_NETEMU_TCP_RTT_H

#include <stdbool.h>
#include <stdint.h>

/* Linux constants (include/net/tcp.h), in µs. */
#define TCP_TIMEOUT_INIT_US 1000000u     /* initial RTO, RFC 6298 §2.1 */
#define TCP_TIMEOUT_FALLBACK_US 3000000u /* after a SYN retransmit, §5.7 */
#define TCP_RTO_MIN_US 200000u
#define TCP_RTO_MAX_US 120000000u

/* Per-connection estimator. Invariants: has_sample == false means srtt,
 * rttvar and min_rtt are 0 and rto_us is the initial RTO; once sampled,
 * rto_us lies in [rto_min, rto_max] of the latest sample call and
 * min_rtt_us <= every sample taken. backoff counts RTO expiries since the
 * last valid sample. */
struct tcp_rtt {
	uint32_t srtt_us;    /* smoothed RTT (SRTT) */
	uint32_t rttvar_us;  /* RTT variation (RTTVAR) */
	uint32_t min_rtt_us; /* lowest sample seen (ss "minrtt"); all-time */
	uint32_t rto_us;     /* RTO before backoff */
	uint8_t backoff;     /* doublings applied by tcp_rtt_rto() */
	bool has_sample;
};

/* Starts with no measurement and RTO = initial_rto_us (TCP_TIMEOUT_INIT_US,
 * or TCP_TIMEOUT_FALLBACK_US when the handshake had to retransmit). */
void tcp_rtt_init(struct tcp_rtt *r, uint32_t initial_rto_us);

/* Takes one RTT measurement R (RFC 6298 §2.2/2.3): the first sets SRTT = R,
 * RTTVAR = R/2; later ones RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, then
 * SRTT = 7/8 SRTT + 1/8 R. RTO = SRTT + max(4 * RTTVAR, rto_min), clamped to
 * [rto_min, rto_max] — Linux floors the variance term at rto_min (instead
 * of RFC 6298's 1 s floor on the whole RTO), so RTO >= SRTT + 200 ms by
 * default. Resets the backoff. A sample of 0 counts as 1 µs. */
void tcp_rtt_sample(struct tcp_rtt *r, uint32_t rtt_us, uint32_t rto_min_us,
		    uint32_t rto_max_us);

/* The timeout to arm now: rto_us << backoff, capped at rto_max_us. */
uint32_t tcp_rtt_rto(const struct tcp_rtt *r, uint32_t rto_max_us);

/* Records an RTO expiry (RFC 6298 §5.5: back off the timer). Saturates. */
void tcp_rtt_backoff(struct tcp_rtt *r);

/* Linux tcp_model_timeout(): how long `retries` + 1 back-to-back RTOs take
 * when the first lasts rto_base_us and each later one doubles, every step
 * capped at rto_max_us. This turns tcp_retries2 / tcp_orphan_retries into a
 * time budget: 15 retries from 200 ms -> 924.6 s, 8 -> 102.2 s. */
uint64_t tcp_model_timeout_us(unsigned retries, uint32_t rto_base_us,
			      uint32_t rto_max_us);

/* The active opener's give-up budget for tcp_syn_retries = R (reference
 * §3.2): T(R) = (2^(R+1) - 1) s for R <= 6, else 127 s + (R - 6) * 120 s.
 * The connect fails at the first SYN timer expiry at or after T(R). */
uint64_t tcp_syn_budget_us(unsigned syn_retries);

/* The wait before SYN retransmission number n + 1, i.e. after n
 * retransmissions have been sent (n = 0: after the first SYN): 1 s for the
 * first linear_timeouts + 1 intervals (tcp_syn_linear_timeouts, Linux 6.5+),
 * then doubling (2 s, 4 s, ...), each capped at rto_max_us. */
uint32_t tcp_syn_interval_us(unsigned nth_retransmission,
			     unsigned linear_timeouts, uint32_t rto_max_us);

#endif
