/* SPDX-License-Identifier: MIT */
/*
 * steer - the NIC rules that bring a local endpoint's frames (a listener,
 * a bound UDP socket) to vstack.
 *
 * Owns: the translation of "proto, local address, port" into rules. An
 * unspecified address becomes one rule per address of the port that
 * lwIP has (the first IPv4 one, the IPv6 ones; of its family, or both
 * for a dual-stack socket), never a rule for every destination: frames
 * to other addresses — a second IPv4 address, one added to the netdev
 * later, another host's on the same cable — stay the kernel's.
 * Must never: install a rule matching destinations that are not the
 * port's.
 */
#ifndef VS_STACK_STEER_H
#define VS_STACK_STEER_H

#include <sys/socket.h>

#include "verbs/port.h"

struct vs_steer {
	struct vs_rule_handle *h[VS_PORT_MAX_ADDRS];
	unsigned n;
};

/*
 * Rules for frames of proto to local (its port; family AF_UNSPEC in
 * `dual`: IPv4 and IPv6) to queue q, or spread by RSS when q < 0. 0, or
 * -errno with none installed.
 */
int vs__steer_add(struct vs_port *port, int q, uint8_t proto,
		  const struct sockaddr *local, bool dual, struct vs_steer *st);
/* Deletes them (st is empty afterwards). */
void vs__steer_del(struct vs_port *port, struct vs_steer *st);
/*
 * Where the port cannot follow fragments (!info.frag_follow): rules that
 * copy every IP fragment to the port's addresses (those lwIP has; UDP
 * only over IPv4, any over IPv6, where a NIC sees only the fragment
 * header) to queue q; the kernel gets them too (stack/frag.c says why).
 * 0 where the port follows fragments itself; else 0 or -errno with none
 * installed.
 */
int vs__steer_frag_add(struct vs_port *port, unsigned q, struct vs_steer *st);

/*
 * A local endpoint's frames cut by the peer's source port into
 * VS_STEER_BUCKETS buckets (bucket = port bits 1-6: Linux's connect()
 * takes even ports, so bit 0 says little), for a listener shared by
 * processes (sockapi/share.c). Each bucket this process holds is steered
 * by RSS over its queues, at normal precedence or standby (taken only
 * where no other process's rule is). Normal buckets become as few masked
 * rules as cover them (one unmasked rule for all 64).
 */
#define VS_STEER_BUCKETS 64
#define VS_STEER_BUCKET_SHIFT 1
#define VS_STEER_BUCKET(sport) \
	(((unsigned)(sport) >> VS_STEER_BUCKET_SHIFT) & (VS_STEER_BUCKETS - 1))

struct vs_steer_share {
	uint64_t normal, standby; /* the buckets installed */
	struct vs_steer_blk {
		uint8_t lo, order; /* buckets lo .. lo + 2^order - 1 */
		struct vs_steer st;
	} blk[VS_STEER_BUCKETS];
	unsigned nblk;
	struct vs_steer sb[VS_STEER_BUCKETS]; /* per standby bucket */
};

/*
 * Makes the rules for local (as vs__steer_add: proto, dual) steer
 * exactly the buckets of `normal` and of `standby` (disjoint): new rules
 * first, then the ones no longer wanted go, so a bucket that stays never
 * lacks a rule. 0, or -errno with what could be installed installed (sh
 * says what).
 */
int vs__steer_share_set(struct vs_port *port, uint8_t proto,
			const struct sockaddr *local, bool dual,
			struct vs_steer_share *sh, uint64_t normal,
			uint64_t standby);

#endif
