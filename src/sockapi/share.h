/* SPDX-License-Identifier: MIT */
/*
 * share - a TCP listener that several processes accept from (inherited
 * across fork: nginx's workers, prefork servers), split between them at
 * the NIC with no forwarder process.
 *
 * The peers' source ports are cut into 64 buckets (stack/steer.h); each
 * process that takes the listener over (a member) holds a fair share of
 * them, and its rules steer only those to its queues. A table in shared
 * memory, made by the process that called listen() and inherited by its
 * children, says who holds which bucket; each member keeps its rules in
 * step with the table, from a thread of its own once another process
 * may join (the table's maker alone, never forked, needs none).
 *
 * A member is alive while it holds a POSIX record lock on its slot's
 * byte of the table's memfd: the kernel drops it when the process ends,
 * whatever ends it, and record locks are not inherited by fork.
 *
 * A bucket changes hands without a gap and without taking a connection
 * from the process that accepted it:
 *   FREE -> HELD(A)         A claims it (its frames went to the kernel's
 *                           listener meanwhile: at start, after a death)
 *   HELD(A) -> OFFER(A)     A holds more than its share, another less
 *   OFFER(A) -> TAKE(A,B)   B, under its share, has a standby rule for it
 *   TAKE(A,B) -> MOVE(B)    A gave each of its connections in the bucket
 *                           a 5-tuple rule, then deleted its own rule: B's
 *                           standby rule takes the new connections
 *   MOVE(B) -> HELD(B)      B's rule for it is a normal one
 * A member found dead: what it held is FREE, a TAKE it gave is a MOVE, a
 * TAKE it took is HELD by the giver again. A member that closes the
 * listener pins its connections, deletes its rules and frees its buckets.
 *
 * Owns: the tables, this process's memberships and their threads (each
 * member's rules through its listener's vs_tcp_rules).
 * Must never: install a normal rule for a bucket another live process
 * holds (both would answer a SYN), delete a rule while a connection of
 * this process still needs it (pin first), or hold an engine's lock
 * while it waits for another process.
 */
#ifndef VS_SOCKAPI_SHARE_H
#define VS_SOCKAPI_SHARE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define VS_SHARE_MEMBERS 64

struct vs_share; /* the table (shared memory) */
struct vs_member; /* this process's place in it */
struct vs_tcp_rule;
struct vs_engine;

/*
 * A new listener's table, made where it listens so that children
 * inherit it. NULL if it cannot be made (the listener then works alone:
 * vs__tcp_listen_steer).
 */
struct vs_share *vs__share_new(void);
/*
 * The table of a listener that independent processes may open too
 * (SO_REUSEPORT): a file of this user's in /dev/shm named after key
 * (the network namespace, address and port), made by the first; one
 * handle per process and key. The last member to leave removes it.
 */
struct vs_share *vs__share_named(const char *key);
/* Drops this process's mapping (after vs__share_leave). */
void vs__share_put(struct vs_share *t);

/*
 * Joins t with the listener's rules (one per address, up to 2) and the
 * engines its connections live on; claims what is free, so the first
 * member holds all 64 buckets (one unmasked rule per address). Returns
 * NULL with errno set (ENOSPC: 64 members already).
 */
struct vs_member *vs__share_join(struct vs_share *t, struct vs_tcp_rule *r[],
				 const struct sockaddr *addrs[], unsigned n,
				 struct vs_engine *es, unsigned nes);
/* Pins this process's connections, deletes its rules, frees its
 * buckets, leaves. */
void vs__share_leave(struct vs_member *m);
/* t is not this process's alone: made by another process (inherited
 * across fork) or named (SO_REUSEPORT). */
bool vs__share_with_others(const struct vs_share *t);
/* What this process holds of t now (for vstackctl and tests). */
unsigned vs__share_buckets(const struct vs_member *m);
/* Members of t alive now, as this process last saw them. */
unsigned vs__share_members(const struct vs_member *m);

/* fork: the parent's memberships may meet new members now (they get a
 * thread); the child's are not its own (it joins again if it accepts). */
void vs__share_atfork_parent(void);
void vs__share_atfork_child(void);

#endif
