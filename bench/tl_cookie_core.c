/* tl-cookie-core: SYN cookies through the pure core alone, no TAP, no
 * daemon. One stack host with tcp_syncookies=2 and a listener on port 80;
 * pre-built SYN frames (sources across 198.18.128.0/17, random ports and
 * ISNs, a Linux client's options) go into stack_input() one by one and
 * every SYN-ACK that comes out is counted and freed.
 *
 *   tl-cookie-core [SECONDS]    (default 3, at most 30)
 *
 * Prints "<SYN-ACKs per second> SYN/s (...)". The clock is read every
 * 4096 SYNs; time is fed to the core from the same monotonic clock. */
#include <stdio.h>
#include <stdlib.h>

#include "core_frames.h"
#include "tcp_api.h"
#include "tcp_sysctl.h"

#define NFRAMES 65536

static uint8_t frames[NFRAMES][CF_FRAME_MAX];
static uint16_t frame_len[NFRAMES];

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 3.0;
	if (seconds <= 0 || seconds > 30) {
		fprintf(stderr, "usage: tl-cookie-core [SECONDS]   (0 < SECONDS <= 30)\n");
		return 2;
	}
	double t0 = cf_now_s();
#define NOW_US() ((tl_usec_t)((cf_now_s() - t0) * 1e6) + 1000000)
	struct stack *st = cf_stack_new(NOW_US());
	if (!st)
		return 1;
	stack_sysctl(st)->tcp_syncookies = 2;
	struct tcp_conn *l;
	if (tcp_listen(stack_tcp(st), 80, 4096, NULL, NULL, &l) < 0) {
		fprintf(stderr, "tl-cookie-core: listen failed\n");
		return 1;
	}
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < NFRAMES; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		struct tcp_seg s = {
			.saddr = CF_PEERS | (uint32_t)(x & 0x7fff) | 1, .daddr = CF_STACK,
			.sport = (uint16_t)(1024 + (x >> 16) % 60000), .dport = 80,
			.seq = (uint32_t)(x >> 32), .flags = TH_SYN, .wnd = 64240,
			.opt = { .has_mss = true, .mss = 1460, .sack_ok = true, .has_ts = true,
				 .ts_val = (uint32_t)x, .has_wscale = true, .wscale = 7 },
		};
		frame_len[i] = (uint16_t)cf_build(frames[i], &s);
	}
	uint64_t in = 0, synacks = 0, other = 0;
	double start = cf_now_s(), end = start + seconds, el;
	tl_usec_t now = NOW_US();
	for (;;) {
		if ((in & 4095) == 0) {
			double t = cf_now_s();
			if (t >= end) {
				el = t - start;
				break;
			}
			now = (tl_usec_t)((t - t0) * 1e6) + 1000000;
		}
		stack_input(st, frames[in % NFRAMES], frame_len[in % NFRAMES], now);
		in++;
		struct pktbuf *pb;
		while ((pb = stack_pop_output(st))) {
			const uint8_t *t = cf_tcp_of(pb);
			if (t && (t[13] & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
				synacks++;
			else
				other++;
			pktbuf_free(pb);
		}
		struct tl_event ev;
		while (stack_pop_event(st, &ev))
			;
	}
	struct stack_counters *mib = stack_counters(st);
	printf("%.0f SYN/s (%llu SYNs in, %llu cookie SYN-ACKs out in %.2f s; SyncookiesSent=%llu; "
	       "other frames %llu)\n",
	       (double)synacks / el, (unsigned long long)in, (unsigned long long)synacks, el,
	       (unsigned long long)mib->tcpext.SyncookiesSent, (unsigned long long)other);
	tcp_close(l, now);
	stack_free(st);
	pktbuf_pool_drain();
	return synacks == in ? 0 : 1;
}
