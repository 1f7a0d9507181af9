/* tl-diffprobe: a scripted raw-frame TCP prober for differential tests
 * (tests/integration/test_tcp_differential.sh). It runs the same scripted
 * exchange against any TCP listener — the Linux kernel or a tcplab stack
 * host — and prints a normalized transcript, so that two runs can be
 * compared line by line.
 *
 *   ip netns exec NS tl-diffprobe [-v] -i IFACE [-s SRC] [-d DST] SCENARIO
 *   tl-diffprobe compare KERNEL_TRANSCRIPT STACK_TRANSCRIPT
 *   tl-diffprobe list
 *
 * The prober owns a spoofed address (default 198.18.0.77) and its own MAC
 * on IFACE, through an AF_PACKET socket: it answers ARP for that address,
 * crafts every TCP segment itself and reads the replies. IFACE must carry
 * no kernel address in the same subnet, or the kernel would answer too;
 * a kernel address elsewhere in the subnet (the lab peer's .2) is fine,
 * since frames for our MAC are not for it. Addresses outside
 * 198.18.0.0/15 are refused.
 *
 * Transcript: one line per step. ">" lines are what we sent, "<" lines
 * what came back. Sequence numbers are printed relative to the target's
 * ISN (T), ours (O) or an arbitrary acknowledgment number we chose (A);
 * options as the kinds on the wire in order; timing as t=SECONDS since
 * the scenario's mark. `compare` matches the transcripts token by token,
 * allowing t= tokens to differ by max(300 ms, 20% of the kernel's value).
 *
 * Every scenario is bounded (at most ~15 s); the whole run stops after
 * 60 s whatever happens. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LAB_NET 0xc6120000u  /* 198.18.0.0/15 */
#define LAB_MASK 0xfffe0000u

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

#define MAX_OPTS 40
#define DATA_KEEP 256
#define TL_MIN_SZ(a, b) ((a) < (b) ? (a) : (b))

/* ---- wire helpers ---- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += rd16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t pseudo_sum(uint32_t src, uint32_t dst, size_t tcp_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + (uint32_t)tcp_len;
}

/* A received TCP segment, host order. `kinds` lists the option kinds in
 * wire order (NOPs included, the walk stops at EOL or a bad length). */
struct seg {
	double t;            /* arrival, seconds on the monotonic clock */
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t wnd;
	uint8_t kinds[MAX_OPTS];
	int nkinds;
	uint16_t mss;
	bool has_ts;
	uint32_t tsval, tsecr;
	uint32_t sack[4][2]; /* SACK blocks [start, end), in wire order */
	int nsack;
	bool csum_bad;
	uint32_t len;
	uint8_t data[DATA_KEEP];
	const uint8_t *payload; /* valid until the next receive */
};

/* Options to put in a segment we send. */
enum optset {
	OPT_NONE,
	OPT_MSS,          /* MSS 1460 */
	OPT_LINUX_SYN,    /* MSS, SACK_PERM, TS, NOP, WS 7: a Linux client's SYN */
	OPT_SYN_NO_TS,    /* MSS, NOP, NOP, SACK_PERM, NOP, WS 7: no timestamps */
};

/* The prober's view of one connection. Invariants: have_T iff a SYN from
 * the target was seen since the last new_conn(); ts_recent is the last
 * TSval the target sent; our_ts is the TSval of our last segment. */
