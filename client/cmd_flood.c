/* tcplab flood: a bounded SYN flood against a stack host, sent from a
 * kernel host's namespace (the attacker) with random sources inside
 * 198.18.128.0/17 and nowhere else. Bounded three ways: COUNT SYNs, RATE
 * per second, 60 s. The stack's SYN-ACKs to those sources go to the kernel
 * host (its gateway), which drops them, so each SYN leaves a half-open
 * request (or, with tcp_syncookies, a cookie). Prints the target's
 * listen/cookie counters before and after (from the FUSE view). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"

#define FLOOD_MAX_COUNT 1000000L
#define FLOOD_MAX_RATE 200000L
#define FLOOD_MAX_SECONDS 60
#define LAB_NET_ADDR 0xc6120000u  /* 198.18.0.0/15: the only targets */
#define LAB_NET_MASK 0xfffe0000u
#define FLOOD_SRC_NET 0xc6128000u /* 198.18.128.0/17: the only sources */
#define FLOOD_SRC_MASK 0x7fffu

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab flood [OPTION]... [TARGET]\n"
		"Send a bounded SYN flood to a stack host from a kernel host's namespace, with\n"
		"random source addresses inside 198.18.128.0/17 only. TARGET is a stack host\n"
		"name or address (default: the first stack host). Shows the target's\n"
		"half-open requests and cookie counters before and after.\n"
		"\n"
		"  -p, --port PORT    target port (default 80, the built-in HTTP server)\n"
		"  -n, --count N      SYNs to send (default 1000, at most %ld)\n"
		"  -r, --rate R       SYNs per second (default 1000, at most %ld)\n"
		"  -f, --from HOST    the kernel host to send from (default: the one on the\n"
		"                     target's link)\n"
		"      --json         the result as a JSON object\n"
		"  -h, --help         show this help\n"
		"\n"
		"It stops after COUNT SYNs or %d s, whichever comes first. Needs root.\n"
		"Try it with tcp_syncookies 0 and 1 (tcplab set tcp_syncookies 0).\n",
		FLOOD_MAX_COUNT, FLOOD_MAX_RATE, FLOOD_MAX_SECONDS);
}

static uint16_t csum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* In the child, inside the attacker's namespace: sends the SYNs and
 * writes "SENT ELAPSED" to fd. Returns the exit status. */
static int flood_child(const char *netns, uint32_t dst, uint16_t port, long count, long rate,
		       int fd)
{
	int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "tcplab flood: cannot enter namespace %s: %s\n", netns, strerror(errno));
		return 1;
	}
	close(nsfd);
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (s < 0) {
		fprintf(stderr, "tcplab flood: raw socket: %s (run as root)\n", strerror(errno));
		return 1;
	}
	uint64_t rng = (uint64_t)getpid() << 32 ^ (uint64_t)(mono_s() * 1e9);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(dst) };
	double start = mono_s();
	long sent = 0;
	while (sent < count) {
		double elapsed = mono_s() - start;
		if (elapsed >= FLOOD_MAX_SECONDS)
			break;
		/* Pace in 1 ms steps: send what is due, then sleep. */
		long due = (long)(elapsed * (double)rate) + 1;
		if (due > count)
			due = count;
		if (sent >= due) {
			struct timespec ms = { 0, 1000000 };
			nanosleep(&ms, NULL);
			continue;
		}
		while (sent < due) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			uint32_t src = FLOOD_SRC_NET | ((uint32_t)rng & FLOOD_SRC_MASK);
			if ((src & 0xff) == 0 || (src & 0xff) == 0xff)
				src ^= 1;
			uint16_t sport = (uint16_t)(1024 + (rng >> 20) % 60000);
			uint32_t seq = (uint32_t)(rng >> 32);
			uint8_t pkt[40] = { 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, IPPROTO_TCP };
			for (int i = 0; i < 4; i++) {
				pkt[12 + i] = (uint8_t)(src >> (24 - 8 * i));
				pkt[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
			}
			uint8_t *t = pkt + 20;
			t[0] = (uint8_t)(sport >> 8);
			t[1] = (uint8_t)sport;
			t[2] = (uint8_t)(port >> 8);
			t[3] = (uint8_t)port;
			for (int i = 0; i < 4; i++)
				t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
			t[12] = 5 << 4;
			t[13] = 0x02; /* SYN */
			t[14] = 0xfa;
			t[15] = 0xf0; /* window 64240 */
			uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
					  IPPROTO_TCP + 20;
			uint16_t ck = csum16(t, 20, pseudo);
			t[16] = (uint8_t)(ck >> 8);
			t[17] = (uint8_t)ck;
			if (sendto(s, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) ==
			    (ssize_t)sizeof(pkt))
				sent++;
			else if (errno != ENOBUFS && errno != EAGAIN) {
				fprintf(stderr, "tcplab flood: sendto: %s\n", strerror(errno));
				count = sent; /* stop */
				break;
			}
		}
	}
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "%ld %.3f\n", sent, mono_s() - start);
	if (write(fd, msg, (size_t)n) != n)
		return 1;
	return 0;
}

