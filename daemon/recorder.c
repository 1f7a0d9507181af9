/* History recorder: bounded queue, writer thread, batched SQLite writes
 * (see recorder.h for the contract, docs/history.md for the schema).
 *
 * Connection rows are derived from the events. The writer keeps a cache of
 * the connections it has seen and not yet seen close. The first event of a
 * (host, conn_id) creates a cache entry with the next free rowid (the batch
 * holds the write lock, so max(id) + 1 onwards is ours; the transition rows
 * reference it at once); later events only change the cached copy; at the
 * end of each batch every connection that changed is written once: INSERT
 * if new, else UPDATE. A short connection thus costs a single row write,
 * however many transitions it makes. */
#include "recorder.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "history_schema.h"
#include "log.h"
#include "tcp_state.h"

enum rec_kind {
	REC_EVENT = 1,
	REC_HOST,
	REC_TUNABLE,
	REC_COUNTER,
	REC_LINK,
};

/* Text items (hosts, tunables, links) carry up to four strings in one heap
 * block owned by the item; NULL strings have their bit in null_mask. */
#define REC_TEXT_FIELDS 4

/* One queued item. Invariant: kind selects the union member; a text item
 * owns txt.buf until the writer frees it. */
struct rec_item {
	uint8_t kind;
	uint16_t host;
	union {
		struct tl_event ev;
		struct {
			tl_usec_t time;
			uint64_t value;
			char mib[16];
			char name[48];
		} ctr;
		struct {
			tl_usec_t time;
			uint32_t addr;
			uint8_t null_mask;
			uint16_t off[REC_TEXT_FIELDS];
			char *buf;
		} txt;
	} u;
};

/* A connection the writer has seen and not yet seen close. Invariants:
 * rowid is its row in connections, committed unless fresh (fresh: no row
 * yet, written at the end of the current batch, which also makes it
 * dirty); dirty iff it sits in the writer's dirty list; closed implies
 * state == TCP_CLOSE and that it leaves the cache once written. */
struct rec_conn {
	uint16_t host;
	uint64_t conn_id;
	int64_t rowid;
	uint8_t state;
	bool dirty, closed, fresh;
	/* Fixed at the first event (the INSERT). */
	const char *role;
	int64_t listener;
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	bool from_cookie;
	tl_usec_t opened_us;
	/* Changing. */
	tl_usec_t closed_us, last_us;
	uint64_t bytes_in, bytes_out;
	uint32_t segs_in, segs_out, retrans, synack_retrans;
	uint32_t srtt_us, min_rtt_us;
	char close_cause[sizeof(((struct tl_event *)0)->cause)];
};

/* A live listener, so that passive connections can name theirs. */
struct rec_listener {
	uint16_t host;
	uint32_t laddr;
	uint16_t lport;
	int64_t rowid;
};

enum rec_stmt {
	ST_CONN_NEXT_ID,
	ST_CONN_INSERT,
	ST_CONN_UPDATE,
	ST_TRANSITION,
	ST_HOST,
	ST_TUNABLE,
	ST_COUNTER,
	ST_LINK,
	ST_RUN_PROGRESS,
	ST_RUN_STOP,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_CONN_NEXT_ID] = "SELECT ifnull(max(id), 0) + 1 FROM connections",
	[ST_CONN_INSERT] =
		"INSERT INTO connections (final_state, closed_us, close_cause, bytes_in, bytes_out,"
		" segs_in, segs_out, retrans, synack_retrans, min_rtt_us, srtt_us, last_us, id,"
		" run, host, conn_id, laddr, lport, raddr, rport, role, listener, opened_us,"
		" from_cookie)"
		" VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?1,"
		" ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
	[ST_CONN_UPDATE] =
		"UPDATE connections SET final_state = ?2, closed_us = ?3, close_cause = ?4,"
		" bytes_in = ?5, bytes_out = ?6, segs_in = ?7, segs_out = ?8, retrans = ?9,"
		" synack_retrans = ?10, min_rtt_us = ?11, srtt_us = ?12, last_us = ?13"
		" WHERE id = ?1",
	[ST_TRANSITION] =
		"INSERT INTO transitions (conn, time_us, kind, from_state, to_state, cause_kind,"
		" cause, count, seg_flags, seg_seq, seg_ack, seg_len, seg_win)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[ST_HOST] = "INSERT OR REPLACE INTO hosts (run, id, name, kind, addr)"
		    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_TUNABLE] = "INSERT INTO tunable_changes (run, host, time_us, name, old_value,"
		       " new_value, via) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_COUNTER] = "INSERT INTO counter_snapshots (run, host, time_us, mib, name, value)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_LINK] = "INSERT INTO link_changes (run, time_us, link, knob, old_value, new_value)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_RUN_PROGRESS] = "UPDATE runs SET events_written = ?2, events_lost = ?3,"
			    " flushed_us = ?4 WHERE id = ?1",
	[ST_RUN_STOP] = "UPDATE runs SET stopped_us = ?2, events_written = ?3,"
			" events_lost = ?4, flushed_us = ?2 WHERE id = ?1",
};

/* Items the writer copies out of the ring per lock hold. */
#define REC_CHUNK 1024
/* Rows one retention pass deletes at most (keeps batches short). */
#define REC_RETENTION_CHUNK 20000
#define STR_(x) #x
#define STR(x) STR_(x)
#define REC_RETENTION_PERIOD_US (2 * TL_USEC_PER_SEC)
/* An idle writer still stamps flushed_us this often. */
#define REC_IDLE_STAMP_US TL_USEC_PER_SEC
/* WAL pages after which the checkpointer folds the WAL into the file
 * (SQLite's own default for autocheckpoint). */
#define REC_CHECKPOINT_PAGES 1000

/* Invariants: the ring holds `count` items starting at `head` (mod cap);
 * only the writer thread touches db, stmts, the cache and the batch
 * buffer after rec_open() returns. */
struct recorder {
	char path[4096];
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	int64_t run_id;
	tl_usec_t batch_us;
	uint64_t max_age_s, max_transitions;

