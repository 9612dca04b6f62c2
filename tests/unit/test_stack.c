// SPDX-License-Identifier: MIT
/*
 * stack.lwip_instances: two private copies of lwIP have independent
 * state, and nothing of lwIP is in the process's global scope.
 */
#include <dlfcn.h>
#include <errno.h>

#include "stack/lwip.h"
#include "vstest.h"

static struct tcp_pcb *
bound(struct vs_lwip *l, u16_t port, err_t *rc)
{
	struct tcp_pcb *pcb = l->tcp_new_ip_type(IPADDR_TYPE_ANY);
	ip_addr_t any = vs__lwip_addr_any(IPADDR_TYPE_ANY);

	ck_assert_ptr_nonnull(pcb);
	*rc = l->tcp_bind(pcb, &any, port);
	return pcb;
}

START_TEST(lwip_instances)
{
	struct vs_lwip a, b;
	struct tcp_pcb *pa, *pb, *pa2;
	char err[256];
	err_t rc;

	ck_assert_msg(vs__lwip_load(&a, NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(vs__lwip_load(&b, NULL, err, sizeof(err)) == 0, "%s", err);
	/* Two copies: different code, different globals. */
	ck_assert_ptr_ne(a.handle, b.handle);
	ck_assert_ptr_ne((void *)a.tcp_bind, (void *)b.tcp_bind);
	ck_assert_ptr_ne(a.tcp_bound_pcbs, b.tcp_bound_pcbs);
	/* The same port bound in both; a second bind in one is refused, so
	 * each copy does keep its own table of bound ports. */
	pa = bound(&a, 7000, &rc);
	ck_assert_int_eq(rc, ERR_OK);
	pb = bound(&b, 7000, &rc);
	ck_assert_int_eq(rc, ERR_OK);
	pa2 = bound(&a, 7000, &rc);
	ck_assert_int_eq(rc, ERR_USE);
	ck_assert_ptr_eq(*a.tcp_bound_pcbs, pa);
	ck_assert_ptr_eq(*b.tcp_bound_pcbs, pb);
	/* Nothing of lwIP in the global scope. */
	ck_assert_ptr_null(dlsym(RTLD_DEFAULT, "tcp_bind"));
	ck_assert_ptr_null(dlsym(RTLD_DEFAULT, "lwip_init"));
	ck_assert_ptr_null(dlsym(RTLD_DEFAULT, "tcp_bound_pcbs"));
	ck_assert_int_eq(a.tcp_close(pa2), ERR_OK);
	ck_assert_int_eq(a.tcp_close(pa), ERR_OK);
	ck_assert_int_eq(b.tcp_close(pb), ERR_OK);
	ck_assert_ptr_null(*a.tcp_bound_pcbs);
	/* Instances live until exit (lwIP cannot be shut down); what they
	 * still hold is reachable from their globals, not leaked. */
}
END_TEST

START_TEST(lwip_missing)
{
	struct vs_lwip l;
	char err[256];

	ck_assert_int_eq(vs__lwip_load(&l, "/nonexistent/liblwip.so.0", err,
				       sizeof(err)),
			 -ENOENT);
	ck_assert_str_eq(err, "/nonexistent/liblwip.so.0: No such file or "
			      "directory (Debian's package liblwip-dev "
			      "provides it; run scripts/setup)");
	/* A library that is not lwIP (libmnl: iproute2 depends on it). */
	ck_assert_int_eq(vs__lwip_load(&l, "/usr/lib/x86_64-linux-gnu/libmnl.so.0",
				       err, sizeof(err)),
			 -ENOSYS);
	ck_assert_str_eq(err, "liblwip lacks lwip_init: not the lwIP 2.1 "
			      "vstack is built for");
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("stack");

	VSTEST_ADD(s, lwip_instances);
	VSTEST_ADD(s, lwip_missing);
	return s;
}
