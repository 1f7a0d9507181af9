/* Stack host log lines (see report.h for their shapes). */
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tcp_state.h"
#include "tcp_wire.h"

static void format_flags(uint8_t flags, char *buf, size_t cap)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = { { TH_SYN, "SYN" }, { TH_FIN, "FIN" }, { TH_RST, "RST" },
		      { TH_PSH, "PSH" }, { TH_ACK, "ACK" }, { TH_URG, "URG" },
		      { TH_ECE, "ECE" }, { TH_CWR, "CWR" } };
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((flags & names[i].bit) && len < cap)
			len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? "," : "",
						names[i].name);
	if (!len)
		snprintf(buf, cap, "no flags");
}

void report_event(const char *host, const struct tl_event *ev)
{
	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	char why[48];
	if (ev->cause_kind == TL_CAUSE_SEGMENT)
		format_flags(ev->seg_flags, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s", ev->cause);

	switch (ev->kind) {
	case TL_EV_TCP_STATE:
		log_debug("%s conn %" PRIu64 ": %s -> %s (%s)", host, ev->conn_id,
			  tcp_state_name(ev->old_state), tcp_state_name(ev->new_state), why);
		return;
	case TL_EV_TCP_SYNACK_RETRANS:
		log_debug("%s conn %" PRIu64 ": SYN-ACK retransmit #%u", host, ev->conn_id,
			  ev->count);
		return;
	case TL_EV_TCP_RETRANS:
		log_debug("%s conn %" PRIu64 ": retransmit #%u (%s)", host, ev->conn_id,
			  ev->count, why);
		return;
	}
	log_debug("%s: event of unknown kind %d", host, (int)ev->kind);
}

void report_format_drops(const struct stack_counters *c, char *buf, size_t cap)
{
	/* The counters that mean "a frame or datagram was thrown away because
	 * it was malformed or not for us". */
	const struct {
		const char *name;
		uint64_t v;
	} drops[] = {
		{ "Ip.InHdrErrors", c->ip.InHdrErrors },
		{ "Ip.InAddrErrors", c->ip.InAddrErrors },
		{ "Ip.InUnknownProtos", c->ip.InUnknownProtos },
		{ "Ip.ReasmFails", c->ip.ReasmFails },
		{ "TlExt.RxRunts", c->tlext.RxRunts },
		{ "TlExt.RxNotForUs", c->tlext.RxNotForUs },
		{ "TlExt.RxUnknownEthertype", c->tlext.RxUnknownEthertype },
		{ "TlExt.ArpMalformed", c->tlext.ArpMalformed },
		{ "Icmp.InErrors", c->icmp.InErrors },
		{ "Icmp.InCsumErrors", c->icmp.InCsumErrors },
		{ "Tcp.InErrs", c->tcp.InErrs },
		{ "Tcp.InCsumErrors", c->tcp.InCsumErrors },
	};
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
		if (drops[i].v && len < cap)
			len += (size_t)snprintf(buf + len, cap - len, "%s%s=%" PRIu64,
						len ? " " : "", drops[i].name, drops[i].v);
	if (!len)
		snprintf(buf, cap, "none");
}

void report_drops(const char *host, const struct stack_counters *c)
{
	char buf[768];
	report_format_drops(c, buf, sizeof(buf));
	log_info("%s: drops: %s", host, buf);
}

/* Turns "X: a b c\nX: 1 2 3\n" pairs into "X: a=1 b=2 c=3" log lines. */
static void log_pairs(const char *host, const char *file, char *text)
{
	char *save = NULL;
	for (char *hdr = strtok_r(text, "\n", &save); hdr;
	     hdr = strtok_r(NULL, "\n", &save)) {
		char *val = strtok_r(NULL, "\n", &save);
		if (!val)
			break;
		char line[4096];
		size_t len = 0;
		char *hs = NULL, *vs = NULL;
		char *h = strtok_r(hdr, " ", &hs), *v = strtok_r(val, " ", &vs);
		len += (size_t)snprintf(line, sizeof(line), "%s", h ? h : "");
		while ((h = strtok_r(NULL, " ", &hs)) && (v = strtok_r(NULL, " ", &vs)) &&
		       len < sizeof(line))
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s=%s", h, v);
		log_info("%s: %s: %s", host, file, line);
	}
}

static void render_and_log(const char *host, const char *file,
			   size_t (*render)(const struct stack_counters *, char *, size_t),
			   const struct stack_counters *c)
{
	size_t need = render(c, NULL, 0) + 1;
	char *text = malloc(need);
	if (!text)
		return;
	render(c, text, need);
	log_pairs(host, file, text);
	free(text);
}

void report_counters(const char *host, const struct stack_counters *c)
{
	render_and_log(host, "snmp", counters_render_snmp, c);
	render_and_log(host, "netstat", counters_render_netstat, c);
}
