/* tcplab up / down: start tcplabd in the background and wait until it is
 * ready (its --ready-fd), or stop it (SIGTERM) and wait until it has torn
 * the lab down. A daemon that fails to start has its log's last lines
 * shown, which say what is wrong and what to do. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "registry.h"

#ifndef TL_SBINDIR
#define TL_SBINDIR "/usr/local/sbin"
#endif

static void usage_up(FILE *out)
{
	fprintf(out,
		"Usage: tcplab up [OPTION]... [LAB_FILE] [-- TCPLABD_OPTION...]\n"
		"Start tcplabd in the background with LAB_FILE (default: the built-in lab,\n"
		"labs/default.lab) and wait until the lab is up: namespaces, TAP devices, FUSE\n"
		"view and control socket. Prints its pid and log file. Needs root.\n"
		"\n"
		"      --mount DIR   the FUSE view (default /run/tcplab)\n"
		"      --db FILE     the history (default /var/lib/tcplab/history.db)\n"
		"      --no-history  record no history\n"
		"      --log FILE    tcplabd's log (default /run/tcplabd/tcplabd.PID.log)\n"
		"  -v, --verbose     debug logging (every state change)\n"
		"  -t, --timeout S   how long to wait for readiness (default 30)\n"
		"  -h, --help        show this help\n"
		"\n"
		"Stop it with `tcplab down`. Options after -- go to tcplabd (see tcplabd --help).\n");
}

static void usage_down(FILE *out)
{
	fprintf(out,
		"Usage: tcplab down [-t S]\n"
		"Stop the running tcplabd (SIGTERM) and wait until it has torn the lab down\n"
		"(namespaces, TAP devices, FUSE view) and written its history. With several\n"
		"daemons, choose one: tcplab --pid PID down.\n"
		"\n"
		"  -t, --timeout S   how long to wait (default 30)\n"
		"  -h, --help        show this help\n");
}

/* tcplabd: $TCPLABD, next to us (a build tree: ../daemon/tcplabd; an
 * installation: ../sbin/tcplabd or the configured sbindir), else PATH. */
static void find_tcplabd(char *buf, size_t cap)
{
	const char *env = getenv("TCPLABD");
	if (env && *env) {
		snprintf(buf, cap, "%s", env);
		return;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			static const char *const rel[] = { "/../daemon/tcplabd", "/../sbin/tcplabd",
							   "/tcplabd" };
			for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				snprintf(buf, cap, "%.3000s%s", self, rel[i]);
				if (access(buf, X_OK) == 0)
					return;
			}
		}
	}
	snprintf(buf, cap, "%s/tcplabd", TL_SBINDIR);
	if (access(buf, X_OK) == 0)
		return;
	snprintf(buf, cap, "tcplabd");
}

static void show_log_tail(const char *path, int lines)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char *ring[32] = { 0 };
	size_t cap = 0;
	char *line = NULL;
	int n = 0;
	while (getline(&line, &cap, f) > 0) {
		free(ring[n % 32]);
		ring[n % 32] = strdup(line);
		n++;
	}
	free(line);
	fclose(f);
	int first = n > lines ? n - lines : 0;
	for (int i = first; i < n; i++)
		fprintf(stderr, "  %s", ring[i % 32] ? ring[i % 32] : "");
	for (int i = 0; i < 32; i++)
		free(ring[i]);
}

int updown_start(const char *lab, const char *mount, const char *db, bool no_history,
		 const char *log, bool verbose, char *const extra[], int timeout_s, int *pid_out,
		 char *log_out, size_t log_cap)
{
	char exe[PATH_MAX];
	find_tcplabd(exe, sizeof(exe));
	if (geteuid() != 0) {
		fprintf(stderr, "tcplab up: tcplabd needs root (network namespaces, TAP devices): run `sudo tcplab up`\n");
		return EXIT_FAIL;
	}
	mkdir(REGISTRY_DIR, 0755);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("tcplab up: pipe");
		return EXIT_FAIL;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		perror("tcplab up: fork");
		return EXIT_FAIL;
	}
	if (pid == 0) {
		setsid(); /* survives our terminal and our exit */
		char path[PATH_MAX];
		if (log)
			snprintf(path, sizeof(path), "%s", log);
		else
			snprintf(path, sizeof(path), "%s/tcplabd.%d.log", REGISTRY_DIR, (int)getpid());
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDONLY);
		if (fd < 0 || null < 0)
			_exit(126);
		dup2(null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		dup2(pfd[1], 3); /* dup2 clears close-on-exec */
		char *av[64];
		int n = 0;
		av[n++] = exe;
		if (lab) {
			av[n++] = "--lab";
			av[n++] = (char *)lab;
		}
		if (mount) {
			av[n++] = "--mount";
			av[n++] = (char *)mount;
		}
		if (db) {
			av[n++] = "--db";
			av[n++] = (char *)db;
		}
		if (no_history)
			av[n++] = "--no-history";
		if (verbose)
			av[n++] = "-v";
		av[n++] = "--ready-fd";
		av[n++] = "3";
		for (int i = 0; extra && extra[i] && n < 62; i++)
			av[n++] = extra[i];
		av[n] = NULL;
		execvp(exe, av);
		fprintf(stderr, "cannot run %s: %s (set TCPLABD=/path/to/tcplabd)\n", exe,
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	if (log)
		snprintf(log_out, log_cap, "%s", log);
	else
		snprintf(log_out, log_cap, "%s/tcplabd.%d.log", REGISTRY_DIR, (int)pid);
	/* READY=1, or EOF (it died), or the timeout. */
	char buf[64];
	size_t got = 0;
	long long deadline = now_ms() + timeout_s * 1000LL;
	bool ready = false, eof = false;
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			break;
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		ssize_t r = read(pfd[0], buf + got, sizeof(buf) - 1 - got);
		if (r <= 0) {
			eof = true; /* it closed the fd: it is exiting */
			break;
		}
		got += (size_t)r;
		buf[got] = '\0';
		if (strstr(buf, "READY=1")) {
			ready = true;
			break;
		}
	}
	close(pfd[0]);
	if (!ready) {
		int st;
		if (eof) { /* give it a moment to finish exiting */
			int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
			if (pidfd >= 0) {
				struct pollfd p = { .fd = pidfd, .events = POLLIN };
				poll(&p, 1, 5000);
				close(pidfd);
			}
		}
		bool dead = waitpid(pid, &st, WNOHANG) == pid;
		if (!dead) {
			kill(pid, SIGTERM);
			waitpid(pid, &st, 0);
		}
		fprintf(stderr, "tcplab up: tcplabd %s; its log (%s) says:\n",
			dead ? "exited before it was ready" : "was not ready in time and was stopped",
			log_out);
		show_log_tail(log_out, 8);
		return EXIT_FAIL;
	}
	*pid_out = (int)pid;
	return EXIT_OK;
}

