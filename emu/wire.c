// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu/emu.h"
#include "emu/wire.h"

struct flight {
	uint64_t due_ns;
	uint32_t len;
	struct flight *next;
	uint8_t data[];
};

struct emu_wire {
	struct emu_wire_conf c;
	struct flight *head, *tail; /* in flight, by due time */
	uint32_t inflight;
	uint64_t last_due_ns;
	uint64_t rng;
	uint64_t full; /* full-size frames so far (drop=) */
	struct emu_wire_stats st;
	uint8_t held[EMU_MAX_FRAME];
	uint32_t held_len; /* 0: nothing held */
	uint64_t held_ns; /* when it was held back */
	uint8_t buf[EMU_MAX_FRAME];
};

/* splitmix64: small, fast, and a full 64-bit period from any seed. */
static uint64_t
next_u64(struct emu_wire *w)
{
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double
next_unit(struct emu_wire *w)
{
	return (double)(next_u64(w) >> 11) / (double)(1ull << 53);
}

int
emu__wire_parse(const char *spec, struct emu_wire_conf *c, char *err,
		size_t errlen)
{
	char *copy = strdup(spec), *save = NULL;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	c->seed = 1;
	for (char *kv = strtok_r(copy, ",", &save); kv && !rc;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '='), *end;
		double *p = NULL;

		if (!eq) {
			snprintf(err, errlen, "'%s' is not KEY=VALUE", kv);
			rc = -EINVAL;
			break;
		}
		*eq++ = '\0';
		if (strcmp(kv, "loss") == 0)
			p = &c->loss;
		else if (strcmp(kv, "dup") == 0)
			p = &c->dup;
		else if (strcmp(kv, "reorder") == 0)
			p = &c->reorder;
		else if (strcmp(kv, "corrupt") == 0)
			p = &c->corrupt;
		if (p) {
			*p = strtod(eq, &end);
			if (!*eq || *end || *p < 0 || *p > 1) {
				snprintf(err, errlen,
					 "%s=%s: expected a probability 0..1",
					 kv, eq);
				rc = -EINVAL;
			}
		} else if (strcmp(kv, "delay_us") == 0 ||
			   strcmp(kv, "rate_mbps") == 0) {
			unsigned long long v = strtoull(eq, &end, 10);

			if (!*eq || *end || *eq == '-' || v > 100000000ull) {
				snprintf(
					err, errlen,
					"%s=%s: expected an integer 0..100000000",
					kv, eq);
				rc = -EINVAL;
			} else if (kv[0] == 'd') {
				c->delay_us = (uint32_t)v;
			} else {
				c->rate_bps = v * 1000000ull;
			}
		} else if (strcmp(kv, "drop") == 0) {
			unsigned n = 0;
			char *s = eq;

			do {
				unsigned long long v = strtoull(s, &end, 10);

				if (s == end || v == 0 || n == EMU_WIRE_DROPS ||
				    (*end && *end != '/')) {
					snprintf(
						err, errlen,
						"drop=%s: expected "
						"up to %d frame numbers from 1, "
						"separated by /",
						eq, EMU_WIRE_DROPS);
					rc = -EINVAL;
					break;
				}
				c->drop[n++] = v;
				s = end + 1;
			} while (*end);
		} else if (strcmp(kv, "seed") == 0) {
			c->seed = strtoull(eq, &end, 0);
			if (!*eq || *end) {
				snprintf(err, errlen,
					 "seed=%s: expected an integer", eq);
				rc = -EINVAL;
			}
		} else {
			snprintf(
				err, errlen,
				"unknown impairment '%s' (accepted: loss, dup, "
				"reorder, corrupt, delay_us, rate_mbps, seed, "
				"drop)",
				kv);
			rc = -EINVAL;
		}
	}
	free(copy);
	return rc;
}

struct emu_wire *
emu__wire_new(const struct emu_wire_conf *c)
{
	struct emu_wire *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->c = *c;
	w->rng = c->seed;
	return w;
}

void
emu__wire_free(struct emu_wire *w)
{
	if (!w)
		return;
	while (w->head) {
		struct flight *f = w->head;

		w->head = f->next;
		free(f);
	}
	free(w);
}

bool
emu__wire_busy(const struct emu_wire *w)
{
	return w && (w->head || w->held_len);
}

