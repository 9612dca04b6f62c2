// SPDX-License-Identifier: MIT
/*
 * fuzz_config - libFuzzer target: the configuration parser
 * (src/base/config.c, src/base/policy.c). The input is a configuration
 * file (read through a memfd, as vs__config_apply_file reads any file),
 * and its lines are also given as the environment (VSTACK_* variables;
 * VSTACK_RULES goes through the rule parser). A configuration error
 * must leave the configuration as it was and say where the error is;
 * what is accepted must print back (vs__config_dump) and parse again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;
static int memfd = -1;
static char path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_config cfg, before;
	char err[512], *text, *env[33], *save = NULL;
	int n = 0;

	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		memfd = memfd_create("fuzz_config", 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (memfd < 0 || ftruncate(memfd, 0) < 0 ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		return 0;
	vs__config_init(&cfg);
	if (vs__config_apply_file(&cfg, path, err, sizeof(err)) == 0)
		vs__config_dump(&cfg, devnull);
	vs__config_free(&cfg);

	/* The lines as the environment; an error leaves cfg untouched. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *l = strtok_r(text, "\n", &save); l && n < 32;
	     l = strtok_r(NULL, "\n", &save))
		env[n++] = l;
	env[n] = NULL;
	vs__config_init(&cfg);
	before = cfg;
	if (vs__config_apply_env(&cfg, env, err, sizeof(err)) == 0)
		vs__config_dump(&cfg, devnull);
	else if (memcmp(&cfg.source, &before.source, sizeof(cfg.source)) ||
		 cfg.buffers != before.buffers || cfg.flows != before.flows ||
		 cfg.policy.n != before.policy.n)
		__builtin_trap(); /* half-applied */
	vs__config_free(&cfg);
	free(text);
	return 0;
}
