// SPDX-License-Identifier: MIT
#include "base/toeplitz.h"

const uint8_t vs__rss_ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/*
 * For every set bit of the input, XOR in the 32 key bits that start at
 * that bit's position; the window slides one key bit per input bit.
 */
uint32_t
vs__toeplitz(const uint8_t *key, size_t keylen, const uint8_t *in, size_t inlen)
{
	uint32_t hash = 0, window;
	size_t kbit = 32;

	if (keylen < 4)
		return 0;
	window = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 |
		 (uint32_t)key[2] << 8 | key[3];
	for (size_t i = 0; i < inlen; i++) {
		for (int b = 7; b >= 0; b--, kbit++) {
			if (in[i] & (1u << b))
				hash ^= window;
			window <<= 1;
			if (kbit / 8 < keylen &&
			    (key[kbit / 8] & (0x80u >> (kbit % 8))))
				window |= 1;
		}
	}
	return hash;
}
