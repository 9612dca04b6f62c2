// SPDX-License-Identifier: MIT
/*
 * Library entry points that belong to no module: the version string.
 */
#include "vstack.h"
#include "base/compiler.h"

#define STR_(x) #x
#define STR(x) STR_(x)

VS_EXPORT const char *
vs_version(void)
{
	return STR(VS_VERSION_MAJOR) "." STR(VS_VERSION_MINOR) "." STR(
		VS_VERSION_PATCH);
}
