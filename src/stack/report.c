// SPDX-License-Identifier: MIT
/*
 * report - an engine as others may see it: its counters (port queue,
 * netif, lwIP, its own) in one flat snapshot, and its connections one
 * by one. The control server and the socket layer's exit line read an
 * engine only through these.
 *
 * Owns: the translation of lwIP's pcbs and counters into plain values.
 * Must never: write to an engine, or walk lwIP's lists off the engine's
 * thread or without its lock (vs__engine_conns runs from the engine's
 * call ring).
 */
#include <string.h>

#include "base/compiler.h"
#include "stack/addr.h"
#include "stack/engine.h"

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define PLOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

void
vs__engine_counters(const struct vs_engine *e, struct vs_engine_counters *c)
{
	const struct vs_queue_stats *q = vs__port_stats(e->port, e->q);
	const struct vs_netif_stats *n = &e->nif.st;
	const struct vs_engine_stats *st = &e->st;

	memset(c, 0, sizeof(*c));
	c->q = e->q;
	c->cpu = e->cpu;
	c->rx_frames = LOAD(q->rx_frames);
	c->rx_bytes = LOAD(q->rx_bytes);
	c->tx_frames = LOAD(q->tx_frames);
	c->tx_bytes = LOAD(q->tx_bytes);
	c->rx_no_buf = LOAD(q->rx_no_buf);
	c->tx_full = LOAD(q->tx_full);
	c->nic_drops = vs__port_nic_drops(e->port, e->q);
	c->ip_in = LOAD(n->rx_frames);
	c->ip_out = LOAD(n->tx_frames);
	c->tx_no_buf = LOAD(n->tx_no_buf);
	c->tx_no_route = LOAD(n->tx_no_route);
	c->neigh_timeout = LOAD(n->neigh_timeout);
	c->rx_not_ip = LOAD(n->rx_not_ip);
	c->raw_dropped = LOAD(n->raw_dropped);
	c->rx_no_mem = LOAD(n->rx_no_mem);
	c->rx_copied = LOAD(n->rx_copied);
	c->syn_cookies_sent = PLOAD(*e->lw.tcp_syn_cookies_sent);
	c->syn_cookies_ok = PLOAD(*e->lw.tcp_syn_cookies_ok);
	c->syn_cookies_bad = PLOAD(*e->lw.tcp_syn_cookies_bad);
	c->rto_timeouts = PLOAD(*e->lw.tcp_rto_timeouts);
	c->fast_rexmits = PLOAD(*e->lw.tcp_fast_rexmits);
	c->lost_rexmits = PLOAD(*e->lw.tcp_lost_rexmits);
	c->tlp_probes = PLOAD(*e->lw.tcp_tlp_probes);
	c->challenge_acks = PLOAD(*e->lw.tcp_challenge_acks);
	c->challenge_acks_skipped = PLOAD(*e->lw.tcp_challenge_acks_skipped);
	c->loops = LOAD(st->loops);
	c->sleeps = LOAD(st->sleeps);
	c->lock_waits = LOAD(st->lock_waits);
	c->tcp_accepted = LOAD(st->tcp_accepted);
	c->tcp_connects = LOAD(st->tcp_connects);
	c->tcp_resets = LOAD(st->tcp_resets);
	c->tcp_timeouts = LOAD(st->tcp_timeouts);
	c->tcp_rx_bytes = LOAD(st->tcp_rx_bytes);
	c->tcp_tx_bytes = LOAD(st->tcp_tx_bytes);
	c->tcp_abort_on_data = LOAD(st->tcp_abort_on_data);
	c->tcp_listen_overflows = LOAD(st->tcp_listen_overflows);
	c->tcp_time_wait = LOAD(st->tcp_time_wait);
	c->tcp_syn_handoff = LOAD(st->tcp_syn_handoff);
	c->tcp_conn_refused = LOAD(st->tcp_conn_refused);
	c->tcp_moved_out = LOAD(st->tcp_moved_out);
	c->tcp_moved_in = LOAD(st->tcp_moved_in);
	c->udp_rx_datagrams = LOAD(st->udp_rx_datagrams);
	c->udp_tx_datagrams = LOAD(st->udp_tx_datagrams);
	c->frag_in = LOAD(st->frag_in);
	c->frag_reasm = LOAD(st->frag_reasm);
	c->frag_reasm_fails =
		PLOAD(*e->lw.ip_reass_fails) + PLOAD(*e->lw.ip6_reass_fails);
	c->frag_not_ours = LOAD(st->frag_not_ours);
	c->frag_stray = LOAD(st->frag_stray);
	c->frag_handed = LOAD(st->frag_handed);
	c->frag_ring_full = LOAD(st->frag_ring_full);
	for (int b = 0; b < VS_LAT_BUCKETS; b++)
		c->latency[b] = LOAD(n->latency[b]);
}

static const char *const state_name[] = {
	[CLOSED] = "CLOSED",	     [LISTEN] = "LISTEN",
	[SYN_SENT] = "SYN-SENT",     [SYN_RCVD] = "SYN-RECV",
	[ESTABLISHED] = "ESTAB",     [FIN_WAIT_1] = "FIN-WAIT-1",
	[FIN_WAIT_2] = "FIN-WAIT-2", [CLOSE_WAIT] = "CLOSE-WAIT",
	[CLOSING] = "CLOSING",	     [LAST_ACK] = "LAST-ACK",
	[TIME_WAIT] = "TIME-WAIT",
};

