/* SPDX-License-Identifier: MIT */
/*
 * arch/cc.h - the platform lwIP is compiled for: Linux, glibc, 64 bits.
 * Part of vstack's lwIP build (lwip/README.md); vstack's own code sees
 * the same definitions through the same include path.
 */
#ifndef VS_LWIP_ARCH_CC_H
#define VS_LWIP_ARCH_CC_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/types.h>

#define LWIP_TIMEVAL_PRIVATE 0
#define LWIP_ERRNO_INCLUDE <errno.h>
#define LWIP_ERRNO_STDINCLUDE 1
/* Aligned copies of IPv6 headers in reassembly (64-bit pointers). */
#define IPV6_FRAG_COPYHEADER 1

/* Byte order by the compiler's builtins; the C library's htons stays
 * the C library's. */
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

/* lwIP's own random numbers (first local ports, IPv6): port.c (lwIP's
 * unit tests, built without it, bring their own). */
#ifndef LWIP_RAND
unsigned int vs_lwip_rand(void);
#define LWIP_RAND() ((u32_t)vs_lwip_rand())
#endif

/* An assertion is a bug in vstack or lwIP: say where, and stop. */
#define LWIP_PLATFORM_DIAG(x) \
	do {                  \
		printf x;     \
	} while (0)
#define LWIP_PLATFORM_ASSERT(x)                                    \
	do {                                                       \
		fprintf(stderr,                                    \
			"vstack: lwIP assertion \"%s\" failed at " \
			"%s:%d\n",                                 \
			x, __FILE__, __LINE__);                    \
		abort();                                           \
	} while (0)

#endif
