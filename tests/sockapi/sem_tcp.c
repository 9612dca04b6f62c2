// SPDX-License-Identifier: MIT
/*
 * sem_tcp PEER LOCAL - TCP socket semantics, as a transcript: every call
 * and what it returned (value, errno, data, readiness). Run once on the
 * kernel and once under LD_PRELOAD=libvstack.so; the two transcripts
 * must be identical (tests/sockapi/test_sem.sh). PEER runs
 * tests/sockapi/peer on port 8000 (nothing on 8001); LOCAL is this
 * namespace's address on the same link.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sem.h"

static const char *peer, *local;

static const char *
evs(unsigned ev)
{
	static char b[64];

	b[0] = 0;
	if (ev & EPOLLIN)
		strcat(b, "IN|");
	if (ev & EPOLLPRI)
		strcat(b, "PRI|");
	if (ev & EPOLLOUT)
		strcat(b, "OUT|");
	if (ev & EPOLLERR)
		strcat(b, "ERR|");
	if (ev & EPOLLHUP)
		strcat(b, "HUP|");
	if (ev & EPOLLRDHUP)
		strcat(b, "RDHUP|");
	if (b[0])
		b[strlen(b) - 1] = 0;
	else
		strcpy(b, "-");
	return b;
}

static int
poll1(const char *what, int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc = poll(&p, 1, ms);

	printf("%s: %d %s\n", what, rc, rc > 0 ? evs((unsigned)p.revents) : "");
	return rc;
}

static void
sa_of(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		*len = sizeof(*s4);
	}
}

static int
dial(const char *what, int port, bool nonblock)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	sa_of(peer, port, &ss, &len);
	fd = socket(ss.ss_family, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0),
		    0);
	say(what, connect(fd, (struct sockaddr *)&ss, len));
	return fd;
}

static void
send_str(const char *what, int fd, const char *s)
{
	say(what, send(fd, s, strlen(s), MSG_NOSIGNAL));
}

static void
recv_str(const char *what, int fd, size_t n, int flags)
{
	char b[256];
	ssize_t k = recv(fd, b, n < sizeof(b) ? n : sizeof(b) - 1, flags);

	if (k < 0) {
		say(what, k);
		return;
	}
	b[k] = 0;
	printf("%s: %zd \"%s\"\n", what, k, b);
}

/* Addresses; the peer's port only when it is a fixed one. */
static void
names(int fd, bool peer_port)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &l) == 0)
		printf("getsockname: %s\n", addr_str(&ss, false));
	else
		say("getsockname", -1);
	l = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &l) == 0)
		printf("getpeername: %s\n", addr_str(&ss, peer_port));
	else
		say("getpeername", -1);
}

/* bind() then connect(): the connection comes from the bound port, on
 * the given address and on the unspecified one. */
static void
bound_client(void)
{
	int base = 40000 + getpid() % 20000;

	printf("== bind before connect\n");
	for (int i = 0; i < 2; i++) {
		struct sockaddr_storage to, me, got;
		socklen_t tl, ml, gl = sizeof(got);
		int fd, one = 1, port = base + i;
		char b[64] = "";
		ssize_t k;

		sa_of(peer, 8000, &to, &tl);
		sa_of(i ? (to.ss_family == AF_INET ? "0.0.0.0" : "::") : local,
		      port, &me, &ml);
		fd = socket(to.ss_family, SOCK_STREAM, 0);
		say("SO_REUSEADDR", setsockopt(fd, SOL_SOCKET, SO_REUSEADDR,
					       &one, sizeof(one)));
		say(i ? "bind unspecified" : "bind local address",
		    bind(fd, (struct sockaddr *)&me, ml));
		say("connect", connect(fd, (struct sockaddr *)&to, tl));
		say("getsockname",
		    getsockname(fd, (struct sockaddr *)&got, &gl));
		printf("local port is the bound one: %d\n",
		       ntohs(((struct sockaddr_in *)&got)->sin_port) == port);
		send_str("send", fd, "whoami\n");
		k = recv(fd, b, sizeof(b) - 1, MSG_WAITALL);
		printf("peer sees the bound port: %d\n",
		       k > 5 && atoi(b + 5) == port);
		close(fd);
	}
}

