/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the control protocol between libvsemu (an application) and
 * vsemu (the daemon owning an emulated port), over a SOCK_SEQPACKET UNIX
 * socket <dir>/<dev>.sock. One request, one reply, in order; file
 * descriptors travel as SCM_RIGHTS. The connection is the registration:
 * when it closes (the process exited or died), the daemon removes every
 * rule and ring of that process.
 *
 * Every request is a struct emu_msg whose type selects the union member;
 * the reply is a struct emu_msg of type EMU_MSG_REPLY with err = 0 or a
 * positive errno value. The daemon checks the size of every message and
 * every field before using it.
 */
#ifndef VS_EMU_PROTO_H
#define VS_EMU_PROTO_H

#include <stdint.h>

#include "emu/emu.h"

#define EMU_PROTO_VERSION 2
#define EMU_NETDEV_MAX 16

enum emu_msg_type {
	EMU_MSG_HELLO = 1, /* fds: tx ring memfd, doorbell eventfd */
	EMU_MSG_ADD_RQ, /* fds: rx ring memfd [, channel eventfd] */
	EMU_MSG_DEL_RQ,
	EMU_MSG_ADD_RSS,
	EMU_MSG_DEL_RSS,
	EMU_MSG_ADD_RULE,
	EMU_MSG_DEL_RULE,
	EMU_MSG_STATS,
	EMU_MSG_SET_IMPAIR,
	EMU_MSG_RULE_HITS, /* u.id; the reply's u.hits: frames it matched */
	EMU_MSG_REPLY = 100,
};

struct emu_msg_hello {
	uint32_t version;
	uint32_t tx_slots, slot_size;
};

struct emu_msg_hello_reply {
	uint8_t mac[6];
	uint16_t pad;
	uint32_t mtu;
	char netdev[EMU_NETDEV_MAX];
};

struct emu_msg_rq {
	uint32_t id; /* the client's QP or WQ number */
	uint32_t slots, slot_size;
	uint32_t has_channel;
};

struct emu_msg_rss {
	uint32_t id;
	uint32_t key_len;
	uint8_t key[64];
	uint64_t fields;
	uint32_t log_size;
	uint32_t wq[1 << EMU_MAX_IND_LOG];
};

struct emu_msg_rule {
	uint32_t id; /* the client's rule id */
	uint32_t target; /* an RQ id, or an RSS id when to_rss */
	uint32_t to_rss;
	uint32_t type; /* enum ibv_flow_attr_type */
	uint32_t priority;
	uint32_t dont_trap, drop;
	struct emu_match m;
};

struct emu_msg_impair {
	uint32_t dir; /* 0: in (cable to port), 1: out (port to cable) */
	char spec[200];
};

struct emu_msg_stats_reply {
	struct emu_port_stats port;
	uint64_t wire_in[6], wire_out[6]; /* struct emu_wire_stats */
	uint32_t clients, rules, queues;
};

struct emu_msg {
	uint32_t type;
	uint32_t err; /* replies */
	union {
		struct emu_msg_hello hello;
		struct emu_msg_hello_reply hello_reply;
		struct emu_msg_rq rq;
		struct emu_msg_rss rss;
		struct emu_msg_rule rule;
		struct emu_msg_impair impair;
		struct emu_msg_stats_reply stats;
		uint32_t id; /* DEL_*, RULE_HITS */
		uint64_t hits; /* RULE_HITS' reply */
	} u;
};

#endif