struct probe {
	int fd, ifindex;
	uint8_t mac[6], peer_mac[6];
	uint32_t src, dst;   /* host order */
	uint16_t sport, dport;
	uint32_t O, T, A;    /* our ISN, theirs, and an ACK value we invented */
	bool have_T, have_A;
	bool ts;             /* put timestamps on our non-SYN segments */
	uint32_t ts_recent, our_ts;
	uint32_t rcv_next;   /* next payload byte expected from the target (0: T + 1) */
	uint16_t wnd;        /* window field we advertise */
	double start, mark;
	int verbose;
	uint64_t rng;
	uint8_t rxbuf[65536 + 256];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t rnd32(struct probe *p)
{
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	return (uint32_t)(p->rng >> 11);
}

static void vlog(struct probe *p, const char *fmt, ...)
{
	if (!p->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "[%8.3f] ", now_s() - p->start);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The transcript (stdout), flushed line by line so a killed run still
 * shows how far it got. */
static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* ---- frames out ---- */

static void send_frame(struct probe *p, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = p->ifindex,
				  .sll_halen = 6 };
	memcpy(to.sll_addr, frame, 6);
	if (sendto(p->fd, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len)
		fprintf(stderr, "tl-diffprobe: sendto: %s\n", strerror(errno));
}

static void send_arp(struct probe *p, uint16_t op, const uint8_t *tha, uint32_t tpa,
		     const uint8_t *dst_mac)
{
	uint8_t f[60] = { 0 };
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, p->mac, 6);
	wr16(f + 12, ETH_P_ARP);
	uint8_t *a = f + 14;
	wr16(a, 1);
	wr16(a + 2, ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, p->mac, 6);
	wr32(a + 14, p->src);
	memcpy(a + 18, tha, 6);
	wr32(a + 24, tpa);
	send_frame(p, f, sizeof(f));
}

static size_t put_opts(struct probe *p, enum optset set, bool syn, uint8_t *o)
{
	size_t n = 0;
	bool ts = syn ? (set == OPT_LINUX_SYN) : p->ts;
	if (syn && set != OPT_NONE) {
		o[n++] = 2; o[n++] = 4;
		wr16(o + n, 1460);
		n += 2;
	}
	if (syn && set == OPT_LINUX_SYN) {
		o[n++] = 4; o[n++] = 2; /* SACK_PERM, then TS right after */
	} else if (syn && set == OPT_SYN_NO_TS) {
		o[n++] = 1; o[n++] = 1; o[n++] = 4; o[n++] = 2;
	} else if (ts) {
		o[n++] = 1; o[n++] = 1;
	}
	if (ts) {
		p->our_ts = (uint32_t)((now_s() - p->start) * 1000.0) + 1000;
		o[n++] = 8; o[n++] = 10;
		wr32(o + n, p->our_ts);
		wr32(o + n + 4, syn ? 0 : p->ts_recent);
		n += 8;
	}
	if (syn && (set == OPT_LINUX_SYN || set == OPT_SYN_NO_TS)) {
		o[n++] = 1; o[n++] = 3; o[n++] = 3; o[n++] = 7;
	}
	while (n % 4)
		o[n++] = 0;
	return n;
}

/* Sends one TCP segment with absolute numbers. */
static void tx_raw(struct probe *p, uint8_t flags, uint32_t seq, uint32_t ack, enum optset set,
		   const void *data, size_t len)
{
	uint8_t f[14 + 20 + 60 + 1500];
	if (len > 1400)
		len = 1400;
	uint8_t *ip = f + 14, *t = f + 34;
	size_t olen = put_opts(p, set, flags & TH_SYN, t + 20);
	size_t tlen = 20 + olen + len;
	memcpy(f, p->peer_mac, 6);
	memcpy(f + 6, p->mac, 6);
	wr16(f + 12, ETH_P_IP);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(20 + tlen));
	wr16(ip + 4, (uint16_t)rnd32(p));
	wr16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 6;
	wr32(ip + 12, p->src);
	wr32(ip + 16, p->dst);
	wr16(ip + 10, fold(sum16(ip, 20, 0)));
	wr16(t, p->sport);
	wr16(t + 2, p->dport);
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = (uint8_t)(((20 + olen) / 4) << 4);
	t[13] = flags;
	wr16(t + 14, p->wnd);
	wr16(t + 16, 0);
	wr16(t + 18, 0);
	if (len)
		memcpy(t + 20 + olen, data, len);
	wr16(t + 16, fold(sum16(t, tlen, pseudo_sum(p->src, p->dst, tlen))));
	vlog(p, "tx flags %02x seq %u ack %u win %u len %zu", flags, seq, ack, p->wnd, len);
	send_frame(p, f, 14 + 20 + tlen);
}

/* ---- frames in ---- */

static void parse_opts(const uint8_t *o, size_t n, struct seg *s)
{
	size_t i = 0;
	while (i < n && s->nkinds < MAX_OPTS) {
		uint8_t k = o[i];
		if (k == 0)
			break;
		if (k == 1) {
			s->kinds[s->nkinds++] = 1;
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || o[i + 1] > n - i)
			break;
		uint8_t l = o[i + 1];
		s->kinds[s->nkinds++] = k;
		if (k == 2 && l == 4)
			s->mss = rd16(o + i + 2);
		for (size_t b = 2; k == 5 && b + 8 <= l && s->nsack < 4; b += 8) {
			s->sack[s->nsack][0] = rd32(o + i + b);
			s->sack[s->nsack++][1] = rd32(o + i + b + 4);
		}
		if (k == 8 && l == 10) {
			s->has_ts = true;
			s->tsval = rd32(o + i + 2);
			s->tsecr = rd32(o + i + 6);
		}
		i += l;
	}
}

/* Handles one frame: answers ARP for our address, learns the target's
 * MAC, and returns 1 with *s filled for a TCP segment of our connection. */
