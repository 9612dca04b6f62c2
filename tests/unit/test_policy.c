// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "base/compiler.h"
#include "base/policy.h"
#include "vstest.h"

static struct sockaddr_storage ss;

static const struct sockaddr *
sa(const char *addr, unsigned port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
	}
	return (const struct sockaddr *)&ss;
}

static void
load(struct vs_policy *p, const char *const *rules, size_t n)
{
	struct vs_policy_rule r;
	char err[256];

	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(vs__policy_rule_parse(rules[i], &r, err,
						    sizeof(err)) == 0,
			      "%s: %s", rules[i], err);
		ck_assert_int_eq(vs__policy_append(p, &r), 0);
	}
}

START_TEST(parse_roundtrip)
{
	static const char *const rules[] = {
		"kernel tcp_server * 22",  "offload udp 10.0.0.0/8 5000-5100",
		"kernel tcp_client ::1 *", "offload tcp fd00::/16 80",
		"kernel * 192.168.1.7 *",
	};
	struct vs_policy_rule r;
	char err[256], out[128];

	for (size_t i = 0; i < VS_ARRAY_SIZE(rules); i++) {
		ck_assert_int_eq(
			vs__policy_rule_parse(rules[i], &r, err, sizeof(err)),
			0);
		vs__policy_rule_format(&r, out, sizeof(out));
		ck_assert_str_eq(out, rules[i]);
	}
	/* Extra blanks and tabs are accepted and normalised. */
	ck_assert_int_eq(vs__policy_rule_parse("  kernel\tudp  *   53 ", &r,
					       err, sizeof(err)),
			 0);
	vs__policy_rule_format(&r, out, sizeof(out));
	ck_assert_str_eq(out, "kernel udp * 53");
}
END_TEST

START_TEST(parse_errors)
{
	static const struct {
		const char *rule, *msg;
	} cases[] = {
		{ "allow tcp * 80",
		  "unknown action 'allow' (accepted: offload, kernel)" },
		{ "kernel sctp * 80",
		  "unknown role 'sctp' (accepted: tcp_server, tcp_client, "
		  "tcp, udp, *)" },
		{ "kernel tcp 10.0.0.300 80",
		  "bad address '10.0.0.300' (accepted: *, an IPv4 or IPv6 "
		  "address, optionally /prefix-length)" },
		{ "kernel tcp 10.0.0.0/33 80",
		  "bad prefix length in '10.0.0.0/33' (0..32 for IPv4, 0..128 "
		  "for IPv6)" },
		{ "kernel tcp 10.0.0.0/ 80",
		  "bad prefix length in '10.0.0.0/' (0..32 for IPv4, 0..128 "
		  "for IPv6)" },
		{ "kernel tcp 10.0.0.1/8 80",
		  "'10.0.0.1/8' has bits set past its prefix length" },
		{ "kernel tcp * 0",
		  "bad ports '0' (accepted: *, a port 1..65535, or a range "
		  "LOW-HIGH)" },
		{ "kernel tcp * 70000",
		  "bad ports '70000' (accepted: *, a port 1..65535, or a range "
		  "LOW-HIGH)" },
		{ "kernel tcp * 90-80",
		  "port range '90-80' ends before it starts" },
		{ "kernel tcp *",
		  "expected 4 fields 'ACTION ROLE ADDRESS PORTS', e.g. "
		  "'kernel tcp_server * 22'" },
		{ "kernel tcp * 80 extra",
		  "expected 4 fields 'ACTION ROLE ADDRESS PORTS', e.g. "
		  "'kernel tcp_server * 22'" },
	};
	struct vs_policy_rule r;
	char err[256];

	for (size_t i = 0; i < VS_ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		ck_assert_int_eq(vs__policy_rule_parse(cases[i].rule, &r, err,
						       sizeof(err)),
				 -EINVAL);
		ck_assert_str_eq(err, cases[i].msg);
	}
}
END_TEST

START_TEST(first_match_wins)
{
	static const char *const rules[] = {
		"kernel tcp_server * 22",
		"offload tcp_server * 1-1024",
		"kernel tcp_server * *",
	};
	struct vs_policy p = { 0 };
	int m;

	load(&p, rules, VS_ARRAY_SIZE(rules));
	ck_assert_int_eq(vs__policy_decide(&p, VS_ROLE_TCP_SERVER,
					   sa("10.1.1.1", 22), &m),
			 VS_POLICY_KERNEL);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(vs__policy_decide(&p, VS_ROLE_TCP_SERVER,
					   sa("10.1.1.1", 80), &m),
			 VS_POLICY_OFFLOAD);
	ck_assert_int_eq(m, 1);
	ck_assert_int_eq(vs__policy_decide(&p, VS_ROLE_TCP_SERVER,
					   sa("10.1.1.1", 8080), &m),
			 VS_POLICY_KERNEL);
	ck_assert_int_eq(m, 2);
	vs__policy_clear(&p);
	ck_assert_ptr_null(p.rules);
}
END_TEST

