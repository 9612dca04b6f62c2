// SPDX-License-Identifier: MIT
/*
 * move_probe - connections served by another process than the one that
 * accepted them (sockapi.fork_takeover, src/sockapi/move.c).
 *
 *   move_probe server PORT MODE COUNT   accepts COUNT connections; for
 *       each writes the first PREFIX bytes of the response at once (in
 *       flight when it hands the connection on), then hands it on, and
 *       closes its own copy at once:
 *         fork  a forked child serves it
 *         exec  a forked child execs `move_probe serve FD` for it
 *         scm   a helper forked at start receives it over a UNIX socket
 *               (SCM_RIGHTS) and serves it
 *       says "served COUNT, N failed" and waits for a signal.
 *   move_probe serve FD                 serves fd FD (exec mode)
 *   move_probe client ADDR PORT COUNT   COUNT connections one after the
 *       other: each sends the REQ-byte request from the moment it
 *       connects (a thread of its own), reads the RESP-byte response
 *       and checks both patterns byte for byte; prints "ok N" each.
 *
 * A server reads the whole request and checks it, sends the rest of the
 * response, then closes after the client's end of stream.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define REQ (1u << 20)
#define RESP (1u << 20)
#define PREFIX 65536u

static uint8_t
req_byte(size_t i)
{
	return (uint8_t)(i * 13 + i / 4096 + 1);
}

static uint8_t
resp_byte(size_t i)
{
	return (uint8_t)(i * 7 + i / 1000 + 3);
}

static int
write_pattern(int fd, size_t from, size_t to, uint8_t (*f)(size_t))
{
	uint8_t buf[16384];

	while (from < to) {
		size_t n = to - from < sizeof(buf) ? to - from : sizeof(buf);
		ssize_t k;

		for (size_t i = 0; i < n; i++)
			buf[i] = f(from + i);
		k = write(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		from += (size_t)k;
	}
	return 0;
}

/* Reads exactly len bytes of pattern f; 0, or -1 with why. */
static int
read_pattern(int fd, size_t len, uint8_t (*f)(size_t), const char *what)
{
	uint8_t buf[16384];
	size_t got = 0;

	while (got < len) {
		ssize_t k =
			read(fd, buf,
			     sizeof(buf) < len - got ? sizeof(buf) : len - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "%s: %s after %zu of %zu bytes\n", what,
				k ? strerror(errno) : "end of stream", got,
				len);
			return -1;
		}
		for (ssize_t i = 0; i < k; i++)
			if (buf[i] != f(got + (size_t)i)) {
				fprintf(stderr, "%s: byte %zu differs\n", what,
					got + (size_t)i);
				return -1;
			}
		got += (size_t)k;
	}
	return 0;
}

static int
serve(int fd)
{
	char c;

	if (read_pattern(fd, REQ, req_byte, "server: request") ||
	    write_pattern(fd, PREFIX, RESP, resp_byte) ||
	    shutdown(fd, SHUT_WR) || read(fd, &c, 1) != 0) {
		fprintf(stderr, "server %d: failed\n", (int)getpid());
		return 1;
	}
	close(fd);
	return 0;
}

static int
send_fd(int sock, int fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} cb;
	char x = 'x';
	struct iovec iov = { &x, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cb.b,
			    .msg_controllen = sizeof(cb.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int
recv_fd(int sock)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} cb;
	char x;
	struct iovec iov = { &x, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cb.b,
			    .msg_controllen = sizeof(cb.b) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &m, 0) != 1 || !(c = CMSG_FIRSTHDR(&m)) ||
	    c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static int
server(int port, const char *mode, int count, const char *self)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0), sp[2], bad = 0;
	pid_t helper = -1;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 64)) {
		perror("listen");
		return 1;
	}
	if (!strcmp(mode, "scm")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
			return 1;
		helper = fork();
		if (helper == 0) {
			close(sp[0]);
			close(l);
			for (int i = 0; i < count; i++) {
				int fd = recv_fd(sp[1]);

				if (fd < 0 || serve(fd))
					_exit(1);
			}
			_exit(0);
		}
		close(sp[1]);
	}
	printf("listening\n");
	fflush(stdout);
	for (int i = 0; i < count; i++) {
		int c = accept(l, NULL, NULL);
		pid_t p = 0;
		char fdarg[16];

		if (c < 0) {
			perror("accept");
			return 1;
		}
		/* In flight when the connection changes hands. */
		if (write_pattern(c, 0, PREFIX, resp_byte)) {
			perror("write");
			return 1;
		}
		if (!strcmp(mode, "scm")) {
			if (send_fd(sp[0], c))
				return 1;
		} else if ((p = fork()) == 0) {
			close(l);
			if (!strcmp(mode, "exec")) {
				snprintf(fdarg, sizeof(fdarg), "%d", c);
				execl(self, self, "serve", fdarg, (char *)NULL);
				_exit(127);
			}
			_exit(serve(c));
		}
		close(c); /* at once: the connection lives on in the child */
		if (p > 0) {
			int st;

			/* One at a time: the next fork must not carry this
			 * connection into another child. */
			if (waitpid(p, &st, 0) != p || !WIFEXITED(st) ||
			    WEXITSTATUS(st))
				bad++;
		}
	}
	if (helper > 0) {
		int st;

		if (waitpid(helper, &st, 0) != helper || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			bad++;
	}
	printf("served %d, %d failed\n", count, bad);
	pause(); /* until the test has read vstack's counters */
	return bad ? 1 : 0;
}

static void *
sender(void *arg)
{
	int fd = *(int *)arg;

	if (write_pattern(fd, 0, REQ, req_byte))
		perror("client: request");
	return NULL;
}

static int
client(const char *addr, int port, int count)
{
	int bad = 0;

	for (int i = 0; i < count; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)port) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		pthread_t t;
		int rc;

		inet_pton(AF_INET, addr, &a.sin_addr);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			perror("connect");
			return 1;
		}
		pthread_create(&t, NULL, sender, &fd);
		rc = read_pattern(fd, RESP, resp_byte, "client: response");
		pthread_join(t, NULL);
		shutdown(fd, SHUT_WR);
		close(fd);
		printf("%s %d\n", rc ? "FAILED" : "ok", i);
		bad += rc != 0;
	}
	return bad ? 1 : 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 6 - 1 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]), argv[3], atoi(argv[4]), argv[0]);
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: move_probe server PORT fork|exec|scm COUNT | "
			"serve FD | client ADDR PORT COUNT\n");
	return 2;
}
