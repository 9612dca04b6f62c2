// SPDX-License-Identifier: MIT
/*
 * netif_echo DEV PORT CONNECTIONS - lwIP on a vstack port: a TCP echo
 * server (lwIP's raw API) on PORT, IPv4 and IPv6, reached by kernel
 * peers through the NIC. Prints "ready", serves CONNECTIONS connections
 * to their end, prints the netif's counters and exits 0 (1 on error or
 * after 60 s).
 */
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/netif.h"
#include "lwip_echo.h"

static struct vs_lwip lw;

static struct vs_port *
open_port(const char *dev, uint16_t port)
{
	struct vs_port_opts o = { .sz = sizeof(o),
				  .device = dev,
				  .nqueues = 1,
				  .buf_size = 2048,
				  .nbufs = 4096,
				  .rx_depth = 256,
				  .tx_depth = 256 };
	struct vs_rule r = { .action = VS_RULE_STEER,
			     .proto = IPPROTO_TCP,
			     .dport = port,
			     .dport_mask = 0xffff };
	struct vs_rule_handle *h;
	char err[256];
	struct vs_port *p = vs__port_open(&o, err, sizeof(err));

	if (!p || vs__port_rule_add(p, &r, &h)) {
		fprintf(stderr, "netif_echo: %s\n", p ? "rule" : err);
		exit(1);
	}
	return p;
}

int
main(int argc, char **argv)
{
	struct vs_netif n;
	struct vs_kernel *k;
	struct vs_port *port;
	char err[256];
	time_t end = time(NULL) + 60;
	int want;

	if (argc != 4)
		return fprintf(stderr, "usage: netif_echo DEV PORT N\n"), 2;
	want = atoi(argv[3]);
	port = open_port(argv[1], (uint16_t)atoi(argv[2]));
	k = vs__kernel_open(vs__port_info(port)->ifname, err, sizeof(err));
	if (!k || vs__lwip_load(&lw, NULL, err, sizeof(err)) ||
	    vs__netif_open(&n, &lw, port, 0, k, err, sizeof(err)))
		return fprintf(stderr, "netif_echo: %s\n", err), 1;
	echo_lw = &lw;
	if (echo_listen((u16_t)atoi(argv[2])))
		return fprintf(stderr, "netif_echo: bind\n"), 1;
	printf("ready\n");
	fflush(stdout);
	while (echo_served < want && time(NULL) < end) {
		struct pollfd p = { .fd = vs__kernel_fd(k), .events = POLLIN };

		vs__netif_poll(&n);
		lw.sys_check_timeouts();
		if (poll(&p, 1, 0) == 1)
			vs__netif_kernel_news(&n);
	}
	printf("served %d; rx %llu tx %llu waited-for-neighbour %llu "
	       "timed-out %llu\n",
	       echo_served, (unsigned long long)atomic_load(&n.st.rx_frames),
	       (unsigned long long)atomic_load(&n.st.tx_frames),
	       (unsigned long long)atomic_load(&n.st.neigh_waited),
	       (unsigned long long)atomic_load(&n.st.neigh_timeout));
	return echo_served == want ? 0 : 1;
}
