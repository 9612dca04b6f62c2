// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "ctl/proto.h"
#include "vstest.h"

#define SOON (vs__now_ms() + 1000)

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
	ck_assert_int_eq(
		vs__ctl_send(sv[0], VS_CTL_PART, "ok\nh\n1\n", 7, SOON), 0);
	ck_assert_int_eq(vs__ctl_send(sv[0], VS_CTL_PART, "2\n", 2, SOON), 0);
	ck_assert_int_eq(vs__ctl_send(sv[0], VS_CTL_REPLY, "3\n", 2, SOON), 0);
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
	ck_assert_int_eq(vs__ctl_send(sv[0], VS_CTL_PART, "x\n", 2, SOON), 0);
	ck_assert_int_eq(vs__ctl_recv(sv[1], VS_CTL_REPLY, buf, sizeof(buf),
				      &len, 100, err, sizeof(err)),
			 -EPROTO);
	ck_assert_int_eq(vs__ctl_send(sv[0], VS_CTL_REQUEST, "conns", 5, SOON),
			 0);
	ck_assert_int_eq(vs__ctl_recv_part(sv[1], buf, sizeof(buf), &len, 100,
					   &more, err, sizeof(err)),
			 -EPROTO);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Takes a byte every 5 ms until told to stop. */
static _Atomic bool dribbling;

static void *
dribble(void *arg)
{
	int fd = *(int *)arg;
	char c;

	while (atomic_load(&dribbling) && read(fd, &c, 1) == 1)
		usleep(5000);
	return NULL;
}

/*
 * A peer that reads a byte now and then cannot stretch a message past
 * its deadline (each byte it takes makes room for another write: a
 * timeout per write, SO_SNDTIMEO, never fired): 200 KiB by 300 ms
 * fails with ETIMEDOUT by then; a reader that keeps up gets it whole.
 */
START_TEST(send_deadline)
{
	static char big[VS_CTL_MAX];
	char err[128];
	pthread_t t;
	uint64_t t0;
	size_t len;
	int sv[2], rc;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Room for a little of the message: the rest waits for the reader. */
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF,
				    &(int){ 4096 }, sizeof(int)),
			 0);
	atomic_store(&dribbling, true);
	ck_assert_int_eq(pthread_create(&t, NULL, dribble, &sv[1]), 0);
	t0 = vs__now_ms();
	rc = vs__ctl_send(sv[0], VS_CTL_PART, big, sizeof(big), t0 + 300);
	ck_assert_int_eq(rc, -ETIMEDOUT);
	ck_assert_uint_lt(vs__now_ms() - t0, 1000);
	ck_assert_uint_ge(vs__now_ms() - t0, 290);
	atomic_store(&dribbling, false);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (fork() == 0) {
		static char in[VS_CTL_MAX + 1];

		_exit(vs__ctl_recv(sv[1], VS_CTL_REPLY, in, sizeof(in), &len,
				   2000, err, sizeof(err)) != 0 ||
		      len != sizeof(big));
	}
	ck_assert_int_eq(
		vs__ctl_send(sv[0], VS_CTL_REPLY, big, sizeof(big), SOON), 0);
	ck_assert_int_eq(wait(&rc) > 0 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1,
			 0);
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
	VSTEST_ADD(s, send_deadline);
	return s;
}
