/* SPDX-License-Identifier: MIT */
/* Capabilities for tests that check what happens without privilege. */
#ifndef VS_TEST_CAPS_H
#define VS_TEST_CAPS_H

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Drops CAP_NET_RAW from this process's effective set. */
static inline int
drop_net_raw(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_NET_RAW / 32].effective &= ~(1u << (CAP_NET_RAW % 32));
	return (int)syscall(SYS_capset, &h, d);
}

#endif
