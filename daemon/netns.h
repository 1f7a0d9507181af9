/* Linux network namespaces by name (/run/netns/NAME, as ip-netns(8) keeps
 * them) and running ip(8) at start-up and teardown.
 *
 * Start-up and teardown only (these block while ip(8) runs); loop thread or
 * main before the loop. Entering a namespace changes the calling thread's
 * namespace until netns_leave(). */
#ifndef TL_DAEMON_NETNS_H
#define TL_DAEMON_NETNS_H

#include <stdbool.h>
#include <stddef.h>

#define NETNS_RUN_DIR "/run/netns"

bool netns_exists(const char *name);

/* Runs `ip ARGS...` (argv without "ip", NULL-terminated) and waits for it.
 * Returns 0, or -EIO if it failed; err then holds ip's first stderr line
 * (or why it could not run). */
int netns_ip(const char *const argv[], char *err, size_t errlen);

/* `ip netns add NAME` / `ip netns delete NAME`. */
int netns_add(const char *name, char *err, size_t errlen);
/* `ip netns attach NAME PID`: names the namespace of process PID (deleting
 * the name later leaves that namespace alone). */
int netns_attach_pid(const char *name, int pid, char *err, size_t errlen);
int netns_delete(const char *name, char *err, size_t errlen);

/* Moves the calling thread into namespace `name`; *saved receives an fd of
 * the namespace it was in. Returns 0 or a negative errno. */
int netns_enter(const char *name, int *saved);
/* Moves the thread back and closes saved. Failing to return would leave the
 * daemon in the wrong namespace, so that aborts. */
void netns_leave(int saved);

/* Writes `value` to /proc/sys/<path> as seen inside namespace `name`
 * (e.g. path "net/ipv6/conf/tl0/disable_ipv6"). */
int netns_sysctl_write(const char *name, const char *path, const char *value);

#endif
