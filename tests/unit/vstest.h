/* SPDX-License-Identifier: MIT */
/*
 * Shared main() for the Check unit tests. Each test file defines
 * vstest_suite(); ctest runs each case in its own process by setting
 * CK_RUN_CASE to the case name (see tests/CMakeLists.txt). A run that
 * executes no test fails, so a case listed in CMake but missing from the
 * suite (or misspelled) cannot pass silently.
 */
#ifndef VSTEST_H
#define VSTEST_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *vstest_suite(void);

/*
 * A case's own time limit, for every suite: Check's default (4 s) fails
 * correct cases on a loaded 2-core machine; ctest's TIMEOUT (30 s) stays
 * the outer bound, and this one names the case that ran out.
 */
#define VSTEST_TIMEOUT_S 20

/* One TCase per test, named after the test function. */
#define VSTEST_ADD(suite, fn)                             \
	do {                                              \
		TCase *tc_ = tcase_create(#fn);           \
		tcase_add_test(tc_, fn);                  \
		tcase_set_timeout(tc_, VSTEST_TIMEOUT_S); \
		suite_add_tcase((suite), tc_);            \
	} while (0)

/* Writes text to a fresh temporary file; returns its malloc'd path. */
static inline char *
vstest_tmpfile(const char *text)
{
	char *path = strdup("/tmp/vstest-XXXXXX");
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/*
 * A suite that needs raw sockets (the emulated ConnectX opens them)
 * defines VSTEST_NEEDS_CAP_NET_RAW before including this file: without
 * CAP_NET_RAW every case exits 77, which ctest reports as skipped
 * (SKIP_RETURN_CODE), never as a failure or a pass.
 */
#ifdef VSTEST_NEEDS_CAP_NET_RAW
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static int
vstest_skip(void)
{
	int s = socket(AF_PACKET, SOCK_RAW, 0);

	if (s >= 0) {
		close(s);
		return 0;
	}
	if (errno != EPERM && errno != EACCES)
		return 0;
	fprintf(stderr, "SKIP: needs CAP_NET_RAW (raw sockets): run as root\n");
	return 1;
}
#else
static int
vstest_skip(void)
{
	return 0;
}
#endif

int
main(void)
{
	SRunner *sr;
	int failed, ran;

	if (vstest_skip())
		return 77;
	sr = srunner_create(vstest_suite());

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	ran = srunner_ntests_run(sr);
	srunner_free(sr);
	if (ran == 0) {
		fprintf(stderr, "no test ran (CK_RUN_CASE=%s)\n",
			getenv("CK_RUN_CASE") ? getenv("CK_RUN_CASE") : "");
		return EXIT_FAILURE;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
