// SPDX-License-Identifier: MIT
/*
 * bulk_echo DEV PORT N - an echo server on the engine's TCP API that
 * keeps what the send queue cannot take (unconsumed, so the peer's
 * window closes) and goes on when the peer acknowledges: back-pressure
 * end to end. Serves N connections, prints the netif's counters.
 */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "stack/engine_run.h"
#include "stack/tcp.h"

static struct vs_engine e;
static _Atomic int served, failures;
/* lwIP's recovery counters when the first peer closed its side: what
 * repaired the transfer, not the close (a peer that delays the ACK of
 * the last segment makes one timeout there). */
static _Atomic unsigned rto_at_fin, fast_at_fin;
static _Atomic bool fin_seen;

struct conn {
	struct vs_rxq pend; /* received, not yet sent back */
	bool peer_closed;
};

static void
pump(struct vs_tcp *c)
{
	struct conn *cn = vs__tcp_user(c);

	while (cn->pend.head) {
		ssize_t n = vs__tcp_send(c, cn->pend.head->payload,
					 cn->pend.head->len);

		if (n < 0)
			failures++;
		if (n <= 0)
			return; /* `sent` will call again */
		vs__tcp_consumed(c, (size_t)n);
		vs__rxq_take(&e.lw, &cn->pend, (size_t)n);
	}
	if (cn->peer_closed)
		vs__tcp_close(c); /* served once all is delivered */
}

static void
on_received(struct vs_tcp *c, struct pbuf *p)
{
	struct conn *cn = vs__tcp_user(c);

	if (!p) {
		cn->peer_closed = true;
		if (!atomic_exchange(&fin_seen, true)) {
			rto_at_fin = *e.lw.tcp_rto_timeouts;
			fast_at_fin = *e.lw.tcp_fast_rexmits;
		}
	} else
		vs__rxq_put(&cn->pend, p);
	pump(c);
}

static void
on_sent(struct vs_tcp *c, size_t len)
{
	(void)len;
	pump(c);
}

static void
on_closed(struct vs_tcp *c, int err)
{
	struct conn *cn = vs__tcp_user(c);

	vs__rxq_free(&e.lw, &cn->pend);
	free(cn);
	if (err)
		failures++;
	else
		served++;
}

static const struct vs_tcp_ops conn_ops = { .received = on_received,
					    .sent = on_sent,
					    .closed = on_closed };

static void
on_accepted(struct vs_tcp *l, struct vs_tcp *c)
{
	(void)l;
	vs__tcp_set_ops(c, &conn_ops, calloc(1, sizeof(struct conn)));
}

static const struct vs_tcp_ops listen_ops = { .accepted = on_accepted };
static struct sockaddr_in6 any6 = { .sin6_family = AF_INET6 };
static struct sockaddr_in any4 = { .sin_family = AF_INET };

static void
start(void *arg)
{
	struct vs_tcp *l;

	(void)arg;
	if (vs__tcp_listen(&e, (struct sockaddr *)&any4, 16, 0, &listen_ops,
			   NULL, &l) ||
	    vs__tcp_listen(&e, (struct sockaddr *)&any6, 16, 0, &listen_ops,
			   NULL, &l))
		failures++;
	printf("ready\n");
	fflush(stdout);
}

static _Atomic int active = -1, time_wait = -1;

/* On the engine's thread: connections lwIP still holds. */
static void
count_pcbs(void *arg)
{
	int a = 0, t = 0;

	(void)arg;
	for (struct tcp_pcb *p = *e.lw.tcp_active_pcbs; p; p = p->next)
		a++;
	for (struct tcp_pcb *p = *e.lw.tcp_quiet_pcbs; p; p = p->next)
		a++;
	for (struct tcp_pcb *p = *e.lw.tcp_tw_pcbs; p; p = p->next)
		t++;
	time_wait = t;
	active = a;
}

int
main(int argc, char **argv)
{
	struct vs_port *port;
	time_t end = time(NULL) + 600;

	if (argc != 4)
		return 2;
	any4.sin_port = any6.sin6_port = htons((uint16_t)atoi(argv[2]));
	port = engine_run(&e, "bulk_echo", argv[1], 8192, 512, start);
	while (served < atoi(argv[3]) && !failures && time(NULL) < end)
		usleep(10000);
	/* The closes finish when the peer's last ACKs arrive, or after
	 * lwIP retransmitted a FIN whose ACK was lost: up to 15 s. */
	for (time_t t = time(NULL) + 15; time(NULL) < t;) {
		active = -1;
		vs__engine_call(&e, count_pcbs, NULL);
		while (active < 0)
			usleep(1000);
		if (active == 0 && time_wait == 0)
			break;
		usleep(200000);
	}
	vs__engine_close(&e);
	printf("lwIP still holds %d connections, %d in TIME_WAIT; buffers "
	       "free %u of %u (%llu posted, %llu in flight)\n",
	       active, time_wait, vs__port_bufs_free(port),
	       vs__port_info(port)->nbufs,
	       (unsigned long long)vs__port_stats(port, 0)->rx_posted,
	       (unsigned long long)vs__port_stats(port, 0)->tx_inflight);
	/* The engine is closed: its lwIP's counters are ours to read. */
	printf("recovery: %u timeouts, %u fast retransmits, %u lost "
	       "retransmissions, %u tail loss probes; before the first peer "
	       "closed: %u timeouts, %u fast retransmits\n",
	       (unsigned)*e.lw.tcp_rto_timeouts,
	       (unsigned)*e.lw.tcp_fast_rexmits,
	       (unsigned)*e.lw.tcp_lost_rexmits, (unsigned)*e.lw.tcp_tlp_probes,
	       (unsigned)rto_at_fin, (unsigned)fast_at_fin);
	printf("served %d, %d failures; rx %llu frames, tx %llu frames, "
	       "no send buffer %llu, queue rx_no_buf %llu\n",
	       served, failures,
	       (unsigned long long)atomic_load(&e.nif.st.rx_frames),
	       (unsigned long long)atomic_load(&e.nif.st.tx_frames),
	       (unsigned long long)atomic_load(&e.nif.st.tx_no_buf),
	       (unsigned long long)vs__port_stats(port, 0)->rx_no_buf);
	return served == atoi(argv[3]) && !failures ? 0 : 1;
}
