// SPDX-License-Identifier: MIT
/*
 * fabric.c - what happens to a frame in an emulated port: on the way out,
 * the port's sniffers, the cable's impairment and the cable; on the way
 * in, the impairment, then the flow table, which steers, copies
 * (DONT_TRAP), drops, or leaves the frame to the kernel.
 *
 * Rule order, as mlx5 steering resolves it: lower priority value first;
 * within a priority the more specific rule (more mask bits) first; then
 * the older rule. A matching rule without DONT_TRAP ends the walk; with
 * DONT_TRAP its QP gets a copy and the walk goes on. ALL_DEFAULT and
 * MC_DEFAULT rules take what no NORMAL rule took. Sniffer rules see every
 * frame in both directions. A frame a QP sends never meets its own port's
 * rules (no self-loopback); only the sniffers see it.
 *
 * The port owns its rules and counters; delivering is the rule's owner's
 * job (rule->deliver), so the library and the vsemu daemon share this.
 *
 * Finding the NORMAL rules a frame matches costs what the number of
 * distinct masks costs, not the number of rules (a ConnectX's steering
 * tables hash as well): the frame is parsed once, and for each mask in
 * use ("shape": a listener's port, a connection's 5-tuple, a drop
 * rule...) its key under that mask is looked up in the shape's hash
 * table. The matches are then put in walk order. Walking every rule and
 * parsing the frame for each, 1,000 connections' rules cut vstack's
 * accept rate from 15,000 to 3,000 a second.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu/emu.h"
#include "emu/wire.h"

/* The NORMAL rules of one mask, hashed by their keys. */
struct emu_shape {
	struct emu_key mask;
	struct emu_rule **b; /* buckets, a power of two */
	size_t nb, n;
	struct emu_shape *next;
};

/* The most matches one frame's walk sorts on the stack; a frame more
 * rules match (as many DONT_TRAP copies) is walked rule by rule. */
#define WALK_MAX 64

static void
sniff(struct emu_port *p, const uint8_t *frame, uint32_t len)
{
	for (struct emu_rule *r = p->special; r; r = r->next)
		if (r->type == IBV_FLOW_ATTR_SNIFFER) {
			r->hits++;
			r->deliver(r, frame, len);
		}
}

/* True when a comes before b in the walk. */
static bool
before(const struct emu_rule *a, const struct emu_rule *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	if (a->m.specificity != b->m.specificity)
		return a->m.specificity > b->m.specificity;
	return a->seq < b->seq;
}

