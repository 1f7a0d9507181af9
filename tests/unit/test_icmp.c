/* Unit tests for icmp.c as a host uses it (RFC 792, RFC 1122 §3.2.2):
 * echo replies byte for byte, the errors Linux sends (port unreachable
 * for UDP, protocol unreachable), the cases where no error may be sent
 * (about an ICMP error, a non-first fragment, a source naming no single
 * host), the global rate limit (net.ipv4.icmp_msgs_burst 50,
 * icmp_msgs_per_sec 1000), and the Icmp: counters of each case.
 *
 * A mismatch with Linux's behaviour fails with what was seen. */
#include "frames.h"

#include "icmp.h"
#include "ipv4.h"

#define LINUX_MISMATCH(...) fail_msg("differs from Linux: " __VA_ARGS__)

static void host_with_peer(struct f_host *h)
{
	f_host_init(h);
	f_learn(h, f_peer_mac, F_PEER);
}

/* ---- echo ---- */

/* The reply to a 56-byte ping: MACs and addresses swapped, IHL 5, TOS 0,
 * no DF, TTL 64, type 0 code 0, the same identifier, sequence and data,
 * both checksums valid. Only the IP identifier is ours to choose. */
static void test_rfc792_echo_reply_bytes(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	uint8_t fr[256];
	size_t n = f_ping(fr, 0x1234, 0x0007, 56);
	f_in(&h, fr, n);
	struct pktbuf *pb = f_pop(&h);

	uint8_t want[256], data[56];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	uint8_t icmp[64];
	size_t il = f_icmp(icmp, 0, 0, 0x1234, 0x0007, data, sizeof(data));
	struct f_ip ip = { .src = F_US, .dst = F_PEER, .proto = 1,
			   .id = pb->len > 19 ? be16_at(pb->data + 18) : 0 };
	size_t wl = f_ip_frame(want, f_peer_mac, f_us_mac, &ip, icmp, il);
	assert_int_equal(wl, 98);
	assert_int_equal(pb->len, wl);
	assert_memory_equal(pb->data, want, wl);
	pktbuf_free(pb);
	f_expect_nothing(&h);
	f_host_fini(&h);
}

/* Successive replies carry different IP identifiers (no DF: the
 * identifier must be usable for reassembly). */
static void test_rfc791_reply_ids_differ(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	uint8_t fr[128];
	uint16_t ids[2];
	for (int i = 0; i < 2; i++) {
		f_in(&h, fr, f_ping(fr, 1, (uint16_t)i, 8));
		struct pktbuf *pb = f_pop(&h);
		ids[i] = be16_at(pb->data + 18);
		pktbuf_free(pb);
	}
	assert_int_not_equal(ids[0], ids[1]);
	f_host_fini(&h);
}

/* Options in the request are skipped: the reply has a plain 20-byte
 * header and the request's ICMP message unchanged but for type and
 * checksum. */
static void test_rfc1122_echo_with_ip_options(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	/* Record route with room for 2 addresses, then NOP NOP NOP EOL. */
	static const uint8_t opts[12] = { 0x07, 0x0b, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0x00 };
	uint8_t body[64], fr[128];
	size_t bl = f_icmp(body, 8, 0, 0xabcd, 42, (const uint8_t *)"optionsskipped!!", 16);
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1, .opts = opts, .opt_len = 12 };
	f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	struct pktbuf *pb = f_pop(&h);
	size_t plen;
	const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	assert_int_equal(plen, bl);
	assert_int_equal(icmp[0], 0);
	assert_int_equal(icmp[1], 0);
	assert_memory_equal(icmp + 4, body + 4, bl - 4);
	assert_int_equal(f_csum(icmp, plen), 0);
	pktbuf_free(pb);
	f_host_fini(&h);
}

/* Data of any length comes back exactly (odd lengths exercise the
 * checksum's padding) and Ethernet padding is not echoed. */
static void test_rfc792_echo_data_lengths(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	static const size_t lens[] = { 0, 1, 3, 18, 55, 1001, 1472 };
	for (size_t i = 0; i < TL_ARRAY_SIZE(lens); i++) {
		uint8_t fr[1600];
		size_t n = f_ping(fr, 9, (uint16_t)i, lens[i]);
		if (n < 60) { /* a real NIC pads to 60 bytes */
			memset(fr + n, 0xcc, 60 - n);
			n = 60;
		}
		f_in(&h, fr, n);
		struct pktbuf *pb = f_pop(&h);
		size_t plen;
		const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
		if (plen != 8 + lens[i])
			fail_msg("data %zu: reply carries %zu bytes", lens[i], plen - 8);
		assert_int_equal(f_csum(icmp, plen), 0);
		for (size_t k = 0; k < lens[i]; k++)
			assert_int_equal(icmp[8 + k], (uint8_t)k);
		pktbuf_free(pb);
	}
	f_host_fini(&h);
}

