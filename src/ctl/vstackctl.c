// SPDX-License-Identifier: MIT
/*
 * vstackctl - inspect vstack's configuration (and, as the control plane
 * grows, running vstack processes).
 *
 * Commands are rows of one table: name, usage, summary and handler. Each
 * handler parses its own options with getopt and prints --help from the
 * same row, so the help text cannot drift from the table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"

extern char **environ;

struct command {
	const char *name;
	const char *usage;
	const char *summary;
	int (*run)(const struct command *cmd, int argc, char **argv);
};

static void
cmd_help(const struct command *cmd, FILE *out)
{
	fprintf(out, "usage: vstackctl %s %s\n\n%s\n", cmd->name, cmd->usage,
		cmd->summary);
}

/* Handles -h/--help and -f FILE; returns the index of the first operand. */
static int
parse_common(const struct command *cmd, int argc, char **argv,
	     const char **file)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+hf:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cmd_help(cmd, stdout);
			exit(0);
		case 'f':
			*file = optarg;
			break;
		default:
			cmd_help(cmd, stderr);
			exit(2);
		}
	}
	return optind;
}

/* The environment's configuration, or FILE's in place of VSTACK_CONFIG. */
static int
load(const char *file, struct vs_config *cfg)
{
	char err[1024];
	int rc;

	if (file)
		setenv("VSTACK_CONFIG", file, 1);
	vs__config_init(cfg);
	rc = vs__config_load(cfg, environ, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "vstackctl: %s\n", err);
	return rc;
}

static int
run_config(const struct command *cmd, int argc, char **argv)
{
	const char *file = NULL;
	struct vs_config cfg;

	if (parse_common(cmd, argc, argv, &file) != argc) {
		cmd_help(cmd, stderr);
		return 2;
	}
	if (load(file, &cfg) < 0)
		return 1;
	vs__config_dump(&cfg, stdout);
	vs__config_free(&cfg);
	return 0;
}

static int
parse_role(const char *s, enum vs_role *role)
{
	if (strcmp(s, "tcp_server") == 0)
		*role = VS_ROLE_TCP_SERVER;
	else if (strcmp(s, "tcp_client") == 0)
		*role = VS_ROLE_TCP_CLIENT;
	else if (strcmp(s, "udp") == 0)
		*role = VS_ROLE_UDP;
	else
		return -EINVAL;
	return 0;
}

static int
parse_sockaddr(const char *addr, const char *port,
	       struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char *end;
	unsigned long p = strtoul(port, &end, 10);

	if (!*port || *end || p > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int
run_policy(const struct command *cmd, int argc, char **argv)
{
	const char *file = NULL;
	struct sockaddr_storage ss;
	struct vs_config cfg;
	enum vs_role role;
	char rule[128];
	int i = parse_common(cmd, argc, argv, &file), matched;

	if (argc - i != 3) {
		cmd_help(cmd, stderr);
		return 2;
	}
	if (parse_role(argv[i], &role) < 0) {
		fprintf(stderr, "vstackctl: bad role '%s' (accepted: "
				"tcp_server, tcp_client, udp)\n", argv[i]);
		return 2;
	}
	if (parse_sockaddr(argv[i + 1], argv[i + 2], &ss) < 0) {
		fprintf(stderr, "vstackctl: bad address or port '%s' '%s'\n",
			argv[i + 1], argv[i + 2]);
		return 2;
	}
	if (load(file, &cfg) < 0)
		return 1;
	if (vs__policy_decide(&cfg.policy, role, (struct sockaddr *)&ss,
			      &matched) == VS_POLICY_KERNEL)
		printf("kernel");
	else
		printf("offload");
	if (matched >= 0) {
		vs__policy_rule_format(&cfg.policy.rules[matched], rule,
				       sizeof(rule));
		printf(" (rule %d: %s)\n", matched + 1, rule);
	} else {
		printf(" (no rule matched: default)\n");
	}
	vs__config_free(&cfg);
	return 0;
}

static const struct command commands[] = {
	{ "config", "[-f FILE]",
	  "Print the effective configuration (defaults, then FILE or\n"
	  "$VSTACK_CONFIG or /etc/vstack.conf, then VSTACK_* variables)\n"
	  "and where each value came from. Exits 1 with the precise error\n"
	  "if the configuration is invalid.",
	  run_config },
	{ "policy", "[-f FILE] tcp_server|tcp_client|udp ADDRESS PORT",
	  "Say whether a socket in this role at ADDRESS:PORT (local for\n"
	  "tcp_server and udp, remote for tcp_client) would be offloaded or\n"
	  "left to the kernel, and which rule decided.",
	  run_policy },
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: vstackctl COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < VS_ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].usage);
	fprintf(out, "\n'vstackctl COMMAND --help' describes a command.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < VS_ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(&commands[i], argc - 1, argv + 1);
	fprintf(stderr, "vstackctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
