// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "stack/addr.h"
#include "stack/steer.h"

static int
one(struct vs_port *port, int q, uint8_t proto, int family, const void *addr,
    uint16_t lport, struct vs_steer *st)
{
	size_t alen = family == AF_INET ? 4 : 16;
	struct vs_rule r = { .action =
				     q < 0 ? VS_RULE_STEER_RSS : VS_RULE_STEER,
			     .queue = q < 0 ? 0 : (unsigned)q,
			     .proto = proto,
			     .family = (uint8_t)family,
			     .dport = lport,
			     .dport_mask = 0xffff };
	int rc;

	if (st->n == VS_PORT_MAX_ADDRS)
		return -ENOSPC;
	memcpy(r.dst, addr, alen);
	memset(r.dst_mask, 0xff, alen);
	rc = vs__port_rule_add(port, &r, &st->h[st->n]);
	if (!rc)
		st->n++;
	return rc;
}

int
vs__steer_add(struct vs_port *port, int q, uint8_t proto,
	      const struct sockaddr *local, bool dual, struct vs_steer *st)
{
	const struct vs_port_info *in = vs__port_info(port);
	uint16_t lport = vs__sa_port(local);
	int rc = 0;

	if (!vs__ip_is_any(local))
		return one(port, q, proto, local->sa_family, vs__sa_addr(local),
			   lport, st);
	/* The addresses lwIP has (netif.c): the port's first IPv4 one and
	 * its IPv6 ones; frames to any other are the kernel's. */
	for (unsigned k = 0, v4 = 0; !rc && k < in->naddrs; k++) {
		const struct sockaddr *a =
			(const struct sockaddr *)&in->addrs[k];

		if ((!dual && a->sa_family != local->sa_family) ||
		    (a->sa_family == AF_INET && v4++))
			continue;
		rc = one(port, q, proto, a->sa_family, vs__sa_addr(a), lport,
			 st);
	}
	if (rc)
		vs__steer_del(port, st);
	return rc;
}

void
vs__steer_del(struct vs_port *port, struct vs_steer *st)
{
	for (unsigned k = 0; k < st->n; k++)
		vs__port_rule_del(port, st->h[k]);
	st->n = 0;
}
