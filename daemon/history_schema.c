/* History database schema: migrations, views and read-only opening (see
 * history_schema.h; the tables are documented in docs/history.md).
 *
 * Times are CLOCK_MONOTONIC microseconds (`*_us`), the clock of every event;
 * runs.wall_offset_us (CLOCK_REALTIME - CLOCK_MONOTONIC when the run began)
 * turns them into wall-clock time, which the views show as ISO 8601 text.
 *
 * A migration, once released, never changes: databases in the field were
 * built by it. Changes go into a new migration. */
#include "history_schema.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Schema 1: the first cut. */
static const char migration_1[] =
	"CREATE TABLE runs (\n"
	"  id             INTEGER PRIMARY KEY,\n"
	"  lab            TEXT NOT NULL,\n"
	"  version        TEXT NOT NULL,\n"
	"  pid            INTEGER NOT NULL,\n"
	"  started_us     INTEGER NOT NULL,\n"
	"  stopped_us     INTEGER,\n"
	"  wall_offset_us INTEGER NOT NULL\n"
	");\n"
	"CREATE TABLE hosts (\n"
	"  run  INTEGER NOT NULL REFERENCES runs(id),\n"
	"  id   INTEGER NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  kind TEXT NOT NULL,\n"
	"  addr TEXT NOT NULL,\n"
	"  PRIMARY KEY (run, id)\n"
	");\n"
	"CREATE TABLE connections (\n"
	"  id          INTEGER PRIMARY KEY,\n"
	"  run         INTEGER NOT NULL REFERENCES runs(id),\n"
	"  host        INTEGER NOT NULL,\n"
	"  conn_id     INTEGER NOT NULL,\n"
	"  laddr       TEXT NOT NULL,\n"
	"  lport       INTEGER NOT NULL,\n"
	"  raddr       TEXT NOT NULL,\n"
	"  rport       INTEGER NOT NULL,\n"
	"  role        TEXT NOT NULL CHECK (role IN ('active', 'passive', 'listen')),\n"
	"  opened_us   INTEGER NOT NULL,\n"
	"  closed_us   INTEGER,\n"
	"  final_state TEXT NOT NULL,\n"
	"  close_cause TEXT,\n"
	"  bytes_in    INTEGER NOT NULL DEFAULT 0,\n"
	"  bytes_out   INTEGER NOT NULL DEFAULT 0,\n"
	"  segs_in     INTEGER NOT NULL DEFAULT 0,\n"
	"  segs_out    INTEGER NOT NULL DEFAULT 0,\n"
	"  retrans     INTEGER NOT NULL DEFAULT 0,\n"
	"  UNIQUE (run, host, conn_id)\n"
	");\n"
	"CREATE TABLE transitions (\n"
	"  id         INTEGER PRIMARY KEY,\n"
	"  conn       INTEGER NOT NULL REFERENCES connections(id),\n"
	"  time_us    INTEGER NOT NULL,\n"
	"  from_state TEXT NOT NULL,\n"
	"  to_state   TEXT NOT NULL,\n"
	"  cause_kind TEXT NOT NULL,\n"
	"  cause      TEXT NOT NULL\n"
	");\n"
	"CREATE INDEX transitions_conn ON transitions(conn);\n"
	"CREATE TABLE tunable_changes (\n"
	"  id        INTEGER PRIMARY KEY,\n"
	"  run       INTEGER NOT NULL REFERENCES runs(id),\n"
	"  host      INTEGER NOT NULL,\n"
	"  time_us   INTEGER NOT NULL,\n"
	"  name      TEXT NOT NULL,\n"
	"  old_value TEXT,\n"
	"  new_value TEXT NOT NULL,\n"
	"  via       TEXT NOT NULL\n"
	");\n";

