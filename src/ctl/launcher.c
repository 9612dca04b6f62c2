// SPDX-License-Identifier: MIT
/*
 * vstack - the launcher, in the manner of `onload PROGRAM`:
 *
 *   vstack run [--device DEV] [--cores N] [--config FILE] [--log LEVEL]
 *              [--user USER[:GROUP]] [--emu] [--] PROGRAM [ARGS...]
 *
 * Checks first what would make the program fall back to the kernel
 * silently — a bad configuration, a missing device, no privilege for raw
 * queues, a program the loader runs in secure execution (setuid, setgid
 * or file capabilities: LD_PRELOAD ignored) — and says so clearly; then
 * runs PROGRAM with libvstack.so preloaded and the configuration in its
 * environment. With --user (as root) it becomes USER first, keeping only
 * CAP_NET_RAW as an ambient capability, which PROGRAM inherits without
 * secure execution; the checks run as USER (not on AF_XDP: joining and
 * cleaning up the netdev's XDP program needs CAP_SYS_ADMIN).
 *
 * Owns nothing once PROGRAM runs (it execs). Must never: start PROGRAM
 * when a check failed.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/compiler.h"
#include "base/config.h"
#include "verbs/port.h"

#ifndef VS_LIBDIR
#define VS_LIBDIR "/usr/local/lib"
#endif

extern char **environ;

static const char usage[] =
	"usage: vstack run [--device DEV] [--cores N] [--config FILE] [--log LEVEL]\n"
	"                  [--user USER[:GROUP]] [--emu] [--] PROGRAM [ARGS...]\n"
	"\n"
	"Runs PROGRAM with its TCP and UDP sockets on vstack (LD_PRELOAD of\n"
	"libvstack.so), after checking the configuration, the device and the\n"
	"privilege raw queues need. Options set VSTACK_DEVICE, VSTACK_CORES,\n"
	"VSTACK_CONFIG and VSTACK_LOG for PROGRAM. DEV: an RDMA device\n"
	"(mlx5_0), its netdev (eth0), or xdp:IFNAME for the AF_XDP backend\n"
	"on any netdev (xdp:IFNAME@FIRST-LAST: those queues only).\n"
	"--user (as root): run PROGRAM as USER (and GROUP, else USER's),\n"
	"keeping only CAP_NET_RAW, as an ambient capability (not with an\n"
	"AF_XDP device).\n"
	"--emu: the device is an emulated ConnectX (vsemu, package vstack-emu):\n"
	"libvsemu.so is preloaded, for these checks and for PROGRAM.\n"
	"A setuid, setgid or setcap PROGRAM is refused: the loader would\n"
	"ignore LD_PRELOAD and it would run on the kernel.\n";

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

/* A library to preload: env's value if set, else the build tree's
 * (rel from this program's directory, build/src/ctl/), else the
 * installed one. */
static void
library(char *out, size_t len, const char *env, const char *rel,
	const char *installed)
{
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
			snprintf(out, len, "%s/%s", self, rel);
			if (!access(out, R_OK))
				return;
		}
	}
	snprintf(out, len, "%s/%s", VS_LIBDIR, installed);
}

/* Whether LD_PRELOAD (space or colon separated) has a library of this
 * file name (in any directory). */
static bool
preloaded(const char *name)
{
	const char *p = getenv("LD_PRELOAD");
	size_t n = strlen(name);

	while (p && *p) {
		size_t len = strcspn(p, " :");

		if (len >= n && !memcmp(p + len - n, name, n) &&
		    (len == n || p[len - n - 1] == '/'))
			return true;
		p += len;
		p += strspn(p, " :");
	}
	return false;
}

/* LD_PRELOAD with lib added last (after a sanitizer's runtime, which
 * must come first; every preload comes before libibverbs). */
static int
preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *pre;
	int rc;

	if (!old || !*old)
		return setenv("LD_PRELOAD", lib, 1);
	if (asprintf(&pre, "%s %s", old, lib) < 0)
		return -1;
	rc = setenv("LD_PRELOAD", pre, 1);
	free(pre);
	return rc;
}

/* The file execvp would run for name (PATH searched), in out. */
static bool
resolve(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return !access(out, X_OK);
	}
	for (const char *p = path && *path ? path : "/usr/bin:/bin"; p;) {
		const char *colon = strchr(p, ':');
		int n = colon ? (int)(colon - p) : (int)strlen(p);

		snprintf(out, len, "%.*s/%s", n ? n : 1, n ? p : ".", name);
		if (!access(out, X_OK))
			return true;
		p = colon ? colon + 1 : NULL;
	}
	return false;
}

/* Why the loader would run file in secure execution, or NULL. */
static const char *
secure_exec_reason(const char *file)
{
	struct stat st;

	if (stat(file, &st))
		return NULL;
	if ((st.st_mode & S_ISUID) && st.st_uid != geteuid())
		return "is setuid";
	if ((st.st_mode & S_ISGID) && st.st_gid != getegid())
		return "is setgid";
	if (getxattr(file, "security.capability", NULL, 0) > 0)
		return "has file capabilities (setcap)";
	return NULL;
}

