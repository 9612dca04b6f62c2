/* SPDX-License-Identifier: MIT */
/*
 * server - the control server inside every vstack process: a UNIX
 * socket DIR/PID.sock (DIR: the configuration's control_dir, created as
 * needed; the socket mode 0600) served by a libev loop on a thread of its
 * own, answering vstackctl (ctl/proto.h).
 *
 * Owns: the thread, the socket and its file, the list of views. A view is
 * what one user of the engines (the LD_PRELOAD runtime, or one native
 * stack) shows: its port, engines and configuration.
 *
 * Must never: touch an engine's lwIP except through the engine's call
 * ring (connections are listed by a call each engine runs); take an
 * engine's lock; answer a peer of another uid (root excepted); block on a
 * client without a timeout.
 */
#ifndef VS_CTL_SERVER_H
#define VS_CTL_SERVER_H

#include <stddef.h>

#include "base/config.h"
#include "stack/engine.h"

struct vs_ctl_view {
	const char *mode; /* "preload" or "native" */
	struct vs_port *port;
	struct vs_engine *const *engines; /* n of them */
	unsigned n;
	const struct vs_config *cfg;
	/* vstackctl flow ... kernel: rules that keep sockets created from
	 * now on, whose traffic they cover, on the kernel (NULL: a native
	 * program, which decides itself). add returns an id or -errno. */
	int (*kernel_add)(const struct vs_rule *r);
	int (*kernel_del)(int id);
};

/* Shows a view, starting the server with the first. The view must stay
 * valid until vs__ctl_remove. Failing to serve is logged, never fatal. */
void vs__ctl_add(const struct vs_ctl_view *v);
void vs__ctl_remove(const struct vs_ctl_view *v);
/* In a fork child: the parent's server is not the child's. */
void vs__ctl_atfork_child(void);

#endif