static void test_rfc792_echo_counters(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	uint8_t fr[128];
	for (int i = 0; i < 3; i++)
		f_in(&h, fr, f_ping(fr, 1, (uint16_t)i, 8));
	assert_int_equal(f_drain(&h), 3);
	struct mib_icmp *m = &f_mib(&h)->icmp;
	assert_int_equal(m->InMsgs, 3);
	assert_int_equal(m->InEchos, 3);
	assert_int_equal(m->OutMsgs, 3);
	assert_int_equal(m->OutEchoReps, 3);
	assert_int_equal(m->InErrors + m->OutErrors + m->OutDestUnreachs, 0);
	f_host_fini(&h);
}

/* A corrupted ICMP checksum: InErrors and InCsumErrors, no reply. A
 * message shorter than the 8-byte header: InErrors, no reply. */
static void test_rfc1122_bad_icmp_dropped_and_counted(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	uint8_t fr[128];
	size_t n = f_ping(fr, 1, 1, 8);
	fr[14 + 20 + 9] ^= 0x40; /* a data byte */
	f_in(&h, fr, n);
	f_expect_nothing(&h);
	struct mib_icmp *m = &f_mib(&h)->icmp;
	assert_int_equal(m->InMsgs, 1);
	assert_int_equal(m->InErrors, 1);
	assert_int_equal(m->InCsumErrors, 1);
	assert_int_equal(m->InEchos, 0);

	for (size_t len = 0; len < 8; len++) {
		uint8_t body[8] = { 8, 0, 0, 0, 0, 0, 0, 0 };
		put_be16(body + 2, f_csum(body, len)); /* valid over what is there */
		struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1 };
		n = f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, len);
		uint8_t *p = malloc(n); /* exact size for ASan */
		memcpy(p, fr, n);
		f_in(&h, p, n);
		free(p);
	}
	f_expect_nothing(&h);
	assert_int_equal(m->InMsgs, 9);
	assert_int_equal(m->InErrors, 9);
	assert_int_equal(m->OutMsgs, 0);
	f_host_fini(&h);
}

/* Replies and errors we receive are counted by type and never answered
 * (RFC 1122 §3.2.2: no error about an error; nothing answers a reply). */
static void test_rfc1122_incoming_types_counted_not_answered(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	static const uint8_t types[] = { 0, 3, 4, 5, 11, 12, 14 };
	for (size_t i = 0; i < TL_ARRAY_SIZE(types); i++) {
		uint8_t body[64], fr[128], quote[28] = { 0x45 };
		size_t bl = f_icmp(body, types[i], 1, 0, 0, quote, sizeof(quote));
		struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1 };
		f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	}
	f_expect_nothing(&h);
	struct mib_icmp *m = &f_mib(&h)->icmp;
	assert_int_equal(m->InMsgs, TL_ARRAY_SIZE(types));
	assert_int_equal(m->InEchoReps, 1);
	assert_int_equal(m->InDestUnreachs, 1);
	assert_int_equal(m->InSrcQuenchs, 1);
	assert_int_equal(m->InRedirects, 1);
	assert_int_equal(m->InTimeExcds, 1);
	assert_int_equal(m->InParmProbs, 1);
	assert_int_equal(m->InTimestampReps, 1);
	assert_int_equal(m->InErrors, 0);
	assert_int_equal(m->OutMsgs, 0);
	f_host_fini(&h);
}

/* ---- errors ---- */

/* Checks an ICMP error to the peer and returns its quoted part. */
static const uint8_t *expect_error(struct f_host *h, uint8_t type, uint8_t code,
				   size_t *qlen)
{
	struct pktbuf *pb = f_pop(h);
	size_t plen;
	const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	assert_true(plen >= 8);
	assert_int_equal(icmp[0], type);
	assert_int_equal(icmp[1], code);
	assert_int_equal(be32_at(icmp + 4), 0); /* unused, must be zero */
	assert_int_equal(f_csum(icmp, plen), 0);
	assert_int_equal(be16_at(pb->data + 14 + 6) & IPV4_DF, 0);
	*qlen = plen - 8;
	/* Copied out: the frame goes back to the pool right here. */
	static uint8_t q[1600];
	memcpy(q, icmp + 8, *qlen);
	pktbuf_free(pb);
	return q;
}

