/* The daemon's event loop (libevent): for each wire of the lab, the TAP fd
 * (read in batches, non-blocking, by the loop thread itself) and one timer
 * at the stack's next deadline; plus the signals (SIGINT/SIGTERM stop,
 * SIGUSR1 logs counters, SIGHUP is logged and ignored).
 *
 * After every batch and every timer the loop drains the stack: output
 * frames to the TAP, events to the log and the history recorder, then
 * re-arms the timer at stack_next_deadline(). With a recorder, a 1 s timer
 * also snapshots the counters that changed. Only the loop thread touches
 * stack memory. */
#ifndef TL_DAEMON_LOOP_H
#define TL_DAEMON_LOOP_H

#include <stddef.h>

#include "event.h"
#include "lab.h"
#include "tl_types.h"

struct loop;
struct recorder;
struct event_base;

/* CLOCK_MONOTONIC in microseconds: the `now` of every netemu/ call. */
tl_usec_t loop_now(void);

/* Wires the lab's TAPs, timers and signal handlers into a new event base;
 * registers the lab's hosts with rec (NULL: no history; it must outlive
 * the loop). Returns NULL with a reason in err. */
struct loop *loop_new(struct lab *lab, struct recorder *rec, char *err, size_t errlen);

/* Runs until SIGINT/SIGTERM (returns the signal number) or a fatal TAP
 * error (returns -1, already logged). */
int loop_run(struct loop *lp);

/* Something else the loop serves besides the stack hosts (the FUSE view,
 * fsview/): the loop calls serve(ctx, now) whenever fd is readable, and
 * on_event(ctx, wire, ev) for every stack event it drains (wire: the
 * lab's wire index). Either function may be NULL. */
struct loop_view {
	void *ctx;
	int fd;
	void (*serve)(void *ctx, tl_usec_t now);
	void (*on_event)(void *ctx, unsigned wire, const struct tl_event *ev);
};

/* Attaches v (at most one view; before loop_run). Returns 0, or -ENOMEM
 * or -EBUSY. */
int loop_attach_view(struct loop *lp, const struct loop_view *v);

/* The event base, for other loop-thread services (the control socket). */
struct event_base *loop_base(struct loop *lp);

/* After calling into the stacks from outside the loop's own callbacks (an
 * application call through the control socket): sends what every stack
 * queued, delivers its events, re-arms its timer. Loop thread only. */
void loop_flush(struct loop *lp);

void loop_free(struct loop *lp);

#endif
