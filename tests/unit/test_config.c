// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/compiler.h"
#include "base/config.h"
#include "base/log.h"
#include "vstest.h"

static char err[1024];
static struct vs_config cfg;

/* Applies a file holding text; returns the result, err holds the message. */
static int
apply_text(const char *text, char **pathp)
{
	char *path = vstest_tmpfile(text);
	int rc;

	err[0] = '\0';
	rc = vs__config_apply_file(&cfg, path, err, sizeof(err));
	if (pathp)
		*pathp = path;
	else {
		unlink(path);
		free(path);
	}
	return rc;
}

/* Asserts that err is exactly "PATH" followed by rest. */
static void
assert_err(const char *path, const char *rest)
{
	char want[1024];

	snprintf(want, sizeof(want), "%s%s", path, rest);
	ck_assert_str_eq(err, want);
}

static void
setup(void)
{
	vs__config_init(&cfg);
}

START_TEST(defaults)
{
	setup();
	ck_assert_int_eq(cfg.log_level, VS_LOG_WARN);
	ck_assert_str_eq(cfg.device, "");
	ck_assert_uint_eq(cfg.cores, 0);
	ck_assert(cfg.hugepages);
	ck_assert_uint_eq(cfg.buffer_size, 2048);
	ck_assert_uint_eq(cfg.buffers, 32768);
	ck_assert_uint_eq(cfg.flows, 65536);
	ck_assert_uint_eq(cfg.spin_us, 50);
	ck_assert_uint_eq(cfg.max_conns, 0);
	ck_assert_uint_eq(cfg.policy.n, 0);
	for (int k = 0; k < VS_CFG_NKEYS; k++)
		ck_assert_int_eq(cfg.source[k], VS_SRC_DEFAULT);
	vs__config_free(&cfg);
}
END_TEST

START_TEST(file_overrides)
{
	char *path;

	setup();
	ck_assert_int_eq(apply_text("# vstack\n"
				    "\n"
				    "device = mlx5_1   # second port\n"
				    "  cores=4\n"
				    "hugepages = off\n"
				    "buffer_size = 9216\n"
				    "buffers = 4096\n"
				    "flows = 64\n"
				    "spin_us = 0\n"
				    "max_conns = 5000\n"
				    "log = debug\n"
				    "rule = kernel tcp_server * 22\n"
				    "rule = offload udp * *\n",
				    &path),
			 0);
	ck_assert_str_eq(cfg.device, "mlx5_1");
	ck_assert_uint_eq(cfg.cores, 4);
	ck_assert(!cfg.hugepages);
	ck_assert_uint_eq(cfg.buffer_size, 9216);
	ck_assert_uint_eq(cfg.buffers, 4096);
	ck_assert_uint_eq(cfg.flows, 64);
	ck_assert_uint_eq(cfg.spin_us, 0);
	ck_assert_uint_eq(cfg.max_conns, 5000);
	ck_assert_int_eq(cfg.log_level, VS_LOG_DEBUG);
	ck_assert_uint_eq(cfg.policy.n, 2);
	ck_assert_int_eq(cfg.policy.rules[0].action, VS_POLICY_KERNEL);
	ck_assert_int_eq(cfg.source[VS_CFG_DEVICE], VS_SRC_FILE);
	ck_assert_int_eq(cfg.source[VS_CFG_RULE], VS_SRC_FILE);
	ck_assert_str_eq(cfg.file, path);
	unlink(path);
	free(path);
	vs__config_free(&cfg);
}
END_TEST

