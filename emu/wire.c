// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu/emu.h"
#include "emu/wire.h"

struct emu_wire {
	struct emu_wire_conf c;
	uint64_t rng;
	struct emu_wire_stats st;
	uint8_t held[EMU_MAX_FRAME];
	uint32_t held_len; /* 0: nothing held */
	uint64_t held_ns;  /* when it was held back */
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
		} else if (strcmp(kv, "seed") == 0) {
			c->seed = strtoull(eq, &end, 0);
			if (!*eq || *end) {
				snprintf(err, errlen,
					 "seed=%s: expected an integer", eq);
				rc = -EINVAL;
			}
		} else {
			snprintf(err, errlen,
				 "unknown impairment '%s' (accepted: loss, dup, "
				 "reorder, corrupt, seed)",
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
	free(w);
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
	if (w->held_len && now_ns() - w->held_ns > 1000000)
		emu__wire_flush(w, out, arg);
}

void
emu__wire_flush(struct emu_wire *w, emu_wire_out_fn out, void *arg)
{
	uint32_t len = w->held_len;

	if (!len)
		return;
	w->held_len = 0;
	out(arg, w->held, len);
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
	if (r_loss < w->c.loss) {
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
	out(arg, w->buf, len);
	if (r_dup < w->c.dup) {
		w->st.duplicated++;
		out(arg, w->buf, len);
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
