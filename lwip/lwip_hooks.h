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

/* A segment (p: its payload) to listener pcb: ERR_OK, or ERR_ABRT when
 * vs_lwip_syn_filter refused a SYN (dropped, or answered with a reset). */
struct tcp_pcb;
struct pbuf;
err_t vs_lwip_listen_input(const struct tcp_pcb *pcb, const struct tcp_hdr *hdr,
			   const struct pbuf *p);
/* Set by vstack in each copy (NULL: every SYN is taken), for a SYN from
 * the peer's port sport to the listener whose callback arg is arg:
 * 1 takes it, 0 drops it (the peer sends again), -1 resets it. */
extern int (*vs_lwip_syn_filter)(void *arg, u16_t sport);

/* A datagram IP reassembly completed (patch 0014), p at its IP header:
 * nonzero if vstack took it (and freed it). Calls vs_lwip_reassembled_fn
 * (set by vstack in each copy; NULL: lwIP goes on) with its arg. */
struct netif;
int vs_lwip_reassembled(struct pbuf *p, struct netif *inp);
extern int (*vs_lwip_reassembled_fn)(void *arg, struct pbuf *p);
extern void *vs_lwip_reassembled_arg;

#endif
