/* SPDX-License-Identifier: MIT */
/*
 * What the sockapi semantics programs share: printing results the same
 * way on the kernel and on vstack, and reaching tests/sockapi/peer.
 */
#ifndef VS_TEST_SEM_H
#define VS_TEST_SEM_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static inline const char *
errname(int e)
{
	switch (e) {
	case EAGAIN:
		return "EAGAIN";
	case EINPROGRESS:
		return "EINPROGRESS";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case ECONNRESET:
		return "ECONNRESET";
	case EPIPE:
		return "EPIPE";
	case ENOTCONN:
		return "ENOTCONN";
	case EISCONN:
		return "EISCONN";
	case EALREADY:
		return "EALREADY";
	case EINVAL:
		return "EINVAL";
	case EBADF:
		return "EBADF";
	case EEXIST:
		return "EEXIST";
	case ENOENT:
		return "ENOENT";
	case EINTR:
		return "EINTR";
	case EMSGSIZE:
		return "EMSGSIZE";
	case EDESTADDRREQ:
		return "EDESTADDRREQ";
	default:
		return strerror(e);
	}
}

/* "what: rc" or "what: -1 ERRNO" */
static inline long
say(const char *what, long rc)
{
	if (rc < 0)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, rc);
	return rc;
}

/* "ADDR port N", or "ADDR port set" when the port is not a fixed one. */
static inline const char *
addr_str(const struct sockaddr_storage *ss, bool port)
{
	static char b[80];
	char a[INET6_ADDRSTRLEN];
	int p;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, a,
			  sizeof(a));
		p = ntohs(((struct sockaddr_in *)ss)->sin_port);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ss)->sin6_addr, a,
			  sizeof(a));
		p = ntohs(((struct sockaddr_in6 *)ss)->sin6_port);
	}
	if (port)
		snprintf(b, sizeof(b), "%s port %d", a, p);
	else
		snprintf(b, sizeof(b), "%s port %s", a, p ? "set" : "0");
	return b;
}

/* A connection to the peer's echo (IPv4 address peer, port 8000), or -1. */
static inline int
echo_conn(const char *peer)
{
	struct sockaddr_in p = { .sin_family = AF_INET,
				 .sin_port = htons(8000) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, peer, &p.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&p, sizeof(p)) ||
	    send(fd, "echo\n", 5, 0) != 5) {
		perror("echo");
		return -1;
	}
	return fd;
}

#if defined(__SANITIZE_THREAD__)
#define SEM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SEM_TSAN 1
#endif
#endif
#ifdef SEM_TSAN
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
#endif

/*
 * Between these, ThreadSanitizer looks away from the calling thread: for
 * a close(), or a new socket taking the closed one's number, while
 * another thread is in a call on that fd. The race is what the tests
 * are about (as on the kernel). It hides vstack's close and socket paths
 * in these calls only: the racing calls stay seen, and those paths are
 * seen in every other call of the tests.
 */
static inline void
sem_race_begin(void)
{
#ifdef SEM_TSAN
	__tsan_ignore_thread_begin();
#endif
}

static inline void
sem_race_end(void)
{
#ifdef SEM_TSAN
	__tsan_ignore_thread_end();
#endif
}

#endif
