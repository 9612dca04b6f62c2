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
 */
#include "emu/emu.h"
#include "emu/wire.h"

static void
sniff(struct emu_port *p, const uint8_t *frame, uint32_t len)
{
	for (struct emu_rule *r = p->rules; r; r = r->next)
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

/* The first NORMAL rule after prev (NULL: the very first) that matches. */
static struct emu_rule *
next_match(struct emu_port *p, const struct emu_rule *prev,
	   const uint8_t *frame, uint32_t len)
{
	struct emu_rule *best = NULL;

	for (struct emu_rule *r = p->rules; r; r = r->next) {
		if (r->type != IBV_FLOW_ATTR_NORMAL ||
		    (prev && !before(prev, r)) || (best && !before(r, best)))
			continue;
		if (emu__flow_match(&r->m, frame, len))
			best = r;
	}
	return best;
}

static bool
default_rule(struct emu_port *p, const uint8_t *frame, uint32_t len)
{
	bool mcast = frame[0] & 1;

	for (struct emu_rule *r = p->rules; r; r = r->next) {
		if (r->type == IBV_FLOW_ATTR_ALL_DEFAULT ||
		    (mcast && r->type == IBV_FLOW_ATTR_MC_DEFAULT)) {
			r->hits++;
			r->deliver(r, frame, len);
			return true;
		}
	}
	return false;
}

static void
rules_walk(void *arg, const uint8_t *frame, uint32_t len)
{
	struct emu_port *p = arg;
	struct emu_rule *r = NULL;

	p->st.rx_frames++;
	p->st.rx_bytes += len;
	sniff(p, frame, len);
	while ((r = next_match(p, r, frame, len)) != NULL) {
		r->hits++;
		if (r->drop) {
			p->st.rx_rule_drop++;
			return;
		}
		r->deliver(r, frame, len);
		if (!r->dont_trap)
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

void
emu__port_add_rule(struct emu_port *p, struct emu_rule *r)
{
	r->seq = p->rule_seq++;
	r->next = p->rules;
	p->rules = r;
}

void
emu__port_del_rule(struct emu_port *p, struct emu_rule *r)
{
	for (struct emu_rule **pp = &p->rules; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			return;
		}
}
