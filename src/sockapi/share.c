// SPDX-License-Identifier: MIT
/* share - a listener split between processes: see share.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/lock.h"
#include "base/log.h"
#include "sockapi/share.h"
#include "sockapi/sock_impl.h"
#include "stack/engine.h"
#include "stack/steer.h"
#include "stack/tcp.h"

#define NB VS_STEER_BUCKETS
#define LOCK_BASE (1 << 20) /* slot i's lock: this byte + i */
#define DEATH_CHECK_MS 100 /* without pidfds: how often to look */

/* A bucket's word: state, then one or two members (slot + 1). */
enum { B_FREE, B_HELD, B_OFFER, B_TAKE, B_MOVE };
#define W(st, a, b) ((uint32_t)(st) | (uint32_t)(a) << 8 | (uint32_t)(b) << 16)
#define W_ST(w) ((w)&0xff)
#define W_A(w) \
	(((w) >> 8) & 0xff) /* HELD, OFFER, MOVE: the member;
				       TAKE: the giver */
#define W_B(w) (((w) >> 16) & 0xff) /* TAKE: the taker */

struct table { /* one page, shared by the processes */
	_Atomic uint32_t gen; /* bumped at every change */
	_Atomic int32_t pid[VS_SHARE_MEMBERS]; /* 0: slot free */
	_Atomic uint32_t bkt[NB];
};

struct vs_share { /* this process's handle on a table */
	struct table *t;
	int fd; /* the memfd: mapped, and locked by members */
	pid_t maker; /* the process that listened; 0: anyone may (named) */
	char path[96]; /* a named table's file ("": a memfd's) */
	/* Named: one handle per process for all its sockets on the port
	 * (closing any fd of the file drops the process's record locks):
	 * its sockets and members hold references. */
	unsigned refs;
	struct vs_share *next;
	char name[48]; /* members' wakeup sockets: name + slot */
};

struct vs_member {
	struct vs_share *sh;
	unsigned me; /* slot + 1 */
	struct vs_tcp_rule *r[2];
	struct sockaddr_storage addr[2];
	unsigned n;
	struct vs_engine *es;
	unsigned nes;
	pthread_mutex_t lock; /* the rules and the steps */
	uint64_t normal, standby; /* installed */
	uint64_t refused; /* buckets whose SYNs our engines drop */
	unsigned nlive;
	bool warned;
	pthread_t thread;
	bool has_thread;
	_Atomic bool stop;
	int wfd; /* its wakeup socket (abstract, datagrams) */
	int pidfd[VS_SHARE_MEMBERS]; /* the others', -1: none */
	int32_t pidof[VS_SHARE_MEMBERS]; /* ... for this pid */
	struct vs_member *next;
};

static struct {
	pthread_mutex_t lock;
	struct vs_member *all;
	struct vs_share *named; /* this process's named tables */
} M = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* vstack's own fds: the program's close_range() leaves them alone. */
static int
own_fd(int fd)
{
	if (fd >= 0)
		vs__fd_mark_internal(fd);
	return fd;
}

static void
drop_fd(int fd)
{
	if (fd < 0)
		return;
	vs__fd_set(fd, NULL, VS_FD_NONE);
	vs__real.close(fd);
}

/* Member slot's wakeup socket address (abstract: this network
 * namespace's, gone with its socket). */
static socklen_t
wake_addr(const struct vs_share *sh, unsigned slot, struct sockaddr_un *a)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "%s-%u",
		     sh->name, slot);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   (size_t)n);
}

/* Tells every other member that the table changed. */
static void
wake(struct vs_member *m)
{
	struct table *t = m->sh->t;

	atomic_fetch_add(&t->gen, 1);
	for (unsigned s = 0; s < VS_SHARE_MEMBERS; s++) {
		struct sockaddr_un a;
		socklen_t l;

		if (s + 1 == m->me || !atomic_load(&t->pid[s]))
			continue;
		l = wake_addr(m->sh, s, &a);
		/* Refused: not listening yet (it looks when it joins); a
		 * full queue: it is awake already. */
		vs__real.sendto(m->wfd, "", 0, MSG_DONTWAIT,
				(struct sockaddr *)&a, l);
	}
}

