/* pcap headers (see pcap.h). Written little endian byte by byte, so the
 * file is the same on any host; readers detect the order from the magic. */
#include "pcap.h"

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void pcap_file_header(uint8_t out[PCAP_FILE_HEADER_LEN], uint32_t snaplen)
{
	put_le32(out, 0xa1b2c3d4u); /* microsecond timestamps */
	put_le16(out + 4, 2);       /* version 2.4 */
	put_le16(out + 6, 4);
	put_le32(out + 8, 0);       /* thiszone: UTC */
	put_le32(out + 12, 0);      /* sigfigs */
	put_le32(out + 16, snaplen);
	put_le32(out + 20, PCAP_LINKTYPE_ETHERNET);
}

void pcap_record_header(uint8_t out[PCAP_RECORD_HEADER_LEN], uint64_t unix_usec,
			uint32_t caplen, uint32_t origlen)
{
	put_le32(out, (uint32_t)(unix_usec / 1000000));
	put_le32(out + 4, (uint32_t)(unix_usec % 1000000));
	put_le32(out + 8, caplen);
	put_le32(out + 12, origlen);
}
