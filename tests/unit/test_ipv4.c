/* Unit tests for ipv4.c and the IPv4 step of stack_input: the parser's
 * checks in STYLE.md §3 order (fixed header, version, IHL, total length,
 * checksum), options skipped and never interpreted, padding trimmed,
 * header emission, address text, and the host's input policy (malformed
 * -> InHdrErrors, not ours -> InAddrErrors, fragments -> ReasmReqds and
 * ReasmFails, TTL not checked on local delivery). */
#include "frames.h"

#include <errno.h>

#include "ipv4.h"

/* A 20-byte header for 8 bytes of payload, valid: 198.18.0.2 -> .1, UDP. */
static size_t good_hdr(uint8_t *p)
{
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 17, .id = 0xbeef,
			   .tos = 0x10, .ttl = 33, .frag = IPV4_DF };
	size_t hl = f_ip_hdr(p, &ip, 8);
	memset(p + hl, 0x77, 8);
	return hl + 8;
}

static void test_rfc791_parse_fields(void **state)
{
	(void)state;
	uint8_t b[28];
	size_t n = good_hdr(b);
	struct ipv4_pkt ip;
	assert_int_equal(ipv4_parse(b, n, &ip), IPV4_OK);
	assert_int_equal(ip.hdr_len, 20);
	assert_int_equal(ip.tos, 0x10);
	assert_int_equal(ip.ttl, 33);
	assert_int_equal(ip.proto, 17);
	assert_int_equal(ip.tot_len, 28);
	assert_int_equal(ip.id, 0xbeef);
	assert_int_equal(ip.frag, IPV4_DF);
	assert_int_equal(ip.src, F_PEER);
	assert_int_equal(ip.dst, F_US);
	assert_ptr_equal(ip.hdr, b);
	assert_ptr_equal(ip.payload, b + 20);
	assert_int_equal(ip.payload_len, 8);
	assert_false(ipv4_is_fragment(&ip)); /* DF alone is not a fragment */
}

/* Each check fails on its own, and an earlier check wins when several
 * fail (STYLE.md §3 order). The buffer is a heap copy of exactly `len`
 * bytes so that ASan catches any read past it. */
static void test_rfc791_parse_checks_in_order(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		size_t len;           /* bytes handed to the parser */
		int ver, ihl;         /* -1: keep */
		int tot;              /* -1: keep (28) */
		bool bad_csum;        /* corrupt after setting the fields */
		enum ipv4_drop_reason want;
	} rows[] = {
		{ "empty", 0, -1, -1, -1, false, IPV4_DROP_TOO_SHORT },
		{ "19 bytes", 19, -1, -1, -1, false, IPV4_DROP_TOO_SHORT },
		{ "version 6", 28, 6, -1, -1, false, IPV4_DROP_BAD_VERSION },
		{ "version 0", 28, 0, -1, -1, false, IPV4_DROP_BAD_VERSION },
		{ "version 6 beats bad IHL", 28, 6, 2, -1, true, IPV4_DROP_BAD_VERSION },
		{ "IHL 0", 28, -1, 0, -1, false, IPV4_DROP_BAD_IHL },
		{ "IHL 4", 28, -1, 4, -1, false, IPV4_DROP_BAD_IHL },
		{ "IHL 8 in 28 bytes", 28, -1, 8, -1, false, IPV4_DROP_BAD_IHL },
		{ "IHL 15 in 28 bytes", 28, -1, 15, -1, false, IPV4_DROP_BAD_IHL },
		{ "IHL beats bad length", 28, -1, 4, 9999, true, IPV4_DROP_BAD_IHL },
		{ "total 0", 28, -1, -1, 0, false, IPV4_DROP_BAD_LEN },
		{ "total 19 < IHL", 28, -1, -1, 19, false, IPV4_DROP_BAD_LEN },
		{ "total 24 < IHL 28", 28, -1, 7, 24, false, IPV4_DROP_BAD_LEN },
		{ "total 29 > buffer", 28, -1, -1, 29, false, IPV4_DROP_BAD_LEN },
		{ "total 65535 > buffer", 28, -1, -1, 65535, false, IPV4_DROP_BAD_LEN },
		{ "length beats checksum", 28, -1, -1, 100, true, IPV4_DROP_BAD_LEN },
		{ "checksum", 28, -1, -1, -1, true, IPV4_DROP_BAD_CSUM },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		uint8_t b[28];
		good_hdr(b);
		if (rows[i].ver >= 0)
			b[0] = (uint8_t)(rows[i].ver << 4 | (b[0] & 0x0f));
		if (rows[i].ihl >= 0)
			b[0] = (uint8_t)((b[0] & 0xf0) | rows[i].ihl);
		if (rows[i].tot >= 0)
			put_be16(b + 2, (uint16_t)rows[i].tot);
		/* Fix the checksum over the 20 fixed bytes, then maybe break it. */
		put_be16(b + 10, 0);
		put_be16(b + 10, f_csum(b, 20));
		if (rows[i].bad_csum)
			b[11] ^= 0x5a;
		uint8_t *p = malloc(rows[i].len ? rows[i].len : 1);
		memcpy(p, b, rows[i].len);
		struct ipv4_pkt ip;
		enum ipv4_drop_reason got = ipv4_parse(p, rows[i].len, &ip);
		free(p);
		if (got != rows[i].want)
			fail_msg("row %zu (%s): got %d, want %d", i, rows[i].what, got, rows[i].want);
	}
}

