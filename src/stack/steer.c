// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "stack/addr.h"
#include "stack/steer.h"

/* Which frames of a local endpoint: all of them, or a share's block. */
struct sel {
	uint16_t sport, sport_mask;
	bool standby;
};

static int
one(struct vs_port *port, int q, uint8_t proto, int family, const void *addr,
    uint16_t lport, const struct sel *sel, struct vs_steer *st)
{
	size_t alen = family == AF_INET ? 4 : 16;
	struct vs_rule r = { .action =
				     q < 0 ? VS_RULE_STEER_RSS : VS_RULE_STEER,
			     .queue = q < 0 ? 0 : (unsigned)q,
			     .proto = proto,
			     .family = (uint8_t)family,
			     .dport = lport,
			     .dport_mask = 0xffff,
			     .sport = sel->sport,
			     .sport_mask = sel->sport_mask,
			     .standby = sel->standby };
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

static int
add_sel(struct vs_port *port, int q, uint8_t proto,
	const struct sockaddr *local, bool dual, const struct sel *sel,
	struct vs_steer *st)
{
	const struct vs_port_info *in = vs__port_info(port);
	uint16_t lport = vs__sa_port(local);
	int rc = 0;

	if (!vs__ip_is_any(local))
		return one(port, q, proto, local->sa_family, vs__sa_addr(local),
			   lport, sel, st);
	/* The addresses lwIP has (netif.c): the port's first IPv4 one and
	 * its IPv6 ones; frames to any other are the kernel's. */
	for (unsigned k = 0, v4 = 0; !rc && k < in->naddrs; k++) {
		const struct sockaddr *a =
			(const struct sockaddr *)&in->addrs[k];

		if ((!dual && a->sa_family != local->sa_family) ||
		    (a->sa_family == AF_INET && v4++))
			continue;
		rc = one(port, q, proto, a->sa_family, vs__sa_addr(a), lport,
			 sel, st);
	}
	if (rc)
		vs__steer_del(port, st);
	return rc;
}

int
vs__steer_add(struct vs_port *port, int q, uint8_t proto,
	      const struct sockaddr *local, bool dual, struct vs_steer *st)
{
	static const struct sel all;

	return add_sel(port, q, proto, local, dual, &all, st);
}

void
vs__steer_del(struct vs_port *port, struct vs_steer *st)
{
	for (unsigned k = 0; k < st->n; k++)
		vs__port_rule_del(port, st->h[k]);
	st->n = 0;
}

int
vs__steer_frag_add(struct vs_port *port, unsigned q, struct vs_steer *st)
{
	const struct vs_port_info *in = vs__port_info(port);
	int rc = 0;

	st->n = 0;
	if (in->frag_follow)
		return 0;
	for (unsigned k = 0, v4 = 0; !rc && k < in->naddrs; k++) {
		const struct sockaddr *a =
			(const struct sockaddr *)&in->addrs[k];
		size_t alen = a->sa_family == AF_INET ? 4 : 16;
		struct vs_rule r = { .action = VS_RULE_STEER,
				     .queue = q,
				     .family = (uint8_t)a->sa_family,
				     .proto = a->sa_family == AF_INET ?
						      IPPROTO_UDP :
						      0,
				     .frag = true,
				     .copy = true };

		if (a->sa_family == AF_INET && v4++)
			continue;
		memcpy(r.dst, vs__sa_addr(a), alen);
		memset(r.dst_mask, 0xff, alen);
		rc = vs__port_rule_add(port, &r, &st->h[st->n]);
		if (!rc)
			st->n++;
	}
	if (rc)
		vs__steer_del(port, st);
	return rc;
}

/* --- shares --- */

#define BMASK (VS_STEER_BUCKETS - 1)

/* Buckets lo .. lo + 2^order - 1 as a masked source port. */
static struct sel
blk_sel(unsigned lo, unsigned order, bool standby)
{
	unsigned m = BMASK & ~((1u << order) - 1);

	return (struct sel){ .sport = (uint16_t)(lo << VS_STEER_BUCKET_SHIFT),
			     .sport_mask =
				     (uint16_t)(m << VS_STEER_BUCKET_SHIFT),
			     .standby = standby };
}

static uint64_t
blk_bits(unsigned lo, unsigned order)
{
	return order >= 6 ? ~0ull : ((1ull << (1u << order)) - 1) << lo;
}

/* The fewest aligned blocks that cover set exactly. */
static unsigned
blocks_of(uint64_t set, uint8_t lo[], uint8_t order[])
{
	unsigned n = 0;

	for (unsigned b = 0; b < VS_STEER_BUCKETS;) {
		unsigned o = 6;

		if (!(set >> b & 1)) {
			b++;
			continue;
		}
		while (b % (1u << o) ||
		       (set & blk_bits(b, o)) != blk_bits(b, o))
			o--;
		lo[n] = (uint8_t)b;
		order[n++] = (uint8_t)o;
		b += 1u << o;
	}
	return n;
}

int
vs__steer_share_set(struct vs_port *port, uint8_t proto,
		    const struct sockaddr *local, bool dual,
		    struct vs_steer_share *sh, uint64_t normal,
		    uint64_t standby)
{
	uint8_t lo[VS_STEER_BUCKETS], order[VS_STEER_BUCKETS];
	unsigned n = blocks_of(normal, lo, order), k;
	int rc = 0;

	/* New blocks first (an old one may still cover the same buckets:
	 * both are ours, and the more specific takes them). */
	for (unsigned i = 0; i < n; i++) {
		struct sel sel = blk_sel(lo[i], order[i], false);
		struct vs_steer_blk *b;
		int r;

		for (k = 0; k < sh->nblk; k++)
			if (sh->blk[k].lo == lo[i] &&
			    sh->blk[k].order == order[i])
				break;
		if (k < sh->nblk)
			continue;
		b = &sh->blk[sh->nblk];
		*b = (struct vs_steer_blk){ .lo = lo[i], .order = order[i] };
		/* All 64: sport_mask 0, the plain rule. */
		r = add_sel(port, -1, proto, local, dual, &sel, &b->st);
		if (r)
			rc = r;
		else
			sh->nblk++;
	}
	/* Blocks no longer wanted. */
	for (k = 0; k < sh->nblk;) {
		struct vs_steer_blk *b = &sh->blk[k];
		bool keep = false;

		for (unsigned i = 0; i < n && !keep; i++)
			keep = b->lo == lo[i] && b->order == order[i];
		if (keep) {
			k++;
			continue;
		}
		vs__steer_del(port, &b->st);
		*b = sh->blk[--sh->nblk];
	}
	sh->normal = 0;
	for (k = 0; k < sh->nblk; k++)
		sh->normal |= blk_bits(sh->blk[k].lo, sh->blk[k].order);
	/* Standby buckets, one rule each. */
	for (unsigned b = 0; b < VS_STEER_BUCKETS; b++) {
		bool want = standby >> b & 1, have = sh->standby >> b & 1;
		struct sel sel = blk_sel(b, 0, true);
		int r;

		if (want && !have) {
			r = add_sel(port, -1, proto, local, dual, &sel,
				    &sh->sb[b]);
			if (r)
				rc = r;
			else
				sh->standby |= 1ull << b;
		} else if (!want && have) {
			vs__steer_del(port, &sh->sb[b]);
			sh->standby &= ~(1ull << b);
		}
	}
	return rc;
}
