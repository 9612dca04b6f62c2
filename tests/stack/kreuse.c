// SPDX-License-Identifier: MIT
/*
 * kreuse ADDR PORT LPORT N REQUEST REPLY - a kernel client that reuses
 * its port: N times in a row, a socket bound to local port LPORT
 * (SO_REUSEADDR) connects to ADDR PORT, sends REQUEST (C escapes \r \n),
 * reads until it has seen REPLY and the server has closed (the server
 * closes first, so its side goes to TIME_WAIT), then closes.
 *
 * Each connection must be established within 100 ms (one in a hundred
 * may take up to 2 s: a SYN the loaded machine lost is sent again after
 * the kernel's 1 s; a SYN to the server's TIME_WAIT answered with the
 * old connection's ACK costs every connection that second) and the
 * whole exchange done within 2 s. Prints the slowest connect and how
 * many took over 100 ms; exits 0 if all N exchanges succeeded within
 * those bounds, 1 at the first that did not (saying which).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t
unescape(char *s)
{
	char *o = s;

	for (char *i = s; *i; i++) {
		if (*i == '\\' && (i[1] == 'r' || i[1] == 'n')) {
			*o++ = i[1] == 'r' ? '\r' : '\n';
			i++;
		} else {
			*o++ = *i;
		}
	}
	*o = '\0';
	return (size_t)(o - s);
}

/* Waits for events on fd until deadline (ms); 0 if they came. */
static int
wait_fd(int fd, short events, double deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	double left = deadline - now_ms();

	return left > 0 && poll(&p, 1, (int)left + 1) == 1 ? 0 : -1;
}

/* One exchange; 0, or -1 with why in *why. */
static int
exchange(const struct addrinfo *ai, const struct sockaddr *local,
	 socklen_t llen, const char *req, size_t reqlen, const char *reply,
	 double *connect_ms, const char **why)
{
	char buf[4096];
	size_t got = 0;
	double t0 = now_ms(), wait_until = t0 + 1000;
	int fd, one = 1, err = 0, rc = -1;
	socklen_t elen = sizeof(err);

	/* Our kernel keeps the previous connection in LAST_ACK until the
	 * server acknowledges our FIN: until then the 4-tuple is taken
	 * (EADDRNOTAVAIL), which is our kernel's business, not the
	 * server's. The 100 ms count from the connect that goes out. */
	for (;;) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		*why = "socket/bind";
		if (fd < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			       sizeof(one)) ||
		    bind(fd, local, llen))
			goto out;
		t0 = now_ms();
		*why = "connect";
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen) ||
		    errno == EINPROGRESS)
			break;
		if (errno != EADDRNOTAVAIL || now_ms() > wait_until)
			goto out;
		close(fd);
		usleep(1000);
	}
	*why = "connect: not established within 2 s";
	if (wait_fd(fd, POLLOUT, t0 + 2000) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err)
		goto out;
	*connect_ms = now_ms() - t0;
	*why = "send";
	if (send(fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen)
		goto out;
	*why = "reply or close: not within 2 s";
	for (;;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, t0 + 2000))
			goto out;
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break; /* the server closed first */
		got += (size_t)n;
		if (got == sizeof(buf) - 1)
			got = 0; /* only the end matters */
	}
	buf[got] = '\0';
	*why = "the reply";
	if (!strstr(buf, reply))
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	struct addrinfo *ai, hints = { .ai_socktype = SOCK_STREAM };
	struct sockaddr_storage local = { 0 };
	socklen_t llen;
	double slowest = 0;
	size_t reqlen;
	int n, slow = 0;

	if (argc != 7 || getaddrinfo(argv[1], argv[2], &hints, &ai)) {
		fprintf(stderr,
			"usage: kreuse ADDR PORT LPORT N REQUEST REPLY\n");
		return 2;
	}
	n = atoi(argv[4]);
	reqlen = unescape(argv[5]);
	unescape(argv[6]);
	local.ss_family = (sa_family_t)ai->ai_family;
	if (ai->ai_family == AF_INET) {
		((struct sockaddr_in *)&local)->sin_port =
			htons((uint16_t)atoi(argv[3]));
		llen = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&local)->sin6_port =
			htons((uint16_t)atoi(argv[3]));
		llen = sizeof(struct sockaddr_in6);
	}
	for (int i = 0; i < n; i++) {
		const char *why;
		double ms = 0;

		if (exchange(ai, (struct sockaddr *)&local, llen, argv[5],
			     reqlen, argv[6], &ms, &why)) {
			fprintf(stderr,
				"kreuse: connection %d of %d from port %s: "
				"%s (%s)\n",
				i + 1, n, argv[3], why, strerror(errno));
			return 1;
		}
		if (ms > slowest)
			slowest = ms;
		if (ms > 100 && ++slow > n / 100) {
			fprintf(stderr,
				"kreuse: %d of the first %d connections from "
				"port %s took over 100 ms to connect\n",
				slow, i + 1, argv[3]);
			return 1;
		}
	}
	printf("kreuse: %d connections from port %s, slowest connect %.1f ms, "
	       "%d over 100 ms\n",
	       n, argv[3], slowest, slow);
	return 0;
}
