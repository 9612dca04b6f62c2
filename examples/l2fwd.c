// SPDX-License-Identifier: MIT
/*
 * vs-l2fwd - an L2 forwarder between two NIC ports on raw hooks, with a
 * filter: the "transparent wire" of PF_RING, in the manner of DPDK's
 * l2fwd.
 *
 *   vs-l2fwd [-x SRC_ADDR] DEV_A MAC_A DEV_B MAC_B
 *
 * Every IP frame that port DEV_A receives leaves on DEV_B addressed to
 * MAC_B (the host beyond B) from B's own MAC, and the other way round;
 * frames from SRC_ADDR (IPv4) are dropped. Nothing reaches a TCP/IP
 * stack: the hooks consume every frame. Hosts address their frames to
 * the port's MAC (static neighbour entries), as with DPDK's l2fwd; ARP
 * stays with each port's kernel. One thread drives both ports, sleeping
 * in poll(2) on both when there is nothing to do. Prints "ready"; on
 * SIGINT or SIGTERM, what it forwarded and dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vstack.h"

struct side {
	struct vs_stack *st;
	struct vs_ctx *c;
	uint8_t mine[6], beyond[6];
	struct side *other;
	uint64_t forwarded, dropped, failed;
};

static struct in_addr drop_src;
static bool filter;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static enum vs_raw_verdict
hook(struct vs_ctx *c, uint8_t *f, size_t len, void *arg)
{
	struct side *s = arg, *o = s->other;

	(void)c;
	if (filter && len >= 34 && f[12] == 0x08 && f[13] == 0x00 &&
	    !memcmp(f + 26, &drop_src, 4)) {
		s->dropped++;
		return VS_RAW_DROP;
	}
	memcpy(f, o->beyond, 6);
	memcpy(f + 6, o->mine, 6);
	if (vs_raw_send(o->c, f, len))
		s->failed++;
	else
		s->forwarded++;
	return VS_RAW_CONSUMED;
}

static int
mac_of(const char *s, uint8_t m[6])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2],
		      &m[3], &m[4], &m[5]) == 6 ?
		       0 :
		       -1;
}

static int
open_side(struct side *s, const char *dev, const char *mac)
{
	struct vs_options o = { .size = sizeof(o),
				.device = dev,
				.contexts = 1 };
	int rc;

	if (mac_of(mac, s->beyond)) {
		fprintf(stderr, "vs-l2fwd: bad MAC address %s\n", mac);
		return -EINVAL;
	}
	rc = vs_init(&o, &s->st);
	if (rc) {
		fprintf(stderr, "vs-l2fwd: %s: %s\n", dev, strerror(-rc));
		return rc;
	}
	s->c = vs_context(s->st, 0);
	vs_stack_mac(s->st, s->mine);
	vs_raw_hook_set(s->c, hook, s);
	rc = vs_steer_all(s->c);
	if (rc)
		fprintf(stderr, "vs-l2fwd: %s: steering: %s\n", dev,
			strerror(-rc));
	return rc;
}

int
main(int argc, char **argv)
{
	static const char usage[] =
		"vs-l2fwd [-x SRC_ADDR] DEV_A MAC_A DEV_B MAC_B";
	struct side a = { 0 }, b = { 0 };
	int i = 1;

	if (argc > 1 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: %s\n", usage);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "-x")) {
		if (inet_pton(AF_INET, argv[2], &drop_src) != 1) {
			fprintf(stderr, "vs-l2fwd: bad address %s\n", argv[2]);
			return 2;
		}
		filter = true;
		i = 3;
	}
	if (argc - i != 4) {
		fprintf(stderr, "usage: %s\n", usage);
		return 2;
	}
	a.other = &b;
	b.other = &a;
	if (open_side(&a, argv[i], argv[i + 1]) ||
	    open_side(&b, argv[i + 2], argv[i + 3]))
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd p[2] = {
			{ .fd = vs_ctx_fd(a.c), .events = POLLIN },
			{ .fd = vs_ctx_fd(b.c), .events = POLLIN }
		};
		int ta = -1, tb = -1;

		vs_ctx_run(a.c, 0);
		vs_ctx_run(b.c, 0);
		/* Both armed: sleep until either has work or a timer. */
		if (!vs_ctx_prepare(a.c, &ta) && !vs_ctx_prepare(b.c, &tb))
			poll(p, 2,
			     ta < 0  ? tb :
			     tb < 0  ? ta :
			     ta < tb ? ta :
				       tb);
		vs_ctx_check(a.c);
		vs_ctx_check(b.c);
	}
	printf("forwarded %lu dropped %lu failed %lu (A to B), "
	       "forwarded %lu dropped %lu failed %lu (B to A)\n",
	       (unsigned long)a.forwarded, (unsigned long)a.dropped,
	       (unsigned long)a.failed, (unsigned long)b.forwarded,
	       (unsigned long)b.dropped, (unsigned long)b.failed);
	vs_fini(a.st);
	vs_fini(b.st);
	return 0;
}
