/* Ownership registry files and the stale sweep (see registry.h).
 *
 * Entry file: DIR/<kind>.<escaped name>, content "key value" lines:
 *   pid 1234
 *   start 567890
 *   kind netns
 *   name tcplab-peer
 *   info lab=default ...
 */
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mounts.h"
#include "netns.h"

const char *reg_kind_name(enum reg_kind kind)
{
	switch (kind) {
	case REG_DAEMON:
		return "daemon";
	case REG_NETNS:
		return "netns";
	case REG_MOUNT:
		return "mount";
	}
	return "?";
}

static int kind_from_name(const char *s, enum reg_kind *out)
{
	static const enum reg_kind all[] = { REG_DAEMON, REG_NETNS, REG_MOUNT };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, reg_kind_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -EINVAL;
}

int proc_start_time(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: skip to the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	/* Fields 3..21 come before starttime (22). */
	for (int field = 3; field <= 21; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EIO;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EIO;
	*start = v;
	return 0;
}

bool registry_owner_alive(const struct reg_entry *e)
{
	uint64_t start;
	return proc_start_time(e->pid, &start) == 0 && start == e->start;
}

/* File name for (kind, name): bytes outside [A-Za-z0-9._-] become %XX so a
 * path such as /run/tcplab is one file name. */
static int entry_file(enum reg_kind kind, const char *name, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	int n = snprintf(out, cap, "%s.", reg_kind_name(kind));
	size_t len = (size_t)n;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
			     *p == '-';
		if (len + 4 >= cap)
			return -ENAMETOOLONG;
		if (plain) {
			out[len++] = (char)*p;
		} else {
			out[len++] = '%';
			out[len++] = hex[*p >> 4];
			out[len++] = hex[*p & 15];
		}
	}
	out[len] = '\0';
	return 0;
}

static int open_common(struct registry *r, const char *dir)
{
	memset(r, 0, sizeof(*r));
	r->lock_fd = -1;
	r->dir_fd = -1;
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	r->self = getpid();
	int rc = proc_start_time(r->self, &r->self_start);
	if (rc < 0)
		return rc;
	r->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return r->dir_fd < 0 ? -errno : 0;
}

int registry_open(struct registry *r, const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return open_common(r, dir);
}

int registry_open_readonly(struct registry *r, const char *dir)
{
	return open_common(r, dir);
}

void registry_close(struct registry *r)
{
	registry_unlock(r);
	if (r->dir_fd >= 0)
		close(r->dir_fd);
	r->dir_fd = -1;
}

int registry_lock(struct registry *r)
{
	if (r->lock_fd >= 0)
		return 0;
	int fd = openat(r->dir_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return -e;
		}
	}
	r->lock_fd = fd;
	return 0;
}

void registry_unlock(struct registry *r)
{
	if (r->lock_fd >= 0)
		close(r->lock_fd); /* closing drops the flock */
	r->lock_fd = -1;
}

int registry_claim(struct registry *r, enum reg_kind kind, const char *name,
		   const char *info)
{
	char file[256], tmp[64];
	int rc = entry_file(kind, name, file, sizeof(file));
	if (rc < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), ".tmp.%d", (int)r->self);

	int fd = openat(r->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		goto out;
	}
	fprintf(f, "pid %d\nstart %" PRIu64 "\nkind %s\nname %s\ninfo %s\n",
		(int)r->self, r->self_start, reg_kind_name(kind), name, info ? info : "");
	if (fflush(f) != 0 || fsync(fd) != 0)
		rc = -errno;
	fclose(f);
	/* link() fails if the name exists: claiming is atomic, and readers
	 * never see a half-written entry. */
	if (rc == 0 && linkat(r->dir_fd, tmp, r->dir_fd, file, 0) < 0)
		rc = -errno;
out:
	unlinkat(r->dir_fd, tmp, 0);
	return rc;
}

int registry_release(struct registry *r, enum reg_kind kind, const char *name)
{
	char file[256];
	int rc = entry_file(kind, name, file, sizeof(file));
	if (rc < 0)
		return rc;
	return unlinkat(r->dir_fd, file, 0) < 0 ? -errno : 0;
}

