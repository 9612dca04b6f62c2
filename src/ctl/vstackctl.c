// SPDX-License-Identifier: MIT
/*
 * vstackctl - what running vstack processes are doing (list, stats,
 * snmp, conns, config, set), asked through their control sockets
 * (ctl/proto.h), and what configuration and policy vstack would use here
 * (config -f, policy).
 *
 * Commands are rows of one table: name, usage, summary and handler. Each
 * handler parses its own options with getopt and prints --help from the
 * same row, so the help text cannot drift from the table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "ctl/client.h"

extern char **environ;

struct command {
	const char *name;
	const char *usage;
	const char *summary;
	int (*run)(const struct command *cmd, int argc, char **argv);
};

static void
cmd_help(const struct command *cmd, FILE *out)
{
	fprintf(out, "usage: vstackctl %s %s\n\n%s\n", cmd->name, cmd->usage,
		cmd->summary);
}

/* Handles -h/--help and -f FILE; returns the index of the first operand. */
static int
parse_common(const struct command *cmd, int argc, char **argv,
	     const char **file)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+hf:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cmd_help(cmd, stdout);
			exit(0);
		case 'f':
			*file = optarg;
			break;
		default:
			cmd_help(cmd, stderr);
			exit(2);
		}
	}
	return optind;
}

/* The environment's configuration, or FILE's in place of VSTACK_CONFIG. */
static int
load(const char *file, struct vs_config *cfg)
{
	char err[1024];
	int rc;

	if (file)
		setenv("VSTACK_CONFIG", file, 1);
	vs__config_init(cfg);
	rc = vs__config_load(cfg, environ, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "vstackctl: %s\n", err);
	return rc;
}

/* --- running processes --- */

struct target {
	int pid; /* -p; 0: the only one */
	bool json; /* -j */
	char dir[VS_CONTROL_DIR_MAX];
};

/* The control directory from the configuration vstack would read here. */
static int
target_dir(struct target *t)
{
	struct vs_config cfg;

	if (load(NULL, &cfg) < 0)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "%s", cfg.control_dir);
	vs__config_free(&cfg);
	return 0;
}

/* -h, -p PID, -j and the command's own options (opts, handled by own);
 * returns the index of the first operand, or -1 after printing why. */
static int
parse_target(const struct command *cmd, int argc, char **argv, const char *opts,
	     struct target *t, int (*own)(int c, const char *arg, void *ctx),
	     void *ctx)
{
	/* Long names of some commands' options (their own() takes them). */
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "state", required_argument, NULL, 'S' },
		{ "port", required_argument, NULL, 'P' },
		{ "peer", required_argument, NULL, 'a' },
		{ "summary", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	char optstring[32];
	char *end;
	int c;

	memset(t, 0, sizeof(*t));
	snprintf(optstring, sizeof(optstring), "+hjp:%s", opts);
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longs, NULL)) != -1) {
		switch (c) {
		case 'h':
			cmd_help(cmd, stdout);
			exit(0);
		case 'j':
			t->json = true;
			break;
		case 'p':
			t->pid = (int)strtol(optarg, &end, 10);
			if (*end || t->pid <= 0) {
				fprintf(stderr, "vstackctl: bad pid '%s'\n",
					optarg);
				return -1;
			}
			break;
		default:
			if (c != '?' && own && own(c, optarg, ctx) == 0)
				break;
			cmd_help(cmd, stderr);
			return -1;
		}
	}
	return target_dir(t) ? -1 : optind;
}

/* Asks the target one request; the reply as a table (free both). */
static int
ask(struct target *t, const char *req, char **text, struct vs_ctl_table *tab)
{
	char err[512];
	int rc = vs__ctl_pick(t->dir, t->pid, &t->pid, err, sizeof(err));

	if (!rc)
		rc = vs__ctl_ask(t->dir, t->pid, req, text, err, sizeof(err));
	if (!rc && vs__ctl_table(*text, tab)) {
		snprintf(err, sizeof(err),
			 "process %d: a reply that is not a table", t->pid);
		rc = -EPROTO;
	}
	if (rc) {
		fprintf(stderr, "vstackctl: %s\n", err);
		free(*text);
		*text = NULL;
	}
	return rc;
}

