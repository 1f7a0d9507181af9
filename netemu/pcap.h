/* pcap file format (the classic libpcap format tcpdump -r reads):
 * encodes the 24-byte file header and the 16-byte record header, little
 * endian with microsecond timestamps, link type Ethernet. Pure: the
 * daemon writes the bytes (daemon/lab.c, link captures).
 * Any thread; no state. */
#ifndef TL_NETEMU_PCAP_H
#define TL_NETEMU_PCAP_H

#include <stdint.h>

#define PCAP_FILE_HEADER_LEN 24
#define PCAP_RECORD_HEADER_LEN 16
#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_SNAPLEN 65535

/* Magic a1b2c3d4 (us timestamps), version 2.4, zone 0, snaplen, Ethernet. */
void pcap_file_header(uint8_t out[PCAP_FILE_HEADER_LEN], uint32_t snaplen);

/* One record: time since the Unix epoch in us, bytes stored, bytes on the
 * wire (caplen <= origlen). */
void pcap_record_header(uint8_t out[PCAP_RECORD_HEADER_LEN], uint64_t unix_usec,
			uint32_t caplen, uint32_t origlen);

#endif