/* The checksum covers the options too. */
static void test_rfc791_checksum_covers_options(void **state)
{
	(void)state;
	static const uint8_t opts[8] = { 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00 };
	uint8_t b[36];
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1, .opts = opts, .opt_len = 8 };
	size_t n = f_ip_hdr(b, &ip, 8) + 8;
	struct ipv4_pkt p;
	assert_int_equal(ipv4_parse(b, n, &p), IPV4_OK);
	b[25] ^= 0x01; /* inside the options */
	assert_int_equal(ipv4_parse(b, n, &p), IPV4_DROP_BAD_CSUM);
}

/* Options of any content are skipped by IHL, never interpreted: a
 * well-formed record-route, a malformed length, an unknown kind. */
static void test_rfc791_options_skipped_not_interpreted(void **state)
{
	(void)state;
	static const uint8_t rr[8] = { 0x07, 0x07, 0x04, 0, 0, 0, 0, 0x00 };
	static const uint8_t badlen[4] = { 0x44, 0xff, 0x00, 0x00 };
	static const uint8_t unknown[40] = { 0x9e, 0x01, 0xee, 0x00 }; /* len 1: invalid */
	const struct { const uint8_t *o; size_t n; } rows[] = {
		{ rr, sizeof(rr) }, { badlen, sizeof(badlen) }, { unknown, sizeof(unknown) },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		uint8_t b[80];
		struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1,
				   .opts = rows[i].o, .opt_len = rows[i].n };
		size_t hl = f_ip_hdr(b, &ip, 4);
		memcpy(b + hl, "DATA", 4);
		struct ipv4_pkt p;
		assert_int_equal(ipv4_parse(b, hl + 4, &p), IPV4_OK);
		assert_int_equal(p.hdr_len, 20 + rows[i].n);
		assert_ptr_equal(p.payload, b + hl);
		assert_int_equal(p.payload_len, 4);
		assert_memory_equal(p.payload, "DATA", 4);
	}
}

/* Ethernet padding beyond the total length is trimmed; a header with no
 * payload is fine. */
static void test_rfc791_padding_trimmed(void **state)
{
	(void)state;
	uint8_t b[46];
	memset(b, 0xee, sizeof(b));
	good_hdr(b);
	struct ipv4_pkt p;
	assert_int_equal(ipv4_parse(b, sizeof(b), &p), IPV4_OK);
	assert_int_equal(p.tot_len, 28);
	assert_int_equal(p.payload_len, 8);

	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1 };
	f_ip_hdr(b, &ip, 0);
	assert_int_equal(ipv4_parse(b, sizeof(b), &p), IPV4_OK);
	assert_int_equal(p.payload_len, 0);
}