/* RFC 1122 §4.1.3.1: a UDP datagram for a port with no listener gets port
 * unreachable quoting the whole datagram (it is under 548 bytes), and
 * Udp NoPorts counts it. Ethernet padding is not quoted. */
static void test_rfc1122_udp_port_unreachable_quotes_datagram(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	uint8_t fr[128];
	size_t n = f_udp_frame(fr, F_PEER, 33434, 4);
	assert_int_equal(n, 14 + 20 + 12);
	uint8_t padded[60];
	memset(padded, 0xdd, sizeof(padded));
	memcpy(padded, fr, n);
	f_in(&h, padded, sizeof(padded));
	size_t ql;
	const uint8_t *q = expect_error(&h, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, &ql);
	assert_int_equal(ql, 32);
	assert_memory_equal(q, fr + 14, 32);
	f_expect_nothing(&h);
	assert_int_equal(f_mib(&h)->udp.NoPorts, 1);
	assert_int_equal(f_mib(&h)->udp.InErrors, 0);
	struct mib_icmp *m = &f_mib(&h)->icmp;
	assert_int_equal(m->OutMsgs, 1);
	assert_int_equal(m->OutDestUnreachs, 1);
	assert_int_equal(m->OutRateLimitGlobal, 0);
	assert_int_equal(f_mib(&h)->ip.InDelivers, 1);
	f_host_fini(&h);
}

/* Linux quotes as much as fits in a 576-byte error: 548 bytes of the
 * datagram, its IP options included. */
static void test_linux_error_quote_capped_at_576(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	static const uint8_t opts[4] = { 0x01, 0x01, 0x01, 0x00 };
	uint8_t data[1000], body[1100], fr[1200];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	size_t bl = f_udp(body, F_PEER, F_US, 5000, 7, data, sizeof(data), true);
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 17, .opts = opts, .opt_len = 4 };
	size_t n = f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl);
	f_in(&h, fr, n);
	struct pktbuf *pb = f_pop(&h);
	assert_int_equal(pb->len, 14 + 576);
	assert_int_equal(be16_at(pb->data + 14 + 2), 576);
	assert_memory_equal(pb->data + 14 + 28, fr + 14, 548);
	assert_int_equal(f_csum(pb->data + 14 + 20, 556), 0);
	pktbuf_free(pb);
	f_host_fini(&h);
}

/* A UDP datagram without checksum (0) is valid in IPv4 and gets the
 * error; a bad checksum or a bad length is a Udp InErrors, silently. */
static void test_rfc768_udp_checks_before_port_unreachable(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	uint8_t body[64], fr[128];
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 17 };

	size_t bl = f_udp(body, F_PEER, F_US, 1, 2, (const uint8_t *)"x", 1, false);
	f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	size_t ql;
	expect_error(&h, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, &ql);

	bl = f_udp(body, F_PEER, F_US, 1, 2, (const uint8_t *)"xy", 2, true);
	body[9] ^= 1;
	f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	f_expect_nothing(&h);
	assert_int_equal(f_mib(&h)->udp.InCsumErrors, 1);
	assert_int_equal(f_mib(&h)->udp.InErrors, 1);

	static const uint16_t bad_len[] = { 0, 7, 11 }; /* datagram is 10 bytes */
	for (size_t i = 0; i < TL_ARRAY_SIZE(bad_len); i++) {
		bl = f_udp(body, F_PEER, F_US, 1, 2, (const uint8_t *)"xy", 2, false);
		put_be16(body + 4, bad_len[i]);
		f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	}
	bl = 5; /* shorter than a UDP header */
	f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	f_expect_nothing(&h);
	assert_int_equal(f_mib(&h)->udp.InErrors, 5);
	assert_int_equal(f_mib(&h)->udp.NoPorts, 1);
	f_host_fini(&h);
}

/* RFC 1122 §3.2.2.1: a protocol we do not speak gets protocol
 * unreachable, quoting the datagram, and counts InUnknownProtos. */
