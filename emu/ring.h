/* SPDX-License-Identifier: MIT */
/*
 * ring.h - a single-producer, single-consumer ring of frame slots in
 * shared memory (a memfd mapped by an application and by vsemu).
 *
 * Owns nothing but its layout. Indices only grow; slot = index % nslots.
 * The producer writes a slot, then publishes prod with a release store;
 * the consumer reads prod with an acquire load, copies the slot, then
 * publishes cons with a release store so the producer may reuse it.
 * Offsets, never pointers, so either side may map it anywhere.
 *
 * `sleeping` is the consumer's "kick me" flag (set before it sleeps,
 * re-checked after, as AF_XDP's need_wakeup): the producer makes a
 * syscall only when it is set, so a busy ring costs no syscall per frame.
 *
 * Must never: block, allocate, or trust the other side's indices beyond
 * what the arithmetic below tolerates (a broken peer loses frames, it
 * cannot make this side read outside the mapping).
 */
#ifndef VS_EMU_RING_H
#define VS_EMU_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define EMU_RING_MAGIC 0x76737267u /* "vsrg" */
#define EMU_RING_SLOT_MAX 16384u /* bytes per slot, header included */

struct emu_ring {
	uint32_t magic, nslots, slot_size, pad0;
	_Alignas(64) _Atomic uint32_t prod;
	_Alignas(64) _Atomic uint32_t cons;
	_Alignas(64) _Atomic uint32_t sleeping; /* consumer wants a kick */
	_Atomic uint32_t armed; /* rx: the CQ is armed, kick the channel */
	_Atomic uint64_t full; /* frames dropped: ring full (the
				    * producer counts them) */
	_Atomic uint64_t frames, bytes; /* frames and bytes that went in */
	_Alignas(64) uint8_t slots[];
};

struct emu_slot {
	uint32_t len;
	uint32_t flags; /* EMU_SLOT_* */
	uint8_t data[];
};

#define EMU_SLOT_CSUM_OK 1u

/*
 * A side's view of a ring: the geometry it agreed to, kept in its own
 * memory. The header's copy (nslots, slot_size) is what the other side
 * can rewrite at any time: it is checked once, when the ring is mapped,
 * and never read again.
 */
struct emu_rview {
	struct emu_ring *r;
	uint32_t nslots, slot_size;
};

static inline size_t
emu_ring_bytes(uint32_t nslots, uint32_t slot_size)
{
	return sizeof(struct emu_ring) + (size_t)nslots * slot_size;
}

static inline struct emu_rview
emu_ring_init(struct emu_ring *r, uint32_t nslots, uint32_t slot_size)
{
	memset(r, 0, sizeof(*r));
	r->magic = EMU_RING_MAGIC;
	r->nslots = nslots;
	r->slot_size = slot_size;
	return (struct emu_rview){ r, nslots, slot_size };
}

static inline struct emu_slot *
emu_ring_slot(const struct emu_rview *v, uint32_t idx)
{
	return (struct emu_slot *)(v->r->slots +
				   (size_t)(idx % v->nslots) * v->slot_size);
}

/* Producer: copies a frame in; false when full (the caller decides
 * whether that is a drop, and counts it in `full`). */
static inline bool
emu_ring_put(const struct emu_rview *v, const uint8_t *f, uint32_t len,
	     uint32_t flags)
{
	struct emu_ring *r = v->r;
	uint32_t prod = atomic_load_explicit(&r->prod, memory_order_relaxed);
	uint32_t cons = atomic_load_explicit(&r->cons, memory_order_acquire);
	struct emu_slot *s;

	if (prod - cons >= v->nslots ||
	    len > v->slot_size - sizeof(struct emu_slot))
		return false;
	s = emu_ring_slot(v, prod);
	s->len = len;
	s->flags = flags;
	memcpy(s->data, f, len);
	atomic_fetch_add_explicit(&r->frames, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->bytes, len, memory_order_relaxed);
	/* Release: the slot's contents before the index that publishes it. */
	atomic_store_explicit(&r->prod, prod + 1, memory_order_release);
	return true;
}

/*
 * Consumer: the oldest frame, or NULL; emu_ring_pop() releases it. The
 * slot's length and flags are read once, into *len and *flags, the
 * length cut to the slot: the producer may rewrite the slot meanwhile,
 * which garbles that frame's bytes but cannot move the read outside it.
 */
static inline const uint8_t *
emu_ring_peek(const struct emu_rview *v, uint32_t *len, uint32_t *flags)
{
	struct emu_ring *r = v->r;
	uint32_t cons = atomic_load_explicit(&r->cons, memory_order_relaxed);
	/* Acquire: the slot's contents after the index that published it. */
	uint32_t prod = atomic_load_explicit(&r->prod, memory_order_acquire);
	uint32_t max = v->slot_size - (uint32_t)sizeof(struct emu_slot);
	struct emu_slot *s;

	if (prod == cons)
		return NULL;
	s = emu_ring_slot(v, cons);
	*len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
	*flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	if (*len > max)
		*len = max;
	return s->data;
}

static inline void
emu_ring_pop(const struct emu_rview *v)
{
	struct emu_ring *r = v->r;
	uint32_t cons = atomic_load_explicit(&r->cons, memory_order_relaxed);

	/* Release: done reading the slot before handing it back. */
	atomic_store_explicit(&r->cons, cons + 1, memory_order_release);
}

#endif