	/* Queue, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t wake;
	struct rec_item *ring;
	size_t cap, head, count;
	bool stop, kick;

	_Atomic uint64_t lost, written;

	/* Checkpointer: its own connection and thread, so that commits never
	 * wait for a checkpoint (SQLite would run it inside the commit).
	 * ckpt_pending and ckpt_stop are under ckpt_mu. */
	sqlite3 *ckpt_db;
	pthread_t ckpt_thread;
	bool ckpt_started, ckpt_pending, ckpt_stop;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_wake;

	/* Writer thread state. */
	pthread_t thread;
	bool thread_started;
	struct rec_item *chunk;
	struct rec_conn **tab; /* open addressing, linear probing */
	size_t tab_cap, tab_used;
	struct rec_conn **dirty;
	size_t n_dirty, dirty_cap;
	struct rec_listener *lsn;
	size_t n_lsn, lsn_cap;
	int64_t next_rowid; /* of connections, valid inside a batch */
	uint64_t lost_logged;
	tl_usec_t last_stamp, last_retention;
	bool retention_behind;
};

static tl_usec_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tl_usec_t)ts.tv_sec * TL_USEC_PER_SEC + (tl_usec_t)ts.tv_nsec / 1000;
}

static int64_t wall_offset_us(void)
{
	struct timespec m, w;
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &w);
	return ((int64_t)w.tv_sec - (int64_t)m.tv_sec) * (int64_t)TL_USEC_PER_SEC +
	       ((int64_t)w.tv_nsec - (int64_t)m.tv_nsec) / 1000;
}

static const char *ip_str(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", (a >> 24) & 0xff, (a >> 16) & 0xff, (a >> 8) & 0xff,
		 a & 0xff);
	return buf;
}

/* ---- queue (producers) ---- */

static bool push(struct recorder *r, const struct rec_item *it)
{
	pthread_mutex_lock(&r->mu);
	if (r->count == r->cap || r->stop) {
		pthread_mutex_unlock(&r->mu);
		atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
		return false;
	}
	r->ring[(r->head + r->count) % r->cap] = *it;
	r->count++;
	/* A quarter full: wake the writer early rather than risk loss. */
	if (!r->kick && r->count >= r->cap / 4) {
		r->kick = true;
		pthread_cond_signal(&r->wake);
	}
	pthread_mutex_unlock(&r->mu);
	return true;
}

/* Builds a text item owning copies of up to four strings. */
static bool text_item(struct rec_item *it, uint8_t kind, uint16_t host, tl_usec_t time,
		      const char *const s[REC_TEXT_FIELDS])
{
	size_t len[REC_TEXT_FIELDS], total = 0;
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->host = host;
	it->u.txt.time = time;
	for (int i = 0; i < REC_TEXT_FIELDS; i++) {
		len[i] = s[i] ? strnlen(s[i], 4096) : 0;
		total += len[i] + 1;
	}
	char *buf = malloc(total);
	if (!buf)
		return false;
	size_t off = 0;
	for (int i = 0; i < REC_TEXT_FIELDS; i++) {
		if (!s[i])
			it->u.txt.null_mask |= (uint8_t)(1u << i);
		it->u.txt.off[i] = (uint16_t)off;
		if (len[i])
			memcpy(buf + off, s[i], len[i]);
		buf[off + len[i]] = '\0';
		off += len[i] + 1;
	}
	it->u.txt.buf = buf;
	return true;
}

static bool push_text(struct recorder *r, struct rec_item *it)
{
	if (push(r, it))
		return true;
	free(it->u.txt.buf);
	return false;
}

int rec_add_host(struct recorder *r, uint16_t host_id, const char *name, const char *kind,
		 uint32_t addr)
{
	struct rec_item it;
	const char *s[REC_TEXT_FIELDS] = { name, kind, NULL, NULL };
	if (!text_item(&it, REC_HOST, host_id, 0, s)) {
		atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
		return -ENOMEM;
	}
	it.u.txt.addr = addr;
	return push_text(r, &it) ? 0 : -ENOBUFS;
}

bool rec_event(struct recorder *r, uint16_t host_id, const struct tl_event *ev)
{
	struct rec_item it;
	it.kind = REC_EVENT;
	it.host = host_id;
	it.u.ev = *ev;
	return push(r, &it);
}

void rec_tunable_change(struct recorder *r, uint16_t host_id, const char *name,
			const char *old_value, const char *new_value, const char *via,
			tl_usec_t now)
{
	struct rec_item it;
	const char *s[REC_TEXT_FIELDS] = { name, old_value, new_value ? new_value : "",
					   via ? via : "" };
	if (!text_item(&it, REC_TUNABLE, host_id, now, s)) {
		atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
		return;
	}
	push_text(r, &it);
}

void rec_counters(struct recorder *r, uint16_t host_id, const char *group, const char *name,
		  uint64_t value, tl_usec_t now)
{
	struct rec_item it;
	memset(&it, 0, sizeof(it));
	it.kind = REC_COUNTER;
	it.host = host_id;
	it.u.ctr.time = now;
	it.u.ctr.value = value;
	snprintf(it.u.ctr.mib, sizeof(it.u.ctr.mib), "%s", group);
	snprintf(it.u.ctr.name, sizeof(it.u.ctr.name), "%s", name);
	push(r, &it);
}

void rec_link_change(struct recorder *r, const char *link, const char *knob,
		     const char *old_value, const char *new_value, tl_usec_t now)
{
	struct rec_item it;
	const char *s[REC_TEXT_FIELDS] = { link, knob, old_value, new_value ? new_value : "" };
	if (!text_item(&it, REC_LINK, 0, now, s)) {
		atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
		return;
	}
	push_text(r, &it);
}

/* Every counter of struct stack_counters with its procfs group and name. */
struct counter_def {
	const char *mib;
	const char *name;
	size_t off;
};

#define CTR_IP(n) { "Ip", #n, offsetof(struct stack_counters, ip.n) },
#define CTR_ICMP(n) { "Icmp", #n, offsetof(struct stack_counters, icmp.n) },
#define CTR_TCP(n) { "Tcp", #n, offsetof(struct stack_counters, tcp.n) },
#define CTR_UDP(n) { "Udp", #n, offsetof(struct stack_counters, udp.n) },
#define CTR_TCPEXT(n) { "TcpExt", #n, offsetof(struct stack_counters, tcpext.n) },
#define CTR_TLEXT(n) { "TlExt", #n, offsetof(struct stack_counters, tlext.n) },
static const struct counter_def counter_defs[] = {
	TL_MIB_IP(CTR_IP) TL_MIB_ICMP(CTR_ICMP) TL_MIB_TCP(CTR_TCP)
	TL_MIB_UDP(CTR_UDP) TL_MIB_TCPEXT(CTR_TCPEXT) TL_MIB_TLEXT(CTR_TLEXT)
};

