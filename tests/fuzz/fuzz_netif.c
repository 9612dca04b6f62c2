// SPDX-License-Identifier: MIT
/*
 * fuzz_netif - libFuzzer target: a frame into an engine's input path,
 * as a remote peer sends it: src/stack/netif.c over a port whose queue
 * delivers the input as a received frame (in a buffer of the port's
 * pool, with the NIC's checksum verdict from the input's first byte),
 * into a private lwIP copy (src/stack/lwip.c) that has a TCP listener on
 * port 80 and UDP on ports 53 (IPv4) and 5353 (IPv6) on 10.0.0.1 and fd00::1, as vstack builds
 * it. State carries over from frame to frame (connections, reassembly,
 * out-of-order queues), as on a wire. What lwIP sends goes to the kernel's
 * tables for a next hop (of loopback: none) and is dropped and counted.
 * lwIP must never hold the whole pool (out-of-order and unread data are
 * copied out when it runs low): every frame finds a free buffer, or the
 * target aborts.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/netif.h"
#include "verbs/port_impl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vs_lwip lw;
static struct vs_netif nif;
static struct vs_port port;
static struct vs_buf *next_rx; /* what the queue delivers next */

static unsigned
f_rx_burst(struct vs_port *p, unsigned q, struct vs_buf **b, unsigned n)
{
	(void)p;
	(void)q;
	if (!next_rx || !n)
		return 0;
	b[0] = next_rx;
	next_rx = NULL;
	return 1;
}

static unsigned
f_tx_burst(struct vs_port *p, unsigned q, struct vs_buf **b, unsigned n)
{
	vs__pool_put(&p->pool, q, b, n); /* sent, at once */
	return n;
}

static const struct vs_port_ops fuzz_ops = {
	.name = "fuzz",
	.size = sizeof(struct vs_port),
	.rx_burst = f_rx_burst,
	.tx_burst = f_tx_burst,
};

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (!p) {
		lw.tcp_arg(pcb, NULL);
		lw.tcp_recv(pcb, NULL);
		lw.tcp_close(pcb);
		return ERR_OK;
	}
	lw.tcp_recved(pcb, p->tot_len);
	/* Echo some, so that lwIP has data in flight too. */
	lw.tcp_write(pcb, "ok", 2, TCP_WRITE_FLAG_COPY);
	lw.pbuf_free(p);
	return ERR_OK;
}

static err_t
on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	lw.tcp_recv(pcb, on_recv);
	return ERR_OK;
}

static void
on_udp(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *a,
       u16_t port_)
{
	(void)arg;
	(void)pcb;
	(void)a;
	(void)port_;
	lw.pbuf_free(p);
}

static void
listen_on(u8_t type, u16_t p, u16_t up)
{
	ip_addr_t any = vs__lwip_addr_any(type);
	struct tcp_pcb *t = lw.tcp_new_ip_type(type);
	struct udp_pcb *u = lw.udp_new_ip_type(type);

	if (!t || lw.tcp_bind(t, &any, p) != ERR_OK || !u ||
	    lw.udp_bind(u, &any, up) != ERR_OK)
		abort();
	t = lw.tcp_listen_with_backlog(t, 16);
	lw.tcp_accept(t, on_accept);
	lw.udp_recv(u, on_udp, NULL);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&port.info.addrs[0];
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&port.info.addrs[1];
	struct vs_kernel *k;
	char err[256];

	(void)argc;
	(void)argv;
	port.ops = &fuzz_ops;
	port.o = (struct vs_port_opts){ .sz = sizeof(port.o),
					.nqueues = 1,
					.buf_size = 2048,
					.nbufs = 1024,
					.rx_depth = 64,
					.tx_depth = 64 };
	port.st = calloc(1, sizeof(*port.st));
	snprintf(port.info.ifname, sizeof(port.info.ifname), "lo");
	snprintf(port.info.device, sizeof(port.info.device), "fuzz");
	port.info.mtu = 1500;
	port.info.nqueues = 1;
	port.info.nbufs = 1024;
	port.info.buf_size = 2048;
	memcpy(port.info.mac, "\x02\x00\x00\x00\x00\x01", 6);
	a4->sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.0.1", &a4->sin_addr);
	a6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "fd00::1", &a6->sin6_addr);
	port.info.naddrs = 2;
	port.info.rx_csum = true; /* lwIP checks what the NIC did not */
	if (vs__port_pool_init(&port, -1, err, sizeof(err)) ||
	    !(k = vs__kernel_open("lo", err, sizeof(err))) ||
	    vs__lwip_load(&lw, NULL, err, sizeof(err)) ||
	    vs__netif_open(&nif, &lw, &port, 0, k, err, sizeof(err))) {
		fprintf(stderr, "fuzz_netif: %s\n", err);
		exit(1);
	}
	listen_on(IPADDR_TYPE_V4, 80, 53);
	listen_on(IPADDR_TYPE_V6, 80, 5353);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_buf *b;

	if (!size || size - 1 > 1514 + 4)
		return 0;
	if (vs__pool_get(&port.pool, 0, &b, 1) != 1)
		abort(); /* lwIP holds every buffer: a leak */
	memcpy(b->data, data + 1, size - 1);
	b->len = (uint32_t)(size - 1);
	b->flags = data[0] & 1 ? VS_BUF_CSUM_OK : 0;
	next_rx = b;
	vs__netif_poll(&nif);
	lw.sys_check_timeouts();
	return 0;
}
