/* SPDX-License-Identifier: MIT */
/* Frame builders for tests: Ethernet/IPv4 with UDP or TCP. */
#ifndef VS_TEST_FRAMES_H
#define VS_TEST_FRAMES_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

/* A frame of total length len (UDP: >= 42, TCP: >= 54), payload bytes
 * numbered from the start of the frame. */
static inline void
ip4_frame(uint8_t *f, uint32_t len, const uint8_t *dmac, const uint8_t *smac,
	  uint8_t proto, uint32_t sip, uint32_t dip, uint16_t sport,
	  uint16_t dport)
{
	uint16_t iplen = htons((uint16_t)(len - 14)),
		 udplen = htons((uint16_t)(len - 34));
	uint32_t l4 = proto == 6 ? 54 : 42;

	memset(f, 0, len);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	memcpy(f + 16, &iplen, 2);
	f[22] = 64;
	f[23] = proto;
	sip = htonl(sip);
	dip = htonl(dip);
	memcpy(f + 26, &sip, 4);
	memcpy(f + 30, &dip, 4);
	sport = htons(sport);
	dport = htons(dport);
	memcpy(f + 34, &sport, 2);
	memcpy(f + 36, &dport, 2);
	if (proto == 17)
		memcpy(f + 38, &udplen, 2);
	else
		f[46] = 5 << 4; /* TCP data offset: 20 bytes */
	for (uint32_t i = l4; i < len; i++)
		f[i] = (uint8_t)i;
}

static inline void
udp4_frame(uint8_t *f, uint32_t len, const uint8_t *dmac, const uint8_t *smac,
	   uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport)
{
	ip4_frame(f, len, dmac, smac, 17, sip, dip, sport, dport);
}

/* The ones'-complement sum of len bytes, folded, added to sum. */
static inline uint32_t
frame_sum(uint32_t sum, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* True if an IPv4 frame's header checksum verifies. */
static inline int
frame_ip4_csum_ok(const uint8_t *f)
{
	return frame_sum(0, f + 14, (uint32_t)(f[14] & 0xf) * 4) == 0xffff;
}

/* True if an IPv4 frame's UDP or TCP checksum verifies against its
 * pseudo-header (a UDP checksum of 0, "none", does not). */
static inline int
frame_l4_csum_ok(const uint8_t *f)
{
	uint32_t ihl = (uint32_t)(f[14] & 0xf) * 4,
		 l4len = ((uint32_t)f[16] << 8 | f[17]) - ihl, sum;
	const uint8_t *l4 = f + 14 + ihl;

	if (f[23] == 17 && !l4[6] && !l4[7])
		return 0;
	sum = frame_sum(0, f + 26, 8); /* source and destination */
	sum += f[23] + l4len;
	return frame_sum(sum, l4, l4len) == 0xffff;
}

#endif