/* A command that asks and prints the table. */
static int
simple(const struct command *cmd, int argc, char **argv, const char *req)
{
	struct vs_ctl_table tab;
	struct target t;
	char *text;
	int i = parse_target(cmd, argc, argv, "", &t, NULL, NULL);

	if (i < 0 || i != argc) {
		if (i >= 0)
			cmd_help(cmd, stderr);
		return 2;
	}
	if (ask(&t, req, &text, &tab))
		return 1;
	vs__ctl_print(&tab, t.json, stdout);
	vs__ctl_table_free(&tab);
	free(text);
	return 0;
}

struct conns_opts {
	char req[512];
	size_t len;
};

static int
conns_opt(int c, const char *arg, void *ctx)
{
	struct conns_opts *o = ctx;
	const char *key = c == 'S' ? "state" :
			  c == 'P' ? "port" :
			  c == 'a' ? "peer" :
			  c == 's' ? "summary" :
				     NULL;
	int n;

	if (!key)
		return -1;
	if (c == 's')
		arg = "1";
	/* The request's syntax: values of printable ASCII, no spaces. */
	for (const char *s = arg; *s; s++)
		if (*s <= ' ' || *s > '~') {
			fprintf(stderr, "vstackctl: bad value '%s' for --%s\n",
				arg, key);
			return -1;
		}
	n = snprintf(o->req + o->len, sizeof(o->req) - o->len, " %s=%s", key,
		     arg);
	if (n < 0 || (size_t)n >= sizeof(o->req) - o->len ||
	    strlen(arg) > 120) {
		fprintf(stderr, "vstackctl: --%s '%s' is too long\n", key, arg);
		return -1;
	}
	o->len += (size_t)n;
	return 0;
}

/* A streamed table: each part parsed with the first part's header. */
struct conns_print {
	struct vs_ctl_printer pr;
	char *head;
};

static int
conns_part(void *ctx, char *text, size_t len)
{
	struct conns_print *c = ctx;
	struct vs_ctl_table tab;
	char *buf = text;
	int rc;

	(void)len;
	if (!c->head) {
		c->head = strndup(text, strcspn(text, "\n"));
		if (!c->head)
			return -ENOMEM;
	} else if (asprintf(&buf, "%s\n%s", c->head, text) < 0) {
		return -ENOMEM;
	}
	rc = vs__ctl_table(buf, &tab);
	if (!rc)
		vs__ctl_print_rows(&c->pr, &tab);
	vs__ctl_table_free(&tab);
	if (buf != text)
		free(buf);
	fflush(c->pr.out);
	return rc;
}

/* conns: printed as the process sends it, part by part, however many. */
static int
run_conns(const struct command *cmd, int argc, char **argv)
{
	struct conns_opts o = { .req = "conns", .len = 5 };
	struct conns_print c = { .head = NULL };
	struct target t;
	char err[512];
	int rc, i = parse_target(cmd, argc, argv, "sS:P:a:", &t, conns_opt, &o);

	if (i < 0 || i != argc) {
		if (i >= 0)
			cmd_help(cmd, stderr);
		return 2;
	}
	rc = vs__ctl_pick(t.dir, t.pid, &t.pid, err, sizeof(err));
	if (!rc) {
		vs__ctl_print_begin(&c.pr, t.json, stdout);
		rc = vs__ctl_ask_parts(t.dir, t.pid, o.req, conns_part, &c, err,
				       sizeof(err));
		if (!rc)
			vs__ctl_print_end(&c.pr);
	}
	free(c.head);
	if (rc) {
		fflush(stdout);
		fprintf(stderr, "vstackctl: %s\n", err);
		return 1;
	}
	return 0;
}

struct capture_opts {
	const char *file;
	long count;
	int core;
};

static int
capture_opt(int c, const char *arg, void *ctx)
{
	struct capture_opts *o = ctx;
	char *end;

	if (c == 'w') {
		o->file = arg;
		return 0;
	}
	if (c == 'c')
		o->count = strtol(arg, &end, 10);
	else if (c == 'i')
		o->core = (int)strtol(arg, &end, 10);
	else
		return -1;
	if (*end || (c == 'c' && o->count <= 0) || (c == 'i' && o->core < 0)) {
		fprintf(stderr, "vstackctl: bad value '%s' for -%c\n", arg, c);
		return -1;
	}
	return 0;
}

