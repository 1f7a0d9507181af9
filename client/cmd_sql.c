/* tcplab sql: SQL over a read-only connection to the history database
 * (history_open_readonly: read-only file, query_only, an authorizer that
 * admits reading statements only). Output as aligned columns like sqlite3's
 * column mode (header, dashes, two spaces between columns, NULL empty), or
 * --json (an array of objects per statement, [] when no row) or --csv
 * (header line, RFC 4180 quoting). Several statements print one result
 * after the other. */
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "client.h"
#include "commands.h"
#include "history_schema.h"

enum sql_mode { MODE_COLUMN, MODE_JSON, MODE_CSV };

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab sql [--db FILE] [--json|--csv] \"SELECT ...\"\n"
		"Run SQL (SELECT and read-only PRAGMAs) on the tcplab history, read-only.\n"
		"Tables and views: docs/history.md (try \"SELECT * FROM conn_summary\").\n"
		"\n"
		"  --db FILE   history database (default: the running tcplabd's, else\n"
		"              " CLIENT_DEFAULT_DB ")\n"
		"  --json      JSON: one array of objects per statement\n"
		"  --csv       CSV with a header line\n"
		"  -h, --help  show this help\n");
}

/* Characters (UTF-8 code points) in s, for column widths. */
static size_t display_width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* A cell as text: NULL -> NULL pointer, BLOB -> X'hex'. Caller frees. */
static char *cell_text(sqlite3_stmt *st, int i)
{
	int type = sqlite3_column_type(st, i);
	if (type == SQLITE_NULL)
		return NULL;
	if (type == SQLITE_BLOB) {
		const unsigned char *b = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i);
		char *s = malloc((size_t)n * 2 + 4);
		if (!s)
			return NULL;
		char *p = s;
		*p++ = 'X';
		*p++ = '\'';
		for (int k = 0; k < n; k++)
			p += sprintf(p, "%02x", b[k]);
		*p++ = '\'';
		*p = '\0';
		return s;
	}
	const char *t = (const char *)sqlite3_column_text(st, i);
	return strdup(t ? t : "");
}

/* Rows of one statement, kept for column mode (widths need every row). */
struct table {
	int ncol;
	char **cells; /* row-major, nrow * ncol; NULL = SQL NULL */
	size_t nrow, cap;
};

static int table_add_row(struct table *t, sqlite3_stmt *st)
{
	if (t->nrow == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		char **nc = realloc(t->cells, ncap * (size_t)t->ncol * sizeof(*nc));
		if (!nc)
			return -1;
		t->cells = nc;
		t->cap = ncap;
	}
	for (int i = 0; i < t->ncol; i++)
		t->cells[t->nrow * (size_t)t->ncol + (size_t)i] = cell_text(st, i);
	t->nrow++;
	return 0;
}

static void print_padded(const char *s, size_t width, bool last)
{
	fputs(s, stdout);
	if (last)
		return;
	for (size_t w = display_width(s); w < width + 2; w++)
		putchar(' ');
}

static void print_table(sqlite3_stmt *st, struct table *t)
{
	size_t *w = calloc((size_t)t->ncol, sizeof(*w));
	if (!w)
		return;
	for (int i = 0; i < t->ncol; i++) {
		w[i] = display_width(sqlite3_column_name(st, i));
		for (size_t r = 0; r < t->nrow; r++) {
			const char *c = t->cells[r * (size_t)t->ncol + (size_t)i];
			if (c && display_width(c) > w[i])
				w[i] = display_width(c);
		}
	}
	for (int i = 0; i < t->ncol; i++)
		print_padded(sqlite3_column_name(st, i), w[i], i == t->ncol - 1);
	putchar('\n');
	for (int i = 0; i < t->ncol; i++) {
		for (size_t k = 0; k < w[i]; k++)
			putchar('-');
		if (i < t->ncol - 1)
			fputs("  ", stdout);
	}
	putchar('\n');
	for (size_t r = 0; r < t->nrow; r++) {
		for (int i = 0; i < t->ncol; i++) {
			const char *c = t->cells[r * (size_t)t->ncol + (size_t)i];
			print_padded(c ? c : "", w[i], i == t->ncol - 1);
		}
		putchar('\n');
	}
	free(w);
}

