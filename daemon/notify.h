/* Telling the world the daemon is ready (or stopping): "READY=1\n" on the
 * --ready-fd pipe, and sd_notify datagrams to $NOTIFY_SOCKET without
 * libsystemd. Main thread. */
#ifndef TL_DAEMON_NOTIFY_H
#define TL_DAEMON_NOTIFY_H

/* Checks that fd is open (start-up validation of --ready-fd) and marks it
 * close-on-exec so spawned ip(8) processes do not hold it. */
int notify_check_fd(int fd);

/* Writes "READY=1\n" to fd (if >= 0) and closes it, then sends READY=1 to
 * $NOTIFY_SOCKET if set. Returns 0 or a negative errno (the first failure;
 * both are attempted). */
int notify_ready(int fd);

/* Sends an arbitrary state ("STOPPING=1") to $NOTIFY_SOCKET if set. */
int notify_systemd(const char *state);

#endif
