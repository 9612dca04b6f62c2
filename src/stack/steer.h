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

#endif
