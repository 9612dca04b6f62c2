// SPDX-License-Identifier: MIT
/*
 * stack.lwip_instances: two private copies of lwIP have independent
 * state, and nothing of lwIP is in the process's global scope.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/csum.h"
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

	ck_assert_msg(vs__lwip_load(&a, NULL, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_msg(vs__lwip_load(&b, NULL, err, sizeof(err)) == 0, "%s",
		      err);
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

/* RFC 1071's sum, 16 bits at a time, as the reference: the bytes taken
 * in memory order, as lwIP's sums are (host order on little endian). */
static uint16_t
ref_sum(const unsigned char *p, int len)
{
	uint32_t acc = 0;
	int i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] | p[i + 1] << 8);
	if (i < len)
		acc += p[i];
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/*
 * vs__csum gives RFC 1071's result for every length and alignment, and
 * the copy's checksums are it (lwIP's inet_chksum, built with
 * LWIP_CHKSUM = vs__csum, agrees with the reference).
 */
START_TEST(lwip_csum)
{
	static struct vs_lwip l;
	static unsigned char buf[4096 + 16];
	char err[256] = "";
	uint16_t (*inet)(const void *, uint16_t);
	unsigned seed = 7;

	ck_assert_msg(vs__lwip_load(&l, NULL, err, sizeof(err)) == 0, "%s",
		      err);
	*(void **)&inet = dlsym(l.handle, "inet_chksum");
	ck_assert_ptr_nonnull(inet);
	/* The sum the copy uses is vs__csum, not lwIP's own. */
	ck_assert_ptr_null(dlsym(l.handle, "lwip_standard_chksum"));
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(rand_r(&seed) >> 3);
	for (int off = 0; off < 8; off++)
		for (int len = 0; len <= 4096; len += len < 80 ? 1 : 37) {
			uint16_t want = ref_sum(buf + off, len);

			ck_assert_msg(vs__csum(buf + off, len) == want,
				      "offset %d length %d: %#x, RFC 1071 %#x",
				      off, len, vs__csum(buf + off, len), want);
			ck_assert_uint_eq(inet(buf + off, (uint16_t)len),
					  (uint16_t)~want);
		}
	/* All ones and all zeros: the two zeros of one's complement. */
	memset(buf, 0xff, 64);
	ck_assert_uint_eq(vs__csum(buf, 64), ref_sum(buf, 64));
	memset(buf, 0, 64);
	ck_assert_uint_eq(vs__csum(buf, 64), ref_sum(buf, 64));
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
			      "directory");
	/* A library that is not lwIP (libmnl: iproute2 depends on it). */
	ck_assert_int_eq(vs__lwip_load(&l,
				       "/usr/lib/x86_64-linux-gnu/libmnl.so.0",
				       err, sizeof(err)),
			 -ENOSYS);
	ck_assert_str_eq(err, "lwip_init is missing: not vstack's lwIP");
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("stack");

	VSTEST_ADD(s, lwip_instances);
	VSTEST_ADD(s, lwip_missing);
	VSTEST_ADD(s, lwip_csum);
	return s;
}