static int handle_frame(struct probe *p, const uint8_t *f, size_t n, bool csum_unchecked,
			struct seg *s)
{
	if (n < 14)
		return 0;
	uint16_t type = rd16(f + 12);
	if (type == ETH_P_ARP && n >= 42) {
		const uint8_t *a = f + 14;
		uint16_t op = rd16(a + 6);
		uint32_t spa = rd32(a + 14), tpa = rd32(a + 24);
		if (op == 1 && tpa == p->src) {
			vlog(p, "arp who-has our address from %08x: answering", spa);
			send_arp(p, 2, a + 8, spa, a + 8);
		}
		if (spa == p->dst && (op == 2 || op == 1))
			memcpy(p->peer_mac, a + 8, 6);
		return 0;
	}
	if (type != ETH_P_IP || n < 34 || memcmp(f, p->mac, 6) != 0)
		return 0;
	const uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 15) * 4, tot = rd16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || 14 + tot > n || ip[9] != 6)
		return 0;
	if (rd32(ip + 12) != p->dst || rd32(ip + 16) != p->src)
		return 0;
	const uint8_t *t = ip + ihl;
	size_t tlen = tot - ihl;
	if (tlen < 20)
		return 0;
	size_t doff = (size_t)(t[12] >> 4) * 4;
	if (doff < 20 || doff > tlen)
		return 0;
	if (rd16(t) != p->dport || rd16(t + 2) != p->sport)
		return 0;
	memset(s, 0, sizeof(*s));
	s->t = now_s();
	s->flags = t[13];
	s->seq = rd32(t + 4);
	s->ack = rd32(t + 8);
	s->wnd = rd16(t + 14);
	parse_opts(t + 20, doff - 20, s);
	s->len = (uint32_t)(tlen - doff);
	s->payload = t + doff;
	memcpy(s->data, t + doff, s->len < DATA_KEEP ? s->len : DATA_KEEP);
	/* The kernel hands over veth frames before the checksum is filled
	 * in (offload); only frames it marks complete are checked. */
	if (!csum_unchecked)
		s->csum_bad = fold(sum16(t, tlen, pseudo_sum(p->dst, p->src, tlen))) != 0;
	if (s->has_ts)
		p->ts_recent = s->tsval;
	if ((s->flags & TH_SYN) && !p->have_T) {
		p->T = s->seq;
		p->have_T = true;
	}
	vlog(p, "rx flags %02x seq %u ack %u win %u len %u", s->flags, s->seq, s->ack, s->wnd,
	     s->len);
	return 1;
}

/* Waits up to `timeout` seconds for the next segment of our connection. */
static int rx(struct probe *p, double timeout, struct seg *s)
{
	double end = now_s() + timeout;
	for (;;) {
		double left = end - now_s();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)(left * 1000.0) + 1);
		if (r <= 0)
			continue;
		uint8_t cbuf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		struct sockaddr_ll from;
		struct iovec iov = { .iov_base = p->rxbuf, .iov_len = sizeof(p->rxbuf) };
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from),
				    .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(p->fd, &m, MSG_DONTWAIT);
		if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		bool unchecked = false;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
				struct tpacket_auxdata aux;
				memcpy(&aux, CMSG_DATA(c), sizeof(aux));
				unchecked = aux.tp_status & TP_STATUS_CSUMNOTREADY;
			}
		}
		if (handle_frame(p, p->rxbuf, (size_t)n, unchecked, s))
			return 1;
	}
}

/* ---- normalized printing ---- */

static void rel(char *buf, size_t cap, uint32_t v, char base, uint32_t b)
{
	int32_t d = (int32_t)(v - b);
	if (d == 0)
		snprintf(buf, cap, "%c", base);
	else
		snprintf(buf, cap, "%c%+d", base, d);
}

/* v relative to the nearest of T, O and A (prefer `first`), or "0"/"?". */
static void fmt_num(const struct probe *p, uint32_t v, char first, char *buf, size_t cap)
{
	struct {
		char name;
		uint32_t base;
		bool ok;
	} b[3] = { { 'T', p->T, p->have_T }, { 'O', p->O, true }, { 'A', p->A, p->have_A } };
	int order[3] = { 0, 1, 2 };
	if (v == 0) { /* a zero field (a RST's seq): never "A+n" for a random A near 0 */
		snprintf(buf, cap, "0");
		return;
	}
	if (first == 'O') {
		order[0] = 1;
		order[1] = 0;
	}
	for (int i = 0; i < 3; i++) {
		int k = order[i];
		int32_t d = (int32_t)(v - b[k].base);
		if (b[k].ok && d > -(1 << 20) && d < (1 << 20)) {
			rel(buf, cap, v, b[k].name, b[k].base);
			return;
		}
	}
	snprintf(buf, cap, "%s", v == 0 ? "0" : "?");
}

static const char *flag_str(uint8_t f, char *buf)
{
	char *q = buf;
	*q++ = '[';
	if (f & TH_SYN) *q++ = 'S';
	if (f & TH_FIN) *q++ = 'F';
	if (f & TH_RST) *q++ = 'R';
	if (f & TH_PSH) *q++ = 'P';
	if (f & 0x20) *q++ = 'U';
	if (f & 0x40) *q++ = 'E';
	if (f & 0x80) *q++ = 'W';
	if (f & TH_ACK) *q++ = '.';
	*q++ = ']';
	*q = 0;
	return buf;
}

/* Quoted payload with no blank in it (spaces become \x20), so that a
 * transcript line splits into tokens on blanks. */
static void escape(const uint8_t *d, size_t n, char *buf, size_t cap)
{
	size_t o = 0;
	buf[o++] = '"';
	for (size_t i = 0; i < n && o + 6 < cap; i++) {
		if (d[i] == '\n') { buf[o++] = '\\'; buf[o++] = 'n'; }
		else if (d[i] == '\r') { buf[o++] = '\\'; buf[o++] = 'r'; }
		else if (d[i] >= 0x21 && d[i] < 0x7f && d[i] != '"' && d[i] != '\\') buf[o++] = (char)d[i];
		else o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", d[i]);
	}
	buf[o++] = '"';
	buf[o] = 0;
}

/* One received segment, normalized: flags, seq, ack, zero window,
 * options, timestamp echo, payload. */
