// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "rt/runtime.h"
#include "stack/tcp.h"

int
vs__rt_open(struct vs_runtime *rt, const struct vs_config *cfg, unsigned want,
	    bool shared, char *err, size_t errlen)
{
	struct vs_port_opts o;
	unsigned n;

	memset(rt, 0, sizeof(*rt));
	rt->cfg = cfg;
	vs__tcp_set_max_conns(cfg->max_conns);
	rt->ncpu = vs__usable_cpus(rt->cpus, VS_ARRAY_SIZE(rt->cpus));
	/* A worker among others that share its listener: one engine, as
	 * the server runs one worker per core. */
	n = want       ? want :
	    cfg->cores ? cfg->cores :
	    shared     ? 1 :
	    rt->ncpu   ? rt->ncpu :
			 1;
	if (n > VS_MAX_ENGINES)
		n = VS_MAX_ENGINES;
	vs__port_opts_of(&o, cfg, n);
	o.shared = shared;
	errno = 0;
	rt->port = vs__port_open(&o, err, errlen);
	if (!rt->port)
		return errno ? -errno : -ENODEV;
	/* The port may have fewer queues (xdp: the netdev's). */
	rt->n = vs__port_info(rt->port)->nqueues;
	return 0;
}

int
vs__rt_engine(struct vs_runtime *rt, unsigned i, struct vs_engine *e,
	      bool start, char *err, size_t errlen)
{
	int rc;

	err[0] = '\0';
	rc = vs__engine_open(e, rt->port, i, rt->cfg->spin_us,
			     rt->ncpu ? rt->cpus[i % rt->ncpu] : -1, err,
			     errlen);
	if (!rc && start && (rc = vs__engine_start(e)) != 0) {
		snprintf(err, errlen, "cannot start its thread: %s",
			 strerror(-rc));
		vs__engine_close(e);
	}
	if (!rc)
		rt->es[i] = e;
	else if (!err[0])
		snprintf(err, errlen, "%s", strerror(-rc));
	return rc;
}

void
vs__rt_trim(struct vs_runtime *rt, unsigned n)
{
	if (n < rt->n)
		rt->n = n;
}

void
vs__rt_publish(struct vs_runtime *rt, const char *mode,
	       int (*kernel_add)(const struct vs_rule *r),
	       int (*kernel_del)(int id))
{
	int rc;

	rt->view = (struct vs_ctl_view){ .mode = mode,
					 .port = rt->port,
					 .engines = rt->es,
					 .n = rt->n,
					 .cfg = rt->cfg,
					 .kernel_add = kernel_add,
					 .kernel_del = kernel_del };
	vs__ctl_add(&rt->view);
	/* Fragments to engine 0 (stack/frag.h), where the port cannot
	 * follow them itself. Without the rules they stay the kernel's. */
	rc = vs__steer_frag_add(rt->port, 0, &rt->frag);
	if (rc)
		vs_warn("%s: no rule for IP fragments (%s): datagrams larger "
			"than the MTU stay the kernel's",
			vs__port_info(rt->port)->device, strerror(-rc));
	vs_info("vstack: %s (%s), %u engines", vs__port_info(rt->port)->device,
		vs__port_info(rt->port)->ifname, rt->n);
}

void
vs__rt_close(struct vs_runtime *rt)
{
	if (rt->view.port)
		vs__ctl_remove(&rt->view);
	rt->view.port = NULL;
	vs__steer_del(rt->port, &rt->frag);
	for (unsigned i = 0; i < VS_MAX_ENGINES; i++)
		if (rt->es[i]) {
			vs__engine_close(rt->es[i]);
			rt->es[i] = NULL;
		}
	vs__port_close(rt->port);
	rt->port = NULL;
	rt->n = 0;
}