/* Schema 2: what the questions of issue #5 need. */
static const char migration_2[] =
	/* Loss is never silent: each run says how much it wrote and lost,
	 * and up to when everything queued is on disk. */
	"ALTER TABLE runs ADD COLUMN events_written INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE runs ADD COLUMN events_lost INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE runs ADD COLUMN flushed_us INTEGER;\n"
	"UPDATE runs SET flushed_us = stopped_us;\n"
	"ALTER TABLE connections ADD COLUMN listener INTEGER REFERENCES connections(id);\n"
	"ALTER TABLE connections ADD COLUMN synack_retrans INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE connections ADD COLUMN from_cookie INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE connections ADD COLUMN min_rtt_us INTEGER;\n"
	"ALTER TABLE connections ADD COLUMN srtt_us INTEGER;\n"
	"ALTER TABLE connections ADD COLUMN last_us INTEGER;\n"
	"UPDATE connections SET last_us = COALESCE(\n"
	"  (SELECT max(t.time_us) FROM transitions t WHERE t.conn = connections.id),\n"
	"  closed_us, opened_us);\n"
	/* Retransmissions become timeline rows beside the state changes. */
	"ALTER TABLE transitions ADD COLUMN kind TEXT NOT NULL DEFAULT 'state';\n"
	"ALTER TABLE transitions ADD COLUMN count INTEGER;\n"
	"ALTER TABLE transitions ADD COLUMN seg_flags INTEGER;\n"
	"ALTER TABLE transitions ADD COLUMN seg_seq INTEGER;\n"
	"ALTER TABLE transitions ADD COLUMN seg_ack INTEGER;\n"
	"ALTER TABLE transitions ADD COLUMN seg_len INTEGER;\n"
	"ALTER TABLE transitions ADD COLUMN seg_win INTEGER;\n"
	"CREATE TABLE counter_snapshots (\n"
	"  id      INTEGER PRIMARY KEY,\n"
	"  run     INTEGER NOT NULL REFERENCES runs(id),\n"
	"  host    INTEGER NOT NULL,\n"
	"  time_us INTEGER NOT NULL,\n"
	"  mib     TEXT NOT NULL,\n"
	"  name    TEXT NOT NULL,\n"
	"  value   INTEGER NOT NULL\n"
	");\n"
	"CREATE TABLE link_changes (\n"
	"  id        INTEGER PRIMARY KEY,\n"
	"  run       INTEGER NOT NULL REFERENCES runs(id),\n"
	"  time_us   INTEGER NOT NULL,\n"
	"  link      TEXT NOT NULL,\n"
	"  knob      TEXT NOT NULL,\n"
	"  old_value TEXT,\n"
	"  new_value TEXT NOT NULL\n"
	");\n"
	/* Indexes for the common questions: a connection's timeline, the
	 * connections of a service port, a tunable's, counter's or link's
	 * history. Few on connections on purpose: each one costs about a
	 * microsecond per connection in the writer, and rowid order already is
	 * opening order. */
	"DROP INDEX transitions_conn;\n"
	"CREATE INDEX transitions_conn ON transitions(conn, time_us);\n"
	"CREATE INDEX connections_lport ON connections(lport);\n"
	"CREATE INDEX tunable_changes_name ON tunable_changes(name, time_us);\n"
	"CREATE INDEX tunable_changes_time ON tunable_changes(run, time_us);\n"
	"CREATE INDEX counter_snapshots_name ON counter_snapshots(name, run, host, time_us);\n"
	"CREATE INDEX counter_snapshots_time ON counter_snapshots(run, time_us);\n"
	"CREATE INDEX link_changes_time ON link_changes(run, time_us);\n";

static const char *const migrations[] = {
	NULL, /* schema 0: an empty file */
	migration_1,
	migration_2,
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == HISTORY_SCHEMA_VERSION + 1,
	       "one migration per schema version");

/* Monotonic µs plus the run's offset, as ISO 8601 UTC with milliseconds. */
#define ISO(us) "strftime('%Y-%m-%dT%H:%M:%fZ', (" us ") / 1e6, 'unixepoch')"
#define LOCAL "c.laddr || ':' || c.lport"
#define REMOTE "c.raddr || ':' || c.rport"
/* TCP flags in tcpdump's letters ("S.", "F.", "R"), as tcp_flags_str(). */
#define FLAGS(f)                                                                    \
	"CASE WHEN " f " IS NULL THEN NULL WHEN " f " = 0 THEN 'none' ELSE "           \
	"iif(" f " & 1, 'F', '') || iif(" f " & 2, 'S', '') || iif(" f " & 4, 'R', '') || " \
	"iif(" f " & 8, 'P', '') || iif(" f " & 16, '.', '') || iif(" f " & 32, 'U', '') || " \
	"iif(" f " & 64, 'E', '') || iif(" f " & 128, 'W', '') END"
