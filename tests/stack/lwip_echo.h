/* SPDX-License-Identifier: MIT */
/*
 * The TCP echo (lwIP's raw API) that netif_echo and engine_echo serve:
 * all of a received chain is written back or none of it (lwIP then
 * offers it again), and a connection the peer closes is counted.
 * Set echo_lw before listening.
 */
#ifndef VS_TEST_LWIP_ECHO_H
#define VS_TEST_LWIP_ECHO_H

#include <stdatomic.h>
#include <stdlib.h>

#include "stack/lwip.h"

static struct vs_lwip *echo_lw;
static _Atomic int echo_served; /* connections the peer closed */

static u16_t
echo_chain_len(const struct pbuf *p)
{
	u16_t n = 0;

	for (; p; p = p->next)
		n++;
	return n;
}

static err_t
echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (!p) {
		echo_lw->tcp_close(pcb);
		echo_served++;
		return ERR_OK;
	}
	if (tcp_sndbuf(pcb) < p->tot_len ||
	    tcp_sndqueuelen(pcb) + echo_chain_len(p) > TCP_SND_QUEUELEN) {
		echo_lw->tcp_output(pcb);
		return ERR_MEM;
	}
	for (struct pbuf *q = p; q; q = q->next)
		if (echo_lw->tcp_write(pcb, q->payload, q->len,
				       TCP_WRITE_FLAG_COPY) != ERR_OK)
			abort(); /* checked above: cannot happen */
	echo_lw->tcp_recved(pcb, p->tot_len);
	echo_lw->pbuf_free(p);
	echo_lw->tcp_output(pcb);
	return ERR_OK;
}

static err_t
echo_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	echo_lw->tcp_recv(pcb, echo_recv);
	return ERR_OK;
}

/* Listens on port (IPv4 and IPv6) with the echo. */
static int
echo_listen(u16_t port)
{
	ip_addr_t any = vs__lwip_addr_any(IPADDR_TYPE_ANY);
	struct tcp_pcb *pcb = echo_lw->tcp_new_ip_type(IPADDR_TYPE_ANY);

	if (!pcb || echo_lw->tcp_bind(pcb, &any, port) != ERR_OK)
		return -1;
	pcb = echo_lw->tcp_listen_with_backlog(pcb, 16);
	echo_lw->tcp_accept(pcb, echo_accept);
	return 0;
}

#endif
