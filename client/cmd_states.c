/* tcplab states: the TCP state diagram (RFC 9293 Figure 5, with Linux's
 * state names) with each transition's count from the history: a table on
 * the terminal, SVG (-o F.svg) or Graphviz dot (--dot). Transitions the
 * RFC allows but the history never saw are drawn faint; ones it saw that
 * the table does not allow would be drawn red (none should exist). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "client.h"
#include "commands.h"
#include "history_schema.h"
#include "tcp_state.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab states [OPTION]...\n"
		"Count every state transition in the history and draw the TCP state diagram\n"
		"with those counts: a table here, SVG with -o FILE.svg, Graphviz with --dot.\n"
		"\n"
		"  -o, --output FILE  write SVG (FILE.svg) or dot (FILE.dot)\n"
		"      --dot          write dot to standard output (dot -Tpng renders it)\n"
		"      --svg          write SVG to standard output\n"
		"      --run N        only run N (default: every run in the database)\n"
		"  -H, --host HOST    only this stack host\n"
		"      --db FILE      history database (default: the running daemon's)\n"
		"      --json         the counts as JSON\n"
		"  -h, --help         show this help\n");
}

#define NSTATES (TCP_STATE_MAX + 1)

/* counts[from][to]; a second CLOSED node at the bottom takes the edges
 * into CLOSE from the synchronized states, as RFC 9293's figure does. */
struct counts {
	long long n[NSTATES][NSTATES];
	long long total;
	char causes[NSTATES][NSTATES][48]; /* the most frequent cause */
};

