// SPDX-License-Identifier: MIT
/*
 * vs-udp-echo - a UDP echo server on vstack's native API.
 *
 *   vs-udp-echo [-t] [-c CONTEXTS] PORT
 *
 * Each context binds PORT (IPv4 and IPv6) and sends every datagram back
 * to its sender. With several contexts each binds its own socket; the
 * NIC's rules give the port's datagrams to the last context that bound
 * it, so one context is enough for UDP (run more processes on more
 * ports to scale).
 */
#include <errno.h>

#include "common.h"

static void
received(struct vs_dgram *u, struct vs_chain *data, const struct sockaddr *from)
{
	char buf[65536];
	size_t n = vs_chain_copy(data, 0, buf, sizeof(buf));

	vs_chain_release(data);
	vs_udp_sendto(u, buf, n, from);
}

static const struct vs_dgram_ops ops = { .received = received };

static int
setup(struct vs_ctx *c, void *arg)
{
	struct sockaddr_storage a4, a6;
	struct vs_dgram *u4, *u6;
	int rc;

	if (vs_ctx_index(c) != 0)
		return 0;
	if (ex_addr(arg, AF_INET, &a4) || ex_addr(arg, AF_INET6, &a6))
		return -EINVAL;
	rc = vs_udp_open(c, (struct sockaddr *)&a4, &ops, NULL, &u4);
	if (!rc)
		rc = vs_udp_open(c, (struct sockaddr *)&a6, &ops, NULL, &u6);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned contexts = 0;
	const char *port = ex_args(
		argc, argv, "vs-udp-echo [-t] [-c CONTEXTS] PORT", &contexts);

	return ex_run(contexts, setup, (void *)port);
}
