/* tcplab capture: a pcap file of a link, written by tcplabd (what the
 * stack host receives and sends, as it sees them). tcpdump -r and
 * Wireshark read it; `tcplab diagram` can use it too. */
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab capture [LINK] start FILE [--seconds N]\n"
		"       tcplab capture [LINK] stop\n"
		"Record every frame of a link in a pcap file (tcpdump -r FILE reads it), as the\n"
		"stack host sees it; `start` truncates FILE, `stop` closes it. LINK is a link\n"
		"of the lab (`tcplab capture --list`); it may be left out when there is one.\n"
		"\n"
		"      --seconds N   start, wait N seconds, stop\n"
		"  -l, --list        list the links (--json too)\n"
		"      --json        with --list: an array of objects\n"
		"  -h, --help        show this help\n"
		"\n"
		"tcplabd (root) writes FILE. Captures stop growing at 1 GiB.\n");
}

int cmd_capture(int argc, char **argv)
{
	enum { OPT_SECONDS = 256, OPT_JSON };
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "list", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int seconds = 0;
	bool list = false, json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":lh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SECONDS:
			seconds = atoi(optarg);
			if (seconds < 1 || seconds > 86400) {
				fprintf(stderr, "tcplab capture: --seconds %s: expected 1..86400\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'l':
			list = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "tcplab capture: bad option %s: see tcplab capture --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	char **args = argv + optind;
	int nargs = argc - optind;
	if (!list && (nargs < 1 || nargs > 3)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct cli_conn conn;
	int rc = cli_connect(&conn, "tcplab capture");
	if (rc)
		return rc;
	struct strbuf req = { 0 };
	struct cli_reply rep = { 0 };
	req_begin(&req, "links");
	if ((rc = ctl_call_or_say(&conn, &req, &rep)) != 0)
		goto out;
	if (list) {
		static const char *const keys[] = { "name", "stack", "peer", "netns", "mtu",
						    "capturing" };
		static const char *const heads[] = { "Link", "Stack host", "Kernel host",
						     "Namespace", "MTU", "Capturing" };
		struct listing l;
		listing_init(&l, 6, keys, heads);
		for (size_t i = 0; i < rep.n; i++) {
			const char *cells[6];
			for (int k = 0; k < 6; k++)
				cells[k] = rec_str(&rep.rows[i], keys[k], "");
			listing_add(&l, cells);
		}
		listing_print(&l, stdout, json);
		listing_free(&l);
		goto out;
	}
	/* LINK is optional when the lab has one link. */
	char link[64];
	bool given = nargs >= 2 && strcmp(args[0], "start") != 0 && strcmp(args[0], "stop") != 0;
	if (given) {
		snprintf(link, sizeof(link), "%s", args[0]);
		args++;
		nargs--;
	} else if (rep.n == 1) {
		snprintf(link, sizeof(link), "%s", rec_str(&rep.rows[0], "name", ""));
	} else {
		fprintf(stderr, "tcplab capture: the lab has %zu links: name one (tcplab capture --list)\n",
			rep.n);
		rc = EXIT_USAGE;
		goto out;
	}
	reply_free(&rep);
	bool start = strcmp(args[0], "start") == 0;
	if ((start && nargs != 2) || (!start && (strcmp(args[0], "stop") != 0 || nargs != 1))) {
		usage(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	char path[PATH_MAX];
	if (start) {
		/* The daemon has another working directory: send an absolute path. */
		if (args[1][0] == '/') {
			snprintf(path, sizeof(path), "%s", args[1]);
		} else {
			char cwd[PATH_MAX];
			if (!getcwd(cwd, sizeof(cwd))) {
				perror("tcplab capture: getcwd");
				rc = EXIT_FAIL;
				goto out;
			}
			snprintf(path, sizeof(path), "%.2000s/%.2000s", cwd, args[1]);
		}
	}
	req_begin(&req, "capture");
	req_pos(&req, link);
	req_pos(&req, start ? "start" : "stop");
	if (start)
		req_pos(&req, path);
	if ((rc = ctl_call_or_say(&conn, &req, &rep)) != 0)
		goto out;
	if (start)
		printf("capturing link %s to %s (stop: tcplab capture %s stop)\n", link, path, link);
	else
		printf("link %s: capture %s\n", link,
		       strcmp(rec_str(&rep.fin, "was_capturing", "0"), "1") == 0 ? "stopped"
										: "was not running");
	if (start && seconds) {
		reply_free(&rep);
		fflush(stdout);
		poll(NULL, 0, seconds * 1000);
		req_begin(&req, "capture");
		req_pos(&req, link);
		req_pos(&req, "stop");
		if ((rc = ctl_call_or_say(&conn, &req, &rep)) == 0)
			printf("link %s: capture stopped after %d s: tcpdump -nr %s\n", link, seconds, path);
	}
out:
	reply_free(&rep);
	cli_close(&conn);
	return rc;
}
