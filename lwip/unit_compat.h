/* SPDX-License-Identifier: MIT */
/*
 * unit_compat.h - forced into lwIP's own unit tests (lwip.unit): Debian's
 * "port" patch moved three macros of src/api/sockets.c into its Hurd
 * port's headers; the tests build lwIP's socket layer with lwIP's own
 * sockaddr, which has length fields. LWIP_RAND without port.c, and the
 * retransmission timeouts the tests expect.
 */
#define IP4ADDR_SOCKADDR_SET_LEN(sin) \
	(sin)->sin_len = sizeof(struct sockaddr_in)
#define IP6ADDR_SOCKADDR_SET_LEN(sin6) \
	(sin6)->sin6_len = sizeof(struct sockaddr_in6)
#define IPADDR_SOCKADDR_GET_LEN(addr) (addr)->sa.sa_len
/* The tests' random numbers (vstack's port.c is not in their build). */
#include <stdlib.h>
#define LWIP_RAND() ((u32_t)rand())
/* The RTOs lwIP's tests are written for (patch 0004 makes them options:
 * vstack's are 1 s first and 200 ms at least). */
#define TCP_RTO_INITIAL_MS 3000
#define TCP_RTO_MIN_MS 0