static void fmt_seg(const struct probe *p, const struct seg *s, char *buf, size_t cap)
{
	char f[16], sq[24], ak[24];
	flag_str(s->flags, f);
	fmt_num(p, s->seq, 'T', sq, sizeof(sq));
	size_t o = (size_t)snprintf(buf, cap, "%s seq=%s", f, sq);
	if (s->flags & TH_ACK) {
		fmt_num(p, s->ack, 'O', ak, sizeof(ak));
		o += (size_t)snprintf(buf + o, cap - o, " ack=%s", ak);
	}
	if (s->wnd == 0)
		o += (size_t)snprintf(buf + o, cap - o, " win=0");
	if (s->nkinds) {
		o += (size_t)snprintf(buf + o, cap - o, " opts=");
		for (int i = 0; i < s->nkinds && o < cap; i++) {
			const char *sep = i ? "," : "";
			switch (s->kinds[i]) {
			case 1: o += (size_t)snprintf(buf + o, cap - o, "%snop", sep); break;
			case 2: o += (size_t)snprintf(buf + o, cap - o, "%smss%u", sep, s->mss); break;
			case 3: o += (size_t)snprintf(buf + o, cap - o, "%sws", sep); break;
			case 4: o += (size_t)snprintf(buf + o, cap - o, "%ssackok", sep); break;
			case 5: o += (size_t)snprintf(buf + o, cap - o, "%ssack", sep); break;
			case 8: o += (size_t)snprintf(buf + o, cap - o, "%sts", sep); break;
			default: o += (size_t)snprintf(buf + o, cap - o, "%skind%u", sep, s->kinds[i]);
			}
		}
	}
	/* SACK blocks are about our bytes: relative to O. */
	for (int i = 0; i < s->nsack && o < cap; i++) {
		char a[24], b[24];
		fmt_num(p, s->sack[i][0], 'O', a, sizeof(a));
		fmt_num(p, s->sack[i][1], 'O', b, sizeof(b));
		o += (size_t)snprintf(buf + o, cap - o, "%s%s..%s", i ? "," : " sack=", a, b);
	}
	if (s->has_ts && o < cap)
		o += (size_t)snprintf(buf + o, cap - o, " ecr=%s",
				      s->tsecr == 0 ? "0" : s->tsecr == p->our_ts ? "ours" : "old");
	if (s->len && o < cap) {
		char d[96];
		if (s->len <= 24)
			escape(s->data, s->len, d, sizeof(d));
		else
			snprintf(d, sizeof(d), "%u-bytes", s->len);
		o += (size_t)snprintf(buf + o, cap - o, " data=%s", d);
	}
	if (s->csum_bad && o < cap)
		snprintf(buf + o, cap - o, " BAD-CHECKSUM");
}

static void print_seg(const struct probe *p, const struct seg *s, bool timed)
{
	char b[512];
	fmt_seg(p, s, b, sizeof(b));
	if (timed)
		out("< t=%.2f %s", s->t - p->mark, b);
	else
		out("< %s", b);
}

/* ---- script verbs: each prints its transcript line ---- */

/* A fresh connection: new source port, new ISN, no target ISN yet. */
static void new_conn(struct probe *p, uint16_t dport)
{
	p->sport = (uint16_t)(20000 + rnd32(p) % 40000);
	p->dport = dport;
	p->O = rnd32(p);
	p->have_T = false;
	p->have_A = false;
	p->ts = false;
	p->ts_recent = 0;
	p->rcv_next = 0;
	p->wnd = 64240;
	out("# connection to port %u", dport);
}

static const char *optset_name(enum optset set)
{
	switch (set) {
	case OPT_NONE: return "";
	case OPT_MSS: return " opts=mss1460";
	case OPT_LINUX_SYN: return " opts=mss1460,sackok,ts,nop,ws7";
	case OPT_SYN_NO_TS: return " opts=mss1460,nop,nop,sackok,nop,ws7";
	}
	return "";
}

static void send_syn(struct probe *p, enum optset set)
{
	char f[16];
	p->ts = set == OPT_LINUX_SYN;
	tx_raw(p, TH_SYN, p->O, 0, set, NULL, 0);
	out("> %s seq=O win=%u%s", flag_str(TH_SYN, f), p->wnd, optset_name(set));
}

/* Sends flags with seq = O + dseq and ack = T + dack. */
static void send_rel(struct probe *p, uint8_t flags, int32_t dseq, int32_t dack, const char *data)
{
	char f[16], d[96] = "";
	size_t len = data ? strlen(data) : 0;
	uint32_t ack = (flags & TH_ACK) ? p->T + (uint32_t)dack : 0;
	tx_raw(p, flags, p->O + (uint32_t)dseq, ack, OPT_NONE, data, len);
	if (len) {
		char e[64];
		escape((const uint8_t *)data, len, e, sizeof(e));
		snprintf(d, sizeof(d), " data=%s", e);
	}
	if (flags & TH_ACK)
		out("> %s seq=O%+d ack=T%+d%s%s%s", flag_str(flags, f), dseq, dack,
		    p->wnd == 0 ? " win=0" : "", p->ts ? " ts" : "", d);
	else
		out("> %s seq=O%+d%s%s", flag_str(flags, f), dseq, p->ts ? " ts" : "", d);
}