/* The counters worth comparing, from the target's net/netstat and net/tcp
 * (in the order of FLOOD_COUNTERS in client.h). */
static const char *const watched[] = { "TCPReqQFullDrop", "TCPReqQFullDoCookies",
				       "SyncookiesSent", "SyncookiesRecv", "ListenDrops",
				       "ListenOverflows" };
#define NWATCHED (sizeof(watched) / sizeof(watched[0]))

struct flood_counters {
	long long v[NWATCHED];
	long syn_recv; /* rows in SYN_RECV (03) for the port */
};

/* Reads TcpExt counters and the SYN_RECV rows of port. Missing files
 * leave zeros. */
int flood_read_counters(const char *mount, const char *host, int port, long long *v,
			long *syn_recv)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%.3000s/hosts/%.200s/net/netstat", mount, host);
	FILE *f = fopen(path, "r");
	for (size_t i = 0; i < NWATCHED; i++)
		v[i] = 0;
	*syn_recv = 0;
	if (!f)
		return -errno;
	char head[16384], vals[16384];
	while (fgets(head, sizeof(head), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(head, "TcpExt:", 7) != 0)
			continue;
		char *hs = NULL, *vs = NULL;
		char *h = strtok_r(head, " \n", &hs), *val = strtok_r(vals, " \n", &vs);
		while ((h = strtok_r(NULL, " \n", &hs)) && (val = strtok_r(NULL, " \n", &vs)))
			for (size_t i = 0; i < NWATCHED; i++)
				if (strcmp(h, watched[i]) == 0)
					v[i] = atoll(val);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%.3000s/hosts/%.200s/net/tcp", mount, host);
	if ((f = fopen(path, "r"))) {
		char line[256];
		while (fgets(line, sizeof(line), f)) {
			unsigned lport, st;
			if (sscanf(line, " %*u: %*x:%x %*x:%*x %x", &lport, &st) == 2 && st == 3 &&
			    (int)lport == port)
				(*syn_recv)++;
		}
		fclose(f);
	}
	return 0;
}

/* Resolves target and attacker through the control socket, floods, and
 * prints the result. Returns an exit status. */
