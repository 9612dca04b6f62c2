// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <strings.h>
#include <unistd.h>

#include "base/compiler.h"
#include "base/config.h"
#include "base/log.h"

#define ENV_PREFIX "VSTACK_"

typedef int (*setter_fn)(struct vs_config *cfg, const char *value, char *why,
			 size_t whylen);

struct key_desc {
	const char *name;
	const char *env;
	const char *accepted; /* shown in every error about this key */
	setter_fn set;
};

static int
set_log(struct vs_config *cfg, const char *v, char *why, size_t whylen)
{
	int level = vs__log_level_parse(v);

	(void)why;
	(void)whylen;
	if (level < 0)
		return level;
	cfg->log_level = level;
	return 0;
}

static int
set_device(struct vs_config *cfg, const char *v, char *why, size_t whylen)
{
	size_t len = strlen(v);

	(void)why;
	(void)whylen;
	if (len == 0 || len >= sizeof(cfg->device))
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)v[i]) || v[i] == '/')
			return -EINVAL;
	memcpy(cfg->device, v, len + 1);
	return 0;
}

static int
parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long n;
	char *end;

	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

static int
set_cores(struct vs_config *cfg, const char *v, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	if (strcmp(v, "all") == 0) {
		cfg->cores = 0;
		return 0;
	}
	return parse_uint(v, 1, 1024, &cfg->cores);
}

static int
set_hugepages(struct vs_config *cfg, const char *v, char *why, size_t whylen)
{
	static const char *const yes[] = { "yes", "on", "true", "1" };
	static const char *const no[] = { "no", "off", "false", "0" };

	(void)why;
	(void)whylen;
	for (size_t i = 0; i < VS_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			cfg->hugepages = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			cfg->hugepages = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int
set_buffer_size(struct vs_config *cfg, const char *v, char *why, size_t whylen)
{
	unsigned n;

	(void)why;
	(void)whylen;
	if (parse_uint(v, 0, UINT32_MAX, &n) < 0 || (n != 2048 && n != 9216))
		return -EINVAL;
	cfg->buffer_size = n;
	return 0;
}

static int
set_buffers(struct vs_config *cfg, const char *v, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	return parse_uint(v, 1024, 1u << 20, &cfg->buffers);
}

static int
set_flows(struct vs_config *cfg, const char *v, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	return parse_uint(v, 64, 1u << 20, &cfg->flows);
}

static int
set_spin_us(struct vs_config *cfg, const char *v, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	return parse_uint(v, 0, 1000000, &cfg->spin_us);
}

static int
set_max_conns(struct vs_config *cfg, const char *v, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	if (strcmp(v, "none") == 0) {
		cfg->max_conns = 0;
		return 0;
	}
	return parse_uint(v, 1, 1u << 30, &cfg->max_conns);
}

static int
set_control_dir(struct vs_config *cfg, const char *v, char *why, size_t whylen)
{
	size_t len = strlen(v);

	(void)why;
	(void)whylen;
	if (v[0] != '/' || len >= sizeof(cfg->control_dir))
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)v[i]))
			return -EINVAL;
	memcpy(cfg->control_dir, v, len + 1);
	return 0;
}

static int
set_rule(struct vs_config *cfg, const char *v, char *why, size_t whylen)
{
	struct vs_policy_rule rule;
	int rc = vs__policy_rule_parse(v, &rule, why, whylen);

	if (rc < 0)
		return rc;
	return vs__policy_append(&cfg->policy, &rule);
}

static const struct key_desc keys[VS_CFG_NKEYS] = {
	[VS_CFG_LOG] = { "log", "VSTACK_LOG", "error, warn, info, debug",
			 set_log },
	[VS_CFG_DEVICE] = { "device", "VSTACK_DEVICE",
			    "an RDMA device (mlx5_0), a netdev (eth0) or "
			    "xdp:IFNAME, 1..63 characters",
			    set_device },
	[VS_CFG_CORES] = { "cores", "VSTACK_CORES",
			   "all, or a number of cores 1..1024", set_cores },
	[VS_CFG_HUGEPAGES] = { "hugepages", "VSTACK_HUGEPAGES",
			       "yes/no, on/off, true/false, 1/0",
			       set_hugepages },
	[VS_CFG_BUFFER_SIZE] = { "buffer_size", "VSTACK_BUFFER_SIZE",
				 "2048, or 9216 for jumbo frames",
				 set_buffer_size },
	[VS_CFG_BUFFERS] = { "buffers", "VSTACK_BUFFERS",
			     "a number of buffers 1024..1048576", set_buffers },
	[VS_CFG_FLOWS] = { "flows", "VSTACK_FLOWS",
			   "a number of flow rules 64..1048576", set_flows },
	[VS_CFG_SPIN_US] = { "spin_us", "VSTACK_SPIN_US",
			     "microseconds 0..1000000", set_spin_us },
	[VS_CFG_MAX_CONNS] = { "max_conns", "VSTACK_MAX_CONNS",
			       "none, or a number of connections "
			       "1..1073741824",
			       set_max_conns },
	[VS_CFG_CONTROL_DIR] = { "control_dir", "VSTACK_CONTROL_DIR",
				 "an absolute directory path, 1..79 characters",
				 set_control_dir },
	[VS_CFG_RULE] = { "rule", "VSTACK_RULES",
			  "'ACTION ROLE ADDRESS PORTS'; in VSTACK_RULES, "
			  "rules separated by ';'",
			  set_rule },
};

