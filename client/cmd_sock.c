/* tcplab listen / connect / accept / send / recv / shutdown / close /
 * abort / handles: a person drives one side of a connection on a stack
 * host step by step, like an application calling the socket API, and sees
 * every state it goes through.
 *
 * Each command is one short control session. Handles made by listen,
 * connect and accept are handed to the daemon (`keep`), so they outlive
 * the command; close or abort releases them (`handles` lists them). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "tcp_state.h"

static void usage(FILE *out, const char *cmd)
{
	if (strcmp(cmd, "listen") == 0)
		fprintf(out,
			"Usage: tcplab listen [-H HOST] [-b BACKLOG] PORT\n"
			"Open a listener on a stack host (LISTEN), like listen(2). Connections that\n"
			"complete the handshake wait in its accept queue (ESTABLISHED, Recv-Q of the\n"
			"LISTEN row) until `tcplab accept CONN`. Prints the listener's conn id.\n"
			"\n"
			"  -H, --host HOST       the stack host (default: the first one)\n"
			"  -b, --backlog N       accept queue length (default 128, capped by\n"
			"                        net.core.somaxconn as in Linux)\n");
	else if (strcmp(cmd, "connect") == 0)
		fprintf(out,
			"Usage: tcplab connect [-H HOST] [--lport P] [--wait STATE] ADDR PORT\n"
			"An active open from a stack host to ADDR:PORT (a kernel host of the lab):\n"
			"the stack sends a SYN and the connection is in SYN_SENT until the SYN-ACK.\n"
			"Prints the conn id. Try a listener in the peer namespace first:\n"
			"  sudo ip netns exec tcplab-peer nc -l 5000\n"
			"\n"
			"  -H, --host HOST       the stack host (default: the first one)\n"
			"      --lport PORT      local port (default: ephemeral)\n"
			"  -w, --wait STATE      wait until the connection is in STATE (e.g.\n"
			"                        ESTABLISHED), at most --timeout seconds\n"
			"  -t, --timeout S       default 10\n");
	else if (strcmp(cmd, "accept") == 0)
		fprintf(out,
			"Usage: tcplab accept [-w] [-t S] LISTENER\n"
			"Take the oldest established connection from the accept queue of LISTENER\n"
			"(a conn id from `tcplab listen`), like accept(2). Prints its conn id.\n"
			"\n"
			"  -w, --wait            wait for a connection (at most --timeout seconds)\n"
			"  -t, --timeout S       default 10\n");
	else if (strcmp(cmd, "send") == 0)
		fprintf(out,
			"Usage: tcplab send [-n] CONN TEXT...\n"
			"       tcplab send CONN -        (the bytes of standard input)\n"
			"Queue data on a connection (ESTABLISHED or CLOSE_WAIT), like send(2): the\n"
			"words of TEXT joined by blanks, then a newline unless -n.\n");
	else if (strcmp(cmd, "recv") == 0)
		fprintf(out,
			"Usage: tcplab recv [-m MAX] [-w] [-t S] CONN\n"
			"Read what arrived on a connection (its Recv-Q), like recv(2), and write it\n"
			"to standard output. Says \"(end of stream)\" on stderr once the peer's FIN\n"
			"was read. Unread data makes close send a RST, as in Linux.\n"
			"\n"
			"  -m, --max N           at most N bytes (default 65536)\n"
			"  -w, --wait            wait until something arrives (at most --timeout)\n"
			"  -t, --timeout S       default 10\n");
	else if (strcmp(cmd, "shutdown") == 0)
		fprintf(out,
			"Usage: tcplab shutdown CONN\n"
			"Half-close, like shutdown(SHUT_WR): send our FIN after the queued data; we can\n"
			"still receive. ESTABLISHED -> FIN_WAIT1, CLOSE_WAIT -> LAST_ACK.\n");
	else if (strcmp(cmd, "close") == 0 || strcmp(cmd, "abort") == 0)
		fprintf(out,
			"Usage: tcplab %s [-w STATE] [-t S] CONN\n"
			"%s\n"
			"The handle goes; the connection may live on (FIN_WAIT1, FIN_WAIT2, TIME_WAIT,\n"
			"LAST_ACK) and `tcplab ss` keeps showing it.\n"
			"\n"
			"  -w, --wait STATE      wait until it reaches STATE (CLOSE: gone)\n"
			"  -t, --timeout S       default 10\n",
			cmd,
			strcmp(cmd, "close") == 0
				? "Close a connection like close(2): FIN (ESTABLISHED -> FIN_WAIT1,\nCLOSE_WAIT -> LAST_ACK), or RST if received data was left unread."
				: "Reset a connection (close with SO_LINGER 0): RST, state CLOSE at once.");
	else
		fprintf(out,
			"Usage: tcplab handles [--json]\n"
			"The connections made through the control socket (listen, connect, accept) and\n"
			"not yet closed, with their state and owner (kept: by the daemon).\n");
	fprintf(out,
		"\nCONN is a connection id (the Conn column of `tcplab ss`); add -H HOST if\n"
		"several stack hosts have it. -h, --help shows this help.\n");
}

int wait_conn_state(struct cli_conn *c, const char *host, const char *id, int state,
		    int timeout_ms, int *last)
{
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		struct strbuf req = { 0 };
		struct cli_reply rep;
		req_begin(&req, "ss");
		if (host)
			ctl_put(&req, "host", host);
		if (ctl_call(c, &req, &rep) < 0) {
			reply_free(&rep);
			return -EIO;
		}
		int now = TCP_CLOSE;
		for (size_t i = 0; i < rep.n; i++)
			if (strcmp(rec_str(&rep.rows[i], "conn", ""), id) == 0)
				now = tcp_state_from_name(rec_str(&rep.rows[i], "state", ""));
		reply_free(&rep);
		if (last)
			*last = now;
		if (now == state)
			return 0;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		poll(NULL, 0, 20);
	}
}

static void print_conn(const struct cli_rec *r)
{
	const char *st = rec_str(r, "state", "?");
	bool color = cli_use_color(stdout);
	printf("conn %s (%s): %s%s%s %s -> %s\n", rec_str(r, "conn", "?"), rec_str(r, "host", "?"),
	       color ? state_color(st) : "", st, color ? ANSI_RESET : "", rec_str(r, "local", "?"),
	       rec_str(r, "peer", "?"));
}

/* The --wait part shared by connect and close. */
static int wait_and_say(struct cli_conn *conn, const char *host, const char *id,
			const char *want, int timeout_s)
{
	int st = parse_state(want), last;
	int rc = wait_conn_state(conn, host, id, st, timeout_s * 1000, &last);
	if (rc == 0) {
		printf("conn %s: now %s\n", id, tcp_state_name(st));
		return EXIT_OK;
	}
	if (rc == -EIO)
		fprintf(stderr, "tcplab: the connection to tcplabd was lost\n");
	else
		fprintf(stderr, "tcplab: conn %s did not reach %s within %d s (it is %s)\n", id,
			tcp_state_name(st), timeout_s, tcp_state_name(last));
	return EXIT_FAIL;
}

