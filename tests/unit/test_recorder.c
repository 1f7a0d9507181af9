/* The history recorder (daemon/recorder.c) and its schema
 * (daemon/history_schema.c): events become connection and transition rows
 * in order with their causes, SYN-ACK retransmissions are counted, loss is
 * counted, retention keeps its limits, the read-only path cannot write,
 * and an older database is migrated at open.
 *
 * Each test writes through the real recorder into a database in a private
 * temp directory, closes it (which flushes everything) and checks the rows
 * with SQL. Some event streams are scripted by hand, others come from the
 * real TCP engine driven by the harness with a virtual clock. */
#include <errno.h>
#include <inttypes.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tcp_harness.h"

#include "history_schema.h"
#include "log.h"
#include "recorder.h"

struct fixture {
	char dir[64];
	char db[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tl-recorder-test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	/* A subdirectory that does not exist yet: rec_open creates it. */
	snprintf(f->db, sizeof(f->db), "%s/sub/dir/history.db", f->dir);
	log_init("test_recorder", LOG_LVL_ERR);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct recorder *open_rec(struct fixture *f, const struct rec_options *o)
{
	char err[512] = "";
	struct recorder *r = rec_open(f->db, o, err, sizeof(err));
	if (!r)
		fail_msg("rec_open: %s", err);
	return r;
}

static sqlite3 *open_db(struct fixture *f)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	return db;
}

/* The first column of the first row of sql as an integer (0 if none). */
static int64_t q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return v;
}

/* The first column of the first row as text, in a static buffer ("NULL"
 * for NULL, "" for no row). */
static const char *q_text(sqlite3 *db, const char *sql)
{
	static char buf[4096];
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	buf[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(buf, sizeof(buf), "%s", t ? (const char *)t : "NULL");
	}
	sqlite3_finalize(st);
	return buf;
}

#define US_SERVER 0xc6120001u /* 198.18.0.1 */
#define US_CLIENT 0xc6120002u /* 198.18.0.2 */

/* A state event on host 1 between the server's port 80 and 40000. */
static struct tl_event state_ev(uint64_t id, tl_usec_t t, int from, int to, int cause_kind,
				const char *cause, uint16_t flags)
{
	struct tl_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = TL_EV_TCP_STATE;
	ev.time = t;
	ev.conn_id = id;
	ev.laddr = US_SERVER;
	ev.lport = 80;
	ev.raddr = US_CLIENT;
	ev.rport = 40000;
	ev.old_state = (uint8_t)from;
	ev.new_state = (uint8_t)to;
	ev.cause_kind = (uint8_t)cause_kind;
	ev.flags = flags;
	snprintf(ev.cause, sizeof(ev.cause), "%s", cause);
	return ev;
}

static struct tl_event seg_ev(uint64_t id, tl_usec_t t, int from, int to, const char *cause,
			      uint8_t seg_flags, uint32_t seq, uint32_t ack, uint16_t win,
			      uint16_t flags)
{
	struct tl_event ev = state_ev(id, t, from, to, TL_CAUSE_SEGMENT, cause, flags);
	ev.seg_flags = seg_flags;
	ev.seg_seq = seq;
	ev.seg_ack = ack;
	ev.seg_win = win;
	return ev;
}

static void put(struct recorder *r, struct tl_event ev)
{
	assert_true(rec_event(r, 1, &ev));
}

/* A scripted passive connection on a listener: handshake, data both ways,
 * the peer closes first (CLOSE_WAIT, LAST_ACK). Every transition is a row,
 * in order, with its cause and segment fields; the connection row is
 * derived from them. */