static void
client_basics(void)
{
	int fd = dial("connect", 8000, false), fl, n = 0;
	struct iovec iov[3] = { { "a", 1 }, { "bb", 2 }, { "ccc", 3 } };
	struct timeval tv = { 0, 200000 };

	printf("== client basics\n");
	names(fd, true);
	send_str("send", fd, "echo\n");
	send_str("send", fd, "hello");
	poll1("poll", fd, POLLIN, 2000);
	recv_str("recv peek", fd, 5, MSG_PEEK);
	say("ioctl FIONREAD", ioctl(fd, FIONREAD, &n));
	printf("FIONREAD: %d\n", n);
	recv_str("recv", fd, 5, 0);
	fl = fcntl(fd, F_GETFL);
	say("fcntl F_SETFL", fcntl(fd, F_SETFL, fl | O_NONBLOCK));
	printf("O_NONBLOCK: %d\n", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
	recv_str("recv nonblocking", fd, 5, 0);
	say("fcntl F_SETFL", fcntl(fd, F_SETFL, fl));
	recv_str("recv DONTWAIT", fd, 5, MSG_DONTWAIT);
	say("setsockopt SO_RCVTIMEO",
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	recv_str("recv timeout", fd, 5, 0);
	say("writev", writev(fd, iov, 3));
	recv_str("recv WAITALL", fd, 6, MSG_WAITALL);
	n = 1;
	say("setsockopt TCP_NODELAY",
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &n, sizeof(n)));
	n = 0;
	{
		socklen_t l = sizeof(n);

		say("getsockopt TCP_NODELAY",
		    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &n, &l));
		printf("TCP_NODELAY: %d\n", n != 0);
	}
	poll1("poll out", fd, POLLOUT, 1000);
	say("shutdown WR", shutdown(fd, SHUT_WR));
	recv_str("recv after shutdown", fd, 5, 0);
	poll1("poll end", fd, POLLIN | POLLOUT | POLLRDHUP, 1000);
	recv_str("recv again", fd, 5, 0);
	say("close", close(fd));
}

/* 4 MiB through the echo, non-blocking, driven by poll. */
static void
client_bulk(void)
{
	enum { TOTAL = 4 << 20 };
	static unsigned char out[65536], in[65536];
	int fd = dial("connect", 8000, false);
	long sent = 0, got = 0, bad = 0;

	printf("== client bulk\n");
	send_str("send", fd, "echo\n");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (got < TOTAL) {
		struct pollfd p = {
			.fd = fd,
			.events = (short)(POLLIN | (sent < TOTAL ? POLLOUT : 0))
		};

		if (poll(&p, 1, 10000) <= 0)
			break;
		if ((p.revents & POLLOUT) && sent < TOTAL) {
			size_t want = TOTAL - sent < (long)sizeof(out) ?
					      (size_t)(TOTAL - sent) :
					      sizeof(out);
			ssize_t k;

			for (size_t i = 0; i < want; i++)
				out[i] =
					(unsigned char)((sent + (long)i) % 253);
			k = send(fd, out, want, MSG_NOSIGNAL);
			if (k > 0)
				sent += k;
		}
		if (p.revents & POLLIN) {
			ssize_t k = recv(fd, in, sizeof(in), 0);

			if (k <= 0)
				break;
			for (ssize_t i = 0; i < k; i++)
				bad += in[i] !=
				       (unsigned char)((got + i) % 253);
			got += k;
		}
	}
	printf("bulk: sent %ld got %ld mismatched %ld\n", sent, got, bad);
	say("close", close(fd));
}

static void
client_errors(void)
{
	int fd, e = 0;
	socklen_t l = sizeof(e);

	printf("== client errors\n");
	fd = dial("connect closed port", 8001, false);
	close(fd);
	fd = dial("connect closed port nonblocking", 8001, true);
	poll1("poll", fd, POLLOUT, 2000);
	say("getsockopt SO_ERROR",
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l));
	printf("SO_ERROR: %s\n", e ? errname(e) : "0");
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
	printf("SO_ERROR again: %s\n", e ? errname(e) : "0");
	close(fd);
	fd = dial("connect", 8000, true);
	poll1("poll connecting", fd, POLLOUT, 2000);
	e = -1;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
	printf("SO_ERROR: %s\n", e ? errname(e) : "0");
	say("connect again", connect(fd, NULL, 0) == 0 ? 0 : -1);
	send_str("send", fd, "rst\n");
	poll1("poll reset", fd, POLLIN, 2000);
	recv_str("recv reset", fd, 5, 0);
	recv_str("recv after reset", fd, 5, 0);
	send_str("send after reset", fd, "x");
	close(fd);
	fd = dial("connect", 8000, false);
	send_str("send", fd, "send 3\n");
	recv_str("recv WAITALL", fd, 10, MSG_WAITALL);
	close(fd);
}

