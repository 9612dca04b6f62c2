// SPDX-License-Identifier: MIT
/*
 * sem_udp PEER LOCAL - UDP socket semantics as a transcript (see
 * sem_tcp.c): PEER echoes datagrams on port 8000 (tests/sockapi/peer).
 * Run on the kernel and under LD_PRELOAD; the transcripts must match.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sem.h"

static const char *peer;

static void
addr(const char *what, const struct sockaddr_storage *ss, bool port)
{
	printf("%s: %s\n", what, addr_str(ss, port));
}

static struct sockaddr_in
peer4(void)
{
	struct sockaddr_in s = { .sin_family = AF_INET,
				 .sin_port = htons(8000) };

	inet_pton(AF_INET, peer, &s.sin_addr);
	return s;
}

static int
wait_in(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 3000);
}

static void
recv_from(const char *what, int fd, size_t n, int flags)
{
	char b[256];
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	ssize_t k;

	wait_in(fd);
	k = recvfrom(fd, b, n, flags, (struct sockaddr *)&ss, &l);
	if (k < 0) {
		say(what, k);
		return;
	}
	b[k < (ssize_t)sizeof(b) ? k : (ssize_t)sizeof(b) - 1] = 0;
	printf("%s: %zd \"%.*s\"\n", what, k,
	       (int)(k < (ssize_t)n ? k : (ssize_t)n), b);
	addr("  from", &ss, true);
}

/* "what: n" and each message's length (and, received, its text) */
static void
say_msgs(const char *what, int n, const struct mmsghdr *v, bool in)
{
	say(what, n);
	for (int i = 0; i < n; i++)
		if (in)
			printf("  %d: %u \"%.*s\"%s\n", i, v[i].msg_len,
			       (int)v[i].msg_len,
			       (const char *)v[i].msg_hdr.msg_iov->iov_base,
			       v[i].msg_hdr.msg_flags & MSG_TRUNC ?
				       " MSG_TRUNC" :
				       "");
		else
			printf("  %d: %u\n", i, v[i].msg_len);
}

