// SPDX-License-Identifier: MIT
/*
 * signal - which signal interrupted a blocking vstack call, and whether
 * its handler asked for SA_RESTART.
 *
 * The kernel restarts an interrupted blocking socket call when the
 * handler has SA_RESTART (and the socket no timeout); a vstack call
 * sleeps in poll(2), which the kernel never restarts. So vstack installs
 * the program's handlers through a trampoline that notes the signal on
 * the thread, and a blocking call interrupted by a signal whose handler
 * had SA_RESTART goes back to sleep instead of failing with EINTR.
 *
 * A signal can also come while a call spins or looks at its sockets,
 * before it sleeps: its handler runs then, and a plain poll(2) would
 * sleep on as if nothing had happened (the kernel's own wait has no such
 * window). So a call clears the thread's note when it starts
 * (vs__sig_clear) and sleeps through vs__waiter_sleep_sig: signals
 * blocked, the note checked, then ppoll(2) unblocks them atomically.
 *
 * Owns: the program's handlers and flags, per signal. Must never: change
 * what a handler sees (the same arguments, the program's flags on the
 * kernel's side, the program's handler in what sigaction reports).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "sockapi/sock.h"

static struct {
	_Atomic(void *) handler; /* the program's, or NULL: not ours */
	_Atomic int flags;
} app[NSIG];

static _Thread_local volatile sig_atomic_t last_sig;

static void
trampoline(int sig, siginfo_t *si, void *uc)
{
	void *h = atomic_load(&app[sig].handler);

	last_sig = sig;
	if (!h)
		return;
	if (atomic_load(&app[sig].flags) & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))h)(sig, si, uc);
	else
		((void (*)(int))h)(sig);
}

int
vs__sig_action(int sig, const struct sigaction *act, struct sigaction *old,
	       int (*real)(int, const struct sigaction *, struct sigaction *))
{
	struct sigaction mine;
	void *prev;
	int prev_flags, rc;

	if (sig <= 0 || sig >= NSIG)
		return real(sig, act, old);
	prev = atomic_load(&app[sig].handler);
	prev_flags = atomic_load(&app[sig].flags);
	if (act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN) {
		mine = *act;
		mine.sa_sigaction = trampoline;
		mine.sa_flags |= SA_SIGINFO;
		atomic_store(&app[sig].handler,
			     act->sa_flags & SA_SIGINFO ?
				     (void *)act->sa_sigaction :
				     (void *)act->sa_handler);
		atomic_store(&app[sig].flags, act->sa_flags);
		rc = real(sig, &mine, old);
	} else {
		rc = real(sig, act, old);
		if (act && rc == 0)
			atomic_store(&app[sig].handler, NULL);
	}
	/* What was installed before, as the program installed it. */
	if (rc == 0 && old && prev && old->sa_sigaction == trampoline) {
		if (prev_flags & SA_SIGINFO)
			old->sa_sigaction =
				(void (*)(int, siginfo_t *, void *))prev;
		else
			old->sa_handler = (void (*)(int))prev;
		old->sa_flags = prev_flags;
	}
	return rc;
}

void
vs__sig_clear(void)
{
	last_sig = 0;
}

bool
vs__sig_arrived(void)
{
	return last_sig != 0;
}

bool
vs__sig_restart(void)
{
	int sig = last_sig;

	last_sig = 0;
	return sig > 0 && sig < NSIG && atomic_load(&app[sig].handler) &&
	       (atomic_load(&app[sig].flags) & SA_RESTART);
}
