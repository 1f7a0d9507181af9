/* tcplab history: per-connection timelines from the history database,
 * newest connections last. Each connection gets a header line (run, host,
 * role, addresses, open time, duration, final state and cause, counters)
 * and one line per transition or retransmission, timed from its opening.
 * Listeners are left out unless --state LISTEN asks for them. Reads through
 * the same read-only path as `tcplab sql`. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "client.h"
#include "commands.h"
#include "history_schema.h"
#include "tcp_state.h"
#include "tcp_wire.h"

#define HISTORY_DEFAULT_LIMIT 20

struct history_opts {
	const char *path;
	const char *state; /* Linux name, or NULL */
	int port;          /* -1: any */
	int64_t since_us;  /* wall clock; INT64_MIN: any */
	int64_t run;       /* 0: any */
	int64_t limit;     /* 0: all */
	bool json;         /* an array of objects, each with its timeline */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab history [OPTION]...\n"
		"Print the timelines of recorded connections (newest last).\n"
		"\n"
		"  --db FILE     history database (default: the running tcplabd's, else\n"
		"                " CLIENT_DEFAULT_DB ")\n"
		"  --state S     connections that were ever in state S (ESTABLISHED,\n"
		"                CLOSE_WAIT, TIME_WAIT, SYN_RECV, ... or ss spelling)\n"
		"  --port P      connections with local or remote port P\n"
		"  --since T     connections active at or after T: 30s, 10m, 2h, 1d ago,\n"
		"                or a UTC time 2026-11-25T14:00:00 (also with a space)\n"
		"  --run N       only run N (see `tcplab sql 'SELECT * FROM run_summary'`)\n"
		"  --limit N     the newest N connections (default %d; 0 = all)\n"
		"  --json        an array of objects, each with its \"timeline\" array\n"
		"  -h, --help    show this help\n",
		HISTORY_DEFAULT_LIMIT);
}

static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* --since: "<n>s|m|h|d" ago, or a UTC date/time SQLite understands.
 * Returns false if it is neither. */
static bool parse_since(sqlite3 *db, const char *s, int64_t *out_us)
{
	size_t n = strlen(s);
	if (n >= 2 && strchr("smhd", s[n - 1]) && isdigit((unsigned char)s[0])) {
		char num[32];
		if (n - 1 >= sizeof(num))
			return false;
		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		int64_t v;
		if (!parse_int(num, 0, 100LL * 365 * 86400, &v))
			return false;
		int64_t unit = s[n - 1] == 's' ? 1 : s[n - 1] == 'm' ? 60 : s[n - 1] == 'h' ? 3600 : 86400;
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		*out_us = ((int64_t)now.tv_sec - v * unit) * 1000000 + now.tv_nsec / 1000;
		return true;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT CAST(round((julianday(?1) - 2440587.5) * 86400000000) AS INTEGER)",
			       -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, s, -1, SQLITE_STATIC);
	bool ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
	if (ok)
		*out_us = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ok;
}

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

/* The transitions of one connection, one line each. */
static int print_timeline(sqlite3 *db, int64_t conn, int64_t opened_us)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT time_us, kind, from_state, to_state, cause_kind, cause, count,"
			       " seg_flags, seg_seq, seg_ack, seg_len, seg_win"
			       " FROM transitions WHERE conn = ?1 ORDER BY time_us, id",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, conn);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t dt = sqlite3_column_int64(st, 0) - opened_us;
		const char *kind = col(st, 1);
		char what[64];
		if (strcmp(kind, "state") == 0)
			snprintf(what, sizeof(what), "%s -> %s", col(st, 2), col(st, 3));
		else
			snprintf(what, sizeof(what), "%s #%s (%s)", kind, col(st, 6), col(st, 3));
		printf("  %+11.6f  %-28s %-7s %-12s", (double)dt / 1e6, what, col(st, 4), col(st, 5));
		if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
			char flags[16];
			tcp_flags_str((uint8_t)sqlite3_column_int(st, 7), flags);
			printf(" [%s] seq %s ack %s len %s win %s", flags, col(st, 8), col(st, 9),
			       col(st, 10), col(st, 11));
		}
		putchar('\n');
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A column as a JSON value: numbers bare, text quoted, NULL as null. */
static void json_col(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		fputs("null", stdout);
		break;
	case SQLITE_INTEGER:
		printf("%lld", (long long)sqlite3_column_int64(st, i));
		break;
	case SQLITE_FLOAT:
		printf("%.6f", sqlite3_column_double(st, i));
		break;
	default:
		json_str(stdout, col(st, i));
	}
}

