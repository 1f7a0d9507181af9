/* Mount points as the kernel lists them (/proc/self/mountinfo): is a
 * directory already mounted on, with which file system type, and lazy
 * unmounting of stale FUSE mounts. Start-up and teardown only. */
#ifndef TL_DAEMON_MOUNTS_H
#define TL_DAEMON_MOUNTS_H

#include <stddef.h>

/* Returns 1 if `path` (resolved with realpath) is a mount point, filling
 * fstype (e.g. "tmpfs", "fuse.tcplab"), 0 if it is not or does not exist,
 * or a negative errno. */
int mount_point_info(const char *path, char *fstype, size_t cap);

/* umount2(path, MNT_DETACH): detaches even a mount whose FUSE server is
 * gone. Returns 0 or a negative errno. */
int mount_detach(const char *path);

#endif