static void test_history_scripted_connection_lands_in_order(void **state)
{
	struct fixture *f = *state;
	struct recorder *r = open_rec(f, &(struct rec_options){ .lab = "scripted" });
	assert_int_equal(rec_add_host(r, 1, "stack", "stack", US_SERVER), 0);
	const uint16_t P = TL_EVF_PASSIVE;

	struct tl_event lsn = state_ev(1, 1000, TCP_CLOSE, TCP_LISTEN, TL_CAUSE_APP, "listen", 0);
	lsn.raddr = 0;
	lsn.rport = 0;
	put(r, lsn);
	put(r, seg_ev(2, 2000, TCP_LISTEN, TCP_SYN_RECV, "SYN", TH_SYN, 5000, 0, 64240, P));
	struct tl_event est = seg_ev(2, 2400, TCP_SYN_RECV, TCP_ESTABLISHED, "ACK", TH_ACK, 5001,
				     9001, 502, P);
	est.srtt_us = 400;
	est.min_rtt_us = 400;
	put(r, est);
	struct tl_event fin = seg_ev(2, 10000, TCP_ESTABLISHED, TCP_CLOSE_WAIT, "FIN", TH_FIN | TH_ACK,
				     5101, 9201, 501, P);
	fin.bytes_in = 100;
	fin.bytes_out = 200;
	fin.segs_in = 4;
	fin.segs_out = 3;
	fin.srtt_us = 450;
	put(r, fin);
	struct tl_event cls = state_ev(2, 12000, TCP_CLOSE_WAIT, TCP_LAST_ACK, TL_CAUSE_APP, "close", P);
	cls.bytes_in = 100;
	cls.bytes_out = 200;
	cls.segs_in = 4;
	cls.segs_out = 4;
	put(r, cls);
	struct tl_event last = seg_ev(2, 12500, TCP_LAST_ACK, TCP_CLOSE, "ACK", TH_ACK, 5102, 9202,
				      501, P);
	last.bytes_in = 100;
	last.bytes_out = 200;
	last.segs_in = 5;
	last.segs_out = 4;
	last.retrans = 1;
	put(r, last);
	assert_int_equal(rec_lost(r), 0);
	rec_close(r);

	sqlite3 *db = open_db(f);
	assert_string_equal(
		q_text(db, "SELECT group_concat(x, ' | ') FROM (SELECT from_state || '>' || to_state"
			   " || ' ' || cause_kind || ':' || cause || ' ' || time_us AS x"
			   " FROM transitions WHERE conn = (SELECT id FROM connections WHERE conn_id = 2)"
			   " ORDER BY id)"),
		"LISTEN>SYN_RECV segment:SYN 2000 | SYN_RECV>ESTABLISHED segment:ACK 2400 | "
		"ESTABLISHED>CLOSE_WAIT segment:FIN 10000 | CLOSE_WAIT>LAST_ACK app:close 12000 | "
		"LAST_ACK>CLOSE segment:ACK 12500");
	/* Segment fields where a segment caused it, NULL where the app did. */
	assert_string_equal(q_text(db, "SELECT seg_flags || ' ' || seg_seq || ' ' || seg_ack || ' ' ||"
				       " seg_win FROM timeline WHERE conn_id = 2 AND to_state = 'CLOSE_WAIT'"),
			    "F. 5101 9201 501");
	assert_int_equal(q_int(db, "SELECT count(*) FROM transitions WHERE cause = 'close'"
				   " AND seg_flags IS NULL AND seg_seq IS NULL"),
			 1);
	assert_string_equal(
		q_text(db, "SELECT role || ' ' || laddr || ':' || lport || ' ' || raddr || ':' || rport"
			   " || ' ' || final_state || ' ' || close_cause || ' ' || opened_us || ' ' ||"
			   " closed_us || ' ' || bytes_in || ' ' || bytes_out || ' ' || segs_in || ' ' ||"
			   " segs_out || ' ' || retrans || ' ' || synack_retrans || ' ' || from_cookie"
			   " || ' ' || min_rtt_us || ' ' || srtt_us FROM connections WHERE conn_id = 2"),
		"passive 198.18.0.1:80 198.18.0.2:40000 CLOSE ACK 2000 12500 100 200 5 4 1 0 0 400 450");
	/* The listener is a row of its own, and the connection names it. */
	assert_string_equal(q_text(db, "SELECT role || ' ' || final_state FROM connections"
				       " WHERE conn_id = 1"),
			    "listen LISTEN");
	assert_int_equal(q_int(db, "SELECT listener = (SELECT id FROM connections WHERE conn_id = 1)"
				   " FROM connections WHERE conn_id = 2"),
			 1);
	assert_string_equal(q_text(db, "SELECT name || ' ' || kind || ' ' || addr FROM hosts"),
			    "stack stack 198.18.0.1");
	/* Time in each state: CLOSE_WAIT lasted from 10000 to 12000 us. */
	assert_string_equal(q_text(db, "SELECT group_concat(state || '=' || seconds, ' ') FROM"
				       " (SELECT * FROM state_time WHERE conn_id = 2 ORDER BY entered_us)"),
			    "SYN_RECV=0.0004 ESTABLISHED=0.0076 CLOSE_WAIT=0.002 LAST_ACK=0.0005");
	assert_int_equal(q_int(db, "SELECT count(*) FROM state_time WHERE conn_id = 2 AND ongoing"), 0);
	assert_string_equal(q_text(db, "SELECT lab || ' ' || events_written || ' ' || events_lost ||"
				       " ' ' || (stopped_us IS NOT NULL) FROM runs"),
			    "scripted 7 0 1");
	sqlite3_close(db);
}