const struct emu_wire_stats *
emu__wire_stats(const struct emu_wire *w)
{
	return &w->st;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void
emu__wire_tick(struct emu_wire *w, emu_wire_out_fn out, void *arg)
{
	uint64_t now = now_ns();

	while (w->head && w->head->due_ns <= now) {
		struct flight *f = w->head;

		w->head = f->next;
		if (!w->head)
			w->tail = NULL;
		w->inflight--;
		out(arg, f->data, f->len);
		free(f);
	}
	if (w->held_len && now - w->held_ns > 1000000)
		emu__wire_flush(w, out, arg);
}

/*
 * Puts a frame in flight, due once the link has serialised it (after the
 * frames before it) and it has propagated for the delay. Without delay or
 * rate it goes out at once.
 */
static void
fly(struct emu_wire *w, const uint8_t *frame, uint32_t len, emu_wire_out_fn out,
    void *arg)
{
	uint64_t now, due;
	struct flight *f;

	if (!w->c.delay_us && !w->c.rate_bps) {
		out(arg, frame, len);
		return;
	}
	if (w->inflight >= EMU_WIRE_QUEUE_MAX ||
	    !(f = malloc(sizeof(*f) + len))) {
		w->st.overflow++;
		return;
	}
	now = now_ns();
	due = now;
	if (w->c.rate_bps) {
		/* Serialisation: 8 bits a byte, plus preamble and gap (20),
		 * after whatever the link is still sending. */
		uint64_t tx =
			((uint64_t)len + 20) * 8000000000ull / w->c.rate_bps;
		uint64_t start = w->last_due_ns > now ? w->last_due_ns : now;

		w->last_due_ns = start + tx;
		due = w->last_due_ns;
	}
	/* Then it propagates. */
	due += (uint64_t)w->c.delay_us * 1000u;
	f->due_ns = due;
	f->len = len;
	f->next = NULL;
	memcpy(f->data, frame, len);
	if (w->tail)
		w->tail->next = f;
	else
		w->head = f;
	w->tail = f;
	w->inflight++;
}

void
emu__wire_flush(struct emu_wire *w, emu_wire_out_fn out, void *arg)
{
	uint32_t len = w->held_len;

	if (!len)
		return;
	w->held_len = 0;
	fly(w, w->held, len, out, arg);
}

/* The frame just counted is one of those chosen to be lost. */
static bool
chosen(const struct emu_wire *w, uint32_t len)
{
	if (len < EMU_WIRE_FULL)
		return false;
	for (unsigned i = 0; i < EMU_WIRE_DROPS && w->c.drop[i]; i++)
		if (w->c.drop[i] == w->full)
			return true;
	return false;
}

void
emu__wire_send(struct emu_wire *w, const uint8_t *frame, uint32_t len,
	       emu_wire_out_fn out, void *arg)
{
	/* Always the same draws, in the same order: reproducible. */
	double r_loss = next_unit(w), r_dup = next_unit(w);
	double r_reo = next_unit(w), r_cor = next_unit(w);
	uint64_t r_pos = next_u64(w);

	w->st.frames++;
	if (len >= EMU_WIRE_FULL)
		w->full++;
	if (r_loss < w->c.loss || chosen(w, len)) {
		w->st.lost++;
		return;
	}
	memcpy(w->buf, frame, len);
	if (r_cor < w->c.corrupt && len > 14) {
		uint32_t bit = (uint32_t)(r_pos % ((len - 14) * 8));

		w->buf[14 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		w->st.corrupted++;
	}
	if (r_reo < w->c.reorder && !w->held_len) {
		/* Held back: it goes out after the next frame. */
		memcpy(w->held, w->buf, len);
		w->held_len = len;
		w->held_ns = now_ns();
		w->st.reordered++;
		return;
	}
	fly(w, w->buf, len, out, arg);
	if (r_dup < w->c.dup) {
		w->st.duplicated++;
		fly(w, w->buf, len, out, arg);
	}
	emu__wire_flush(w, out, arg);
}

struct emu_wire *
emu__wire_from_env(int dir)
{
	const char *spec = getenv("VSEMU_IMPAIR");
	struct emu_wire_conf c;
	char err[256];

	if (!spec || !*spec)
		return NULL;
	if (emu__wire_parse(spec, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "vsemu: VSEMU_IMPAIR: %s\n", err);
		exit(2);
	}
	c.seed = c.seed * 2 + (uint64_t)dir;
	return emu__wire_new(&c);
}
