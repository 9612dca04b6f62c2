/* SPDX-License-Identifier: MIT */
/*
 * proto - the control protocol between vstackctl and a vstack process's
 * control server (a UNIX stream socket DIR/PID.sock).
 *
 * A message is a 12-byte header, then `len` bytes of text:
 *
 *   "VSCT"  version (1)  kind (1 request, 2 reply)  0 0  len (u32, LE)
 *
 * A request is one command word and key=value arguments, separated by
 * single spaces: printable ASCII, words of [a-z0-9_], values without
 * spaces, at most 16 arguments ("conns", "set loglevel=debug"). A reply is
 * "ok\n" then a table, or "error: MESSAGE\n": the table's first line
 * names its columns, each further line is a row, fields separated by
 * tabs. A reply longer than one message (conns: any number of rows)
 * comes in parts: messages of kind 3, each whole lines, then the last of
 * kind 2; their payloads in order are the reply.
 *
 * Owns nothing but the message format. Must never: accept a message it
 * did not check whole (magic, version, kind, reserved bytes, length,
 * characters, argument syntax); block without a timeout.
 */
#ifndef VS_CTL_PROTO_H
#define VS_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_CTL_VERSION 1
#define VS_CTL_HDR 12
#define VS_CTL_MAX 65536 /* payload bytes */
#define VS_CTL_ARGS 16

enum { VS_CTL_REQUEST = 1, VS_CTL_REPLY = 2, VS_CTL_PART = 3 };

struct vs_ctl_req {
	char cmd[32];
	unsigned nargs;
	struct {
		char key[32];
		char val[128];
	} args[VS_CTL_ARGS];
};

/* Writes one message whole by deadline_ms (vs__now_ms's clock); 0,
 * -ETIMEDOUT (the peer did not read it in time) or -errno. */
int vs__ctl_send(int fd, int kind, const char *payload, size_t len,
		 uint64_t deadline_ms);
/* Reads one message of `kind` into buf (cap bytes, NUL added: cap must
 * exceed the payload), waiting at most timeout_ms for all of it. 0, or
 * -EPROTO (not a message of ours: err says why), -ETIMEDOUT, -errno. */
int vs__ctl_recv(int fd, int kind, char *buf, size_t cap, size_t *len,
		 int timeout_ms, char *err, size_t errlen);
/* A reply's next message, a part (*more true) or the last. */
int vs__ctl_recv_part(int fd, char *buf, size_t cap, size_t *len,
		      int timeout_ms, bool *more, char *err, size_t errlen);
/* Parses a request's text; 0 or -EINVAL with err saying what is wrong. */
int vs__ctl_parse(const char *p, size_t len, struct vs_ctl_req *r, char *err,
		  size_t errlen);
/* The value of key, or NULL. */
const char *vs__ctl_arg(const struct vs_ctl_req *r, const char *key);
/* The first argument whose key is not one of keys (n of them), or NULL. */
const char *vs__ctl_unknown_arg(const struct vs_ctl_req *r,
				const char *const *keys, size_t n);

/* The pid a control socket's file name "PID.sock" names, or 0. */
int vs__ctl_sock_pid(const char *name);
/* Whether dir/name is a control socket left by a process that is gone:
 * its pid does not exist and nothing listens on it (a process that got
 * the pid again may serve that name already). */
bool vs__ctl_sock_stale(const char *dir, const char *name);

/* A growing text buffer for replies. */
struct vs_ctl_buf {
	char *p;
	size_t len, cap;
	bool failed; /* out of memory or over VS_CTL_MAX */
};

void vs__ctl_printf(struct vs_ctl_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vs__ctl_buf_free(struct vs_ctl_buf *b);

#endif
