/* SPDX-License-Identifier: MIT */
/* capture - vstackctl capture's engine taps and pcap file (capture.c). */
#ifndef VS_CTL_CAPTURE_H
#define VS_CTL_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/engine.h"

struct vs_capture;

/* Starts copying the frames of the n engines es into file (pcap), those
 * filter (tcpdump syntax, NULL: all) passes, until count (0: until
 * freed). NULL with err saying why (a bad filter: libpcap's message). */
struct vs_capture *vs__capture_new(struct vs_engine **es, unsigned n,
				   const char *file, const char *filter,
				   long count, char *err, size_t errlen);
/* Moves what the taps hold into the file; true once count is written. */
bool vs__capture_drain(struct vs_capture *c);
void vs__capture_counts(const struct vs_capture *c, uint64_t *written,
			uint64_t *seen, uint64_t *dropped);
/* Stops the taps and closes the file. */
void vs__capture_free(struct vs_capture *c);

#endif
