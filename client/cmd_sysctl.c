/* tcplab get / set: a stack host's tunables, like sysctl(8), through the
 * control socket. The daemon validates a write exactly as a write to the
 * FUSE file hosts/<host>/sys/net/... does (Linux's /proc/sys rules), logs
 * it and records it in the history with via = client. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "commands.h"

static void usage_get(FILE *out)
{
	fprintf(out,
		"Usage: tcplab get [OPTION]... [NAME]...\n"
		"Print a stack host's tunables like `sysctl NAME` (all of them without NAME).\n"
		"NAME is the sysctl name (net.ipv4.tcp_syncookies, net.core.somaxconn, the\n"
		"lab-only tcplab.msl_ms) or just its last part (tcp_syncookies).\n"
		"\n"
		"  -H, --host HOST   the stack host (default: the first one)\n"
		"  -n, --values      print the values only (sysctl -n)\n"
		"  -d, --describe    add each tunable's one-line description\n"
		"      --json        an array of objects (host, name, value, mode, help)\n"
		"  -h, --help        show this help\n"
		"\n"
		"Also readable as files: cat /run/tcplab/hosts/stack/sys/net/ipv4/tcp_syncookies\n");
}

static void usage_set(FILE *out)
{
	fprintf(out,
		"Usage: tcplab set [OPTION]... NAME VALUE...\n"
		"       tcplab set [OPTION]... NAME=VALUE\n"
		"Change a stack host's tunable like `sysctl -w`, with Linux's rules: a value\n"
		"Linux would refuse (out of range, not a number) is refused (exit 1) and the\n"
		"old value kept. Vectors take several values: set tcp_rmem 4096 131072 6291456.\n"
		"Changes are logged by tcplabd and recorded in the history (via client).\n"
		"\n"
		"  -H, --host HOST   the stack host (default: the first one)\n"
		"  -q, --quiet       print nothing on success\n"
		"      --json        print {host, name, old, new}\n"
		"  -h, --help        show this help\n"
		"\n"
		"Needs root (the control socket is root's). Same as:\n"
		"  echo 0 | sudo tee /run/tcplab/hosts/stack/sys/net/ipv4/tcp_syncookies\n");
}

/* Vectors ("4096\t131072\t6291456") print with their tabs, as sysctl. */
int cmd_get(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "values", no_argument, NULL, 'n' },
		{ "describe", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = NULL;
	bool values = false, describe = false, json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":H:ndah", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			host = optarg;
			break;
		case 'n':
			values = true;
			break;
		case 'd':
			describe = true;
			break;
		case 'a':
			break; /* sysctl -a: what no NAME does anyway */
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			usage_get(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "tcplab get: option %s needs a value\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tcplab get: unknown option %s: see tcplab get --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	struct cli_conn conn;
	int rc = cli_connect(&conn, "tcplab get");
	if (rc)
		return rc;
	static const char *const keys[] = { "host", "name", "value", "mode", "help" };
	struct listing l;
	listing_init(&l, 5, keys, keys);
	int status = EXIT_OK;
	int first = optind, last = optind < argc ? argc : optind + 1;
	for (int i = first; i < last; i++) {
		struct strbuf req = { 0 };
		req_begin(&req, "get");
		if (i < argc)
			req_pos(&req, argv[i]);
		if (host)
			ctl_put(&req, "host", host);
		struct cli_reply rep;
		if (ctl_call_or_say(&conn, &req, &rep) != 0) {
			int err = rep.err;
			status = EXIT_FAIL;
			reply_free(&rep);
			if (err == -EIO)
				break;
			continue;
		}
		for (size_t k = 0; k < rep.n; k++) {
			const struct cli_rec *r = &rep.rows[k];
			const char *cells[5] = { rec_str(r, "host", ""), rec_str(r, "name", ""),
						 rec_str(r, "value", ""), rec_str(r, "mode", ""),
						 rec_str(r, "help", "") };
			listing_add(&l, cells);
		}
		reply_free(&rep);
	}
	if (json) {
		listing_print(&l, stdout, true);
	} else {
		for (size_t r = 0; r < l.nrows; r++) {
			char **cell = &l.cells[r * 5];
			if (values)
				printf("%s\n", cell[2]);
			else
				printf("%s = %s\n", cell[1], cell[2]);
			if (describe && *cell[4])
				printf("    # %s%s\n", cell[4], strcmp(cell[3], "0444") == 0 ? " (read-only)" : "");
		}
	}
	listing_free(&l);
	cli_close(&conn);
	return status;
}

int cmd_set(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = NULL;
	bool quiet = false, json = false;
	int c;
	opterr = 0;
	/* "+": a negative VALUE (tcp_max_syn_backlog -1) is not an option. */
	while ((c = getopt_long(argc, argv, "+:H:qwh", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			host = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'w':
			break; /* sysctl -w habit */
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			usage_set(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "tcplab set: option %s needs a value\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tcplab set: unknown option %s: see tcplab set --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	char name[256];
	const char *first_value = NULL;
	int nvalues = argc - optind - 1;
	if (optind < argc && nvalues == 0 && strchr(argv[optind], '=')) {
		/* sysctl's NAME=VALUE */
		const char *eq = strchr(argv[optind], '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq - argv[optind]), argv[optind]);
		first_value = eq + 1;
	} else if (optind < argc && nvalues >= 1) {
		snprintf(name, sizeof(name), "%s", argv[optind]);
	} else {
		fprintf(stderr, "tcplab set: expected NAME VALUE (e.g. tcplab set tcp_syncookies 0): see tcplab set --help\n");
		return EXIT_USAGE;
	}
	struct cli_conn conn;
	int rc = cli_connect(&conn, "tcplab set");
	if (rc)
		return rc;
	struct strbuf req = { 0 };
	req_begin(&req, "set");
	req_pos(&req, name);
	if (first_value)
		req_pos(&req, first_value);
	for (int i = optind + 1; i < argc; i++)
		req_pos(&req, argv[i]);
	if (host)
		ctl_put(&req, "host", host);
	struct cli_reply rep;
	rc = ctl_call_or_say(&conn, &req, &rep);
	if (rc == 0 && !quiet) {
		if (json) {
			printf("{\"host\": ");
			json_str(stdout, rec_str(&rep.fin, "host", ""));
			printf(", \"name\": ");
			json_str(stdout, rec_str(&rep.fin, "name", ""));
			printf(", \"old\": ");
			json_auto(stdout, rec_str(&rep.fin, "old", ""));
			printf(", \"new\": ");
			json_auto(stdout, rec_str(&rep.fin, "new", ""));
			printf("}\n");
		} else {
			printf("%s = %s", rec_str(&rep.fin, "name", name), rec_str(&rep.fin, "new", ""));
			if (strcmp(rec_str(&rep.fin, "old", ""), rec_str(&rep.fin, "new", "")) != 0)
				printf("  (was %s)", rec_str(&rep.fin, "old", ""));
			printf("\n");
		}
	}
	reply_free(&rep);
	cli_close(&conn);
	return rc;
}