/* How the peer saw a connection end: "eof N" or "reset N". */
static void
peer_saw(const char *what, const char *id)
{
	char cmd[64], b[64] = "";
	int c = dial("connect", 8000, false);
	ssize_t k;

	snprintf(cmd, sizeof(cmd), "result %s\n", id);
	send(c, cmd, strlen(cmd), 0);
	k = recv(c, b, sizeof(b) - 1, MSG_WAITALL);
	b[k > 0 ? k : 0] = 0;
	printf("%s: peer saw %s", what, b);
	close(c);
}

static double
secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* SO_LINGER with a timeout: close waits until the peer has what was
 * sent, at most that long. */
static void
linger_timeout(void)
{
	struct linger lg = { 1, 5 };
	static char buf[100000];
	char cmd[64], id[32];
	double t;
	ssize_t k;
	int fd;

	snprintf(id, sizeof(id), "%07d-linger", (int)getpid());
	fd = dial("connect", 8000, false);
	snprintf(cmd, sizeof(cmd), "watch %s\n", id);
	send_str("send", fd, cmd);
	say("setsockopt SO_LINGER 5",
	    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	say("send 100000", send(fd, buf, sizeof(buf), 0));
	t = secs();
	say("close", close(fd));
	printf("close took under 2 s: %d\n", secs() - t < 2);
	peer_saw("close with SO_LINGER 5", id);

	/* The peer reads nothing: the timeout ends the wait. */
	lg.l_linger = 1;
	fd = socket(strchr(peer, ':') ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	say("setsockopt SO_LINGER 1 before connect",
	    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	{
		struct sockaddr_storage ss;
		socklen_t len;

		sa_of(peer, 8000, &ss, &len);
		say("connect", connect(fd, (struct sockaddr *)&ss, len));
	}
	send_str("send", fd, "stall 3\n");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* Until the peer's window is shut too, not just the send buffer. */
	for (int i = 0; i < 20; i++) {
		do
			k = send(fd, buf, sizeof(buf), 0);
		while (k > 0);
		usleep(20000);
	}
	say("send until full", k);
	fcntl(fd, F_SETFL, 0);
	t = secs();
	say("close", close(fd));
	t = secs() - t;
	printf("close waited about 1 s: %d\n", t > 0.8 && t < 2.5);
}

/* Data arriving for a closed socket resets the connection (RFC 1122
 * 4.2.2.13; Linux counts TCPAbortOnData): the peer's next send fails,
 * rather than its bytes being acknowledged and thrown away. Both with
 * data unread at close and with data arriving after it. */
static void
closed_then_data(void)
{
	char id[3][32], cmd[64], b[4];
	int fd;

	for (int i = 0; i < 3; i++)
		snprintf(id[i], sizeof(id[i]), "%07d-chatter%d", (int)getpid(),
			 i);
	fd = dial("connect", 8000, false);
	snprintf(cmd, sizeof(cmd), "chatter %s\n", id[0]);
	send_str("send", fd, cmd);
	say("recv 1", recv(fd, b, 1, MSG_WAITALL));
	usleep(120000); /* more bytes arrive, unread */
	say("close with data unread", close(fd));
	peer_saw("the peer goes on sending", id[0]);

	fd = dial("connect", 8000, false);
	snprintf(cmd, sizeof(cmd), "chatter %s\n", id[1]);
	send_str("send", fd, cmd);
	say("recv 1", recv(fd, b, 1, MSG_WAITALL));
	say("close with nothing unread", close(fd));
	peer_saw("the peer goes on sending", id[1]);

	/* Closed while what it sent still waits for the peer's window
	 * (the peer reads nothing): data arriving then resets too. */
	fd = dial("connect", 8000, false);
	snprintf(cmd, sizeof(cmd), "chatter %s\n", id[2]);
	send_str("send", fd, cmd);
	say("recv 1", recv(fd, b, 1, MSG_WAITALL));
	{
		static char big[16 << 20]; /* past vstack's 4 MiB too */
		ssize_t k = send(fd, big, sizeof(big), MSG_DONTWAIT);

		printf("send 16 MiB without waiting: taken %s\n",
		       k <= 0			? "none" :
		       k < (ssize_t)sizeof(big) ? "some" :
						  "all");
	}
	say("close with data unsent", close(fd));
	peer_saw("the peer goes on sending", id[2]);
}

static void
closes(void)
{
	struct linger lg = { 1, 0 };
	char id[2][32], cmd[64];
	int fd;

	printf("== closes\n");
	for (int i = 0; i < 2; i++)
		snprintf(id[i], sizeof(id[i]), "%07d-%d", (int)getpid(), i);
	fd = dial("connect", 8000, false);
	snprintf(cmd, sizeof(cmd), "watch %s\n", id[0]);
	send_str("send", fd, cmd);
	send_str("send", fd, "data");
	say("close", close(fd));
	peer_saw("close", id[0]);

	fd = dial("connect", 8000, false);
	snprintf(cmd, sizeof(cmd), "watch %s\n", id[1]);
	send_str("send", fd, cmd);
	say("setsockopt SO_LINGER 0",
	    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	usleep(100000);
	say("close", close(fd));
	peer_saw("close with SO_LINGER 0", id[1]);
	linger_timeout();
	closed_then_data();
}

static void
server(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(7000) };
	struct epoll_event ev = { .events = EPOLLIN }, got;
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1, ep, c, a;
	char cmd[80], done[8] = "";

	printf("== server\n");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	say("bind", bind(l, (struct sockaddr *)&sa, sizeof(sa)));
	say("listen", listen(l, 16));
	fcntl(l, F_SETFL, O_NONBLOCK);
	say("accept none", accept(l, NULL, NULL));
	fcntl(l, F_SETFL, 0);
	printf("listener O_NONBLOCK: %d\n",
	       (fcntl(l, F_GETFL) & O_NONBLOCK) != 0);
	ep = epoll_create1(0);
	ev.data.u64 = 42;
	say("epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev));
	say("epoll_ctl ADD again", epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev));
	c = dial("connect control", 8000, false);
	snprintf(cmd, sizeof(cmd), "connect %s 7000\n", local);
	send_str("send", c, cmd);
	say("epoll_wait", epoll_wait(ep, &got, 1, 5000));
	printf("event: %s data %llu\n", evs(got.events),
	       (unsigned long long)got.data.u64);
	a = accept(l, NULL, NULL);
	printf("accept: %s\n", a >= 0 ? "fd" : errname(errno));
	names(a, false);
	recv_str("recv", a, 4, MSG_WAITALL);
	send_str("send", a, "pong");
	recv_str("recv end", a, 4, 0);
	say("close", close(a));
	recv_str("control", c, 5, MSG_WAITALL);
	(void)done;
	say("epoll_wait none", epoll_wait(ep, &got, 1, 100));
	{ /* a loopback client: the kernel's, through the same listener */
		struct sockaddr_in lo = { .sin_family = AF_INET,
					  .sin_port = htons(7000) };
		int lc = socket(AF_INET, SOCK_STREAM, 0);

		lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		say("connect loopback",
		    connect(lc, (struct sockaddr *)&lo, sizeof(lo)));
		poll1("poll listener", l, POLLIN, 2000);
		say("epoll_wait loopback", epoll_wait(ep, &got, 1, 2000));
		a = accept(l, NULL, NULL);
		printf("accept loopback: %s\n", a >= 0 ? "fd" : errname(errno));
		send_str("send", a, "lo");
		recv_str("recv on loopback client", lc, 2, MSG_WAITALL);
		close(a);
		close(lc);
	}
	say("epoll_ctl DEL", epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL));
	say("epoll_ctl DEL again", epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL));
	close(c);
	say("close", close(l));
	close(ep);
}

static void
epoll_modes(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, got[4];
	int fd = dial("connect", 8000, false), ep = epoll_create1(0), d;
	char b[8];

	printf("== epoll modes\n");
	send_str("send", fd, "echo\n");
	ev.data.fd = fd;
	say("epoll_ctl ADD ET", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	send_str("send", fd, "x");
	say("epoll_wait", epoll_wait(ep, got, 4, 2000));
	printf("event: %s\n", evs(got[0].events));
	say("epoll_wait ET again", epoll_wait(ep, got, 4, 100));
	send_str("send", fd, "y");
	usleep(100000);
	say("epoll_wait new data", epoll_wait(ep, got, 4, 2000));
	ev.events = EPOLLIN;
	say("epoll_ctl MOD LT", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev));
	say("epoll_wait LT", epoll_wait(ep, got, 4, 100));
	say("epoll_wait LT again", epoll_wait(ep, got, 4, 100));
	recv_str("recv", fd, 2, MSG_WAITALL);
	say("epoll_wait drained", epoll_wait(ep, got, 4, 100));
	ev.events = EPOLLIN | EPOLLONESHOT;
	say("epoll_ctl MOD ONESHOT", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev));
	send_str("send", fd, "z");
	say("epoll_wait", epoll_wait(ep, got, 4, 2000));
	say("epoll_wait fired", epoll_wait(ep, got, 4, 200));
	say("epoll_ctl MOD rearm", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev));
	say("epoll_wait rearmed", epoll_wait(ep, got, 4, 2000));
	recv_str("recv", fd, 1, 0);
	ev.events = EPOLLIN | EPOLLRDHUP;
	say("epoll_ctl MOD RDHUP", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev));
	d = dup(fd);
	say("close original", close(fd));
	send_str("send on dup", d, "w");
	recv_str("recv on dup", d, 1, 0);
	say("shutdown WR", shutdown(d, SHUT_WR));
	say("epoll_wait", epoll_wait(ep, got, 4, 2000));
	printf("event: %s\n", evs(got[0].events));
	(void)b;
	say("close dup", close(d));
	say("epoll_wait closed", epoll_wait(ep, got, 4, 100));
	{ /* the set outlives one of its fds */
		int ep2 = dup(ep), c = dial("connect", 8000, false);

		say("close the set's first fd", close(ep));
		send_str("send", c, "echo\nq");
		ev.events = EPOLLIN;
		say("epoll_ctl ADD on the dup",
		    epoll_ctl(ep2, EPOLL_CTL_ADD, c, &ev));
		say("epoll_wait on the dup", epoll_wait(ep2, got, 4, 2000));
		close(c);
		close(ep2);
	}
}