/* The transitions of one connection as a JSON array. */
static int print_timeline_json(sqlite3 *db, int64_t conn, int64_t opened_us)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT (time_us - ?2) / 1e6, kind, from_state, to_state, cause_kind, cause,"
			       " count, seg_flags, seg_seq, seg_ack, seg_len, seg_win"
			       " FROM transitions WHERE conn = ?1 ORDER BY time_us, id",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, conn);
	sqlite3_bind_int64(st, 2, opened_us);
	static const char *const keys[] = { "since_open", "kind", "from", "to", "cause_kind",
					    "cause", "count", "seg_flags", "seg_seq", "seg_ack",
					    "seg_len", "seg_win" };
	int rc, n = 0;
	fputs("[", stdout);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fputs(n++ ? ",\n    {" : "\n    {", stdout);
		for (int i = 0; i < 12; i++) {
			printf("%s\"%s\": ", i ? ", " : "", keys[i]);
			if (i == 7 && sqlite3_column_type(st, 7) != SQLITE_NULL) {
				char flags[16];
				tcp_flags_str((uint8_t)sqlite3_column_int(st, 7), flags);
				json_str(stdout, flags);
			} else {
				json_col(st, i);
			}
		}
		fputs("}", stdout);
	}
	fputs(n ? "\n  ]" : "]", stdout);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int list(sqlite3 *db, const struct history_opts *o)
{
	char sql[2048];
	size_t len = (size_t)snprintf(sql, sizeof(sql),
		"SELECT * FROM (SELECT c.id, c.run, ifnull(h.name, 'host ' || c.host), c.conn_id, c.role,"
		" c.laddr || ':' || c.lport, c.raddr || ':' || c.rport,"
		" strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', (c.opened_us + r.wall_offset_us) / 1e6, 'unixepoch'),"
		" (COALESCE(c.closed_us, r.stopped_us, r.flushed_us, c.last_us) - c.opened_us) / 1e6,"
		" c.closed_us IS NULL, c.final_state, ifnull(c.close_cause, ''), c.bytes_in, c.bytes_out,"
		" c.segs_in, c.segs_out, c.retrans, c.synack_retrans, c.from_cookie, c.srtt_us,"
		" c.opened_us"
		" FROM connections c JOIN runs r ON r.id = c.run"
		" LEFT JOIN hosts h ON h.run = c.run AND h.id = c.host WHERE 1");
	if (o->state)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
			" AND (c.final_state = ?1 OR EXISTS (SELECT 1 FROM transitions t"
			" WHERE t.conn = c.id AND t.to_state = ?1))");
	if (!o->state || strcmp(o->state, "LISTEN") != 0)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND c.role <> 'listen'");
	if (o->port >= 0)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND (c.lport = ?2 OR c.rport = ?2)");
	if (o->since_us != INT64_MIN)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
			" AND COALESCE(c.closed_us, c.last_us, c.opened_us) + r.wall_offset_us >= ?3");
	if (o->run)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND c.run = ?4");
	len += (size_t)snprintf(sql + len, sizeof(sql) - len, " ORDER BY c.id DESC");
	if (o->limit)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " LIMIT ?5");
	snprintf(sql + len, sizeof(sql) - len, ") ORDER BY 1");

	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "tcplab: history: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	if (o->state)
		sqlite3_bind_text(st, 1, o->state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, o->port);
	sqlite3_bind_int64(st, 3, o->since_us);
	sqlite3_bind_int64(st, 4, o->run);
	sqlite3_bind_int64(st, 5, o->limit);
	int rc, shown = 0;
	if (o->json)
		fputs("[", stdout);
	while (o->json && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		static const char *const keys[] = {
			"conn", "run", "host", "conn_id", "role", "local", "remote", "opened_at",
			"seconds", "open", "final_state", "close_cause", "bytes_in", "bytes_out",
			"segs_in", "segs_out", "retrans", "synack_retrans", "from_cookie", "srtt_us",
		};
		fputs(shown++ ? ",\n {" : "\n {", stdout);
		for (int i = 0; i < 20; i++) {
			printf("%s\"%s\": ", i ? ", " : "", keys[i]);
			if (i == 9 || i == 18)
				fputs(sqlite3_column_int(st, i) ? "true" : "false", stdout);
			else
				json_col(st, i);
		}
		fputs(",\n  \"timeline\": ", stdout);
		if (print_timeline_json(db, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 20)) < 0) {
			fprintf(stderr, "tcplab: history: %s\n", sqlite3_errmsg(db));
			sqlite3_finalize(st);
			return 1;
		}
		fputs("}", stdout);
	}
	if (o->json) {
		fputs(shown ? "\n]\n" : "]\n", stdout);
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? 0 : 1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (shown++)
			putchar('\n');
		bool open = sqlite3_column_int(st, 9);
		printf("conn %s (run %s, %s #%s) %s %s %s %s, opened %s, %.6f s%s, %s%s%s%s\n",
		       col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4), col(st, 5),
		       strcmp(col(st, 4), "active") == 0 ? "->" : "<-", col(st, 6), col(st, 7),
		       sqlite3_column_double(st, 8), open ? " so far" : "",
		       open ? "now " : "", col(st, 10), *col(st, 11) ? " by " : "", col(st, 11));
		printf("  bytes in %s out %s, segments in %s out %s, retransmits %s, SYN-ACK retransmits %s",
		       col(st, 12), col(st, 13), col(st, 14), col(st, 15), col(st, 16), col(st, 17));
		if (sqlite3_column_type(st, 19) != SQLITE_NULL)
			printf(", srtt %.3f ms", sqlite3_column_double(st, 19) / 1000.0);
		if (sqlite3_column_int(st, 18))
			printf(", from a SYN cookie");
		putchar('\n');
		if (print_timeline(db, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 20)) < 0) {
			fprintf(stderr, "tcplab: history: %s\n", sqlite3_errmsg(db));
			sqlite3_finalize(st);
			return 1;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "tcplab: history: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	if (!shown)
		fprintf(stderr, "tcplab: history: no recorded connection matches\n");
	return 0;
}

