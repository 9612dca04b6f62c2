/* SPDX-License-Identifier: MIT */
/*
 * link.h - the library's side of a port owned by a vsemu daemon.
 *
 * Owns: the control connection (SOCK_SEQPACKET), the TX ring this
 * process fills and the daemon empties, the daemon's doorbell, and the
 * RX ring of every receive queue, which the daemon fills with the frames
 * its rules steer here. Receive rings are drained into the verbs
 * receive path (emu__rq_deliver) when the application polls.
 *
 * Must never: make a syscall per frame while the daemon is busy (the
 * doorbell is rung only when the daemon said it sleeps), or be called
 * without the fabric lock.
 */
#ifndef VS_EMU_LINK_H
#define VS_EMU_LINK_H

#include "emu/emu.h"
#include "emu/proto.h"

struct emu_link;

/* Connects port p to the daemon at path; fills p->mac and p->mtu. */
int emu__link_open(struct emu_port *p, const char *path);
/* A fork child's copy of its parent's link: closed here without a word
 * to the daemon (the connection stays the parent's). */
void emu__link_forget(struct emu_link *l);
void emu__link_send(struct emu_link *l, const uint8_t *f, uint32_t len);
int emu__link_add_rq(struct emu_link *l, struct emu_rq *rq, int chan_fd);
void emu__link_del_rq(struct emu_link *l, struct emu_rq *rq);
int emu__link_add_rss(struct emu_link *l, struct emu_qp *qp);
void emu__link_del_rss(struct emu_link *l, struct emu_qp *qp);
int emu__link_add_rule(struct emu_link *l, struct emu_flow *fl);
void emu__link_del_rule(struct emu_link *l, struct emu_flow *fl);
int emu__link_stats(struct emu_link *l, struct emu_msg_stats_reply *st);
/* Frames the daemon's copy of fl's rule matched. */
int emu__link_rule_hits(struct emu_link *l, struct emu_flow *fl,
			uint64_t *hits);
const char *emu__link_netdev(const struct emu_link *l);
/* Moves the frames waiting in rq's ring into its posted receives. */
void emu__rq_drain(struct emu_rq *rq);

#endif