/* The next connection of a walk in pages (struct vs_conns_at's key):
 * its TCP list (0: none, or not a TCP connection) and 4-tuple. */
enum { AT_NONE, AT_ACTIVE, AT_QUIET, AT_TW };
struct at_key {
	ip_addr_t local, remote;
	uint16_t lport, rport;
	uint8_t list;
};
_Static_assert(sizeof(struct at_key) <= sizeof(((struct vs_conns_at *)0)->key),
	       "struct vs_conns_at's key is too small");

/* A walk over an engine's connections: the first skip are passed over,
 * then each goes to fn until it declines one; next is where it stopped. */
struct walk {
	unsigned skip, took;
	bool stop;
	bool (*fn)(void *arg, const struct vs_conn_info *ci);
	void *arg;
	struct at_key next;
};

/* Whether w wants the next entry filled in (counts it if passed over). */
static bool
walk_wants(struct walk *w)
{
	if (w->stop)
		return false;
	if (w->skip) {
		w->skip--;
		return false;
	}
	return true;
}

static void
walk_give(struct walk *w, const struct vs_conn_info *ci)
{
	if (w->fn(w->arg, ci))
		w->took++;
	else
		w->stop = true;
}

static void
tcp_list(struct tcp_pcb *list, uint8_t id, struct walk *w)
{
	for (struct tcp_pcb *p = list; p && !w->stop; p = p->next) {
		struct vs_conn_info ci;

		if (!walk_wants(w)) /* a page's skip: nothing filled in */
			continue;
		ci = (struct vs_conn_info){
			.state = p->state < VS_ARRAY_SIZE(state_name) ?
					 state_name[p->state] :
					 "?",
			.send_q = (uint32_t)(p->snd_lbb - p->lastack),
			.recv_q = (uint32_t)(TCP_WND - p->rcv_wnd),
		};
		vs__sa_of_ip(&p->local_ip, p->local_port, &ci.local);
		vs__sa_of_ip(&p->remote_ip, p->remote_port, &ci.peer);
		walk_give(w, &ci);
		if (w->stop) /* p did not fit: the next page starts at it */
			w->next = (struct at_key){ .local = p->local_ip,
						   .remote = p->remote_ip,
						   .lport = p->local_port,
						   .rport = p->remote_port,
						   .list = id };
	}
}

/* The connection at k if it still exists and is on the same list. */
static struct tcp_pcb *
resume_at(struct vs_lwip *lw, const struct at_key *k)
{
	struct tcp_pcb *p;

	if (k->list == AT_NONE)
		return NULL;
	p = lw->tcp_pcb_find(&k->local, k->lport, &k->remote, k->rport,
			     NETIF_NO_INDEX);
	if (!p)
		return NULL;
	return (p->state == TIME_WAIT ? AT_TW :
		p->flags & TF_QUIET   ? AT_QUIET :
					AT_ACTIVE) == k->list ?
		       p :
		       NULL;
}

unsigned
vs__engine_conns(struct vs_engine *e, struct vs_conns_at *at,
		 bool (*fn)(void *arg, const struct vs_conn_info *ci),
		 void *arg)
{
	struct vs_lwip *lw = &e->lw;
	struct at_key k;
	struct walk w = { .skip = at->skip, .fn = fn, .arg = arg };
	struct tcp_pcb *lists[] = { [AT_ACTIVE] = *lw->tcp_active_pcbs,
				    [AT_QUIET] = *lw->tcp_quiet_pcbs,
				    [AT_TW] = *lw->tcp_tw_pcbs };
	struct tcp_pcb *from;
	uint8_t first = AT_ACTIVE;

	memcpy(&k, at->key, sizeof(k));
	if ((from = resume_at(lw, &k))) {
		/* Straight to it: what comes before it was taken. */
		w.skip = 0;
		first = k.list;
		lists[first] = from;
	}
	for (struct tcp_pcb_listen *p = lw->tcp_listen_pcbs->listen_pcbs;
	     !from && p && !w.stop; p = p->next) {
		struct vs_conn_info ci = { .state = "LISTEN" };

		if (!walk_wants(&w))
			continue;
		vs__sa_of_ip(&p->local_ip, p->local_port, &ci.local);
		walk_give(&w, &ci);
	}
	for (uint8_t id = first; id <= AT_TW; id++)
		tcp_list(lists[id], id, &w);
	for (struct udp_pcb *p = *lw->udp_pcbs; p && !w.stop; p = p->next) {
		struct vs_conn_info ci = { .udp = true,
					   .state = p->remote_port ? "ESTAB" :
								     "UNCONN" };

		if (!walk_wants(&w))
			continue;
		vs__sa_of_ip(&p->local_ip, p->local_port, &ci.local);
		if (p->remote_port)
			vs__sa_of_ip(&p->remote_ip, p->remote_port, &ci.peer);
		walk_give(&w, &ci);
	}
	at->skip += w.took;
	memcpy(at->key, &w.next, sizeof(w.next));
	return w.took;
}

void
vs__engine_set_tap(struct vs_engine *e, struct vs_tap *tap)
{
	atomic_store_explicit(&e->nif.tap, tap, memory_order_release);
}