/* Variables with the prefix that are not configuration keys. */
static const char *const env_not_keys[] = {
	"VSTACK_CONFIG",
	"VSTACK_LIB", /* vstack run's library (src/ctl/launcher.c) */
};

void
vs__config_init(struct vs_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = VS_LOG_DEFAULT;
	cfg->cores = 0;
	cfg->hugepages = true;
	cfg->buffer_size = 2048;
	cfg->buffers = 32768;
	cfg->flows = 65536; /* VS_PORT_FLOWS */
	cfg->spin_us = 50;
	strcpy(cfg->control_dir, "/run/vstack");
}

void
vs__config_free(struct vs_config *cfg)
{
	vs__policy_clear(&cfg->policy);
}

const char *
vs__config_key_name(enum vs_config_key key)
{
	return key < VS_CFG_NKEYS ? keys[key].name : "?";
}

const char *
vs__config_source_name(enum vs_config_source src)
{
	static const char *const names[] = { "default", "file", "env" };

	return src < VS_ARRAY_SIZE(names) ? names[src] : "?";
}

static int
key_lookup(const char *name)
{
	for (int i = 0; i < VS_CFG_NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return i;
	return -1;
}

static void
list_keys(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < VS_CFG_NKEYS && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? ", " : "", keys[i].name);
}

