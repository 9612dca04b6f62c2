// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/proto.h"
#include "vstest.h"

/* A pid no process has: a child's, once it is reaped. */
static int
dead_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (!pid)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return pid;
}

static int
listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	return fd;
}

/*
 * A control socket is another process's to remove only when its pid is
 * gone and nobody listens on it: a pid reused by a new vstack process
 * whose socket has the old name is not swept (the race that removed a
 * live server's socket).
 */
START_TEST(stale_sock)
{
	char dir[] = "/tmp/vstest-ctl-XXXXXX", name[32], path[128];
	int pid = dead_pid(), fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(name, sizeof(name), "%d.sock", pid);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = listen_at(path);
	ck_assert_msg(!vs__ctl_sock_stale(dir, name),
		      "a socket with a listener was called stale");
	close(fd);
	ck_assert(vs__ctl_sock_stale(dir, name));
	unlink(path);
	snprintf(name, sizeof(name), "%d.sock", (int)getpid());
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = listen_at(path);
	close(fd);
	ck_assert_msg(!vs__ctl_sock_stale(dir, name),
		      "a live process's socket was called stale");
	ck_assert(!vs__ctl_sock_stale(dir, "x.sock"));
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("ctl");

	VSTEST_ADD(s, stale_sock);
	return s;
}