/* An epoll set inside another, and given to poll: readable exactly
 * while its sockets are. */
static void
nested_epoll(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, got[4];
	int fd = dial("connect", 8000, false), in = epoll_create1(0),
	    out = epoll_create1(0);
	struct pollfd p = { .fd = in, .events = POLLIN };

	printf("== nested epoll\n");
	send_str("send", fd, "echo\n");
	ev.data.fd = fd;
	say("epoll_ctl ADD socket to inner",
	    epoll_ctl(in, EPOLL_CTL_ADD, fd, &ev));
	ev.data.fd = in;
	say("epoll_ctl ADD inner to outer",
	    epoll_ctl(out, EPOLL_CTL_ADD, in, &ev));
	say("outer epoll_wait idle", epoll_wait(out, got, 4, 100));
	say("poll inner idle", poll(&p, 1, 100));
	send_str("send", fd, "x");
	say("outer epoll_wait", epoll_wait(out, got, 4, 2000));
	printf("outer's event names the inner set: %d\n", got[0].data.fd == in);
	say("poll inner", poll(&p, 1, 2000));
	printf("revents: %s\n", evs((uint32_t)p.revents));
	say("inner epoll_wait", epoll_wait(in, got, 4, 0));
	printf("inner's event names the socket: %d\n", got[0].data.fd == fd);
	recv_str("recv", fd, 1, 0);
	say("outer epoll_wait drained", epoll_wait(out, got, 4, 100));
	say("poll inner drained", poll(&p, 1, 0));
	send_str("send", fd, "y");
	say("outer epoll_wait again", epoll_wait(out, got, 4, 2000));
	recv_str("recv", fd, 1, 0);
	say("epoll_ctl DEL inner from outer",
	    epoll_ctl(out, EPOLL_CTL_DEL, in, NULL));
	close(fd);
	close(in);
	close(out);
}