/* Sets key k from value; where describes the source for the message. */
static int
apply_value(struct vs_config *cfg, int k, const char *value, const char *where,
	    char *err, size_t errlen)
{
	char why[256] = "";
	int rc = keys[k].set(cfg, value, why, sizeof(why));

	if (rc == -ENOMEM) {
		snprintf(err, errlen, "%s: out of memory", where);
		return rc;
	}
	if (rc < 0 && why[0]) {
		snprintf(err, errlen, "%s: key '%s': bad value '%s': %s", where,
			 keys[k].name, value, why);
		return -EINVAL;
	}
	if (rc < 0) {
		snprintf(err, errlen,
			 "%s: key '%s': bad value '%s' (accepted: %s)", where,
			 keys[k].name, value, keys[k].accepted);
		return -EINVAL;
	}
	return 0;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

struct file_state {
	const char *path;
	unsigned line;
	unsigned first_line[VS_CFG_NKEYS];
	bool rules_seen;
};

static int
apply_line(struct vs_config *cfg, struct file_state *st, char *line, char *err,
	   size_t errlen)
{
	char where[PATH_MAX + 32], names[256], *eq, *key, *value;
	int k;

	snprintf(where, sizeof(where), "%s:%u", st->path, st->line);
	line[strcspn(line, "#")] = '\0';
	line = trim(line);
	if (!*line)
		return 0;
	eq = strchr(line, '=');
	if (!eq) {
		snprintf(err, errlen,
			 "%s: malformed line '%s' (expected 'key = value', "
			 "a '#' comment or a blank line)",
			 where, line);
		return -EINVAL;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	k = key_lookup(key);
	if (k < 0) {
		list_keys(names, sizeof(names));
		snprintf(err, errlen, "%s: unknown key '%s' (accepted: %s)",
			 where, key, names);
		return -EINVAL;
	}
	if (k != VS_CFG_RULE && st->first_line[k]) {
		snprintf(err, errlen,
			 "%s: key '%s' set twice (first at line %u)", where,
			 key, st->first_line[k]);
		return -EINVAL;
	}
	if (k == VS_CFG_RULE && !st->rules_seen) {
		/* The file's rules replace the ones from before. */
		vs__policy_clear(&cfg->policy);
		st->rules_seen = true;
	}
	st->first_line[k] = st->line;
	cfg->source[k] = VS_SRC_FILE;
	return apply_value(cfg, k, value, where, err, errlen);
}

/* Copies src into dst, sharing nothing, so a failed load can be dropped. */
static int
config_clone(struct vs_config *dst, const struct vs_config *src)
{
	*dst = *src;
	dst->policy.rules = NULL;
	dst->policy.n = 0;
	for (size_t i = 0; i < src->policy.n; i++)
		if (vs__policy_append(&dst->policy, &src->policy.rules[i]) <
		    0) {
			vs__config_free(dst);
			return -ENOMEM;
		}
	return 0;
}

static void
config_commit(struct vs_config *cfg, struct vs_config *tmp, int rc)
{
	if (rc < 0) {
		vs__config_free(tmp);
		return;
	}
	vs__config_free(cfg);
	*cfg = *tmp;
}

int
vs__config_apply_file(struct vs_config *cfg, const char *path, char *err,
		      size_t errlen)
{
	struct file_state st = { .path = path };
	struct vs_config tmp;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int rc = 0;

	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(-rc));
		return rc;
	}
	rc = config_clone(&tmp, cfg);
	while (!rc && getline(&line, &cap, f) >= 0) {
		st.line++;
		rc = apply_line(&tmp, &st, line, err, errlen);
	}
	if (!rc && ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
	free(line);
	fclose(f);
	if (!rc)
		snprintf(tmp.file, sizeof(tmp.file), "%s", path);
	config_commit(cfg, &tmp, rc);
	return rc;
}

static int
env_key(const char *name, size_t len)
{
	for (int i = 0; i < VS_CFG_NKEYS; i++)
		if (strlen(keys[i].env) == len &&
		    strncmp(keys[i].env, name, len) == 0)
			return i;
	return -1;
}

static bool
env_ignored(const char *name, size_t len)
{
	for (size_t i = 0; i < VS_ARRAY_SIZE(env_not_keys); i++)
		if (strlen(env_not_keys[i]) == len &&
		    strncmp(env_not_keys[i], name, len) == 0)
			return true;
	return false;
}

/* VSTACK_RULES holds several rules separated by ';'. */
static int
apply_env_rules(struct vs_config *cfg, const char *value, char *err,
		size_t errlen)
{
	char *copy = strdup(value), *save = NULL;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	vs__policy_clear(&cfg->policy);
	for (char *r = strtok_r(copy, ";", &save); r && !rc;
	     r = strtok_r(NULL, ";", &save)) {
		r = trim(r);
		if (*r)
			rc = apply_value(cfg, VS_CFG_RULE, r, "VSTACK_RULES",
					 err, errlen);
	}
	free(copy);
	return rc;
}

static int
apply_env_var(struct vs_config *cfg, const char *var, char *err, size_t errlen)
{
	const char *eq = strchr(var, '=');
	size_t len = eq ? (size_t)(eq - var) : strlen(var);
	char names[512];
	int k;

	if (!eq || strncmp(var, ENV_PREFIX, strlen(ENV_PREFIX)) != 0 ||
	    env_ignored(var, len))
		return 0;
	k = env_key(var, len);
	if (k < 0) {
		size_t off = 0;

		for (int i = 0; i < VS_CFG_NKEYS; i++)
			off += (size_t)snprintf(names + off,
						sizeof(names) - off, "%s, ",
						keys[i].env);
		for (size_t i = 0; i < VS_ARRAY_SIZE(env_not_keys); i++)
			off += (size_t)snprintf(
				names + off, sizeof(names) - off, "%s%s",
				env_not_keys[i],
				i + 1 < VS_ARRAY_SIZE(env_not_keys) ? ", " :
								      "");
		snprintf(err, errlen,
			 "environment: unknown variable %.*s (accepted: %s)",
			 (int)len, var, names);
		return -EINVAL;
	}
	cfg->source[k] = VS_SRC_ENV;
	if (k == VS_CFG_RULE)
		return apply_env_rules(cfg, eq + 1, err, errlen);
	return apply_value(cfg, k, eq + 1, keys[k].env, err, errlen);
}

int
vs__config_apply_env(struct vs_config *cfg, char *const *envp, char *err,
		     size_t errlen)
{
	struct vs_config tmp;
	int rc = config_clone(&tmp, cfg);

	for (size_t i = 0; !rc && envp && envp[i]; i++)
		rc = apply_env_var(&tmp, envp[i], err, errlen);
	config_commit(cfg, &tmp, rc);
	return rc;
}

static const char *
env_lookup(char *const *envp, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
			return envp[i] + len + 1;
	return NULL;
}

bool
vs__config_secure(void)
{
	return getauxval(AT_SECURE) != 0;
}

bool
vs__config_env_ignored(char *const *envp)
{
	if (!vs__config_secure())
		return false;
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "VSTACK_", 7) == 0)
			return true;
	return false;
}

