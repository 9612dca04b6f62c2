// SPDX-License-Identifier: MIT
/*
 * kclose ADDR PORT N - an ordinary socket program (run it under
 * LD_PRELOAD=libvstack.so): N times, connects to ADDR PORT, sends a line,
 * reads its echo and closes first (its side goes to TIME_WAIT). Prints
 * "closed N" and stays until its standard input closes, so that its
 * TIME_WAITs can be looked at. Exits 1 at the first failure.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct addrinfo *ai, hints = { .ai_socktype = SOCK_STREAM };
	char buf[64];
	int n;

	if (argc != 4 || getaddrinfo(argv[1], argv[2], &hints, &ai)) {
		fprintf(stderr, "usage: kclose ADDR PORT N\n");
		return 2;
	}
	n = atoi(argv[3]);
	for (int i = 0; i < n; i++) {
		int fd = socket(ai->ai_family, SOCK_STREAM, 0);

		if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) ||
		    write(fd, "ping\n", 5) != 5 ||
		    read(fd, buf, sizeof(buf)) <= 0) {
			perror("kclose");
			return 1;
		}
		close(fd);
	}
	printf("closed %d\n", n);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
