// SPDX-License-Identifier: MIT
/*
 * vstack - the launcher, in the manner of `onload PROGRAM`:
 *
 *   vstack run [--device DEV] [--cores N] [--config FILE] [--log LEVEL]
 *              [--] PROGRAM [ARGS...]
 *
 * Checks first what would make the program fall back to the kernel
 * silently — a bad configuration, a missing device, no privilege for raw
 * queues — and says so clearly; then runs PROGRAM with libvstack.so
 * preloaded and the configuration in its environment.
 *
 * Owns nothing once PROGRAM runs (it execs). Must never: start PROGRAM
 * when a check failed.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/config.h"
#include "verbs/port.h"

#ifndef VS_LIBDIR
#define VS_LIBDIR "/usr/local/lib"
#endif

extern char **environ;

static const char usage[] =
	"usage: vstack run [--device DEV] [--cores N] [--config FILE] [--log LEVEL]\n"
	"                  [--] PROGRAM [ARGS...]\n"
	"\n"
	"Runs PROGRAM with its TCP and UDP sockets on vstack (LD_PRELOAD of\n"
	"libvstack.so), after checking the configuration, the device and the\n"
	"privilege raw queues need. Options set VSTACK_DEVICE, VSTACK_CORES,\n"
	"VSTACK_CONFIG and VSTACK_LOG for PROGRAM. DEV: an RDMA device\n"
	"(mlx5_0), its netdev (eth0), or xdp:IFNAME for the AF_XDP backend\n"
	"on any netdev (xdp:IFNAME@FIRST-LAST: those queues only).\n";

/* CAP_NET_RAW in the effective set: raw packet queues need it. */
static bool
has_net_raw(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return geteuid() == 0;
	return d[CAP_NET_RAW / 32].effective & (1u << (CAP_NET_RAW % 32));
}

/* The library: VSTACK_LIB, the build tree's next to this program
 * (build/src/ctl/vstack -> build/libvstack.so), or the installed one. */
static void
library(char *out, size_t len)
{
	const char *env = getenv("VSTACK_LIB");
	char self[2048];
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(out, len, "%s/../../libvstack.so", self);
			if (!access(out, R_OK))
				return;
		}
	}
	snprintf(out, len, "%s/libvstack.so", VS_LIBDIR);
}

static int
run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "cores", required_argument, NULL, 'c' },
		{ "config", required_argument, NULL, 'f' },
		{ "log", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vs_port_opts po;
	struct vs_config cfg;
	struct vs_port *port;
	char err[1024], lib[4200], *pre;
	const char *old;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+hd:c:f:l:", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			setenv("VSTACK_DEVICE", optarg, 1);
			break;
		case 'c':
			setenv("VSTACK_CORES", optarg, 1);
			break;
		case 'f':
			setenv("VSTACK_CONFIG", optarg, 1);
			break;
		case 'l':
			setenv("VSTACK_LOG", optarg, 1);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	vs__config_init(&cfg);
	if (vs__config_load(&cfg, environ, err, sizeof(err))) {
		fprintf(stderr, "vstack: configuration: %s\n", err);
		return 1;
	}
	if (!has_net_raw()) {
		fprintf(stderr,
			"vstack: %s needs CAP_NET_RAW for raw packet queues: "
			"run as root, or `setcap cap_net_raw+ep %s`\n",
			argv[optind], argv[optind]);
		return 1;
	}
	/* The device, opened as the program would (one queue, a small pool):
	 * its messages name what is missing. */
	vs__port_opts_of(&po, &cfg, 1);
	po.nbufs = 1024;
	po.rx_depth = po.tx_depth = 64;
	po.hugepages = false;
	port = vs__port_open(&po, err, sizeof(err));
	if (!port) {
		fprintf(stderr, "vstack: %s\n", err);
		return 1;
	}
	vs__port_close(port);
	vs__config_free(&cfg);
	library(lib, sizeof(lib));
	if (access(lib, R_OK)) {
		fprintf(stderr, "vstack: %s: %s (set VSTACK_LIB)\n", lib,
			strerror(errno));
		return 1;
	}
	old = getenv("LD_PRELOAD");
	if (asprintf(&pre, "%s%s%s", old && *old ? old : "",
		     old && *old ? " " : "", lib) < 0)
		return 1;
	setenv("LD_PRELOAD", pre, 1);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "vstack: cannot run %s: %s\n", argv[optind],
		strerror(errno));
	return 127;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "run")) {
		fprintf(stderr, "vstack: unknown command '%s'\n%s", argv[1],
			usage);
		return 2;
	}
	return run(argc - 1, argv + 1);
}
