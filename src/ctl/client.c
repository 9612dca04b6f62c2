// SPDX-License-Identifier: MIT
/*
 * client - vstackctl's side of the control protocol: finding vstack
 * processes (their sockets in the control directory), asking one, and
 * printing a reply's table for people (aligned columns) or programs
 * (JSON).
 *
 * Owns nothing beyond a call. Must never: trust a reply's shape (every
 * row is checked against the header), or wait on a process without a
 * timeout.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/client.h"
#include "base/clock.h"
#include "ctl/proto.h"

#define TIMEOUT_MS 3000

static int
pid_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int
vs__ctl_pids(const char *dir, int *pids, int max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) && n < max) {
		char path[512];
		int pid = vs__ctl_sock_pid(de->d_name);

		if (!pid)
			continue;
		if (vs__ctl_sock_stale(dir, de->d_name)) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path); /* gone: its socket too */
			continue;
		}
		if (kill(pid, 0) && errno == ESRCH)
			continue;
		pids[n++] = pid;
	}
	closedir(d);
	qsort(pids, (size_t)n, sizeof(*pids), pid_cmp);
	return n;
}

int
vs__ctl_pick(const char *dir, int want, int *pid, char *err, size_t errlen)
{
	int pids[256], n = vs__ctl_pids(dir, pids, 256);

	if (n < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(-n));
		return n;
	}
	if (want > 0) {
		for (int i = 0; i < n; i++)
			if (pids[i] == want) {
				*pid = want;
				return 0;
			}
		snprintf(err, errlen,
			 "process %d is not a vstack process (no %s/%d.sock)",
			 want, dir, want);
		return -ESRCH;
	}
	if (n == 1) {
		*pid = pids[0];
		return 0;
	}
	if (!n)
		snprintf(err, errlen,
			 "no vstack process is running (none in %s)", dir);
	else
		snprintf(err, errlen,
			 "%d vstack processes are running: choose one "
			 "with -p PID (vstackctl list)",
			 n);
	return n ? -EINVAL : -ESRCH;
}

int
vs__ctl_ask_parts(const char *dir, int pid, const char *req,
		  int (*fn)(void *ctx, char *text, size_t len), void *ctx,
		  char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *buf = malloc(VS_CTL_MAX + 1);
	bool more = true;
	size_t len;
	int fd, rc;

	if (!buf)
		return -ENOMEM;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%d.sock", dir, pid);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s%s", sa.sun_path, strerror(errno),
			 errno == EACCES ?
				 " (run as the process's user or root)" :
				 "");
		goto out;
	}
	/* A server that refuses answers before reading: the request may
	 * meet a closed socket (EPIPE) with the reply already waiting. */
	rc = vs__ctl_send(fd, VS_CTL_REQUEST, req, strlen(req),
			  vs__now_ms() + TIMEOUT_MS);
	if (rc && rc != -EPIPE && rc != -ECONNRESET)
		goto failed;
	for (bool first = true; more; first = false) {
		char *text = buf;

		rc = vs__ctl_recv_part(fd, buf, VS_CTL_MAX + 1, &len,
				       TIMEOUT_MS, &more, err, errlen);
		if (rc)
			goto failed;
		/* An error may also end a reply sent in parts. */
		if (!strncmp(buf, "error: ", 7)) {
			snprintf(err, errlen, "process %d: %.*s", pid,
				 (int)strcspn(buf + 7, "\n"), buf + 7);
			rc = -EREMOTEIO;
			goto out;
		}
		if (first && strncmp(buf, "ok\n", 3)) {
			snprintf(err, errlen,
				 "process %d: a reply neither ok nor error",
				 pid);
			rc = -EPROTO;
			goto out;
		}
		if (first) {
			text += 3;
			len -= 3;
		}
		rc = fn(ctx, text, len);
		if (rc) {
			snprintf(err, errlen, "process %d: %s", pid,
				 rc == -EPROTO ? "a reply that is not a table" :
						 strerror(-rc));
			goto out;
		}
	}
	goto out;
failed:
	if (rc != -EPROTO)
		snprintf(err, errlen, "process %d: %s", pid, strerror(-rc));
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

struct whole {
	char *p;
	size_t len;
};

static int
append(void *ctx, char *text, size_t len)
{
	struct whole *w = ctx;
	char *p = realloc(w->p, w->len + len + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p + w->len, text, len + 1);
	w->p = p;
	w->len += len;
	return 0;
}

