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

/*
 * A reply in parts: vs__ctl_recv_part says which messages are parts and
 * which is the last; vs__ctl_recv, which wants a whole reply, refuses a
 * part; a request is never taken for either.
 */
START_TEST(reply_parts)
{
	char buf[VS_CTL_MAX + 1], err[128];
	size_t len;
	bool more;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(vs__ctl_send(sv[0], VS_CTL_PART, "ok\nh\n1\n", 7), 0);
	ck_assert_int_eq(vs__ctl_send(sv[0], VS_CTL_PART, "2\n", 2), 0);
	ck_assert_int_eq(vs__ctl_send(sv[0], VS_CTL_REPLY, "3\n", 2), 0);
	ck_assert_int_eq(vs__ctl_recv_part(sv[1], buf, sizeof(buf), &len, 100,
					   &more, err, sizeof(err)),
			 0);
	ck_assert(more);
	ck_assert_str_eq(buf, "ok\nh\n1\n");
	ck_assert_int_eq(vs__ctl_recv_part(sv[1], buf, sizeof(buf), &len, 100,
					   &more, err, sizeof(err)),
			 0);
	ck_assert(more);
	ck_assert_str_eq(buf, "2\n");
	ck_assert_int_eq(vs__ctl_recv_part(sv[1], buf, sizeof(buf), &len, 100,
					   &more, err, sizeof(err)),
			 0);
	ck_assert(!more);
	ck_assert_str_eq(buf, "3\n");
	ck_assert_int_eq(vs__ctl_send(sv[0], VS_CTL_PART, "x\n", 2), 0);
	ck_assert_int_eq(vs__ctl_recv(sv[1], VS_CTL_REPLY, buf, sizeof(buf),
				      &len, 100, err, sizeof(err)),
			 -EPROTO);
	ck_assert_int_eq(vs__ctl_send(sv[0], VS_CTL_REQUEST, "conns", 5), 0);
	ck_assert_int_eq(vs__ctl_recv_part(sv[1], buf, sizeof(buf), &len, 100,
					   &more, err, sizeof(err)),
			 -EPROTO);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("ctl");

	VSTEST_ADD(s, stale_sock);
	VSTEST_ADD(s, reply_parts);
	return s;
}
