/* SPDX-License-Identifier: MIT */
/*
 * vsemu.h - what the emulated ConnectX offers beyond the verbs API: its
 * counters and fault injection. Tests and tools include this; libvstack never does.
 */
#ifndef VSEMU_H
#define VSEMU_H

#include <infiniband/verbs.h>
#include <stdint.h>

/* Counters of the port behind a context (docs/emu.md explains each). */
struct vsemu_port_stats {
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
	uint64_t rx_no_match; /* no rule took it: the kernel's */
	uint64_t rx_rule_drop; /* a drop rule matched */
	uint64_t rx_no_wqe; /* steered, but no receive was posted */
	uint64_t rx_qp_not_ready; /* steered to a QP not in RTR/RTS */
	uint64_t rx_oversize; /* from the cable, longer than the MTU */
	uint64_t tx_cable_drop; /* the cable's socket was full */
	uint64_t tx_malformed; /* a TX ring slot no NIC would send (vsemu
				* daemon: a client wrote its ring directly) */
};

struct vsemu_wire_stats {
	uint64_t frames, lost, duplicated, reordered, corrupted;
	uint64_t overflow; /* the in-flight queue (delay, rate) was full */
};

int vsemu_port_stats(struct ibv_context *ctx, struct vsemu_port_stats *st);
/* The impairment counters of the cable leaving this port; -ENOENT if
 * it has no impairment. */
int vsemu_wire_stats(struct ibv_context *ctx, struct vsemu_wire_stats *st);
/* How many frames a rule matched. */
uint64_t vsemu_flow_hits(struct ibv_flow *flow);
/* Fault injection, as VSEMU_FAIL=SPEC does at start (docs/emu.md):
 * replaces the faults in force, counting calls from zero again. 0, or
 * -EINVAL for a malformed SPEC (said on stderr). NULL: none. */
int vsemu_fail(const char *spec);

#endif