START_TEST(env_over_file)
{
	char *path = vstest_tmpfile("cores = 4\ndevice = mlx5_0\n");
	char var[4200];
	char *envp[] = { var, "VSTACK_CORES=2", "HOME=/root", NULL };

	snprintf(var, sizeof(var), "VSTACK_CONFIG=%s", path);
	setup();
	ck_assert_int_eq(vs__config_load(&cfg, envp, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.cores, 2);
	ck_assert_int_eq(cfg.source[VS_CFG_CORES], VS_SRC_ENV);
	ck_assert_str_eq(cfg.device, "mlx5_0");
	ck_assert_int_eq(cfg.source[VS_CFG_DEVICE], VS_SRC_FILE);
	ck_assert_int_eq(cfg.source[VS_CFG_SPIN_US], VS_SRC_DEFAULT);
	unlink(path);
	free(path);
	vs__config_free(&cfg);
}
END_TEST

START_TEST(bad_key)
{
	char *path;

	setup();
	ck_assert_int_eq(apply_text("cores = 2\n\ncorez = 4\n", &path),
			 -EINVAL);
	assert_err(path, ":3: unknown key 'corez' (accepted: log, device, "
			 "cores, hugepages, buffer_size, buffers, flows, "
			 "spin_us, max_conns, control_dir, rule)");
	unlink(path);
	free(path);
	vs__config_free(&cfg);
}
END_TEST

START_TEST(bad_value)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "cores = many\n", ":1: key 'cores': bad value 'many' "
				    "(accepted: all, or a number of cores "
				    "1..1024)" },
		{ "cores = 0\n", ":1: key 'cores': bad value '0' (accepted: "
				 "all, or a number of cores 1..1024)" },
		{ "cores = 4x\n", ":1: key 'cores': bad value '4x' (accepted: "
				  "all, or a number of cores 1..1024)" },
		{ "log = loud\n", ":1: key 'log': bad value 'loud' (accepted: "
				  "error, warn, info, debug)" },
		{ "hugepages = maybe\n",
		  ":1: key 'hugepages': bad value 'maybe' (accepted: yes/no, "
		  "on/off, true/false, 1/0)" },
		{ "buffer_size = 3000\n",
		  ":1: key 'buffer_size': bad value '3000' (accepted: 2048, or "
		  "9216 for jumbo frames)" },
		{ "buffers = 10\n", ":1: key 'buffers': bad value '10' "
				    "(accepted: a number of buffers "
				    "1024..1048576)" },
		{ "flows = 63\n", ":1: key 'flows': bad value '63' "
				  "(accepted: a number of flow rules "
				  "64..1048576)" },
		{ "spin_us = -1\n", ":1: key 'spin_us': bad value '-1' "
				    "(accepted: microseconds 0..1000000)" },
		{ "max_conns = 0\n",
		  ":1: key 'max_conns': bad value '0' (accepted: none, or a "
		  "number of connections 1..1073741824)" },
		{ "device =\n",
		  ":1: key 'device': bad value '' (accepted: an RDMA device "
		  "(mlx5_0), a netdev (eth0) or xdp:IFNAME, 1..63 "
		  "characters)" },
		{ "device = a b\n",
		  ":1: key 'device': bad value 'a b' (accepted: an RDMA device "
		  "(mlx5_0), a netdev (eth0) or xdp:IFNAME, 1..63 "
		  "characters)" },
	};

	for (size_t i = 0; i < VS_ARRAY_SIZE(cases); i++) {
		char *path;

		setup();
		ck_assert_int_eq(apply_text(cases[i].text, &path), -EINVAL);
		assert_err(path, cases[i].msg);
		unlink(path);
		free(path);
		vs__config_free(&cfg);
	}
}
END_TEST

START_TEST(malformed_line)
{
	char *path;

	setup();
	ck_assert_int_eq(apply_text("cores 4\n", &path), -EINVAL);
	assert_err(path, ":1: malformed line 'cores 4' (expected 'key = "
			 "value', a '#' comment or a blank line)");
	unlink(path);
	free(path);
	vs__config_free(&cfg);
}
END_TEST

START_TEST(duplicate_key)
{
	char *path;

	setup();
	ck_assert_int_eq(
		apply_text("cores = 4\nlog = info\ncores = 2\n", &path),
		-EINVAL);
	assert_err(path, ":3: key 'cores' set twice (first at line 1)");
	unlink(path);
	free(path);
	vs__config_free(&cfg);
}
END_TEST

START_TEST(bad_rule)
{
	char *path;

	setup();
	ck_assert_int_eq(apply_text("rule = kernel tcp * 22\n"
				    "rule = allow tcp * 80\n",
				    &path),
			 -EINVAL);
	assert_err(path, ":2: key 'rule': bad value 'allow tcp * 80': "
			 "unknown action 'allow' (accepted: offload, kernel)");
	unlink(path);
	free(path);
	vs__config_free(&cfg);
}
END_TEST

START_TEST(missing_file)
{
	setup();
	ck_assert_int_eq(vs__config_apply_file(&cfg, "/nonexistent/vs.conf",
					       err, sizeof(err)),
			 -ENOENT);
	ck_assert_str_eq(err, "/nonexistent/vs.conf: cannot read: No such "
			      "file or directory");
	vs__config_free(&cfg);
}
END_TEST