static bool
cas(struct table *t, unsigned b, uint32_t old, uint32_t new)
{
	return atomic_compare_exchange_strong(&t->bkt[b], &old, new);
}

static int
slot_lock(int fd, unsigned slot, short type)
{
	struct flock fl = { .l_type = type,
			    .l_whence = SEEK_SET,
			    .l_start = LOCK_BASE + slot,
			    .l_len = 1 };

	return vs__real.fcntl(fd, F_SETLK, &fl);
}

/* A named table's file is created, joined and removed under this lock
 * (a POSIX record lock: processes forked with the same open file do
 * not share it, as they would an flock). */
static void
table_lock(int fd, short type)
{
	struct flock fl = { .l_type = type,
			    .l_whence = SEEK_SET,
			    .l_start = LOCK_BASE - 1,
			    .l_len = 1 };

	while (vs__real.fcntl(fd, F_SETLKW, &fl) < 0 && errno == EINTR)
		;
}

/* Whether another process holds slot's lock (ours never conflict:
 * never ask about our own slot). */
static bool
slot_alive(int fd, unsigned slot)
{
	struct flock fl = { .l_type = F_WRLCK,
			    .l_whence = SEEK_SET,
			    .l_start = LOCK_BASE + slot,
			    .l_len = 1 };

	if (vs__real.fcntl(fd, F_GETLK, &fl) < 0)
		return true; /* cannot tell: not dead */
	return fl.l_type != F_UNLCK;
}

/* Maps sh->fd's table (sized first if new); names the wakeup sockets
 * after its inode. 0, or -1 with sh->fd closed. */
static int
map_table(struct vs_share *sh)
{
	struct stat st;

	if (fstat(sh->fd, &st) ||
	    (st.st_size < (off_t)sizeof(struct table) &&
	     ftruncate(sh->fd, sizeof(struct table))) ||
	    (sh->t = mmap(NULL, sizeof(struct table), PROT_READ | PROT_WRITE,
			  MAP_SHARED, sh->fd, 0)) == MAP_FAILED) {
		vs__real.close(sh->fd);
		sh->fd = -1;
		return -1;
	}
	vs__fd_mark_internal(sh->fd);
	snprintf(sh->name, sizeof(sh->name), "vstack-share-%lx-%lu",
		 (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	return 0;
}

struct vs_share *
vs__share_new(void)
{
	struct vs_share *sh = calloc(1, sizeof(*sh));

	if (!sh)
		return NULL;
	vs__in_vstack++;
	sh->fd = memfd_create("vstack-share", MFD_CLOEXEC);
	vs__in_vstack--;
	sh->maker = getpid();
	if (sh->fd < 0 || map_table(sh)) {
		free(sh);
		return NULL;
	}
	return sh;
}

bool
vs__share_with_others(const struct vs_share *t)
{
	return t && t->maker != getpid();
}

/* Opens (creates) and maps the named table at sh->path. */
static int
open_named(struct vs_share *sh)
{
	struct stat st;

	vs__in_vstack++;
	sh->fd =
		open(sh->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	vs__in_vstack--;
	if (sh->fd < 0)
		return -1;
	/* Another user's file could steer our peers: ours, private. */
	if (fstat(sh->fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077)) {
		vs_warn("%s is not this user's private file: the listener "
			"is not split with the other processes on its port",
			sh->path);
		vs__real.close(sh->fd);
		sh->fd = -1;
		return -1;
	}
	return map_table(sh);
}

/*
 * Removes the named tables of processes that all died (killed: nobody
 * left to remove the file). A process that opened one and joins later
 * finds it removed and makes a new one. Not ours to look at: the tables
 * this process has open (closing another fd of one would drop our
 * record locks on it). Under M.lock.
 */
static void
sweep(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[sizeof(((struct vs_share *)0)->path)];
		struct vs_share *o;
		struct table *t;
		struct stat st;
		bool alive = false;
		int fd;

		if (strncmp(e->d_name, "vstack-tcp-", 11) ||
		    snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name) >=
			    (int)sizeof(path))
			continue;
		for (o = M.named; o && strcmp(o->path, path); o = o->next)
			;
		if (o)
			continue;
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!fstat(fd, &st) && S_ISREG(st.st_mode) &&
		    st.st_uid == geteuid() &&
		    st.st_size >= (off_t)sizeof(struct table) &&
		    (t = mmap(NULL, sizeof(*t), PROT_READ, MAP_SHARED, fd,
			      0)) != MAP_FAILED) {
			table_lock(fd, F_WRLCK);
			for (unsigned s = 0; s < VS_SHARE_MEMBERS && !alive;
			     s++)
				alive = atomic_load(&t->pid[s]) &&
					slot_alive(fd, s);
			if (!alive)
				unlink(path);
			table_lock(fd, F_UNLCK);
			munmap(t, sizeof(*t));
		}
		vs__real.close(fd);
	}
	closedir(d);
}

