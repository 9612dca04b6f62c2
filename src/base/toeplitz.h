/* SPDX-License-Identifier: MIT */
/*
 * toeplitz - the RSS hash of the Microsoft RSS specification, as NICs
 * compute it. The emulated ConnectX uses it to spread frames over WQs;
 * vstack uses it to choose source ports whose flows land on a given core.
 *
 * Input order for a TCP/UDP flow: source address, destination address,
 * source port, destination port, all in network byte order.
 */
#ifndef VS_BASE_TOEPLITZ_H
#define VS_BASE_TOEPLITZ_H

#include <stddef.h>
#include <stdint.h>

/* The 40-byte key of the Microsoft specification's test vectors. */
extern const uint8_t vs__rss_ms_key[40];

uint32_t vs__toeplitz(const uint8_t *key, size_t keylen, const uint8_t *in,
		      size_t inlen);

#endif
