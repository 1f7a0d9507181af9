/* Unit tests for eth.c and the Ethernet step of stack_input: the parser's
 * length check, header emission, address classes, and the host's
 * link-level filter (runts, frames for other MACs, unknown EtherTypes are
 * counted in TlExt and dropped, never answered). */
#include "frames.h"

#include <errno.h>

#include "eth.h"

/* A frame of exactly 14 bytes parses with an empty payload; its fields
 * come out in host order. */
static void test_eth_parse_header_fields(void **state)
{
	(void)state;
	uint8_t fr[14];
	f_eth(fr, f_us_mac, f_peer_mac, 0x0806);
	struct eth_frame f;
	assert_int_equal(eth_parse(fr, sizeof(fr), &f), 0);
	assert_memory_equal(f.dst, f_us_mac, 6);
	assert_memory_equal(f.src, f_peer_mac, 6);
	assert_int_equal(f.type, ETH_P_ARP);
	assert_ptr_equal(f.payload, fr + 14);
	assert_int_equal(f.payload_len, 0);
}

/* Ethernet padding stays in the payload: trimming is the IP layer's job
 * (it knows the total length). */
static void test_eth_parse_keeps_padding(void **state)
{
	(void)state;
	uint8_t fr[60] = { 0 };
	f_eth(fr, f_us_mac, f_peer_mac, 0x0800);
	struct eth_frame f;
	assert_int_equal(eth_parse(fr, sizeof(fr), &f), 0);
	assert_int_equal(f.payload_len, 46);
}

/* Every length below 14 is refused before any byte is read. */
static void test_eth_parse_runt_refused(void **state)
{
	(void)state;
	uint8_t fr[14];
	f_eth(fr, f_us_mac, f_peer_mac, 0x0800);
	struct eth_frame f;
	for (size_t len = 0; len < ETH_HLEN; len++) {
		/* A heap copy of exactly `len` bytes: ASan catches any overread. */
		uint8_t *p = malloc(len ? len : 1);
		memcpy(p, fr, len);
		assert_int_equal(eth_parse(p, len, &f), -EINVAL);
		free(p);
	}
}

/* eth_push writes dst, src, type in front of the payload. */
static void test_eth_push_bytes(void **state)
{
	(void)state;
	struct pktbuf *pb = pktbuf_alloc();
	memcpy(pktbuf_put(pb, 2), "hi", 2);
	assert_int_equal(eth_push(pb, f_peer_mac, f_us_mac, ETH_P_IP), 0);
	static const uint8_t want[16] = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x02,
					  0x02, 0x00, 0xc6, 0x12, 0x00, 0x01,
					  0x08, 0x00, 'h', 'i' };
	assert_int_equal(pb->len, 16);
	assert_memory_equal(pb->data, want, 16);
	pktbuf_free(pb);
	pktbuf_pool_drain();
}

/* No headroom: -ENOBUFS and the buffer is untouched. */
static void test_eth_push_without_headroom(void **state)
{
	(void)state;
	struct pktbuf *pb = pktbuf_alloc();
	pktbuf_push(pb, PKTBUF_HEADROOM - 13);
	uint32_t len = pb->len;
	assert_int_equal(eth_push(pb, f_peer_mac, f_us_mac, ETH_P_IP), -ENOBUFS);
	assert_int_equal(pb->len, len);
	pktbuf_free(pb);
	pktbuf_pool_drain();
}