/* Reads all of stdin (send CONN -). */
static char *read_stdin(size_t *len)
{
	struct strbuf sb = { 0 };
	char buf[8192];
	ssize_t n;
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		sb_append(&sb, buf, (size_t)n);
	*len = sb.len;
	if (!sb.p)
		return strdup("");
	return sb.p;
}

int cmd_sock(int argc, char **argv)
{
	enum { OPT_LPORT = 256, OPT_JSON };
	struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "backlog", required_argument, NULL, 'b' },
		{ "lport", required_argument, NULL, OPT_LPORT },
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "max", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0];
	const char *host = NULL, *backlog = NULL, *lport = NULL, *wait_state = NULL,
		   *max = NULL;
	bool wait = false, json = false, no_newline = false;
	int timeout_s = 10;
	/* -w takes a STATE for connect/close, nothing for accept/recv. */
	bool w_takes_state = strcmp(cmd, "connect") == 0 || strcmp(cmd, "close") == 0 ||
			     strcmp(cmd, "abort") == 0;
	const char *shortopts = w_takes_state ? "+:H:b:w:t:m:nh" : "+:H:b:wt:m:nh";
	if (w_takes_state)
		longopts[3].has_arg = required_argument;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			host = optarg;
			break;
		case 'b':
			backlog = optarg;
			break;
		case OPT_LPORT:
			lport = optarg;
			break;
		case 'w':
			wait = true;
			if (w_takes_state) {
				wait_state = optarg;
				if (!wait_state || !parse_state(wait_state)) {
					fprintf(stderr, "tcplab %s: --wait needs a state (ESTABLISHED, TIME_WAIT, CLOSE, ...)\n",
						cmd);
					return EXIT_USAGE;
				}
			}
			break;
		case 't':
			timeout_s = atoi(optarg);
			if (timeout_s < 1 || timeout_s > 3600) {
				fprintf(stderr, "tcplab %s: --timeout %s: expected 1..3600 seconds\n", cmd,
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'm':
			max = optarg;
			break;
		case 'n':
			no_newline = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			usage(stdout, cmd);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "tcplab %s: option %s needs a value\n", cmd, argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tcplab %s: unknown option %s: see tcplab %s --help\n", cmd,
				argv[optind - 1], cmd);
			return EXIT_USAGE;
		}
	}
	int nargs = argc - optind;
	char **args = argv + optind;
	char portbuf[8];
	int want = strcmp(cmd, "handles") == 0	 ? 0
		   : strcmp(cmd, "connect") == 0 ? 2
		   : strcmp(cmd, "send") == 0	 ? -2 /* CONN and at least one word */
						 : 1;
	/* connect ADDR:PORT is accepted too. */
	char addrbuf[64];
	if (strcmp(cmd, "connect") == 0 && nargs == 1 && strchr(args[0], ':')) {
		const char *colon = strrchr(args[0], ':');
		snprintf(addrbuf, sizeof(addrbuf), "%.*s", (int)(colon - args[0]), args[0]);
		snprintf(portbuf, sizeof(portbuf), "%.6s", colon + 1);
		static char *split[2];
		split[0] = addrbuf;
		split[1] = portbuf;
		args = split;
		nargs = 2;
	}
	if ((want >= 0 && nargs != want) || (want < 0 && nargs < -want)) {
		fprintf(stderr, "tcplab %s: wrong number of arguments: see tcplab %s --help\n", cmd, cmd);
		return EXIT_USAGE;
	}
	char who[32];
	snprintf(who, sizeof(who), "tcplab %s", cmd);
	struct cli_conn conn;
	int rc = cli_connect(&conn, who);
	if (rc)
		return rc;
	struct strbuf req = { 0 };
	struct cli_reply rep = { 0 };
	int status = EXIT_OK;
	long long deadline = now_ms() + timeout_s * 1000LL;

	if (strcmp(cmd, "handles") == 0) {
		req_begin(&req, "handles");
		if ((status = ctl_call_or_say(&conn, &req, &rep)) == 0) {
			static const char *const keys[] = { "conn", "host", "state", "local", "peer",
							    "owner", "recv_q", "error" };
			static const char *const heads[] = { "Conn", "Host", "State", "Local", "Peer",
							     "Owner", "Recv-Q", "Error" };
			struct listing l;
			listing_init(&l, 8, keys, heads);
			for (size_t i = 0; i < rep.n; i++) {
				const struct cli_rec *r = &rep.rows[i];
				const char *cells[8] = { rec_str(r, "conn", ""), rec_str(r, "host", ""),
							 rec_str(r, "state", ""), rec_str(r, "local", ""),
							 rec_str(r, "peer", ""), rec_str(r, "owner", ""),
							 rec_str(r, "recvq", ""), rec_str(r, "error", "") };
				listing_add(&l, cells);
			}
			listing_print(&l, stdout, json);
			listing_free(&l);
		}
	} else if (strcmp(cmd, "listen") == 0 || strcmp(cmd, "connect") == 0) {
		req_begin(&req, cmd);
		for (int i = 0; i < nargs; i++)
			req_pos(&req, args[i]);
		if (host)
			ctl_put(&req, "host", host);
		if (backlog)
			ctl_put(&req, "backlog", backlog);
		if (lport)
			ctl_put(&req, "lport", lport);
		ctl_put(&req, "keep", "1");
		if ((status = ctl_call_or_say(&conn, &req, &rep)) == 0) {
			print_conn(&rep.fin);
			if (wait_state) {
				char id[32];
				snprintf(id, sizeof(id), "%s", rec_str(&rep.fin, "conn", ""));
				status = wait_and_say(&conn, rec_get(&rep.fin, "host"), id, wait_state,
						      timeout_s);
			}
		}
	} else if (strcmp(cmd, "accept") == 0) {
		for (;;) {
			req_begin(&req, "accept");
			req_pos(&req, args[0]);
			if (host)
				ctl_put(&req, "host", host);
			ctl_put(&req, "keep", "1");
			int r = ctl_call(&conn, &req, &rep);
			if (r == -EAGAIN && wait && now_ms() < deadline) {
				reply_free(&rep);
				poll(NULL, 0, 20);
				continue;
			}
			if (r < 0) {
				fprintf(stderr, "%s: %s\n", who, rep.msg ? rep.msg : "failed");
				status = EXIT_FAIL;
			} else {
				print_conn(&rep.fin);
			}
			break;
		}
	} else if (strcmp(cmd, "send") == 0) {
		req_begin(&req, "send");
		req_pos(&req, args[0]);
		if (host)
			ctl_put(&req, "host", host);
		if (nargs == 2 && strcmp(args[1], "-") == 0) {
			size_t len;
			char *data = read_stdin(&len);
			ctl_putn(&req, "data", data, len);
			free(data);
		} else {
			struct strbuf d = { 0 };
			for (int i = 1; i < nargs; i++) {
				if (i > 1)
					sb_append(&d, " ", 1);
				sb_append(&d, args[i], strlen(args[i]));
			}
			if (!no_newline)
				sb_append(&d, "\n", 1);
			ctl_putn(&req, "data", d.p ? d.p : "", d.len);
			sb_free(&d);
		}
		if ((status = ctl_call_or_say(&conn, &req, &rep)) == 0)
			printf("conn %s: queued %s bytes (%s)\n", args[0], rec_str(&rep.fin, "bytes", "0"),
			       rec_str(&rep.fin, "state", "?"));
	} else if (strcmp(cmd, "recv") == 0) {
		for (;;) {
			req_begin(&req, "recv");
			req_pos(&req, args[0]);
			if (host)
				ctl_put(&req, "host", host);
			if (max)
				ctl_put(&req, "max", max);
			if ((status = ctl_call_or_say(&conn, &req, &rep)) != 0)
				break;
			bool empty = strcmp(rec_str(&rep.fin, "bytes", "0"), "0") == 0 &&
				     strcmp(rec_str(&rep.fin, "eof", "0"), "0") == 0;
			if (empty && wait && now_ms() < deadline) {
				reply_free(&rep);
				poll(NULL, 0, 20);
				continue;
			}
			for (size_t i = 0; i < rep.n; i++) {
				const char *d = rec_get(&rep.rows[i], "data");
				for (unsigned k = 0; d && k < rep.rows[i].n; k++)
					if (rep.rows[i].w[k].key && strcmp(rep.rows[i].w[k].key, "data") == 0)
						fwrite(rep.rows[i].w[k].val, 1, rep.rows[i].w[k].val_len, stdout);
			}
			fflush(stdout);
			if (strcmp(rec_str(&rep.fin, "eof", "0"), "1") == 0)
				fprintf(stderr, "(end of stream: the peer sent FIN; conn %s is %s)\n",
					args[0], rec_str(&rep.fin, "state", "?"));
			else if (empty)
				fprintf(stderr, "(nothing to read yet on conn %s)\n", args[0]);
			break;
		}
	} else { /* shutdown, close, abort */
		req_begin(&req, cmd);
		req_pos(&req, args[0]);
		if (host)
			ctl_put(&req, "host", host);
		if ((status = ctl_call_or_say(&conn, &req, &rep)) == 0) {
			const char *from = rec_str(&rep.fin, "from", "?"), *to = rec_str(&rep.fin, "state", "?");
			bool color = cli_use_color(stdout);
			printf("conn %s: %s%s%s -> %s%s%s\n", args[0], color ? state_color(from) : "", from,
			       color ? ANSI_RESET : "", color ? state_color(to) : "", to,
			       color ? ANSI_RESET : "");
			if (wait_state)
				status = wait_and_say(&conn, host, args[0], wait_state, timeout_s);
		}
	}
	reply_free(&rep);
	cli_close(&conn);
	return status;
}
