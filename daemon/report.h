/* Log lines about a stack host: its events (debug), its drop counters (at
 * shutdown) and its full counters (on SIGUSR1). These lines are an
 * interface: integration tests and users grep them, so their shape is
 * documented here.
 *
 *   "<host> conn <id>: SYN_RECV -> ESTABLISHED (ACK)"        event, debug
 *   "<host>: drops: Ip.InHdrErrors=12 TlExt.RxRunts=3"       info ("none")
 *   "<host>: snmp: Ip: Forwarding=1 DefaultTTL=64 ..."       info, one line
 *   "<host>: netstat: TcpExt: SyncookiesSent=0 ..."          per header/value pair
 *
 * Loop thread only. */
#ifndef TL_DAEMON_REPORT_H
#define TL_DAEMON_REPORT_H

#include <stddef.h>

#include "counters.h"
#include "event.h"

void report_event(const char *host, const struct tl_event *ev);

/* Formats the non-zero drop counters as "Ip.InHdrErrors=12 ..." (or
 * "none") into buf. */
void report_format_drops(const struct stack_counters *c, char *buf, size_t cap);
void report_drops(const char *host, const struct stack_counters *c);

/* Logs counters_render_snmp + counters_render_netstat, one line per
 * header/value pair, as name=value words. */
void report_counters(const char *host, const struct stack_counters *c);

#endif
