/* SPDX-License-Identifier: MIT */
/*
 * policy - which sockets vstack offloads and which stay on the kernel.
 *
 * Owns: the parsed rule list and the matching of one socket against it.
 * A rule is four tokens, "ACTION ROLE ADDRESS PORTS":
 *
 *   ACTION   offload | kernel
 *   ROLE     tcp_server | tcp_client | tcp | udp | *
 *   ADDRESS  * | IPv4[/len] | IPv6[/len]
 *   PORTS    * | PORT | LOW-HIGH
 *
 * The address and port are the local ones for tcp_server and udp (what
 * the socket binds to) and the remote ones for tcp_client (what it
 * connects to). The first matching rule wins; no match means offload
 * (the socket layer still keeps anything not on the NIC with the kernel).
 *
 * Must never: allocate while matching (it runs on every socket call that
 * decides offload), or know anything about sockets beyond a sockaddr.
 */
#ifndef VS_BASE_POLICY_H
#define VS_BASE_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum vs_role {
	VS_ROLE_TCP_SERVER = 1 << 0,
	VS_ROLE_TCP_CLIENT = 1 << 1,
	VS_ROLE_UDP = 1 << 2,
	VS_ROLE_ANY = 7,
};

enum vs_policy_action {
	VS_POLICY_OFFLOAD = 0,
	VS_POLICY_KERNEL = 1,
};

struct vs_policy_rule {
	uint8_t action; /* enum vs_policy_action */
	uint8_t roles; /* mask of enum vs_role */
	uint8_t family; /* 0: any address; AF_INET or AF_INET6 */
	uint8_t prefix; /* significant bits of addr */
	uint8_t addr[16]; /* network order; 4 bytes used for AF_INET */
	uint16_t port_lo; /* host order, inclusive; 0..65535 for '*' */
	uint16_t port_hi;
};

struct vs_policy {
	struct vs_policy_rule *rules;
	size_t n;
};

/*
 * "ADDRESS[/PREFIX-LENGTH]", as every kind of rule spells an address (the
 * offload policy's and vstackctl flow's): an IPv4 or IPv6 address, no
 * bits set past the prefix. addr gets 4 or 16 bytes (the rest zero). On
 * error returns -EINVAL and writes why into err.
 */
int vs__policy_net_parse(const char *text, uint8_t *family, uint8_t addr[16],
			 unsigned *prefix, char *err, size_t errlen);
/* Parses one rule. On error returns -EINVAL and writes why into err. */
int vs__policy_rule_parse(const char *text, struct vs_policy_rule *rule,
			  char *err, size_t errlen);
/* Writes the rule back in its canonical text form. */
void vs__policy_rule_format(const struct vs_policy_rule *rule, char *buf,
			    size_t len);
int vs__policy_append(struct vs_policy *p, const struct vs_policy_rule *rule);
void vs__policy_clear(struct vs_policy *p);

/*
 * The decision for a socket of this role at this address (local or remote,
 * see above). *matched gets the index of the deciding rule, or -1 when no
 * rule matched and the default applied. matched may be NULL.
 */
enum vs_policy_action vs__policy_decide(const struct vs_policy *p,
					enum vs_role role,
					const struct sockaddr *sa,
					int *matched);

#endif
