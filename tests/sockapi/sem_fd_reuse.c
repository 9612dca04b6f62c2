// SPDX-License-Identifier: MIT
/*
 * sem_fd_reuse PEER LOCAL - calls that close a socket's number without
 * close(2), as a transcript (see sem_tcp.c): close_range, closefrom,
 * fclose of an fdopen'ed socket, dup2 and dup3 onto it. After each, a
 * file takes the freed number: what is written to the number must reach
 * the file, not the old connection (a stale entry would send it there). Run on the kernel and under LD_PRELOAD; the transcripts must
 * match (issue 19: stale fd entries).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sem.h"

static const char *peer;

/* A connection to the peer's echo service, at the lowest free number. */
static int
conn(void)
{
	struct sockaddr_in s = { .sin_family = AF_INET,
				 .sin_port = htons(8000) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char b[8];

	inet_pton(AF_INET, peer, &s.sin_addr);
	if (connect(fd, (struct sockaddr *)&s, sizeof(s)) ||
	    write(fd, "echo\nab", 7) != 7 || read(fd, b, 2) != 2) {
		printf("connect: failed\n");
		exit(1);
	}
	return fd;
}

/* The freed number fd is taken by a new file: writing to fd must reach
 * the file. */
static void
reuse(const char *how, int fd)
{
	char path[64], b[16] = "";
	int w, r;
	ssize_t n;

	snprintf(path, sizeof(path), "/tmp/sem-fd-reuse-%d", (int)getpid());
	w = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	printf("%s: a file got the number back: %s\n", how,
	       w == fd ? "yes" : "no");
	say("write to the number", write(fd, "x", 1));
	close(w);
	r = open(path, O_RDONLY);
	n = read(r, b, sizeof(b) - 1);
	printf("%s: the file holds %zd byte%s '%s'\n", how, n,
	       n == 1 ? "" : "s", n > 0 ? b : "");
	close(r);
	unlink(path);
}

/* A pipe's write end duplicated onto a socket's number (dup2, or dup3
 * with O_CLOEXEC): a write to the number reaches the pipe. */
static void
dup_onto(const char *how, bool three)
{
	char b[4] = "";
	int fd = conn(), p[2];

	printf("== %s onto a socket\n", how);
	if (pipe(p)) {
		printf("%s: pipe failed\n", how);
		return;
	}
	say(how, (three ? dup3(p[1], fd, O_CLOEXEC) : dup2(p[1], fd)) == fd ?
			 0 :
			 -1);
	say("write", write(fd, "y", 1));
	say("the pipe", read(p[0], b, 1));
	printf("the pipe got '%s'\n", b);
	close(fd);
	close(p[0]);
	close(p[1]);
}

int
main(int argc, char **argv)
{
	int fd;
	FILE *f;

	if (argc != 3)
		return 2;
	peer = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("== close_range\n");
	fd = conn();
	say("close_range", close_range((unsigned)fd, (unsigned)fd, 0));
	reuse("close_range", fd);

	printf("== close_range over several\n");
	fd = conn();
	{
		int fd2 = conn();

		say("close_range", close_range((unsigned)fd, (unsigned)fd2, 0));
	}
	reuse("close_range several", fd);

	printf("== closefrom\n");
	fd = conn();
	closefrom(fd);
	printf("closefrom: done\n");
	reuse("closefrom", fd);

	printf("== fclose of fdopen\n");
	fd = conn();
	f = fdopen(fd, "r+");
	say("fclose", f ? fclose(f) : -1);
	reuse("fclose", fd);

	dup_onto("dup2", false);
	dup_onto("dup3", true);
	return 0;
}
