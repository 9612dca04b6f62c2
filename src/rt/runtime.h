/* SPDX-License-Identifier: MIT */
/*
 * runtime - bringing vstack up in a process: the port, one engine per
 * queue pinned to the usable cores, and the control server's view of
 * them. The one bring-up both owners share: the LD_PRELOAD socket layer
 * (src/sockapi) and the native API (src/api).
 *
 * Owns: the engine count (cores, contexts, VS_MAX_ENGINES, the port's
 * queues), the CPU each engine is pinned to, the process's connection
 * limit (max_conns), the view vstackctl sees.
 * The owner keeps its configuration (loaded before) and the engines'
 * memory (a socket layer's array, the API's contexts).
 * Must never: load the configuration, decide which sockets vstack takes,
 * or keep a reference to an engine after vs__rt_close.
 */
#ifndef VS_RT_RUNTIME_H
#define VS_RT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl/server.h"
#include "stack/engine.h"
#include "stack/steer.h"

struct vs_runtime {
	const struct vs_config *cfg; /* the owner's, loaded */
	struct vs_port *port;
	unsigned n; /* engines (the port's queues) */
	struct vs_engine *es[VS_MAX_ENGINES]; /* opened so far: n */
	int cpus[1024];
	unsigned ncpu;
	struct vs_ctl_view view;
	struct vs_steer frag; /* copies of IP fragments to engine 0 */
};

/*
 * Opens the port for `want` engines (0: the configuration's cores, or
 * every usable core; one for a `shared` process, a worker that accepts
 * from a listener other processes accept from too), at most
 * VS_MAX_ENGINES; the port may give fewer queues (rt->n says how many).
 * Returns 0 or -errno with a message in err (rt is then closed).
 */
int vs__rt_open(struct vs_runtime *rt, const struct vs_config *cfg,
		unsigned want, bool shared, char *err, size_t errlen);
/*
 * Opens engine i (0.., in order) in the owner's memory e, pinned to a
 * usable core, and starts its thread if `start`. 0 or -errno with a
 * message in err; a failed engine is closed again.
 */
int vs__rt_engine(struct vs_runtime *rt, unsigned i, struct vs_engine *e,
		  bool start, char *err, size_t errlen);
/* Fewer engines than the port's queues (an engine failed): only the
 * first n run. */
void vs__rt_trim(struct vs_runtime *rt, unsigned n);
/* vstackctl sees the runtime from now on (mode: "preload", "native";
 * kernel_add/del: vstackctl flow ... kernel, or NULL). */
void vs__rt_publish(struct vs_runtime *rt, const char *mode,
		    int (*kernel_add)(const struct vs_rule *r),
		    int (*kernel_del)(int id));
/* Withdraws the view, closes the engines opened and the port. */
void vs__rt_close(struct vs_runtime *rt);

#endif
