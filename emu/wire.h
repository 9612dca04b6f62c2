/* SPDX-License-Identifier: MIT */
/*
 * wire.h - one direction of an emulated cable, with seeded, reproducible
 * impairment: loss, duplication, reordering, corruption, delay and a rate
 * limit.
 *
 * Owns: its random state, the frame it holds back to reorder, the queue
 * of frames in flight (delay, rate), counters. In order, a frame may be
 * lost (at random, or chosen: the n-th full-size frame), corrupted, held back one frame (reordered) or duplicated, then
 * waits in the in-flight queue until the link has serialised it at the
 * rate (after the frames before it) and it has propagated for the delay;
 * a full queue drops (overflow), as a router's buffer would.
 * For every frame it draws the same number of random values whatever it
 * decides, so a seed fixes the whole pattern.
 *
 * Must never: deliver a frame anywhere but through the callback it is
 * given, or corrupt the Ethernet header (a frame whose addresses are
 * damaged would fail the FCS on a real cable and never arrive; payload
 * corruption is what checksums in IP, TCP and UDP must catch).
 */
#ifndef VS_EMU_WIRE_H
#define VS_EMU_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMU_WIRE_DROPS 8

struct emu_wire_conf {
	double loss, dup, reorder, corrupt; /* probabilities 0..1 */
	uint64_t seed;
	uint32_t delay_us; /* one-way delay */
	uint64_t rate_bps; /* 0: unlimited */
	/* Chosen losses: the n-th full-size frames (of EMU_WIRE_FULL bytes
	 * or more: a window's segments), counted from 1; 0 ends the list. */
	uint64_t drop[EMU_WIRE_DROPS];
};

#define EMU_WIRE_FULL 1000

#define EMU_WIRE_QUEUE_MAX 65536 /* frames in flight on one direction */

struct emu_wire_stats {
	uint64_t frames, lost, duplicated, reordered, corrupted, overflow;
};

struct emu_wire;
typedef void (*emu_wire_out_fn)(void *arg, const uint8_t *frame, uint32_t len);

/* "loss=0.01,dup=0.01,reorder=0.01,corrupt=0.001,delay_us=500,
 * rate_mbps=100,seed=42,drop=300/302/304"; -EINVAL and a message naming
 * the bad field. */
int emu__wire_parse(const char *spec, struct emu_wire_conf *c, char *err,
		    size_t errlen);
struct emu_wire *emu__wire_new(const struct emu_wire_conf *c);
void emu__wire_free(struct emu_wire *w);
void emu__wire_send(struct emu_wire *w, const uint8_t *frame, uint32_t len,
		    emu_wire_out_fn out, void *arg);
/* Releases a frame held back for reordering. */
void emu__wire_flush(struct emu_wire *w, emu_wire_out_fn out, void *arg);
/* Releases the in-flight frames that are due, and a held-back frame no
 * frame followed for a millisecond (a reordered last frame is late, not
 * lost). */
void emu__wire_tick(struct emu_wire *w, emu_wire_out_fn out, void *arg);
/* True while frames are in flight: the owner must tick it. */
bool emu__wire_busy(const struct emu_wire *w);
const struct emu_wire_stats *emu__wire_stats(const struct emu_wire *w);
/* The wire VSEMU_IMPAIR describes (direction dir varies the seed), or
 * NULL when it is unset; exits with a message when it is invalid. */
struct emu_wire *emu__wire_from_env(int dir);

#endif
