/* tcplab: the command-line client. Global options, then one subcommand
 * (client/cmd_*.c): it talks to tcplabd over its control socket
 * (docs/control.md), reads the FUSE view (docs/fsview.md) and the SQLite
 * history (docs/history.md, opened read-only).
 *
 * Exit codes: 0 ok, 1 failure, 2 usage, 3 tcplabd is not running (as LSB
 * status). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab [--pid PID | --socket PATH] [--color WHEN] COMMAND [ARG]...\n"
		"Drive and inspect a tcplab lab (tcplabd): a userspace TCP/IP stack wired to\n"
		"Linux network namespaces. `tcplab COMMAND --help` explains each command.\n"
		"\n"
		"The lab:\n"
		"  status          is tcplabd running? its pid, lab, mount, history, namespaces\n"
		"  up [LAB]        start tcplabd in the background and wait until it is ready\n"
		"  down            stop it (SIGTERM) and wait until the lab is torn down\n"
		"  tour            run the TCP states tour live (handshake, closes, TIME_WAIT,\n"
		"                  CLOSE_WAIT, SYN_RECV, SYN flood with and without cookies)\n"
		"\n"
		"Look:\n"
		"  ss              sockets of the stack hosts, like `ss -tan` (-i: rtt, cwnd)\n"
		"  get [NAME]      tunables, like sysctl (net.ipv4.tcp_syncookies, ...)\n"
		"  watch           live state transitions, coloured by state\n"
		"  history         recorded connections with their timelines\n"
		"  sql \"SELECT..\"  query the history (read-only)\n"
		"  diagram CONN    ladder diagram of a recorded connection (terminal or -o SVG)\n"
		"  states          the TCP state diagram with each transition's count (SVG, dot)\n"
		"\n"
		"Act:\n"
		"  set NAME VALUE  change a tunable on a stack host\n"
		"  listen PORT     open a listener on a stack host (then accept)\n"
		"  connect ADDR PORT   an active open from a stack host\n"
		"  accept, send, recv, shutdown, close, abort, handles   drive those connections\n"
		"  flood TARGET    a bounded SYN flood from a kernel host (198.18.128.0/17 sources)\n"
		"  capture LINK start FILE | stop   pcap of a link\n"
		"\n"
		"Global options:\n"
		"  --pid PID       the tcplabd to talk to when several run (env TCPLAB_PID)\n"
		"  --socket PATH   its control socket (env TCPLAB_SOCKET; default: found\n"
		"                  through the registry in /run/tcplabd/)\n"
		"  --color WHEN    auto (default: on terminals), always, never (NO_COLOR too)\n"
		"  -h, --help      show this help;  -V, --version   show the version\n"
		"\n"
		"Listings take --json. Exit status: 0 ok, 1 failure, 2 usage error, 3 tcplabd\n"
		"is not running. See tcplab(1) and docs/control.md.\n");
}

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "status", cmd_status },   { "up", cmd_up },	      { "down", cmd_down },
	{ "ss", cmd_ss },	    { "get", cmd_get },	      { "set", cmd_set },
	{ "connect", cmd_sock },    { "listen", cmd_sock },   { "accept", cmd_sock },
	{ "send", cmd_sock },	    { "recv", cmd_sock },     { "shutdown", cmd_sock },
	{ "close", cmd_sock },	    { "abort", cmd_sock },    { "handles", cmd_sock },
	{ "watch", cmd_watch },	    { "flood", cmd_flood },   { "capture", cmd_capture },
	{ "tour", cmd_tour },	    { "diagram", cmd_diagram }, { "states", cmd_states },
	{ "sql", cmd_sql },	    { "history", cmd_history },
};

int main(int argc, char **argv)
{
	enum { OPT_PID = 256, OPT_SOCKET, OPT_COLOR };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, OPT_PID },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "colour", required_argument, NULL, OPT_COLOR },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	opterr = 0;
	int c;
	/* "+": stop at the subcommand; its options are its own. */
	while ((c = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PID: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v <= 0 || v > 0x3fffffff) {
				fprintf(stderr, "tcplab: --pid %s: expected a process id\n", optarg);
				return EXIT_USAGE;
			}
			cli.pid = (int)v;
			break;
		}
		case OPT_SOCKET:
			cli.socket = optarg;
			break;
		case OPT_COLOR:
			if (cli_set_color("tcplab", optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("tcplab %s\n", TL_VERSION);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "tcplab: option %s needs a value: see tcplab --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tcplab: unknown option %s: see tcplab --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind];
	if (strcmp(cmd, "help") == 0) {
		if (optind + 1 < argc) { /* tcplab help ss == tcplab ss --help */
			char *sub[] = { argv[optind + 1], "--help", NULL };
			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (strcmp(commands[i].name, sub[0]) == 0)
					return commands[i].fn(2, sub);
		}
		usage(stdout);
		return EXIT_OK;
	}
	int first = optind;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, cmd) == 0) {
			optind = 1; /* each subcommand parses its own options */
			return commands[i].fn(argc - first, argv + first);
		}
	}
	fprintf(stderr, "tcplab: unknown command '%s': see tcplab --help\n", cmd);
	return EXIT_USAGE;
}