struct vs_share *
vs__share_named(const char *key)
{
	char path[sizeof(((struct vs_share *)0)->path)];
	struct vs_share *sh;

	snprintf(path, sizeof(path), "/dev/shm/vstack-%s", key);
	vs__mutex_lock(&M.lock);
	for (sh = M.named; sh && strcmp(sh->path, path); sh = sh->next)
		;
	if (!sh)
		sweep();
	if (sh) {
		sh->refs++;
	} else if ((sh = calloc(1, sizeof(*sh)))) {
		memcpy(sh->path, path, sizeof(path));
		if (open_named(sh)) {
			free(sh);
			sh = NULL;
		} else {
			sh->refs = 1;
			sh->next = M.named;
			M.named = sh;
		}
	}
	vs__mutex_unlock(&M.lock);
	return sh;
}

/* Lets go of sh's file and mapping (the handle stays). */
static void
unmap_table(struct vs_share *sh)
{
	munmap(sh->t, sizeof(struct table));
	vs__fd_set(sh->fd, NULL, VS_FD_NONE);
	vs__real.close(sh->fd);
	sh->fd = -1;
}

void
vs__share_put(struct vs_share *sh)
{
	if (!sh)
		return;
	if (sh->path[0]) {
		bool last;

		vs__mutex_lock(&M.lock);
		if ((last = !--sh->refs))
			for (struct vs_share **p = &M.named; *p;
			     p = &(*p)->next)
				if (*p == sh) {
					*p = sh->next;
					break;
				}
		vs__mutex_unlock(&M.lock);
		if (!last)
			return;
	}
	if (sh->fd >= 0)
		unmap_table(sh);
	free(sh);
}

/* --- rules --- */

/* Our engines drop SYNs in `buckets` (vs__tcp_listen_refuse). */
static void
refuse(struct vs_member *m, uint64_t buckets)
{
	m->refused = buckets;
	for (unsigned a = 0; a < m->n; a++)
		vs__tcp_listen_refuse(m->r[a], buckets);
}

/*
 * Our rules steer exactly normal and standby. SYNs of the buckets we
 * get are taken before their rules come; those of the buckets we let go
 * stay refused after their rules went, for the frames already queued
 * (a caller that lets go refuses them before it pins).
 */
static void
apply(struct vs_member *m, uint64_t normal, uint64_t standby)
{
	uint64_t keep;
	int rc = 0;

	standby &= ~normal;
	keep = normal | standby;
	if (m->refused & keep)
		refuse(m, m->refused & ~keep);
	if (normal == m->normal && standby == m->standby) {
		if (m->refused != ~keep)
			refuse(m, ~keep);
		return;
	}
	for (unsigned a = 0; a < m->n; a++) {
		int r = vs__tcp_listen_share(m->r[a],
					     (struct sockaddr *)&m->addr[a],
					     normal, standby);
		if (r)
			rc = r;
	}
	m->normal = normal;
	m->standby = standby;
	refuse(m, ~keep);
	if (rc && !m->warned) {
		m->warned = true;
		vs_warn("shared listener: a rule for its share failed (%s); "
			"those peers go to the kernel",
			strerror(-rc));
	}
}

/* Connections of ours in `buckets` keep their frames whoever gets them. */
static void
pin(struct vs_member *m, uint64_t buckets)
{
	for (unsigned i = 0; i < m->nes; i++) {
		vs__engine_lock(&m->es[i]);
		for (unsigned a = 0; a < m->n; a++)
			vs__tcp_listen_pin(&m->es[i], m->r[a], buckets);
		vs__engine_unlock(&m->es[i]);
	}
}