int
vs__ctl_ask(const char *dir, int pid, const char *req, char **reply, char *err,
	    size_t errlen)
{
	struct whole w = { 0 };
	int rc = vs__ctl_ask_parts(dir, pid, req, append, &w, err, errlen);

	if (rc) {
		free(w.p);
		w.p = NULL;
	}
	*reply = w.p;
	return rc;
}

/* --- tables --- */

int
vs__ctl_table(char *text, struct vs_ctl_table *t)
{
	char *line, *save = NULL;

	memset(t, 0, sizeof(*t));
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char **row = calloc(VS_CTL_COLS, sizeof(*row)), *f, *s2 = NULL;
		unsigned n = 0;

		if (!row)
			return -ENOMEM;
		for (f = strtok_r(line, "\t", &s2); f && n < VS_CTL_COLS;
		     f = strtok_r(NULL, "\t", &s2))
			row[n++] = f;
		if (!t->ncols) {
			t->ncols = n;
			t->head = row;
			continue;
		}
		if (n != t->ncols) { /* a row of another shape: not ours */
			free(row);
			return -EPROTO;
		}
		if (t->nrows % 64 == 0) {
			char ***r =
				realloc(t->rows, sizeof(*r) * (t->nrows + 64));

			if (!r) {
				free(row);
				return -ENOMEM;
			}
			t->rows = r;
		}
		t->rows[t->nrows++] = row;
	}
	return t->ncols ? 0 : -EPROTO;
}

void
vs__ctl_table_free(struct vs_ctl_table *t)
{
	for (unsigned i = 0; i < t->nrows; i++)
		free(t->rows[i]);
	free(t->rows);
	free(t->head);
	memset(t, 0, sizeof(*t));
}

int
vs__ctl_col(const struct vs_ctl_table *t, const char *name)
{
	for (unsigned i = 0; i < t->ncols; i++)
		if (!strcmp(t->head[i], name))
			return (int)i;
	return -1;
}

static bool
number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '.')
			return false;
	return true;
}

static void
json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

void
vs__ctl_print_begin(struct vs_ctl_printer *p, bool json, FILE *out)
{
	memset(p, 0, sizeof(*p));
	p->json = json;
	p->out = out;
}

void
vs__ctl_print_rows(struct vs_ctl_printer *p, const struct vs_ctl_table *t)
{
	FILE *out = p->out;

	if (!p->started) { /* the widths of the first rows, and the header */
		p->started = true;
		for (unsigned c = 0; c < t->ncols && c < VS_CTL_COLS; c++) {
			p->w[c] = strlen(t->head[c]);
			for (unsigned r = 0; r < t->nrows; r++)
				if (strlen(t->rows[r][c]) > p->w[c])
					p->w[c] = strlen(t->rows[r][c]);
		}
		if (p->json)
			fputc('[', out);
		else
			for (unsigned c = 0; c < t->ncols; c++)
				fprintf(out, "%-*s%s", (int)p->w[c], t->head[c],
					c + 1 < t->ncols ? "  " : "\n");
	}
	for (unsigned r = 0; r < t->nrows; r++, p->nrows++) {
		if (p->json)
			fprintf(out, "%s{", p->nrows ? ",\n " : "");
		for (unsigned c = 0; c < t->ncols; c++) {
			const char *v = t->rows[r][c];

			if (!p->json) {
				fprintf(out, number(v) ? "%*s%s" : "%-*s%s",
					(int)p->w[c], v,
					c + 1 < t->ncols ? "  " : "\n");
				continue;
			}
			fputs(c ? ", " : "", out);
			json_str(out, t->head[c]);
			fputs(": ", out);
			if (number(v))
				fputs(v, out);
			else
				json_str(out, v);
		}
		if (p->json)
			fputc('}', out);
	}
}

void
vs__ctl_print_end(struct vs_ctl_printer *p)
{
	if (p->json)
		fputs(p->started ? "]\n" : "[]\n", p->out);
}

void
vs__ctl_print(const struct vs_ctl_table *t, bool json, FILE *out)
{
	struct vs_ctl_printer p;

	vs__ctl_print_begin(&p, json, out);
	vs__ctl_print_rows(&p, t);
	vs__ctl_print_end(&p);
}