static void test_rfc1122_unknown_protocol_unreachable(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	static const uint8_t protos[] = { 0, 2, 47, 58, 132, 255 };
	for (size_t i = 0; i < TL_ARRAY_SIZE(protos); i++) {
		uint8_t fr[128];
		struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = protos[i] };
		size_t n = f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, (const uint8_t *)"GRE?", 4);
		f_in(&h, fr, n);
		size_t ql;
		const uint8_t *q = expect_error(&h, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, &ql);
		assert_int_equal(ql, 24);
		assert_memory_equal(q, fr + 14, 24);
	}
	assert_int_equal(f_mib(&h)->ip.InUnknownProtos, TL_ARRAY_SIZE(protos));
	assert_int_equal(f_mib(&h)->ip.InDelivers, 0);
	assert_int_equal(f_mib(&h)->icmp.OutDestUnreachs, TL_ARRAY_SIZE(protos));
	f_host_fini(&h);
}

/* RFC 1122 §3.2.2: no error about a datagram whose source names no single
 * host: 0.0.0.0, the limited broadcast, a multicast or a loopback
 * address. The datagram is still counted. */
static void test_rfc1122_no_error_to_special_sources(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	static const uint32_t srcs[] = { 0, 0xffffffffu, 0xe0000005u, 0x7f000001u };
	for (size_t i = 0; i < TL_ARRAY_SIZE(srcs); i++) {
		uint8_t fr[128];
		f_in(&h, fr, f_udp_frame(fr, srcs[i], 9, 4));
		struct f_ip ip = { .src = srcs[i], .dst = F_US, .proto = 99 };
		f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, (const uint8_t *)"????", 4));
	}
	f_expect_nothing(&h); /* not even an ARP request */
	assert_int_equal(f_mib(&h)->udp.NoPorts, TL_ARRAY_SIZE(srcs));
	assert_int_equal(f_mib(&h)->ip.InUnknownProtos, TL_ARRAY_SIZE(srcs));
	assert_int_equal(f_mib(&h)->icmp.OutMsgs, 0);
	assert_int_equal(f_mib(&h)->icmp.OutRateLimitGlobal, 0);
	f_host_fini(&h);
}

/* icmp_send_error itself: no error about an ICMP error (types 3, 4, 5,
 * 11, 12) or about an ICMP message too short to have a type; errors about
 * queries (echo, echo reply, timestamp) are allowed. */
static void test_rfc1122_no_error_about_icmp_error(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	static const struct { uint8_t type; bool answered; } rows[] = {
		{ 3, false }, { 4, false }, { 5, false }, { 11, false }, { 12, false },
		{ 0, true }, { 8, true }, { 13, true },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		uint8_t body[16], dgram[64];
		size_t bl = f_icmp(body, rows[i].type, 0, 0, 0, NULL, 0);
		struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1 };
		size_t hl = f_ip_hdr(dgram, &ip, bl);
		memcpy(dgram + hl, body, bl);
		struct ipv4_pkt p;
		assert_int_equal(ipv4_parse(dgram, hl + bl, &p), IPV4_OK);
		icmp_send_error(h.st, &p, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, h.now);
		struct pktbuf *pb = stack_pop_output(h.st);
		if ((pb != NULL) != rows[i].answered)
			fail_msg("row %zu: type %u %s", i, rows[i].type,
				 pb ? "got an error" : "got no error");
		pktbuf_free(pb);
	}
	/* An ICMP datagram with no ICMP byte at all. */
	uint8_t dgram[20];
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1 };
	f_ip_hdr(dgram, &ip, 0);
	struct ipv4_pkt p;
	assert_int_equal(ipv4_parse(dgram, 20, &p), IPV4_OK);
	icmp_send_error(h.st, &p, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, h.now);
	f_expect_nothing(&h);
	f_host_fini(&h);
}

/* icmp_send_error itself: no error about a non-first fragment; the first
 * fragment (offset 0, MF) may get one. */
static void test_rfc1122_no_error_about_non_first_fragment(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	static const struct { uint16_t frag; bool answered; } rows[] = {
		{ IPV4_MF | 1, false }, { 185, false }, { IPV4_MF, true }, { IPV4_DF, true },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		uint8_t dgram[64];
		struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 17, .frag = rows[i].frag };
		size_t hl = f_ip_hdr(dgram, &ip, 8);
		memset(dgram + hl, 0, 8);
		struct ipv4_pkt p;
		assert_int_equal(ipv4_parse(dgram, hl + 8, &p), IPV4_OK);
		icmp_send_error(h.st, &p, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, h.now);
		struct pktbuf *pb = stack_pop_output(h.st);
		if ((pb != NULL) != rows[i].answered)
			fail_msg("row %zu: frag 0x%04x %s", i, rows[i].frag,
				 pb ? "got an error" : "got no error");
		pktbuf_free(pb);
	}
	f_host_fini(&h);
}