/* --- the steps --- */

/* What member x held goes: to nobody, or to the other side of a
 * hand-over; then its slot is free. */
static void
release(struct table *t, unsigned x)
{
	for (unsigned b = 0; b < NB; b++) {
		uint32_t w = atomic_load(&t->bkt[b]), nw = w;
		unsigned st = W_ST(w);

		if ((st == B_HELD || st == B_OFFER || st == B_MOVE) &&
		    W_A(w) == x)
			nw = W(B_FREE, 0, 0);
		else if (st == B_TAKE && W_A(w) == x)
			nw = W(B_MOVE, W_B(w), 0);
		else if (st == B_TAKE && W_B(w) == x)
			nw = W(B_HELD, W_A(w), 0);
		if (nw != w && !cas(t, b, w, nw))
			b--; /* changed meanwhile: again */
	}
	atomic_store(&t->pid[x - 1], 0);
}

/* Frees what dead members held; true if something changed. */
static bool
reap(struct vs_member *m)
{
	struct table *t = m->sh->t;
	bool changed = false;

	for (unsigned s = 0; s < VS_SHARE_MEMBERS; s++) {
		int32_t pid = atomic_load(&t->pid[s]);

		if (s + 1 == m->me || pid <= 0 || slot_alive(m->sh->fd, s))
			continue;
		/* One reaper: another one, late, would free what a new
		 * member of the same slot claimed meanwhile. */
		if (!atomic_compare_exchange_strong(&t->pid[s], &pid, -1))
			continue;
		release(t, s + 1);
		changed = true;
	}
	return changed;
}

/* What the table says now: who is alive, what each holds and gets. */
struct view {
	unsigned nlive, rank, quota[VS_SHARE_MEMBERS + 1];
	unsigned kept[VS_SHARE_MEMBERS + 1]; /* HELD: what it keeps */
	unsigned coming[VS_SHARE_MEMBERS + 1]; /* TAKE taken, MOVE */
	unsigned offers; /* OFFER: given away as soon as taken */
	uint32_t w[NB];
};

static void
look(struct vs_member *m, struct view *v)
{
	struct table *t = m->sh->t;
	unsigned live[VS_SHARE_MEMBERS], k = 0;

	memset(v, 0, sizeof(*v));
	for (unsigned s = 0; s < VS_SHARE_MEMBERS; s++)
		if (s + 1 == m->me || atomic_load(&t->pid[s]))
			live[k++] = s + 1;
	v->nlive = k;
	for (unsigned i = 0; i < k; i++)
		v->quota[live[i]] = NB / k + (i < NB % k);
	for (unsigned b = 0; b < NB; b++) {
		uint32_t w = v->w[b] = atomic_load(&t->bkt[b]);

		switch (W_ST(w)) {
		case B_HELD:
			v->kept[W_A(w)]++;
			break;
		case B_OFFER:
			v->offers++;
			break;
		case B_TAKE:
			v->coming[W_B(w)]++;
			break;
		case B_MOVE:
			v->coming[W_A(w)]++;
			break;
		}
	}
}