static void
batches(const struct sockaddr_in *p4)
{
	static char big[70000], in[8][64];
	static const char *words[] = { "one",  "two", "three", "four",
				       "five", "six", "seven", "eight" };
	struct sockaddr_in any = { .sin_family = AF_INET,
				   .sin_port = htons(7003) };
	struct sockaddr_storage from[8];
	struct iovec out[8], iv[8], two[2] = { { "gath", 4 }, { "ered", 4 } };
	struct mmsghdr v[8], r[8];
	struct timeval tv = { 0, 200000 };
	struct timespec tmo = { 0, 0 };
	int u = socket(AF_INET, SOCK_DGRAM, 0);

	say("bind", bind(u, (struct sockaddr *)&any, sizeof(any)));
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 8; i++) {
		out[i] = (struct iovec){ (void *)words[i], strlen(words[i]) };
		v[i].msg_hdr.msg_iov = &out[i];
		v[i].msg_hdr.msg_iovlen = 1;
		v[i].msg_hdr.msg_name = (void *)p4;
		v[i].msg_hdr.msg_namelen = sizeof(*p4);
	}
	v[7].msg_hdr.msg_iov = two; /* several pieces: one datagram */
	v[7].msg_hdr.msg_iovlen = 2;
	for (int i = 0; i < 8; i++) {
		iv[i] = (struct iovec){ in[i], i == 5 ? 2 : sizeof(in[i]) };
		memset(&r[i], 0, sizeof(r[i]));
		r[i].msg_hdr.msg_iov = &iv[i];
		r[i].msg_hdr.msg_iovlen = 1;
		r[i].msg_hdr.msg_name = &from[i];
		r[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
	say_msgs("sendmmsg 8", sendmmsg(u, v, 8, 0), v, false);
	/* Blocking, no MSG_WAITFORONE: it waits for all eight. The sixth
	 * has 2 bytes of room. */
	say_msgs("recvmmsg 8", recvmmsg(u, r, 8, 0, NULL), r, true);
	addr("  from", &from[0], true);
	say("recvmmsg empty DONTWAIT", recvmmsg(u, r, 8, MSG_DONTWAIT, NULL));
	say_msgs("sendmmsg 1", sendmmsg(u, v, 1, 0), v, false);
	say_msgs("recvmmsg MSG_WAITFORONE",
		 recvmmsg(u, r, 8, MSG_WAITFORONE, NULL), r, true);
	/* SO_RCVTIMEO ends the wait for the second. */
	setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	say_msgs("sendmmsg 1", sendmmsg(u, v + 1, 1, 0), v + 1, false);
	say_msgs("recvmmsg 4, SO_RCVTIMEO", recvmmsg(u, r, 4, 0, NULL), r,
		 true);
	/* tmo is looked at after each datagram: 0 ends the call after one. */
	say_msgs("sendmmsg 2", sendmmsg(u, v + 2, 2, 0), v + 2, false);
	wait_in(u);
	say_msgs("recvmmsg 8, timeout 0", recvmmsg(u, r, 8, 0, &tmo), r, true);
	say_msgs("recvmmsg 8, WAITFORONE",
		 recvmmsg(u, r, 8, MSG_WAITFORONE, NULL), r, true);
	/* A datagram too large: the ones before it go, it fails, none after. */
	out[1] = (struct iovec){ big, sizeof(big) };
	say_msgs("sendmmsg 3, the second too large", sendmmsg(u, v, 3, 0), v,
		 false);
	say("sendmmsg 1 too large", sendmmsg(u, v + 1, 1, 0));
	say_msgs("recvmmsg 1", recvmmsg(u, r, 1, 0, NULL), r, true);
	say("recvmmsg empty", recvmmsg(u, r, 8, 0, NULL));
	close(u);
}

/* "what: n \"text\"" or "what: -1 ERRNO" */
static void
say_text(const char *what, int fd, int flags)
{
	char b[64];
	ssize_t k = recv(fd, b, sizeof(b), flags);

	if (k < 0)
		say(what, k);
	else
		printf("%s: %zd \"%.*s\"\n", what, k, (int)k, b);
}

/*
 * Datagrams from loopback to a socket bound on the unspecified address:
 * under vstack its kernel half receives them. Says on stderr how many
 * the kernel received (test_sem.sh counts the rest as not offloaded).
 */
static void
loopback(void)
{
	struct sockaddr_in any = { .sin_family = AF_INET,
				   .sin_port = htons(7005) },
			   lo = { .sin_family = AF_INET,
				  .sin_port = htons(7005),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { 2, 0 }; /* a hang ends, and differs */
	static char in[4][64];
	struct iovec iv[4];
	struct mmsghdr r[4];
	int u = socket(AF_INET, SOCK_DGRAM, 0),
	    c = socket(AF_INET, SOCK_DGRAM, 0);
	const char *w[] = { "lo1", "lo2", "lo3", "lo4" };

	memset(r, 0, sizeof(r));
	for (int i = 0; i < 4; i++) {
		iv[i] = (struct iovec){ in[i], sizeof(in[i]) };
		r[i].msg_hdr.msg_iov = &iv[i];
		r[i].msg_hdr.msg_iovlen = 1;
	}
	say("bind", bind(u, (struct sockaddr *)&any, sizeof(any)));
	setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < 4; i++) {
		say("sendto 127.0.0.1",
		    sendto(c, w[i], 3, 0, (struct sockaddr *)&lo, sizeof(lo)));
		if (i == 0)
			say_text("recv blocking", u, 0);
		if (i == 2)
			say_msgs("recvmmsg MSG_WAITFORONE",
				 recvmmsg(u, r, 4, MSG_WAITFORONE, NULL), r,
				 true);
	}
	wait_in(u);
	say_text("recv DONTWAIT", u, MSG_DONTWAIT);
	say_text("recv empty DONTWAIT", u, MSG_DONTWAIT);
	close(c);
	close(u);
	fprintf(stderr, "loopback udp 4\n");
}

int
main(int argc, char **argv)
{
	struct sockaddr_in p4,
		any = { .sin_family = AF_INET, .sin_port = htons(7001) };
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6,
				     .sin6_port = htons(7002) },
			    mapped = { .sin6_family = AF_INET6,
				       .sin6_port = htons(8000) };
	struct sockaddr_storage ss;
	socklen_t l;
	static char big[70000], buf[256];
	struct iovec iov = { buf, 10 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct epoll_event ev = { .events = EPOLLIN }, got;
	struct timeval tv = { 0, 200000 };
	int c, u, d, ep, zero = 0;

	if (argc != 3)
		return 2;
	peer = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	p4 = peer4();

	printf("== connected client\n");
	c = socket(AF_INET, SOCK_DGRAM, 0);
	say("connect", connect(c, (struct sockaddr *)&p4, sizeof(p4)));
	l = sizeof(ss);
	getsockname(c, (struct sockaddr *)&ss, &l);
	addr("getsockname", &ss, false);
	l = sizeof(ss);
	say("getpeername", getpeername(c, (struct sockaddr *)&ss, &l));
	addr("peer", &ss, true);
	say("send", send(c, "hello", 5, 0));
	recv_from("recv", c, 64, 0);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNSPEC;
	say("connect AF_UNSPEC",
	    connect(c, (struct sockaddr *)&ss, sizeof(ss)));
	say("send unconnected", send(c, "x", 1, 0));
	close(c);

	printf("== bound socket\n");
	u = socket(AF_INET, SOCK_DGRAM, 0);
	say("bind", bind(u, (struct sockaddr *)&any, sizeof(any)));
	say("sendto",
	    sendto(u, "abc", 3, 0, (struct sockaddr *)&p4, sizeof(p4)));
	recv_from("recvfrom", u, 64, 0);
	memset(big, 'z', 100);
	say("sendto 100",
	    sendto(u, big, 100, 0, (struct sockaddr *)&p4, sizeof(p4)));
	say("sendto 7",
	    sendto(u, "seventh", 7, 0, (struct sockaddr *)&p4, sizeof(p4)));
	wait_in(u);
	usleep(200000);
	say("recvmsg 10 of 100", recvmsg(u, &m, 0));
	printf("MSG_TRUNC: %d\n", (m.msg_flags & MSG_TRUNC) != 0);
	recv_from("recv peek", u, 64, MSG_PEEK);
	recv_from("recv", u, 64, 0);
	say("sendto 100",
	    sendto(u, big, 100, 0, (struct sockaddr *)&p4, sizeof(p4)));
	wait_in(u);
	say("recv MSG_TRUNC", recv(u, buf, 10, MSG_TRUNC));
	say("recv empty DONTWAIT", recv(u, buf, 10, MSG_DONTWAIT));
	fcntl(u, F_SETFL, O_NONBLOCK);
	say("recv empty nonblocking", recv(u, buf, 10, 0));
	fcntl(u, F_SETFL, 0);
	setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	say("recv timeout", recv(u, buf, 10, 0));
	say("sendto 70000",
	    sendto(u, big, 70000, 0, (struct sockaddr *)&p4, sizeof(p4)));
	say("sendto 65508",
	    sendto(u, big, 65508, 0, (struct sockaddr *)&p4, sizeof(p4)));
	say("send without address", send(u, "x", 1, 0));
	ep = epoll_create1(0);
	ev.data.fd = u;
	say("epoll_ctl", epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev));
	say("epoll_wait empty", epoll_wait(ep, &got, 1, 100));
	say("sendto", sendto(u, "e", 1, 0, (struct sockaddr *)&p4, sizeof(p4)));
	say("epoll_wait", epoll_wait(ep, &got, 1, 3000));
	say("recv", recv(u, buf, 10, 0));
	d = dup(u);
	say("close", close(u));
	say("sendto on dup",
	    sendto(d, "d", 1, 0, (struct sockaddr *)&p4, sizeof(p4)));
	recv_from("recv on dup", d, 64, 0);
	close(d);
	close(ep);

	printf("== batches: sendmmsg, recvmmsg\n");
	batches(&p4);

	printf("== loopback datagrams to a socket bound on any address\n");
	loopback();

	printf("== unbound socket: bound by its first sendto\n");
	u = socket(AF_INET, SOCK_DGRAM, 0);
	say("sendto",
	    sendto(u, "first", 5, 0, (struct sockaddr *)&p4, sizeof(p4)));
	recv_from("recvfrom", u, 64, 0);
	l = sizeof(ss);
	getsockname(u, (struct sockaddr *)&ss, &l);
	addr("getsockname", &ss, false);
	close(u);

	printf("== dual-stack socket\n");
	u = socket(AF_INET6, SOCK_DGRAM, 0);
	setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	say("bind ::", bind(u, (struct sockaddr *)&any6, sizeof(any6)));
	inet_pton(AF_INET6, "::ffff:0.0.0.0", &mapped.sin6_addr);
	memcpy(&mapped.sin6_addr.s6_addr[12], &p4.sin_addr, 4);
	say("sendto v4-mapped",
	    sendto(u, "mapped", 6, 0, (struct sockaddr *)&mapped,
		   sizeof(mapped)));
	recv_from("recvfrom", u, 64, 0);
	close(u);
	return 0;
}
