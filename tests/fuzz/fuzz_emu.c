// SPDX-License-Identifier: MIT
/*
 * fuzz_emu - libFuzzer target: what the emulated ConnectX reads
 * (emu/frame.c, emu/ring.h). The input's first byte picks the part:
 *   0: a flow rule (struct ibv_flow_attr and its specs, as
 *      ibv_create_flow gets it), put in a port's flow table beside a
 *      rule that matches everything, then a frame through that table,
 *      hashed for RSS, checksummed and checksums filled in;
 *   1: a frame ring as a hostile client can leave it (header, indexes,
 *      slot lengths all the input's), drained by the daemon's consumer.
 * Neither may read or write outside what it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emu/emu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa
};

static void
deliver(struct emu_rule *r, const uint8_t *frame, uint32_t len)
{
	(void)r;
	(void)frame;
	(void)len;
}

static void
rule_and_frame(const uint8_t *d, size_t n)
{
	struct emu_port port = { 0 };
	struct emu_rule r = { .type = IBV_FLOW_ATTR_NORMAL,
			      .deliver = deliver },
			any = r;
	struct ibv_counters *cs;
	struct emu_match m;
	uint8_t *frame;
	uint16_t alen;
	bool drop;

	if (n < 2)
		return;
	alen = (uint16_t)(d[0] | d[1] << 8); /* the rule's bytes */
	d += 2;
	n -= 2;
	if (alen > n)
		alen = (uint16_t)n;
	if (alen >= sizeof(struct ibv_flow_attr)) {
		/* Its own allocation, exactly its size (ASan sees past it). */
		struct ibv_flow_attr *a = malloc(alen);

		memcpy(a, d, alen);
		if (a->size > alen)
			a->size = alen;
		if (emu__flow_parse(a, &m, &cs, &drop) != 0)
			memset(&m, 0, sizeof(m)); /* match everything */
		free(a);
	} else {
		memset(&m, 0, sizeof(m));
	}
	d += alen;
	n -= alen;
	frame = malloc(n ? n : 1);
	memcpy(frame, d, n);
	r.m = m;
	r.dont_trap = n & 1;
	if (emu__port_add_rule(&port, &r) == 0 &&
	    emu__port_add_rule(&port, &any) == 0)
		emu__port_ingress(&port, frame, (uint32_t)n);
	emu__port_del_rule(&port, &r);
	emu__port_del_rule(&port, &any);
	(void)emu__rss_hash(key, sizeof(key), ~0ull, frame, (uint32_t)n);
	(void)emu__frame_csum_ok(frame, (uint32_t)n);
	emu__frame_fill_csum(frame, (uint32_t)n);
	free(frame);
}

/* The geometry the daemon agreed to; the ring's bytes are the input's. */
static void
ring(const uint8_t *d, size_t n)
{
	const uint32_t nslots = 4, slot_size = 64;
	size_t bytes = emu_ring_bytes(nslots, slot_size);
	struct emu_ring *r = aligned_alloc(64, bytes);
	struct emu_rview v = { r, nslots, slot_size };
	uint32_t len, flags, sum = 0;
	const uint8_t *f;

	memset(r, 0, bytes);
	memcpy(r, d, n < bytes ? n : bytes);
	/* At most what the indexes claim, bounded as the daemon is. */
	for (int i = 0; i < 64 && (f = emu_ring_peek(&v, &len, &flags)); i++) {
		for (uint32_t k = 0; k < len; k++)
			sum += f[k];
		if (f + len > (const uint8_t *)r + bytes)
			__builtin_trap();
		emu_ring_pop(&v);
	}
	(void)sum;
	free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		ring(data + 1, size - 1);
	else
		rule_and_frame(data + 1, size - 1);
	return 0;
}
