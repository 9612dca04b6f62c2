// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdatomic.h>

#include "base/self.h"

_Thread_local int vs__in_vstack;

static _Atomic int owner = VS_OWNER_NONE;

int
vs__self_claim(enum vs_owner who)
{
	int none = VS_OWNER_NONE;

	if (atomic_compare_exchange_strong(&owner, &none, (int)who))
		return 0;
	return none == (int)who ? 0 : -EBUSY;
}

enum vs_owner
vs__self_owner(void)
{
	return (enum vs_owner)atomic_load(&owner);
}

void
vs__self_release(enum vs_owner who)
{
	int w = (int)who;

	atomic_compare_exchange_strong(&owner, &w, VS_OWNER_NONE);
}
