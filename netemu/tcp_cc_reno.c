/* Reno congestion control (RFC 5681 §3.1): slow start doubles cwnd per
 * RTT below ssthresh, congestion avoidance adds one segment per window of
 * ACKs, a loss halves the window. Counted in segments as Linux does
 * (tcp_reno_cong_avoid), not in bytes. */
#include "tcp_cc.h"

static void reno_cong_avoid(struct tcp_cc *cc, uint32_t acked, uint32_t srtt_us,
			    tl_usec_t now)
{
	(void)srtt_us;
	(void)now;
	/* RFC 5681 §3.1: slow start while cwnd < ssthresh. */
	if (tcp_cc_in_slow_start(cc)) {
		acked = tcp_cc_slow_start(cc, acked);
		if (acked == 0)
			return;
	}
	/* RFC 5681 §3.1 (3): one segment per cwnd acked. */
	tcp_cc_cong_avoid_ai(cc, cc->cwnd, acked);
}

const struct tcp_cc_ops tcp_cc_reno_ops = {
	.name = "reno",
	.cong_avoid = reno_cong_avoid,
	.ssthresh = tcp_cc_reno_ssthresh,
};
