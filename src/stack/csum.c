// SPDX-License-Identifier: MIT
#include <string.h>

#include "stack/csum.h"

/* 2^16 = 1 modulo 0xffff: a sum of 64-bit words, folded with the
 * carries added back, is the sum of their 16-bit words. */
static uint16_t
fold(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

uint16_t
vs__csum(const void *data, int len)
{
	const uint8_t *p = data;
	unsigned __int128 acc = 0;
	uint64_t lo, hi, s;

	for (; len >= 32; p += 32, len -= 32) {
		uint64_t w[4];

		memcpy(w, p, sizeof(w));
		acc += (unsigned __int128)w[0] + w[1];
		acc += (unsigned __int128)w[2] + w[3];
	}
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		acc += w;
	}
	if (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len)
		acc += *p; /* the low byte of its word, as lwIP pairs it */
	lo = (uint64_t)acc;
	hi = (uint64_t)(acc >> 64);
	s = lo + hi;
	s += s < lo; /* end-around carry */
	return fold(s);
}
