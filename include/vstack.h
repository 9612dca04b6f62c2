/* SPDX-License-Identifier: MIT */
/**
 * @file vstack.h
 * @brief vstack public API.
 *
 * This is the only public header of libvstack. Everything declared here is
 * exported through the linker map (src/libvstack.map); everything else in
 * the library is hidden. Functions return 0 or a negative errno value unless
 * documented otherwise.
 */
#ifndef VSTACK_H
#define VSTACK_H

#ifdef __cplusplus
extern "C" {
#endif

/** Major version of the headers this program was compiled against. */
#define VS_VERSION_MAJOR 0
/** Minor version of the headers this program was compiled against. */
#define VS_VERSION_MINOR 1
/** Patch level of the headers this program was compiled against. */
#define VS_VERSION_PATCH 0

/**
 * vs_version() - version of the library actually loaded.
 *
 * Return: a static string "MAJOR.MINOR.PATCH", never NULL. Compare it with
 * the VS_VERSION_* macros to detect a header/library mismatch.
 */
const char *vs_version(void);

#ifdef __cplusplus
}
#endif

#endif /* VSTACK_H */
