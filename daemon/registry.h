/* The ownership registry: one small file per thing a tcplabd created and
 * must not leak (a namespace, a FUSE mount) plus one per running daemon,
 * in /run/tcplabd/. Each file names its owner by pid AND process start time
 * (/proc/PID/stat field 22), so a recycled pid never looks alive.
 *
 * At start-up the daemon sweeps entries whose owner is dead (a crashed
 * tcplabd) and removes what they describe; the client reads the daemon
 * entries for `tcplab status`. Writers hold the registry lock (flock on
 * DIR/.lock); readers need none, because entries appear atomically
 * (written aside, then link()ed into place). */
#ifndef TL_DAEMON_REGISTRY_H
#define TL_DAEMON_REGISTRY_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define REGISTRY_DIR "/run/tcplabd"

enum reg_kind {
	REG_DAEMON = 1, /* a running tcplabd; name is its pid */
	REG_NETNS,      /* a network namespace, by name */
	REG_MOUNT,      /* a FUSE mount, by absolute path */
};

/* One entry as read back. Invariant: pid > 0 and file is the entry's file
 * name inside the registry directory. */
struct reg_entry {
	enum reg_kind kind;
	char name[PATH_MAX];
	pid_t pid;
	uint64_t start; /* owner's start time, clock ticks since boot */
	char info[512]; /* free text (daemon entries: lab, mount, db) */
	char file[256];
};

/* An open registry. lock_fd is -1 while unlocked. */
struct registry {
	char dir[PATH_MAX];
	int dir_fd;
	int lock_fd;
	pid_t self;
	uint64_t self_start;
};

/* Opens (creating if needed, mode 0755) the registry in `dir`. */
int registry_open(struct registry *r, const char *dir);
/* Opens an existing registry for reading only (the client); -ENOENT if none. */
int registry_open_readonly(struct registry *r, const char *dir);
void registry_close(struct registry *r);

/* Exclusive lock against other starting or stopping daemons (blocks). */
int registry_lock(struct registry *r);
void registry_unlock(struct registry *r);

/* Records that this process owns (kind, name). -EEXIST if an entry exists
 * (whoever owns it). */
int registry_claim(struct registry *r, enum reg_kind kind, const char *name,
		   const char *info);
/* Removes our entry for (kind, name); -ENOENT if there is none. */
int registry_release(struct registry *r, enum reg_kind kind, const char *name);
/* Reads the entry for (kind, name): 0, or -ENOENT. */
int registry_find(struct registry *r, enum reg_kind kind, const char *name,
		  struct reg_entry *out);

/* Calls fn for each well-formed entry (in directory order); stops early and
 * returns fn's value if it is non-zero. */
int registry_foreach(struct registry *r,
		     int (*fn)(const struct reg_entry *e, void *ctx), void *ctx);

/* Whether the entry's owner still runs (same pid, same start time). */
bool registry_owner_alive(const struct reg_entry *e);

/* Removes every entry whose owner is dead, and what it describes: deletes
 * the namespace, lazily unmounts the mount, logging one info line each.
 * Caller holds the lock. Returns the number of things removed. */
int registry_sweep(struct registry *r);

/* Reads a process's start time (/proc/PID/stat field 22). */
int proc_start_time(pid_t pid, uint64_t *start);

const char *reg_kind_name(enum reg_kind kind);

#endif
