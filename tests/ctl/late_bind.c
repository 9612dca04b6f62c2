// SPDX-License-Identifier: MIT
/*
 * late_bind - binds a UDP socket on each port read from standard input
 * (one per line) and says "bound PORT" (or "failed PORT"): a program
 * that creates sockets when told, for the ctl.flow test of rules that
 * apply to sockets created after them. Keeps them open until EOF.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int
main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port =
						 htons((uint16_t)atoi(line)) };
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
			printf("failed %d\n", atoi(line));
		else
			printf("bound %d\n", atoi(line));
	}
	return 0;
}
