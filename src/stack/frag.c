// SPDX-License-Identifier: MIT
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "stack/csum.h"
#include "stack/engine.h"
#include "stack/frag.h"
#include "stack/udp.h"

#define FRAG_ENGINE 0 /* the queue of the engine that reassembles */

/* Where a datagram is addressed: from its first fragment or from the
 * whole datagram (ip: its IP header, len bytes, l4 at l4off). */
static struct vs_engine *
owner_of(struct vs_engine *e, const uint8_t *ip, uint32_t len, bool v6,
	 uint8_t proto, uint32_t l4off)
{
	if (proto != IPPROTO_UDP || len < l4off + 4)
		return NULL;
	return vs__udp_engine_of(
		e->port, v6 ? AF_INET6 : AF_INET, v6 ? ip + 24 : ip + 16,
		(uint16_t)(ip[l4off + 2] << 8 | ip[l4off + 3]));
}

/* The netif's hook: which fragments lwIP gets (see frag.h). */
static bool
frag_in(void *arg, const uint8_t *ip, uint32_t len, bool v6)
{
	struct vs_engine *e = arg;
	uint32_t off, l4off;
	uint8_t proto;

	if (e->q != FRAG_ENGINE) {
		vs__stat_add(&e->st.frag_stray, 1);
		return false;
	}
	if (!v6) {
		if (len < 20) /* lwIP drops what is not IP */
			return true;
		off = (uint32_t)(ip[6] << 8 | ip[7]);
		proto = ip[9];
		l4off = (ip[0] & 15u) * 4;
		off &= 0x1fff;
	} else {
		/* len >= 40 and a fragment header next (netif.c) */
		if (len < 48)
			return true;
		off = (uint32_t)(ip[42] << 8 | ip[43]) & 0xfff8;
		proto = ip[40];
		l4off = 48;
	}
	/* A later fragment waits for its first one in lwIP; a first one
	 * tells whose the datagram is. */
	if (!off && !owner_of(e, ip, len, v6, proto, l4off)) {
		vs__stat_add(&e->st.frag_not_ours, 1);
		return false;
	}
	vs__stat_add(&e->st.frag_in, 1);
	return true;
}

/* A reassembled datagram on its way to another engine. */
struct handed {
	struct vs_engine *to;
	uint16_t len;
	uint8_t data[];
};

static void
inject(void *arg)
{
	struct handed *h = arg;
	struct vs_engine *e = h->to;
	struct pbuf *p = e->lw.pbuf_alloc(PBUF_RAW, h->len, PBUF_RAM);

	if (p) {
		e->lw.pbuf_take(p, h->data, h->len);
		vs__netif_input_soft(&e->nif, p);
	}
	free(h);
}

/* lwIP's hook (patch 0014): p is a whole datagram; 0 lets this engine's
 * lwIP go on with it. */
static int
reassembled(void *arg, struct pbuf *p)
{
	struct vs_engine *e = arg, *to;
	uint8_t hdr[64] = { 0 };
	uint16_t n = e->lw.pbuf_copy_partial(p, hdr, sizeof(hdr), 0);
	bool v6 = n && hdr[0] >> 4 == 6;
	uint32_t l4off = v6 ? 40 : (hdr[0] & 15u) * 4;
	struct handed *h;

	vs__stat_add(&e->st.frag_reasm, 1);
	to = n >= 20 ? owner_of(e, hdr, n, v6, v6 ? hdr[6] : hdr[9], l4off) :
		       NULL;
	if (to == e)
		return 0;
	if (!to) {
		vs__stat_add(&e->st.frag_not_ours, 1);
		e->lw.pbuf_free(p);
		return 1;
	}
	h = malloc(sizeof(*h) + p->tot_len);
	if (h) {
		h->to = to;
		h->len = e->lw.pbuf_copy_partial(p, h->data, p->tot_len, 0);
		if (!v6) { /* lwIP sums the new header only if the NIC does not */
			uint16_t s = 0;

			memcpy(h->data + 10, &s, 2);
			s = (uint16_t)~vs__csum(h->data, (int)l4off);
			memcpy(h->data + 10, &s, 2);
		}
	}
	if (h && vs__engine_call(to, inject, h) == 0) {
		vs__stat_add(&e->st.frag_handed, 1);
	} else {
		free(h);
		vs__stat_add(&e->st.frag_ring_full, 1);
	}
	e->lw.pbuf_free(p);
	return 1;
}

void
vs__frag_engine_init(struct vs_engine *e)
{
	e->nif.frag_in = frag_in;
	e->nif.frag_arg = e;
	*e->lw.vs_lwip_reassembled_fn = reassembled;
	*e->lw.vs_lwip_reassembled_arg = e;
}
