// SPDX-License-Identifier: MIT
/*
 * fault.c - fault injection for the emulated device's verbs.
 *
 *   VSEMU_FAIL=CALL:N[+][:ERRNO][,CALL:N[+][:ERRNO]...]
 *
 * makes the N-th call (counted from 1, per process) of the verbs entry
 * point CALL fail with ERRNO (a name such as ENOMEM, or a number;
 * default ENOMEM), and with "N+" every call from the N-th on. A call
 * fails the way rdma-core's does: NULL and errno for constructors, the
 * errno value for calls that return one, -1 from ibv_poll_cq, the first
 * work request as *bad from the post calls; ibv_get_device_list returns
 * NULL as it does on a machine without an RDMA subsystem.
 *
 * Owns: the parsed specification and a counter per entry. Must never:
 * fail a call the specification does not name, or let a malformed
 * specification pass unnoticed (a typo would make a test of an error
 * path pass without exercising it): VSEMU_FAIL says what is wrong and
 * exits 2; vsemu_fail() says it and returns -EINVAL.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "emu/vsemu.h"

#define MAX_FAULTS 16

/* Every entry point that consults emu__fault(). */
static const char *const calls[] = {
	"ibv_get_device_list",
	"ibv_open_device",
	"ibv_query_port",
	"ibv_query_device_ex",
	"ibv_alloc_pd",
	"ibv_reg_mr",
	"ibv_create_comp_channel",
	"ibv_create_cq",
	"ibv_create_wq",
	"ibv_modify_wq",
	"ibv_create_rwq_ind_table",
	"ibv_create_qp",
	"ibv_create_qp_ex",
	"ibv_modify_qp",
	"ibv_create_flow",
	"ibv_destroy_flow",
	"ibv_create_counters",
	"ibv_attach_counters_point_flow",
	"ibv_read_counters",
	"ibv_post_send",
	"ibv_post_recv",
	"ibv_post_wq_recv",
	"ibv_poll_cq",
	"ibv_req_notify_cq",
	"ibv_get_cq_event",
};

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "ENOMEM", ENOMEM },	      { "EINVAL", EINVAL },
	{ "EPERM", EPERM },	      { "EACCES", EACCES },
	{ "EBUSY", EBUSY },	      { "EIO", EIO },
	{ "EAGAIN", EAGAIN },	      { "ENODEV", ENODEV },
	{ "ENOSYS", ENOSYS },	      { "ENOSPC", ENOSPC },
	{ "EOPNOTSUPP", EOPNOTSUPP }, { "EFAULT", EFAULT },
	{ "ENXIO", ENXIO },	      { "EMFILE", EMFILE },
};

static struct fault {
	const char *call; /* one of calls[] */
	unsigned long nth;
	bool onward; /* "N+" */
	int err;
	atomic_ulong seen;
} faults[MAX_FAULTS];
static unsigned nfaults; /* set before the calls it affects are made */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *env_spec; /* as the program started (see env_snapshot) */

__attribute__((constructor)) static void
fault_snapshot(void)
{
	const char *s = getenv("VSEMU_FAIL");

	env_spec = s ? strdup(s) : NULL;
}

/* Says what is wrong with the specification; false. */
static bool
bad_spec(const char *spec, const char *item, const char *why)
{
	fprintf(stderr,
		"vsemu: VSEMU_FAIL=%s: \"%s\": %s (expected "
		"CALL:N[+][:ERRNO],...)\n",
		spec, item, why);
	return false;
}

static const char *
known_call(const char *name)
{
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (strcmp(calls[i], name) == 0)
			return calls[i];
	return NULL;
}

static int
errno_of(const char *s)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strcmp(errnos[i].name, s) == 0)
			return errnos[i].value;
	v = strtol(s, &end, 10);
	return *s && !*end && v > 0 && v < 4096 ? (int)v : 0;
}

/* One "CALL:N[+][:ERRNO]" into f. */
static bool
parse_item(const char *spec, char *item, struct fault *f)
{
	char *n = strchr(item, ':'), *e, *end;

	if (!n)
		return bad_spec(spec, item, "no call count");
	*n++ = '\0';
	e = strchr(n, ':');
	if (e)
		*e++ = '\0';
	f->call = known_call(item);
	if (!f->call)
		return bad_spec(spec, item, "not a call the emulator can fail");
	f->nth = strtoul(n, &end, 10);
	f->onward = *end == '+';
	if (end == n || f->nth == 0 || (*end && strcmp(end, "+") != 0))
		return bad_spec(spec, item, "the count is not a number from 1");
	f->err = e ? errno_of(e) : ENOMEM;
	if (!f->err)
		return bad_spec(spec, item, "unknown errno");
	atomic_init(&f->seen, 0);
	return true;
}

/* Replaces the faults by those of spec (NULL or "": none). */
static int
set_faults(const char *spec)
{
	struct fault next[MAX_FAULTS];
	unsigned n = 0;
	char *copy, *item, *save = NULL;
	bool ok = true;

	if (spec && *spec) {
		copy = strdup(spec);
		if (!copy)
			return -ENOMEM;
		for (item = strtok_r(copy, ",", &save); item && ok;
		     item = strtok_r(NULL, ",", &save)) {
			if (n == MAX_FAULTS)
				ok = bad_spec(spec, item,
					      "more than 16 entries");
			else
				ok = parse_item(spec, item, &next[n++]);
		}
		free(copy);
		if (!ok)
			return -EINVAL;
	}
	nfaults = 0; /* a caller changes faults with no verbs call running */
	for (unsigned i = 0; i < n; i++) {
		faults[i].call = next[i].call;
		faults[i].nth = next[i].nth;
		faults[i].onward = next[i].onward;
		faults[i].err = next[i].err;
		atomic_init(&faults[i].seen, 0);
	}
	nfaults = n;
	return 0;
}

static void
parse_env(void)
{
	const char *live = getenv("VSEMU_FAIL");

	/* A typo would let a test of an error path pass untried. */
	if (set_faults(live ? live : env_spec))
		exit(2);
}

/*
 * For tests that open a port first and then make its running calls
 * fail: replaces whatever VSEMU_FAIL said, counters from zero. 0, or
 * -EINVAL (said on stderr) for a malformed specification.
 */
EMU_EXPORT int
vsemu_fail(const char *spec)
{
	pthread_once(&once, parse_env);
	return set_faults(spec);
}

int
emu__fault(const char *call)
{
	int err = 0;

	pthread_once(&once, parse_env);
	for (unsigned i = 0; i < nfaults; i++) {
		struct fault *f = &faults[i];
		unsigned long n;

		if (strcmp(f->call, call) != 0)
			continue;
		n = atomic_fetch_add(&f->seen, 1) + 1;
		if (n == f->nth || (f->onward && n > f->nth))
			err = f->err;
	}
	return err;
}
