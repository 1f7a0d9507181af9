/* tcplab ss: the stack hosts' sockets, like `ss -tan` (and `ss -tani` with
 * -i), from the control socket's `ss` verb. Filters by state (ss's
 * `state NAME` syntax or --state) and port are applied by the daemon. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "tcp_state.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab ss [OPTION]... [state STATE]...\n"
		"The stack hosts' TCP sockets, like `ss -tan`: listeners, connections, pending\n"
		"requests (SYN-RECV) and TIME-WAIT entries, with each one's connection id (the\n"
		"Conn column: conns/<id>/ in the FUSE view, `tcplab close <id>`, ...).\n"
		"\n"
		"  -H, --host HOST     one stack host (default: all of them)\n"
		"  -s, --state STATE   only this state; repeatable; ss spelling (time-wait,\n"
		"                      estab, syn-recv) or Linux's (TIME_WAIT, ESTABLISHED)\n"
		"  -l, --listening     only listeners\n"
		"  -p, --port PORT     local or remote port PORT\n"
		"      --sport PORT    local port;  --dport PORT   remote port\n"
		"  -i, --info          TCP internals: rtt/rttvar, rto, mss, cwnd, ssthresh,\n"
		"                      retransmissions, bytes (like ss -i)\n"
		"      --json          an array of objects\n"
		"      --color WHEN    colour the states: auto (terminal), always, never\n"
		"  -h, --help          show this help\n"
		"\n"
		"Example: tcplab ss state time-wait --port 80\n");
}

static const char *color_col0(unsigned col, const char *cell)
{
	return col == 0 ? state_color(cell) : NULL;
}

/* The -i line under a row, in ss's words (ms with 3 decimals). */
static void info_note(const struct cli_rec *r, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
#define ADD(...)                                                                    \
	do {                                                                        \
		if (n < cap)                                                        \
			n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__);       \
	} while (0)
	const char *v;
	if ((v = rec_get(r, "options")) && *v)
		ADD("%s ", v);
	if ((v = rec_get(r, "congestion_control")))
		ADD("%s ", v);
	if ((v = rec_get(r, "rto_us")))
		ADD("rto:%g ", atof(v) / 1000.0);
	if ((v = rec_get(r, "rtt_us")))
		ADD("rtt:%.3f/%.3f ", atof(v) / 1000.0, atof(rec_str(r, "rttvar_us", "0")) / 1000.0);
	if ((v = rec_get(r, "mss")))
		ADD("mss:%s ", v);
	if ((v = rec_get(r, "cwnd")))
		ADD("cwnd:%s ", v);
	if ((v = rec_get(r, "ssthresh")) && strcmp(v, "infinite") != 0)
		ADD("ssthresh:%s ", v);
	if ((v = rec_get(r, "bytes_sent")))
		ADD("bytes_sent:%s ", v);
	if ((v = rec_get(r, "bytes_received")))
		ADD("bytes_received:%s ", v);
	if ((v = rec_get(r, "segs_out")))
		ADD("segs_out:%s segs_in:%s ", v, rec_str(r, "segs_in", "0"));
	if ((v = rec_get(r, "retransmits")))
		ADD("retrans:%s/%s ", v, rec_str(r, "total_retrans", "0"));
	if ((v = rec_get(r, "min_rtt_us")) && strcmp(v, "0") != 0)
		ADD("minrtt:%.3f ", atof(v) / 1000.0);
	if ((v = rec_get(r, "snd_wnd")))
		ADD("snd_wnd:%s rcv_wnd:%s ", v, rec_str(r, "rcv_wnd", "0"));
	if ((v = rec_get(r, "timer")) && strncmp(v, "off", 3) != 0)
		ADD("timer:(%s) ", v);
#undef ADD
	if (n && n <= cap && buf[n - 1] == ' ')
		buf[n - 1] = '\0';
}