/* A scripted active connection that closes first: FIN_WAIT1, FIN_WAIT2,
 * TIME_WAIT, and the TIME_WAIT expiry 60 s later (a timer, no segment).
 * The TIME_WAIT entry reports no statistics; the row keeps the last real
 * ones. */
static void test_history_active_close_time_wait_expiry(void **state)
{
	struct fixture *f = *state;
	struct recorder *r = open_rec(f, NULL);
	put(r, state_ev(7, 1000, TCP_CLOSE, TCP_SYN_SENT, TL_CAUSE_APP, "connect", 0));
	struct tl_event e = seg_ev(7, 1300, TCP_SYN_SENT, TCP_ESTABLISHED, "S.", TH_SYN | TH_ACK, 700,
				   101, 65535, 0);
	e.srtt_us = 300;
	e.min_rtt_us = 300;
	put(r, e);
	e = state_ev(7, 5000, TCP_ESTABLISHED, TCP_FIN_WAIT1, TL_CAUSE_APP, "close", 0);
	e.bytes_in = 20;
	e.bytes_out = 10;
	put(r, e);
	e = seg_ev(7, 5300, TCP_FIN_WAIT1, TCP_FIN_WAIT2, "ACK", TH_ACK, 721, 112, 65535, 0);
	e.bytes_in = 20;
	e.bytes_out = 10;
	put(r, e);
	e = seg_ev(7, 5400, TCP_FIN_WAIT2, TCP_TIME_WAIT, "FIN", TH_FIN | TH_ACK, 721, 112, 65535, 0);
	e.bytes_in = 20;
	e.bytes_out = 10;
	e.segs_in = 5;
	e.segs_out = 6;
	e.srtt_us = 310;
	e.min_rtt_us = 300;
	put(r, e);
	put(r, state_ev(7, 5400 + 60 * SEC, TCP_TIME_WAIT, TCP_CLOSE, TL_CAUSE_TIMER, "timewait", 0));
	rec_close(r);

	sqlite3 *db = open_db(f);
	assert_string_equal(
		q_text(db, "SELECT group_concat(x, ' | ') FROM (SELECT to_state || ' ' || cause_kind ||"
			   " ':' || cause AS x FROM transitions ORDER BY id)"),
		"SYN_SENT app:connect | ESTABLISHED segment:S. | FIN_WAIT1 app:close | "
		"FIN_WAIT2 segment:ACK | TIME_WAIT segment:FIN | CLOSE timer:timewait");
	assert_string_equal(
		q_text(db, "SELECT role || ' ' || final_state || ' ' || close_cause || ' ' || closed_us"
			   " || ' ' || bytes_in || ' ' || bytes_out || ' ' || segs_in || ' ' || segs_out"
			   " || ' ' || srtt_us || ' ' || min_rtt_us FROM connections"),
		"active CLOSE timewait 60005400 20 10 5 6 310 300");
	assert_string_equal(q_text(db, "SELECT seconds FROM state_time WHERE state = 'TIME_WAIT'"),
			    "60.0");
	assert_string_equal(q_text(db, "SELECT seconds FROM conn_summary"), "60.0044");
	assert_string_equal(q_text(db, "SELECT group_concat(final_state || '=' || connections)"
				       " FROM final_states"),
			    "CLOSE=1");
	sqlite3_close(db);
}

/* Feeds every event the harness collected, in order, to the recorder. */
static void feed(struct recorder *r, const struct harness *h)
{
	for (unsigned i = 0; i < h->ev_count; i++)
		assert_true(rec_event(r, 1, &h->ev[i]));
}

/* The rows of the transitions table are the events, one for one, in
 * order: kind, states, cause and time. */