/* Becomes spec's user (USER[:GROUP]) keeping only the capabilities
 * vstack needs, raised as ambient ones so that the program gets them. */
static int
become(const char *spec)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 }, { 0 } };
	char user[256], *colon;
	struct passwd *pw;
	gid_t gid;
	int caps[1], n = 0;

	snprintf(user, sizeof(user), "%s", spec);
	colon = strchr(user, ':');
	if (colon)
		*colon++ = '\0';
	if (geteuid() != 0) {
		fprintf(stderr,
			"vstack: --user needs root (it switches to "
			"%s keeping CAP_NET_RAW)\n",
			user);
		return -1;
	}
	pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "vstack: --user %s: no such user\n", user);
		return -1;
	}
	gid = pw->pw_gid;
	if (colon) {
		struct group *g = getgrnam(colon);

		if (!g) {
			fprintf(stderr, "vstack: --user %s: no such group %s\n",
				spec, colon);
			return -1;
		}
		gid = g->gr_gid;
	}
	caps[n++] = CAP_NET_RAW;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || initgroups(user, gid) ||
	    setgid(gid) || setuid(pw->pw_uid)) {
		fprintf(stderr, "vstack: --user %s: %s\n", spec,
			strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		d[caps[i] / 32].effective |= 1u << (caps[i] % 32);
		d[caps[i] / 32].permitted |= 1u << (caps[i] % 32);
		d[caps[i] / 32].inheritable |= 1u << (caps[i] % 32);
	}
	if (syscall(SYS_capset, &h, d)) {
		fprintf(stderr, "vstack: --user %s: capset: %s\n", spec,
			strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, caps[i], 0,
			  0)) {
			fprintf(stderr,
				"vstack: --user %s: ambient capability %d: %s\n",
				spec, caps[i], strerror(errno));
			return -1;
		}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (pw->pw_dir)
		setenv("HOME", pw->pw_dir, 1);
	setenv("USER", pw->pw_name, 1);
	setenv("LOGNAME", pw->pw_name, 1);
	return 0;
}

static int
run(int argc, char **argv, char **full_argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "cores", required_argument, NULL, 'c' },
		{ "config", required_argument, NULL, 'f' },
		{ "log", required_argument, NULL, 'l' },
		{ "user", required_argument, NULL, 'u' },
		{ "emu", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vs_port_opts po;
	struct vs_config cfg;
	struct vs_port *port;
	char err[1024], lib[4200], file[4200];
	const char *user = NULL, *why;
	bool emu = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+hd:c:f:l:u:", opts, NULL)) !=
	       -1) {
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
		case 'u':
			user = optarg;
			break;
		case 'e':
			emu = true;
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
	/* The emulated libibverbs must be in this process before the
	 * device check opens the device: run again with it preloaded. */
	if (emu && !preloaded("libvsemu.so")) {
		library(lib, sizeof(lib), NULL, "../../emu/libvsemu.so",
			"vstack/libvsemu.so");
		if (access(lib, R_OK)) {
			fprintf(stderr,
				"vstack: --emu: %s: %s (the emulated ConnectX "
				"comes with the package vstack-emu)\n",
				lib, strerror(errno));
			return 1;
		}
		if (preload(lib))
			return 1;
		execv("/proc/self/exe", full_argv);
		fprintf(stderr, "vstack: --emu: cannot run myself again: %s\n",
			strerror(errno));
		return 1;
	}
	vs__config_init(&cfg);
	if (vs__config_load(&cfg, environ, err, sizeof(err))) {
		fprintf(stderr, "vstack: configuration: %s\n", err);
		return 1;
	}
	if (resolve(argv[optind], file, sizeof(file)) &&
	    (why = secure_exec_reason(file)) != NULL) {
		fprintf(stderr,
			"vstack: %s %s: the loader would run it in secure "
			"execution, ignore LD_PRELOAD, and it would run on the "
			"kernel; remove that (setcap -r / chmod u-s,g-s %s) and "
			"start it as root with --user USER instead\n",
			file, why, file);
		return 1;
	}
	if (user && !strncmp(cfg.device, "xdp:", 4)) {
		fprintf(stderr,
			"vstack: --user with an AF_XDP device (%s): joining and "
			"cleaning up the netdev's XDP program needs "
			"CAP_SYS_ADMIN; run it as root\n",
			cfg.device);
		return 1;
	}
	if (user && become(user))
		return 1;
	if (!has_net_raw()) {
		fprintf(stderr,
			"vstack: %s needs CAP_NET_RAW for raw packet queues: "
			"run as root, or as root with --user USER to run it "
			"as USER keeping that capability\n",
			argv[optind]);
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
	library(lib, sizeof(lib), getenv("VSTACK_LIB"), "../../libvstack.so",
		"libvstack.so.0");
	if (access(lib, R_OK)) {
		fprintf(stderr, "vstack: %s: %s (set VSTACK_LIB)\n", lib,
			strerror(errno));
		return 1;
	}
	if (preload(lib))
		return 1;
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
	return run(argc - 1, argv + 1, argv);
}
