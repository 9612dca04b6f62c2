/* SPDX-License-Identifier: MIT */
/*
 * udp - the engine's UDP API: open (bind) a socket, send datagrams,
 * receive them through a callback on the engine's thread.
 *
 * Owns, per socket: the lwIP pcb, the rule that steers its local address
 * and port to the engine's queue, and, for an ephemeral port, the kernel
 * socket that reserves it.
 *
 * Must never: be called from another thread than the engine's.
 */
#ifndef VS_STACK_UDP_H
#define VS_STACK_UDP_H

#include <sys/socket.h>
#include <sys/types.h>

#include "stack/engine.h"

struct vs_udp;

struct vs_udp_ops {
	/* A datagram (the callee owns p: pbuf_free) from `from`. */
	void (*received)(struct vs_udp *u, struct pbuf *p,
			 const struct sockaddr *from);
};

/* Binds to local (port 0: an ephemeral port reserved from the kernel).
 * VS_UDP_DUAL with IPv6's unspecified address: IPv4 datagrams too (a
 * dual-stack socket); they come `from` an AF_INET address. */
#define VS_UDP_DUAL 1u
int vs__udp_open(struct vs_engine *e, const struct sockaddr *local,
		 unsigned flags, const struct vs_udp_ops *ops, void *user,
		 struct vs_udp **out);
/* Sends len bytes to `to` (lwIP fragments above the MTU), from `from`'s
 * address if not NULL (one of the port's: -EADDRNOTAVAIL else), else from
 * the address lwIP picks. -EMSGSIZE beyond what IP can carry, as the
 * kernel says. */
ssize_t vs__udp_sendto(struct vs_udp *u, const void *data, size_t len,
		       const struct sockaddr *to, const struct sockaddr *from);
/* Inside `received` only: the address the datagram was sent to (port 0). */
void vs__udp_dst(const struct vs_udp *u, struct sockaddr_storage *ss);
void *vs__udp_user(const struct vs_udp *u);
/* The local address, with the port actually bound. */
void vs__udp_local(const struct vs_udp *u, struct sockaddr_storage *ss);
void vs__udp_close(struct vs_udp *u);
/* The engine of port's socket bound to dst (family AF_INET or AF_INET6,
 * 4 or 16 bytes) and dport (host order), a socket on that very address
 * before one on the unspecified one; NULL if none. From any thread
 * (stack/frag.c: where a reassembled datagram goes). */
struct vs_engine *vs__udp_engine_of(const struct vs_port *port, int family,
				    const void *dst, uint16_t dport);

#endif
