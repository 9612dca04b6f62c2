/* SPDX-License-Identifier: MIT */
/*
 * raw_common.h - what vstack_raw_bw and vstack_raw_lat share: perftest's
 * options, the port, the UDP frames they exchange and the steering rule.
 *
 *   -d DEV  -s SIZE  -n ITERS  -D SECS  -q QUEUES  -E PEER_MAC
 *   --server | --client
 *
 * The client sends from 10.0.0.2:5001 to 10.0.0.1:5000 (perftest's
 * defaults with -j/-J/-k/-K), to PEER_MAC; the server steers that flow
 * to its queues and learns the client's MAC from the first frame.
 */
#ifndef VS_BENCH_RAW_COMMON_H
#define VS_BENCH_RAW_COMMON_H

#include <arpa/inet.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verbs/port.h"

#define CLIENT_IP 0x0a000002u
#define SERVER_IP 0x0a000001u
#define CLIENT_PORT 5001
#define SERVER_PORT 5000

struct raw_args {
	const char *dev;
	unsigned size, queues;
	unsigned long iters;
	unsigned secs;
	bool server, have_peer;
	uint8_t peer[6];
};

static inline void
raw_usage(const char *prog, int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: %s -d DEV (--server | --client -E PEER_MAC)\n"
		"          [-s SIZE] [-n ITERS | -D SECS] [-q QUEUES]\n"
		"perftest-style raw Ethernet benchmark on vstack's port\n"
		"(UDP 10.0.0.2:5001 -> 10.0.0.1:5000, as perftest with -j/-J/-k/-K).\n",
		prog);
	exit(rc);
}

static inline int
raw_parse_mac(const char *s, uint8_t *m)
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

static inline void
raw_parse(int argc, char **argv, struct raw_args *a)
{
	static const struct option o[] = {
		{ "ib-dev", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "iters", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'D' },
		{ "qp", required_argument, NULL, 'q' },
		{ "dest_mac", required_argument, NULL, 'E' },
		{ "server", no_argument, NULL, 'Z' },
		{ "client", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, side = 0;

	*a = (struct raw_args){ .size = 64, .queues = 1, .iters = 1000 };
	while ((c = getopt_long(argc, argv, "d:s:n:D:q:E:ZPFh", o, NULL)) !=
	       -1) {
		switch (c) {
		case 'd':
			a->dev = optarg;
			break;
		case 's':
			a->size = (unsigned)atoi(optarg);
			break;
		case 'n':
			a->iters = strtoul(optarg, NULL, 10);
			break;
		case 'D':
			a->secs = (unsigned)atoi(optarg);
			break;
		case 'q':
			a->queues = (unsigned)atoi(optarg);
			break;
		case 'Z':
			a->server = true;
			side++;
			break;
		case 'P':
			side++;
			break;
		case 'F':
			break; /* perftest's cpufreq warning: none here */
		case 'E':
			if (raw_parse_mac(optarg, a->peer) < 0)
				raw_usage(argv[0], 2);
			a->have_peer = true;
			break;
		case 'h':
			raw_usage(argv[0], 0);
			break;
		default:
			raw_usage(argv[0], 2);
		}
	}
	if (!a->dev || side != 1 || (!a->server && !a->have_peer) ||
	    a->size < 64 || a->size > 1514 || !a->queues || a->queues > 64)
		raw_usage(argv[0], 2);
}

static inline struct vs_port *
raw_open(const struct raw_args *a)
{
	struct vs_port_opts o = {
		.sz = sizeof(o),
		.device = a->dev,
		.nqueues = a->queues,
		.buf_size = 2048,
		.nbufs = 8192,
		.rx_depth = 512,
		.tx_depth = 512,
		.hugepages = true,
	};
	char err[512];
	struct vs_port *p = vs__port_open(&o, err, sizeof(err));

	if (!p) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return p;
}

/* Steers the benchmark's flow (the server's) or its replies (the
 * client's) to the port: one queue, or spread by RSS. */
static inline void
raw_rule(struct vs_port *p, const struct raw_args *a)
{
	struct vs_rule r = { .action = a->queues > 1 ? VS_RULE_STEER_RSS :
						       VS_RULE_STEER,
			     .proto = IPPROTO_UDP,
			     .family = AF_INET,
			     .dport = a->server ? SERVER_PORT : CLIENT_PORT,
			     .dport_mask = 0xffff };
	uint32_t dst = htonl(a->server ? SERVER_IP : CLIENT_IP);
	struct vs_rule_handle *h;
	int rc;

	memcpy(r.dst, &dst, 4);
	memset(r.dst_mask, 0xff, 4);
	rc = vs__port_rule_add(p, &r, &h);
	if (rc) {
		fprintf(stderr, "cannot steer the benchmark's flow: %s\n",
			strerror(-rc));
		exit(1);
	}
}

/* The UDP frame this side sends (source port varied per queue). */
static inline void
raw_frame(uint8_t *f, unsigned len, const uint8_t *dmac, const uint8_t *smac,
	  bool server, uint16_t sport_add)
{
	uint16_t iplen = htons((uint16_t)(len - 14)),
		 udplen = htons((uint16_t)(len - 34));
	uint32_t s = htonl(server ? SERVER_IP : CLIENT_IP),
		 d = htonl(server ? CLIENT_IP : SERVER_IP);
	uint16_t sp = htons((uint16_t)((server ? SERVER_PORT : CLIENT_PORT) +
				       sport_add)),
		 dp = htons(server ? CLIENT_PORT : SERVER_PORT);

	memset(f, 0, len);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	memcpy(f + 16, &iplen, 2);
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, &s, 4);
	memcpy(f + 30, &d, 4);
	memcpy(f + 34, &sp, 2);
	memcpy(f + 36, &dp, 2);
	memcpy(f + 38, &udplen, 2);
}

static inline double
raw_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline void
raw_banner(const char *what, const struct raw_args *a, struct vs_port *p)
{
	const struct vs_port_info *in = vs__port_info(p);

	printf("---------------------------------------------------------------"
	       "------------------------\n");
	printf("                    %s (vstack port, %s backend)\n", what,
	       in->backend);
	printf(" Device         : %s (%s)\t\tQueues        : %u\n", in->device,
	       in->ifname, a->queues);
	printf(" Max inline     : %u[B]\t\t\tHugepages     : %s\n",
	       in->max_inline, in->huge ? "yes" : "no");
	printf("---------------------------------------------------------------"
	       "------------------------\n");
}

#endif
