// SPDX-License-Identifier: MIT
/*
 * ktcp - the kernel's side of bench/stack.sh:
 *   ktcp send ADDR PORT MIB    connect, send MIB MiB, close
 *   ktcp recv PORT             accept one connection, read to its end
 *   ktcp hold ADDR PORT N SECS open N connections, hold them SECS
 *                              seconds, close them
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int
dial(const char *addr, const char *port)
{
	struct addrinfo *ai, hints = { .ai_socktype = SOCK_STREAM };
	int fd;

	if (getaddrinfo(addr, port, &hints, &ai))
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int
main(int argc, char **argv)
{
	static char buf[65536];

	if (argc == 5 && !strcmp(argv[1], "send")) {
		long long left = atoll(argv[4]) << 20;
		int fd = dial(argv[2], argv[3]);

		while (fd >= 0 && left > 0) {
			ssize_t k = write(fd, buf,
					  left < (long long)sizeof(buf) ?
						  (size_t)left :
						  sizeof(buf));
			if (k <= 0)
				return perror("ktcp: write"), 1;
			left -= k;
		}
		return fd < 0 || close(fd) ? 1 : 0;
	}
	if (argc == 3 && !strcmp(argv[1], "recv")) {
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
					   .sin6_port = htons(
						   (uint16_t)atoi(argv[2])) };
		int one = 1, l = socket(AF_INET6, SOCK_STREAM, 0), fd;
		long long got = 0;
		ssize_t k;

		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l, (void *)&sa, sizeof(sa)) || listen(l, 1))
			return perror("ktcp: listen"), 1;
		printf("listening\n");
		fflush(stdout);
		fd = accept(l, NULL, NULL);
		while ((k = read(fd, buf, sizeof(buf))) > 0)
			got += k;
		printf("received %lld bytes\n", got);
		return k < 0;
	}
	if (argc == 6 && !strcmp(argv[1], "hold")) {
		int n = atoi(argv[4]);
		struct rlimit rl = { (rlim_t)n + 64, (rlim_t)n + 64 };
		int *fds = calloc((size_t)n, sizeof(int));

		setrlimit(RLIMIT_NOFILE, &rl);
		for (int i = 0; i < n; i++)
			if ((fds[i] = dial(argv[2], argv[3])) < 0)
				return perror("ktcp: connect"), 1;
		sleep((unsigned)atoi(argv[5]));
		for (int i = 0; i < n; i++)
			close(fds[i]);
		return 0;
	}
	fprintf(stderr, "usage: ktcp send ADDR PORT MIB | recv PORT | "
			"hold ADDR PORT N SECS\n");
	return 2;
}