static void table_free(struct table *t)
{
	for (size_t k = 0; k < t->nrow * (size_t)t->ncol; k++)
		free(t->cells[k]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

static void json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (*p < 0x20)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

static void json_value(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		fputs("null", stdout);
		return;
	case SQLITE_INTEGER:
		fputs((const char *)sqlite3_column_text(st, i), stdout);
		return;
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(st, i);
		if (isfinite(d))
			fputs((const char *)sqlite3_column_text(st, i), stdout);
		else
			fputs("null", stdout);
		return;
	}
	default: {
		char *s = cell_text(st, i);
		json_string(s ? s : "");
		free(s);
	}
	}
}

static void csv_field(const char *s)
{
	if (!s)
		return;
	bool quote = s[0] == ' ' || (s[0] && s[strlen(s) - 1] == ' ') || strpbrk(s, ",\"\r\n");
	if (!quote) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* Runs one prepared statement and prints its rows. */
static int run_statement(sqlite3 *db, sqlite3_stmt *st, enum sql_mode mode, int *printed)
{
	int ncol = sqlite3_column_count(st);
	struct table t = { .ncol = ncol };
	size_t rows = 0;
	int rc;
	if (ncol > 0 && *printed && mode == MODE_COLUMN)
		putchar('\n');
	if (ncol > 0 && mode == MODE_JSON)
		putchar('[');
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		switch (mode) {
		case MODE_COLUMN:
			if (table_add_row(&t, st) < 0) {
				fprintf(stderr, "tcplab: sql: out of memory\n");
				table_free(&t);
				return 1;
			}
			break;
		case MODE_JSON:
			fputs(rows ? ",\n{" : "{", stdout);
			for (int i = 0; i < ncol; i++) {
				if (i)
					putchar(',');
				json_string(sqlite3_column_name(st, i));
				putchar(':');
				json_value(st, i);
			}
			putchar('}');
			break;
		case MODE_CSV:
			if (rows == 0) {
				for (int i = 0; i < ncol; i++) {
					if (i)
						putchar(',');
					csv_field(sqlite3_column_name(st, i));
				}
				putchar('\n');
			}
			for (int i = 0; i < ncol; i++) {
				if (i)
					putchar(',');
				char *s = cell_text(st, i);
				csv_field(s);
				free(s);
			}
			putchar('\n');
			break;
		}
		rows++;
	}
	if (ncol > 0 && mode == MODE_JSON)
		fputs("]\n", stdout);
	if (mode == MODE_COLUMN && rows > 0)
		print_table(st, &t);
	table_free(&t);
	if (ncol > 0)
		(*printed)++;
	if (rc != SQLITE_DONE) {
		const char *msg = sqlite3_errmsg(db);
		fprintf(stderr, "tcplab: sql: %s%s\n", msg,
			strstr(msg, "not authorized") || strstr(msg, "readonly") ||
					strstr(msg, "read-only")
				? " (the history is read-only here: SELECT and read-only PRAGMAs only)"
				: "");
		return 1;
	}
	return 0;
}

int cmd_sql(int argc, char **argv)
{
	enum { OPT_DB = 256, OPT_JSON, OPT_CSV };
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	char dbbuf[4096];
	enum sql_mode mode = MODE_COLUMN;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DB:
			path = optarg;
			break;
		case OPT_JSON:
			mode = MODE_JSON;
			break;
		case OPT_CSV:
			mode = MODE_CSV;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "tcplab: sql: option %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "tcplab: sql: unknown option %s: see tcplab sql --help\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "tcplab: sql: expected one SQL argument (quote it): see tcplab sql --help\n");
		return 2;
	}
	const char *sql = argv[optind];

	sqlite3 *db;
	char err[1024];
	path = cli_history_db(path, dbbuf, sizeof(dbbuf));
	if (history_open_readonly(path, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcplab: %s\n", err);
		return 1;
	}
	int status = 0, printed = 0;
	const char *tail = sql;
	while (status == 0 && tail && *tail) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
			const char *msg = sqlite3_errmsg(db);
			fprintf(stderr, "tcplab: sql: %s%s\n", msg,
				strstr(msg, "not authorized")
					? " (the history is read-only here: SELECT and read-only PRAGMAs only)"
					: "");
			status = 1;
			break;
		}
		if (!st) /* whitespace or a comment */
			continue;
		status = run_statement(db, st, mode, &printed);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	if (fflush(stdout) != 0)
		status = 1;
	return status;
}