static void expect_rows_match_events(sqlite3 *db, const struct harness *h)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT c.conn_id, t.kind, t.from_state, t.to_state, t.cause,"
					    " t.time_us FROM transitions t JOIN connections c"
					    " ON c.id = t.conn ORDER BY t.id",
					    -1, &st, NULL),
			 SQLITE_OK);
	for (unsigned i = 0; i < h->ev_count; i++) {
		const struct tl_event *ev = &h->ev[i];
		if (sqlite3_step(st) != SQLITE_ROW)
			fail_msg("event %u (conn %" PRIu64 ") has no row", i, ev->conn_id);
		const char *kind = ev->kind == TL_EV_TCP_STATE		  ? "state"
				   : ev->kind == TL_EV_TCP_SYNACK_RETRANS ? "synack-retrans"
									  : "retrans";
		assert_int_equal(sqlite3_column_int64(st, 0), (int64_t)ev->conn_id);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), kind);
		if (ev->kind == TL_EV_TCP_STATE) {
			assert_string_equal((const char *)sqlite3_column_text(st, 2),
					    tcp_state_name(ev->old_state));
			assert_string_equal((const char *)sqlite3_column_text(st, 3),
					    tcp_state_name(ev->new_state));
		}
		assert_string_equal((const char *)sqlite3_column_text(st, 4), ev->cause);
		assert_int_equal(sqlite3_column_int64(st, 5), (int64_t)ev->time);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* The real engine: a passive connection gets data, closes first and its
 * TIME_WAIT expires after Linux's fixed 60 s. The history holds exactly
 * the engine's events and the RFC 9293 sequence of states. */
static void test_history_real_stack_connection_matches_its_events(void **state)
{
	struct fixture *f = *state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 8);
	struct h_peer p = h_open(h, l, 1000);
	h_peer_send(h, &p, TH_ACK | TH_PSH, "hello", 5);
	char buf[16];
	assert_int_equal(h_read(h, p.c, buf, sizeof(buf)), 5);
	h->out_count = 0; /* whatever acknowledged the data */
	tcp_shutdown_write(p.c, h->now);
	h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK));
	h_peer_ack(h, &p);
	h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	h_advance(h, 61 * SEC);
	tcp_close(p.c, h->now);
	h_collect(h);

	struct recorder *r = open_rec(f, NULL);
	feed(r, h);
	rec_close(r);

	sqlite3 *db = open_db(f);
	expect_rows_match_events(db, h);
	assert_string_equal(q_text(db, "SELECT group_concat(to_state, ' ') FROM (SELECT to_state"
				       " FROM timeline WHERE role = 'passive' ORDER BY id)"),
			    "SYN_RECV ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSE");
	assert_string_equal(q_text(db, "SELECT role || ' ' || final_state || ' ' || bytes_in ||"
				       " ' ' || from_cookie FROM connections WHERE role = 'passive'"),
			    "passive CLOSE 5 0");
	assert_string_equal(q_text(db, "SELECT seconds FROM state_time WHERE state = 'TIME_WAIT'"),
			    "60.0");
	assert_int_equal(q_int(db, "SELECT count(*) FROM connections WHERE role = 'listen'"), 1);
	sqlite3_close(db);
	h_free(h);
}

static void tune_synack_retries_2(struct tcp_sysctl *s)
{
	s->tcp_synack_retries = 2;
}

/* A SYN that never gets its final ACK, with tcp_synack_retries = 2: both
 * SYN-ACK retransmissions (1 s and 3 s after the first) are rows, the
 * connection counts them, and the request is dropped at 7 s. */
static void test_history_synack_retries_each_recorded(void **state)
{
	struct fixture *f = *state;
	struct harness *h = h_new_with(tune_synack_retries_2);
	h_listen(h, 80, 8);
	h_inject(h, SEG(.flags = TH_SYN, .seq = 1000,
			.opt = (struct tcp_opts){ .has_mss = true, .mss = 1460 }));
	h_advance(h, 10 * SEC);
	unsigned retrans = 0;
	for (unsigned i = 0; i < h->ev_count; i++)
		retrans += h->ev[i].kind == TL_EV_TCP_SYNACK_RETRANS;
	assert_int_equal(retrans, 2);

	struct recorder *r = open_rec(f, NULL);
	feed(r, h);
	rec_close(r);

	sqlite3 *db = open_db(f);
	expect_rows_match_events(db, h);
	assert_string_equal(
		q_text(db, "SELECT group_concat(x, ' | ') FROM (SELECT kind || ' ' || from_state || '>'"
			   " || to_state || ' ' || ifnull(count, '-') || ' +' || since_open AS x"
			   " FROM timeline WHERE role = 'passive' ORDER BY id)"),
		"state LISTEN>SYN_RECV - +0.0 | synack-retrans SYN_RECV>SYN_RECV 1 +1.0 | "
		"synack-retrans SYN_RECV>SYN_RECV 2 +3.0 | state SYN_RECV>CLOSE - +7.0");
	assert_string_equal(q_text(db, "SELECT synack_retrans || ' ' || outcome || ' ' || final_state"
				       " FROM half_open"),
			    "2 dropped CLOSE");
	assert_int_equal(q_int(db, "SELECT synack_retrans FROM connections WHERE role = 'passive'"), 2);
	sqlite3_close(db);
	h_free(h);
}

