/* SPDX-License-Identifier: MIT */
/*
 * self - what this process and thread are to vstack.
 *
 * Owns two process-wide facts every layer may need without calling
 * upward: whether the calling thread is vstack's own (its socket calls go
 * to libc, never back into the interposed socket layer), and which part
 * of vstack owns the process's NIC runtime (the LD_PRELOAD socket layer
 * or the native API: never both).
 * Must never: depend on anything but libc.
 */
#ifndef VS_BASE_SELF_H
#define VS_BASE_SELF_H

/* Set while vstack itself runs on this thread: interposed calls then
 * go straight to libc (the preload checks it; the control server and
 * the socket layer's own kernel calls set it). */
extern _Thread_local int vs__in_vstack;

enum vs_owner {
	VS_OWNER_NONE,
	VS_OWNER_PRELOAD, /* the socket layer (libvstack's LD_PRELOAD) */
	VS_OWNER_NATIVE, /* the native API (vs_init) */
};

/* Claims the process for who: 0, or -EBUSY if the other one has it. */
int vs__self_claim(enum vs_owner who);
/* Who has the process. */
enum vs_owner vs__self_owner(void);
/* In a fork child: who gives the process up (the child starts afresh). */
void vs__self_release(enum vs_owner who);

#endif