/* Sends an ACK for a number the target never sent (A, chosen at random). */
static void send_forged_ack(struct probe *p, uint8_t flags)
{
	char f[16];
	p->A = rnd32(p);
	p->have_A = true;
	tx_raw(p, flags, p->O + 1, p->A, OPT_NONE, NULL, 0);
	out("> %s seq=O+1 ack=A (A: nothing the target sent)", flag_str(flags, f));
}

static bool pure_ack(const struct seg *s)
{
	return s->len == 0 && !(s->flags & (TH_SYN | TH_FIN | TH_RST));
}

/* Waits up to ms for one segment and prints it (or that none came).
 * With skip_acks, pure ACKs before it are passed over: whether an ACK
 * travels alone or rides on the next segment is a timing detail. */
static bool expect(struct probe *p, int ms, bool skip_acks, struct seg *got)
{
	struct seg s;
	double end = now_s() + ms / 1000.0;
	while (rx(p, end - now_s(), &s)) {
		if (skip_acks && pure_ack(&s))
			continue;
		print_seg(p, &s, false);
		if (got)
			*got = s;
		return true;
	}
	out("< nothing within %.1fs", ms / 1000.0);
	return false;
}

/* Records everything that arrives during ms; "quiet" if nothing. */
static void quiet(struct probe *p, int ms)
{
	struct seg s;
	double end = now_s() + ms / 1000.0;
	bool any = false;
	while (rx(p, end - now_s(), &s)) {
		print_seg(p, &s, false);
		any = true;
	}
	if (!any)
		out("< quiet for %.1fs", ms / 1000.0);
}

static void mark(struct probe *p)
{
	p->mark = now_s();
}

/* Prints every segment arriving during ms with its time since the mark.
 * With answer_probes, a segment carrying no new data is answered as a
 * receiver would: an ACK of what we have, with our current window. */
static void timeline(struct probe *p, int ms, bool answer_probes, int32_t our_seq,
		     int32_t our_ack)
{
	struct seg s;
	double end = p->mark + ms / 1000.0;
	int n = 0;
	while (rx(p, end - now_s(), &s)) {
		print_seg(p, &s, true);
		n++;
		if (answer_probes && s.len == 0 && !(s.flags & (TH_RST | TH_SYN | TH_FIN)))
			tx_raw(p, TH_ACK, p->O + (uint32_t)our_seq, p->T + (uint32_t)our_ack,
			       OPT_NONE, NULL, 0);
	}
	out("< (%d segment%s in %.1fs)", n, n == 1 ? "" : "s", ms / 1000.0);
}

/* FNV-1a, to compare long payloads by content. */
static uint32_t fnv(uint32_t h, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 16777619u;
	return h;
}

/* Collects `want` bytes of in-order payload (want 0: until a FIN),
 * ignoring pure ACKs and duplicates, and prints what arrived as one line:
 * segmentation is the sender's business. With ack_each, every segment
 * is acknowledged at once (silently: the number of ACKs depends on the
 * segmentation). Our ACKs carry seq O + our_seq. */
static uint32_t collect(struct probe *p, uint32_t want, int ms, bool ack_each, int32_t our_seq)
{
	struct seg s;
	double end = now_s() + ms / 1000.0;
	uint32_t next = p->T + 1, got = 0, h = 2166136261u;
	uint8_t head[64];
	bool fin = false, csum_bad = false;
	if (p->rcv_next) /* continue where earlier data ended */
		next = p->rcv_next;
	uint32_t first = next;
	while (!(want && got >= want) && !fin && rx(p, end - now_s(), &s)) {
		if (s.flags & TH_RST) {
			print_seg(p, &s, false);
			break;
		}
		if (s.csum_bad)
			csum_bad = true;
		if (s.len && s.seq == next) {
			if (got < sizeof(head))
				memcpy(head + got, s.data,
				       TL_MIN_SZ(sizeof(head) - got, TL_MIN_SZ(s.len, DATA_KEEP)));
			h = fnv(h, s.payload, s.len);
			got += s.len;
			next += s.len;
		}
		if ((s.flags & TH_FIN) && s.seq + s.len == next) {
			fin = true;
			next++;
		}
		if (ack_each && (s.len || (s.flags & TH_FIN)))
			tx_raw(p, TH_ACK, p->O + (uint32_t)our_seq, next, OPT_NONE, NULL, 0);
	}
	p->rcv_next = next;
	char d[160], sq[24];
	if (got <= 24)
		escape(head, got, d, sizeof(d));
	else
		snprintf(d, sizeof(d), "%u-bytes fnv=%08x", got, h);
	fmt_num(p, first, 'T', sq, sizeof(sq));
	out("< data from seq=%s: %s%s%s", sq, d, fin ? " +FIN" : "", csum_bad ? " BAD-CHECKSUM" : "");
	return next;
}

/* ---- scenarios ---- */

/* Handshake with a Linux client's options, an echo, and an orderly close:
 * SYN-ACK option kinds and order, ack = ISN + 1, TS echo. */
static void sc_handshake(struct probe *p)
{
	new_conn(p, 7);
	send_syn(p, OPT_LINUX_SYN);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_ACK, 1, 1, NULL);
	send_rel(p, TH_PSH | TH_ACK, 1, 1, "hello\n");
	collect(p, 6, 1000, true, 7);
	send_rel(p, TH_FIN | TH_ACK, 7, 7, NULL);
	expect(p, 1000, true, NULL);
	send_rel(p, TH_ACK, 8, 8, NULL);
	quiet(p, 500);
}

