/* SPDX-License-Identifier: MIT */
/*
 * frag - inbound IP fragments: which engine reassembles them, and whose
 * the reassembled datagram is.
 *
 * A NIC steers a flow by its ports, and only a datagram's first fragment
 * carries them. So every fragment of a process's datagrams goes to one
 * engine, its fragment engine (queue 0): on xdp the XDP program sends
 * there the fragments of each datagram whose first fragment a rule of
 * the process matched (port info.frag_follow); on verbs fragment rules
 * (steer.c) copy there every fragment to the port's addresses, and the
 * kernel gets them too, since no NIC can tell whose a later fragment
 * is. The fragment engine hands lwIP only fragments of datagrams that
 * may be vstack's (a first fragment must be addressed to a UDP socket of
 * the port); lwIP reassembles them, bounded (lwipopts.h: 256 pieces,
 * 5 s), and the whole datagram goes to the engine whose socket it is
 * addressed to: this one, or another through that engine's call ring
 * (a copy).
 *
 * Owns: the fragment engine's choice of fragments, the reassembled
 * datagrams on their way to another engine, the counters of both.
 * Must never: let lwIP's protocols see a datagram no vstack socket is
 * bound to (lwIP would answer it where the kernel answers already), or
 * hand lwIP fragments on an engine that is not the fragment engine.
 */
#ifndef VS_STACK_FRAG_H
#define VS_STACK_FRAG_H

struct vs_engine;

/* Hooks engine e's netif and lwIP copy (at engine open). */
void vs__frag_engine_init(struct vs_engine *e);

#endif