static uint64_t
key_hash(const struct emu_key *k)
{
	uint64_t w[sizeof(*k) / 8], h = 0x9e3779b97f4a7c15ull;

	memcpy(w, k, sizeof(w));
	for (size_t i = 0; i < sizeof(w) / 8; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

/* f's key under a shape's mask. */
static void
key_and(struct emu_key *k, const struct emu_key *f, const struct emu_key *mask)
{
	uint64_t a[8], b[8];

	memcpy(a, f, sizeof(a));
	memcpy(b, mask, sizeof(b));
	for (int i = 0; i < 8; i++)
		a[i] &= b[i];
	memcpy(k, a, sizeof(a));
}

/* Does r match f? */
static bool
rule_matches(const struct emu_rule *r, const struct emu_key *f)
{
	struct emu_key k;

	if (!r->shape)
		return false;
	key_and(&k, f, &r->shape->mask);
	return !memcmp(&k, &r->key, sizeof(k));
}

/* Up to max NORMAL rules f matches into out, in no order; max + 1 if
 * there are more. */
static unsigned
matches(struct emu_port *p, const struct emu_key *f, struct emu_rule **out,
	unsigned max)
{
	unsigned n = 0;

	for (struct emu_shape *s = p->shapes; s; s = s->next) {
		struct emu_key k;

		key_and(&k, f, &s->mask);
		for (struct emu_rule *r = s->b[key_hash(&k) & (s->nb - 1)]; r;
		     r = r->hnext) {
			if (memcmp(&k, &r->key, sizeof(k)))
				continue;
			if (n == max)
				return max + 1;
			out[n++] = r;
		}
	}
	return n;
}

/* The first NORMAL rule after prev (NULL: the very first) that matches,
 * rule by rule. */
static struct emu_rule *
next_match(struct emu_port *p, const struct emu_rule *prev,
	   const struct emu_key *f)
{
	struct emu_rule *best = NULL;

	for (struct emu_rule *r = p->rules; r; r = r->next) {
		if ((prev && !before(prev, r)) || (best && !before(r, best)))
			continue;
		if (rule_matches(r, f))
			best = r;
	}
	return best;
}

static bool
default_rule(struct emu_port *p, const uint8_t *frame, uint32_t len)
{
	bool mcast = frame[0] & 1;

	for (struct emu_rule *r = p->special; r; r = r->next) {
		if (r->type == IBV_FLOW_ATTR_ALL_DEFAULT ||
		    (mcast && r->type == IBV_FLOW_ATTR_MC_DEFAULT)) {
			r->hits++;
			r->deliver(r, frame, len);
			return true;
		}
	}
	return false;
}

/* What rule r does with the frame: false if the walk ends there. */
static bool
apply(struct emu_port *p, struct emu_rule *r, const uint8_t *frame,
      uint32_t len)
{
	r->hits++;
	if (r->drop) {
		p->st.rx_rule_drop++;
		return false;
	}
	r->deliver(r, frame, len);
	return r->dont_trap;
}

static void
rules_walk(void *arg, const uint8_t *frame, uint32_t len)
{
	struct emu_port *p = arg;
	struct emu_rule *hit[WALK_MAX], *r = NULL;
	struct emu_key f;
	unsigned n = 0;

	p->st.rx_frames++;
	p->st.rx_bytes += len;
	sniff(p, frame, len);
	if (p->shapes && emu__frame_key(&f, frame, len))
		n = matches(p, &f, hit, WALK_MAX);
	if (n > WALK_MAX) {
		while ((r = next_match(p, r, &f)) != NULL)
			if (!apply(p, r, frame, len))
				return;
	} else {
		/* Walk order; a few, by insertion. */
		for (unsigned i = 1; i < n; i++)
			for (unsigned j = i; j && before(hit[j], hit[j - 1]);
			     j--) {
				r = hit[j];
				hit[j] = hit[j - 1];
				hit[j - 1] = r;
			}
		for (unsigned i = 0; i < n; i++)
			if (!apply(p, hit[i], frame, len))
				return;
	}
	if (default_rule(p, frame, len))
		return;
	p->st.rx_no_match++;
	if (p->to_kernel)
		p->to_kernel(p, frame, len);
}

void
emu__port_ingress(struct emu_port *p, const uint8_t *frame, uint32_t len)
{
	if (p->wire_in)
		emu__wire_send(p->wire_in, frame, len, rules_walk, p);
	else
		rules_walk(p, frame, len);
}

static void
cable_out(void *arg, const uint8_t *frame, uint32_t len)
{
	struct emu_port *p = arg;

	p->to_cable(p, frame, len);
}

void
emu__port_egress(struct emu_port *p, const uint8_t *frame, uint32_t len)
{
	p->st.tx_frames++;
	p->st.tx_bytes += len;
	sniff(p, frame, len);
	if (!p->to_cable)
		return;
	if (p->wire_out)
		emu__wire_send(p->wire_out, frame, len, cable_out, p);
	else
		p->to_cable(p, frame, len);
}

void
emu__port_tick(struct emu_port *p)
{
	if (p->wire_out)
		emu__wire_tick(p->wire_out, cable_out, p);
	if (p->wire_in)
		emu__wire_tick(p->wire_in, rules_walk, p);
}

/* Puts r in s's table (the table doubles at one rule per bucket). */
static void
shape_put(struct emu_shape *s, struct emu_rule *r)
{
	struct emu_rule **b;
	size_t h;

	if (s->n >= s->nb && (b = calloc(s->nb * 2, sizeof(*b))) != NULL) {
		for (size_t i = 0; i < s->nb; i++)
			while (s->b[i]) {
				struct emu_rule *x = s->b[i];

				s->b[i] = x->hnext;
				h = key_hash(&x->key) & (s->nb * 2 - 1);
				x->hnext = b[h];
				b[h] = x;
			}
		free(s->b);
		s->b = b;
		s->nb *= 2;
	} /* no memory to grow: longer chains */
	h = key_hash(&r->key) & (s->nb - 1);
	r->hnext = s->b[h];
	s->b[h] = r;
	s->n++;
	r->shape = s;
}

int
emu__port_add_rule(struct emu_port *p, struct emu_rule *r)
{
	struct emu_rule **head;
	struct emu_key mask;
	struct emu_shape *s;

	r->shape = NULL;
	r->hnext = NULL;
	if (r->type == IBV_FLOW_ATTR_NORMAL &&
	    emu__match_keys(&r->m, &mask, &r->key)) {
		for (s = p->shapes; s; s = s->next)
			if (!memcmp(&s->mask, &mask, sizeof(mask)))
				break;
		if (!s) {
			s = calloc(1, sizeof(*s));
			if (s)
				s->b = calloc(16, sizeof(*s->b));
			if (!s || !s->b) {
				free(s);
				return ENOMEM;
			}
			s->mask = mask;
			s->nb = 16;
			s->next = p->shapes;
			p->shapes = s;
		}
		shape_put(s, r);
	}
	r->seq = p->rule_seq++;
	head = r->type == IBV_FLOW_ATTR_NORMAL ? &p->rules : &p->special;
	r->next = *head;
	if (r->next)
		r->next->pprev = &r->next;
	r->pprev = head;
	*head = r;
	return 0;
}

void
emu__port_forget_rules(struct emu_port *p)
{
	struct emu_rule *lists[2] = { p->rules, p->special };

	for (int i = 0; i < 2; i++)
		for (struct emu_rule *r = lists[i]; r; r = r->next) {
			r->pprev = NULL;
			r->shape = NULL;
		}
	p->rules = p->special = NULL;
	p->shapes = NULL; /* the copy leaks: the parent's memory */
}

void
emu__port_del_rule(struct emu_port *p, struct emu_rule *r)
{
	struct emu_shape *s = r->shape;

	if (!r->pprev)
		return; /* forgotten */
	*r->pprev = r->next;
	if (r->next)
		r->next->pprev = r->pprev;
	r->pprev = NULL;
	if (!s)
		return;
	for (struct emu_rule **pp = &s->b[key_hash(&r->key) & (s->nb - 1)]; *pp;
	     pp = &(*pp)->hnext)
		if (*pp == r) {
			*pp = r->hnext;
			break;
		}
	r->shape = NULL;
	if (--s->n)
		return;
	for (struct emu_shape **pp = &p->shapes; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	free(s->b);
	free(s);
}