/* RFC 9293 §3.10.7.1: a closed port resets everything but a reset. */
static void sc_closed(struct probe *p)
{
	new_conn(p, 9999);
	send_syn(p, OPT_MSS);
	expect(p, 1000, false, NULL);
	send_forged_ack(p, TH_ACK);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_PSH, 0, 0, "x"); /* no ACK bit: RST/ACK acking seq + len */
	expect(p, 1000, false, NULL);
	send_forged_ack(p, TH_FIN | TH_ACK);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_RST, 0, 0, NULL);
	quiet(p, 500);
}

/* tcp_synack_retries = 2 (set by the caller on the target): SYN-ACKs at
 * 0, 1, 3 s, the request dropped at 7 s; a late ACK then meets a reset. */
static void sc_synack_retries(struct probe *p)
{
	new_conn(p, 7);
	send_syn(p, OPT_MSS);
	mark(p);
	timeline(p, 8500, false, 0, 0);
	send_rel(p, TH_ACK, 1, 1, NULL);
	expect(p, 1000, false, NULL);
}

/* tcp_syncookies = 2 (set by the caller): every SYN gets a cookie SYN-ACK;
 * the ACK completes the connection (data is echoed); without timestamps
 * the SYN-ACK carries MSS only; an ACK with a forged cookie gets RST. */
static void sc_syncookies(struct probe *p)
{
	new_conn(p, 7);
	send_syn(p, OPT_LINUX_SYN);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_ACK, 1, 1, NULL);
	send_rel(p, TH_PSH | TH_ACK, 1, 1, "cookie\n");
	collect(p, 7, 1000, true, 8);
	send_rel(p, TH_FIN | TH_ACK, 8, 8, NULL);
	expect(p, 1000, true, NULL);
	send_rel(p, TH_ACK, 9, 9, NULL);
	quiet(p, 300);

	new_conn(p, 7);
	send_syn(p, OPT_SYN_NO_TS);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_ACK, 1, 1, NULL);
	send_rel(p, TH_PSH | TH_ACK, 1, 1, "x");
	collect(p, 1, 1000, true, 2);
	send_rel(p, TH_RST, 2, 0, NULL);
	quiet(p, 300);

	new_conn(p, 7);
	send_forged_ack(p, TH_ACK);
	expect(p, 1000, false, NULL);
}

/* RFC 5961: an in-window RST that is not exact gets a challenge ACK (one
 * per 500 ms: a second one at once is silent), so does a SYN; an exact
 * RST ends the connection silently, and a later segment meets a reset. */
static void sc_rst_challenge(struct probe *p)
{
	new_conn(p, 7);
	send_syn(p, OPT_MSS);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_ACK, 1, 1, NULL);
	send_rel(p, TH_PSH | TH_ACK, 1, 1, "a");
	collect(p, 1, 1000, true, 2);
	send_rel(p, TH_RST, 2 + 1000, 0, NULL);
	expect(p, 300, false, NULL);
	send_rel(p, TH_RST, 2 + 2000, 0, NULL);
	quiet(p, 300);
	quiet(p, 400); /* past the 500 ms limit */
	send_rel(p, TH_SYN, 2, 0, NULL);
	expect(p, 300, false, NULL);
	send_rel(p, TH_RST, 2, 0, NULL);
	quiet(p, 500);
	send_rel(p, TH_PSH | TH_ACK, 2, 2, "b");
	expect(p, 1000, false, NULL);
}

/* The server closes first (close-first, 8001): after our FIN it is in
 * TIME_WAIT. Linux (tcp_timewait_state_process): every retransmitted FIN
 * is ACKed again, even back to back (the out-of-window ACK limit spares
 * segments that occupy sequence space); a bare ACK at RCV.NXT is silently
 * taken; an old bare ACK (below RCV.NXT) is answered with an ACK, at most
 * one per 500 ms. */
static void sc_timewait(struct probe *p)
{
	new_conn(p, 8001);
	send_syn(p, OPT_MSS);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_ACK, 1, 1, NULL);
	uint32_t end = collect(p, 0, 1000, false, 1);
	int32_t fin_ack = (int32_t)(end - p->T);
	send_rel(p, TH_ACK, 1, fin_ack, NULL);
	quiet(p, 300);
	send_rel(p, TH_FIN | TH_ACK, 1, fin_ack, NULL);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_FIN | TH_ACK, 1, fin_ack, NULL);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_FIN | TH_ACK, 1, fin_ack, NULL);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_ACK, 2, fin_ack, NULL); /* bare ACK at RCV.NXT */
	quiet(p, 300);
	send_rel(p, TH_ACK, 1, fin_ack, NULL); /* old bare ACK */
	expect(p, 1000, false, NULL);
	send_rel(p, TH_ACK, 1, fin_ack, NULL); /* again at once: rate limited */
	quiet(p, 300);
}

/* Zero window against chargen (19): after 512 bytes we shut the window;
 * the target probes with growing intervals; reopening resumes data. */