START_TEST(roles)
{
	static const char *const rules[] = {
		"kernel tcp * 80",
		"kernel udp 10.0.0.0/24 *",
	};
	struct vs_policy p = { 0 };
	int m;

	load(&p, rules, VS_ARRAY_SIZE(rules));
	ck_assert_int_eq(vs__policy_decide(&p, VS_ROLE_TCP_SERVER,
					   sa("1.2.3.4", 80), NULL),
			 VS_POLICY_KERNEL);
	ck_assert_int_eq(vs__policy_decide(&p, VS_ROLE_TCP_CLIENT,
					   sa("1.2.3.4", 80), NULL),
			 VS_POLICY_KERNEL);
	ck_assert_int_eq(
		vs__policy_decide(&p, VS_ROLE_UDP, sa("1.2.3.4", 80), &m),
		VS_POLICY_OFFLOAD);
	ck_assert_int_eq(m, -1);
	ck_assert_int_eq(
		vs__policy_decide(&p, VS_ROLE_UDP, sa("10.0.0.200", 9), &m),
		VS_POLICY_KERNEL);
	ck_assert_int_eq(m, 1);
	ck_assert_int_eq(
		vs__policy_decide(&p, VS_ROLE_UDP, sa("10.0.1.1", 9), NULL),
		VS_POLICY_OFFLOAD);
	vs__policy_clear(&p);
}
END_TEST

START_TEST(ipv6_prefix)
{
	static const char *const rules[] = { "kernel * fd00:1:2::/47 *" };
	struct vs_policy p = { 0 };

	load(&p, rules, 1);
	ck_assert_int_eq(
		vs__policy_decide(&p, VS_ROLE_UDP, sa("fd00:1:3::9", 1), NULL),
		VS_POLICY_KERNEL);
	ck_assert_int_eq(
		vs__policy_decide(&p, VS_ROLE_UDP, sa("fd00:1:4::9", 1), NULL),
		VS_POLICY_OFFLOAD);
	/* An IPv4 socket never matches an IPv6 rule. */
	ck_assert_int_eq(
		vs__policy_decide(&p, VS_ROLE_UDP, sa("10.0.0.1", 1), NULL),
		VS_POLICY_OFFLOAD);
	vs__policy_clear(&p);
}
END_TEST

START_TEST(v4_mapped)
{
	static const char *const rules[] = {
		"kernel tcp_client 10.9.0.0/16 *"
	};
	struct vs_policy p = { 0 };

	load(&p, rules, 1);
	ck_assert_int_eq(vs__policy_decide(&p, VS_ROLE_TCP_CLIENT,
					   sa("::ffff:10.9.8.7", 443), NULL),
			 VS_POLICY_KERNEL);
	ck_assert_int_eq(vs__policy_decide(&p, VS_ROLE_TCP_CLIENT,
					   sa("::ffff:10.8.8.7", 443), NULL),
			 VS_POLICY_OFFLOAD);
	vs__policy_clear(&p);
}
END_TEST

START_TEST(default_and_families)
{
	struct vs_policy p = { 0 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int m = 7;

	ck_assert_int_eq(vs__policy_decide(&p, VS_ROLE_TCP_SERVER,
					   sa("10.0.0.1", 80), &m),
			 VS_POLICY_OFFLOAD);
	ck_assert_int_eq(m, -1);
	ck_assert_int_eq(vs__policy_decide(&p, VS_ROLE_TCP_SERVER,
					   (struct sockaddr *)&un, &m),
			 VS_POLICY_KERNEL);
	ck_assert_int_eq(m, -1);
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("policy");

	VSTEST_ADD(s, parse_roundtrip);
	VSTEST_ADD(s, parse_errors);
	VSTEST_ADD(s, first_match_wins);
	VSTEST_ADD(s, roles);
	VSTEST_ADD(s, ipv6_prefix);
	VSTEST_ADD(s, v4_mapped);
	VSTEST_ADD(s, default_and_families);
	return s;
}
