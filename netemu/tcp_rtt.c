/* RTT estimator, RTO backoff and Linux's retry-count-to-time models (see
 * tcp_rtt.h). */
#include "tcp_rtt.h"

#include "tl_types.h"

void tcp_rtt_init(struct tcp_rtt *r, uint32_t initial_rto_us)
{
	r->srtt_us = 0;
	r->rttvar_us = 0;
	r->min_rtt_us = 0;
	r->rto_us = initial_rto_us;
	r->backoff = 0;
	r->has_sample = false;
}

void tcp_rtt_sample(struct tcp_rtt *r, uint32_t rtt_us, uint32_t rto_min_us,
		    uint32_t rto_max_us)
{
	uint64_t rto;

	if (rtt_us == 0)
		rtt_us = 1; /* Linux: a zero RTT would read as "no sample" */
	if (!r->has_sample) {
		/* RFC 6298 §2.2 */
		r->srtt_us = rtt_us;
		r->rttvar_us = rtt_us / 2;
		r->min_rtt_us = rtt_us;
		r->has_sample = true;
	} else {
		/* RFC 6298 §2.3: RTTVAR first, from the old SRTT. */
		uint64_t err = r->srtt_us > rtt_us ? r->srtt_us - rtt_us
						   : rtt_us - r->srtt_us;
		r->rttvar_us = (uint32_t)((3 * (uint64_t)r->rttvar_us + err) / 4);
		r->srtt_us = (uint32_t)((7 * (uint64_t)r->srtt_us + rtt_us) / 8);
		if (rtt_us < r->min_rtt_us)
			r->min_rtt_us = rtt_us;
	}
	/* Linux: __tcp_set_rto() adds max(variance term, rto_min) rather than
	 * RFC 6298 §2.4's 1 s floor on the sum, so a LAN RTO is ~200 ms. */
	rto = (uint64_t)r->srtt_us + TL_MAX(4 * (uint64_t)r->rttvar_us,
					    (uint64_t)rto_min_us);
	rto = TL_MAX(rto, (uint64_t)rto_min_us);
	rto = TL_MIN(rto, (uint64_t)rto_max_us);
	r->rto_us = (uint32_t)rto;
	/* RFC 6298 §5.7 allows keeping the backed-off value; Linux resets
	 * the backoff as soon as new data is acknowledged. */
	r->backoff = 0;
}

uint32_t tcp_rtt_rto(const struct tcp_rtt *r, uint32_t rto_max_us)
{
	uint64_t rto = r->rto_us;

	/* Past 32 doublings any 32-bit RTO has hit the cap. */
	rto = r->backoff >= 32 ? UINT64_MAX : rto << r->backoff;
	return (uint32_t)TL_MIN(rto, (uint64_t)rto_max_us);
}

void tcp_rtt_backoff(struct tcp_rtt *r)
{
	if (r->backoff < UINT8_MAX)
		r->backoff++;
}

uint64_t tcp_model_timeout_us(unsigned retries, uint32_t rto_base_us,
			      uint32_t rto_max_us)
{
	uint64_t base = TL_MIN(rto_base_us, rto_max_us);
	unsigned thresh = 0;

	if (base == 0)
		return 0;
	/* Steps 0..thresh double freely (base << thresh <= rto_max); every
	 * later step is capped at rto_max. Same closed form as Linux's
	 * tcp_model_timeout(), with thresh = ilog2(rto_max / base). */
	while (thresh < 63 && (base << (thresh + 1)) <= rto_max_us)
		thresh++;
	if (retries <= thresh)
		return ((2ULL << retries) - 1) * base;
	return ((2ULL << thresh) - 1) * base +
	       (uint64_t)(retries - thresh) * rto_max_us;
}

uint64_t tcp_syn_budget_us(unsigned syn_retries)
{
	/* A pure doubling from 1 s capped at 120 s: 7 doublings reach 128 s,
	 * so steps 0..6 double and later ones are 120 s. */
	return tcp_model_timeout_us(syn_retries, TCP_TIMEOUT_INIT_US,
				    TCP_RTO_MAX_US);
}

uint32_t tcp_syn_interval_us(unsigned nth_retransmission,
			     unsigned linear_timeouts, uint32_t rto_max_us)
{
	uint64_t iv = TCP_TIMEOUT_INIT_US;
	unsigned doublings;

	/* Linux 6.5+: the first linear_timeouts + 1 intervals stay at the
	 * initial RTO, then the backoff starts. */
	if (nth_retransmission > linear_timeouts) {
		doublings = nth_retransmission - linear_timeouts;
		iv = doublings >= 32 ? UINT64_MAX : iv << doublings;
	}
	return (uint32_t)TL_MIN(iv, (uint64_t)rto_max_us);
}
