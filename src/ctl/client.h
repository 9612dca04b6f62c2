/* SPDX-License-Identifier: MIT */
/* client - vstackctl's side of the control protocol (see client.c). */
#ifndef VS_CTL_CLIENT_H
#define VS_CTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define VS_CTL_COLS 32

/* The pids with a control socket in dir, ascending (sockets of dead
 * processes are removed on the way); their number or -errno. */
int vs__ctl_pids(const char *dir, int *pids, int max);
/* The process to ask: want (> 0) if it runs vstack, else the only one. */
int vs__ctl_pick(const char *dir, int want, int *pid, char *err, size_t errlen);
/* One request; *reply (malloc'd) is the reply's table text. -errno with
 * err saying what went wrong (the process's own error included). */
int vs__ctl_ask(const char *dir, int pid, const char *req, char **reply,
		char *err, size_t errlen);
/* The same, the reply given to fn as it comes: the text of each part in
 * order (whole lines, NUL-terminated, writable; the table's header in
 * the first). fn returns 0, or -errno to stop (-EPROTO: not a table). */
int vs__ctl_ask_parts(const char *dir, int pid, const char *req,
		      int (*fn)(void *ctx, char *text, size_t len), void *ctx,
		      char *err, size_t errlen);

/* A reply's table, split in place. */
struct vs_ctl_table {
	unsigned ncols, nrows;
	char **head;
	char ***rows;
};

int vs__ctl_table(char *text, struct vs_ctl_table *t);
void vs__ctl_table_free(struct vs_ctl_table *t);
/* The index of the column called name, or -1. */
int vs__ctl_col(const struct vs_ctl_table *t, const char *name);
/* Aligned columns (numbers to the right), or a JSON array of objects. */
void vs__ctl_print(const struct vs_ctl_table *t, bool json, FILE *out);

/* The same for a table that comes in pieces (each a vs_ctl_table of the
 * same header): printed as each comes, columns as wide as the first
 * piece's (a wider value later shifts its own line), one JSON array. */
struct vs_ctl_printer {
	bool json, started;
	FILE *out;
	unsigned long nrows;
	size_t w[VS_CTL_COLS];
};
void vs__ctl_print_begin(struct vs_ctl_printer *p, bool json, FILE *out);
void vs__ctl_print_rows(struct vs_ctl_printer *p, const struct vs_ctl_table *t);
void vs__ctl_print_end(struct vs_ctl_printer *p);

#endif