static int load(sqlite3 *db, long long run, const char *host, struct counts *c)
{
	memset(c, 0, sizeof(*c));
	sqlite3_stmt *st;
	const char *sql =
		"SELECT t.from_state, t.to_state, t.cause, count(*) AS n FROM transitions t"
		" JOIN connections c ON c.id = t.conn"
		" LEFT JOIN hosts h ON h.run = c.run AND h.id = c.host"
		" WHERE t.kind = 'state' AND (?1 = 0 OR c.run = ?1) AND (?2 IS NULL OR h.name = ?2)"
		" GROUP BY 1, 2, 3 ORDER BY n DESC";
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, run);
	if (host)
		sqlite3_bind_text(st, 2, host, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int from = tcp_state_from_name((const char *)sqlite3_column_text(st, 0));
		int to = tcp_state_from_name((const char *)sqlite3_column_text(st, 1));
		if (!from || !to)
			continue;
		long long n = sqlite3_column_int64(st, 3);
		if (!c->n[from][to]) { /* ordered by n: the first is the most frequent */
			const unsigned char *cause = sqlite3_column_text(st, 2);
			cpy(c->causes[from][to], sizeof(c->causes[from][to]),
			    cause ? (const char *)cause : "");
		}
		c->n[from][to] += n;
		c->total += n;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Node positions of the SVG (RFC 9293 Figure 5's layout). Index
 * NSTATES is the second CLOSED at the bottom. */
static const struct {
	int x, y;
} pos[NSTATES + 1] = {
	[TCP_CLOSE] = { 480, 90 },	  [TCP_LISTEN] = { 480, 200 },
	[TCP_SYN_RECV] = { 200, 320 },	  [TCP_SYN_SENT] = { 760, 320 },
	[TCP_ESTABLISHED] = { 480, 440 }, [TCP_FIN_WAIT1] = { 200, 560 },
	[TCP_CLOSE_WAIT] = { 760, 560 },  [TCP_FIN_WAIT2] = { 200, 690 },
	[TCP_CLOSING] = { 480, 630 },	  [TCP_LAST_ACK] = { 760, 690 },
	[TCP_TIME_WAIT] = { 400, 800 },	  [NSTATES] = { 700, 840 },
};

/* Which CLOSED node an edge into CLOSE uses: the top one from CLOSE,
 * LISTEN and SYN_SENT (no connection yet), the bottom one otherwise. */
static int node_of(int from, int to)
{
	if (to == TCP_CLOSE && from != TCP_LISTEN && from != TCP_SYN_SENT && from != TCP_CLOSE)
		return NSTATES;
	return to;
}

static void svg_edge(FILE *out, int from, int to, long long n, const char *cause, bool legal,
		     long long max)
{
	int a = from, b = node_of(from, to);
	double x1 = pos[a].x, y1 = pos[a].y, x2 = pos[b].x, y2 = pos[b].y;
	if (from == to) { /* a loop (LISTEN -> LISTEN, TIME_WAIT -> TIME_WAIT) */
		fprintf(out,
			"<g class=\"edge\" data-from=\"%s\" data-to=\"%s\" data-count=\"%lld\"><path d=\"M%.0f,%.0f c 60,-50 110,10 60,22\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" marker-end=\"url(#a)\"/>"
			"<text x=\"%.0f\" y=\"%.0f\">%lld</text></g>\n",
			tcp_state_name(from), tcp_state_name(to), n, x1 + 60, y1 - 8, n ? "#235" : "#ccc",
			n ? 1.2 + 3.0 * log1p((double)n) / log1p((double)max) : 1.0, x1 + 130, y1 - 30, n);
		return;
	}
	/* Shorten to the boxes' edges, bend to the right of the direction so
	 * that A->B and B->A do not overlap. */
	double dx = x2 - x1, dy = y2 - y1, len = sqrt(dx * dx + dy * dy);
	double ux = dx / len, uy = dy / len;
	double sx = x1 + ux * 40, sy = y1 + uy * 22, ex = x2 - ux * 46, ey = y2 - uy * 24;
	double mx = (sx + ex) / 2 - uy * 28, my = (sy + ey) / 2 + ux * 28;
	const char *stroke = !legal ? "#c00" : n ? "#235" : "#ccc";
	double w = n ? 1.2 + 3.0 * log1p((double)n) / log1p((double)(max ? max : 1)) : 1.0;
	fprintf(out,
		"<g class=\"edge\" data-from=\"%s\" data-to=\"%s\" data-count=\"%lld\"><path d=\"M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.2f\"%s marker-end=\"url(#%s)\"/>",
		tcp_state_name(from), tcp_state_name(to), n, sx, sy, mx, my, ex, ey, stroke, w,
		n ? "" : " stroke-dasharray=\"4 4\"", n ? "a" : "g");
	double lx = (sx + 2 * mx + ex) / 4, ly = (sy + 2 * my + ey) / 4;
	if (n)
		fprintf(out,
			"<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" font-weight=\"bold\" fill=\"#235\">%lld</text>"
			"<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#777\" font-size=\"10\">%s</text>",
			lx, ly - 2, n, lx, ly + 10, cause);
	fputs("</g>\n", out);
}

static void render_svg(const struct counts *c, FILE *out, const char *title)
{
	long long max = 1;
	for (int f = 1; f < NSTATES; f++)
		for (int t = 1; t < NSTATES; t++)
			if (c->n[f][t] > max)
				max = c->n[f][t];
	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"980\" height=\"920\" viewBox=\"0 0 980 920\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">\n"
		"<defs><marker id=\"a\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"11\" markerHeight=\"11\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#235\"/></marker>"
		"<marker id=\"g\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#ccc\"/></marker></defs>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"20\" y=\"28\" font-size=\"15\" font-weight=\"bold\">");
	fputs(title, out);
	fprintf(out, "</text>\n<text x=\"20\" y=\"46\" fill=\"#666\">%lld transitions; edge labels: count and most frequent cause; faint: allowed, never seen</text>\n",
		c->total);
	/* Edges first (under the nodes): allowed ones, then any others seen. */
	for (int f = 1; f < NSTATES; f++)
		for (int t = 1; t < NSTATES; t++) {
			bool legal = tcp_state_transition_ok(f, t);
			if (legal || c->n[f][t])
				svg_edge(out, f, t, c->n[f][t], c->causes[f][t], legal, max);
		}
	for (int s = 1; s <= NSTATES; s++) {
		const char *name = s == NSTATES ? "CLOSE" : tcp_state_name(s);
		long long in = 0;
		for (int f = 1; f < NSTATES; f++)
			if (s < NSTATES ? node_of(f, s) == s : node_of(f, TCP_CLOSE) == NSTATES)
				in += c->n[f][s < NSTATES ? s : TCP_CLOSE];
		fprintf(out,
			"<g class=\"node\" data-state=\"%s\"><rect x=\"%d\" y=\"%d\" width=\"92\" height=\"44\" rx=\"10\" fill=\"#eef3fb\" stroke=\"#235\"/>"
			"<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">%s</text>"
			"<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#666\" font-size=\"10\">in: %lld</text></g>\n",
			name, pos[s].x - 46, pos[s].y - 22, pos[s].x, pos[s].y - 2, name, pos[s].x,
			pos[s].y + 13, in);
	}
	fputs("</svg>\n", out);
}

static void render_dot(const struct counts *c, FILE *out, const char *title)
{
	fprintf(out, "digraph tcp_states {\n  label=\"%s\";\n  labelloc=t;\n"
		     "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", fontname=\"DejaVu Sans\"];\n"
		     "  edge [fontname=\"DejaVu Sans\", fontsize=10];\n",
		title);
	for (int s = 1; s < NSTATES; s++)
		fprintf(out, "  %s;\n", tcp_state_name(s));
	for (int f = 1; f < NSTATES; f++)
		for (int t = 1; t < NSTATES; t++) {
			bool legal = tcp_state_transition_ok(f, t);
			if (c->n[f][t])
				fprintf(out, "  %s -> %s [label=\"%lld\\n%s\", penwidth=%.1f%s];\n",
					tcp_state_name(f), tcp_state_name(t), c->n[f][t], c->causes[f][t],
					1.0 + log1p((double)c->n[f][t]), legal ? "" : ", color=red");
			else if (legal)
				fprintf(out, "  %s -> %s [style=dashed, color=gray];\n", tcp_state_name(f),
					tcp_state_name(t));
		}
	fputs("}\n", out);
}

int cmd_states(int argc, char **argv)
{
	enum { OPT_DOT = 256, OPT_SVG, OPT_RUN, OPT_DB, OPT_JSON };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "dot", no_argument, NULL, OPT_DOT },
		{ "svg", no_argument, NULL, OPT_SVG },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "host", required_argument, NULL, 'H' },
		{ "db", required_argument, NULL, OPT_DB },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL, *host = NULL, *dbarg = NULL;
	bool dot = false, svg = false, json = false;
	long long run = 0;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:H:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case OPT_DOT:
			dot = true;
			break;
		case OPT_SVG:
			svg = true;
			break;
		case OPT_RUN: {
			char *end;
			run = strtoll(optarg, &end, 10);
			if (*end || run < 1) {
				fprintf(stderr, "tcplab states: --run %s: expected a run id\n", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'H':
			host = optarg;
			break;
		case OPT_DB:
			dbarg = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "tcplab states: option %s needs a value\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tcplab states: unknown option %s: see tcplab states --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcplab states: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	char dbbuf[4096];
	const char *dbpath = cli_history_db(dbarg, dbbuf, sizeof(dbbuf));
	sqlite3 *db;
	char err[1024];
	if (history_open_readonly(dbpath, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcplab states: %s\n", err);
		return EXIT_FAIL;
	}
	struct counts *counts = malloc(sizeof(*counts));
	if (!counts) {
		sqlite3_close(db);
		return EXIT_FAIL;
	}
	int rc = load(db, run, host, counts);
	sqlite3_close(db);
	if (rc < 0) {
		fprintf(stderr, "tcplab states: cannot read %s\n", dbpath);
		free(counts);
		return EXIT_FAIL;
	}
	char title[256];
	snprintf(title, sizeof(title), "TCP state transitions%s%s%s", host ? " of " : "",
		 host ? host : "", run ? "" : " (all runs)");
	if (run)
		snprintf(title + strlen(title), sizeof(title) - strlen(title), " (run %lld)", run);
	int status = EXIT_OK;
	if (output) {
		size_t n = strlen(output);
		bool as_dot = dot || (n > 4 && strcmp(output + n - 4, ".dot") == 0);
		FILE *f = fopen(output, "w");
		if (!f) {
			fprintf(stderr, "tcplab states: cannot write %s: %m\n", output);
			free(counts);
			return EXIT_FAIL;
		}
		if (as_dot)
			render_dot(counts, f, title);
		else
			render_svg(counts, f, title);
		if (fclose(f) != 0) {
			fprintf(stderr, "tcplab states: writing %s failed: %m\n", output);
			status = EXIT_FAIL;
		} else {
			printf("wrote %s (%lld transitions)\n", output, counts->total);
		}
	} else if (dot) {
		render_dot(counts, stdout, title);
	} else if (svg) {
		render_svg(counts, stdout, title);
	} else {
		static const char *const keys[] = { "from", "to", "count", "cause" };
		static const char *const heads[] = { "From", "To", "Count", "Most frequent cause" };
		struct listing l;
		listing_init(&l, 4, keys, heads);
		for (int f = 1; f < NSTATES; f++)
			for (int t = 1; t < NSTATES; t++) {
				if (!counts->n[f][t])
					continue;
				char num[24];
				snprintf(num, sizeof(num), "%lld", counts->n[f][t]);
				const char *cells[4] = { tcp_state_name(f), tcp_state_name(t), num,
							 counts->causes[f][t] };
				listing_add(&l, cells);
			}
		listing_print(&l, stdout, json);
		listing_free(&l);
	}
	free(counts);
	return status;
}
