/* SPDX-License-Identifier: MIT */
/*
 * For programs that drive one engine directly, without the socket layer
 * or the native API (the stack's test programs, bench/vstack_tcp): one
 * queue of port DEV, an engine thread on it, and a first call (setting
 * up sockets) posted to it. Header-only; not part of libvstack (it exits
 * on failure).
 */
#ifndef VS_STACK_ENGINE_RUN_H
#define VS_STACK_ENGINE_RUN_H

#include <stdio.h>
#include <stdlib.h>

#include "stack/engine.h"

/* Exits with a message if anything fails; returns the port. */
static struct vs_port *
engine_run(struct vs_engine *e, const char *prog, const char *dev,
	   uint32_t nbufs, uint32_t depth, vs_engine_fn first)
{
	struct vs_port_opts o = { .sz = sizeof(o),
				  .device = dev,
				  .nqueues = 1,
				  .buf_size = 2048,
				  .nbufs = nbufs,
				  .rx_depth = depth,
				  .tx_depth = depth,
				  .hugepages = true };
	char err[256] = "";
	struct vs_port *port = vs__port_open(&o, err, sizeof(err));

	if (!port || vs__engine_open(e, port, 0, 50, -1, err, sizeof(err)) ||
	    vs__engine_start(e) || vs__engine_call(e, first, NULL)) {
		fprintf(stderr, "%s: %s\n", prog, err);
		exit(1);
	}
	return port;
}

#endif