int cmd_ss(int argc, char **argv)
{
	enum { OPT_SPORT = 256, OPT_DPORT, OPT_JSON, OPT_COLOR };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "state", required_argument, NULL, 's' },
		{ "listening", no_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "sport", required_argument, NULL, OPT_SPORT },
		{ "dport", required_argument, NULL, OPT_DPORT },
		{ "info", no_argument, NULL, 'i' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = NULL;
	char states[512] = "";
	int port = 0, sport = 0, dport = 0;
	bool listening = false, info = false, json = false;
	int c;
	opterr = 0;
	/* States may also come as "state NAME" words (ss syntax). */
	for (;;) {
		c = getopt_long(argc, argv, ":H:s:lp:ianth", longopts, NULL);
		if (c == -1) {
			if (optind < argc && strcmp(argv[optind], "state") == 0 && optind + 1 < argc) {
				c = 's';
				optarg = argv[optind + 1];
				optind += 2;
			} else {
				break;
			}
		}
		switch (c) {
		case 'H':
			host = optarg;
			break;
		case 's': {
			int st = parse_state(optarg);
			if (!st) {
				fprintf(stderr,
					"tcplab ss: unknown state '%s': use established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, close-wait, last-ack, listening, closing\n",
					optarg);
				return EXIT_USAGE;
			}
			size_t n = strlen(states);
			snprintf(states + n, sizeof(states) - n, "%s%s", n ? "," : "",
				 tcp_state_name(st));
			break;
		}
		case 'l':
			listening = true;
			break;
		case 'p':
		case OPT_SPORT:
		case OPT_DPORT: {
			int *p = c == 'p' ? &port : c == OPT_SPORT ? &sport : &dport;
			const char *s = optarg[0] == ':' ? optarg + 1 : optarg;
			if (!parse_port(s, p)) {
				fprintf(stderr, "tcplab ss: %s: expected a port 1..65535\n", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'i':
			info = true;
			break;
		case 'a':
		case 'n':
		case 't':
			break; /* ss habits: -tan is what we show anyway */
		case OPT_JSON:
			json = true;
			break;
		case OPT_COLOR:
			if (cli_set_color("tcplab ss", optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "tcplab ss: option %s needs a value\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tcplab ss: unknown option %s: see tcplab ss --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcplab ss: unexpected argument '%s': see tcplab ss --help\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	struct cli_conn conn;
	int rc = cli_connect(&conn, "tcplab ss");
	if (rc)
		return rc;
	struct strbuf req = { 0 };
	req_begin(&req, "ss");
	if (host)
		ctl_put(&req, "host", host);
	if (*states)
		ctl_put(&req, "state", states);
	if (listening)
		ctl_put(&req, "listen", "1");
	if (port)
		ctl_putf(&req, "port", "%d", port);
	if (sport)
		ctl_putf(&req, "sport", "%d", sport);
	if (dport)
		ctl_putf(&req, "dport", "%d", dport);
	if (info)
		ctl_put(&req, "info", "1");
	struct cli_reply rep;
	rc = ctl_call_or_say(&conn, &req, &rep);
	if (rc) {
		reply_free(&rep);
		cli_close(&conn);
		return rc;
	}
	/* A Host column only when the lab has several stack hosts. */
	bool many = false;
	for (size_t i = 1; i < rep.n; i++)
		if (strcmp(rec_str(&rep.rows[i], "host", ""), rec_str(&rep.rows[0], "host", "")))
			many = true;
	static const char *const keys[] = { "state", "recv_q", "send_q", "local", "peer", "conn",
					    "host", "handle" };
	static const char *const heads[] = { "State", "Recv-Q", "Send-Q", "Local Address:Port",
					     "Peer Address:Port", "Conn", "Host", "Handle" };
	static const char *const ikeys[] = { "rtt_us", "rttvar_us", "min_rtt_us", "rto_us",
					     "mss", "cwnd", "ssthresh", "retransmits",
					     "total_retrans", "bytes_sent", "bytes_received",
					     "segs_out", "segs_in", "snd_wnd", "rcv_wnd",
					     "congestion_control", "options", "timer" };
	enum { NBASE = 8, NINFO = sizeof(ikeys) / sizeof(ikeys[0]) };
	const char *allkeys[NBASE + NINFO], *allheads[NBASE + NINFO];
	for (unsigned i = 0; i < NBASE; i++) {
		allkeys[i] = keys[i];
		allheads[i] = heads[i];
	}
	for (unsigned i = 0; i < NINFO; i++)
		allkeys[NBASE + i] = allheads[NBASE + i] = ikeys[i];
	unsigned ncols = json ? (info ? NBASE + NINFO : NBASE) : many ? 7 : 6;
	struct listing l;
	listing_init(&l, ncols, allkeys, allheads);
	l.color = color_col0;
	for (size_t i = 0; i < rep.n; i++) {
		const struct cli_rec *r = &rep.rows[i];
		const char *st = rec_str(r, "state", "?");
		const char *cells[NBASE + NINFO];
		cells[0] = json ? st : tcp_state_ss_name(tcp_state_from_name(st));
		cells[1] = rec_str(r, "recvq", "0");
		cells[2] = rec_str(r, "sendq", "0");
		cells[3] = rec_str(r, "local", "");
		cells[4] = rec_str(r, "peer", "");
		cells[5] = rec_str(r, "conn", "");
		cells[6] = rec_str(r, "host", "");
		cells[7] = rec_str(r, "handle", "");
		for (unsigned k = 0; k < NINFO; k++)
			cells[NBASE + k] = rec_str(r, ikeys[k], "");
		listing_add(&l, cells);
		if (info && !json) {
			char note[512];
			info_note(r, note, sizeof(note));
			if (*note)
				listing_note(&l, note);
		}
	}
	listing_print(&l, stdout, json);
	listing_free(&l);
	reply_free(&rep);
	cli_close(&conn);
	return EXIT_OK;
}
