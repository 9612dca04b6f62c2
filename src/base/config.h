/* SPDX-License-Identifier: MIT */
/*
 * config - the effective configuration of a vstack process.
 *
 * Owns: the key table (name, environment variable, what it accepts, its
 * default) and the loading of the three sources, each overriding the one
 * before: built-in defaults, a file (VSTACK_CONFIG, else /etc/vstack/vstack.conf
 * if it exists), then VSTACK_* environment variables. It remembers where
 * each value came from so that `vstackctl config` can say.
 *
 * Parsing is strict: an unknown key, a bad value, a key given twice in one
 * file, a malformed line or an unreadable file is an error whose message
 * names the source (file:line or the variable), the key and what is
 * accepted. Nothing is half-applied: on error the caller's struct is left
 * as it was.
 *
 * Must never: log or print by itself (callers decide how to report), or be
 * consulted on a fast path (read it once, copy what you need).
 */
#ifndef VS_BASE_CONFIG_H
#define VS_BASE_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/policy.h"

#define VS_CONFIG_DEFAULT_FILE "/etc/vstack/vstack.conf"
#define VS_DEVICE_MAX 64
/* DIR/PID.sock must fit a sockaddr_un's 108 bytes. */
#define VS_CONTROL_DIR_MAX 80

enum vs_config_key {
	VS_CFG_LOG,
	VS_CFG_DEVICE,
	VS_CFG_CORES,
	VS_CFG_HUGEPAGES,
	VS_CFG_BUFFER_SIZE,
	VS_CFG_BUFFERS,
	VS_CFG_FLOWS,
	VS_CFG_SPIN_US,
	VS_CFG_MAX_CONNS,
	VS_CFG_CONTROL_DIR,
	VS_CFG_RULE,
	VS_CFG_NKEYS,
};

enum vs_config_source {
	VS_SRC_DEFAULT,
	VS_SRC_FILE,
	VS_SRC_ENV,
};

struct vs_config {
	int log_level; /* enum vs_log_level */
	char device[VS_DEVICE_MAX]; /* "" = the first usable device */
	unsigned cores; /* 0 = every core the process may use */
	bool hugepages; /* try 2 MiB pages before normal ones */
	unsigned buffer_size; /* bytes per packet buffer */
	unsigned buffers; /* packet buffers per port */
	unsigned flows; /* flow rules a port holds */
	unsigned spin_us; /* busy-poll before sleeping */
	unsigned max_conns; /* TCP connections open at once; 0: no limit */
	char control_dir
		[VS_CONTROL_DIR_MAX]; /* control sockets: DIR/PID.sock */
	struct vs_policy policy; /* offload rules, first match wins */
	unsigned char source[VS_CFG_NKEYS]; /* enum vs_config_source */
	char file[PATH_MAX]; /* the file that was read, or "" */
};

void vs__config_init(struct vs_config *cfg);
void vs__config_free(struct vs_config *cfg);

/*
 * Applies one file. A missing file is an error here; vs__config_load()
 * decides whether a missing default file matters.
 */
int vs__config_apply_file(struct vs_config *cfg, const char *path, char *err,
			  size_t errlen);
/* Applies the VSTACK_* variables of envp (a NULL-terminated array). */
int vs__config_apply_env(struct vs_config *cfg, char *const *envp, char *err,
			 size_t errlen);
/*
 * Defaults, then the file named by VSTACK_CONFIG in envp (or the default
 * file if it exists), then envp. On error cfg is untouched and err says
 * what is wrong.
 */
/* A setuid or setcap program (AT_SECURE): vs__config_load ignores every
 * VSTACK_* variable (and VSTACK_CONFIG's file); log.c ignores VSTACK_LOG. */
bool vs__config_secure(void);
/* True if it is so and envp has VSTACK_* variables (the caller says). */
bool vs__config_env_ignored(char *const *envp);
int vs__config_load(struct vs_config *cfg, char *const *envp, char *err,
		    size_t errlen);

/* The CPUs this process may run on (what `cores = 0` means), at most
 * max of them into cpus; returns how many. */
unsigned vs__usable_cpus(int *cpus, unsigned max);

const char *vs__config_key_name(enum vs_config_key key);
const char *vs__config_source_name(enum vs_config_source src);
/* Key k's value as the configuration file would spell it. */
void vs__config_value(const struct vs_config *cfg, int k, char *buf,
		      size_t len);
/* Writes "key = value" lines with their sources, as a config file would. */
void vs__config_dump(const struct vs_config *cfg, FILE *out);

#endif