/* A connection made from a SYN cookie appears established at once and is
 * flagged; it is no half-open request. */
static void test_history_cookie_connection_flagged(void **state)
{
	struct fixture *f = *state;
	struct recorder *r = open_rec(f, NULL);
	const uint16_t PC = TL_EVF_PASSIVE | TL_EVF_FROM_COOKIE;
	put(r, seg_ev(3, 1000, TCP_LISTEN, TCP_ESTABLISHED, "cookie-ACK", TH_ACK, 1, 2, 3, PC));
	put(r, seg_ev(3, 2000, TCP_ESTABLISHED, TCP_CLOSE, "R", TH_RST, 1, 2, 3, PC));
	rec_close(r);
	sqlite3 *db = open_db(f);
	assert_string_equal(q_text(db, "SELECT role || ' ' || from_cookie || ' ' || close_cause"
				       " FROM conn_summary"),
			    "passive 1 R");
	assert_int_equal(q_int(db, "SELECT count(*) FROM half_open"), 0);
	sqlite3_close(db);
}

/* While another process holds the write lock, the writer cannot take the
 * queue: exactly `capacity` items fit, the rest are refused and counted,
 * and the run row says so after the lock goes. */
static void test_history_queue_overflow_counted(void **state)
{
	struct fixture *f = *state;
	struct recorder *r = open_rec(f, &(struct rec_options){ .queue_capacity = 16, .batch_ms = 2 });
	sqlite3 *db = open_db(f);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	unsigned ok = 0, refused = 0;
	for (uint64_t i = 0; i < 100; i++) {
		struct tl_event ev = state_ev(i + 1, 1000 + i, TCP_LISTEN, TCP_SYN_RECV,
					      TL_CAUSE_SEGMENT, "SYN", TL_EVF_PASSIVE);
		if (rec_event(r, 1, &ev))
			ok++;
		else
			refused++;
	}
	assert_int_equal(ok, 16);
	assert_int_equal(refused, 84);
	assert_int_equal(rec_lost(r), 84);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	rec_close(r);
	assert_string_equal(q_text(db, "SELECT events_written || ' ' || events_lost FROM runs"),
			    "16 84");
	assert_int_equal(q_int(db, "SELECT count(*) FROM transitions"), 16);
	sqlite3_close(db);
}

/* Snapshots record what changed (everything the first time); tunable and
 * link changes are rows with their old and new values. */
static void test_history_counters_tunables_links(void **state)
{
	struct fixture *f = *state;
	struct recorder *r = open_rec(f, NULL);
	struct stack_counters c, prev;
	memset(&c, 0, sizeof(c));
	memset(&prev, 0xff, sizeof(prev));
	c.tcp.ActiveOpens = 3;
	rec_counters_changed(r, 1, &c, &prev, false, 1000);
	c.tcp.ActiveOpens = 4;
	c.tcpext.SyncookiesSent = 2;
	rec_counters_changed(r, 1, &c, &prev, true, 2000);
	rec_counters_changed(r, 1, &c, &prev, true, 3000);
	rec_tunable_change(r, 1, "tcp_syncookies", "1", "2", "fuse", 4000);
	rec_link_change(r, "l0", "loss", NULL, "5%", 5000);
	rec_close(r);

	sqlite3 *db = open_db(f);
	assert_int_equal(q_int(db, "SELECT count(*) FROM counter_snapshots WHERE time_us = 1000"),
			 (int64_t)(sizeof(struct stack_counters) / sizeof(uint64_t)));
	assert_string_equal(q_text(db, "SELECT group_concat(mib || '.' || name || '=' || value, ' ')"
				       " FROM (SELECT * FROM counter_snapshots WHERE time_us = 2000"
				       " ORDER BY id)"),
			    "Tcp.ActiveOpens=4 TcpExt.SyncookiesSent=2");
	assert_int_equal(q_int(db, "SELECT count(*) FROM counter_snapshots WHERE time_us = 3000"), 0);
	/* A counter's value at a time: its latest row at or before it. */
	assert_int_equal(q_int(db, "SELECT value FROM counter_snapshots WHERE name = 'ActiveOpens'"
				   " AND time_us <= 2500 ORDER BY time_us DESC LIMIT 1"),
			 4);
	assert_string_equal(q_text(db, "SELECT name || ' ' || old_value || '->' || new_value || ' ' ||"
				       " via FROM tunable_log"),
			    "tcp_syncookies 1->2 fuse");
	assert_string_equal(q_text(db, "SELECT link || ' ' || knob || ' ' || ifnull(old_value, 'NULL')"
				       " || '->' || new_value FROM link_log"),
			    "l0 loss NULL->5%");
	sqlite3_close(db);
}