static void test_rfc791_fragment_bits(void **state)
{
	(void)state;
	static const struct { uint16_t frag; bool is_frag; } rows[] = {
		{ 0, false },
		{ IPV4_DF, false },
		{ IPV4_MF, true },            /* first fragment */
		{ 1, true },                  /* last fragment, offset 8 */
		{ IPV4_MF | 0x100, true },    /* middle */
		{ IPV4_DF | 0x1fff, true },   /* nonsense but still a fragment */
		{ 0x8000, false },            /* the reserved bit alone */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		struct ipv4_pkt p = { .frag = rows[i].frag };
		if (ipv4_is_fragment(&p) != rows[i].is_frag)
			fail_msg("row %zu: frag 0x%04x", i, rows[i].frag);
	}
}

/* ipv4_push: version 4, IHL 5, TOS 0, total length, id, DF as asked,
 * TTL, protocol, a valid checksum, addresses. */
static void test_rfc791_push_bytes(void **state)
{
	(void)state;
	struct pktbuf *pb = pktbuf_alloc();
	memcpy(pktbuf_put(pb, 4), "abcd", 4);
	assert_int_equal(ipv4_push(pb, F_US, F_PEER, 6, 0, 64, 0x1234, true), 0);
	uint8_t want[24] = { 0x45, 0x00, 0x00, 0x18, 0x12, 0x34, 0x40, 0x00, 64, 6, 0, 0,
			     0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 'a', 'b', 'c', 'd' };
	put_be16(want + 10, f_csum(want, 20));
	assert_int_equal(pb->len, 24);
	assert_memory_equal(pb->data, want, 24);
	pktbuf_free(pb);

	pb = pktbuf_alloc();
	assert_int_equal(ipv4_push(pb, F_US, F_PEER, 1, 0, 1, 0, false), 0);
	assert_int_equal(be16_at(pb->data + 2), 20);
	assert_int_equal(be16_at(pb->data + 6), 0); /* no DF */
	assert_int_equal(pb->data[8], 1);
	assert_int_equal(f_csum(pb->data, 20), 0);
	struct ipv4_pkt p;
	assert_int_equal(ipv4_parse(pb->data, pb->len, &p), IPV4_OK); /* round trip */
	pktbuf_free(pb);

	pb = pktbuf_alloc();
	pktbuf_push(pb, PKTBUF_HEADROOM - 19);
	assert_int_equal(ipv4_push(pb, F_US, F_PEER, 1, 0, 64, 0, false), -ENOBUFS);
	pktbuf_free(pb);
	pktbuf_pool_drain();
}

static void test_ipv4_text_forms(void **state)
{
	(void)state;
	char buf[16];
	assert_string_equal(ipv4_ntoa(F_US, buf), "198.18.0.1");
	assert_string_equal(ipv4_ntoa(0, buf), "0.0.0.0");
	assert_string_equal(ipv4_ntoa(0xffffffffu, buf), "255.255.255.255");
	static const struct { const char *s; int rc; uint32_t a; } rows[] = {
		{ "198.18.0.1", 0, F_US },
		{ "0.0.0.0", 0, 0 },
		{ "255.255.255.255", 0, 0xffffffffu },
		{ "10.1.2.3", 0, 0x0a010203u },
		{ "256.0.0.1", -EINVAL, 0 },
		{ "1.2.3", -EINVAL, 0 },
		{ "1.2.3.4.", -EINVAL, 0 },
		{ "1.2.3.4.5", -EINVAL, 0 },
		{ "1.2.3.4 ", -EINVAL, 0 },
		{ " 1.2.3.4", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "a.b.c.d", -EINVAL, 0 },
		{ "1..2.3", -EINVAL, 0 },
		{ "1.2.3.-4", -EINVAL, 0 },
		{ "1000.2.3.4", -EINVAL, 0 },
		{ "1.2.3.4444", -EINVAL, 0 },
		{ "99999999999.1.1.1", -EINVAL, 0 },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		uint32_t a = 0xdeadbeef;
		int rc = ipv4_aton(rows[i].s, &a);
		if (rc != rows[i].rc || (rc == 0 && a != rows[i].a))
			fail_msg("row %zu \"%s\": rc %d addr 0x%08x", i, rows[i].s, rc, a);
		if (rc != 0 && a != 0xdeadbeef)
			fail_msg("row %zu \"%s\": address written on failure", i, rows[i].s);
	}
}

