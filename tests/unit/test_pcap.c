/* pcap headers (netemu/pcap.c): the exact bytes of the classic libpcap
 * format. The integration test test_link_capture.sh reads a real capture
 * with tcpdump -r. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pcap.h"

static void test_pcap_file_header_bytes(void **state)
{
	(void)state;
	uint8_t h[PCAP_FILE_HEADER_LEN];
	pcap_file_header(h, 65535);
	static const uint8_t want[PCAP_FILE_HEADER_LEN] = {
		0xd4, 0xc3, 0xb2, 0xa1, /* magic, little endian, microseconds */
		0x02, 0x00, 0x04, 0x00, /* version 2.4 */
		0x00, 0x00, 0x00, 0x00, /* thiszone */
		0x00, 0x00, 0x00, 0x00, /* sigfigs */
		0xff, 0xff, 0x00, 0x00, /* snaplen 65535 */
		0x01, 0x00, 0x00, 0x00, /* LINKTYPE_ETHERNET */
	};
	assert_memory_equal(h, want, sizeof(want));
}

static void test_pcap_record_header_splits_time(void **state)
{
	(void)state;
	uint8_t r[PCAP_RECORD_HEADER_LEN];
	/* 2026-01-01 00:00:00.123456 UTC = 1767225600 s */
	pcap_record_header(r, 1767225600ull * 1000000 + 123456, 60, 1514);
	static const uint8_t want[PCAP_RECORD_HEADER_LEN] = {
		0x00, 0xb9, 0x55, 0x69, /* ts_sec 1767225600 */
		0x40, 0xe2, 0x01, 0x00, /* ts_usec 123456 */
		0x3c, 0x00, 0x00, 0x00, /* incl_len 60 */
		0xea, 0x05, 0x00, 0x00, /* orig_len 1514 */
	};
	assert_memory_equal(r, want, sizeof(want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_file_header_bytes),
		cmocka_unit_test(test_pcap_record_header_splits_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