/* Closed connections: LISTEN -> SYN_RECV -> ESTABLISHED -> CLOSE. */
static void put_short_conn(struct recorder *r, uint64_t id, tl_usec_t t)
{
	const uint16_t P = TL_EVF_PASSIVE;
	put(r, seg_ev(id, t, TCP_LISTEN, TCP_SYN_RECV, "SYN", TH_SYN, 1, 0, 1, P));
	put(r, seg_ev(id, t + 1, TCP_SYN_RECV, TCP_ESTABLISHED, "ACK", TH_ACK, 2, 2, 1, P));
	put(r, seg_ev(id, t + 2, TCP_ESTABLISHED, TCP_CLOSE, "R", TH_RST, 2, 2, 1, P));
}

/* Retention by row count keeps the newest transitions; closed connections
 * left without any go, a connection still open stays. */
static void test_history_retention_by_count(void **state)
{
	struct fixture *f = *state;
	struct recorder *r = open_rec(f, &(struct rec_options){ .max_transitions = 10 });
	put(r, state_ev(100, 500, TCP_CLOSE, TCP_SYN_SENT, TL_CAUSE_APP, "connect", 0));
	for (uint64_t i = 1; i <= 20; i++)
		put_short_conn(r, i, 1000 * i);
	rec_close(r);

	sqlite3 *db = open_db(f);
	assert_int_equal(q_int(db, "SELECT count(*) FROM transitions"), 10);
	assert_int_equal(q_int(db, "SELECT min(id) FROM transitions"), 52);
	assert_string_equal(q_text(db, "SELECT group_concat(conn_id, ' ') FROM (SELECT conn_id FROM"
				       " connections ORDER BY id)"),
			    "100 17 18 19 20");
	sqlite3_close(db);
}

static tl_usec_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tl_usec_t)ts.tv_sec * SEC + (tl_usec_t)ts.tv_nsec / 1000;
}

/* Retention by age drops connections closed before the cutoff with their
 * transitions, and old tunable changes; recent ones and open connections
 * stay. (Times near 0 are the machine's boot: older than a second.) */
static void test_history_retention_by_age(void **state)
{
	struct fixture *f = *state;
	struct recorder *r = open_rec(f, &(struct rec_options){ .max_age_s = 1 });
	tl_usec_t future = mono_us() + 3600 * SEC;
	put_short_conn(r, 1, 1000);
	put_short_conn(r, 2, future);
	put(r, state_ev(3, 1000, TCP_CLOSE, TCP_SYN_SENT, TL_CAUSE_APP, "connect", 0));
	rec_tunable_change(r, 1, "tcp_fin_timeout", "60", "30", "fuse", 1000);
	rec_tunable_change(r, 1, "tcp_fin_timeout", "30", "20", "fuse", future);
	rec_close(r);

	sqlite3 *db = open_db(f);
	assert_string_equal(q_text(db, "SELECT group_concat(conn_id, ' ') FROM (SELECT conn_id FROM"
				       " connections ORDER BY conn_id)"),
			    "2 3");
	assert_int_equal(q_int(db, "SELECT count(*) FROM transitions"), 4);
	assert_string_equal(q_text(db, "SELECT new_value FROM tunable_changes"), "20");
	sqlite3_close(db);
}

/* The read-only path (what `tcplab sql` uses) refuses every kind of write,
 * including switching query_only off and attaching another file. */
