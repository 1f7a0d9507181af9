/* The connection history recorder: every TCP event of every stack host,
 * tunable and link changes and counter snapshots go into an SQLite database
 * (schema in history_schema.h and docs/history.md) without ever slowing the
 * stack.
 *
 * The loop thread hands items to rec_event() & co., which copy them into a
 * bounded queue and return at once; a full queue drops the item and counts
 * it (rec_lost(), the run's events_lost, one log line per batch with loss).
 * A writer thread takes the queue every half batch interval (or earlier when
 * it fills up) and writes what it took in one transaction with prepared
 * statements, in WAL mode, so readers (sqlite3, `tcplab sql`) see the
 * database live. An event is therefore on disk within one batch interval
 * as long as the writer keeps up, and a SIGKILL loses at most that much.
 *
 * Threads: rec_open() and rec_close() from the thread that owns the
 * recorder; the producers (rec_event, rec_add_host, rec_tunable_change,
 * rec_counters, rec_counters_changed, rec_link_change) from any thread,
 * normally the loop; rec_lost() from anywhere. */
#ifndef TL_DAEMON_RECORDER_H
#define TL_DAEMON_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "event.h"
#include "tl_types.h"

#define REC_DEFAULT_BATCH_MS 100
#define REC_DEFAULT_QUEUE (1u << 16)

/* Zero fields mean the default. */
struct rec_options {
	const char *lab;          /* lab name for the runs row ("default") */
	const char *version;      /* tcplab version (TL_VERSION) */
	unsigned batch_ms;        /* durability bound, ms (REC_DEFAULT_BATCH_MS) */
	unsigned queue_capacity;  /* items (REC_DEFAULT_QUEUE) */
	uint64_t max_age_s;       /* retention: drop history older than this; 0 = keep */
	uint64_t max_transitions; /* retention: keep about this many transition rows; 0 = all */
};

struct recorder;

/* Creates the parent directories, opens or creates the database, switches
 * it to WAL, migrates it, inserts this run's row and starts the writer.
 * Returns NULL with a one-line reason (and what to do) in err. */
struct recorder *rec_open(const char *path, const struct rec_options *opt, char *err,
			  size_t errlen);

/* This run's id in the runs table. */
int64_t rec_run_id(const struct recorder *r);

/* Registers a host of the lab (kind "stack" or "kernel"; addr in host byte
 * order). Returns 0, or -ENOBUFS if the queue is full (counted as lost). */
int rec_add_host(struct recorder *r, uint16_t host_id, const char *name, const char *kind,
		 uint32_t addr);

/* Queues one stack event. Never blocks on I/O; false (and counted) when the
 * queue is full. */
bool rec_event(struct recorder *r, uint16_t host_id, const struct tl_event *ev);

/* A tunable changed on host_id (via: "fuse", "client", "lab", ...). */
void rec_tunable_change(struct recorder *r, uint16_t host_id, const char *name,
			const char *old_value, const char *new_value, const char *via,
			tl_usec_t now);

/* One counter value at `now` (group: "Tcp", "TcpExt", ...). */
void rec_counters(struct recorder *r, uint16_t host_id, const char *group, const char *name,
		  uint64_t value, tl_usec_t now);

/* Periodic snapshot helper: records each counter of *c that differs from
 * *prev (every counter when prev_valid is false), then copies *c to *prev.
 * A counter's value at time T is thus its latest row at or before T. */
void rec_counters_changed(struct recorder *r, uint16_t host_id, const struct stack_counters *c,
			  struct stack_counters *prev, bool prev_valid, tl_usec_t now);

/* A link impairment knob changed (e.g. link "l0", knob "loss"). */
void rec_link_change(struct recorder *r, const char *link, const char *knob,
		     const char *old_value, const char *new_value, tl_usec_t now);

/* Items dropped: full queue, or a batch the database refused. */
uint64_t rec_lost(const struct recorder *r);

/* Items written so far (committed). */
uint64_t rec_written(const struct recorder *r);

/* Writes everything still queued, stamps the run's stop time, stops the
 * writer and closes the database. NULL is fine. */
void rec_close(struct recorder *r);

#endif