/* One pass over the table; true if this process changed it. */
static bool
step(struct vs_member *m)
{
	struct table *t = m->sh->t;
	unsigned me = m->me;
	bool changed = reap(m);
	uint64_t give = 0, want_sb = 0;
	struct view v;
	int need, more = 0;

	look(m, &v);
	/* Handed to us: our rule becomes a normal one (the sync below). */
	for (unsigned b = 0; b < NB; b++)
		if (W_ST(v.w[b]) == B_MOVE && W_A(v.w[b]) == me)
			changed |= cas(t, b, v.w[b], W(B_HELD, me, 0));
	/* Taken from us: pin our connections, drop our rule, hand over. */
	for (unsigned b = 0; b < NB; b++)
		if (W_ST(v.w[b]) == B_TAKE && W_A(v.w[b]) == me)
			give |= 1ull << b;
	if (give) {
		/* No new connection there from now on; those there get
		 * rules of their own, then ours goes. */
		refuse(m, m->refused | give);
		pin(m, give);
		apply(m, m->normal & ~give, m->standby);
		for (unsigned b = 0; b < NB; b++)
			if (give >> b & 1)
				changed |= cas(t, b, v.w[b],
					       W(B_MOVE, W_B(v.w[b]), 0));
	}
	look(m, &v);
	need = (int)v.quota[me] - (int)(v.kept[me] + v.coming[me]);
	/* Free buckets first, then what others offer. */
	for (unsigned b = 0; b < NB && need > 0; b++)
		if (W_ST(v.w[b]) == B_FREE &&
		    cas(t, b, v.w[b], W(B_HELD, me, 0))) {
			need--;
			changed = true;
		}
	for (unsigned b = 0; b < NB && need > 0; b++)
		if (W_ST(v.w[b]) == B_OFFER && W_A(v.w[b]) != me) {
			want_sb |= 1ull << b;
			need--;
		}
	if (want_sb) {
		/* The standby rule first: the giver drops its rule as soon
		 * as it sees the TAKE. */
		apply(m, m->normal, m->standby | want_sb);
		for (unsigned b = 0; b < NB; b++)
			if (want_sb >> b & 1)
				changed |= cas(t, b, v.w[b],
					       W(B_TAKE, W_A(v.w[b]), me));
	}
	/* More than our share while another has less: offer the rest;
	 * offers nobody needs any more come back. */
	look(m, &v);
	for (unsigned x = 1; x <= VS_SHARE_MEMBERS; x++)
		if (x != me && v.quota[x] > v.kept[x] + v.coming[x])
			more += (int)(v.quota[x] - v.kept[x] - v.coming[x]);
	more -= (int)v.offers;
	for (unsigned b = NB; b-- > 0;) {
		uint32_t w = v.w[b];

		if (more > 0 && W_ST(w) == B_HELD && W_A(w) == me &&
		    v.kept[me] > v.quota[me]) {
			if (cas(t, b, w, W(B_OFFER, me, 0))) {
				more--;
				v.kept[me]--;
				changed = true;
			}
		} else if (more < 0 && W_ST(w) == B_OFFER && W_A(w) == me) {
			if (cas(t, b, w, W(B_HELD, me, 0))) {
				more++;
				changed = true;
			}
		}
	}
	/* The rules as the table now says. */
	{
		uint64_t normal = 0, standby = 0;

		for (unsigned b = 0; b < NB; b++) {
			uint32_t w = atomic_load(&t->bkt[b]);
			unsigned st = W_ST(w);

			if ((st == B_HELD || st == B_OFFER || st == B_TAKE) &&
			    W_A(w) == me)
				normal |= 1ull << b;
			else if (st == B_TAKE && W_B(w) == me)
				standby |= 1ull << b;
		}
		apply(m, normal, standby);
	}
	m->nlive = v.nlive;
	if (changed)
		vs_dbg("shared listener: member %u of %u: buckets %016llx, "
		       "standby %016llx, SYNs refused %016llx",
		       m->me, m->nlive, (unsigned long long)m->normal,
		       (unsigned long long)m->standby,
		       (unsigned long long)m->refused);
	return changed;
}

/* --- the thread --- */

/* A pidfd for each other member, to learn of its death at once. */
static bool
watch_others(struct vs_member *m)
{
	struct table *t = m->sh->t;
	bool all = true;

	for (unsigned s = 0; s < VS_SHARE_MEMBERS; s++) {
		int32_t pid = atomic_load(&t->pid[s]);

		if (s + 1 == m->me || pid != m->pidof[s]) {
			drop_fd(m->pidfd[s]);
			m->pidfd[s] = -1;
			m->pidof[s] = 0;
		}
		if (s + 1 == m->me || pid <= 0 || m->pidof[s] == pid)
			continue;
		m->pidof[s] = pid;
		m->pidfd[s] = own_fd((int)syscall(SYS_pidfd_open, pid, 0));
		/* Only a live member's lock says the pid is still its. */
		if (m->pidfd[s] >= 0 && !slot_alive(m->sh->fd, s)) {
			drop_fd(m->pidfd[s]);
			m->pidfd[s] = -1;
		} else if (m->pidfd[s] < 0 && errno != ESRCH) {
			all = false; /* no pidfds here: look now and then */
		}
	}
	return all;
}

