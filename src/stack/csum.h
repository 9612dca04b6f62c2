/* SPDX-License-Identifier: MIT */
/*
 * csum - the Internet checksum's one's complement sum, for lwIP.
 *
 * Debian builds lwIP with every software checksum on (bench/README.md:
 * 70% of lwIP's instructions per segment), summing 16 bits at a time.
 * vs__csum computes what lwIP's lwip_standard_chksum computes — the
 * folded sum of the data's 16-bit words in host order, paired from the
 * first byte, a last odd byte as the low byte — 64 bits at a time; each
 * engine's lwIP copy is pointed at it (src/stack/lwip.c).
 *
 * Owns nothing. Must never: differ from lwIP's result for any data,
 * length or alignment (stack.lwip_csum compares them on lengths up to
 * 4096 at alignments 0 to 7).
 */
#ifndef VS_STACK_CSUM_H
#define VS_STACK_CSUM_H

#include <stdint.h>

uint16_t vs__csum(const void *data, int len);

#endif
