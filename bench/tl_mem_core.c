/* tl-mem-core: memory per idle ESTABLISHED connection and per TIME_WAIT
 * entry, measured in-process through the core (as the unit harness drives
 * it): N peers in 198.18.128.0/17 complete a handshake with a listener on
 * port 80 whose application accepts and keeps every connection; then the
 * application closes them all and each peer answers our FIN with its own,
 * which leaves N TIME_WAIT entries on our side.
 *
 *   tl-mem-core [N]     (default 100000, at most 1000000)
 *
 * Bytes per entry = growth of malloc's in-use bytes (mallinfo2) over the
 * state before the first connection, divided by N: it includes each
 * object's malloc header and the connection hash table. Also prints the
 * struct sizes (tcp_int.h, the engine's internal header). */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core_frames.h"
#include "tcp_api.h"
#include "tcp_int.h"

struct app {
	struct tcp_conn **conns;
	size_t n, cap;
};

static void on_accept(void *ctx, struct tcp_conn *l)
{
	struct app *a = ctx;
	struct tcp_conn *c;
	while ((c = tcp_accept(l, tcp_now(l)))) {
		if (a->n < a->cap)
			a->conns[a->n++] = c;
		else
			tcp_abort(c, tcp_now(c));
	}
}

static const struct tcp_callbacks listen_cb = { .on_accept = on_accept };

static size_t in_use(void)
{
	return mallinfo2().uordblks;
}

/* Feeds one segment and returns the sequence number of the last TCP
 * segment the stack sent in answer (0 if none). */
static uint32_t feed(struct stack *st, const struct tcp_seg *s, tl_usec_t now, uint8_t *flags)
{
	uint8_t frame[CF_FRAME_MAX];
	size_t len = cf_build(frame, s);
	stack_input(st, frame, len, now);
	uint32_t seq = 0;
	*flags = 0;
	struct pktbuf *pb;
	while ((pb = stack_pop_output(st))) {
		const uint8_t *t = cf_tcp_of(pb);
		if (t) {
			seq = be32_at(t + 4);
			*flags = t[13];
		}
		pktbuf_free(pb);
	}
	struct tl_event ev;
	while (stack_pop_event(st, &ev))
		;
	return seq;
}

static struct tcp_seg peer_seg(size_t i, uint8_t flags, uint32_t seq, uint32_t ack)
{
	return (struct tcp_seg){
		.saddr = CF_PEERS | (uint32_t)(i / 50000 + 1), .daddr = CF_STACK,
		.sport = (uint16_t)(10000 + i % 50000), .dport = 80,
		.seq = seq, .ack = ack, .flags = flags, .wnd = 64240,
	};
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	if (n < 1 || n > 1000000) {
		fprintf(stderr, "usage: tl-mem-core [N]   (1 <= N <= 1000000)\n");
		return 2;
	}
	tl_usec_t now = 1000000;
	struct stack *st = cf_stack_new(now);
	if (!st)
		return 1;
	stack_sysctl(st)->tcp_max_tw_buckets = (int)n + 1;
	struct app a = { .conns = calloc(n, sizeof(struct tcp_conn *)), .cap = n };
	uint32_t *peer_isn = calloc(n, sizeof(uint32_t)), *our_iss = calloc(n, sizeof(uint32_t));
	struct tcp_conn *l;
	if (!a.conns || !peer_isn || !our_iss ||
	    tcp_listen(stack_tcp(st), 80, 4096, &listen_cb, &a, &l) < 0) {
		fprintf(stderr, "tl-mem-core: setup failed\n");
		return 1;
	}
	pktbuf_pool_drain(); /* pooled frame buffers are not connection state */
	size_t m0 = in_use();

	uint8_t fl;
	for (size_t i = 0; i < n; i++) {
		peer_isn[i] = (uint32_t)(i * 2654435761u);
		struct tcp_seg syn = peer_seg(i, TH_SYN, peer_isn[i], 0);
		syn.opt = (struct tcp_opts){ .has_mss = true, .mss = 1460, .sack_ok = true,
					     .has_wscale = true, .wscale = 7 };
		our_iss[i] = feed(st, &syn, now, &fl);
		if (fl != (TH_SYN | TH_ACK)) {
			fprintf(stderr, "tl-mem-core: no SYN-ACK for peer %zu\n", i);
			return 1;
		}
		struct tcp_seg ack = peer_seg(i, TH_ACK, peer_isn[i] + 1, our_iss[i] + 1);
		feed(st, &ack, now, &fl);
		if ((i & 1023) == 0)
			now += 1000; /* a little time passes; no timer is due */
	}
	pktbuf_pool_drain();
	size_t m1 = in_use();
	size_t established = a.n;

	/* We close first; each peer ACKs our FIN and sends its own. One at a
	 * time, so that no more than a frame or two is ever queued. */
	for (size_t i = 0; i < a.n; i++) {
		tcp_close(a.conns[i], now);
		struct pktbuf *pb;
		while ((pb = stack_pop_output(st)))
			pktbuf_free(pb);
		struct tcp_seg fin = peer_seg(i, TH_FIN | TH_ACK, peer_isn[i] + 1, our_iss[i] + 2);
		feed(st, &fin, now, &fl);
	}
	pktbuf_pool_drain();
	size_t m2 = in_use();
	uint32_t tw = stack_tcp(st)->tw_count;

	bool no_stats = m1 == m0 && m2 == m0;
	if (no_stats) /* sanitizer allocators keep their own books */
		fprintf(stderr, "tl-mem-core: mallinfo2() reports nothing here (a sanitizer build?): "
				"use a plain build\n");
	else
		printf("established %zu: %.0f bytes per connection (sizeof struct tcp_conn %zu)\n"
		       "time_wait %u: %.0f bytes per entry (sizeof struct tcp_tw %zu)\n",
		       established, (double)(m1 - m0) / (double)n, sizeof(struct tcp_conn), tw,
		       (double)(m2 - m0) / (double)n, sizeof(struct tcp_tw));
	tcp_close(l, now);
	stack_free(st);
	pktbuf_pool_drain();
	free(a.conns);
	free(peer_isn);
	free(our_iss);
	return established == n && tw == n && !no_stats ? 0 : 1;
}