static void test_history_readonly_path_cannot_modify(void **state)
{
	struct fixture *f = *state;
	struct recorder *r = open_rec(f, NULL);
	put_short_conn(r, 1, 1000);
	rec_close(r);

	sqlite3 *ro;
	char err[512];
	assert_int_equal(history_open_readonly(f->db, &ro, err, sizeof(err)), 0);
	assert_int_equal(q_int(ro, "SELECT count(*) FROM transitions"), 3);
	assert_int_equal(q_int(ro, "SELECT count(*) FROM timeline"), 3);
	assert_int_equal(q_int(ro, "PRAGMA user_version"), HISTORY_SCHEMA_VERSION);
	assert_int_equal(q_int(ro, "SELECT count(*) FROM pragma_table_info('connections')") > 10, 1);
	char attach[256];
	snprintf(attach, sizeof(attach), "ATTACH DATABASE '%s/other.db' AS o", f->dir);
	const char *writes[] = {
		"INSERT INTO runs (lab, version, pid, started_us, wall_offset_us)"
		" VALUES ('x', 'y', 1, 1, 1)",
		"UPDATE connections SET final_state = 'ESTABLISHED'",
		"DELETE FROM transitions",
		"DROP TABLE transitions",
		"DROP VIEW timeline",
		"CREATE TABLE t (x)",
		"CREATE TEMP TABLE t (x)",
		"CREATE VIEW v AS SELECT 1",
		"CREATE INDEX i ON runs (lab)",
		"ALTER TABLE runs ADD COLUMN x",
		"UPDATE sqlite_master SET sql = 'x' WHERE name = 'runs'",
		"PRAGMA writable_schema = 1",
		"PRAGMA query_only = 0",
		"PRAGMA user_version = 7",
		"PRAGMA journal_mode = DELETE",
		"VACUUM",
		"REINDEX",
		"ANALYZE",
		attach,
		"INSERT INTO runs (lab, version, pid, started_us, wall_offset_us)"
		" VALUES ('x', 'y', 1, 1, 1)", /* still refused after all that */
	};
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		if (sqlite3_exec(ro, writes[i], NULL, NULL, NULL) == SQLITE_OK)
			fail_msg("the read-only path accepted: %s", writes[i]);
	}
	sqlite3_close(ro);

	sqlite3 *db = open_db(f);
	assert_int_equal(q_int(db, "SELECT count(*) FROM transitions"), 3);
	assert_int_equal(q_int(db, "SELECT count(*) FROM runs"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM connections WHERE final_state = 'CLOSE'"), 1);
	assert_int_equal(q_int(db, "PRAGMA user_version"), HISTORY_SCHEMA_VERSION);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_schema WHERE name IN ('t', 'v', 'i')"),
			 0);
	sqlite3_close(db);
	snprintf(attach, sizeof(attach), "%s/other.db", f->dir);
	assert_int_equal(access(attach, F_OK), -1);
}

/* Schema 1 as released, written out by hand (not taken from the code, so
 * that editing migration 1 by mistake shows here). */
static const char schema_v1[] =
	"CREATE TABLE runs (id INTEGER PRIMARY KEY, lab TEXT NOT NULL, version TEXT NOT NULL,"
	" pid INTEGER NOT NULL, started_us INTEGER NOT NULL, stopped_us INTEGER,"
	" wall_offset_us INTEGER NOT NULL);"
	"CREATE TABLE hosts (run INTEGER NOT NULL REFERENCES runs(id), id INTEGER NOT NULL,"
	" name TEXT NOT NULL, kind TEXT NOT NULL, addr TEXT NOT NULL, PRIMARY KEY (run, id));"
	"CREATE TABLE connections (id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(id),"
	" host INTEGER NOT NULL, conn_id INTEGER NOT NULL, laddr TEXT NOT NULL, lport INTEGER NOT NULL,"
	" raddr TEXT NOT NULL, rport INTEGER NOT NULL,"
	" role TEXT NOT NULL CHECK (role IN ('active', 'passive', 'listen')),"
	" opened_us INTEGER NOT NULL, closed_us INTEGER, final_state TEXT NOT NULL, close_cause TEXT,"
	" bytes_in INTEGER NOT NULL DEFAULT 0, bytes_out INTEGER NOT NULL DEFAULT 0,"
	" segs_in INTEGER NOT NULL DEFAULT 0, segs_out INTEGER NOT NULL DEFAULT 0,"
	" retrans INTEGER NOT NULL DEFAULT 0, UNIQUE (run, host, conn_id));"
	"CREATE TABLE transitions (id INTEGER PRIMARY KEY, conn INTEGER NOT NULL"
	" REFERENCES connections(id), time_us INTEGER NOT NULL, from_state TEXT NOT NULL,"
	" to_state TEXT NOT NULL, cause_kind TEXT NOT NULL, cause TEXT NOT NULL);"
	"CREATE INDEX transitions_conn ON transitions(conn);"
	"CREATE TABLE tunable_changes (id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(id),"
	" host INTEGER NOT NULL, time_us INTEGER NOT NULL, name TEXT NOT NULL, old_value TEXT,"
	" new_value TEXT NOT NULL, via TEXT NOT NULL);"
	"INSERT INTO runs VALUES (1, 'old', '0.0.1', 42, 100, 900000, 1700000000000000);"
	"INSERT INTO hosts VALUES (1, 1, 'stack', 'stack', '198.18.0.1');"
	"INSERT INTO connections (id, run, host, conn_id, laddr, lport, raddr, rport, role,"
	" opened_us, closed_us, final_state, close_cause)"
	" VALUES (1, 1, 1, 5, '198.18.0.1', 80, '198.18.0.2', 40000, 'passive', 200, NULL,"
	" 'ESTABLISHED', NULL);"
	"INSERT INTO transitions (conn, time_us, from_state, to_state, cause_kind, cause) VALUES"
	" (1, 200, 'LISTEN', 'SYN_RECV', 'segment', 'SYN'),"
	" (1, 300, 'SYN_RECV', 'ESTABLISHED', 'segment', 'ACK');"
	"INSERT INTO tunable_changes (run, host, time_us, name, old_value, new_value, via)"
	" VALUES (1, 1, 250, 'tcp_syncookies', '1', '2', 'fuse');"
	"PRAGMA user_version = 1;";