void rec_counters_changed(struct recorder *r, uint16_t host_id, const struct stack_counters *c,
			  struct stack_counters *prev, bool prev_valid, tl_usec_t now)
{
	for (size_t i = 0; i < sizeof(counter_defs) / sizeof(counter_defs[0]); i++) {
		const struct counter_def *d = &counter_defs[i];
		uint64_t v, p;
		memcpy(&v, (const char *)c + d->off, sizeof(v));
		memcpy(&p, (const char *)prev + d->off, sizeof(p));
		if (!prev_valid || v != p)
			rec_counters(r, host_id, d->mib, d->name, v, now);
	}
	*prev = *c;
}

uint64_t rec_lost(const struct recorder *r)
{
	return atomic_load_explicit(&((struct recorder *)r)->lost, memory_order_relaxed);
}

uint64_t rec_written(const struct recorder *r)
{
	return atomic_load_explicit(&((struct recorder *)r)->written, memory_order_relaxed);
}

int64_t rec_run_id(const struct recorder *r)
{
	return r->run_id;
}

/* ---- writer: connection cache ---- */

static size_t conn_hash(uint16_t host, uint64_t id)
{
	uint64_t x = id * 0x9E3779B97F4A7C15ull ^ ((uint64_t)host << 32);
	x ^= x >> 29;
	return (size_t)(x * 0xBF58476D1CE4E5B9ull >> 17);
}

static struct rec_conn *cache_find(struct recorder *r, uint16_t host, uint64_t id)
{
	if (!r->tab_cap)
		return NULL;
	size_t mask = r->tab_cap - 1;
	for (size_t i = conn_hash(host, id) & mask;; i = (i + 1) & mask) {
		struct rec_conn *c = r->tab[i];
		if (!c)
			return NULL;
		if (c->host == host && c->conn_id == id)
			return c;
	}
}

static void cache_place(struct rec_conn **tab, size_t cap, struct rec_conn *c)
{
	size_t mask = cap - 1;
	size_t i = conn_hash(c->host, c->conn_id) & mask;
	while (tab[i])
		i = (i + 1) & mask;
	tab[i] = c;
}

static int cache_add(struct recorder *r, struct rec_conn *c)
{
	/* At most half full, so probes stay short. */
	if ((r->tab_used + 1) * 2 > r->tab_cap) {
		size_t ncap = r->tab_cap ? r->tab_cap * 2 : 1024;
		struct rec_conn **nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		for (size_t i = 0; i < r->tab_cap; i++)
			if (r->tab[i])
				cache_place(nt, ncap, r->tab[i]);
		free(r->tab);
		r->tab = nt;
		r->tab_cap = ncap;
	}
	cache_place(r->tab, r->tab_cap, c);
	r->tab_used++;
	return 0;
}

/* Removes c, shifting later members of its probe run back so that lookups
 * never stop at a hole that used to be filled. */
static void cache_remove(struct recorder *r, struct rec_conn *c)
{
	size_t mask = r->tab_cap - 1;
	size_t i = conn_hash(c->host, c->conn_id) & mask;
	while (r->tab[i] != c)
		i = (i + 1) & mask;
	r->tab[i] = NULL;
	r->tab_used--;
	for (size_t j = (i + 1) & mask; r->tab[j]; j = (j + 1) & mask) {
		struct rec_conn *m = r->tab[j];
		size_t home = conn_hash(m->host, m->conn_id) & mask;
		/* m may move into the hole at i if its home is not in (i, j]. */
		bool stays = (i < j) ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			r->tab[i] = m;
			r->tab[j] = NULL;
			i = j;
		}
	}
}

static void cache_clear(struct recorder *r)
{
	for (size_t i = 0; i < r->tab_cap; i++) {
		free(r->tab[i]);
		r->tab[i] = NULL;
	}
	r->tab_used = 0;
	r->n_dirty = 0;
}

/* After a rolled-back batch: connections first seen in it have no row and
 * leave the cache (with listeners among them); the others keep their
 * newer values, which their next UPDATE writes whole. */
static void cache_rollback(struct recorder *r, int64_t first_fresh)
{
	for (size_t i = 0; i < r->n_dirty; i++) {
		struct rec_conn *c = r->dirty[i];
		c->dirty = false;
		if (c->fresh) {
			cache_remove(r, c);
			free(c);
		}
	}
	r->n_dirty = 0;
	for (size_t i = 0; i < r->n_lsn;) {
		if (r->lsn[i].rowid >= first_fresh)
			r->lsn[i] = r->lsn[--r->n_lsn];
		else
			i++;
	}
}

static int mark_dirty(struct recorder *r, struct rec_conn *c)
{
	if (c->dirty)
		return 0;
	if (r->n_dirty == r->dirty_cap) {
		size_t ncap = r->dirty_cap ? r->dirty_cap * 2 : 256;
		struct rec_conn **nd = realloc(r->dirty, ncap * sizeof(*nd));
		if (!nd)
			return -ENOMEM;
		r->dirty = nd;
		r->dirty_cap = ncap;
	}
	r->dirty[r->n_dirty++] = c;
	c->dirty = true;
	return 0;
}

static int64_t listener_find(const struct recorder *r, uint16_t host, uint32_t laddr,
			     uint16_t lport)
{
	int64_t wildcard = 0;
	for (size_t i = 0; i < r->n_lsn; i++) {
		const struct rec_listener *l = &r->lsn[i];
		if (l->host != host || l->lport != lport)
			continue;
		if (l->laddr == laddr)
			return l->rowid;
		if (l->laddr == 0)
			wildcard = l->rowid;
	}
	return wildcard;
}

