/* SPDX-License-Identifier: MIT */
/*
 * addr - socket addresses (IPv4 and IPv6) and lwIP's ip_addr_t, one
 * into the other, for the engine's TCP and UDP APIs.
 *
 * Owns nothing. Must never: name an lwIP global (lwip.h says why).
 */
#ifndef VS_STACK_ADDR_H
#define VS_STACK_ADDR_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "stack/lwip.h"

static inline size_t
vs__sa_len(int family)
{
	return family == AF_INET ? sizeof(struct sockaddr_in) :
				   sizeof(struct sockaddr_in6);
}

/* The address bytes (4 or 16), network order. */
static inline const void *
vs__sa_addr(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET ?
		       (const void *)&((const struct sockaddr_in *)sa)
			       ->sin_addr :
		       (const void *)&((const struct sockaddr_in6 *)sa)
			       ->sin6_addr;
}

/* The port, host order. */
static inline u16_t
vs__sa_port(const struct sockaddr *sa)
{
	return ntohs(sa->sa_family == AF_INET ?
			     ((const struct sockaddr_in *)sa)->sin_port :
			     ((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* The unspecified address (0.0.0.0, ::)? */
static inline bool
vs__ip_is_any(const struct sockaddr *sa)
{
	static const unsigned char zero[16];

	return !memcmp(vs__sa_addr(sa), zero,
		       sa->sa_family == AF_INET ? 4 : 16);
}

static inline ip_addr_t
vs__ip_of(const struct sockaddr *sa)
{
	ip_addr_t a;

	memset(&a, 0, sizeof(a));
	if (sa->sa_family == AF_INET) {
		memcpy(&ip_2_ip4(&a)->addr, vs__sa_addr(sa), 4);
		IP_SET_TYPE_VAL(a, IPADDR_TYPE_V4);
	} else {
		memcpy(ip_2_ip6(&a)->addr, vs__sa_addr(sa), 16);
		IP_SET_TYPE_VAL(a, IPADDR_TYPE_V6);
	}
	return a;
}

static inline void
vs__sa_of_ip(const ip_addr_t *ip, u16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (IP_IS_V4(ip)) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = ip_2_ip4(ip)->addr;
		in->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, ip_2_ip6(ip)->addr, 16);
		in6->sin6_port = htons(port);
	}
}

#endif
