// SPDX-License-Identifier: MIT
/*
 * backlog_probe - a full accept queue (sockapi.backlog):
 *   backlog_probe server PORT     listens with a backlog of 1, prints
 *                                 "listening", never accepts; exits
 *                                 after 20 s
 *   backlog_probe client ADDR PORT N
 *                                 N connections, each waiting 2 s for
 *                                 the server to speak first; prints how
 *                                 each ended: "timeout" (queued, not
 *                                 yet accepted), "reset", "eof" or
 *                                 "refused"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
server(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct pollfd p = { .fd = l, .events = POLLIN };

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1)) {
		perror("listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	/* Waits (vstack takes the listener over here), never accepts. */
	poll(&p, 1, 0);
	sleep(20);
	return 0;
}

static int
client(const char *addr, int port, int n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int fds[64];

	inet_pton(AF_INET, addr, &sa.sin_addr);
	for (int i = 0; i < n && i < 64; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fds[i], (struct sockaddr *)&sa, sizeof(sa))) {
			printf("%d: refused\n", i);
			close(fds[i]);
			fds[i] = -1;
			continue;
		}
		usleep(100000);
	}
	for (int i = 0; i < n && i < 64; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };
		char b[8];
		ssize_t k;

		if (fds[i] < 0)
			continue;
		if (poll(&p, 1, 2000) != 1) {
			printf("%d: timeout\n", i);
			continue;
		}
		k = recv(fds[i], b, sizeof(b), 0);
		printf("%d: %s\n", i,
		       k > 0		   ? "data" :
		       k == 0		   ? "eof" :
		       errno == ECONNRESET ? "reset" :
					     strerror(errno));
	}
	return 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr,
		"usage: backlog_probe server PORT | client ADDR PORT N\n");
	return 2;
}
