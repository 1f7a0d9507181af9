/* bench/rec_bench: how many events per second the history recorder
 * (daemon/recorder.c) sustains. Built and run by bench/history.
 *
 * It plays the loop thread: synthetic passive connections, five state
 * transitions each (SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2,
 * TIME_WAIT) with segment fields and statistics, pushed through
 * rec_event() at a fixed rate in bursts (as the loop drains a TAP batch).
 * For each rate: a fresh database, N seconds of events, then rec_close().
 * A rate is sustained when nothing was lost and the writer had everything
 * written within a batch interval of the last event (it kept up). Last, a flood run measures
 * the writer's ceiling: the producer retries when the queue is full.
 *
 * Usage: rec_bench DIR [SECONDS [RATE...]]   (DIR: where databases go) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "recorder.h"
#include "tcp_state.h"
#include "tcp_wire.h"

#define BURST 256

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	uint64_t n = now_ns();
	if (t <= n)
		return;
	struct timespec ts = { .tv_sec = (time_t)((t - n) / 1000000000ull),
			       .tv_nsec = (long)((t - n) % 1000000000ull) };
	nanosleep(&ts, NULL);
}

/* Event i of the synthetic stream: connection i / 5, step i % 5. */
static void make_event(uint64_t i, struct tl_event *ev)
{
	static const struct {
		uint8_t from, to, flags;
		const char *cause;
	} steps[5] = {
		{ TCP_LISTEN, TCP_SYN_RECV, TH_SYN, "SYN" },
		{ TCP_SYN_RECV, TCP_ESTABLISHED, TH_ACK, "ACK" },
		{ TCP_ESTABLISHED, TCP_FIN_WAIT1, 0, "close" },
		{ TCP_FIN_WAIT1, TCP_FIN_WAIT2, TH_ACK, "ACK" },
		{ TCP_FIN_WAIT2, TCP_TIME_WAIT, TH_FIN | TH_ACK, "FIN" },
	};
	uint64_t conn = i / 5 + 1;
	unsigned s = (unsigned)(i % 5);
	memset(ev, 0, sizeof(*ev));
	ev->kind = TL_EV_TCP_STATE;
	ev->time = now_ns() / 1000;
	ev->conn_id = conn;
	ev->laddr = 0xc6120001u;
	ev->lport = 80;
	ev->raddr = 0xc6120002u;
	ev->rport = (uint16_t)(1024 + conn % 64000);
	ev->old_state = steps[s].from;
	ev->new_state = steps[s].to;
	ev->flags = TL_EVF_PASSIVE;
	ev->cause_kind = steps[s].flags ? TL_CAUSE_SEGMENT : TL_CAUSE_APP;
	ev->seg_flags = steps[s].flags;
	ev->seg_seq = (uint32_t)(conn * 7919 + s);
	ev->seg_ack = (uint32_t)(conn * 104729 + s);
	ev->seg_win = 502;
	snprintf(ev->cause, sizeof(ev->cause), "%s", steps[s].cause);
	if (s >= 1) {
		ev->bytes_in = 74;
		ev->bytes_out = 154;
		ev->segs_in = 2 + s;
		ev->segs_out = 2 + s;
		ev->srtt_us = 240;
		ev->min_rtt_us = 60;
	}
}

struct result {
	uint64_t events, lost, written;
	double produce_s, flush_ms;
	double writer_cpu_s; /* CPU the writer thread used (process - this thread) */
};

static double cpu_s(int who_thread)
{
	if (who_thread) {
		struct timespec ts;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* rate 0: flood (retry while the queue is full). */
static int run(const char *dir, unsigned idx, double seconds, uint64_t rate, struct result *res)
{
	char path[512], err[512];
	snprintf(path, sizeof(path), "%s/bench-%u.db", dir, idx);
	unlink(path);
	struct recorder *r = rec_open(path, &(struct rec_options){ .lab = "bench" }, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "rec_bench: %s\n", err);
		return -1;
	}
	rec_add_host(r, 1, "stack", "stack", 0xc6120001u);
	double proc0 = cpu_s(0), self0 = cpu_s(1);
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), i = 0, refused = 0;
	struct tl_event ev;
	while (now_ns() < end) {
		if (rate)
			sleep_until(start + (uint64_t)((double)i * 1e9 / (double)rate));
		for (unsigned k = 0; k < BURST; k++, i++) {
			make_event(i, &ev);
			if (rate) {
				rec_event(r, 1, &ev);
				continue;
			}
			while (!rec_event(r, 1, &ev)) {
				refused++;
				sleep_until(now_ns() + 100000);
			}
		}
	}
	uint64_t produced = now_ns();
	res->events = i;
	res->produce_s = (double)(produced - start) / 1e9;
	/* Drained: every event written or lost (bounded by 60 s). */
	while (rec_written(r) + rec_lost(r) - refused < i + 1 /* the host */ &&
	       now_ns() - produced < 60000000000ull)
		sleep_until(now_ns() + 1000000);
	res->flush_ms = (double)(now_ns() - produced) / 1e6;
	res->lost = rec_lost(r) - refused; /* floods retry: refusals are not loss */
	rec_close(r);
	res->writer_cpu_s = (cpu_s(0) - proc0) - (cpu_s(1) - self0);
	res->written = i - res->lost;
	unlink(path);
	char aux[600];
	snprintf(aux, sizeof(aux), "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", path);
	unlink(aux);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rec_bench DIR [SECONDS [RATE...]]\n");
		return 2;
	}
	log_init("rec_bench", LOG_LVL_ERR);
	double seconds = argc > 2 ? atof(argv[2]) : 3.0;
	uint64_t rates_default[] = { 100000, 200000, 300000, 400000, 600000, 800000 };
	uint64_t rates[16];
	unsigned n_rates = 0;
	for (int a = 3; a < argc && n_rates < 16; a++)
		rates[n_rates++] = strtoull(argv[a], NULL, 10);
	if (!n_rates) {
		memcpy(rates, rates_default, sizeof(rates_default));
		n_rates = sizeof(rates_default) / sizeof(rates_default[0]);
	}
	uint64_t best = 0;
	struct result res;
	for (unsigned k = 0; k < n_rates; k++) {
		if (run(argv[1], k, seconds, rates[k], &res) < 0)
			return 1;
		bool ok = res.lost == 0 && res.flush_ms < REC_DEFAULT_BATCH_MS;
		printf("recorder: paced %7" PRIu64 " events/s for %.1f s: %" PRIu64 " events, %" PRIu64
		       " lost, all written %.1f ms after the last -> %s\n",
		       rates[k], res.produce_s, res.events, res.lost, res.flush_ms,
		       ok ? "sustained" : "NOT sustained");
		fflush(stdout);
		if (!ok)
			break;
		best = rates[k];
	}
	if (run(argv[1], 99, seconds, 0, &res) < 0)
		return 1;
	double total_s = res.produce_s + res.flush_ms / 1000;
	printf("recorder: flood: %" PRIu64 " events in %.2f s = %.0f events/s written;"
	       " writer CPU %.2f us/event = %.0f events/s per core\n",
	       res.written, total_s, (double)res.written / total_s,
	       res.writer_cpu_s * 1e6 / (double)res.written,
	       (double)res.written / res.writer_cpu_s);
	printf("RESULT recorder_sustained_events_per_s %" PRIu64 "\n", best);
	printf("RESULT recorder_flood_events_per_s %.0f\n", (double)res.written / total_s);
	printf("RESULT recorder_events_per_cpu_s %.0f\n", (double)res.written / res.writer_cpu_s);
	return 0;
}
