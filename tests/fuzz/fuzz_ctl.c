// SPDX-License-Identifier: MIT
/*
 * fuzz_ctl - libFuzzer target: the control protocol as a control server
 * meets it (src/ctl/proto.c). The input is what a local client sends on
 * the control socket: vs__ctl_recv reads and checks the message
 * (header, length, characters), vs__ctl_parse splits the request, and
 * the argument lookups the commands make run on the result. A client
 * may send anything; the server must refuse it with a message, never
 * read past what it got or write past its buffers.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[VS_CTL_MAX + 1];
	static const char *const keys[] = { "loglevel", "engine", "id" };
	struct vs_ctl_req r;
	char err[256];
	size_t len = 0;
	int sv[2];

	/* The request's text alone, as the parser sees it. */
	if (vs__ctl_parse((const char *)data, size, &r, err, sizeof(err)) ==
	    0) {
		(void)vs__ctl_arg(&r, "loglevel");
		(void)vs__ctl_unknown_arg(&r, keys, 3);
		if (r.nargs > VS_CTL_ARGS || !memchr(r.cmd, 0, sizeof(r.cmd)))
			__builtin_trap();
	}
	/* The whole message, through a socket: what fits in its buffer. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return 0;
	if (size && write(sv[0], data, size) < 0) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	close(sv[0]);
	if (vs__ctl_recv(sv[1], VS_CTL_REQUEST, buf, sizeof(buf), &len, 100,
			 err, sizeof(err)) == 0) {
		if (len > VS_CTL_MAX || buf[len] != '\0')
			__builtin_trap();
		(void)vs__ctl_parse(buf, len, &r, err, sizeof(err));
	}
	close(sv[1]);
	return 0;
}
