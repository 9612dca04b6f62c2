/* SPDX-License-Identifier: MIT */
/*
 * lwip_hooks.h - the functions vstack's lwIP build calls at its hooks
 * (LWIP_HOOK_FILENAME), implemented in port.c.
 */
#ifndef VS_LWIP_HOOKS_H
#define VS_LWIP_HOOKS_H

#include "lwip/ip_addr.h"

/* RFC 6528 initial sequence numbers: a 4 us clock plus a keyed hash of
 * the connection's addresses and ports. */
u32_t vs_lwip_isn(const ip_addr_t *local_ip, u16_t local_port,
		  const ip_addr_t *remote_ip, u16_t remote_port);

#endif
