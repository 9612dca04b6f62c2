// SPDX-License-Identifier: MIT
/*
 * opts_probe - socket options vstack does not do itself, as a program
 * meets them (sockapi.options):
 *
 *   opts_probe ignored PEER PORT
 *       connects to a TCP echo server, sets TCP_CORK (twice) and
 *       SO_RCVBUF on the connection, each must succeed; one byte echoed
 *   opts_probe mcast LOCAL GROUP PORT [before]
 *       binds a UDP socket to PORT, joins GROUP on the interface of
 *       LOCAL (after bind, or "before" it), waits 20 s at most for one
 *       datagram and prints "got TEXT"
 *   opts_probe pktinfo PORT
 *       binds a UDP socket to PORT, asks for IP_PKTINFO, prints
 *       "got TEXT to ADDR on IFINDEX" from the first datagram and its
 *       control data
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
fail(const char *what)
{
	perror(what);
	return 1;
}

static int
ignored(const char *peer, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1, size = 65536;
	char c = 'x';

	inet_pton(AF_INET, peer, &sa.sin_addr);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		return fail("connect");
	for (int i = 0; i < 2; i++)
		if (setsockopt(s, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)))
			return fail("TCP_CORK");
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)))
		return fail("SO_RCVBUF");
	one = 0;
	if (setsockopt(s, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)))
		return fail("TCP_CORK off");
	if (write(s, &c, 1) != 1 || read(s, &c, 1) != 1 || c != 'x')
		return fail("echo");
	printf("echoed\n");
	close(s);
	return 0;
}

static int
bound_udp(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_DGRAM, 0), one = 1;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return s;
}

/* One datagram into buf (NUL-terminated), 20 s at most; its control
 * data into m's. */
static int
one(int s, char *buf, size_t len, struct msghdr *m)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	struct iovec iov = { buf, len - 1 };
	ssize_t n;

	fflush(stdout);
	if (poll(&p, 1, 20000) != 1)
		return -1;
	m->msg_iov = &iov;
	m->msg_iovlen = 1;
	n = recvmsg(s, m, 0);
	if (n < 0)
		return -1;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	return 0;
}

static int
mcast(const char *local, const char *group, int port, int before)
{
	struct ip_mreq mr;
	struct msghdr m = { 0 };
	char buf[256];
	int s;

	inet_pton(AF_INET, group, &mr.imr_multiaddr);
	inet_pton(AF_INET, local, &mr.imr_interface);
	if (before) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons(port) };

		s = socket(AF_INET, SOCK_DGRAM, 0);
		if (setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
			       sizeof(mr)))
			return fail("IP_ADD_MEMBERSHIP");
		if (bind(s, (struct sockaddr *)&sa, sizeof(sa)))
			return fail("bind");
	} else {
		s = bound_udp(port);
		if (s < 0)
			return fail("bind");
		if (setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
			       sizeof(mr)))
			return fail("IP_ADD_MEMBERSHIP");
	}
	printf("joined\n");
	if (one(s, buf, sizeof(buf), &m))
		return fail("no datagram");
	printf("got %s\n", buf);
	return 0;
}

static int
pktinfo(int port)
{
	union {
		char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct msghdr m = { .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b) };
	char buf[256], to[INET_ADDRSTRLEN] = "none";
	int s = bound_udp(port), on = 1, ifindex = 0;

	if (s < 0)
		return fail("bind");
	if (setsockopt(s, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)))
		return fail("IP_PKTINFO");
	printf("asked\n");
	if (one(s, buf, sizeof(buf), &m))
		return fail("no datagram");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			inet_ntop(AF_INET, &pi.ipi_addr, to, sizeof(to));
			ifindex = pi.ipi_ifindex;
		}
	printf("got %s to %s on %d\n", buf, to, ifindex);
	return 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "ignored"))
		return ignored(argv[2], atoi(argv[3]));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "mcast"))
		return mcast(argv[2], argv[3], atoi(argv[4]), argc == 6);
	if (argc == 3 && !strcmp(argv[1], "pktinfo"))
		return pktinfo(atoi(argv[2]));
	fprintf(stderr,
		"usage: opts_probe ignored PEER PORT | mcast LOCAL GROUP "
		"PORT [before] | pktinfo PORT\n");
	return 2;
}
