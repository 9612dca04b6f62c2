/* SPDX-License-Identifier: MIT */
/*
 * lwip_hooks.h - the functions vstack's lwIP build calls at its hooks
 * (LWIP_HOOK_FILENAME), implemented in port.c.
 */
#ifndef VS_LWIP_HOOKS_H
#define VS_LWIP_HOOKS_H

#include "lwip/err.h"
#include "lwip/ip_addr.h"

struct tcp_hdr;

/* RFC 6528 initial sequence numbers: a 4 us clock plus a keyed hash of
 * the connection's addresses and ports. */
u32_t vs_lwip_isn(const ip_addr_t *local_ip, u16_t local_port,
		  const ip_addr_t *remote_ip, u16_t remote_port);

/* RFC 4987 SYN cookies (patch 0003): the cookie for a SYN with sequence
 * number isn, and in *mss (the peer's MSS on entry) the MSS it encodes;
 * and the MSS a returned cookie encodes, or 0 if it is not valid. */
u32_t vs_lwip_syn_cookie(const ip_addr_t *local_ip, u16_t local_port,
			 const ip_addr_t *remote_ip, u16_t remote_port,
			 u32_t isn, u16_t *mss);
u16_t vs_lwip_syn_cookie_check(const ip_addr_t *local_ip, u16_t local_port,
			       const ip_addr_t *remote_ip, u16_t remote_port,
			       u32_t isn, u32_t cookie);

/* A segment to a listener (arg: its callback arg): ERR_OK, or ERR_ABRT
 * to drop it without an answer, as vs_lwip_syn_filter says of a SYN. */
err_t vs_lwip_listen_input(void *arg, const struct tcp_hdr *hdr);
/* Set by vstack in each copy (NULL: every SYN is taken): 0 drops a SYN
 * from the peer's port sport to the listener whose callback arg is arg. */
extern int (*vs_lwip_syn_filter)(void *arg, u16_t sport);

/* A datagram IP reassembly completed (patch 0014), p at its IP header:
 * nonzero if vstack took it (and freed it). Calls vs_lwip_reassembled_fn
 * (set by vstack in each copy; NULL: lwIP goes on) with its arg. */
struct pbuf;
struct netif;
int vs_lwip_reassembled(struct pbuf *p, struct netif *inp);
extern int (*vs_lwip_reassembled_fn)(void *arg, struct pbuf *p);
extern void *vs_lwip_reassembled_arg;

#endif