/* ---- rate limit ---- */

static const uint8_t *nth_mac(unsigned i)
{
	static uint8_t mac[6] = { 0x02, 0x00, 0xc6, 0x12, 0x01, 0x00 };
	mac[5] = (uint8_t)i;
	return mac;
}

static uint32_t nth_ip(unsigned i)
{
	return 0xc6120064u + i; /* 198.18.0.100 + i */
}

/* Sends one UDP datagram to a closed port from peer i; returns whether
 * a port unreachable came back. */
static bool probe_from(struct f_host *h, unsigned i)
{
	uint8_t body[64], fr[128];
	size_t bl = f_udp(body, nth_ip(i), F_US, 40000, 9, NULL, 0, true);
	struct f_ip ip = { .src = nth_ip(i), .dst = F_US, .proto = 17 };
	f_in(h, fr, f_ip_frame(fr, f_us_mac, nth_mac(i), &ip, body, bl));
	struct pktbuf *pb = stack_pop_output(h->st);
	if (!pb)
		return false;
	size_t plen;
	const uint8_t *icmp = f_check_ip_out(pb, nth_mac(i), nth_ip(i), 1, &plen);
	assert_int_equal(icmp[0], ICMP_DEST_UNREACH);
	pktbuf_free(pb);
	f_expect_nothing(h);
	return true;
}

/* Linux icmp_msgs_burst 50: 50 errors go out at once (from 60 distinct
 * peers, so that only the global limit can apply), the rest count as
 * OutRateLimitGlobal; echo replies are never limited; tokens come back
 * at icmp_msgs_per_sec (1 per ms), up to the burst. */
static void test_linux_icmp_global_rate_limit(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	for (unsigned i = 0; i < 60; i++)
		f_learn(&h, nth_mac(i), nth_ip(i));

	unsigned sent = 0;
	for (unsigned i = 0; i < 60; i++)
		sent += probe_from(&h, i);
	assert_int_equal(sent, ICMP_MSGS_BURST);
	struct mib_icmp *m = &f_mib(&h)->icmp;
	assert_int_equal(m->OutRateLimitGlobal, 60 - ICMP_MSGS_BURST);
	assert_int_equal(m->OutDestUnreachs, ICMP_MSGS_BURST);
	assert_int_equal(m->OutMsgs, ICMP_MSGS_BURST);
	assert_int_equal(f_mib(&h)->udp.NoPorts, 60);

	/* Echo replies at the same instant still go out. */
	for (unsigned i = 0; i < 5; i++) {
		uint8_t fr[128];
		f_in(&h, fr, f_ping_from(fr, nth_mac(i), nth_ip(i), 1, (uint16_t)i, 8));
		assert_int_equal(f_drain(&h), 1);
	}
	assert_int_equal(m->OutEchoReps, 5);

	/* 999 µs later: still nothing; at 1 ms: exactly one token. */
	f_advance_to(&h, F_T0 + 999);
	assert_false(probe_from(&h, 0));
	f_advance_to(&h, F_T0 + F_MS);
	assert_true(probe_from(&h, 1));
	assert_false(probe_from(&h, 2));

	/* A long pause refills to the burst, not beyond. */
	f_advance_to(&h, F_T0 + 10 * F_SEC);
	sent = 0;
	for (unsigned i = 0; i < 60; i++)
		sent += probe_from(&h, i);
	assert_int_equal(sent, ICMP_MSGS_BURST);
	assert_int_equal(m->OutRateLimitGlobal, 2 * (60 - ICMP_MSGS_BURST) + 2);
	f_host_fini(&h);
}

/* ---- known divergences from Linux ---- */

/* Linux icmp_echo() answers an echo request whatever its code and copies
 * the code into the reply (it only rewrites the type). */
static void test_linux_echo_with_nonzero_code_answered(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	uint8_t body[32], fr[128];
	size_t bl = f_icmp(body, ICMP_ECHO, 5, 0x55, 1, (const uint8_t *)"code5", 5);
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1 };
	f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	struct pktbuf *pb = stack_pop_output(h.st);
	if (!pb) {
		f_host_fini(&h);
		LINUX_MISMATCH("icmp.c icmp_input: echo request with code 5 got no reply\n");
	}
	size_t plen;
	const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	assert_int_equal(icmp[0], ICMP_ECHOREPLY);
	assert_int_equal(icmp[1], 5);
	pktbuf_free(pb);
	f_host_fini(&h);
}

