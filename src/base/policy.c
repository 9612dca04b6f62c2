// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "base/policy.h"

#define MAX_TOKENS 5

static const struct {
	const char *name;
	uint8_t mask;
} role_names[] = {
	{ "tcp_server", VS_ROLE_TCP_SERVER },
	{ "tcp_client", VS_ROLE_TCP_CLIENT },
	{ "tcp", VS_ROLE_TCP_SERVER | VS_ROLE_TCP_CLIENT },
	{ "udp", VS_ROLE_UDP },
	{ "*", VS_ROLE_ANY },
};

static int VS_PRINTF(3, 4) fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int
parse_action(const char *tok, struct vs_policy_rule *r, char *err,
	     size_t errlen)
{
	if (strcmp(tok, "offload") == 0)
		r->action = VS_POLICY_OFFLOAD;
	else if (strcmp(tok, "kernel") == 0)
		r->action = VS_POLICY_KERNEL;
	else
		return fail(err, errlen,
			    "unknown action '%s' (accepted: offload, kernel)",
			    tok);
	return 0;
}

static int
parse_role(const char *tok, struct vs_policy_rule *r, char *err, size_t errlen)
{
	for (size_t i = 0; i < VS_ARRAY_SIZE(role_names); i++) {
		if (strcmp(tok, role_names[i].name) == 0) {
			r->roles = role_names[i].mask;
			return 0;
		}
	}
	return fail(err, errlen,
		    "unknown role '%s' (accepted: tcp_server, tcp_client, "
		    "tcp, udp, *)",
		    tok);
}

/* True when addr has a bit set past the first prefix bits. */
static bool
host_bits_set(const uint8_t *addr, unsigned len, unsigned prefix)
{
	for (unsigned bit = prefix; bit < len * 8; bit++)
		if (addr[bit / 8] & (0x80 >> (bit % 8)))
			return true;
	return false;
}

static int
parse_prefix(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int
vs__policy_net_parse(const char *tok, uint8_t *family, uint8_t addr[16],
		     unsigned *prefix, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	unsigned len;

	if (strlen(tok) >= sizeof(buf))
		return fail(err, errlen, "address '%s' is too long", tok);
	strcpy(buf, tok);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		len = 4;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		len = 16;
	} else {
		return fail(err, errlen,
			    "bad address '%s' (accepted: an IPv4 or IPv6 "
			    "address, optionally /prefix-length)",
			    tok);
	}
	*prefix = len * 8;
	if (slash && parse_prefix(slash, len * 8, prefix) < 0)
		return fail(err, errlen,
			    "bad prefix length in '%s' (0..32 for IPv4, 0..128 "
			    "for IPv6)",
			    tok);
	if (host_bits_set(addr, len, *prefix))
		return fail(err, errlen,
			    "'%s' has bits set past its prefix length", tok);
	return 0;
}

static int
parse_addr(const char *tok, struct vs_policy_rule *r, char *err, size_t errlen)
{
	unsigned prefix;

	if (strcmp(tok, "*") == 0)
		return 0;
	if (vs__policy_net_parse(tok, &r->family, r->addr, &prefix, err,
				 errlen) < 0) {
		if (!strncmp(err, "bad address", 11))
			fail(err, errlen,
			     "bad address '%s' (accepted: *, an IPv4 or IPv6 "
			     "address, optionally /prefix-length)",
			     tok);
		return -EINVAL;
	}
	r->prefix = (uint8_t)prefix;
	return 0;
}