static void sc_zero_window(struct probe *p)
{
	new_conn(p, 19);
	p->wnd = 512;
	send_syn(p, OPT_MSS);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_ACK, 1, 1, NULL);
	uint32_t end = collect(p, 512, 1000, false, 1);
	int32_t acked = (int32_t)(end - p->T);
	p->wnd = 0;
	send_rel(p, TH_ACK, 1, acked, NULL);
	mark(p);
	timeline(p, 4000, true, 1, acked);
	p->wnd = 512;
	send_rel(p, TH_ACK, 1, acked, NULL);
	collect(p, 512, 1000, false, 1);
	send_rel(p, TH_RST, 1, 0, NULL);
	quiet(p, 300);
}

/* RFC 2883 D-SACK, as Linux sends it with SACK negotiated (discard, 9):
 * a duplicate segment is ACKed at once with a first SACK block naming it;
 * a partly old one names its old part; out-of-order data gets a SACK
 * block, and its duplicate a D-SACK block followed by that block. */
static void sc_dsack(struct probe *p)
{
	new_conn(p, 9);
	send_syn(p, OPT_LINUX_SYN);
	expect(p, 1000, false, NULL);
	send_rel(p, TH_ACK, 1, 1, NULL);
	send_rel(p, TH_PSH | TH_ACK, 1, 1, "abcd");
	expect(p, 1000, false, NULL);
	send_rel(p, TH_PSH | TH_ACK, 1, 1, "abcd"); /* all old */
	expect(p, 1000, false, NULL);
	send_rel(p, TH_PSH | TH_ACK, 3, 1, "cdef"); /* [3, 5) old, [5, 7) new */
	expect(p, 1000, false, NULL);
	/* Our TSval moves on (it counts ms): an ACK of out-of-order data
	 * echoes the last in-order segment's (RFC 7323 §4.3), so both
	 * targets say ecr=old however fast they answer. */
	quiet(p, 20);
	send_rel(p, TH_PSH | TH_ACK, 11, 1, "klmn"); /* beyond a hole at [7, 11) */
	expect(p, 1000, false, NULL);
	send_rel(p, TH_PSH | TH_ACK, 11, 1, "klmn"); /* the same again */
	expect(p, 1000, false, NULL);
	send_rel(p, TH_RST, 7, 0, NULL);
	quiet(p, 300);
}

static const struct {
	const char *name;
	void (*run)(struct probe *p);
	const char *what;
} scenarios[] = {
	{ "handshake", sc_handshake, "SYN with Linux options, echo, orderly close (port 7)" },
	{ "closed", sc_closed, "segments to a closed port (9999)" },
	{ "synack-retries", sc_synack_retries, "unanswered SYN-ACK, tcp_synack_retries=2 (port 7)" },
	{ "syncookies", sc_syncookies, "tcp_syncookies=2: cookie handshakes and a forged ACK (port 7)" },
	{ "rst-challenge", sc_rst_challenge, "RFC 5961 challenge ACKs and exact RST (port 7)" },
	{ "timewait", sc_timewait, "server-side TIME_WAIT re-ACKs a FIN (port 8001)" },
	{ "zero-window", sc_zero_window, "zero-window probes and reopening (chargen, port 19)" },
	{ "dsack", sc_dsack, "D-SACK blocks for old and out-of-order duplicates (discard, port 9)" },
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

/* ---- compare ---- */

static int read_lines(const char *path, char ***lines)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "tl-diffprobe: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int n = 0, cap = 0;
	char *line = NULL;
	size_t lc = 0;
	ssize_t r;
	*lines = NULL;
	while ((r = getline(&line, &lc, f)) >= 0) {
		if (r && line[r - 1] == '\n')
			line[r - 1] = 0;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **grown = realloc(*lines, (size_t)cap * sizeof(char *));
			if (!grown) {
				fprintf(stderr, "tl-diffprobe: out of memory\n");
				exit(2);
			}
			*lines = grown;
		}
		(*lines)[n++] = strdup(line);
	}
	free(line);
	fclose(f);
	return n;
}

/* Tokens equal, or both "t=X" within max(0.3 s, 20% of the kernel's). */
static bool line_matches(const char *k, const char *s)
{
	char a[512], b[512];
	snprintf(a, sizeof(a), "%s", k);
	snprintf(b, sizeof(b), "%s", s);
	char *sa, *sb;
	char *ta = strtok_r(a, " ", &sa), *tb = strtok_r(b, " ", &sb);
	while (ta && tb) {
		if (!strncmp(ta, "t=", 2) && !strncmp(tb, "t=", 2)) {
			double x = strtod(ta + 2, NULL), y = strtod(tb + 2, NULL);
			double tol = x * 0.2 > 0.3 ? x * 0.2 : 0.3;
			if (y < x - tol || y > x + tol)
				return false;
		} else if (strcmp(ta, tb) != 0) {
			return false;
		}
		ta = strtok_r(NULL, " ", &sa);
		tb = strtok_r(NULL, " ", &sb);
	}
	return !ta && !tb;
}

