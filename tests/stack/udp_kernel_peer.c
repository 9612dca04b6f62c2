// SPDX-License-Identifier: MIT
/*
 * udp_kernel_peer DEV - the engine's UDP API against kernel peers: an
 * echo server on port 7400 (IPv4 and IPv6) for the script's kernel
 * client, and a vstack client to the kernel echo server on 7500 (IPv4
 * and IPv6): datagrams of 1, 1000 and 1452 bytes (the largest that is not
 * fragmented over IPv6 with a 1500-byte MTU; fragments: stack.fragments,
 * which needs the socket layer's fragment rules), and 70000 bytes refused with EMSGSIZE
 * as the kernel refuses it. Exits 0 when every exchange was right.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stack/engine_run.h"
#include "stack/udp.h"

#define NSIZES 3
static const size_t sizes[NSIZES] = { 1, 1000, 1452 };
static struct vs_engine e;
static _Atomic int echoed, answers_ok, failures;
static uint8_t msg[8000];

static void
srv_received(struct vs_udp *u, struct pbuf *p, const struct sockaddr *from)
{
	static uint8_t buf[65536];
	u16_t n = e.lw.pbuf_copy_partial(p, buf, p->tot_len, 0);

	e.lw.pbuf_free(p);
	if (vs__udp_sendto(u, buf, n, from, NULL) != n)
		failures++;
	echoed++;
}

static void
cli_received(struct vs_udp *u, struct pbuf *p, const struct sockaddr *from)
{
	static uint8_t buf[65536];
	u16_t n = e.lw.pbuf_copy_partial(p, buf, p->tot_len, 0);
	int ok = 0;

	(void)u;
	(void)from;
	for (int i = 0; i < NSIZES; i++)
		if (n == sizes[i] && !memcmp(buf, msg, n))
			ok = 1;
	answers_ok += ok;
	failures += !ok;
	e.lw.pbuf_free(p);
}

static const struct vs_udp_ops srv = { .received = srv_received };
static const struct vs_udp_ops cli = { .received = cli_received };

static void
start(void *arg)
{
	struct sockaddr_in l4 = { .sin_family = AF_INET,
				  .sin_port = htons(7400) };
	struct sockaddr_in6 l6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(7400) };
	struct sockaddr_in any4 = { .sin_family = AF_INET };
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in k4 = { .sin_family = AF_INET,
				  .sin_port = htons(7500) };
	struct sockaddr_in6 k6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(7500) };
	struct vs_udp *s4, *s6, *c4, *c6;

	(void)arg;
	inet_pton(AF_INET, "10.77.1.2", &k4.sin_addr);
	inet_pton(AF_INET6, "fd77:1::2", &k6.sin6_addr);
	if (vs__udp_open(&e, (struct sockaddr *)&l4, 0, &srv, NULL, &s4) ||
	    vs__udp_open(&e, (struct sockaddr *)&l6, 0, &srv, NULL, &s6) ||
	    vs__udp_open(&e, (struct sockaddr *)&any4, 0, &cli, NULL, &c4) ||
	    vs__udp_open(&e, (struct sockaddr *)&any6, 0, &cli, NULL, &c6)) {
		failures++;
		return;
	}
	for (int i = 0; i < NSIZES; i++) {
		if (vs__udp_sendto(c4, msg, sizes[i], (struct sockaddr *)&k4,
				   NULL) != (ssize_t)sizes[i] ||
		    vs__udp_sendto(c6, msg, sizes[i], (struct sockaddr *)&k6,
				   NULL) != (ssize_t)sizes[i])
			failures++;
	}
	/* Beyond what one IP datagram carries: refused, as by the kernel. */
	if (vs__udp_sendto(c4, msg, 70000, (struct sockaddr *)&k4, NULL) !=
	    -EMSGSIZE)
		failures++;
	printf("ready\n");
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	time_t end = time(NULL) + 60;

	if (argc != 2)
		return 2;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 13);
	engine_run(&e, "udp_kernel_peer", argv[1], 4096, 256, start);
	while ((echoed < 2 * NSIZES || answers_ok < 2 * NSIZES) && !failures &&
	       time(NULL) < end)
		usleep(10000);
	printf("server: %d datagrams echoed; client: %d answers right; %d "
	       "failures\n",
	       echoed, answers_ok, failures);
	vs__engine_close(&e);
	return echoed == 2 * NSIZES && answers_ok == 2 * NSIZES && !failures ?
		       0 :
		       1;
}
