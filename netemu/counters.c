/* Rendering of the counters in procfs's paired header/value line format. */
#include "counters.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/* An appender that keeps counting when the buffer is full, like snprintf. */
struct out {
	char *buf;
	size_t cap, len;
};

static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = o->len < o->cap ? o->cap - o->len : 0;
	int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

#define NAME_OUT(name) out_printf(o, " %s", #name);
#define VALUE_OUT(name) out_printf(o, " %" PRIu64, m->name);
/* Tcp's values are signed in Linux (MaxConn is -1). */
#define SVALUE_OUT(name) out_printf(o, " %" PRId64, (int64_t)m->name);

#define RENDER_GROUP(o, label, LIST, m, VAL)                                 \
	do {                                                                     \
		out_printf(o, "%s:", label);                                         \
		LIST(NAME_OUT)                                                       \
		out_printf(o, "\n%s:", label);                                       \
		LIST(VAL)                                                            \
		out_printf(o, "\n");                                                 \
	} while (0)

size_t counters_render_snmp(const struct stack_counters *c, char *buf, size_t cap)
{
	struct out out = { buf, cap, 0 }, *o = &out;
	if (cap)
		buf[0] = '\0';
	{
		const struct mib_ip *m = &c->ip;
		RENDER_GROUP(o, "Ip", TL_MIB_IP, m, VALUE_OUT);
	}
	{
		const struct mib_icmp *m = &c->icmp;
		RENDER_GROUP(o, "Icmp", TL_MIB_ICMP, m, VALUE_OUT);
	}
	{
		/* Linux fixed values: RtoAlgorithm 1, RtoMin/RtoMax in ms, MaxConn -1. */
		struct mib_tcp fixed = c->tcp;
		fixed.RtoAlgorithm = 1;
		fixed.RtoMin = 200;
		fixed.RtoMax = 120000;
		fixed.MaxConn = (uint64_t)-1;
		const struct mib_tcp *m = &fixed;
		RENDER_GROUP(o, "Tcp", TL_MIB_TCP, m, SVALUE_OUT);
	}
	{
		const struct mib_udp *m = &c->udp;
		RENDER_GROUP(o, "Udp", TL_MIB_UDP, m, VALUE_OUT);
	}
	return out.len;
}

size_t counters_render_netstat(const struct stack_counters *c, char *buf, size_t cap)
{
	struct out out = { buf, cap, 0 }, *o = &out;
	if (cap)
		buf[0] = '\0';
	{
		const struct mib_tcpext *m = &c->tcpext;
		RENDER_GROUP(o, "TcpExt", TL_MIB_TCPEXT, m, VALUE_OUT);
	}
	{
		const struct mib_tlext *m = &c->tlext;
		RENDER_GROUP(o, "TlExt", TL_MIB_TLEXT, m, VALUE_OUT);
	}
	return out.len;
}
