/* tcplab watch: every state transition and retransmission of the stack
 * hosts, live, from the FUSE view's `events` stream (docs/fsview.md),
 * coloured by state on a terminal, optionally filtered, or as JSON lines.
 * Reading the view needs no privileges. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "tcp_state.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab watch [OPTION]...\n"
		"Print every TCP state transition (and SYN-ACK or timer retransmission) of the\n"
		"stack hosts as it happens, coloured by state on a terminal:\n"
		"  2500.686163 stack conn 7 198.18.0.1:80 198.18.0.2:38692 SYN_RECV -> ESTABLISHED (ACK)\n"
		"Stop with Ctrl-C. Reads /run/tcplab/events (the daemon's --mount).\n"
		"\n"
		"  -H, --host HOST    only this stack host\n"
		"  -s, --state STATE  only transitions into STATE (repeatable)\n"
		"  -p, --port PORT    only connections with local or remote port PORT\n"
		"  -c, --count N      exit after N matching lines\n"
		"  -t, --timeout S    exit after S seconds (status 0)\n"
		"      --json         one JSON object per line\n"
		"      --color WHEN   auto (colours on a terminal), always, never\n"
		"  -h, --help         show this help\n");
}

/* One parsed `events` line. */
struct ev_line {
	char time[32], host[64], local[32], remote[32];
	char conn[24];
	char from[24], to[24], cause[48];
	char what[64]; /* "state", "synack-retransmit", "retransmit" */
	unsigned count;
	bool cookie;
};

static bool parse_line(const char *line, struct ev_line *e)
{
	memset(e, 0, sizeof(*e));
	int off = 0;
	if (sscanf(line, "%31s %63s conn %23s %31s %31s %n", e->time, e->host, e->conn, e->local,
		   e->remote, &off) < 5 || !off)
		return false;
	const char *rest = line + off;
	size_t len = strlen(rest);
	while (len && (rest[len - 1] == '\n' || rest[len - 1] == ' '))
		len--;
	if (len >= 7 && strncmp(rest + len - 7, " cookie", 7) == 0) {
		e->cookie = true;
		len -= 7;
	}
	char body[160];
	snprintf(body, sizeof(body), "%.*s", (int)len, rest);
	char *arrow = strstr(body, " -> ");
	if (arrow) {
		snprintf(e->what, sizeof(e->what), "state");
		*arrow = '\0';
		cpy(e->from, sizeof(e->from), body);
		char *to = arrow + 4, *paren = strchr(to, '(');
		if (paren) {
			char *close = strrchr(paren, ')');
			if (close)
				*close = '\0';
			cpy(e->cause, sizeof(e->cause), paren + 1);
			while (paren > to && paren[-1] == ' ')
				paren--;
			*paren = '\0';
		}
		cpy(e->to, sizeof(e->to), to);
	} else {
		char *hash = strchr(body, '#');
		e->count = hash ? (unsigned)atoi(hash + 1) : 0;
		char *sp = strchr(body, ' ');
		if (sp)
			*sp = '\0';
		cpy(e->what, sizeof(e->what), body);
		if (sp && (hash = strchr(sp + 1, '('))) {
			char *close = strrchr(hash, ')');
			if (close)
				*close = '\0';
			cpy(e->cause, sizeof(e->cause), hash + 1);
		}
	}
	return true;
}

static void print_json(const struct ev_line *e)
{
	printf("{\"time\": %s, \"host\": ", e->time);
	json_str(stdout, e->host);
	printf(", \"conn\": %s, \"local\": ", e->conn);
	json_str(stdout, e->local);
	printf(", \"remote\": ");
	json_str(stdout, e->remote);
	printf(", \"event\": ");
	json_str(stdout, e->what);
	if (e->from[0]) {
		printf(", \"from\": ");
		json_str(stdout, e->from);
		printf(", \"to\": ");
		json_str(stdout, e->to);
	} else {
		printf(", \"count\": %u", e->count);
	}
	printf(", \"cause\": ");
	json_str(stdout, e->cause);
	printf(", \"cookie\": %s}\n", e->cookie ? "true" : "false");
}