/* The I/G bit makes a multicast; all-ones is broadcast (and multicast). */
static void test_eth_address_classes(void **state)
{
	(void)state;
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const uint8_t almost[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
	assert_true(eth_is_broadcast(f_bcast_mac));
	assert_true(eth_is_multicast(f_bcast_mac));
	assert_false(eth_is_broadcast(mcast));
	assert_true(eth_is_multicast(mcast));
	assert_false(eth_is_broadcast(almost));
	assert_true(eth_is_multicast(almost));
	assert_false(eth_is_multicast(f_us_mac));
	assert_false(eth_is_broadcast(f_us_mac));
	assert_memory_equal(eth_broadcast, f_bcast_mac, 6);
}

static void test_eth_ntoa_lowercase_colons(void **state)
{
	(void)state;
	char buf[18];
	assert_string_equal(eth_ntoa(f_us_mac, buf), "02:00:c6:12:00:01");
	static const uint8_t m[6] = { 0xab, 0xcd, 0xef, 0x0a, 0xff, 0x00 };
	assert_string_equal(eth_ntoa(m, buf), "ab:cd:ef:0a:ff:00");
}

/* Host: a frame shorter than an Ethernet header is a runt, counted in
 * RxRunts (and RxFrames), nothing sent. */
static void test_stack_runt_counted_and_dropped(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[14];
	f_eth(fr, f_us_mac, f_peer_mac, 0x0800);
	for (size_t len = 0; len < 14; len++)
		f_in(&h, fr, len);
	assert_int_equal(f_mib(&h)->tlext.RxFrames, 14);
	assert_int_equal(f_mib(&h)->tlext.RxRunts, 14);
	assert_int_equal(f_mib(&h)->ip.InReceives, 0);
	f_expect_nothing(&h);
	f_host_fini(&h);
}

/* Host: unicast to another MAC and multicast are RxNotForUs, even when
 * they carry an ARP request for our address or a ping. */
static void test_stack_frame_for_other_mac_not_for_us(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	uint8_t fr[128];
	size_t n = f_arp(fr, 1, f_peer2_mac, f_peer_mac, F_PEER, f_zero_mac, F_US);
	f_in(&h, fr, n);
	n = f_arp(fr, 1, mcast, f_peer_mac, F_PEER, f_zero_mac, F_US);
	f_in(&h, fr, n);
	n = f_ping(fr, 1, 1, 8);
	memcpy(fr, f_peer2_mac, 6);
	f_in(&h, fr, n);
	assert_int_equal(f_mib(&h)->tlext.RxNotForUs, 3);
	assert_int_equal(f_mib(&h)->tlext.ArpIn, 0);
	assert_int_equal(f_mib(&h)->ip.InReceives, 0);
	f_expect_nothing(&h);
	f_host_fini(&h);
}

/* Host: broadcast and our own MAC are accepted. */
static void test_stack_broadcast_and_own_mac_accepted(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[64];
	size_t n = f_arp(fr, 1, f_bcast_mac, f_peer_mac, F_PEER, f_zero_mac, F_US);
	f_in(&h, fr, n);
	n = f_arp(fr, 1, f_us_mac, f_peer_mac, F_PEER, f_zero_mac, F_US);
	f_in(&h, fr, n);
	assert_int_equal(f_mib(&h)->tlext.ArpIn, 2);
	assert_int_equal(f_mib(&h)->tlext.RxNotForUs, 0);
	assert_int_equal(f_drain(&h), 2);
	f_host_fini(&h);
}

/* Host: IPv6, 802.1Q-tagged and 802.3 length-field frames are unknown
 * EtherTypes to a lab host, counted and dropped. */
static void test_stack_unknown_ethertype_counted(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	static const uint16_t types[] = { 0x86dd, 0x8100, 0x0040, 0x88cc, 0x0000, 0xffff };
	uint8_t fr[60] = { 0 };
	for (size_t i = 0; i < TL_ARRAY_SIZE(types); i++) {
		f_eth(fr, f_us_mac, f_peer_mac, types[i]);
		f_in(&h, fr, sizeof(fr));
	}
	assert_int_equal(f_mib(&h)->tlext.RxUnknownEthertype, TL_ARRAY_SIZE(types));
	assert_int_equal(f_mib(&h)->tlext.RxFrames, TL_ARRAY_SIZE(types));
	assert_int_equal(f_mib(&h)->tlext.ArpIn + f_mib(&h)->tlext.ArpMalformed, 0);
	assert_int_equal(f_mib(&h)->ip.InReceives, 0);
	f_expect_nothing(&h);
	f_host_fini(&h);
}

/* Host: an Ethernet header with no payload at all, for IPv4 and ARP, is
 * counted by the layer above as malformed, not read past its end. */
static void test_stack_header_only_frames(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t *fr = malloc(14); /* exact size: ASan sees any overread */
	f_eth(fr, f_us_mac, f_peer_mac, 0x0800);
	f_in(&h, fr, 14);
	f_eth(fr, f_us_mac, f_peer_mac, 0x0806);
	f_in(&h, fr, 14);
	free(fr);
	assert_int_equal(f_mib(&h)->ip.InReceives, 1);
	assert_int_equal(f_mib(&h)->ip.InHdrErrors, 1);
	assert_int_equal(f_mib(&h)->tlext.ArpMalformed, 1);
	f_expect_nothing(&h);
	f_host_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_parse_header_fields),
		cmocka_unit_test(test_eth_parse_keeps_padding),
		cmocka_unit_test(test_eth_parse_runt_refused),
		cmocka_unit_test(test_eth_push_bytes),
		cmocka_unit_test(test_eth_push_without_headroom),
		cmocka_unit_test(test_eth_address_classes),
		cmocka_unit_test(test_eth_ntoa_lowercase_colons),
		cmocka_unit_test(test_stack_runt_counted_and_dropped),
		cmocka_unit_test(test_stack_frame_for_other_mac_not_for_us),
		cmocka_unit_test(test_stack_broadcast_and_own_mac_accepted),
		cmocka_unit_test(test_stack_unknown_ethertype_counted),
		cmocka_unit_test(test_stack_header_only_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
