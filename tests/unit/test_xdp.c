// SPDX-License-Identifier: MIT
/* The xdp backend's parts that need no netdev: the verifier's reason
 * picked out of what libbpf says when it refuses the program. */
#include <string.h>

#include "verbs/port_impl.h"
#include "vstest.h"

START_TEST(verifier_reason)
{
	char buf[4096] =
		"libbpf: prog 'vstack_xdp': BPF program load failed: Permission denied\n"
		"libbpf: prog 'vstack_xdp': -- BEGIN PROG LOAD LOG --\n"
		"0: R1=ctx() R10=fp0\n"
		"; void *data = (void *)(long)ctx->data; @ xdp_prog.bpf.c:143\n"
		"12: (71) r4 = *(u8 *)(r2 +12)\n"
		"invalid access to packet, off=12 size=1, R2(id=0,off=12,r=0)\n"
		"R2 offset is outside of the packet\n"
		"processed 13 insns (limit 1000000) max_states_per_insn 0\n"
		"-- END PROG LOAD LOG --\n"
		"libbpf: prog 'vstack_xdp': failed to load: -13\n"
		"libbpf: failed to load object 'vstack_xdp'\n";

	ck_assert_str_eq(
		vs__xdp_reason(buf),
		"invalid access to packet, off=12 size=1, "
		"R2(id=0,off=12,r=0); R2 offset is outside of the packet");
}
END_TEST

START_TEST(last_line_without_log)
{
	char buf[512] = "libxdp: Existing program is not using a dispatcher, "
			"can't replace; unload first\n\n";

	ck_assert_str_eq(vs__xdp_reason(buf),
			 "libxdp: Existing program is not using a dispatcher, "
			 "can't replace; unload first");
	buf[0] = '\0';
	ck_assert_str_eq(vs__xdp_reason(buf), "");
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("xdp");

	VSTEST_ADD(s, verifier_reason);
	VSTEST_ADD(s, last_line_without_log);
	return s;
}