/* A schema-1 database is migrated at open: its rows survive and gain the
 * new columns' values, the new tables, indexes and views exist, and the
 * new run is appended. */
static void test_history_migrates_v1_database(void **state)
{
	struct fixture *f = *state;
	struct recorder *r = open_rec(f, NULL); /* creates the directories */
	rec_close(r);
	assert_int_equal(unlink(f->db), 0);
	sqlite3 *db = open_db(f);
	assert_int_equal(sqlite3_exec(db, schema_v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	r = open_rec(f, &(struct rec_options){ .lab = "new" });
	assert_int_equal(rec_run_id(r), 2);
	put_short_conn(r, 1, 1000);
	rec_close(r);

	db = open_db(f);
	assert_int_equal(q_int(db, "PRAGMA user_version"), HISTORY_SCHEMA_VERSION);
	assert_string_equal(q_text(db, "SELECT group_concat(lab, ' ') FROM runs"), "old new");
	assert_string_equal(q_text(db, "SELECT last_us || ' ' || synack_retrans || ' ' || from_cookie"
				       " FROM connections WHERE run = 1"),
			    "300 0 0");
	assert_string_equal(q_text(db, "SELECT group_concat(kind || ':' || to_state, ' ') FROM"
				       " (SELECT * FROM timeline WHERE run = 1 ORDER BY id)"),
			    "state:SYN_RECV state:ESTABLISHED");
	/* Old run: its timeline has wall-clock times from its own offset. */
	assert_string_equal(q_text(db, "SELECT at FROM timeline WHERE run = 1 ORDER BY id LIMIT 1"),
			    "2023-11-14T22:13:20.000Z");
	assert_string_equal(q_text(db, "SELECT flushed_us FROM runs WHERE id = 1"), "900000");
	assert_int_equal(q_int(db, "SELECT count(*) FROM tunable_log"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM connections WHERE run = 2"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM pragma_index_info('transitions_conn')"), 2);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_schema WHERE name IN"
				   " ('counter_snapshots', 'link_changes', 'state_time', 'half_open',"
				   " 'final_states', 'connections_lport')"),
			 6);
	/* The old connection is still open at its run's last flush. */
	assert_string_equal(q_text(db, "SELECT state || ' ' || seconds || ' ' || ongoing FROM"
				       " state_time WHERE run = 1 AND state = 'ESTABLISHED'"),
			    "ESTABLISHED 0.8997 1");
	assert_string_equal(q_text(db, "PRAGMA integrity_check"), "ok");
	sqlite3_close(db);
}

/* A database from a newer tcplab, or some other SQLite file, is refused
 * with a reason rather than modified. */
static void test_history_refuses_newer_or_foreign_database(void **state)
{
	struct fixture *f = *state;
	struct recorder *r = open_rec(f, NULL);
	rec_close(r);
	sqlite3 *db = open_db(f);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	char err[512] = "";
	assert_null(rec_open(f->db, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	sqlite3 *ro;
	assert_int_equal(history_open_readonly(f->db, &ro, err, sizeof(err)), -EPROTO);

	assert_int_equal(unlink(f->db), 0);
	db = open_db(f);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE mine (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(rec_open(f->db, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not a tcplab history"));
	db = open_db(f);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_schema"), 1);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_history_scripted_connection_lands_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_active_close_time_wait_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_real_stack_connection_matches_its_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_synack_retries_each_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_cookie_connection_flagged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_queue_overflow_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_counters_tunables_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_retention_by_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_retention_by_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_readonly_path_cannot_modify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_migrates_v1_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_refuses_newer_or_foreign_database, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
