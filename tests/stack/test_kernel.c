// SPDX-License-Identifier: MIT
/*
 * stack.kernel_tables: the netdev's addresses, routes and neighbours as
 * the kernel has them, changes followed without restarting, and missing
 * neighbours resolved by the kernel. Run by test_kernel.sh in namespace
 * a (netdev to_b, 10.77.1.1/24, fd77:1::1/64), the peer in b.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "stack/kernel.h"
#include "vstest.h"

static struct sockaddr_storage ss;

static const struct sockaddr *
sa(const char *addr)
{
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr)) {
		ss.ss_family = AF_INET;
	} else {
		ck_assert_int_eq(
			inet_pton(AF_INET6, addr,
				  &((struct sockaddr_in6 *)&ss)->sin6_addr),
			1);
		ss.ss_family = AF_INET6;
	}
	return (const struct sockaddr *)&ss;
}

static struct vs_kernel *
open_k(void)
{
	char err[256];
	struct vs_kernel *k =
		vs__kernel_open(getenv("VS_TEST_IF"), err, sizeof(err));

	ck_assert_msg(k != NULL, "%s", err);
	return k;
}

static void
sh(const char *cmd)
{
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

/* next_hop until it returns want (following notifications), 3 s. */
static int
await_hop(struct vs_kernel *k, const char *dst, int want, uint8_t mac[6])
{
	struct pollfd p = { .fd = vs__kernel_fd(k), .events = POLLIN };
	int rc = vs__kernel_next_hop(k, sa(dst), mac, NULL);

	for (int i = 0; i < 30 && rc != want; i++) {
		poll(&p, 1, 100);
		vs__kernel_update(k);
		rc = vs__kernel_next_hop(k, sa(dst), mac, NULL);
	}
	return rc;
}

static void
assert_mac(const uint8_t *mac, const char *want)
{
	char got[18];

	snprintf(got, sizeof(got), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
	ck_assert_str_eq(got, want);
}

START_TEST(addresses)
{
	struct vs_kernel *k = open_k();

	ck_assert(vs__kernel_is_local(k, sa("10.77.1.1")));
	ck_assert(vs__kernel_is_local(k, sa("fd77:1::1")));
	ck_assert(!vs__kernel_is_local(k, sa("10.77.1.2")));
	/* An address added later is followed. */
	sh("ip addr add 10.77.1.50/24 dev to_b");
	for (int i = 0; i < 30 && !vs__kernel_is_local(k, sa("10.77.1.50"));
	     i++) {
		usleep(100000);
		vs__kernel_update(k);
	}
	ck_assert(vs__kernel_is_local(k, sa("10.77.1.50")));
	sh("ip addr del 10.77.1.50/24 dev to_b");
	vs__kernel_close(k);
}
END_TEST

START_TEST(neighbour_changes)
{
	struct vs_kernel *k = open_k();
	uint8_t mac[6];

	sh("ip neigh replace 10.77.1.9 lladdr 02:00:00:00:00:09 dev to_b "
	   "nud permanent");
	ck_assert_int_eq(await_hop(k, "10.77.1.9", 0, mac), 0);
	assert_mac(mac, "02:00:00:00:00:09");
	sh("ip neigh replace 10.77.1.9 lladdr 02:00:00:00:00:10 dev to_b "
	   "nud permanent");
	for (int i = 0; i < 30; i++) {
		usleep(100000);
		vs__kernel_update(k);
		vs__kernel_next_hop(k, sa("10.77.1.9"), mac, NULL);
		if (mac[5] == 0x10)
			break;
	}
	assert_mac(mac, "02:00:00:00:00:10");
	sh("ip neigh del 10.77.1.9 dev to_b");
	ck_assert_int_eq(await_hop(k, "10.77.1.9", -EAGAIN, mac), -EAGAIN);
	vs__kernel_close(k);
}
END_TEST

START_TEST(route_and_resolution)
{
	struct vs_kernel *k = open_k();
	struct sockaddr_storage hop;
	char buf[64];
	uint8_t mac[6];

	sh("ip neigh flush dev to_b");
	sh("ip route add 192.0.2.0/24 via 10.77.1.2 dev to_b");
	/* Through the gateway, whose MAC nobody knows yet: the kernel is
	 * asked, and its answer arrives as a notification. */
	ck_assert_int_eq(await_hop(k, "192.0.2.7", 0, mac), 0);
	assert_mac(mac, getenv("VS_TEST_PEER_MAC"));
	ck_assert_int_eq(vs__kernel_next_hop(k, sa("192.0.2.7"), mac, &hop), 0);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&hop)->sin_addr, buf,
		  sizeof(buf));
	ck_assert_str_eq(buf, "10.77.1.2");
	sh("ip route del 192.0.2.0/24");
	ck_assert_int_eq(await_hop(k, "192.0.2.7", -ENETUNREACH, mac),
			 -ENETUNREACH);
	/* IPv6, directly connected. */
	sh("ip -6 neigh flush dev to_b");
	ck_assert_int_eq(await_hop(k, "fd77:1::2", 0, mac), 0);
	assert_mac(mac, getenv("VS_TEST_PEER_MAC"));
	/* No route at all. */
	ck_assert_int_eq(vs__kernel_next_hop(k, sa("198.51.100.1"), mac, NULL),
			 -ENETUNREACH);
	vs__kernel_close(k);
}
END_TEST

START_TEST(no_such_netdev)
{
	char err[256];

	ck_assert_ptr_null(vs__kernel_open("nosuch0", err, sizeof(err)));
	ck_assert_str_eq(err, "nosuch0: no such netdev");
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("kernel");

	VSTEST_ADD(s, addresses);
	VSTEST_ADD(s, neighbour_changes);
	VSTEST_ADD(s, route_and_resolution);
	VSTEST_ADD(s, no_such_netdev);
	return s;
}