/* When a run's time ended, as far as the database knows: its stop, else
 * its last flush (a crashed or running daemon). */
#define RUN_END "COALESCE(r.stopped_us, r.flushed_us)"

/* The views, re-created after any migration (they hold no data). */
static const char views[] =
	"DROP VIEW IF EXISTS conn_summary;\n"
	"DROP VIEW IF EXISTS timeline;\n"
	"DROP VIEW IF EXISTS state_time;\n"
	"DROP VIEW IF EXISTS half_open;\n"
	"DROP VIEW IF EXISTS final_states;\n"
	"DROP VIEW IF EXISTS run_summary;\n"
	"DROP VIEW IF EXISTS tunable_log;\n"
	"DROP VIEW IF EXISTS counter_log;\n"
	"DROP VIEW IF EXISTS link_log;\n"
	/* One row per connection, with wall-clock times and its duration
	 * (up to now for a connection still open). */
	"CREATE VIEW conn_summary AS\n"
	"SELECT c.id, c.run, h.name AS host, c.conn_id, c.role,\n"
	"  " LOCAL " AS local, " REMOTE " AS remote,\n"
	"  " ISO("c.opened_us + r.wall_offset_us") " AS opened_at,\n"
	"  " ISO("c.closed_us + r.wall_offset_us") " AS closed_at,\n"
	"  (COALESCE(c.closed_us, " RUN_END ", c.last_us) - c.opened_us) / 1e6 AS seconds,\n"
	"  c.final_state, c.close_cause, c.bytes_in, c.bytes_out, c.segs_in, c.segs_out,\n"
	"  c.retrans, c.synack_retrans, c.from_cookie, c.min_rtt_us, c.srtt_us, c.listener\n"
	"FROM connections c JOIN runs r ON r.id = c.run\n"
	"LEFT JOIN hosts h ON h.run = c.run AND h.id = c.host;\n"
	/* Every row of every connection's timeline, in order by id. */
	"CREATE VIEW timeline AS\n"
	"SELECT t.id, t.conn, c.run, h.name AS host, c.conn_id, c.role,\n"
	"  " LOCAL " AS local, " REMOTE " AS remote,\n"
	"  " ISO("t.time_us + r.wall_offset_us") " AS at, t.time_us,\n"
	"  (t.time_us - c.opened_us) / 1e6 AS since_open,\n"
	"  t.kind, t.from_state, t.to_state, t.cause_kind, t.cause, t.count,\n"
	"  " FLAGS("t.seg_flags") " AS seg_flags, t.seg_seq, t.seg_ack, t.seg_len, t.seg_win\n"
	"FROM transitions t JOIN connections c ON c.id = t.conn JOIN runs r ON r.id = c.run\n"
	"LEFT JOIN hosts h ON h.run = c.run AND h.id = c.host;\n"
	/* Time spent in each state per connection: from entering a state to
	 * the next transition; the current state of an open connection counts
	 * up to the run's last flush (ongoing = 1). */
	"CREATE VIEW state_time AS\n"
	"WITH s AS (\n"
	"  SELECT conn, to_state AS state, time_us AS entered_us,\n"
	"    LEAD(time_us) OVER (PARTITION BY conn ORDER BY time_us, id) AS left_us\n"
	"  FROM transitions WHERE kind = 'state')\n"
	"SELECT s.conn, c.run, h.name AS host, c.conn_id, c.role,\n"
	"  " LOCAL " AS local, " REMOTE " AS remote, s.state,\n"
	"  " ISO("min(s.entered_us) + r.wall_offset_us") " AS entered_at, min(s.entered_us) AS entered_us,\n"
	"  sum(max(COALESCE(s.left_us, " RUN_END ", s.entered_us) - s.entered_us, 0)) / 1e6 AS seconds,\n"
	"  max(s.left_us IS NULL) AS ongoing\n"
	"FROM s JOIN connections c ON c.id = s.conn JOIN runs r ON r.id = c.run\n"
	"LEFT JOIN hosts h ON h.run = c.run AND h.id = c.host\n"
	"WHERE s.state <> 'CLOSE'\n"
	"GROUP BY s.conn, s.state;\n"
	/* Half-open requests (passive, not from a cookie): SYN-ACK
	 * retransmissions and what became of them. */
	"CREATE VIEW half_open AS\n"
	"SELECT c.id AS conn, c.run, h.name AS host, c.conn_id,\n"
	"  " LOCAL " AS local, " REMOTE " AS remote,\n"
	"  " ISO("c.opened_us + r.wall_offset_us") " AS opened_at, c.synack_retrans,\n"
	"  CASE WHEN EXISTS (SELECT 1 FROM transitions t WHERE t.conn = c.id AND t.kind = 'state'\n"
	"                    AND t.from_state = 'SYN_RECV' AND t.to_state <> 'CLOSE') THEN 'established'\n"
	"       WHEN c.closed_us IS NOT NULL THEN 'dropped'\n"
	"       ELSE 'pending' END AS outcome,\n"
	"  c.final_state, c.close_cause\n"
	"FROM connections c JOIN runs r ON r.id = c.run\n"
	"LEFT JOIN hosts h ON h.run = c.run AND h.id = c.host\n"
	"WHERE c.role = 'passive' AND c.from_cookie = 0;\n"
	/* Connections per final state (listeners left out). */
	"CREATE VIEW final_states AS\n"
	"SELECT run, final_state, count(*) AS connections FROM connections\n"
	"WHERE role <> 'listen' GROUP BY run, final_state;\n"
	"CREATE VIEW run_summary AS\n"
	"SELECT r.id, r.lab, r.version, r.pid,\n"
	"  " ISO("r.started_us + r.wall_offset_us") " AS started_at,\n"
	"  " ISO("r.stopped_us + r.wall_offset_us") " AS stopped_at,\n"
	"  " ISO("r.flushed_us + r.wall_offset_us") " AS flushed_at,\n"
	"  r.events_written, r.events_lost,\n"
	"  (SELECT count(*) FROM connections c WHERE c.run = r.id AND c.role <> 'listen') AS connections\n"
	"FROM runs r;\n"
	"CREATE VIEW tunable_log AS\n"
	"SELECT t.id, t.run, h.name AS host, " ISO("t.time_us + r.wall_offset_us") " AS at,\n"
	"  t.time_us, t.name, t.old_value, t.new_value, t.via\n"
	"FROM tunable_changes t JOIN runs r ON r.id = t.run\n"
	"LEFT JOIN hosts h ON h.run = t.run AND h.id = t.host;\n"
	"CREATE VIEW counter_log AS\n"
	"SELECT s.id, s.run, h.name AS host, " ISO("s.time_us + r.wall_offset_us") " AS at,\n"
	"  s.time_us, s.mib, s.name, s.value\n"
	"FROM counter_snapshots s JOIN runs r ON r.id = s.run\n"
	"LEFT JOIN hosts h ON h.run = s.run AND h.id = s.host;\n"
	"CREATE VIEW link_log AS\n"
	"SELECT l.id, l.run, " ISO("l.time_us + r.wall_offset_us") " AS at, l.time_us,\n"
	"  l.link, l.knob, l.old_value, l.new_value\n"
	"FROM link_changes l JOIN runs r ON r.id = l.run;\n";