/* RFC 1122 §3.2.2 (and Linux __icmp_send: pkt_type != PACKET_HOST): no
 * error about a datagram received as a link-layer broadcast, even when it
 * is addressed to our IP. */
static void test_rfc1122_no_error_for_link_broadcast(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	uint8_t fr[128];
	size_t n = f_udp_frame(fr, F_PEER, 9, 4);
	memcpy(fr, f_bcast_mac, 6);
	f_in(&h, fr, n);
	struct pktbuf *pb = stack_pop_output(h.st);
	if (pb) {
		pktbuf_free(pb);
		f_host_fini(&h);
		LINUX_MISMATCH("stack.c udp_input/icmp_send_error: port unreachable sent "
				 "for a UDP datagram in an Ethernet broadcast frame\n");
	}
	f_host_fini(&h);
}

/* Linux __icmp_send: errors carry TOS (orig TOS & IPTOS_TOS_MASK) | 0xc0
 * (IPTOS_PREC_INTERNETCONTROL); icmp_reply: an echo reply keeps the
 * request's TOS. */
static void test_linux_icmp_tos(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	uint8_t body[32], fr[128];
	size_t bl = f_icmp(body, ICMP_ECHO, 0, 1, 1, NULL, 0);
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1, .tos = 0x10 };
	f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	struct pktbuf *pb = f_pop(&h);
	uint8_t echo_tos = pb->data[15];
	pktbuf_free(pb);
	f_in(&h, fr, f_udp_frame(fr, F_PEER, 9, 0));
	pb = f_pop(&h);
	uint8_t err_tos = pb->data[15];
	pktbuf_free(pb);
	f_host_fini(&h);
	if (echo_tos != 0x10 || err_tos != 0xc0)
		LINUX_MISMATCH("ipv4_push: echo reply TOS 0x%02x (Linux 0x10), "
				 "port unreachable TOS 0x%02x (Linux 0xc0)\n", echo_tos, err_tos);
}

/* Linux icmp_rcv: a type above NR_ICMP_TYPES (18) is "goto error":
 * counted in Icmp InErrors as well as InMsgs. (Type 100: 42 and 43 are
 * RFC 8335 PROBE, which Linux handles before that check.) */
static void test_linux_unknown_icmp_type_counts_in_errors(void **state)
{
	(void)state;
	struct f_host h;
	host_with_peer(&h);
	uint8_t body[16], fr[128];
	size_t bl = f_icmp(body, 100, 0, 0, 0, NULL, 0);
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1 };
	f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	f_expect_nothing(&h);
	uint64_t in_msgs = f_mib(&h)->icmp.InMsgs, in_errors = f_mib(&h)->icmp.InErrors;
	f_host_fini(&h);
	assert_int_equal(in_msgs, 1);
	if (in_errors != 1)
		LINUX_MISMATCH("icmp.c icmp_input: type 100 left InErrors at %llu\n",
				 (unsigned long long)in_errors);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc792_echo_reply_bytes),
		cmocka_unit_test(test_rfc791_reply_ids_differ),
		cmocka_unit_test(test_rfc1122_echo_with_ip_options),
		cmocka_unit_test(test_rfc792_echo_data_lengths),
		cmocka_unit_test(test_rfc792_echo_counters),
		cmocka_unit_test(test_rfc1122_bad_icmp_dropped_and_counted),
		cmocka_unit_test(test_rfc1122_incoming_types_counted_not_answered),
		cmocka_unit_test(test_rfc1122_udp_port_unreachable_quotes_datagram),
		cmocka_unit_test(test_linux_error_quote_capped_at_576),
		cmocka_unit_test(test_rfc768_udp_checks_before_port_unreachable),
		cmocka_unit_test(test_rfc1122_unknown_protocol_unreachable),
		cmocka_unit_test(test_rfc1122_no_error_to_special_sources),
		cmocka_unit_test(test_rfc1122_no_error_about_icmp_error),
		cmocka_unit_test(test_rfc1122_no_error_about_non_first_fragment),
		cmocka_unit_test(test_linux_icmp_global_rate_limit),
		cmocka_unit_test(test_linux_echo_with_nonzero_code_answered),
		cmocka_unit_test(test_rfc1122_no_error_for_link_broadcast),
		cmocka_unit_test(test_linux_icmp_tos),
		cmocka_unit_test(test_linux_unknown_icmp_type_counts_in_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
