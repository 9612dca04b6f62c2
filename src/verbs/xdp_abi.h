/* SPDX-License-Identifier: MIT */
/*
 * xdp_abi.h - what the XDP program (xdp_prog.bpf.c) and the xdp backend
 * (xdp.c) share: the layout of its maps and of the metadata it leaves
 * in front of a frame it hands to an AF_XDP socket. Plain C types only:
 * both clang -target bpf and the host compiler read it.
 *
 * The rule table mirrors struct vs_rule: masked rules in an array,
 * checked in order of precedence class (drop rules first, then exact
 * 5-tuples from a hash map, then the masked rules of class 2, then local
 * address and port pairs from a second hash map, then the rest), and a
 * hit counter per counting rule. The hash maps hold what connections
 * and listeners ask for, so their number is not bounded by the array;
 * their size (VS_XDP_MAX_EXACT, the default) is set at load (`flows`).
 *
 * Several processes share one program on a netdev (xdp.c): each owns
 * the netdev queues its AF_XDP sockets are bound to and is known by an
 * owner number (1 + the first of them). A frame is matched against the
 * rules of the owner of the queue it arrived on only: each owner has its
 * own pair of tables, its own local pairs (the owner is in the key), its
 * own range of hit counters; the exact 5-tuples are one map (a
 * connection is one process's), whose value says whose.
 */
#ifndef VS_VERBS_XDP_ABI_H
#define VS_VERBS_XDP_ABI_H

#define VS_XDP_MAX_RULES 64 /* masked rules (drops, 3-tuples, ports) */
#define VS_XDP_MAX_EXACT 65536 /* exact 5-tuples, and local pairs */
#define VS_XDP_MAX_QUEUES 64 /* AF_XDP sockets (netdev queues) */
#define VS_XDP_OWNER_SLOTS 64 /* counting rules of one owner */
#define VS_XDP_MAX_SLOTS (VS_XDP_OWNER_SLOTS * VS_XDP_MAX_QUEUES)
#define VS_XDP_NO_SLOT 0xffff
#define VS_XDP_META_MAGIC 0x5653 /* "VS" */
#define VS_XDP_QUEUE_RSS 0xffff /* meta.queue: spread by RSS (userspace) */

enum vs_xdp_action {
	VS_XDP_STEER = 0, /* to queue */
	VS_XDP_RSS = 1, /* to the queue RSS picks */
	VS_XDP_DROP = 2,
};

/* Addresses and ports in network order; an IPv4 address in bytes 0..3. */
struct vs_xdp_rule {
	unsigned char action, proto, family, cls; /* cls: precedence class */
	unsigned short queue, slot;
	unsigned short sport, sport_mask, dport, dport_mask;
	unsigned char src[16], src_mask[16], dst[16], dst_mask[16];
};

/* Two tables: userspace writes the one not in use, then flips `cur`. */
struct vs_xdp_table {
	unsigned int n; /* rules in r */
	/* Where the hash lookups go in the order: before r[exact_at]
	 * (the first of class 1 or more) and r[local_at] (of class 3 or
	 * more); n if there is none. */
	unsigned short exact_at, local_at;
	struct vs_xdp_rule r[VS_XDP_MAX_RULES];
};

struct vs_xdp_exact_key {
	unsigned char family, proto, pad[2];
	unsigned short sport, dport;
	unsigned char src[16], dst[16];
};

/* A frame's local address and port (its destination), for one owner. */
struct vs_xdp_local_key {
	unsigned char family, proto;
	unsigned short dport;
	unsigned short owner, pad;
	unsigned char dst[16];
};

/* The value in both hash maps. */
struct vs_xdp_exact_val {
	unsigned char action, pad;
	unsigned short queue, slot, owner;
};

/* An owner (vs_procs[owner - 1]): its process, to tell whether it lives
 * (pid and start time, /proc/PID/stat field 22); pid 0: none. */
struct vs_xdp_proc {
	unsigned int pid, pad;
	unsigned long long start;
};

/*
 * A datagram whose fragments the program follows (vs_frags, LRU): its
 * first fragment carried the ports a rule of `owner` matched, so every
 * fragment with the same addresses, protocol and identification goes to
 * that owner's engine 0 (meta.queue 0), which reassembles it, or is
 * dropped with it (action). Later fragments of no entry are the
 * kernel's.
 */
#define VS_XDP_MAX_FRAGS 4096
struct vs_xdp_frag_key {
	unsigned char family, proto, pad[2];
	unsigned int id; /* IPv4: 16 bits */
	unsigned char src[16], dst[16];
};
struct vs_xdp_frag_val {
	unsigned char action, pad;
	unsigned short owner;
};

/* In front of a frame handed to a socket (bpf_xdp_adjust_meta). */
struct vs_xdp_meta {
	unsigned short queue; /* the engine's queue, or VS_XDP_QUEUE_RSS */
	unsigned short magic; /* VS_XDP_META_MAGIC */
};

#endif