const char *history_migration_sql(int to)
{
	if (to < 1 || to > HISTORY_SCHEMA_VERSION)
		return NULL;
	return migrations[to];
}

static int query_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int history_migrate(sqlite3 *db, char *err, size_t errlen)
{
	char *msg = NULL;
	int version = 0, tables = 0;
	/* IMMEDIATE: two daemons opening one file must not both migrate. */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "cannot lock the database: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	if (query_int(db, "PRAGMA user_version", &version) < 0 ||
	    query_int(db, "SELECT count(*) FROM sqlite_schema", &tables) < 0) {
		snprintf(err, errlen, "cannot read the schema version: %s", sqlite3_errmsg(db));
		goto fail_io;
	}
	if (version > HISTORY_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "the database has schema version %d, newer than this tcplab's (%d): use a newer tcplab or another database",
			 version, HISTORY_SCHEMA_VERSION);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -EPROTO;
	}
	if (version == 0 && tables > 0) {
		snprintf(err, errlen,
			 "the file is an SQLite database but not a tcplab history (tables, no schema version): use another database file");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -EPROTO;
	}
	if (version == HISTORY_SCHEMA_VERSION)
		return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;

	for (int v = version + 1; v <= HISTORY_SCHEMA_VERSION; v++) {
		if (sqlite3_exec(db, migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "migration to schema %d failed: %s", v,
				 msg ? msg : "?");
			goto fail_io;
		}
	}
	if (sqlite3_exec(db, views, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "creating the views failed: %s", msg ? msg : "?");
		goto fail_io;
	}
	char pragma[64];
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", HISTORY_SCHEMA_VERSION);
	if (sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "cannot commit the migration: %s", msg ? msg : "?");
		goto fail_io;
	}
	return 0;