/* ---- the host's IPv4 input ---- */

/* Every malformed header is counted once in InReceives and InHdrErrors,
 * gets no answer, and is read only within its length. */
static void test_stack_malformed_ip_counted_in_hdr_errors(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	enum { VER, IHL, TOT, CSUM, CUT };
	static const struct { const char *what; int field; int val; } rows[] = {
		{ "truncated IP (10 of 20 bytes)", CUT, 14 + 10 },
		{ "truncated IP (19 of 20 bytes)", CUT, 14 + 19 },
		{ "version 6", VER, 6 },
		{ "version 15", VER, 15 },
		{ "IHL 4", IHL, 4 },
		{ "IHL 0", IHL, 0 },
		{ "IHL 15 beyond the buffer", IHL, 15 },
		{ "total length beyond the buffer", TOT, 200 },
		{ "total length below IHL", TOT, 12 },
		{ "header checksum", CSUM, 0 },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		uint8_t fr[128];
		size_t n = f_ping(fr, 1, (uint16_t)i, 8); /* 14 + 20 + 16 = 50 bytes */
		uint8_t *ip = fr + 14;
		switch (rows[i].field) {
		case VER: ip[0] = (uint8_t)(rows[i].val << 4 | 5); break;
		case IHL: ip[0] = (uint8_t)(0x40 | rows[i].val); break;
		case TOT: put_be16(ip + 2, (uint16_t)rows[i].val); break;
		case CSUM: ip[10] ^= 0xff; break;
		case CUT: n = (size_t)rows[i].val; break;
		}
		if (rows[i].field != CSUM && rows[i].field != CUT) {
			put_be16(ip + 10, 0);
			put_be16(ip + 10, f_csum(ip, 20));
		}
		uint8_t *p = malloc(n);
		memcpy(p, fr, n);
		f_in(&h, p, n);
		free(p);
		struct mib_ip *m = &f_mib(&h)->ip;
		if (m->InReceives != i + 1 || m->InHdrErrors != i + 1)
			fail_msg("row %zu (%s): InReceives %llu InHdrErrors %llu", i, rows[i].what,
				 (unsigned long long)m->InReceives, (unsigned long long)m->InHdrErrors);
		f_expect_nothing(&h);
	}
	struct mib_ip *m = &f_mib(&h)->ip;
	assert_int_equal(m->InDelivers, 0);
	assert_int_equal(f_mib(&h)->icmp.InMsgs, 0);
	f_host_fini(&h);
}

/* A host does not forward: datagrams for other addresses, the subnet
 * broadcast and the limited broadcast are InAddrErrors, unanswered. */
static void test_stack_not_our_address_counted(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	static const uint32_t dsts[] = { F_PEER2, 0xc61200ffu, 0xffffffffu, 0x08080808u, 0 };
	for (size_t i = 0; i < TL_ARRAY_SIZE(dsts); i++) {
		uint8_t body[16], fr[128];
		size_t bl = f_icmp(body, 8, 0, 1, 1, NULL, 0);
		struct f_ip ip = { .src = F_PEER, .dst = dsts[i], .proto = 1 };
		size_t n = f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl);
		f_in(&h, fr, n);
	}
	f_expect_nothing(&h);
	assert_int_equal(f_mib(&h)->ip.InAddrErrors, TL_ARRAY_SIZE(dsts));
	assert_int_equal(f_mib(&h)->ip.InDelivers, 0);
	f_host_fini(&h);
}

/* No reassembly: every fragment (first, middle, last) counts once in
 * ReasmReqds and ReasmFails and is dropped without any answer, even an
 * echo request or a UDP datagram for a closed port. */