int flood_run(struct cli_conn *conn, const char *target, const char *from, int port, long count,
	      long rate, bool json, bool quiet)
{
	struct strbuf req = { 0 };
	struct cli_reply rep;
	req_begin(&req, "links");
	int rc = ctl_call_or_say(conn, &req, &rep);
	if (rc) {
		reply_free(&rep);
		return rc;
	}
	const struct cli_rec *link = NULL;
	for (size_t i = 0; i < rep.n && !link; i++) {
		const struct cli_rec *r = &rep.rows[i];
		if (!target || strcmp(rec_str(r, "stack", ""), target) == 0 ||
		    strcmp(rec_str(r, "stack_addr", ""), target) == 0)
			link = r;
	}
	if (!link) {
		fprintf(stderr, "tcplab flood: no stack host '%s' in the lab (see tcplab capture --list)\n",
			target);
		reply_free(&rep);
		return EXIT_USAGE;
	}
	char host[64], dst_s[32], netns[128], attacker[64];
	snprintf(host, sizeof(host), "%s", rec_str(link, "stack", ""));
	snprintf(dst_s, sizeof(dst_s), "%s", rec_str(link, "stack_addr", ""));
	snprintf(netns, sizeof(netns), "%s", rec_str(link, "netns_path", ""));
	snprintf(attacker, sizeof(attacker), "%s", rec_str(link, "peer", ""));
	reply_free(&rep);
	if (from) { /* any kernel host of the lab */
		req_begin(&req, "hosts");
		if ((rc = ctl_call_or_say(conn, &req, &rep)) != 0) {
			reply_free(&rep);
			return rc;
		}
		bool found = false;
		for (size_t i = 0; i < rep.n; i++) {
			const struct cli_rec *r = &rep.rows[i];
			if (strcmp(rec_str(r, "name", ""), from) == 0 &&
			    strcmp(rec_str(r, "kind", ""), "kernel") == 0) {
				snprintf(netns, sizeof(netns), "%s", rec_str(r, "netns_path", ""));
				snprintf(attacker, sizeof(attacker), "%s", from);
				found = true;
			}
		}
		if (!found) {
			fprintf(stderr, "tcplab flood: no kernel host '%s' in the lab\n", from);
			reply_free(&rep);
			return EXIT_USAGE;
		}
	}
	reply_free(&rep);
	if (!netns[0]) {
		fprintf(stderr, "tcplab flood: %s is not a kernel host (a namespace to send from): choose one with --from HOST\n",
			attacker);
		return EXIT_USAGE;
	}
	struct in_addr ia;
	if (inet_pton(AF_INET, dst_s, &ia) != 1 || (ntohl(ia.s_addr) & LAB_NET_MASK) != LAB_NET_ADDR) {
		fprintf(stderr, "tcplab flood: %s is not inside 198.18.0.0/15: refusing\n", dst_s);
		return EXIT_USAGE;
	}
	struct flood_counters before, after;
	flood_read_counters(conn->d.mount, host, port, before.v, &before.syn_recv);
	if (!quiet && !json)
		printf("flooding %s (%s:%d) from %s (%s): %ld SYNs at %ld/s, sources in 198.18.128.0/17\n",
		       host, dst_s, port, attacker, netns, count, rate);
	fflush(stdout);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("tcplab flood: pipe");
		return EXIT_FAIL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("tcplab flood: fork");
		return EXIT_FAIL;
	}
	if (pid == 0) {
		close(pfd[0]);
		_exit(flood_child(netns, ntohl(ia.s_addr), (uint16_t)port, count, rate, pfd[1]));
	}
	close(pfd[1]);
	char buf[64] = "";
	ssize_t n = 0;
	struct pollfd p = { .fd = pfd[0], .events = POLLIN };
	if (poll(&p, 1, (FLOOD_MAX_SECONDS + 5) * 1000) > 0)
		n = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	if (n <= 0)
		kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "tcplab flood: the flood failed\n");
		return EXIT_FAIL;
	}
	buf[n] = '\0';
	long sent = 0;
	double secs = 0;
	sscanf(buf, "%ld %lf", &sent, &secs);
	/* Let the stack answer the last SYNs before reading its counters. */
	poll(NULL, 0, 100);
	flood_read_counters(conn->d.mount, host, port, after.v, &after.syn_recv);
	if (json) {
		printf("{\"target\": ");
		json_str(stdout, host);
		printf(", \"address\": ");
		json_str(stdout, dst_s);
		printf(", \"port\": %d, \"from\": ", port);
		json_str(stdout, attacker);
		printf(", \"sent\": %ld, \"seconds\": %.3f, \"syn_recv\": %ld", sent, secs,
		       after.syn_recv);
		for (size_t i = 0; i < NWATCHED; i++)
			printf(", \"%s\": %lld", watched[i], after.v[i] - before.v[i]);
		printf("}\n");
	} else if (!quiet) {
		printf("sent %ld SYNs in %.2f s (%.0f/s)\n", sent, secs, secs > 0 ? (double)sent / secs : 0.0);
		printf("  half-open requests (SYN-RECV) on port %d: %ld -> %ld\n", port, before.syn_recv,
		       after.syn_recv);
		for (size_t i = 0; i < NWATCHED; i++)
			printf("  TcpExt %-22s +%lld (now %lld)\n", watched[i], after.v[i] - before.v[i],
			       after.v[i]);
	}
	return EXIT_OK;
}

int cmd_flood(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "from", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int port = 80;
	long count = 1000, rate = 1000;
	const char *from = NULL;
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:n:r:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_port(optarg, &port)) {
				fprintf(stderr, "tcplab flood: --port %s: expected 1..65535\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
		case 'r': {
			char *end;
			long v = strtol(optarg, &end, 10);
			long max = c == 'n' ? FLOOD_MAX_COUNT : FLOOD_MAX_RATE;
			if (*end || end == optarg || v < 1 || v > max) {
				fprintf(stderr, "tcplab flood: %s %s: expected 1..%ld (the flood is bounded)\n",
					c == 'n' ? "--count" : "--rate", optarg, max);
				return EXIT_USAGE;
			}
			if (c == 'n')
				count = v;
			else
				rate = v;
			break;
		}
		case 'f':
			from = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "tcplab flood: option %s needs a value\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tcplab flood: unknown option %s: see tcplab flood --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "tcplab flood: one TARGET at most: see tcplab flood --help\n");
		return EXIT_USAGE;
	}
	const char *target = optind < argc ? argv[optind] : NULL;
	if (geteuid() != 0) {
		fprintf(stderr, "tcplab flood: needs root (a raw socket inside the attacker's namespace): run `sudo tcplab flood`\n");
		return EXIT_FAIL;
	}
	struct cli_conn conn;
	int rc = cli_connect(&conn, "tcplab flood");
	if (rc)
		return rc;
	rc = flood_run(&conn, target, from, port, count, rate, json, false);
	cli_close(&conn);
	return rc;
}