static volatile sig_atomic_t interrupted;

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* The file as the process will open it: absolute. */
static int
absolute(const char *file, char *out, size_t len)
{
	char cwd[4096];

	if (file[0] == '/') {
		snprintf(out, len, "%s", file);
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return snprintf(out, len, "%s/%s", cwd, file) < (int)len ?
		       0 :
		       -ENAMETOOLONG;
}

static int
run_capture(const struct command *cmd, int argc, char **argv)
{
	struct capture_opts o = { .core = -1 };
	struct vs_ctl_table tab;
	struct target t;
	char req[1024], path[512], filter[400] = "", *text;
	int i = parse_target(cmd, argc, argv, "w:c:i:", &t, capture_opt, &o);
	size_t k = 0;
	int rc = 0;

	if (i < 0 || !o.file) {
		if (i >= 0)
			cmd_help(cmd, stderr);
		return 2;
	}
	/* The filter's words joined, spaces as %20 (values have none). */
	for (int w = i; w < argc; w++)
		for (const char *c = argv[w];; c++) {
			char ch = *c ? *c : ' ';

			if (!*c && w + 1 == argc)
				break;
			if (k + 4 >= sizeof(filter)) {
				fprintf(stderr,
					"vstackctl: the filter is too long\n");
				return 2;
			}
			if (ch == ' ' || ch == '%' || ch < 0x20 || ch > 0x7e)
				k += (size_t)snprintf(
					filter + k, sizeof(filter) - k,
					"%%%02X", (unsigned char)ch);
			else
				filter[k++] = ch;
			if (!*c)
				break;
		}
	filter[k] = 0;
	if (absolute(o.file, path, sizeof(path))) {
		fprintf(stderr, "vstackctl: %s: name too long\n", o.file);
		return 2;
	}
	k = (size_t)snprintf(req, sizeof(req), "capture_start file=%s", path);
	if (o.count)
		k += (size_t)snprintf(req + k, sizeof(req) - k, " count=%ld",
				      o.count);
	if (o.core >= 0)
		k += (size_t)snprintf(req + k, sizeof(req) - k, " core=%d",
				      o.core);
	if (filter[0])
		snprintf(req + k, sizeof(req) - k, " filter=%s", filter);
	if (ask(&t, req, &text, &tab))
		return 1;
	vs__ctl_table_free(&tab);
	free(text);
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	if (!t.json)
		fprintf(stderr, "capturing on process %d into %s%s\n", t.pid,
			path, o.count ? "" : " (Ctrl-C stops)");
	for (;;) {
		struct timespec ts = { 0, 100000000 };
		const char *what =
			interrupted ? "capture_stop" : "capture_status";

		nanosleep(&ts, NULL);
		if (ask(&t, what, &text, &tab))
			return 1;
		if (tab.nrows != 1 || tab.ncols != 5) {
			rc = 1;
			break;
		}
		if (strcmp(tab.rows[0][0], "running")) {
			if (t.json)
				vs__ctl_print(&tab, true, stdout);
			else
				printf("%s frames written to %s (%s seen, %s dropped)\n",
				       tab.rows[0][2], tab.rows[0][1],
				       tab.rows[0][3], tab.rows[0][4]);
			break;
		}
		vs__ctl_table_free(&tab);
		free(text);
	}
	vs__ctl_table_free(&tab);
	free(text);
	return rc;
}

/* flow add|del|list: rules the process installs on its NIC. */
static int
run_flow(const struct command *cmd, int argc, char **argv)
{
	struct vs_ctl_table tab;
	struct target t;
	char req[512], *text;
	int i = parse_target(cmd, argc, argv, "", &t, NULL, NULL);
	size_t k;

	if (i < 0 || i >= argc) {
		if (i >= 0)
			cmd_help(cmd, stderr);
		return 2;
	}
	if (!strcmp(argv[i], "list") && i + 1 == argc) {
		snprintf(req, sizeof(req), "flow_list");
	} else if (!strcmp(argv[i], "del") && i + 2 == argc) {
		snprintf(req, sizeof(req), "flow_del id=%s", argv[i + 1]);
	} else if (!strcmp(argv[i], "add")) {
		k = (size_t)snprintf(req, sizeof(req), "flow_add");
		for (i++; i < argc; i++) {
			const char *w = argv[i], *key = NULL;

			if (!strcmp(w, "tcp") || !strcmp(w, "udp")) {
				k += (size_t)snprintf(req + k, sizeof(req) - k,
						      " proto=%s", w);
				continue;
			}
			if (!strcmp(w, "drop") || !strcmp(w, "kernel")) {
				k += (size_t)snprintf(req + k, sizeof(req) - k,
						      " action=%s", w);
				continue;
			}
			if (!strcmp(w, "steer"))
				key = "core";
			else if (!strcmp(w, "src") || !strcmp(w, "from"))
				key = "src";
			else if (!strcmp(w, "dst") || !strcmp(w, "to"))
				key = "dst";
			else if (!strcmp(w, "sport") || !strcmp(w, "dport"))
				key = w;
			if (!key || i + 1 >= argc || strchr(argv[i + 1], ' ') ||
			    strchr(argv[i + 1], '=')) {
				fprintf(stderr,
					"vstackctl: flow add: unexpected '%s'\n",
					w);
				cmd_help(cmd, stderr);
				return 2;
			}
			if (!strcmp(w, "steer"))
				k += (size_t)snprintf(req + k, sizeof(req) - k,
						      " action=steer");
			k += (size_t)snprintf(req + k, sizeof(req) - k,
					      " %s=%s", key, argv[++i]);
		}
		if (k >= sizeof(req)) {
			fprintf(stderr, "vstackctl: flow add: too long\n");
			return 2;
		}
	} else {
		cmd_help(cmd, stderr);
		return 2;
	}
	if (ask(&t, req, &text, &tab))
		return 1;
	if (t.json || !strcmp(argv[argc - 1], "list") ||
	    !strncmp(req, "flow_list", 9))
		vs__ctl_print(&tab, t.json, stdout);
	else if (tab.nrows == 1)
		printf("flow %s %s\n", tab.rows[0][0],
		       !strncmp(req, "flow_add", 8) ? "added" : "deleted");
	vs__ctl_table_free(&tab);
	free(text);
	return 0;
}

/* Where the p-th share of column col's deliveries falls (a row's
 * below_us), or NULL when it has none. */
static const char *
percentile(const struct vs_ctl_table *tab, unsigned col, double p)
{
	double total = 0, seen = 0;

	for (unsigned r = 0; r < tab->nrows; r++)
		total += strtod(tab->rows[r][col], NULL);
	for (unsigned r = 0; total && r < tab->nrows; r++) {
		seen += strtod(tab->rows[r][col], NULL);
		if (seen >= p * total)
			return tab->rows[r][0];
	}
	return NULL;
}

/* The histogram with shares and a bar, where p50/p99/p99.9 fall, and
 * the same per core (how long ready data waited on each). */
static int
run_latency(const struct command *cmd, int argc, char **argv)
{
	static const double ps[] = { 0.5, 0.99, 0.999 };
	struct vs_ctl_table tab;
	struct target t;
	double total = 0;
	char *text;
	int i = parse_target(cmd, argc, argv, "", &t, NULL, NULL);
	unsigned first = 0, last = 0;

	if (i < 0 || i != argc) {
		if (i >= 0)
			cmd_help(cmd, stderr);
		return 2;
	}
	if (ask(&t, "latency", &text, &tab))
		return 1;
	if (t.json || tab.ncols < 2) {
		vs__ctl_print(&tab, true, stdout);
		goto out;
	}
	for (unsigned r = 0; r < tab.nrows; r++) {
		double n = strtod(tab.rows[r][1], NULL);

		total += n;
		if (n && !first)
			first = r + 1;
		if (n)
			last = r + 1;
	}
	printf("process %d: %.0f deliveries, from a frame's arrival to the "
	       "program\n",
	       t.pid, total);
	if (!total)
		goto out;
	printf("%12s %12s %7s  %s\n", "below (us)", "count", "%", "");
	for (unsigned r = first - 1; r < last; r++) {
		double n = strtod(tab.rows[r][1], NULL);
		int bar = (int)(50 * n / total + 0.5);

		printf("%12s %12.0f %6.2f%%  %.*s\n", tab.rows[r][0], n,
		       100 * n / total, bar,
		       "##################################################");
	}
	for (size_t k = 0; k < sizeof(ps) / sizeof(*ps); k++)
		printf("p%g below %s us\n", ps[k] * 100,
		       percentile(&tab, 1, ps[k]));
	for (unsigned c = 2; c < tab.ncols; c++) {
		double n = 0;

		for (unsigned r = 0; r < tab.nrows; r++)
			n += strtod(tab.rows[r][c], NULL);
		if (!n)
			continue;
		printf("%s: %.0f deliveries; p50 below %s us, p99 below %s us, "
		       "p99.9 below %s us\n",
		       tab.head[c], n, percentile(&tab, c, 0.5),
		       percentile(&tab, c, 0.99), percentile(&tab, c, 0.999));
	}
out:
	vs__ctl_table_free(&tab);
	free(text);
	return 0;
}

static int
run_snmp(const struct command *cmd, int argc, char **argv)
{
	return simple(cmd, argc, argv, "snmp");
}

static int
run_list(const struct command *cmd, int argc, char **argv)
{
	struct vs_ctl_table all = { 0 };
	char **keep[256 * 8];
	char *texts[256] = { 0 };
	struct vs_ctl_table tabs[256];
	struct target t;
	int pids[256], n, i = parse_target(cmd, argc, argv, "", &t, NULL, NULL);

	if (i < 0 || i != argc) {
		if (i >= 0)
			cmd_help(cmd, stderr);
		return 2;
	}
	n = vs__ctl_pids(t.dir, pids, 256);
	if (n < 0) {
		fprintf(stderr, "vstackctl: %s: %s\n", t.dir, strerror(-n));
		return 1;
	}
	for (int k = 0; k < n; k++) {
		char err[512];

		memset(&tabs[k], 0, sizeof(tabs[k]));
		if (vs__ctl_ask(t.dir, pids[k], "info", &texts[k], err,
				sizeof(err)) ||
		    vs__ctl_table(texts[k], &tabs[k])) {
			fprintf(stderr, "vstackctl: %s\n", err);
			continue;
		}
		if (!all.ncols) {
			all.ncols = tabs[k].ncols;
			all.head = tabs[k].head;
		}
		for (unsigned r = 0; r < tabs[k].nrows && all.nrows < 256 * 8;
		     r++)
			if (tabs[k].ncols == all.ncols)
				keep[all.nrows++] = tabs[k].rows[r];
	}
	all.rows = keep;
	if (!all.ncols && !t.json)
		printf("no vstack process is running (none in %s)\n", t.dir);
	else if (!all.ncols)
		printf("[]\n");
	else
		vs__ctl_print(&all, t.json, stdout);
	for (int k = 0; k < n; k++) {
		vs__ctl_table_free(&tabs[k]);
		free(texts[k]);
	}
	return 0;
}

struct stats_opts {
	double interval;
	long count;
	int core;
};

static int
stats_opt(int c, const char *arg, void *ctx)
{
	struct stats_opts *o = ctx;
	char *end;

	if (c == 'i')
		o->interval = strtod(arg, &end);
	else if (c == 'n')
		o->count = strtol(arg, &end, 10);
	else if (c == 'c')
		o->core = (int)strtol(arg, &end, 10);
	else
		return -1;
	if (*end || (c == 'i' && o->interval <= 0) ||
	    (c == 'n' && o->count <= 0) || (c == 'c' && o->core < 0)) {
		fprintf(stderr, "vstackctl: bad value '%s' for -%c\n", arg, c);
		return -1;
	}
	return 0;
}

/* Keeps only the rows of core (column "core"), if core >= 0. */
static void
only_core(struct vs_ctl_table *tab, int core)
{
	int c = vs__ctl_col(tab, "core");
	unsigned k = 0;

	if (core < 0 || c < 0)
		return;
	for (unsigned r = 0; r < tab->nrows; r++)
		if (atoi(tab->rows[r][c]) == core)
			tab->rows[k++] = tab->rows[r];
		else
			free(tab->rows[r]);
	tab->nrows = k;
}

static double
cell(const struct vs_ctl_table *t, unsigned r, const char *col)
{
	int c = vs__ctl_col(t, col);

	return c < 0 ? 0 : strtod(t->rows[r][c], NULL);
}

/* Rates between two samples of the same process, per core, and their
 * total when there are several cores. */
static void
print_rates(const struct vs_ctl_table *a, const struct vs_ctl_table *b,
	    double secs, bool json)
{
	static const char *const drops[] = { "drop_rx_no_buf", "drop_tx_full",
					     "drop_tx_no_buf", "drop_no_route",
					     "drop_neigh",     "drop_not_ip",
					     "drop_raw_hook",  "drop_nic" };
	struct vs_ctl_table out = { 0 };
	static char *head[] = {
		"core",	  "device",  "rx_pps",	 "rx_mbps",
		"tx_pps", "tx_mbps", "drops_ps", "pool_used_pct"
	};
	char ***rows = calloc(b->nrows + 1, sizeof(*rows));
	char(*cells)[8][32] = calloc(b->nrows + 1, sizeof(*cells));
	char *ptrs[65][8];
	double tot[8] = { 0 };

	if (!rows || !cells || b->nrows > 64 || a->nrows != b->nrows) {
		fprintf(stderr, "vstackctl: the process's cores changed\n");
		goto out;
	}
	out.ncols = 8;
	out.head = head;
	out.rows = rows;
	for (unsigned r = 0; r < b->nrows; r++) {
		double d = 0;

		for (size_t k = 0; k < sizeof(drops) / sizeof(*drops); k++)
			d += cell(b, r, drops[k]) - cell(a, r, drops[k]);
		snprintf(cells[r][0], 32, "%s",
			 b->rows[r][vs__ctl_col(b, "core")]);
		snprintf(cells[r][1], 32, "%s",
			 b->rows[r][vs__ctl_col(b, "device")]);
		snprintf(cells[r][2], 32, "%.0f",
			 (cell(b, r, "rx_packets") - cell(a, r, "rx_packets")) /
				 secs);
		snprintf(cells[r][3], 32, "%.3f",
			 (cell(b, r, "rx_bytes") - cell(a, r, "rx_bytes")) * 8 /
				 secs / 1e6);
		snprintf(cells[r][4], 32, "%.0f",
			 (cell(b, r, "tx_packets") - cell(a, r, "tx_packets")) /
				 secs);
		snprintf(cells[r][5], 32, "%.3f",
			 (cell(b, r, "tx_bytes") - cell(a, r, "tx_bytes")) * 8 /
				 secs / 1e6);
		snprintf(cells[r][6], 32, "%.0f", d / secs);
		snprintf(cells[r][7], 32, "%.1f",
			 cell(b, r, "pool_size") > 0 ?
				 100 * (1 - cell(b, r, "pool_free") /
						    cell(b, r, "pool_size")) :
				 0);
		for (int c = 0; c < 8; c++) {
			ptrs[r][c] = cells[r][c];
			tot[c] += c >= 2 && c <= 6 ? strtod(cells[r][c], NULL) :
						     0;
		}
		rows[r] = ptrs[r];
		out.nrows++;
	}
	if (b->nrows > 1) {
		unsigned r = b->nrows;

		snprintf(cells[r][0], 32, "total");
		snprintf(cells[r][1], 32, "-");
		for (int c = 2; c <= 6; c++)
			snprintf(cells[r][c], 32,
				 c == 3 || c == 5 ? "%.3f" : "%.0f", tot[c]);
		snprintf(cells[r][7], 32, "-");
		for (int c = 0; c < 8; c++)
			ptrs[r][c] = cells[r][c];
		rows[r] = ptrs[r];
		out.nrows++;
	}
	vs__ctl_print(&out, json, stdout);
out:
	free(rows);
	free(cells);
}

static int
run_stats(const struct command *cmd, int argc, char **argv)
{
	struct stats_opts o = { .core = -1 };
	struct vs_ctl_table prev = { 0 }, cur;
	char *prev_text = NULL, *text;
	struct timespec t0, t1;
	struct target t;
	int i = parse_target(cmd, argc, argv, "i:n:c:", &t, stats_opt, &o);

	if (i < 0 || i != argc) {
		if (i >= 0)
			cmd_help(cmd, stderr);
		return 2;
	}
	if (ask(&t, "stats", &text, &cur))
		return 1;
	only_core(&cur, o.core);
	if (!o.interval) { /* the counters since the start */
		vs__ctl_print(&cur, t.json, stdout);
		vs__ctl_table_free(&cur);
		free(text);
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long k = 0; !o.count || k < o.count; k++) {
		struct timespec ts = {
			(time_t)o.interval,
			(long)((o.interval - (time_t)o.interval) * 1e9)
		};

		vs__ctl_table_free(&prev);
		free(prev_text);
		prev = cur;
		prev_text = text;
		nanosleep(&ts, NULL);
		if (ask(&t, "stats", &text, &cur)) {
			vs__ctl_table_free(&prev);
			free(prev_text);
			return 1;
		}
		only_core(&cur, o.core);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!t.json)
			printf("%s-- process %d, %.1f s\n", k ? "\n" : "",
			       t.pid,
			       (double)(t1.tv_sec - t0.tv_sec) +
				       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		print_rates(&prev, &cur, o.interval, t.json);
	}
	vs__ctl_table_free(&prev);
	free(prev_text);
	vs__ctl_table_free(&cur);
	free(text);
	return 0;
}

static int
run_set(const struct command *cmd, int argc, char **argv)
{
	struct vs_ctl_table tab;
	struct target t;
	char req[160], *text;
	int i = parse_target(cmd, argc, argv, "", &t, NULL, NULL);

	if (i < 0 || argc - i != 2 || strcmp(argv[i], "loglevel")) {
		if (i >= 0)
			cmd_help(cmd, stderr);
		return 2;
	}
	if (vs__log_level_parse(argv[i + 1]) < 0) {
		fprintf(stderr,
			"vstackctl: bad level '%s' (accepted: error, warn, "
			"info, debug)\n",
			argv[i + 1]);
		return 2;
	}
	snprintf(req, sizeof(req), "set loglevel=%s", argv[i + 1]);
	if (ask(&t, req, &text, &tab))
		return 1;
	if (t.json)
		vs__ctl_print(&tab, true, stdout);
	else
		printf("process %d: log level %s\n", t.pid, argv[i + 1]);
	vs__ctl_table_free(&tab);
	free(text);
	return 0;
}

/* A process's configuration, in the file's format (or JSON). */
static int
process_config(struct target *t)
{
	struct vs_ctl_table tab;
	char *text;

	if (ask(t, "config", &text, &tab))
		return 1;
	if (t->json) {
		vs__ctl_print(&tab, true, stdout);
	} else {
		printf("# process %d\n", t->pid);
		for (unsigned r = 0; r < tab.nrows; r++)
			printf("%-11s = %-20s # %s\n", tab.rows[r][0],
			       tab.rows[r][1], tab.rows[r][2]);
	}
	vs__ctl_table_free(&tab);
	free(text);
	return 0;
}

static int
config_opt(int c, const char *arg, void *ctx)
{
	if (c != 'f')
		return -1;
	*(const char **)ctx = arg;
	return 0;
}

static int
run_config(const struct command *cmd, int argc, char **argv)
{
	const char *file = NULL;
	struct vs_config cfg;
	struct target t;
	int pid, i = parse_target(cmd, argc, argv, "f:", &t, config_opt, &file);
	char err[256];

	if (i < 0 || i != argc) {
		if (i >= 0)
			cmd_help(cmd, stderr);
		return 2;
	}
	/* A running process's, unless a file is named or none runs. */
	if (!file && (t.pid || !vs__ctl_pick(t.dir, 0, &pid, err, sizeof(err))))
		return process_config(&t);
	if (load(file, &cfg) < 0)
		return 1;
	vs__config_dump(&cfg, stdout);
	vs__config_free(&cfg);
	return 0;
}

static int
parse_role(const char *s, enum vs_role *role)
{
	if (strcmp(s, "tcp_server") == 0)
		*role = VS_ROLE_TCP_SERVER;
	else if (strcmp(s, "tcp_client") == 0)
		*role = VS_ROLE_TCP_CLIENT;
	else if (strcmp(s, "udp") == 0)
		*role = VS_ROLE_UDP;
	else
		return -EINVAL;
	return 0;
}

static int
parse_sockaddr(const char *addr, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char *end;
	unsigned long p = strtoul(port, &end, 10);

	if (!*port || *end || p > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int
run_policy(const struct command *cmd, int argc, char **argv)
{
	const char *file = NULL;
	struct sockaddr_storage ss;
	struct vs_config cfg;
	enum vs_role role;
	char rule[128];
	int i = parse_common(cmd, argc, argv, &file), matched;

	if (argc - i != 3) {
		cmd_help(cmd, stderr);
		return 2;
	}
	if (parse_role(argv[i], &role) < 0) {
		fprintf(stderr,
			"vstackctl: bad role '%s' (accepted: "
			"tcp_server, tcp_client, udp)\n",
			argv[i]);
		return 2;
	}
	if (parse_sockaddr(argv[i + 1], argv[i + 2], &ss) < 0) {
		fprintf(stderr, "vstackctl: bad address or port '%s' '%s'\n",
			argv[i + 1], argv[i + 2]);
		return 2;
	}
	if (load(file, &cfg) < 0)
		return 1;
	if (vs__policy_decide(&cfg.policy, role, (struct sockaddr *)&ss,
			      &matched) == VS_POLICY_KERNEL)
		printf("kernel");
	else
		printf("offload");
	if (matched >= 0) {
		vs__policy_rule_format(&cfg.policy.rules[matched], rule,
				       sizeof(rule));
		printf(" (rule %d: %s)\n", matched + 1, rule);
	} else {
		printf(" (no rule matched: default)\n");
	}
	vs__config_free(&cfg);
	return 0;
}

static const struct command commands[] = {
	{ "list", "[-j]",
	  "The running vstack processes: pid, program, mode (preload or\n"
	  "native), device and netdev, the cores of its engines, uptime.",
	  run_list },
	{ "stats", "[-p PID] [-j] [-c CORE] [-i SECS [-n COUNT]]",
	  "Per-core counters of a process: packets and bytes received and\n"
	  "sent, drops by reason, buffer pool use, engine loops and sleeps,\n"
	  "lock_waits (a thread found the engine's lock held).\n"
	  "With -i, rates every SECS seconds (packets/s, Mbit/s, drops/s,\n"
	  "pool use), COUNT times or until interrupted. -c: one core only.",
	  run_stats },
	{ "snmp", "[-p PID] [-j]",
	  "IP, TCP and UDP counters of a process, as netstat -s names them\n"
	  "(the ones vstack counts).",
	  run_snmp },
	{ "conns",
	  "[-p PID] [-j] [-s] [--state STATE] [--port PORT] [--peer ADDR]",
	  "A process's TCP and UDP sockets, as ss -tuna shows them: state,\n"
	  "local and peer address, send and receive queues, core, device;\n"
	  "printed as the process sends them, any number. --state (-S) as\n"
	  "ss names it (ESTAB, SYN-RECV, TIME-WAIT, LISTEN, UNCONN...), --port\n"
	  "(-P) local or peer, --peer (-a) the peer's address. -s (--summary):\n"
	  "how many in each state, per core and in all.",
	  run_conns },
	{ "latency", "[-p PID] [-j]",
	  "How long received data waited, from its frame's arrival at the\n"
	  "engine to its delivery to the program (a recv, or the native API's\n"
	  "callback): a histogram in powers of two of microseconds, and where\n"
	  "the 50th, 99th and 99.9th percentiles fall.",
	  run_latency },
	{ "flow",
	  "[-p PID] [-j] add [tcp|udp] [src ADDR[/LEN]] [dst ADDR[/LEN]]\n"
	  "                  [sport PORT[/MASK]] [dport PORT[/MASK]] "
	  "drop|steer CORE|kernel\n"
	  "       vstackctl flow [-p PID] del ID\n"
	  "       vstackctl flow [-p PID] [-j] list",
	  "Rules on the process's NIC, at run time: drop the matching frames\n"
	  "at the NIC, or steer them to a core's queue; list shows each rule\n"
	  "and the frames it matched (dropped ones included). kernel leaves\n"
	  "the traffic to the kernel: sockets the process creates from now\n"
	  "on whose frames the rule covers stay the kernel's (frames no rule\n"
	  "takes are the kernel's); it changes no existing socket. The rules\n"
	  "go with the process.",
	  run_flow },
	{ "capture", "[-p PID] [-j] -w FILE [-c COUNT] [-i CORE] [FILTER...]",
	  "Write the frames a process receives and sends (on every core, or\n"
	  "CORE's) that FILTER passes (tcpdump's syntax, libpcap's compiler)\n"
	  "into FILE, a pcap file for tcpdump -r or tshark -r, until COUNT\n"
	  "frames or Ctrl-C. The process writes FILE: it must be able to.",
	  run_capture },
	{ "config", "[-p PID] [-j] [-f FILE]",
	  "The effective configuration and where each value came from: the\n"
	  "running process's (-p, or the only one), else what vstack would\n"
	  "read here (defaults, FILE or $VSTACK_CONFIG or /etc/vstack/vstack.conf,\n"
	  "then VSTACK_* variables). Exits 1 with the precise error if that\n"
	  "configuration is invalid.",
	  run_config },
	{ "set", "[-p PID] loglevel error|warn|info|debug",
	  "Change a running process's log level.", run_set },
	{ "policy", "[-f FILE] tcp_server|tcp_client|udp ADDRESS PORT",
	  "Say whether a socket in this role at ADDRESS:PORT (local for\n"
	  "tcp_server and udp, remote for tcp_client) would be offloaded or\n"
	  "left to the kernel, and which rule decided.",
	  run_policy },
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: vstackctl COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < VS_ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name,
			commands[i].usage);
	fprintf(out,
		"\nA process: -p PID, or the only vstack process running. -j: JSON.\n"
		"'vstackctl COMMAND --help' describes a command.\n");
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE,
	       SIG_IGN); /* a closed control socket is an error, not death */
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < VS_ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(&commands[i], argc - 1,
					       argv + 1);
	fprintf(stderr, "vstackctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