int updown_stop(int pid, int timeout_s, const char *who)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (kill(pid, SIGTERM) < 0) {
		if (errno == EPERM)
			fprintf(stderr, "%s: permission denied: tcplabd pid %d runs as root; use `sudo tcplab down`\n",
				who, pid);
		else
			fprintf(stderr, "%s: cannot signal tcplabd pid %d: %s\n", who, pid, strerror(errno));
		if (pfd >= 0)
			close(pfd);
		return EXIT_FAIL;
	}
	bool gone = false;
	if (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int rc;
		do
			rc = poll(&p, 1, timeout_s * 1000);
		while (rc < 0 && errno == EINTR);
		gone = rc > 0;
		close(pfd);
	} else {
		long long deadline = now_ms() + timeout_s * 1000LL;
		while (!(gone = kill(pid, 0) < 0 && errno == ESRCH) && now_ms() < deadline)
			poll(NULL, 0, 50);
	}
	if (!gone) {
		fprintf(stderr,
			"%s: tcplabd pid %d did not stop within %d s; `sudo kill -9 %d` ends it, and the next tcplabd removes what it left\n",
			who, pid, timeout_s, pid);
		return EXIT_FAIL;
	}
	int st;
	waitpid(pid, &st, WNOHANG); /* reaps it if it was our child (the tour's) */
	return EXIT_OK;
}

int cmd_up(int argc, char **argv)
{
	enum { OPT_MOUNT = 256, OPT_DB, OPT_NO_HISTORY, OPT_LOG };
	static const struct option longopts[] = {
		{ "mount", required_argument, NULL, OPT_MOUNT },
		{ "db", required_argument, NULL, OPT_DB },
		{ "no-history", no_argument, NULL, OPT_NO_HISTORY },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "verbose", no_argument, NULL, 'v' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mount = NULL, *db = NULL, *log = NULL;
	bool no_history = false, verbose = false;
	int timeout_s = 30, c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vt:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MOUNT:
			mount = optarg;
			break;
		case OPT_DB:
			db = optarg;
			break;
		case OPT_NO_HISTORY:
			no_history = true;
			break;
		case OPT_LOG:
			log = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 't':
			timeout_s = atoi(optarg);
			if (timeout_s < 1 || timeout_s > 600) {
				fprintf(stderr, "tcplab up: --timeout %s: expected 1..600 seconds\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage_up(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "tcplab up: option %s needs a value\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tcplab up: unknown option %s: see tcplab up --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	const char *lab = NULL;
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		lab = argv[optind++];
	char *const *extra = argv + optind;
	char labpath[PATH_MAX];
	if (lab) {
		/* tcplabd runs elsewhere (setsid, its own cwd is ours, but be exact). */
		if (!realpath(lab, labpath)) {
			fprintf(stderr, "tcplab up: cannot read the lab file %s: %s\n", lab,
				strerror(errno));
			return EXIT_FAIL;
		}
		lab = labpath;
	}
	int pid;
	char logpath[PATH_MAX];
	int rc = updown_start(lab, mount, db, no_history, log, verbose, extra, timeout_s, &pid,
			      logpath, sizeof(logpath));
	if (rc)
		return rc;
	printf("tcplabd is running: pid %d, lab %s, log %s\n", pid, lab ? lab : "default", logpath);
	printf("  try: tcplab ss; tcplab tour; stop it with: sudo tcplab down\n");
	return EXIT_OK;
}

int cmd_down(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int timeout_s = 30, c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			timeout_s = atoi(optarg);
			if (timeout_s < 1 || timeout_s > 600) {
				fprintf(stderr, "tcplab down: --timeout %s: expected 1..600 seconds\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage_down(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "tcplab down: bad option %s: see tcplab down --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcplab down: takes no arguments: see tcplab down --help\n");
		return EXIT_USAGE;
	}
	struct cli_daemon d;
	int rc = cli_find_daemon(&d, "tcplab down");
	if (rc)
		return rc;
	if (!d.pid) {
		fprintf(stderr, "tcplab down: with --socket the pid is unknown: use --pid PID\n");
		return EXIT_USAGE;
	}
	rc = updown_stop(d.pid, timeout_s, "tcplab down");
	if (rc == 0)
		printf("tcplabd pid %d stopped; the lab is torn down\n", d.pid);
	return rc;
}