/* Keepalive: the peer goes silent; a blocked recv ends with ETIMEDOUT
 * after idle + count * interval (1 + 2 * 1 s). */
static void
keepalive(void)
{
	int fd = dial("connect", 8000, false), one = 1, two = 2;
	char b[8];
	double t0;
	ssize_t k;

	printf("== keepalive\n");
	say("SO_KEEPALIVE",
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	say("TCP_KEEPIDLE 1",
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof(one)));
	say("TCP_KEEPINTVL 1",
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &one, sizeof(one)));
	say("TCP_KEEPCNT 2",
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &two, sizeof(two)));
	t0 = secs();
	send_str("send", fd, "vanish 6\n");
	recv_str("recv", fd, 5, MSG_WAITALL);
	k = recv(fd, b, sizeof(b), 0);
	say("recv while the peer is silent", k);
	printf("it took 2.5 to 5.5 s: %d\n",
	       secs() - t0 > 2.5 && secs() - t0 < 5.5);
	close(fd);
	/* The peer's links come back at 6 s. */
	while (secs() - t0 < 7)
		usleep(100000);
}

static void
selects(void)
{
	int fd = dial("connect", 8000, false), p[2];
	fd_set r;
	struct timeval tv = { 2, 0 };
	int rc;

	printf("== select\n");
	if (pipe(p))
		return;
	send_str("send", fd, "echo\n");
	if (write(p[1], "p", 1) != 1)
		return;
	FD_ZERO(&r);
	FD_SET(fd, &r);
	FD_SET(p[0], &r);
	rc = select((fd > p[0] ? fd : p[0]) + 1, &r, NULL, NULL, &tv);
	printf("select: %d socket %d pipe %d\n", rc, FD_ISSET(fd, &r),
	       FD_ISSET(p[0], &r));
	if (read(p[0], &rc, 1) != 1)
		return;
	send_str("send", fd, "s");
	FD_ZERO(&r);
	FD_SET(fd, &r);
	FD_SET(p[0], &r);
	tv = (struct timeval){ 2, 0 };
	rc = select((fd > p[0] ? fd : p[0]) + 1, &r, NULL, NULL, &tv);
	printf("select: %d socket %d pipe %d\n", rc, FD_ISSET(fd, &r),
	       FD_ISSET(p[0], &r));
	close(p[0]);
	close(p[1]);
	close(fd);
}