static void listener_add(struct recorder *r, uint16_t host, uint32_t laddr, uint16_t lport,
			 int64_t rowid)
{
	if (r->n_lsn == r->lsn_cap) {
		size_t ncap = r->lsn_cap ? r->lsn_cap * 2 : 16;
		struct rec_listener *nl = realloc(r->lsn, ncap * sizeof(*nl));
		if (!nl)
			return; /* only the listener column suffers */
		r->lsn = nl;
		r->lsn_cap = ncap;
	}
	r->lsn[r->n_lsn++] = (struct rec_listener){ host, laddr, lport, rowid };
}

static void listener_remove(struct recorder *r, int64_t rowid)
{
	for (size_t i = 0; i < r->n_lsn; i++)
		if (r->lsn[i].rowid == rowid) {
			r->lsn[i] = r->lsn[--r->n_lsn];
			return;
		}
}

/* ---- writer: SQL ---- */

static int step_done(struct recorder *r, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_err("history %s: %s", r->path, sqlite3_errmsg(r->db));
		return -EIO;
	}
	return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static const char *cause_kind_name(uint8_t k)
{
	switch (k) {
	case TL_CAUSE_SEGMENT:
		return "segment";
	case TL_CAUSE_TIMER:
		return "timer";
	case TL_CAUSE_APP:
		return "app";
	}
	return "unknown";
}

/* The cache entry for ev's connection; a new one (fresh) on first sight. */
static struct rec_conn *conn_for(struct recorder *r, uint16_t host, const struct tl_event *ev)
{
	struct rec_conn *c = cache_find(r, host, ev->conn_id);
	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->host = host;
	c->conn_id = ev->conn_id;
	/* A connection first seen by a retransmission (its opening event was
	 * lost) starts in an unknown state. */
	c->state = ev->kind == TL_EV_TCP_STATE ? ev->old_state : 0;
	c->role = "active";
	if (ev->kind == TL_EV_TCP_STATE && ev->new_state == TCP_LISTEN)
		c->role = "listen";
	else if (ev->flags & TL_EVF_PASSIVE) {
		c->role = "passive";
		c->listener = listener_find(r, host, ev->laddr, ev->lport);
	}
	c->laddr = ev->laddr;
	c->raddr = ev->raddr;
	c->lport = ev->lport;
	c->rport = ev->rport;
	c->from_cookie = (ev->flags & TL_EVF_FROM_COOKIE) != 0;
	c->opened_us = ev->time;
	c->fresh = true;
	c->rowid = r->next_rowid++;
	if (cache_add(r, c) < 0) {
		free(c);
		return NULL;
	}
	/* Dirty from birth, so that a rollback always finds it. */
	if (mark_dirty(r, c) < 0) {
		cache_remove(r, c);
		free(c);
		return NULL;
	}
	return c;
}

static int write_event(struct recorder *r, uint16_t host, const struct tl_event *ev)
{
	struct rec_conn *c = conn_for(r, host, ev);
	if (!c)
		return -EIO;
	const char *kind = "state";
	int from = c->state, to = c->state;
	switch (ev->kind) {
	case TL_EV_TCP_STATE:
		from = ev->old_state;
		to = ev->new_state;
		break;
	case TL_EV_TCP_SYNACK_RETRANS:
		kind = "synack-retrans";
		c->synack_retrans++;
		break;
	case TL_EV_TCP_RETRANS:
		kind = "retrans";
		break;
	default:
		log_warn("history: event of unknown kind %d skipped", (int)ev->kind);
		return 0;
	}
	char cause[sizeof(ev->cause) + 1];
	memcpy(cause, ev->cause, sizeof(ev->cause));
	cause[sizeof(ev->cause)] = '\0';

	sqlite3_stmt *st = r->stmt[ST_TRANSITION];
	sqlite3_bind_int64(st, 1, c->rowid);
	sqlite3_bind_int64(st, 2, (int64_t)ev->time);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, tcp_state_name(from), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, tcp_state_name(to), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, cause_kind_name(ev->cause_kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, cause, -1, SQLITE_TRANSIENT);
	if (ev->kind != TL_EV_TCP_STATE)
		sqlite3_bind_int64(st, 8, ev->count);
	else
		sqlite3_bind_null(st, 8);
	if (ev->cause_kind == TL_CAUSE_SEGMENT) {
		sqlite3_bind_int(st, 9, ev->seg_flags);
		sqlite3_bind_int64(st, 10, ev->seg_seq);
		sqlite3_bind_int64(st, 11, ev->seg_ack);
		sqlite3_bind_int64(st, 12, ev->seg_len);
		sqlite3_bind_int(st, 13, ev->seg_win);
	} else {
		for (int i = 9; i <= 13; i++)
			sqlite3_bind_null(st, i);
	}
	int rc = step_done(r, st);
	if (rc < 0)
		return rc;

	c->state = (uint8_t)to;
	c->last_us = ev->time;
	/* Requests and TIME_WAIT entries report zero statistics: keep what
	 * the full connection had. */
	c->bytes_in = TL_MAX(c->bytes_in, ev->bytes_in);
	c->bytes_out = TL_MAX(c->bytes_out, ev->bytes_out);
	c->segs_in = TL_MAX(c->segs_in, ev->segs_in);
	c->segs_out = TL_MAX(c->segs_out, ev->segs_out);
	c->retrans = TL_MAX(c->retrans, ev->retrans);
	if (ev->srtt_us)
		c->srtt_us = ev->srtt_us;
	if (ev->min_rtt_us)
		c->min_rtt_us = ev->min_rtt_us;
	if (ev->kind == TL_EV_TCP_STATE) {
		if (to == TCP_LISTEN)
			listener_add(r, host, ev->laddr, ev->lport, c->rowid);
		if (from == TCP_LISTEN && to == TCP_CLOSE)
			listener_remove(r, c->rowid);
		if (to == TCP_CLOSE) {
			c->closed = true;
			c->closed_us = ev->time;
			memcpy(c->close_cause, cause, sizeof(c->close_cause));
		}
	}
	return mark_dirty(r, c);
}

