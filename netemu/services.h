/* Built-in services of a stack host, so a lab has something to talk to:
 * echo (7), discard (9), chargen (19), a minimal HTTP/1.1 server (80), and
 * two teaching servers: "close-first" (8001) replies one line and closes at
 * once, leaving TIME_WAIT on the server side; "never-close" (8002) replies
 * and never closes, so CLOSE_WAIT piles up when clients leave.
 * Loop thread only. */
#ifndef TL_NETEMU_SERVICES_H
#define TL_NETEMU_SERVICES_H

#include <stdint.h>

#include "tl_types.h"

struct tcp_host;

#define SVC_PORT_ECHO 7
#define SVC_PORT_DISCARD 9
#define SVC_PORT_CHARGEN 19
#define SVC_PORT_HTTP 80
#define SVC_PORT_CLOSE_FIRST 8001
#define SVC_PORT_NEVER_CLOSE 8002

struct services;

/* Starts every service on th; NULL if a port is taken or memory is short. */
struct services *services_start(struct tcp_host *th, tl_usec_t now);
/* Closes the listeners and every connection the services still hold. */
void services_stop(struct services *s, tl_usec_t now);

#endif
