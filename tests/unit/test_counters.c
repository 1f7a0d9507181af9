/* Unit tests for counters.c: the /proc/net/snmp and /proc/net/netstat
 * renderings. Header lines must match Linux's names and order exactly
 * (copied from /proc/net/snmp of Linux 6.18), each value line must have as
 * many fields as its header, and each value must land under its name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "counters.h"

static const char *linux_ip_hdr =
	"Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams "
	"InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes "
	"ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates "
	"OutTransmits";
static const char *linux_icmp_hdr =
	"Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs "
	"InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps "
	"InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal "
	"OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs "
	"OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks "
	"OutAddrMaskReps";
static const char *linux_tcp_hdr =
	"Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails "
	"EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors";
static const char *linux_udp_hdr =
	"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors "
	"InCsumErrors IgnoredMulti MemErrors";

/* Line `idx` (0-based) of text, copied into out without its newline. */
static void line_at(const char *text, int idx, char *out, size_t cap)
{
	const char *p = text;
	for (int i = 0; i < idx; i++) {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	const char *e = strchr(p, '\n');
	assert_non_null(e); /* every line ends with a newline */
	size_t n = (size_t)(e - p);
	assert_true(n < cap);
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Splits "Label: a b c" into words after the label; returns the count. */
static int split_fields(char *line, const char *label, char **f, int max)
{
	size_t ll = strlen(label);
	assert_memory_equal(line, label, ll);
	assert_int_equal(line[ll], ':');
	int n = 0;
	char *save = NULL;
	for (char *w = strtok_r(line + ll + 1, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		assert_true(n < max);
		f[n++] = w;
	}
	return n;
}

static void render_snmp(const struct stack_counters *c, char *buf, size_t cap)
{
	size_t n = counters_render_snmp(c, buf, cap);
	assert_true(n < cap);
	assert_int_equal(strlen(buf), n);
}

/* The Ip: and Icmp: header lines, byte for byte as Linux prints them,
 * and Tcp:/Udp: after them, in Linux's order of groups. */
static void test_linux_snmp_header_lines_exact(void **state)
{
	(void)state;
	static struct stack_counters c;
	char buf[8192], line[2048];
	render_snmp(&c, buf, sizeof(buf));
	line_at(buf, 0, line, sizeof(line));
	assert_string_equal(line, linux_ip_hdr);
	line_at(buf, 2, line, sizeof(line));
	assert_string_equal(line, linux_icmp_hdr);
	line_at(buf, 4, line, sizeof(line));
	assert_string_equal(line, linux_tcp_hdr);
	line_at(buf, 6, line, sizeof(line));
	assert_string_equal(line, linux_udp_hdr);
	/* Exactly four pairs, nothing after. */
	const char *p = buf;
	int lines = 0;
	while ((p = strchr(p, '\n'))) {
		p++;
		lines++;
	}
	assert_int_equal(lines, 8);
}

/* Each value line has as many single-space separated decimal fields as
 * its header, and each counter's value sits under its own name. */
static void check_pair(const char *buf, int hdr_line, const char *label,
		       const char *const *names, const uint64_t *values, size_t nvalues)
{
	char h[2048], v[2048];
	char *hf[64], *vf[64];
	line_at(buf, hdr_line, h, sizeof(h));
	line_at(buf, hdr_line + 1, v, sizeof(v));
	assert_null(strstr(v, "  ")); /* single spaces */
	int nh = split_fields(h, label, hf, 64);
	int nv = split_fields(v, label, vf, 64);
	assert_int_equal(nh, nv);
	assert_int_equal((size_t)nh, nvalues);
	for (int i = 0; i < nh; i++) {
		assert_string_equal(hf[i], names[i]);
		char want[32];
		snprintf(want, sizeof(want), "%llu", (unsigned long long)values[i]);
		if (strcmp(vf[i], want) != 0)
			fail_msg("%s %s: rendered %s, want %s", label, hf[i], vf[i], want);
	}
}

#define NAME_STR(n) #n,

static void test_linux_snmp_values_line_up_with_names(void **state)
{
	(void)state;
	static struct stack_counters c;
	/* Distinct values: a misplaced field shows up as a wrong number. */
	uint64_t *ip = (uint64_t *)&c.ip, *icmp = (uint64_t *)&c.icmp, *udp = (uint64_t *)&c.udp;
	size_t nip = sizeof(c.ip) / 8, nicmp = sizeof(c.icmp) / 8, nudp = sizeof(c.udp) / 8;
	for (size_t i = 0; i < nip; i++)
		ip[i] = 1000 + i;
	for (size_t i = 0; i < nicmp; i++)
		icmp[i] = 2000 + i;
	for (size_t i = 0; i < nudp; i++)
		udp[i] = 3000 + i;
	c.ip.InReceives = 18446744073709551615ULL; /* full 64-bit range prints */
	char buf[8192];
	render_snmp(&c, buf, sizeof(buf));

	static const char *const ip_names[] = { TL_MIB_IP(NAME_STR) };
	static const char *const icmp_names[] = { TL_MIB_ICMP(NAME_STR) };
	static const char *const udp_names[] = { TL_MIB_UDP(NAME_STR) };
	check_pair(buf, 0, "Ip", ip_names, ip, nip);
	check_pair(buf, 2, "Icmp", icmp_names, icmp, nicmp);
	check_pair(buf, 6, "Udp", udp_names, udp, nudp);
	assert_int_equal(nip, 20);
	assert_int_equal(nicmp, 29);
}

/* Linux: Tcp's first four values are constants (RtoAlgorithm 1, RtoMin
 * 200 ms, RtoMax 120000 ms, MaxConn -1), the rest are counters. */
static void test_linux_snmp_tcp_fixed_values(void **state)
{
	(void)state;
	static struct stack_counters c;
	c.tcp.ActiveOpens = 3;
	c.tcp.CurrEstab = 1;
	c.tcp.InCsumErrors = 7;
	char buf[8192], v[512];
	render_snmp(&c, buf, sizeof(buf));
	line_at(buf, 5, v, sizeof(v));
	assert_string_equal(v, "Tcp: 1 200 120000 -1 3 0 0 0 1 0 0 0 0 0 7");
}

/* Like snprintf: a short buffer gets a NUL-terminated prefix and the
 * return value is the full length; cap 0 writes nothing. */
static void test_render_truncates_like_snprintf(void **state)
{
	(void)state;
	static struct stack_counters c;
	char full[8192];
	size_t n = counters_render_snmp(&c, full, sizeof(full));
	assert_true(n > 100);
	char small[40];
	memset(small, 'x', sizeof(small));
	assert_int_equal(counters_render_snmp(&c, small, sizeof(small)), n);
	assert_int_equal(small[sizeof(small) - 1], '\0');
	assert_memory_equal(small, full, sizeof(small) - 1);
	assert_int_equal(counters_render_snmp(&c, NULL, 0), n);
	char one = 'x';
	assert_int_equal(counters_render_snmp(&c, &one, 1), n);
	assert_int_equal(one, '\0');

	size_t m = counters_render_netstat(&c, full, sizeof(full));
	assert_int_equal(counters_render_netstat(&c, small, sizeof(small)), m);
	assert_memory_equal(small, full, sizeof(small) - 1);
}

/* net/netstat: a TcpExt pair then tcplab's TlExt pair, names from the
 * lists, field counts matching. */
static void test_netstat_pairs_line_up(void **state)
{
	(void)state;
	static struct stack_counters c;
	uint64_t *te = (uint64_t *)&c.tcpext, *tl = (uint64_t *)&c.tlext;
	size_t nte = sizeof(c.tcpext) / 8, ntl = sizeof(c.tlext) / 8;
	for (size_t i = 0; i < nte; i++)
		te[i] = 40 + i;
	for (size_t i = 0; i < ntl; i++)
		tl[i] = 900 + i;
	char buf[16384];
	size_t n = counters_render_netstat(&c, buf, sizeof(buf));
	assert_true(n < sizeof(buf));
	static const char *const te_names[] = { TL_MIB_TCPEXT(NAME_STR) };
	static const char *const tl_names[] = { TL_MIB_TLEXT(NAME_STR) };
	check_pair(buf, 0, "TcpExt", te_names, te, nte);
	check_pair(buf, 2, "TlExt", tl_names, tl, ntl);
	assert_non_null(strstr(buf, "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed "
				    "EmbryonicRsts"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_snmp_header_lines_exact),
		cmocka_unit_test(test_linux_snmp_values_line_up_with_names),
		cmocka_unit_test(test_linux_snmp_tcp_fixed_values),
		cmocka_unit_test(test_render_truncates_like_snprintf),
		cmocka_unit_test(test_netstat_pairs_line_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