int
vs__config_load(struct vs_config *cfg, char *const *envp, char *err,
		size_t errlen)
{
	static char *const none[] = { NULL };
	const char *path;
	struct vs_config tmp;
	int rc = 0;

	/* A setuid or setcap program (secure execution) does not take its
	 * configuration from whoever started it: no VSTACK_* variable, so
	 * no VSTACK_CONFIG naming a file to read (and echo in errors). */
	if (vs__config_secure())
		envp = none;
	path = env_lookup(envp, "VSTACK_CONFIG");

	vs__config_init(&tmp);
	if (path && !*path) {
		snprintf(err, errlen, "VSTACK_CONFIG is set but empty");
		return -EINVAL;
	}
	if (path)
		rc = vs__config_apply_file(&tmp, path, err, errlen);
	else if (access(VS_CONFIG_DEFAULT_FILE, F_OK) == 0)
		rc = vs__config_apply_file(&tmp, VS_CONFIG_DEFAULT_FILE, err,
					   errlen);
	if (!rc)
		rc = vs__config_apply_env(&tmp, envp, err, errlen);
	config_commit(cfg, &tmp, rc);
	return rc;
}

void
vs__config_value(const struct vs_config *cfg, int k, char *buf, size_t len)
{
	switch (k) {
	case VS_CFG_LOG:
		snprintf(buf, len, "%s", vs__log_level_name(cfg->log_level));
		break;
	case VS_CFG_DEVICE:
		snprintf(buf, len, "%s", cfg->device[0] ? cfg->device : "auto");
		break;
	case VS_CFG_CORES:
		if (cfg->cores)
			snprintf(buf, len, "%u", cfg->cores);
		else
			snprintf(buf, len, "all");
		break;
	case VS_CFG_HUGEPAGES:
		snprintf(buf, len, "%s", cfg->hugepages ? "yes" : "no");
		break;
	case VS_CFG_BUFFER_SIZE:
		snprintf(buf, len, "%u", cfg->buffer_size);
		break;
	case VS_CFG_BUFFERS:
		snprintf(buf, len, "%u", cfg->buffers);
		break;
	case VS_CFG_FLOWS:
		snprintf(buf, len, "%u", cfg->flows);
		break;
	case VS_CFG_SPIN_US:
		snprintf(buf, len, "%u", cfg->spin_us);
		break;
	case VS_CFG_MAX_CONNS:
		if (cfg->max_conns)
			snprintf(buf, len, "%u", cfg->max_conns);
		else
			snprintf(buf, len, "none");
		break;
	case VS_CFG_CONTROL_DIR:
		snprintf(buf, len, "%s", cfg->control_dir);
		break;
	default:
		snprintf(buf, len, "?");
	}
}

void
vs__config_dump(const struct vs_config *cfg, FILE *out)
{
	char value[VS_CONTROL_DIR_MAX + 16], rule[128];

	fprintf(out, "# file: %s\n", cfg->file[0] ? cfg->file : "(none)");
	for (int k = 0; k < VS_CFG_NKEYS; k++) {
		const char *src = vs__config_source_name(cfg->source[k]);

		if (k == VS_CFG_RULE)
			continue;
		vs__config_value(cfg, k, value, sizeof(value));
		fprintf(out, "%-11s = %-20s # %s\n", keys[k].name, value, src);
	}
	for (size_t i = 0; i < cfg->policy.n; i++) {
		vs__policy_rule_format(&cfg->policy.rules[i], rule,
				       sizeof(rule));
		fprintf(out, "rule        = %-20s # %s, rule %zu\n", rule,
			vs__config_source_name(cfg->source[VS_CFG_RULE]),
			i + 1);
	}
	if (!cfg->policy.n)
		fprintf(out, "# no rules: TCP and UDP on the NIC's addresses "
			     "are offloaded\n");
}

unsigned
vs__usable_cpus(int *cpus, unsigned max)
{
	cpu_set_t set;
	unsigned n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}
