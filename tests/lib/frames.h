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

#endif
