// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "vstest.h"

static int pipefd[2];

static void
capture(void)
{
	ck_assert_int_eq(pipe(pipefd), 0);
	vs__log_set_fd(pipefd[1]);
}

/* Everything logged so far, as one string (the pipe is closed for it). */
static char *
captured(void)
{
	static char buf[1 << 20];
	ssize_t n, off = 0;

	vs__log_set_fd(STDERR_FILENO);
	close(pipefd[1]);
	while ((n = read(pipefd[0], buf + off, sizeof(buf) - 1 - off)) > 0)
		off += n;
	close(pipefd[0]);
	buf[off] = '\0';
	return buf;
}

START_TEST(prefix_and_level)
{
	char want[128];

	vs__log_set_level(VS_LOG_WARN);
	capture();
	vs_warn("port %s has %d queues", "mlx5_0", 4);
	vs_err("gone");
	snprintf(want, sizeof(want),
		 "vstack[%d]: warn: port mlx5_0 has 4 queues\n"
		 "vstack[%d]: error: gone\n",
		 getpid(), getpid());
	ck_assert_str_eq(captured(), want);
}
END_TEST

static int side_effects;

static int
count(void)
{
	return ++side_effects;
}

START_TEST(level_filter)
{
	vs__log_set_level(VS_LOG_WARN);
	capture();
	vs_info("not shown %d", count());
	vs_dbg("not shown %d", count());
	vs__log_set_level(VS_LOG_DEBUG);
	vs_dbg("shown %d", count());
	/* A disabled level does not even evaluate its arguments. */
	ck_assert_int_eq(side_effects, 1);
	ck_assert_ptr_nonnull(strstr(captured(), "debug: shown 1\n"));
	vs__log_set_level(99);
	ck_assert_int_eq(vs__log_level, VS_LOG_DEBUG);
	vs__log_set_level(-3);
	ck_assert_int_eq(vs__log_level, VS_LOG_ERROR);
}
END_TEST

START_TEST(level_names)
{
	ck_assert_int_eq(vs__log_level_parse("error"), VS_LOG_ERROR);
	ck_assert_int_eq(vs__log_level_parse("WARN"), VS_LOG_WARN);
	ck_assert_int_eq(vs__log_level_parse("info"), VS_LOG_INFO);
	ck_assert_int_eq(vs__log_level_parse("debug"), VS_LOG_DEBUG);
	ck_assert_int_eq(vs__log_level_parse("verbose"), -EINVAL);
	ck_assert_int_eq(vs__log_level_parse(""), -EINVAL);
	ck_assert_str_eq(vs__log_level_name(VS_LOG_INFO), "info");
	ck_assert_str_eq(vs__log_level_name(42), "?");
}
END_TEST

START_TEST(env_init)
{
	vs__log_set_level(VS_LOG_WARN);
	setenv("VSTACK_LOG", "debug", 1);
	ck_assert_int_eq(vs__log_init_from_env(), 0);
	ck_assert_int_eq(vs__log_level, VS_LOG_DEBUG);
	setenv("VSTACK_LOG", "loud", 1);
	ck_assert_int_eq(vs__log_init_from_env(), -EINVAL);
	ck_assert_int_eq(vs__log_level, VS_LOG_DEBUG);
	unsetenv("VSTACK_LOG");
	ck_assert_int_eq(vs__log_init_from_env(), 0);
	ck_assert_int_eq(vs__log_level, VS_LOG_DEBUG);
}
END_TEST

START_TEST(truncation)
{
	char big[4000];
	char *out;
	size_t len;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	vs__log_set_level(VS_LOG_WARN);
	capture();
	vs_warn("%s", big);
	out = captured();
	len = strlen(out);
	ck_assert_uint_le(len, 1024);
	ck_assert_str_eq(out + len - 4, "...\n");
}
END_TEST

#define LINES 2000

static void *
writer(void *arg)
{
	for (int i = 0; i < LINES; i++)
		vs_warn("%s line %04d", (const char *)arg, i);
	return NULL;
}

START_TEST(one_write_per_line)
{
	pthread_t a, b;
	char *out, *save = NULL;
	int n = 0;

	vs__log_set_level(VS_LOG_WARN);
	ck_assert_int_eq(pipe(pipefd), 0);
	/* The pipe must hold everything: no reader runs meanwhile. */
	ck_assert_int_ge(fcntl(pipefd[1], F_SETPIPE_SZ, 1 << 20), 1 << 18);
	vs__log_set_fd(pipefd[1]);
	pthread_create(&a, NULL, writer, "alpha");
	pthread_create(&b, NULL, writer, "bravo");
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	out = captured();
	for (char *l = strtok_r(out, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save), n++) {
		ck_assert_msg(strstr(l, ": warn: alpha line ") ||
				      strstr(l, ": warn: bravo line "),
			      "torn line: %s", l);
		ck_assert_uint_eq(strlen(strstr(l, "warn: ")), 21);
	}
	ck_assert_int_eq(n, 2 * LINES);
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("log");

	VSTEST_ADD(s, prefix_and_level);
	VSTEST_ADD(s, level_filter);
	VSTEST_ADD(s, level_names);
	VSTEST_ADD(s, env_init);
	VSTEST_ADD(s, truncation);
	VSTEST_ADD(s, one_write_per_line);
	return s;
}