static int flush_conns(struct recorder *r)
{
	char la[16], ra[16];
	for (size_t i = 0; i < r->n_dirty; i++) {
		struct rec_conn *c = r->dirty[i];
		sqlite3_stmt *st = r->stmt[c->fresh ? ST_CONN_INSERT : ST_CONN_UPDATE];
		if (c->fresh) {
			sqlite3_bind_int64(st, 14, r->run_id);
			sqlite3_bind_int(st, 15, c->host);
			sqlite3_bind_int64(st, 16, (int64_t)c->conn_id);
			sqlite3_bind_text(st, 17, ip_str(c->laddr, la), -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 18, c->lport);
			sqlite3_bind_text(st, 19, ip_str(c->raddr, ra), -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 20, c->rport);
			sqlite3_bind_text(st, 21, c->role, -1, SQLITE_STATIC);
			if (c->listener)
				sqlite3_bind_int64(st, 22, c->listener);
			else
				sqlite3_bind_null(st, 22);
			sqlite3_bind_int64(st, 23, (int64_t)c->opened_us);
			sqlite3_bind_int(st, 24, c->from_cookie);
		}
		sqlite3_bind_int64(st, 1, c->rowid);
		sqlite3_bind_text(st, 2, tcp_state_name(c->state), -1, SQLITE_STATIC);
		if (c->closed) {
			sqlite3_bind_int64(st, 3, (int64_t)c->closed_us);
			sqlite3_bind_text(st, 4, c->close_cause, -1, SQLITE_STATIC);
		} else {
			sqlite3_bind_null(st, 3);
			sqlite3_bind_null(st, 4);
		}
		sqlite3_bind_int64(st, 5, (int64_t)c->bytes_in);
		sqlite3_bind_int64(st, 6, (int64_t)c->bytes_out);
		sqlite3_bind_int64(st, 7, c->segs_in);
		sqlite3_bind_int64(st, 8, c->segs_out);
		sqlite3_bind_int64(st, 9, c->retrans);
		sqlite3_bind_int64(st, 10, c->synack_retrans);
		if (c->min_rtt_us)
			sqlite3_bind_int64(st, 11, c->min_rtt_us);
		else
			sqlite3_bind_null(st, 11);
		if (c->srtt_us)
			sqlite3_bind_int64(st, 12, c->srtt_us);
		else
			sqlite3_bind_null(st, 12);
		sqlite3_bind_int64(st, 13, (int64_t)c->last_us);
		if (step_done(r, st) < 0)
			return -EIO;
	}
	return 0;
}

/* After the commit: written connections are no longer fresh or dirty, and
 * closed ones leave the cache. */
static void conns_committed(struct recorder *r)
{
	for (size_t i = 0; i < r->n_dirty; i++) {
		struct rec_conn *c = r->dirty[i];
		c->dirty = false;
		c->fresh = false;
		if (c->closed) {
			cache_remove(r, c);
			free(c);
		}
	}
	r->n_dirty = 0;
}

static int next_conn_rowid(struct recorder *r)
{
	sqlite3_stmt *st = r->stmt[ST_CONN_NEXT_ID];
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r->next_rowid = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		log_err("history %s: %s", r->path, sqlite3_errmsg(r->db));
		return -EIO;
	}
	return 0;
}

static const char *txt_field(const struct rec_item *it, int i)
{
	if (it->u.txt.null_mask & (1u << i))
		return NULL;
	return it->u.txt.buf + it->u.txt.off[i];
}

static int write_item(struct recorder *r, const struct rec_item *it)
{
	sqlite3_stmt *st;
	char a[16];
	switch (it->kind) {
	case REC_EVENT:
		return write_event(r, it->host, &it->u.ev);
	case REC_HOST:
		st = r->stmt[ST_HOST];
		sqlite3_bind_int64(st, 1, r->run_id);
		sqlite3_bind_int(st, 2, it->host);
		bind_text_or_null(st, 3, txt_field(it, 0));
		bind_text_or_null(st, 4, txt_field(it, 1));
		sqlite3_bind_text(st, 5, ip_str(it->u.txt.addr, a), -1, SQLITE_TRANSIENT);
		return step_done(r, st);
	case REC_TUNABLE:
		st = r->stmt[ST_TUNABLE];
		sqlite3_bind_int64(st, 1, r->run_id);
		sqlite3_bind_int(st, 2, it->host);
		sqlite3_bind_int64(st, 3, (int64_t)it->u.txt.time);
		for (int i = 0; i < 4; i++)
			bind_text_or_null(st, 4 + i, txt_field(it, i));
		return step_done(r, st);
	case REC_COUNTER:
		st = r->stmt[ST_COUNTER];
		sqlite3_bind_int64(st, 1, r->run_id);
		sqlite3_bind_int(st, 2, it->host);
		sqlite3_bind_int64(st, 3, (int64_t)it->u.ctr.time);
		sqlite3_bind_text(st, 4, it->u.ctr.mib, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, it->u.ctr.name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, (int64_t)it->u.ctr.value);
		return step_done(r, st);
	case REC_LINK:
		st = r->stmt[ST_LINK];
		sqlite3_bind_int64(st, 1, r->run_id);
		sqlite3_bind_int64(st, 2, (int64_t)it->u.txt.time);
		for (int i = 0; i < 4; i++)
			bind_text_or_null(st, 3 + i, txt_field(it, i));
		return step_done(r, st);
	}
	return 0;
}

static void free_item(struct rec_item *it)
{
	if (it->kind == REC_HOST || it->kind == REC_TUNABLE || it->kind == REC_LINK)
		free(it->u.txt.buf);
}

static int stamp_run(struct recorder *r, tl_usec_t flushed)
{
	sqlite3_stmt *st = r->stmt[ST_RUN_PROGRESS];
	sqlite3_bind_int64(st, 1, r->run_id);
	sqlite3_bind_int64(st, 2, (int64_t)rec_written(r));
	sqlite3_bind_int64(st, 3, (int64_t)rec_lost(r));
	sqlite3_bind_int64(st, 4, (int64_t)flushed);
	return step_done(r, st);
}

