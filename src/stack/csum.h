/* SPDX-License-Identifier: MIT */
/*
 * csum - the Internet checksum's one's complement sum, for lwIP.
 *
 * vstack's lwIP is built with LWIP_CHKSUM = vs__csum (lwip/lwipopts.h;
 * this file is compiled into that library too): where a sum remains in
 * software (AF_XDP, ICMP, fragments; a ConnectX checks and fills the
 * others), it is the folded sum of the data's 16-bit words in host
 * order, paired from the first byte, a last odd byte as the low byte,
 * computed 64 bits at a time instead of lwIP's 16.
 *
 * Owns nothing. Must never: differ from RFC 1071's result for any data,
 * length or alignment (stack.lwip_csum compares them on lengths up to
 * 4096 at alignments 0 to 7).
 */
#ifndef VS_STACK_CSUM_H
#define VS_STACK_CSUM_H

#include <stdint.h>

uint16_t vs__csum(const void *data, int len);

#endif