static void test_stack_fragments_dropped_and_counted(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	static const uint16_t frags[] = { IPV4_MF, IPV4_MF | 3, 6, IPV4_DF | IPV4_MF };
	uint8_t body[64], fr[128];
	for (size_t i = 0; i < TL_ARRAY_SIZE(frags); i++) {
		size_t bl = f_icmp(body, 8, 0, 1, (uint16_t)i, (const uint8_t *)"12345678", 8);
		struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1, .frag = frags[i] };
		f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
		bl = f_udp(body, F_PEER, F_US, 1, 9, NULL, 0, true);
		ip.proto = 17;
		f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	}
	f_expect_nothing(&h);
	struct mib_ip *m = &f_mib(&h)->ip;
	assert_int_equal(m->ReasmReqds, 2 * TL_ARRAY_SIZE(frags));
	assert_int_equal(m->ReasmFails, 2 * TL_ARRAY_SIZE(frags));
	assert_int_equal(m->ReasmOKs, 0);
	assert_int_equal(m->InDelivers, 0);
	assert_int_equal(f_mib(&h)->icmp.InMsgs, 0);
	assert_int_equal(f_mib(&h)->udp.NoPorts, 0);
	f_host_fini(&h);
}

/* Linux checks TTL only when forwarding: a datagram for us with TTL 1 or
 * even 0 is delivered and answered. */
static void test_linux_ttl_not_checked_on_local_delivery(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	for (uint8_t ttl = 0; ttl <= 1; ttl++) {
		uint8_t body[16], fr[128];
		size_t bl = f_icmp(body, 8, 0, 1, ttl, NULL, 0);
		struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1, .ttl = ttl,
				   .ttl_set = true };
		f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
		struct pktbuf *pb = f_pop(&h);
		size_t plen;
		const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
		assert_int_equal(icmp[0], 0);
		pktbuf_free(pb);
	}
	assert_int_equal(f_mib(&h)->ip.InHdrErrors, 0);
	assert_int_equal(f_mib(&h)->ip.InDelivers, 2);
	f_host_fini(&h);
}

/* Options in a datagram for us are skipped whatever they contain: the
 * transport header is found after them. */
static void test_stack_options_skipped_on_input(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	static const uint8_t opts[40] = { 0x44, 0x28, 0x05, 0x01, 0xee, 0xee, 0xee, 0xee };
	uint8_t body[16], fr[128];
	size_t bl = f_icmp(body, 8, 0, 0x77, 3, NULL, 0);
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1, .opts = opts, .opt_len = 40 };
	f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	struct pktbuf *pb = f_pop(&h);
	size_t plen;
	const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	assert_int_equal(plen, 8);
	assert_int_equal(icmp[0], 0);
	assert_int_equal(be16_at(icmp + 4), 0x77);
	pktbuf_free(pb);
	assert_int_equal(f_mib(&h)->ip.InHdrErrors, 0);
	f_host_fini(&h);
}

/* Ip counters of a delivered datagram and of our answer. */
static void test_stack_ip_counters_for_one_ping(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	uint8_t fr[128];
	f_in(&h, fr, f_ping(fr, 1, 1, 8));
	assert_int_equal(f_drain(&h), 1);
	struct mib_ip *m = &f_mib(&h)->ip;
	assert_int_equal(m->Forwarding, 2);
	assert_int_equal(m->DefaultTTL, 64);
	assert_int_equal(m->InReceives, 1);
	assert_int_equal(m->InDelivers, 1);
	assert_int_equal(m->OutRequests, 1);
	assert_int_equal(m->OutTransmits, 1);
	assert_int_equal(m->InHdrErrors + m->InAddrErrors + m->InUnknownProtos + m->InDiscards, 0);
	f_host_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc791_parse_fields),
		cmocka_unit_test(test_rfc791_parse_checks_in_order),
		cmocka_unit_test(test_rfc791_checksum_covers_options),
		cmocka_unit_test(test_rfc791_options_skipped_not_interpreted),
		cmocka_unit_test(test_rfc791_padding_trimmed),
		cmocka_unit_test(test_rfc791_fragment_bits),
		cmocka_unit_test(test_rfc791_push_bytes),
		cmocka_unit_test(test_ipv4_text_forms),
		cmocka_unit_test(test_stack_malformed_ip_counted_in_hdr_errors),
		cmocka_unit_test(test_stack_not_our_address_counted),
		cmocka_unit_test(test_stack_fragments_dropped_and_counted),
		cmocka_unit_test(test_linux_ttl_not_checked_on_local_delivery),
		cmocka_unit_test(test_stack_options_skipped_on_input),
		cmocka_unit_test(test_stack_ip_counters_for_one_ping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