static int exec(struct recorder *r, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(r->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("history %s: %s: %s", r->path, sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

/* Takes up to n items off the queue (those queued before `taken`) and
 * writes them in one transaction. On failure the batch is counted lost. */
static void write_batch(struct recorder *r, size_t n, tl_usec_t taken)
{
	/* The lock first, the items second: while another writer holds the
	 * database, items stay queued (and overflow is counted there). */
	if (exec(r, "BEGIN IMMEDIATE") < 0)
		return;
	size_t done = 0;
	int rc = next_conn_rowid(r);
	int64_t first_fresh = r->next_rowid;
	while (done < n) {
		pthread_mutex_lock(&r->mu);
		size_t k = TL_MIN(TL_MIN(n - done, (size_t)REC_CHUNK), r->count);
		for (size_t i = 0; i < k; i++)
			r->chunk[i] = r->ring[(r->head + i) % r->cap];
		r->head = (r->head + k) % r->cap;
		r->count -= k;
		pthread_mutex_unlock(&r->mu);
		if (k == 0)
			break;
		for (size_t i = 0; i < k; i++) {
			if (rc == 0)
				rc = write_item(r, &r->chunk[i]);
			free_item(&r->chunk[i]);
		}
		done += k;
	}
	if (rc == 0)
		rc = flush_conns(r);
	if (rc == 0) {
		atomic_fetch_add_explicit(&r->written, done, memory_order_relaxed);
		rc = stamp_run(r, taken);
	}
	if (rc == 0)
		rc = exec(r, "COMMIT");
	if (rc == 0)
		conns_committed(r);
	if (rc < 0) {
		exec(r, "ROLLBACK");
		atomic_fetch_sub_explicit(&r->written, done, memory_order_relaxed);
		atomic_fetch_add_explicit(&r->lost, done, memory_order_relaxed);
		cache_rollback(r, first_fresh);
		log_err("history %s: a batch of %zu items could not be written and is lost", r->path,
			done);
	}
	r->last_stamp = taken;
}

/* ---- writer: retention ---- */

static int retention_sql(struct recorder *r, const char *sql, int64_t a, int64_t b, int64_t c)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_err("history %s: retention: %s", r->path, sqlite3_errmsg(r->db));
		return -EIO;
	}
	int n = sqlite3_bind_parameter_count(st);
	if (n >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (n >= 2)
		sqlite3_bind_int64(st, 2, b);
	if (n >= 3)
		sqlite3_bind_int64(st, 3, c);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_err("history %s: retention: %s", r->path, sqlite3_errmsg(r->db));
		return -EIO;
	}
	return sqlite3_changes(r->db);
}

/* Deletes the doomed connections and their transitions; returns how many
 * connections went, or a negative errno. */
static int delete_doomed(struct recorder *r)
{
	if (retention_sql(r, "DELETE FROM transitions WHERE conn IN (SELECT id FROM temp.doomed)",
			  0, 0, 0) < 0)
		return -EIO;
	int n = retention_sql(r, "DELETE FROM connections WHERE id IN (SELECT id FROM temp.doomed)",
			      0, 0, 0);
	if (retention_sql(r, "DELETE FROM temp.doomed", 0, 0, 0) < 0)
		return -EIO;
	return n;
}

/* Retention by age: among the oldest connections (by rowid, which is
 * opening order; a bounded window per pass), those closed before the
 * cutoff, or left open by a dead run with no event since, go with their
 * transitions; snapshots, tunable and link changes older than the cutoff
 * go; finally runs that ended before it and have nothing left. The history
 * of a connection still open is kept whole. Returns rows deleted or -EIO. */
static int retain_by_age(struct recorder *r)
{
	struct timespec w;
	clock_gettime(CLOCK_REALTIME, &w);
	int64_t cutoff_wall = (int64_t)w.tv_sec * 1000000 + w.tv_nsec / 1000 -
			      (int64_t)r->max_age_s * 1000000;
	int rc = retention_sql(r,
			       "INSERT INTO temp.doomed SELECT c.id FROM"
			       " (SELECT * FROM connections ORDER BY id LIMIT " STR(REC_RETENTION_CHUNK) ") c"
			       " JOIN runs r ON r.id = c.run"
			       " WHERE c.closed_us + r.wall_offset_us < ?1"
			       " OR (c.run <> ?2 AND c.closed_us IS NULL AND c.last_us + r.wall_offset_us < ?1)",
			       cutoff_wall, r->run_id, 0);
	if (rc < 0)
		return rc;
	if (rc == REC_RETENTION_CHUNK)
		r->retention_behind = true;
	int total = delete_doomed(r);
	if (total < 0)
		return total;
	sqlite3_stmt *runs;
	if (sqlite3_prepare_v2(r->db, "SELECT id, wall_offset_us FROM runs", -1, &runs, NULL) !=
	    SQLITE_OK)
		return -EIO;
	while (rc >= 0 && sqlite3_step(runs) == SQLITE_ROW) {
		int64_t run = sqlite3_column_int64(runs, 0);
		int64_t cutoff = cutoff_wall - sqlite3_column_int64(runs, 1);
		static const char *const by_time[] = {
			"DELETE FROM counter_snapshots WHERE run = ?1 AND time_us < ?2",
			"DELETE FROM tunable_changes WHERE run = ?1 AND time_us < ?2",
			"DELETE FROM link_changes WHERE run = ?1 AND time_us < ?2",
		};
		for (size_t i = 0; rc >= 0 && i < sizeof(by_time) / sizeof(by_time[0]); i++) {
			rc = retention_sql(r, by_time[i], run, cutoff, 0);
			if (rc >= 0)
				total += rc;
		}
	}
	sqlite3_finalize(runs);
	if (rc < 0)
		return rc;
	rc = retention_sql(r,
			   "DELETE FROM runs WHERE id <> ?1"
			   " AND COALESCE(stopped_us, flushed_us, started_us) + wall_offset_us < ?2"
			   " AND NOT EXISTS (SELECT 1 FROM connections c WHERE c.run = runs.id)"
			   " AND NOT EXISTS (SELECT 1 FROM counter_snapshots s WHERE s.run = runs.id)",
			   r->run_id, cutoff_wall, 0);
	if (rc < 0)
		return rc;
	if (rc > 0 && retention_sql(r, "DELETE FROM hosts WHERE run NOT IN (SELECT id FROM runs)",
				    0, 0, 0) < 0)
		return -EIO;
	return total + rc;
}

/* Retention by count: the oldest transitions beyond max_transitions go,
 * then closed connections (or a dead run's) left without any. */
static int retain_by_count(struct recorder *r)
{
	sqlite3_stmt *st;
	int64_t lo = 0, hi = 0, count;
	if (sqlite3_prepare_v2(r->db, "SELECT min(id), max(id) FROM transitions", -1, &st, NULL) !=
	    SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		lo = sqlite3_column_int64(st, 0);
		hi = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (hi == 0 || hi - lo + 1 <= (int64_t)r->max_transitions)
		return 0;
	/* The id span overestimates after deletions in the middle: count. */
	if (sqlite3_prepare_v2(r->db, "SELECT count(*) FROM transitions", -1, &st, NULL) !=
	    SQLITE_OK)
		return -EIO;
	count = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	int64_t excess = count - (int64_t)r->max_transitions;
	if (excess <= 0)
		return 0;
	int64_t n = TL_MIN(excess, (int64_t)REC_RETENTION_CHUNK);
	int rc = retention_sql(r,
			       "DELETE FROM transitions WHERE id <= (SELECT id FROM transitions"
			       " ORDER BY id LIMIT 1 OFFSET ?1)",
			       n - 1, 0, 0);
	if (rc < 0)
		return rc;
	int total = rc;
	rc = retention_sql(r,
			   "INSERT INTO temp.doomed SELECT c.id FROM connections c"
			   " WHERE c.id < COALESCE((SELECT conn FROM transitions ORDER BY id LIMIT 1),"
			   " (SELECT max(id) + 1 FROM connections))"
			   " AND (c.closed_us IS NOT NULL OR c.run <> ?1)"
			   " AND NOT EXISTS (SELECT 1 FROM transitions t WHERE t.conn = c.id)"
			   " LIMIT " STR(REC_RETENTION_CHUNK),
			   r->run_id, 0, 0);
	if (rc >= 0)
		rc = delete_doomed(r);
	if (rc < 0)
		return rc;
	if (excess > n)
		r->retention_behind = true;
	return total + rc;
}

static void retention(struct recorder *r, tl_usec_t now)
{
	if (!r->max_age_s && !r->max_transitions)
		return;
	if (!r->retention_behind && now - r->last_retention < REC_RETENTION_PERIOD_US)
		return;
	r->last_retention = now;
	r->retention_behind = false;
	if (exec(r, "BEGIN IMMEDIATE") < 0)
		return;
	int rc = 0, deleted = 0;
	if (r->max_age_s) {
		rc = retain_by_age(r);
		deleted += rc > 0 ? rc : 0;
	}
	if (rc >= 0 && r->max_transitions) {
		rc = retain_by_count(r);
		deleted += rc > 0 ? rc : 0;
	}
	if (rc < 0 || exec(r, "COMMIT") < 0) {
		exec(r, "ROLLBACK");
		return;
	}
	if (deleted)
		log_debug("history %s: retention removed %d rows", r->path, deleted);
}

/* ---- writer thread ---- */

static void report_loss(struct recorder *r)
{
	uint64_t lost = rec_lost(r);
	if (lost != r->lost_logged) {
		log_warn("history %s: %" PRIu64 " events lost (queue full or write failed), %" PRIu64
			 " in this run; raise the queue size or look at the disk",
			 r->path, lost - r->lost_logged, lost);
		r->lost_logged = lost;
	}
}

static void *writer_main(void *arg)
{
	struct recorder *r = arg;
	/* Taking the queue every half interval keeps every event within one
	 * interval of disk while a batch writes in under half of one. */
	tl_usec_t half = r->batch_us / 2 ? r->batch_us / 2 : 1;
	tl_usec_t next = mono_now() + half;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		while (!r->stop && !r->kick) {
			tl_usec_t now = mono_now();
			if (now >= next)
				break;
			struct timespec ts = { .tv_sec = (time_t)(next / TL_USEC_PER_SEC),
					       .tv_nsec = (long)(next % TL_USEC_PER_SEC) * 1000 };
			pthread_cond_timedwait(&r->wake, &r->mu, &ts);
		}
		size_t n = r->count;
		bool stopping = r->stop;
		r->kick = false;
		pthread_mutex_unlock(&r->mu);

		tl_usec_t taken = mono_now();
		next = taken + half;
		if (n > 0)
			write_batch(r, n, taken);
		else if (taken - r->last_stamp >= REC_IDLE_STAMP_US && !stopping) {
			if (exec(r, "BEGIN IMMEDIATE") == 0) {
				if (stamp_run(r, taken) == 0 && exec(r, "COMMIT") == 0)
					r->last_stamp = taken;
				else
					exec(r, "ROLLBACK");
			}
		}
		report_loss(r);
		if (stopping) {
			pthread_mutex_lock(&r->mu);
			bool empty = r->count == 0;
			pthread_mutex_unlock(&r->mu);
			if (empty) {
				/* A last retention pass, so a lab stopped early
				 * still leaves the database within its limits. */
				r->retention_behind = true;
				retention(r, taken);
				break;
			}
			continue;
		}
		retention(r, taken);
	}
	return NULL;
}

/* ---- checkpointer thread ---- */

/* Called by SQLite in the writer thread after each commit. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	struct recorder *r = arg;
	if (pages >= REC_CHECKPOINT_PAGES) {
		pthread_mutex_lock(&r->ckpt_mu);
		r->ckpt_pending = true;
		pthread_cond_signal(&r->ckpt_wake);
		pthread_mutex_unlock(&r->ckpt_mu);
	}
	return SQLITE_OK;
}

static void *checkpointer_main(void *arg)
{
	struct recorder *r = arg;
	for (;;) {
		pthread_mutex_lock(&r->ckpt_mu);
		while (!r->ckpt_pending && !r->ckpt_stop)
			pthread_cond_wait(&r->ckpt_wake, &r->ckpt_mu);
		bool stop = r->ckpt_stop;
		r->ckpt_pending = false;
		pthread_mutex_unlock(&r->ckpt_mu);
		if (stop)
			return NULL;
		/* PASSIVE: copies what no reader still needs, never blocks the
		 * writer; the writer restarts the WAL once all of it is copied. */
		int rc = sqlite3_wal_checkpoint_v2(r->ckpt_db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL,
						   NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("history %s: checkpoint: %s", r->path, sqlite3_errmsg(r->ckpt_db));
	}
}

