// SPDX-License-Identifier: MIT
/* The Microsoft RSS specification's verification suite ("Verifying the
 * RSS Hash Calculation"): IPv4 and IPv6, with and without ports. */
#include <arpa/inet.h>
#include <stdbool.h>

#include "base/compiler.h"
#include "base/toeplitz.h"
#include "vstest.h"

struct vector {
	const char *dst, *src;
	uint16_t dport, sport;
	uint32_t ip_only, with_ports;
};

static uint32_t
hash(int af, const struct vector *v, bool ports)
{
	uint8_t in[36];
	size_t alen = af == AF_INET ? 4 : 16;
	uint16_t sp = htons(v->sport), dp = htons(v->dport);

	ck_assert_int_eq(inet_pton(af, v->src, in), 1);
	ck_assert_int_eq(inet_pton(af, v->dst, in + alen), 1);
	memcpy(in + 2 * alen, &sp, 2);
	memcpy(in + 2 * alen + 2, &dp, 2);
	return vs__toeplitz(vs__rss_ms_key, sizeof(vs__rss_ms_key), in,
			    2 * alen + (ports ? 4 : 0));
}

START_TEST(ms_ipv4)
{
	static const struct vector v[] = {
		{ "161.142.100.80", "66.9.149.187", 1766, 2794, 0x323e8fc2,
		  0x51ccc178 },
		{ "65.69.140.83", "199.92.111.2", 4739, 14230, 0xd718262a,
		  0xc626b0ea },
		{ "12.22.207.184", "24.19.198.95", 38024, 12898, 0xd2d0a5de,
		  0x5c2b394a },
		{ "209.142.163.6", "38.27.205.30", 2217, 48228, 0x82989176,
		  0xafc7327f },
		{ "202.188.127.2", "153.39.163.191", 1303, 44251, 0x5d1809c5,
		  0x10e828a2 },
	};

	for (size_t i = 0; i < VS_ARRAY_SIZE(v); i++) {
		ck_assert_uint_eq(hash(AF_INET, &v[i], false), v[i].ip_only);
		ck_assert_uint_eq(hash(AF_INET, &v[i], true), v[i].with_ports);
	}
}
END_TEST

START_TEST(ms_ipv6)
{
	static const struct vector v[] = {
		{ "3ffe:2501:200:3::1", "3ffe:2501:200:1fff::7", 1766, 2794,
		  0x2cc18cd5, 0x40207d3d },
		{ "ff02::1", "3ffe:501:8::260:97ff:fe40:efab", 4739, 14230,
		  0x0f0c461c, 0xdde51bbf },
		{ "fe80::200:f8ff:fe21:67cf",
		  "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 38024, 44251,
		  0x4b61e985, 0x02d1feef },
	};

	for (size_t i = 0; i < VS_ARRAY_SIZE(v); i++) {
		ck_assert_uint_eq(hash(AF_INET6, &v[i], false), v[i].ip_only);
		ck_assert_uint_eq(hash(AF_INET6, &v[i], true), v[i].with_ports);
	}
}
END_TEST

START_TEST(short_key)
{
	uint8_t in[4] = { 1, 2, 3, 4 };

	ck_assert_uint_eq(vs__toeplitz(vs__rss_ms_key, 3, in, 4), 0);
	ck_assert_uint_eq(vs__toeplitz(vs__rss_ms_key, 40, in, 0), 0);
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("toeplitz");

	VSTEST_ADD(s, ms_ipv4);
	VSTEST_ADD(s, ms_ipv6);
	VSTEST_ADD(s, short_key);
	return s;
}