static void *
member_main(void *arg)
{
	struct vs_member *m = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&m->stop)) {
		struct pollfd p[VS_SHARE_MEMBERS + 1];
		unsigned slot[VS_SHARE_MEMBERS + 1], n = 1;
		bool changed, pidfds;
		char b[16];

		vs__mutex_lock(&m->lock);
		changed = !atomic_load(&m->stop) && step(m);
		vs__mutex_unlock(&m->lock);
		if (changed) {
			wake(m);
			continue;
		}
		pidfds = watch_others(m);
		p[0] = (struct pollfd){ .fd = m->wfd, .events = POLLIN };
		for (unsigned s = 0; s < VS_SHARE_MEMBERS; s++)
			if (m->pidfd[s] >= 0) {
				p[n] = (struct pollfd){ .fd = m->pidfd[s],
							.events = POLLIN };
				slot[n++] = s;
			}
		/* Alone, or told of every death: sleep until told. */
		if (vs__real.poll(p, n,
				  pidfds || m->nlive < 2 ? -1 :
							   DEATH_CHECK_MS) < 0)
			continue;
		while (vs__real.recvfrom(m->wfd, b, sizeof(b), MSG_DONTWAIT,
					 NULL, NULL) >= 0)
			;
		/* A member died: the next step frees its share; its pidfd
		 * stays readable, so it goes now. */
		for (unsigned i = 1; i < n; i++)
			if (p[i].revents) {
				drop_fd(m->pidfd[slot[i]]);
				m->pidfd[slot[i]] = -1;
			}
	}
	return NULL;
}

static void
thread_start(struct vs_member *m)
{
	if (m->has_thread)
		return;
	m->has_thread = !pthread_create(&m->thread, NULL, member_main, m);
	if (!m->has_thread)
		vs_warn("shared listener: no thread to follow the other "
			"processes (%s); this one keeps its share",
			strerror(errno));
}

/* This member's wakeup socket, bound to its slot's name. */
static int
wake_socket(struct vs_member *m)
{
	struct sockaddr_un a;
	socklen_t l = wake_addr(m->sh, m->me - 1, &a);
	int fd = own_fd(vs__real.socket(
		AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));

	if (fd >= 0 && vs__real.bind(fd, (struct sockaddr *)&a, l)) {
		drop_fd(fd);
		return -1;
	}
	return fd;
}

struct vs_member *
vs__share_join(struct vs_share *sh, struct vs_tcp_rule *r[],
	       const struct sockaddr *addrs[], unsigned n, struct vs_engine *es,
	       unsigned nes)
{
	struct table *t = sh->t;
	struct vs_member *m = calloc(1, sizeof(*m));
	pid_t self = getpid();

	if (!m)
		return NULL;
	/* A named table whose last member removed its file meanwhile: the
	 * next process would make a new one; so do we. */
	while (sh->path[0]) {
		struct stat st;

		table_lock(sh->fd, F_WRLCK);
		if (!fstat(sh->fd, &st) && st.st_nlink)
			break;
		table_lock(sh->fd, F_UNLCK);
		unmap_table(sh);
		if (open_named(sh)) {
			free(m);
			return NULL;
		}
		t = sh->t;
	}
	/* The lock first: a slot with a pid and no lock is a dead one's. */
	for (unsigned s = 0; s < VS_SHARE_MEMBERS && !m->me; s++) {
		int32_t zero = 0;

		if (atomic_load(&t->pid[s]) || slot_lock(sh->fd, s, F_WRLCK))
			continue;
		if (atomic_compare_exchange_strong(&t->pid[s], &zero, self))
			m->me = s + 1;
		else
			slot_lock(sh->fd, s, F_UNLCK);
	}
	if (sh->path[0]) {
		table_lock(sh->fd, F_UNLCK);
		if (m->me) {
			vs__mutex_lock(&M.lock);
			sh->refs++;
			vs__mutex_unlock(&M.lock);
		}
	}
	if (!m->me) {
		free(m);
		errno = ENOSPC;
		return NULL;
	}
	m->sh = sh;
	for (unsigned s = 0; s < VS_SHARE_MEMBERS; s++)
		m->pidfd[s] = -1;
	if ((m->wfd = wake_socket(m)) < 0) {
		int e = errno;

		atomic_store(&t->pid[m->me - 1], 0);
		slot_lock(sh->fd, m->me - 1, F_UNLCK);
		free(m);
		errno = e;
		return NULL;
	}
	m->n = n > 2 ? 2 : n;
	for (unsigned a = 0; a < m->n; a++) {
		m->r[a] = r[a];
		memcpy(&m->addr[a], addrs[a],
		       addrs[a]->sa_family == AF_INET ?
			       sizeof(struct sockaddr_in) :
			       sizeof(struct sockaddr_in6));
	}
	m->es = es;
	m->nes = nes;
	pthread_mutex_init(&m->lock, NULL);
	vs__mutex_lock(&m->lock);
	step(m);
	vs__mutex_unlock(&m->lock);
	wake(m);
	vs__mutex_lock(&M.lock);
	m->next = M.all;
	M.all = m;
	/* Others may join, or be there already: follow them. */
	if (sh->maker != self || m->nlive > 1)
		thread_start(m);
	vs__mutex_unlock(&M.lock);
	vs_info("shared listener: member %u of %u, %u of %u buckets", m->me,
		m->nlive, vs__share_buckets(m), NB);
	return m;
}

