// SPDX-License-Identifier: MIT
/*
 * krules - rules that leave traffic to the kernel (vstackctl flow ...
 * kernel). Raw-packet flow rules have no action that hands a frame back
 * to the kernel, so such a rule keeps the socket layer from taking a
 * socket whose frames it covers: the socket stays the kernel's.
 *
 * Owns: the process's kernel rules (at most 64) and whether a new socket
 * is covered by one.
 * Must never: touch the NIC (these rules never reach it), or be asked
 * with the lock of anything else held (it takes its own).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>

#include "base/lock.h"
#include "base/compiler.h"
#include "sockapi/sock.h"
#include "stack/addr.h"

static struct {
	pthread_mutex_t lock;
	struct {
		int id;
		struct vs_rule r;
	} r[64];
	unsigned n;
	int next;
} kr = { .lock = PTHREAD_MUTEX_INITIALIZER };

int
vs__krule_add(const struct vs_rule *r)
{
	int id = -ENOSPC;

	vs__mutex_lock(&kr.lock);
	if (kr.n < VS_ARRAY_SIZE(kr.r)) {
		id = ++kr.next;
		kr.r[kr.n].id = id;
		kr.r[kr.n++].r = *r;
	}
	vs__mutex_unlock(&kr.lock);
	return id;
}

int
vs__krule_del(int id)
{
	int rc = -ENOENT;

	vs__mutex_lock(&kr.lock);
	for (unsigned i = 0; i < kr.n; i++)
		if (kr.r[i].id == id) {
			kr.r[i] = kr.r[--kr.n];
			rc = 0;
			break;
		}
	vs__mutex_unlock(&kr.lock);
	return rc;
}

void
vs__krule_atfork_child(void)
{
	/* The parent's rules were the parent's. */
	pthread_mutex_init(&kr.lock, NULL);
	kr.n = 0;
}

static bool
masked_eq(const void *v, const uint8_t *want, const uint8_t *mask, size_t n)
{
	const uint8_t *b = v;

	for (size_t i = 0; i < n; i++)
		if ((b[i] & mask[i]) != (want[i] & mask[i]))
			return false;
	return true;
}

static bool
zero(const uint8_t *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i])
			return false;
	return true;
}

/* Does one of the port's addresses of local's family match the rule's
 * destination? */
static bool
port_addr_matches(struct vs_port *port, const struct sockaddr *local,
		  const struct vs_rule *r, size_t alen)
{
	const struct vs_port_info *in = vs__port_info(port);

	for (unsigned k = 0; k < in->naddrs; k++) {
		const struct sockaddr *a =
			(const struct sockaddr *)&in->addrs[k];

		if (a->sa_family == local->sa_family &&
		    masked_eq(vs__sa_addr(a), r->dst, r->dst_mask, alen))
			return true;
	}
	return false;
}

bool
vs__krule_covers(struct vs_port *port, uint8_t proto,
		 const struct sockaddr *local, const struct sockaddr *peer)
{
	const struct sockaddr *any = local ? local : peer;
	bool covered = false;

	if (!__atomic_load_n(&kr.n, __ATOMIC_RELAXED) || !any)
		return false;
	vs__mutex_lock(&kr.lock);
	for (unsigned i = 0; i < kr.n && !covered; i++) {
		const struct vs_rule *r = &kr.r[i].r;
		size_t alen = any->sa_family == AF_INET ? 4 : 16;
		bool ok = true;

		if ((r->proto && r->proto != proto) ||
		    (r->family && r->family != any->sa_family))
			continue;
		if (!local) {
			ok = zero(r->dst_mask, 16) && !r->dport_mask;
		} else {
			if (vs__ip_is_any(local) && !zero(r->dst_mask, alen))
				ok = port_addr_matches(port, local, r, alen);
			else if (!vs__ip_is_any(local))
				ok = masked_eq(vs__sa_addr(local), r->dst,
					       r->dst_mask, alen);
			ok = ok &&
			     (vs__sa_port(local) & r->dport_mask) == r->dport;
		}
		if (!peer)
			ok = ok && zero(r->src_mask, 16) && !r->sport_mask;
		else
			ok = ok &&
			     masked_eq(vs__sa_addr(peer), r->src, r->src_mask,
				       alen) &&
			     (vs__sa_port(peer) & r->sport_mask) == r->sport;
		covered = ok;
	}
	vs__mutex_unlock(&kr.lock);
	return covered;
}