static int compare(const char *kpath, const char *spath)
{
	char **k = NULL, **s = NULL;
	int nk = read_lines(kpath, &k), ns = read_lines(spath, &s);
	if (nk < 0 || ns < 0) {
		for (int i = 0; i < nk; i++)
			free(k[i]);
		for (int i = 0; i < ns; i++)
			free(s[i]);
		free(k);
		free(s);
		return 2;
	}
	int bad = 0;
	for (int i = 0; i < nk || i < ns; i++) {
		const char *a = i < nk ? k[i] : "(end)", *b = i < ns ? s[i] : "(end)";
		if (!line_matches(a, b)) {
			if (!bad)
				printf("first difference at line %d:\n", i + 1);
			printf("  kernel: %s\n  stack:  %s\n", a, b);
			if (++bad >= 5)
				break;
		}
	}
	for (int i = 0; i < nk; i++)
		free(k[i]);
	for (int i = 0; i < ns; i++)
		free(s[i]);
	free(k);
	free(s);
	return bad ? 1 : 0;
}

/* ---- main ---- */

static int iface_index(int fd, const char *ifname)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		return -1;
	return ifr.ifr_ifindex;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: tl-diffprobe [-v] -i IFACE [-s SRC] [-d DST] SCENARIO\n"
		"       tl-diffprobe compare KERNEL_TRANSCRIPT STACK_TRANSCRIPT\n"
		"       tl-diffprobe list\n"
		"SRC defaults to 198.18.0.77 (spoofed: IFACE must not hold it), DST to 198.18.0.1;\n"
		"both must lie in 198.18.0.0/15.\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "list")) {
		for (size_t i = 0; i < NSCEN; i++)
			printf("%-16s %s\n", scenarios[i].name, scenarios[i].what);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "compare")) {
		if (argc != 4) {
			usage();
			return 2;
		}
		return compare(argv[2], argv[3]);
	}
	static struct probe pr;
	struct probe *p = &pr;
	const char *ifname = NULL, *src = "198.18.0.77", *dst = "198.18.0.1";
	int i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v"))
			p->verbose = 1;
		else if (!strcmp(argv[i], "-i") && i + 1 < argc)
			ifname = argv[++i];
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			src = argv[++i];
		else if (!strcmp(argv[i], "-d") && i + 1 < argc)
			dst = argv[++i];
		else {
			usage();
			return 2;
		}
	}
	if (!ifname || i != argc - 1) {
		usage();
		return 2;
	}
	size_t sc;
	for (sc = 0; sc < NSCEN; sc++)
		if (!strcmp(scenarios[sc].name, argv[i]))
			break;
	if (sc == NSCEN) {
		fprintf(stderr, "tl-diffprobe: unknown scenario %s (see tl-diffprobe list)\n", argv[i]);
		return 2;
	}
	struct in_addr a;
	if (inet_pton(AF_INET, src, &a) != 1 || (ntohl(a.s_addr) & LAB_MASK) != LAB_NET) {
		fprintf(stderr, "tl-diffprobe: source %s is not inside 198.18.0.0/15: refusing\n", src);
		return 2;
	}
	p->src = ntohl(a.s_addr);
	if (inet_pton(AF_INET, dst, &a) != 1 || (ntohl(a.s_addr) & LAB_MASK) != LAB_NET) {
		fprintf(stderr, "tl-diffprobe: target %s is not inside 198.18.0.0/15: refusing\n", dst);
		return 2;
	}
	p->dst = ntohl(a.s_addr);
	/* A locally administered MAC that spells the address: 02:74:6c:SRC. */
	p->mac[0] = 0x02;
	p->mac[1] = 0x74;
	p->mac[2] = 0x6c;
	p->mac[3] = (uint8_t)(p->src >> 16);
	p->mac[4] = (uint8_t)(p->src >> 8);
	p->mac[5] = (uint8_t)p->src;

	p->fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (p->fd < 0) {
		fprintf(stderr, "tl-diffprobe: packet socket: %s (run as root)\n", strerror(errno));
		return 1;
	}
	p->ifindex = iface_index(p->fd, ifname);
	if (p->ifindex < 0) {
		fprintf(stderr, "tl-diffprobe: no interface %s in this namespace\n", ifname);
		return 1;
	}
	int one = 1;
	setsockopt(p->fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = p->ifindex };
	if (bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "tl-diffprobe: bind to %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	alarm(60); /* hard bound on the whole run */
	p->start = now_s();
	p->rng = (uint64_t)getpid() << 32 ^ (uint64_t)(p->start * 1e9) ^ 0x9e3779b97f4a7c15ULL;
	for (int k = 0; k < 8; k++)
		rnd32(p);

	/* Resolve the target (it also learns our MAC from the request). */
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6] = { 0 };
	struct seg dummy;
	for (int tries = 0; tries < 3 && !memcmp(p->peer_mac, zero, 6); tries++) {
		send_arp(p, 1, zero, p->dst, bcast);
		double end = now_s() + 1.0;
		while (memcmp(p->peer_mac, zero, 6) == 0 && now_s() < end)
			rx(p, 0.05, &dummy);
	}
	if (!memcmp(p->peer_mac, zero, 6)) {
		fprintf(stderr, "tl-diffprobe: %s does not answer ARP on %s\n", dst, ifname);
		return 1;
	}
	out("# scenario %s", scenarios[sc].name);
	scenarios[sc].run(p);
	return 0;
}