static int read_entry(struct registry *r, const char *file, struct reg_entry *e)
{
	int fd = openat(r->dir_fd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	memset(e, 0, sizeof(*e));
	snprintf(e->file, sizeof(e->file), "%s", file);
	char line[PATH_MAX + 64];
	bool have_kind = false, have_name = false;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *val = strchr(line, ' ');
		if (!val)
			continue;
		*val++ = '\0';
		if (strcmp(line, "pid") == 0)
			e->pid = (pid_t)strtol(val, NULL, 10);
		else if (strcmp(line, "start") == 0)
			e->start = strtoull(val, NULL, 10);
		else if (strcmp(line, "kind") == 0)
			have_kind = kind_from_name(val, &e->kind) == 0;
		else if (strcmp(line, "name") == 0)
			have_name = snprintf(e->name, sizeof(e->name), "%s", val) > 0;
		else if (strcmp(line, "info") == 0)
			snprintf(e->info, sizeof(e->info), "%s", val);
	}
	fclose(f);
	return e->pid > 0 && have_kind && have_name ? 0 : -EINVAL;
}

int registry_find(struct registry *r, enum reg_kind kind, const char *name,
		  struct reg_entry *out)
{
	char file[256];
	int rc = entry_file(kind, name, file, sizeof(file));
	if (rc < 0)
		return rc;
	return read_entry(r, file, out);
}

int registry_foreach(struct registry *r,
		     int (*fn)(const struct reg_entry *e, void *ctx), void *ctx)
{
	int fd = openat(r->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	int rc = 0;
	struct dirent *de;
	struct reg_entry *e = malloc(sizeof(*e));
	if (!e) {
		closedir(d);
		return -ENOMEM;
	}
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue; /* ., .., .lock, .tmp.* */
		if (read_entry(r, de->d_name, e) == 0)
			rc = fn(e, ctx);
	}
	free(e);
	closedir(d);
	return rc;
}

struct sweep {
	struct registry *r;
	int removed;
	/* Dead entries are collected first: unlinking while readdir() walks
	 * the same directory may skip or repeat entries. */
	char (*files)[256];
	size_t n, cap;
};

static int collect_dead(const struct reg_entry *e, void *ctx)
{
	struct sweep *s = ctx;
	if (registry_owner_alive(e))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		void *p = realloc(s->files, cap * sizeof(*s->files));
		if (!p)
			return -ENOMEM;
		s->files = p;
		s->cap = cap;
	}
	snprintf(s->files[s->n++], 256, "%s", e->file);
	return 0;
}

static void sweep_one(struct sweep *s, const struct reg_entry *e)
{
	char err[256];
	switch (e->kind) {
	case REG_NETNS:
		if (netns_exists(e->name)) {
			if (netns_delete(e->name, err, sizeof(err)) < 0) {
				log_warn("cannot remove stale namespace %s left by crashed tcplabd pid %d: %s",
					 e->name, (int)e->pid, err);
				return; /* keep the entry: retry next start */
			}
			log_info("removed stale namespace %s left by crashed tcplabd pid %d",
				 e->name, (int)e->pid);
			s->removed++;
		}
		break;
	case REG_MOUNT: {
		char fstype[64];
		if (mount_point_info(e->name, fstype, sizeof(fstype)) > 0 &&
		    strncmp(fstype, "fuse", 4) == 0) {
			int rc = mount_detach(e->name);
			if (rc < 0) {
				log_warn("cannot unmount stale FUSE mount %s left by crashed tcplabd pid %d: %s",
					 e->name, (int)e->pid, strerror(-rc));
				return;
			}
			log_info("unmounted stale FUSE mount %s left by crashed tcplabd pid %d",
				 e->name, (int)e->pid);
			s->removed++;
		}
		break;
	}
	case REG_DAEMON:
		break;
	}
	unlinkat(s->r->dir_fd, e->file, 0);
}

int registry_sweep(struct registry *r)
{
	struct sweep s = { .r = r };
	int rc = registry_foreach(r, collect_dead, &s);
	struct reg_entry *e = malloc(sizeof(*e));
	if (!e)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < s.n; i++)
		/* Re-read: the entry was parsed in collect_dead, but only its
		 * file name was kept. */
		if (read_entry(r, s.files[i], e) == 0 && !registry_owner_alive(e))
			sweep_one(&s, e);
	free(e);
	free(s.files);
	return rc < 0 ? rc : s.removed;
}
