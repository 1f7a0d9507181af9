/* Named network namespaces: existence checks, ip(8) invocations (spawned,
 * stderr captured so a failure becomes one log line) and setns() round
 * trips for work that must happen inside a namespace. */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

extern char **environ;

bool netns_exists(const char *name)
{
	char path[256];
	struct stat sb;
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", name);
	return stat(path, &sb) == 0;
}

/* ip lives in /usr/bin (Debian) or /usr/sbin, /sbin (others); sudo and
 * systemd PATHs differ, so look in the usual places before trusting PATH. */
static const char *ip_path(void)
{
	static const char *const candidates[] = { "/usr/sbin/ip", "/usr/bin/ip",
						  "/sbin/ip", "/bin/ip" };
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return "ip";
}

int netns_ip(const char *const argv[], char *err, size_t errlen)
{
	char *args[16];
	size_t n = 0;
	args[n++] = (char *)"ip";
	for (; argv[n - 1] && n < sizeof(args) / sizeof(args[0]) - 1; n++)
		args[n] = (char *)argv[n - 1];
	args[n] = NULL;

	if (log_enabled(LOG_LVL_DEBUG)) {
		char line[256] = "";
		size_t len = 0;
		for (size_t i = 0; args[i] && len < sizeof(line); i++)
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s",
						i ? " " : "", args[i]);
		log_debug("running: %s", line);
	}

	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -EIO;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);

	/* The daemon blocks and ignores signals of its own; ip must start
	 * with a clean slate (ignored dispositions survive exec). */
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none, defaults;
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGHUP);
	sigaddset(&defaults, SIGUSR1);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

	const char *path = ip_path();
	pid_t pid;
	int rc = path[0] == '/' ? posix_spawn(&pid, path, &fa, &attr, args, environ)
				: posix_spawnp(&pid, path, &fa, &attr, args, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		snprintf(err, errlen, "cannot run ip: %s (install iproute2)", strerror(rc));
		return -EIO;
	}

	/* Keep the first line of stderr; drain the rest so ip never blocks. */
	char buf[512];
	size_t len = 0;
	for (;;) {
		char chunk[512];
		ssize_t r = read(pipefd[0], chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		size_t take = (size_t)r < sizeof(buf) - 1 - len ? (size_t)r : sizeof(buf) - 1 - len;
		memcpy(buf + len, chunk, take);
		len += take;
	}
	buf[len] = '\0';
	close(pipefd[0]);
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';

	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -EIO;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (buf[0])
		snprintf(err, errlen, "%s", buf);
	else if (WIFEXITED(status))
		snprintf(err, errlen, "ip exited with status %d", WEXITSTATUS(status));
	else
		snprintf(err, errlen, "ip killed by signal %d", WTERMSIG(status));
	return -EIO;
}

int netns_add(const char *name, char *err, size_t errlen)
{
	const char *argv[] = { "netns", "add", name, NULL };
	return netns_ip(argv, err, errlen);
}

int netns_attach_pid(const char *name, int pid, char *err, size_t errlen)
{
	char p[16];
	snprintf(p, sizeof(p), "%d", pid);
	const char *argv[] = { "netns", "attach", name, p, NULL };
	return netns_ip(argv, err, errlen);
}

int netns_delete(const char *name, char *err, size_t errlen)
{
	const char *argv[] = { "netns", "delete", name, NULL };
	return netns_ip(argv, err, errlen);
}

int netns_enter(const char *name, int *saved)
{
	char path[256];
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", name);
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	int target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		int e = errno;
		close(self);
		return -e;
	}
	int rc = setns(target, CLONE_NEWNET) < 0 ? -errno : 0;
	close(target);
	if (rc < 0) {
		close(self);
		return rc;
	}
	*saved = self;
	return 0;
}

void netns_leave(int saved)
{
	if (setns(saved, CLONE_NEWNET) < 0) {
		log_err("cannot return to the daemon's network namespace: %s", strerror(errno));
		abort();
	}
	close(saved);
}

int netns_sysctl_write(const char *name, const char *path, const char *value)
{
	char file[256];
	int saved;
	snprintf(file, sizeof(file), "/proc/sys/%s", path);
	int rc = netns_enter(name, &saved);
	if (rc < 0)
		return rc;
	/* /proc/sys/net resolves against the opener's namespace, so this fd
	 * points into `name` even after we leave. */
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		rc = -errno;
	netns_leave(saved);
	if (rc < 0)
		return rc;
	size_t len = strlen(value);
	if (write(fd, value, len) != (ssize_t)len)
		rc = -errno;
	close(fd);
	return rc;
}