static void print_text(const char *line, const struct ev_line *e, bool color)
{
	if (!color || !e->from[0]) {
		fputs(line, stdout);
		return;
	}
	printf("%s %s conn %s %s %s %s%s%s -> %s\033[1m%s%s", e->time, e->host, e->conn, e->local,
	       e->remote, state_color(e->from), e->from, ANSI_RESET, state_color(e->to), e->to,
	       ANSI_RESET);
	if (e->cause[0])
		printf(" (%s)", e->cause);
	printf("%s\n", e->cookie ? " cookie" : "");
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int cmd_watch(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_COLOR };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "state", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = NULL;
	unsigned states = 0;
	int port = 0;
	long count = 0, timeout_s = 0;
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":H:s:p:c:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			host = optarg;
			break;
		case 's': {
			int st = parse_state(optarg);
			if (!st) {
				fprintf(stderr, "tcplab watch: unknown state '%s'\n", optarg);
				return EXIT_USAGE;
			}
			states |= 1u << st;
			break;
		}
		case 'p':
			if (!parse_port(optarg, &port)) {
				fprintf(stderr, "tcplab watch: --port %s: expected 1..65535\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1) {
				fprintf(stderr, "tcplab watch: %s %s: expected a positive number\n",
					argv[optind - 1], optarg);
				return EXIT_USAGE;
			}
			if (c == 'c')
				count = v;
			else
				timeout_s = v;
			break;
		}
		case OPT_JSON:
			json = true;
			break;
		case OPT_COLOR:
			if (cli_set_color("tcplab watch", optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "tcplab watch: option %s needs a value\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tcplab watch: unknown option %s: see tcplab watch --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcplab watch: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	struct cli_daemon d;
	int rc = cli_find_daemon(&d, "tcplab watch");
	if (rc)
		return rc;
	if (!d.mount[0]) {
		/* Only --socket was given: ask the daemon where its view is. */
		struct cli_conn conn;
		if ((rc = cli_connect(&conn, "tcplab watch")))
			return rc;
		d = conn.d;
		cli_close(&conn);
	}
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%.4000s/events", d.mount);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "tcplab watch: cannot open %s: %s (is the FUSE view mounted? see tcplab status)\n",
			path, strerror(errno));
		return EXIT_FAIL;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "# watching %s (Ctrl-C to stop)\n", path);
	fflush(stderr);
	bool color = !json && cli_use_color(stdout);
	long long deadline = timeout_s ? now_ms() + timeout_s * 1000 : 0;
	char buf[65536];
	size_t have = 0;
	long shown = 0;
	int status = EXIT_OK;
	while (!stop && (!count || shown < count)) {
		int wait_ms = -1;
		if (deadline) {
			long long left = deadline - now_ms();
			if (left <= 0)
				break;
			wait_ms = (int)left;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, wait_ms);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pr == 0)
			continue;
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fprintf(stderr, "tcplab watch: reading %s: %s\n", path, strerror(errno));
			status = EXIT_FAIL;
			break;
		}
		if (n == 0) { /* the daemon stopped: the stream ended */
			fprintf(stderr, "# the events stream ended (tcplabd stopped)\n");
			break;
		}
		have += (size_t)n;
		buf[have] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n')) && (!count || shown < count)) {
			*nl = '\0';
			char text[1024];
			cpy(text, sizeof(text) - 1, line);
			strcat(text, "\n");
			line = nl + 1;
			struct ev_line e;
			if (text[0] == '#' || !parse_line(text, &e)) {
				if (!json)
					fputs(text, stdout);
				continue;
			}
			if (host && strcmp(e.host, host) != 0)
				continue;
			if (states && !(e.to[0] && (states & (1u << parse_state(e.to)))))
				continue;
			if (port) {
				int lp = atoi(strrchr(e.local, ':') ? strrchr(e.local, ':') + 1 : "0");
				int rp = atoi(strrchr(e.remote, ':') ? strrchr(e.remote, ':') + 1 : "0");
				if (lp != port && rp != port)
					continue;
			}
			if (json)
				print_json(&e);
			else
				print_text(text, &e, color);
			shown++;
		}
		fflush(stdout);
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* a line longer than the buffer: drop it */
	}
	close(fd);
	return status;
}