static void stop_checkpointer(struct recorder *r)
{
	if (!r->ckpt_started)
		return;
	pthread_mutex_lock(&r->ckpt_mu);
	r->ckpt_stop = true;
	pthread_cond_signal(&r->ckpt_wake);
	pthread_mutex_unlock(&r->ckpt_mu);
	pthread_join(r->ckpt_thread, NULL);
	r->ckpt_started = false;
}

/* ---- open / close ---- */

/* mkdir -p of path's directory. */
static int make_parents(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void rec_free(struct recorder *r)
{
	stop_checkpointer(r);
	if (r->ckpt_db)
		sqlite3_close(r->ckpt_db);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(r->stmt[i]);
	if (r->db)
		sqlite3_close(r->db);
	if (r->ring) {
		for (size_t i = 0; i < r->count; i++)
			free_item(&r->ring[(r->head + i) % r->cap]);
	}
	cache_clear(r);
	free(r->tab);
	free(r->dirty);
	free(r->lsn);
	free(r->ring);
	free(r->chunk);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->ckpt_wake);
	pthread_mutex_destroy(&r->ckpt_mu);
	free(r);
}

struct recorder *rec_open(const char *path, const struct rec_options *opt, char *err,
			  size_t errlen)
{
	struct rec_options o = opt ? *opt : (struct rec_options){ 0 };
	if (!o.lab)
		o.lab = "default";
	if (!o.version)
		o.version = TL_VERSION;
	if (!o.batch_ms)
		o.batch_ms = REC_DEFAULT_BATCH_MS;
	if (!o.queue_capacity)
		o.queue_capacity = REC_DEFAULT_QUEUE;

	struct recorder *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->batch_us = (tl_usec_t)o.batch_ms * TL_USEC_PER_MSEC;
	r->max_age_s = o.max_age_s;
	r->max_transitions = o.max_transitions;
	r->cap = o.queue_capacity;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&r->ckpt_mu, NULL);
	pthread_cond_init(&r->ckpt_wake, NULL);
	r->ring = calloc(r->cap, sizeof(*r->ring));
	r->chunk = calloc(REC_CHUNK, sizeof(*r->chunk));
	if (!r->ring || !r->chunk) {
		snprintf(err, errlen, "out of memory for a queue of %zu items", r->cap);
		goto fail;
	}

	int rc = make_parents(path);
	if (rc < 0) {
		snprintf(err, errlen, "cannot create the directory of %s: %s (pass --db FILE elsewhere, or --no-history)",
			 path, strerror(-rc));
		goto fail;
	}
	rc = sqlite3_open_v2(path, &r->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s (pass --db FILE elsewhere, or --no-history)",
			 path, r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(r->db, 5000);
	sqlite3_stmt *st;
	const char *mode = NULL;
	if (sqlite3_prepare_v2(r->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			mode = (const char *)sqlite3_column_text(st, 0);
		bool wal = mode && strcmp(mode, "wal") == 0;
		sqlite3_finalize(st);
		if (!wal) {
			snprintf(err, errlen, "%s: cannot switch to WAL mode (%s): %s", path,
				 sqlite3_errmsg(r->db),
				 "is it on a network file system? pass --db FILE on a local disk");
			goto fail;
		}
	} else {
		snprintf(err, errlen, "%s: %s (is it an SQLite database? pass another --db FILE)",
			 path, sqlite3_errmsg(r->db));
		goto fail;
	}
	/* NORMAL: in WAL mode a commit survives a process crash (SIGKILL);
	 * only an OS crash may lose the last transactions. */
	char *msg = NULL;
	if (sqlite3_exec(r->db,
			 "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;"
			 " PRAGMA cache_size = -16384;"
			 " CREATE TEMP TABLE doomed (id INTEGER PRIMARY KEY);",
			 NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		goto fail;
	}
	char why[512];
	if (history_migrate(r->db, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(r->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->stmt[i],
				       NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing statements: %s", path,
				 sqlite3_errmsg(r->db));
			goto fail;
		}
	}
	if (sqlite3_open_v2(path, &r->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: a second connection for checkpoints: %s", path,
			 r->ckpt_db ? sqlite3_errmsg(r->ckpt_db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(r->ckpt_db, 5000);
	if ((rc = pthread_create(&r->ckpt_thread, NULL, checkpointer_main, r)) != 0) {
		snprintf(err, errlen, "cannot start the history checkpoint thread: %s", strerror(rc));
		goto fail;
	}
	r->ckpt_started = true;
	sqlite3_wal_hook(r->db, on_wal_commit, r); /* replaces autocheckpoint */

	tl_usec_t now = mono_now();
	if (sqlite3_prepare_v2(r->db,
			       "INSERT INTO runs (lab, version, pid, started_us, wall_offset_us, flushed_us)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(r->db));
		goto fail;
	}
	sqlite3_bind_text(st, 1, o.lab, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, o.version, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)getpid());
	sqlite3_bind_int64(st, 4, (int64_t)now);
	sqlite3_bind_int64(st, 5, wall_offset_us());
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: cannot insert the run: %s", path, sqlite3_errmsg(r->db));
		goto fail;
	}
	r->run_id = sqlite3_last_insert_rowid(r->db);
	r->last_stamp = now;
	r->last_retention = now;
	r->retention_behind = true; /* a first pass soon after start */

	if ((rc = pthread_create(&r->thread, NULL, writer_main, r)) != 0) {
		snprintf(err, errlen, "cannot start the history writer thread: %s", strerror(rc));
		goto fail;
	}
	r->thread_started = true;
	return r;
fail:
	rec_free(r);
	return NULL;
}

void rec_close(struct recorder *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->mu);
	if (r->thread_started)
		pthread_join(r->thread, NULL);
	stop_checkpointer(r);
	report_loss(r);

	sqlite3_stmt *st = r->stmt[ST_RUN_STOP];
	sqlite3_bind_int64(st, 1, r->run_id);
	sqlite3_bind_int64(st, 2, (int64_t)mono_now());
	sqlite3_bind_int64(st, 3, (int64_t)rec_written(r));
	sqlite3_bind_int64(st, 4, (int64_t)rec_lost(r));
	step_done(r, st);
	/* Fold the WAL back so the file alone holds the history. */
	sqlite3_exec(r->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	log_info("history %s: run %" PRId64 " closed, %" PRIu64 " items written, %" PRIu64 " lost",
		 r->path, r->run_id, rec_written(r), rec_lost(r));
	rec_free(r);
}