fail_io:
	sqlite3_free(msg);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -EIO;
}

/* Pragmas a reader may run: introspection and integrity checks. Those
 * that also set something are allowed only without a value. */
static bool pragma_allowed(const char *name, const char *arg)
{
	static const char *const with_arg[] = {
		"table_info", "table_xinfo", "table_list", "index_list", "index_info",
		"index_xinfo", "foreign_key_list", "integrity_check", "quick_check",
	};
	static const char *const read_only[] = {
		"database_list", "collation_list", "function_list", "module_list",
		"pragma_list", "compile_options", "user_version", "schema_version",
		"page_size", "page_count", "freelist_count", "journal_mode",
		"encoding", "data_version", "application_id", "foreign_keys",
	};
	for (size_t i = 0; i < sizeof(with_arg) / sizeof(with_arg[0]); i++)
		if (sqlite3_stricmp(name, with_arg[i]) == 0)
			return true;
	if (arg)
		return false;
	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++)
		if (sqlite3_stricmp(name, read_only[i]) == 0)
			return true;
	return false;
}

/* Authorizer of the read-only path: reading statements only. */
static int authorize_read(void *ctx, int action, const char *a, const char *b,
			  const char *dbname, const char *trigger)
{
	(void)ctx;
	(void)dbname;
	(void)trigger;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_PRAGMA:
		return pragma_allowed(a, b) ? SQLITE_OK : SQLITE_DENY;
	case SQLITE_TRANSACTION:
		/* BEGIN/COMMIT around reads: harmless, and scripts use them. */
		return SQLITE_OK;
	case SQLITE_UPDATE:
		/* Table-valued pragmas (pragma_table_info(...)) check an
		 * UPDATE of sqlite_master while their virtual table comes up.
		 * A real UPDATE of it needs writable_schema, a pragma denied
		 * above, and the file is read-only anyway. */
		return a && (strcmp(a, "sqlite_master") == 0 || strcmp(a, "sqlite_schema") == 0)
			       ? SQLITE_OK
			       : SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

int history_open_readonly(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	struct stat sb;
	*out = NULL;
	if (stat(path, &sb) < 0) {
		int e = errno;
		snprintf(err, errlen,
			 "cannot open the history %s: %s (tcplabd writes it; pass --db FILE if it runs with another --db)",
			 path, strerror(e));
		return -e;
	}
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open the history %s: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(db, 2000);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	int version = 0;
	if (sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK ||
	    query_int(db, "PRAGMA user_version", &version) < 0) {
		snprintf(err, errlen, "cannot read the history %s: %s", path, sqlite3_errmsg(db));
		goto fail;
	}
	if (version != HISTORY_SCHEMA_VERSION) {
		if (version == 0)
			snprintf(err, errlen, "%s is not a tcplab history (no schema version)", path);
		else if (version > HISTORY_SCHEMA_VERSION)
			snprintf(err, errlen,
				 "%s has schema version %d, newer than this tcplab's (%d): use a newer tcplab",
				 path, version, HISTORY_SCHEMA_VERSION);
		else
			snprintf(err, errlen,
				 "%s has the older schema version %d (this tcplab reads %d): run tcplabd once with --db %s to migrate it",
				 path, version, HISTORY_SCHEMA_VERSION, path);
		sqlite3_close(db);
		return -EPROTO;
	}
	sqlite3_set_authorizer(db, authorize_read, NULL);
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return -EIO;
}