START_TEST(unreadable_file)
{
	char *path = vstest_tmpfile("cores = 2\n");
	char want[256];
	int status;
	pid_t pid;

	ck_assert_int_eq(chmod(path, 0), 0);
	snprintf(want, sizeof(want), "%s: cannot read: Permission denied",
		 path);
	/* Root reads anything: check as nobody, in a child, so that this
	 * process keeps the right to remove the file. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && setuid(65534) != 0)
			_exit(2);
		setup();
		if (vs__config_apply_file(&cfg, path, err, sizeof(err)) !=
		    -EACCES)
			_exit(3);
		_exit(strcmp(err, want) != 0 || cfg.cores != 0 ? 4 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(env_unknown)
{
	char *envp[] = { "VSTACK_CORSE=2", NULL };

	setup();
	ck_assert_int_eq(vs__config_apply_env(&cfg, envp, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err,
			 "environment: unknown variable VSTACK_CORSE "
			 "(accepted: VSTACK_LOG, VSTACK_DEVICE, "
			 "VSTACK_CORES, VSTACK_HUGEPAGES, "
			 "VSTACK_BUFFER_SIZE, VSTACK_BUFFERS, VSTACK_FLOWS, "
			 "VSTACK_SPIN_US, VSTACK_MAX_CONNS, "
			 "VSTACK_CONTROL_DIR, VSTACK_RULES, "
			 "VSTACK_CONFIG, VSTACK_LIB)");
	vs__config_free(&cfg);
}
END_TEST

START_TEST(env_bad_value)
{
	char *envp[] = { "VSTACK_SPIN_US=fast", NULL };
	char *envp2[] = { "VSTACK_RULES=kernel tcp * 22;offload tcp * 99999",
			  NULL };

	setup();
	ck_assert_int_eq(vs__config_apply_env(&cfg, envp, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "VSTACK_SPIN_US: key 'spin_us': bad value "
			      "'fast' (accepted: microseconds 0..1000000)");
	ck_assert_int_eq(vs__config_apply_env(&cfg, envp2, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "VSTACK_RULES: key 'rule': bad value 'offload "
			      "tcp * 99999': bad ports '99999' (accepted: *, "
			      "a port 1..65535, or a range LOW-HIGH)");
	vs__config_free(&cfg);
}
END_TEST

START_TEST(env_rules)
{
	char *envp[] = {
		"VSTACK_RULES= kernel tcp_server * 22 ; offload udp * * ;", NULL
	};

	setup();
	ck_assert_int_eq(apply_text("rule = kernel * * *\n", NULL), 0);
	ck_assert_uint_eq(cfg.policy.n, 1);
	/* The variable's rules replace the file's. */
	ck_assert_int_eq(vs__config_apply_env(&cfg, envp, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.policy.n, 2);
	ck_assert_int_eq(cfg.policy.rules[0].roles, VS_ROLE_TCP_SERVER);
	ck_assert_int_eq(cfg.policy.rules[1].roles, VS_ROLE_UDP);
	ck_assert_int_eq(cfg.source[VS_CFG_RULE], VS_SRC_ENV);
	vs__config_free(&cfg);
}
END_TEST

START_TEST(error_keeps_config)
{
	setup();
	ck_assert_int_eq(
		apply_text("cores = 3\nrule = kernel udp * 53\n", NULL), 0);
	/* A failing file applies nothing, not even its valid first lines. */
	ck_assert_int_eq(apply_text("cores = 8\nrule = offload * * *\n"
				    "bogus = 1\n",
				    NULL),
			 -EINVAL);
	ck_assert_uint_eq(cfg.cores, 3);
	ck_assert_uint_eq(cfg.policy.n, 1);
	ck_assert_int_eq(cfg.policy.rules[0].roles, VS_ROLE_UDP);
	vs__config_free(&cfg);
}
END_TEST

START_TEST(config_env_path)
{
	char *envp_missing[] = { "VSTACK_CONFIG=/nonexistent.conf", NULL };
	char *envp_empty[] = { "VSTACK_CONFIG=", NULL };

	setup();
	ck_assert_int_eq(vs__config_load(&cfg, envp_missing, err, sizeof(err)),
			 -ENOENT);
	ck_assert_str_eq(err, "/nonexistent.conf: cannot read: No such file "
			      "or directory");
	ck_assert_int_eq(vs__config_load(&cfg, envp_empty, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "VSTACK_CONFIG is set but empty");
	vs__config_free(&cfg);
}
END_TEST

START_TEST(dump_sources)
{
	char *path =
		vstest_tmpfile("cores = 4\nrule = kernel tcp_server * 22\n");
	char var[4200], out[4096] = "";
	char *envp[] = { var, "VSTACK_LOG=info", NULL };
	FILE *f = fmemopen(out, sizeof(out), "w");

	snprintf(var, sizeof(var), "VSTACK_CONFIG=%s", path);
	setup();
	ck_assert_int_eq(vs__config_load(&cfg, envp, err, sizeof(err)), 0);
	vs__config_dump(&cfg, f);
	fclose(f);
	ck_assert_ptr_nonnull(
		strstr(out, "log         = info                 # env\n"));
	ck_assert_ptr_nonnull(
		strstr(out, "cores       = 4                    # file\n"));
	ck_assert_ptr_nonnull(
		strstr(out, "spin_us     = 50                   # default\n"));
	ck_assert_ptr_nonnull(strstr(
		out, "rule        = kernel tcp_server * 22 # file, rule 1\n"));
	unlink(path);
	free(path);
	vs__config_free(&cfg);
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("config");

	VSTEST_ADD(s, defaults);
	VSTEST_ADD(s, file_overrides);
	VSTEST_ADD(s, env_over_file);
	VSTEST_ADD(s, bad_key);
	VSTEST_ADD(s, bad_value);
	VSTEST_ADD(s, malformed_line);
	VSTEST_ADD(s, duplicate_key);
	VSTEST_ADD(s, bad_rule);
	VSTEST_ADD(s, missing_file);
	VSTEST_ADD(s, unreadable_file);
	VSTEST_ADD(s, env_unknown);
	VSTEST_ADD(s, env_bad_value);
	VSTEST_ADD(s, env_rules);
	VSTEST_ADD(s, error_keeps_config);
	VSTEST_ADD(s, config_env_path);
	VSTEST_ADD(s, dump_sources);
	return s;
}
