// SPDX-License-Identifier: MIT
/*
 * lwip_blob.c - vstack's lwIP library (lwip/), embedded: each engine
 * copies these bytes into a memfd and loads that copy (lwip.c), so the
 * library libvstack runs is always the one it was built with, whatever
 * is installed. VS_LWIP_LIB_FILE names it (set by CMake).
 */
__asm__(".section .rodata\n"
	".balign 64\n"
	".globl vs__lwip_lib\n"
	".hidden vs__lwip_lib\n"
	"vs__lwip_lib:\n"
	".incbin \"" VS_LWIP_LIB_FILE "\"\n"
	".globl vs__lwip_lib_end\n"
	".hidden vs__lwip_lib_end\n"
	"vs__lwip_lib_end:\n"
	".previous\n");