static int
parse_port(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static int
parse_ports(const char *tok, struct vs_policy_rule *r, char *err, size_t errlen)
{
	char buf[16];
	char *dash;

	r->port_lo = 0;
	r->port_hi = 65535;
	if (strcmp(tok, "*") == 0)
		return 0;
	if (strlen(tok) >= sizeof(buf))
		goto bad;
	strcpy(buf, tok);
	dash = strchr(buf, '-');
	if (dash)
		*dash++ = '\0';
	if (parse_port(buf, &r->port_lo) < 0)
		goto bad;
	r->port_hi = r->port_lo;
	if (dash && parse_port(dash, &r->port_hi) < 0)
		goto bad;
	if (r->port_hi < r->port_lo)
		return fail(err, errlen,
			    "port range '%s' ends before it starts", tok);
	return 0;
bad:
	return fail(err, errlen,
		    "bad ports '%s' (accepted: *, a port 1..65535, or a range "
		    "LOW-HIGH)",
		    tok);
}

int
vs__policy_rule_parse(const char *text, struct vs_policy_rule *rule, char *err,
		      size_t errlen)
{
	char buf[256], *tok[MAX_TOKENS], *save = NULL;
	int n = 0, rc;

	if (strlen(text) >= sizeof(buf))
		return fail(err, errlen, "rule is longer than %zu characters",
			    sizeof(buf) - 1);
	strcpy(buf, text);
	for (char *t = strtok_r(buf, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_TOKENS)
			break;
		tok[n++] = t;
	}
	if (n != 4)
		return fail(err, errlen,
			    "expected 4 fields 'ACTION ROLE ADDRESS PORTS', "
			    "e.g. 'kernel tcp_server * 22'");
	memset(rule, 0, sizeof(*rule));
	rc = parse_action(tok[0], rule, err, errlen);
	if (!rc)
		rc = parse_role(tok[1], rule, err, errlen);
	if (!rc)
		rc = parse_addr(tok[2], rule, err, errlen);
	if (!rc)
		rc = parse_ports(tok[3], rule, err, errlen);
	return rc;
}

void
vs__policy_rule_format(const struct vs_policy_rule *r, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN + 4] = "*", ports[16] = "*";
	const char *role = "*";

	for (size_t i = 0; i < VS_ARRAY_SIZE(role_names); i++)
		if (role_names[i].mask == r->roles) {
			role = role_names[i].name;
			break;
		}
	if (r->family) {
		unsigned full = r->family == AF_INET ? 32 : 128;

		inet_ntop(r->family, r->addr, addr, sizeof(addr));
		if (r->prefix != full)
			snprintf(addr + strlen(addr),
				 sizeof(addr) - strlen(addr), "/%u", r->prefix);
	}
	if (r->port_lo == r->port_hi)
		snprintf(ports, sizeof(ports), "%u", r->port_lo);
	else if (r->port_lo != 0 || r->port_hi != 65535)
		snprintf(ports, sizeof(ports), "%u-%u", r->port_lo, r->port_hi);
	snprintf(buf, len, "%s %s %s %s",
		 r->action == VS_POLICY_KERNEL ? "kernel" : "offload", role,
		 addr, ports);
}

int
vs__policy_append(struct vs_policy *p, const struct vs_policy_rule *rule)
{
	struct vs_policy_rule *n;

	n = realloc(p->rules, (p->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	n[p->n++] = *rule;
	p->rules = n;
	return 0;
}

void
vs__policy_clear(struct vs_policy *p)
{
	free(p->rules);
	p->rules = NULL;
	p->n = 0;
}

/*
 * Extracts family, address bytes and port; an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, what a dual-stack socket sees) counts as IPv4.
 */
static int
sockaddr_key(const struct sockaddr *sa, const uint8_t **addr, uint16_t *port)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		*addr = (const uint8_t *)&in->sin_addr;
		*port = ntohs(in->sin_port);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		*addr = in6->sin6_addr.s6_addr;
		*port = ntohs(in6->sin6_port);
		if (memcmp(*addr, mapped, sizeof(mapped)) == 0) {
			*addr += sizeof(mapped);
			return AF_INET;
		}
		return AF_INET6;
	}
	return -1;
}

static bool
prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned bytes = prefix / 8, rest = prefix % 8;
	uint8_t mask = (uint8_t)(0xff00 >> rest);

	if (memcmp(a, b, bytes) != 0)
		return false;
	return !rest || ((a[bytes] ^ b[bytes]) & mask) == 0;
}

static bool
rule_matches(const struct vs_policy_rule *r, enum vs_role role, int family,
	     const uint8_t *addr, uint16_t port)
{
	if (!(r->roles & role))
		return false;
	if (port < r->port_lo || port > r->port_hi)
		return false;
	if (!r->family)
		return true;
	return family == r->family && prefix_match(r->addr, addr, r->prefix);
}

enum vs_policy_action
vs__policy_decide(const struct vs_policy *p, enum vs_role role,
		  const struct sockaddr *sa, int *matched)
{
	const uint8_t *addr = NULL;
	uint16_t port = 0;
	int family = sockaddr_key(sa, &addr, &port);

	for (size_t i = 0; family > 0 && i < p->n; i++) {
		if (rule_matches(&p->rules[i], role, family, addr, port)) {
			if (matched)
				*matched = (int)i;
			return p->rules[i].action;
		}
	}
	if (matched)
		*matched = -1;
	/* Families vstack does not carry never offload. */
	return family > 0 ? VS_POLICY_OFFLOAD : VS_POLICY_KERNEL;
}