void
vs__share_leave(struct vs_member *m)
{
	struct table *t;

	if (!m)
		return;
	t = m->sh->t;
	vs__mutex_lock(&M.lock);
	for (struct vs_member **p = &M.all; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			break;
		}
	vs__mutex_unlock(&M.lock);
	if (m->has_thread) {
		struct sockaddr_un a;
		socklen_t l = wake_addr(m->sh, m->me - 1, &a);

		atomic_store(&m->stop, true);
		vs__real.sendto(m->wfd, "", 0, MSG_DONTWAIT,
				(struct sockaddr *)&a, l);
		pthread_join(m->thread, NULL);
	}
	refuse(m, ~0ull);
	pin(m, ~0ull);
	apply(m, 0, 0);
	if (m->sh->path[0])
		table_lock(m->sh->fd, F_WRLCK);
	release(t, m->me);
	slot_lock(m->sh->fd, m->me - 1, F_UNLCK);
	if (m->sh->path[0]) { /* the last one: no file left behind */
		bool last = true;

		for (unsigned s = 0; s < VS_SHARE_MEMBERS && last; s++)
			last = !atomic_load(&t->pid[s]) ||
			       !slot_alive(m->sh->fd, s);
		if (last)
			unlink(m->sh->path);
		table_lock(m->sh->fd, F_UNLCK);
	}
	wake(m);
	drop_fd(m->wfd);
	for (unsigned s = 0; s < VS_SHARE_MEMBERS; s++)
		drop_fd(m->pidfd[s]);
	pthread_mutex_destroy(&m->lock);
	if (m->sh->path[0])
		vs__share_put(m->sh);
	free(m);
}

unsigned
vs__share_buckets(const struct vs_member *m)
{
	return (unsigned)__builtin_popcountll(m->normal);
}

unsigned
vs__share_members(const struct vs_member *m)
{
	return m->nlive;
}

void
vs__share_atfork_parent(void)
{
	vs__mutex_lock(&M.lock);
	for (struct vs_member *m = M.all; m; m = m->next)
		thread_start(m);
	vs__mutex_unlock(&M.lock);
}

void
vs__share_atfork_child(void)
{
	/* The parent's memberships (their locks were not inherited, their
	 * threads do not exist here) are not ours: their fds go, their
	 * memory (the parent's copy) is left alone. */
	for (struct vs_member *m = M.all; m; m = m->next) {
		drop_fd(m->wfd);
		for (unsigned s = 0; s < VS_SHARE_MEMBERS; s++)
			drop_fd(m->pidfd[s]);
		if (m->sh->path[0])
			m->sh->refs--; /* the parent's member's */
	}
	pthread_mutex_init(&M.lock, NULL);
	M.all = NULL;
}