int cmd_history(int argc, char **argv)
{
	enum { OPT_DB = 256, OPT_STATE, OPT_PORT, OPT_SINCE, OPT_RUN, OPT_LIMIT, OPT_JSON };
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct history_opts o = { .path = NULL, .port = -1, .since_us = INT64_MIN,
				  .limit = HISTORY_DEFAULT_LIMIT };
	char dbbuf[4096];
	const char *since = NULL;
	int64_t v;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DB:
			o.path = optarg;
			break;
		case OPT_STATE: {
			int s = tcp_state_from_name(optarg);
			if (!s) {
				fprintf(stderr, "tcplab: history: unknown state '%s' (ESTABLISHED, SYN_RECV, CLOSE_WAIT, TIME_WAIT, ...)\n",
					optarg);
				return 2;
			}
			o.state = tcp_state_name(s);
			break;
		}
		case OPT_PORT:
			if (!parse_int(optarg, 0, 65535, &v)) {
				fprintf(stderr, "tcplab: history: --port %s: expected 0..65535\n", optarg);
				return 2;
			}
			o.port = (int)v;
			break;
		case OPT_SINCE:
			since = optarg;
			break;
		case OPT_RUN:
			if (!parse_int(optarg, 1, INT64_MAX, &o.run)) {
				fprintf(stderr, "tcplab: history: --run %s: expected a run id\n", optarg);
				return 2;
			}
			break;
		case OPT_LIMIT:
			if (!parse_int(optarg, 0, INT64_MAX, &o.limit)) {
				fprintf(stderr, "tcplab: history: --limit %s: expected a count\n", optarg);
				return 2;
			}
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "tcplab: history: option %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "tcplab: history: unknown option %s: see tcplab history --help\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcplab: history: unexpected argument '%s': see tcplab history --help\n",
			argv[optind]);
		return 2;
	}
	o.path = cli_history_db(o.path, dbbuf, sizeof(dbbuf));
	sqlite3 *db;
	char err[1024];
	if (history_open_readonly(o.path, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcplab: %s\n", err);
		return 1;
	}
	if (since && !parse_since(db, since, &o.since_us)) {
		fprintf(stderr, "tcplab: history: --since %s: expected 30s, 10m, 2h, 1d or a UTC time like 2026-11-25T14:00:00\n",
			since);
		sqlite3_close(db);
		return 2;
	}
	int status = list(db, &o);
	sqlite3_close(db);
	if (fflush(stdout) != 0)
		status = 1;
	return status;
}
