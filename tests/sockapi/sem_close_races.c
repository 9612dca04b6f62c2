// SPDX-License-Identifier: MIT
/*
 * sem_close_races PEER LOCAL - a socket closed by one thread while
 * another is calling on it, as a transcript (see sem_tcp.c). Round
 * after round, a user thread hammers one fd number with every call
 * vstack looks a socket up for (recv, send, getsockopt, setsockopt,
 * fcntl, ioctl, getpeername, shutdown, epoll_ctl, poll) while the main
 * thread closes that fd and at once makes a new socket, which the
 * kernel gives the same number. Each call must find the old socket, the
 * new one, or none (EBADF), never freed memory: vstack used to look a
 * socket up and take its reference in two steps, and a close in between
 * freed it under the call (the ASan build of this test saw it).
 * UDP sockets bound to LOCAL (vstack's at bind) and TCP connections to
 * the peer's echo. The transcript: the number of rounds and that every
 * call's outcome was one of the allowed ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sem.h"

static const char *peer, *local;
static _Atomic int target = -1; /* the fd number hammered */
static _Atomic bool stop;
static _Atomic long calls, odd;
static int ep;

/* Errors a call on a closed, replaced or other-kind socket may give. */
static bool
allowed(int e)
{
	return e == EBADF || e == EAGAIN || e == ENOTCONN || e == EPIPE ||
	       e == ECONNRESET || e == EINVAL || e == ENOENT || e == EEXIST ||
	       e == EOPNOTSUPP || e == ENOTSOCK || e == EDESTADDRREQ ||
	       e == ENOPROTOOPT || e == EPERM;
}

static void
check(long rc)
{
	calls++;
	if (rc < 0 && !allowed(errno)) {
		if (!odd++)
			fprintf(stderr, "unexpected: %s\n", strerror(errno));
	}
}

static void *
hammer(void *arg)
{
	char b[64];
	int one = 1, v, n = 0;
	socklen_t l;
	struct sockaddr_storage ss;
	struct epoll_event ev = { .events = EPOLLIN };

	(void)arg;
	while (!stop) {
		int fd = target;
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (fd < 0)
			continue;
		switch (n++ % 11) {
		case 0:
			check(recv(fd, b, sizeof(b), MSG_DONTWAIT));
			break;
		case 1:
			check(send(fd, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
			break;
		case 2:
			l = sizeof(v);
			check(getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l));
			break;
		case 3:
			check(setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
					 sizeof(one)));
			break;
		case 4:
			check(fcntl(fd, F_GETFL));
			break;
		case 5:
			check(ioctl(fd, FIONREAD, &v));
			break;
		case 6:
			l = sizeof(ss);
			check(getpeername(fd, (struct sockaddr *)&ss, &l));
			break;
		case 7:
			ev.data.fd = fd;
			check(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
			check(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL));
			break;
		case 8:
			check(poll(&p, 1, 0));
			break;
		case 9:
			l = sizeof(ss);
			check(getsockname(fd, (struct sockaddr *)&ss, &l));
			break;
		default:
			check(fcntl(fd, F_SETFL, O_NONBLOCK));
			break;
		}
	}
	return NULL;
}

static int
udp_socket(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, local, &sa.sin_addr);
	/* A send the hammer had under way may have bound it (autobind):
	 * then it stays the kernel's, as the kernel keeps it unmoved. */
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	return fd;
}

static int
tcp_socket(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(8000) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, peer, &sa.sin_addr);
	/* (A call under way may have made it non-blocking: then the
	 * connection is still being made when the hammer starts.) */
	connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	send(fd, "echo\n", 5, MSG_NOSIGNAL);
	return fd;
}

static void
rounds(const char *what, int (*make)(void), int n)
{
	pthread_t t;
	int fd = make(), same = 0;

	calls = odd = 0;
	stop = false;
	target = fd;
	pthread_create(&t, NULL, hammer, NULL);
	for (int i = 0; i < n; i++) {
		int nfd;

		/* Let the hammer get going on this socket, then pull it. */
		for (long c = calls + 20; calls < c && !odd;)
			;
		sem_race_begin();
		close(fd);
		target = -1; /* a call already under way may still come */
		nfd = make();
		sem_race_end();
		same += nfd == fd;
		target = fd = nfd;
	}
	stop = true;
	pthread_join(t, NULL);
	close(fd);
	printf("%s: %d closes under calls, the number reused %s, "
	       "unexpected outcomes: %ld\n",
	       what, n, same > n / 2 ? "mostly" : "rarely", odd);
}

int
main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	peer = argv[1];
	local = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	ep = epoll_create1(0);
	rounds("UDP", udp_socket, 3000);
	rounds("TCP", tcp_socket, 300);
	return 0;
}
