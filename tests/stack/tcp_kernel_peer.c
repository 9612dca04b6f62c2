// SPDX-License-Identifier: MIT
/*
 * tcp_kernel_peer DEV - the engine's TCP API against kernel peers:
 * a vstack echo server on port 7000 for 2 kernel clients (the script's,
 * IPv4 and IPv6), and a vstack client to the kernel echo server at
 * 10.77.1.2:8000 and [fd77:1::2]:8000. Exits 0 when all four exchanges
 * were right, 1 otherwise (or after 60 s).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stack/engine_run.h"
#include "stack/tcp.h"

static struct vs_engine e;
static _Atomic int served, clients_ok, failures;

static const char hello[] = "vstack client says hello\n";

struct client {
	char got[64];
	size_t n;
};

/* --- the server: echo --- */

static void
srv_received(struct vs_tcp *c, struct pbuf *p)
{
	if (!p) {
		vs__tcp_close(c);
		served++;
		return;
	}
	for (struct pbuf *q = p; q; q = q->next)
		if (vs__tcp_send(c, q->payload, q->len) != q->len)
			failures++; /* small lines: the queue has room */
	vs__tcp_consumed(c, p->tot_len);
	e.lw.pbuf_free(p);
}

static const struct vs_tcp_ops srv_conn = { .received = srv_received };

static void
srv_accepted(struct vs_tcp *l, struct vs_tcp *c)
{
	(void)l;
	vs__tcp_set_ops(c, &srv_conn, NULL);
}

static const struct vs_tcp_ops srv_listen = { .accepted = srv_accepted };

/* --- the client --- */

static void
cli_connected(struct vs_tcp *c, int err)
{
	if (err || vs__tcp_send(c, hello, sizeof(hello) - 1) !=
			   (ssize_t)(sizeof(hello) - 1))
		failures++;
}

static void
cli_received(struct vs_tcp *c, struct pbuf *p)
{
	struct client *cl = vs__tcp_user(c);

	if (!p) {
		failures++; /* the server closed first */
		vs__tcp_close(c);
		return;
	}
	cl->n += e.lw.pbuf_copy_partial(
		p, cl->got + cl->n, (u16_t)(sizeof(cl->got) - 1 - cl->n), 0);
	vs__tcp_consumed(c, p->tot_len);
	e.lw.pbuf_free(p);
	if (cl->n == sizeof(hello) - 1) {
		if (memcmp(cl->got, hello, cl->n) == 0)
			clients_ok++;
		else
			failures++;
		vs__tcp_close(c);
	}
}

static void
cli_closed(struct vs_tcp *c, int err)
{
	(void)c;
	if (err)
		failures++;
}

static const struct vs_tcp_ops cli_ops = { .connected = cli_connected,
					   .received = cli_received,
					   .closed = cli_closed };

static void
start(void *arg)
{
	static struct client cl4, cl6;
	struct sockaddr_in any = { .sin_family = AF_INET,
				   .sin_port = htons(7000) };
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6,
				     .sin6_port = htons(7000) };
	struct sockaddr_in k4 = { .sin_family = AF_INET,
				  .sin_port = htons(8000) };
	struct sockaddr_in6 k6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(8000) };
	struct vs_tcp *l4, *l6, *c4, *c6;

	(void)arg;
	inet_pton(AF_INET, "10.77.1.2", &k4.sin_addr);
	inet_pton(AF_INET6, "fd77:1::2", &k6.sin6_addr);
	if (vs__tcp_listen(&e, (struct sockaddr *)&any, 16, 0, &srv_listen,
			   NULL, &l4) ||
	    vs__tcp_listen(&e, (struct sockaddr *)&any6, 16, 0, &srv_listen,
			   NULL, &l6) ||
	    vs__tcp_connect(&e, (struct sockaddr *)&k4, &cli_ops, &cl4, &c4) ||
	    vs__tcp_connect(&e, (struct sockaddr *)&k6, &cli_ops, &cl6, &c6)) {
		failures++;
		return;
	}
	printf("ready\n");
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	time_t end = time(NULL) + 60;

	if (argc != 2)
		return 2;
	engine_run(&e, "tcp_kernel_peer", argv[1], 4096, 256, start);
	while ((served < 2 || clients_ok < 2) && !failures && time(NULL) < end)
		usleep(10000);
	usleep(500000); /* let the closes finish */
	printf("server: %d connections served; client: %d exchanges right; "
	       "%d failures\n",
	       served, clients_ok, failures);
	vs__engine_close(&e);
	return served == 2 && clients_ok == 2 && !failures ? 0 : 1;
}