/* Closing a listener leaves the connections it accepted alone: the
 * peer's last segments (its FIN) still reach the connection. */
static void
listener_closed_first(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(7001) };
	struct timeval tv = { 3, 0 };
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1, c, a;
	char cmd[80];

	printf("== listener closed before its connection\n");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	say("bind", bind(l, (struct sockaddr *)&sa, sizeof(sa)));
	say("listen", listen(l, 16));
	c = dial("connect control", 8000, false);
	snprintf(cmd, sizeof(cmd), "connect %s 7001\n", local);
	send_str("send", c, cmd);
	a = accept(l, NULL, NULL);
	printf("accept: %s\n", a >= 0 ? "fd" : errname(errno));
	say("close listener", close(l));
	setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	recv_str("recv", a, 4, MSG_WAITALL);
	send_str("send", a, "pong");
	recv_str("recv end", a, 4, 0);
	say("close", close(a));
	recv_str("control", c, 5, MSG_WAITALL);
	close(c);
}

/* A process that exits with what it sent still queued and its socket
 * open: the peer gets all of it, then the end of the stream. */
static void
exit_delivers(void)
{
	static char buf[300000];
	char id[32], cmd[64];
	pid_t pid;
	int st = -1;

	printf("== exit with data queued\n");
	snprintf(id, sizeof(id), "%07d-exit", (int)getpid());
	fflush(stdout);
	pid = fork();
	if (pid == 0) { /* prints nothing: the transcript is the parent's */
		struct sockaddr_storage ss;
		socklen_t len;
		int fd;

		sa_of(peer, 8000, &ss, &len);
		fd = socket(ss.ss_family, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&ss, len))
			exit(1);
		snprintf(cmd, sizeof(cmd), "watch %s\n", id);
		if (send(fd, cmd, strlen(cmd), 0) != (ssize_t)strlen(cmd) ||
		    send(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
			exit(1);
		exit(0); /* no close: exit's */
	}
	waitpid(pid, &st, 0);
	printf("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	peer_saw("exit", id);
}

int
main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	peer = argv[1];
	local = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	client_basics();
	bound_client();
	client_bulk();
	client_errors();
	closes();
	server();
	listener_closed_first();
	exit_delivers();
	epoll_modes();
	nested_epoll();
	selects();
	keepalive();
	return 0;
}
