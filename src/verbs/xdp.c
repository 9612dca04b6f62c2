// SPDX-License-Identifier: MIT
/*
 * xdp.c - the AF_XDP port backend: vstack on any netdev with XDP.
 *
 * Owns, per port: one UMEM over the pool's region; per engine queue one
 * AF_XDP socket bound to one netdev queue (the first ones no other
 * process holds: all of them, or one per engine for a process that
 * shares its listener with others, vs_port_opts.shared); its share of
 * the netdev's one instance of xdp_prog.bpf.c (attached by the first
 * vstack process, through libxdp's dispatcher where the kernel has one,
 * and joined by the others: the processes split the netdev by queues,
 * each matching only the frames of its own, as owner 1 + its first
 * queue; a worker also adopts queues nobody has held for 3 s); a
 * handoff ring per queue; and a reaper process that, when this
 * process is gone however it ended, removes its rules and, if it was the
 * last owner, detaches the program. Attaching, joining, claiming an
 * owner and releasing one happen under a lock per netdev (the abstract
 * unix socket name vstack-xdp-IFINDEX of the network namespace).
 *
 * The XDP program can only hand a frame to the socket of the queue it
 * arrived on; it writes the rule's target queue in front of the frame,
 * and rx_burst passes frames meant for another engine through that
 * engine's handoff ring (and wakes it if it sleeps). Rules that spread
 * by RSS are spread here, by the same Toeplitz hash vs__port_rss_queue
 * computes, so the stack's view of where a flow lands stays true. A
 * frame of this process's connection that arrives on another process's
 * queue cannot reach it: the program drops it (counted as the NIC's drop
 * of that queue's owner) and the peer sends it again.
 *
 * Must never: make a system call while a ring is busy (need-wakeup
 * flags decide), leave its program on the netdev after the last process,
 * touch another owner's rules or queues while that owner lives, or take
 * a frame the rules do not ask for (those stay with the kernel).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_xdp.h>
#include <linux/membarrier.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/log.h"
#include "verbs/port_impl.h"
#include "verbs/xdp_abi.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define BURST 64
#define HANDOFF 2048 /* frames waiting for one queue's engine */
#define XDP_HEADROOM 256 /* the kernel's XDP_PACKET_HEADROOM */
#define ADOPT_TICK_US 1000000 /* a worker looks for free queues */
/* ... free that long: no replacement came (nginx's master starts one in
 * milliseconds), the workers left take it. */
#define ADOPT_GRACE_US 3000000
#define TX_KICK_BATCH \
	32 /* frames copy mode sends per sendto (the
			    kernel's TX_BATCH_SIZE) */

/* The compiled program (xdp_prog.o, embedded by the build). */
extern const unsigned char vs__xdp_prog_obj[];
extern const unsigned int vs__xdp_prog_obj_len;

/* A FIFO of frames for one engine, filled by the others. */
struct handoff {
	pthread_spinlock_t lock;
	_Atomic uint32_t n;
	uint32_t head;
	struct vs_buf *b[HANDOFF];
};

/* One AF_XDP socket, on one netdev queue; serviced by one engine. */
struct xsock {
	struct xsk_socket *xsk;
	struct xsk_ring_cons rx, comp;
	struct xsk_ring_prod tx, fill;
	int fd;
	unsigned hwq; /* the netdev queue it is bound to */
	uint32_t fill_depth; /* receive buffers kept in the kernel's hands */
	uint32_t rx_held; /* buffers in the fill and RX rings */
	uint32_t tx_held; /* buffers in the TX and completion rings */
	bool tx_kick; /* frames the kernel has not taken yet */
	uint32_t tx_unkicked; /* frames sent since the last kick */
};

/*
 * An engine's queue: the sockets it services (socket i belongs to engine
 * i mod nqueues; it sends on the first), frames other engines pass it,
 * and what it sleeps on.
 */
struct xq {
	unsigned nsock;
	struct xsock **s;
	unsigned next; /* the socket rx_burst starts with */
	struct handoff in;
	int evfd, epfd; /* the sleep fd: the sockets and evfd */
	_Atomic bool sleeping;
};

/* Where a rule lives: the masked table, or one of the hash maps. */
enum x_kind { X_MASKED, X_EXACT, X_LOCAL };

struct x_rule {
	struct vs_rule_handle h;
	struct x_rule *next, **pprev; /* every rule of the port */
	enum x_kind kind;
	union {
		struct vs_xdp_exact_key exact;
		struct vs_xdp_local_key local;
	} key;
	struct vs_xdp_rule r;
};

/* The program's maps, opened by its id (ours to close). */
struct xmaps {
	int tables, cur, exact, local, hits, xsks, qowner, procs, misq;
};

struct xport {
	struct vs_port port; /* first: the port is an xport */
	int ifindex;
	bool zerocopy;
	bool meta_in_frame; /* the kernel has no XDP metadata (xdp_prog.bpf.c) */
	enum xdp_attach_mode mode;
	struct xsk_umem *umem;
	struct xdp_program *prog; /* attached by this process */
	struct bpf_object *obj; /* the program's object (ours to close) */
	uint32_t prog_id;
	struct xmaps m;
	unsigned owner; /* 1 + the first queue; 0: none claimed */
	struct vs_xdp_proc self;
	char lock_path[64];
	int lock_fd; /* held while opening */
	uint32_t cur;
	struct x_rule *rules;
	uint8_t slot_used[VS_XDP_OWNER_SLOTS];
	int ncpus;
	int reaper_fd; /* its pipe: closing it (or dying) releases */
	unsigned qfirst, qlast; /* the netdev queues to bind (xdp:IF@A-B) */
	unsigned qend; /* the last of them the netdev has */
	/* A worker's adoption of queues left free (engine 0's thread). */
	int adopt_tfd; /* wakes it every ADOPT_TICK_US */
	uint64_t adopt_next_us;
	uint64_t free_since[VS_XDP_MAX_QUEUES];
	unsigned nsocks; /* of VS_XDP_MAX_QUEUES in socks */
	struct xsock *socks;
	struct xq *q;
};

static struct xport *
xp(struct vs_port *p)
{
	return container_of(p, struct xport, port);
}

static struct x_rule *
xr_of(struct vs_rule_handle *h)
{
	return container_of(h, struct x_rule, h);
}

/* --- messages from libbpf/libxdp: the verifier's reason, kept --- */

static __thread char *lib_msg;
static __thread size_t lib_msg_len;

/* Keeps the tail of what libbpf and libxdp say (the verifier's log can
 * be long; its end says why). */
static int VS_PRINTF(2, 0)
	lib_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t used, n, cap = lib_msg_len - 1;
	char *line, *tail;
	va_list aq;
	int k;

	if (level == LIBBPF_DEBUG || !lib_msg)
		return 0;
	va_copy(aq, ap);
	k = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	line = k > 0 ? malloc((size_t)k + 1) : NULL;
	if (!line)
		return 0;
	vsnprintf(line, (size_t)k + 1, fmt, ap);
	n = (size_t)k;
	tail = n > cap ? line + n - cap : line; /* a long log: its end */
	n = n > cap ? cap : n;
	used = strlen(lib_msg);
	if (used + n > cap) { /* drop what came first */
		size_t keep = cap - n;

		memmove(lib_msg, lib_msg + used - keep, keep + 1);
		used = keep;
	}
	memcpy(lib_msg + used, tail, n);
	lib_msg[used + n] = '\0';
	free(line);
	return 0;
}

static int VS_PRINTF(2, 0)
	libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return lib_print(level == LIBXDP_DEBUG ? LIBBPF_DEBUG : LIBBPF_WARN,
			 fmt, ap);
}

/* A line of the verifier's log that says why, not which instruction. */
static bool
reason_line(const char *l, size_t n)
{
	static const char *skip[] = { "processed ",  "verification time",
				      "stack depth", "func#",
				      "last_idx",    "regs=" };

	if (!n || *l == ';' || *l == '(' || (*l >= '0' && *l <= '9'))
		return false;
	for (size_t i = 0; i < sizeof(skip) / sizeof(*skip); i++)
		if (!strncmp(l, skip[i], strlen(skip[i])))
			return false;
	return true;
}

/*
 * What the libraries said, shortened to why: the verifier's last words
 * before its log ends (up to two lines), else the last line said.
 * Rewrites buf (of at least 512 bytes); for xdp.c and its unit test.
 */
const char *
vs__xdp_reason(char *buf)
{
	char *end = strstr(buf, "-- END PROG LOAD LOG --"), *s;
	char why[512] = "";

	if (end) {
		char *lines[2];
		size_t lens[2];
		int n = 0;

		for (char *e = end; e > buf && n < 2;) {
			char *b = e - 1; /* the '\n' ending the line before */

			while (b > buf && b[-1] != '\n')
				b--;
			if (reason_line(b, (size_t)(e - 1 - b))) {
				lines[n] = b;
				lens[n++] = (size_t)(e - 1 - b);
			} else if (n) {
				break;
			}
			e = b;
		}
		for (int i = n - 1; i >= 0; i--)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "%s%.*s", i == n - 1 ? "" : "; ", (int)lens[i],
				 lines[i]);
		if (n) {
			snprintf(buf, 512, "%s", why);
			return buf;
		}
	}
	end = buf + strlen(buf);
	while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	s = strrchr(buf, '\n');
	return s ? s + 1 : buf;
}

/* --- the netdev's lock and owners --- */

/* The netdev's lock: an abstract unix socket name, which is the network
 * namespace's own, bound by the holder; nothing on disk, and gone with
 * the holder however it ends. */
static void
lock_path_of(int ifindex, char *buf, size_t len)
{
	snprintf(buf, len, "vstack-xdp-%d", ifindex);
}

/* Takes the lock: an fd, or -errno (-ETIMEDOUT after 10 s: any local
 * process may bind the name, and a holder is never that long). */
static int
xlock(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	socklen_t len =
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);

	memcpy(sa.sun_path + 1, name, n); /* sun_path[0] = 0: abstract */
	for (int i = 0;; i++) {
		int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), e;

		if (fd < 0)
			return -errno;
		if (!bind(fd, (struct sockaddr *)&sa, len))
			return fd;
		e = errno;
		close(fd);
		if (e != EADDRINUSE)
			return -e;
		if (i == 10000)
			return -ETIMEDOUT;
		usleep(1000); /* held: attaching or releasing is brief */
	}
}

/* A process's start time (/proc/PID/stat field 22); 0 if it is gone. */
static unsigned long long
proc_start(pid_t pid)
{
	char path[32], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* field 3 on */
#define SKIP4 " %*s %*s %*s %*s"
	/* the state, fields 4 to 21 skipped, then starttime */
	if (!p || sscanf(p + 1, " %*c" SKIP4 SKIP4 SKIP4 SKIP4 " %*s %*s %llu",
			 &start) != 1)
		return 0;
#undef SKIP4
	return start;
}

static void
maps_close(struct xmaps *m)
{
	int *fd = &m->tables;

	for (size_t i = 0; i < sizeof(*m) / sizeof(int); i++) {
		if (fd[i] >= 0)
			close(fd[i]);
		fd[i] = -1;
	}
}

/*
 * The maps of program prog_fd, each checked against what this build
 * writes into it (another vstack's program may be on the netdev).
 * 0, -ENOENT (not vstack's program) or -EPROTO (another version's).
 */
static int
maps_of_prog(int prog_fd, struct xmaps *m)
{
	static const struct {
		const char *name;
		size_t off;
		uint32_t key, value, entries; /* 0: any */
	} want[] = {
#define M(n, f, k, v, e) { n, offsetof(struct xmaps, f), k, v, e }
		M("vs_tables", tables, 4, sizeof(struct vs_xdp_table),
		  2 * VS_XDP_MAX_QUEUES),
		M("vs_cur", cur, 4, 4, VS_XDP_MAX_QUEUES),
		M("vs_exact", exact, sizeof(struct vs_xdp_exact_key),
		  sizeof(struct vs_xdp_exact_val), 0),
		M("vs_local", local, sizeof(struct vs_xdp_local_key),
		  sizeof(struct vs_xdp_exact_val), 0),
		M("vs_hits", hits, 4, 8, VS_XDP_MAX_SLOTS),
		M("vs_xsks", xsks, 4, 4, VS_XDP_MAX_QUEUES),
		M("vs_qowner", qowner, 4, 4, VS_XDP_MAX_QUEUES),
		M("vs_procs", procs, 4, sizeof(struct vs_xdp_proc),
		  VS_XDP_MAX_QUEUES),
		M("vs_misq", misq, 4, 8, VS_XDP_MAX_QUEUES),
#undef M
	};
	struct bpf_prog_info pi;
	uint32_t ids[32], len = sizeof(pi), found = 0;
	int rc = 0;

	memset(m, -1, sizeof(*m));
	memset(&pi, 0, sizeof(pi));
	pi.nr_map_ids = VS_ARRAY_SIZE(ids);
	pi.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &pi, &len))
		return -errno;
	if (strcmp(pi.name, "vstack_xdp"))
		return -ENOENT;
	for (uint32_t i = 0; i < pi.nr_map_ids && i < VS_ARRAY_SIZE(ids); i++) {
		struct bpf_map_info mi;
		uint32_t ml = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		size_t w;

		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info_by_fd(fd, &mi, &ml)) {
			close(fd);
			continue;
		}
		for (w = 0; w < VS_ARRAY_SIZE(want); w++)
			if (!strcmp(mi.name, want[w].name))
				break;
		if (w == VS_ARRAY_SIZE(want)) {
			close(fd);
			continue;
		}
		*(int *)((char *)m + want[w].off) = fd;
		found |= 1u << w;
		if (mi.key_size != want[w].key ||
		    mi.value_size != want[w].value ||
		    (want[w].entries && mi.max_entries != want[w].entries))
			rc = -EPROTO;
	}
	if (!rc && found != (1u << VS_ARRAY_SIZE(want)) - 1)
		rc = -EPROTO;
	if (rc)
		maps_close(m);
	return rc;
}

/* Deletes owner's entries from the hash maps (a dead owner's, or those a
 * new owner of the same number finds). */
static void
purge(const struct xmaps *m, unsigned owner)
{
	for (int pass = 0; pass < 2; pass++) {
		int fd = pass ? m->local : m->exact;
		size_t ks = pass ? sizeof(struct vs_xdp_local_key) :
				   sizeof(struct vs_xdp_exact_key);
		size_t n = 0, cap = 0;
		uint8_t *keys = NULL, *prev = NULL, cur[64], pk[64];

		while (!bpf_map_get_next_key(fd, prev, cur)) {
			struct vs_xdp_exact_val v;
			unsigned o;

			if (pass)
				o = ((struct vs_xdp_local_key *)cur)->owner;
			else
				o = bpf_map_lookup_elem(fd, cur, &v) ? 0 :
								       v.owner;
			if (o == owner) {
				if (n == cap) {
					uint8_t *k = realloc(
						keys,
						(cap = cap ? 2 * cap : 256) *
							ks);

					if (!k)
						break;
					keys = k;
				}
				memcpy(keys + n++ * ks, cur, ks);
			}
			memcpy(pk, cur, ks);
			prev = pk;
		}
		for (size_t i = 0; i < n; i++)
			bpf_map_delete_elem(fd, keys + i * ks);
		free(keys);
	}
}

static bool
proc_alive(const struct vs_xdp_proc *pr)
{
	return pr->pid && proc_start((pid_t)pr->pid) == pr->start;
}

/* Another owner than `owner` is alive. */
static bool
others_alive(const struct xmaps *m, unsigned owner)
{
	for (uint32_t o = 0; o < VS_XDP_MAX_QUEUES; o++) {
		struct vs_xdp_proc pr;

		if (o + 1 != owner && !bpf_map_lookup_elem(m->procs, &o, &pr) &&
		    proc_alive(&pr))
			return true;
	}
	return false;
}

/* Gives owner's queues back to the kernel and removes its rules, if
 * owner is still the process self (not a newer one). */
static void
owner_release(const struct xmaps *m, unsigned owner,
	      const struct vs_xdp_proc *self)
{
	struct vs_xdp_proc pr, none = { 0 };
	uint32_t o = owner - 1;

	if (!owner || bpf_map_lookup_elem(m->procs, &o, &pr) ||
	    pr.pid != self->pid || pr.start != self->start)
		return;
	for (uint32_t q = 0; q < VS_XDP_MAX_QUEUES; q++) {
		uint32_t w, zero = 0;

		if (!bpf_map_lookup_elem(m->qowner, &q, &w) && w == owner)
			bpf_map_update_elem(m->qowner, &q, &zero, BPF_ANY);
	}
	purge(m, owner);
	bpf_map_update_elem(m->procs, &o, &none, BPF_ANY);
}

/* Detaches program prog_id from the netdev if no owner is left; true if
 * it did (or it was gone). Under the lock. */
static bool
detach_if_last(const struct xmaps *m, uint32_t prog_id, int ifindex,
	       enum xdp_attach_mode mode)
{
	struct xdp_program *prog;

	if (m->procs >= 0 && others_alive(m, 0))
		return false;
	prog = xdp_program__from_id(prog_id);
	if (!libxdp_get_error(prog)) {
		xdp_program__detach(prog, ifindex, mode, 0);
		xdp_program__close(prog);
	}
	return true;
}

/* --- the reaper --- */

/*
 * A process that outlives this one: it waits for the end of a pipe
 * whose other end only this process (and its children) hold, then
 * detaches the program. Forked twice so that it is nobody's child and
 * in its own session (no terminal signal reaches it).
 */
/*
 * Writes name over this process's command line: the memory of its argv,
 * which /proc/PID/cmdline reads (its bounds are fields 48 and 49 of
 * /proc/self/stat). Used in the reaper, a fork of the program.
 */
static void
set_cmdline(const char *name)
{
	char buf[1024], *p;
	unsigned long start = 0, end = 0;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	size_t len = strlen(name);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* after the command's name, field 3 on */
#define SKIP4 " %*s %*s %*s %*s"
	/* the state, fields 4 to 47 skipped, then arg_start and arg_end */
	if (!p ||
	    sscanf(p + 1,
		   " %*c" SKIP4 SKIP4 SKIP4 SKIP4 SKIP4 SKIP4 SKIP4 SKIP4 SKIP4
			   SKIP4 SKIP4 " %lu %lu",
		   &start, &end) != 2 ||
	    end <= start)
		return;
#undef SKIP4
	if (len > end - start - 1)
		len = end - start - 1;
	memset((void *)start, 0, end - start);
	memcpy((void *)start, name, len);
}

static int
reaper_start(struct xport *x)
{
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		struct xdp_program *prog;
		struct xmaps m;
		char c;
		int lk;

		/* Named before the second fork, so that the reaper never runs
		 * under the program's name (tests find programs by name). */
		prctl(PR_SET_NAME, "vstack-reaper");
		if (fork() != 0)
			_exit(0);
		setsid();
		/* Its command line too, or `pkill -f PROGRAM` would find it. */
		set_cmdline("vstack-reaper");
		for (int s = 1; s < 32; s++)
			signal(s, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		syscall(SYS_close, pfd[1]);
		if (pfd[0] != 3) {
			dup2(pfd[0], 3);
			pfd[0] = 3;
		}
		syscall(SYS_close_range, 4, ~0u, 0);
		/* Nobody waits for the end of output it would hold open. */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		for (int fd = 0; null >= 0 && fd < 3; fd++)
			dup2(null, fd);
		/* First what the process claimed (claim_owner writes it);
		 * then the end of the pipe: the process is gone. */
		{
			struct {
				uint32_t owner;
				struct vs_xdp_proc self;
			} msg;
			ssize_t got;

			while ((got = syscall(SYS_read, 3, &msg, sizeof(msg))) <
				       0 &&
			       errno == EINTR)
				;
			if (got == (ssize_t)sizeof(msg)) {
				x->owner = msg.owner;
				x->self = msg.self;
				while (syscall(SYS_read, 3, &c, 1) != 0 &&
				       (errno == EINTR || errno == 0))
					errno = 0;
			} else {
				x->owner = 0; /* gone before it claimed */
			}
		}
		/* The process is gone: its share of the program goes, and the
		 * program with the last one. */
		lk = xlock(x->lock_path);
		prog = xdp_program__from_id(x->prog_id);
		if (libxdp_get_error(prog))
			_exit(0); /* detached already */
		if (maps_of_prog(xdp_program__fd(prog), &m) == 0) {
			owner_release(&m, x->owner, &x->self);
			detach_if_last(&m, x->prog_id, x->ifindex, x->mode);
			maps_close(&m);
		}
		xdp_program__close(prog);
		if (lk >= 0)
			close(lk);
		_exit(0);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	return pfd[1];
}

/* --- the netdev --- */

static unsigned
netdev_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned n = 1;

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	if (s >= 0 && ioctl(s, SIOCETHTOOL, &ifr) == 0) {
		n = ch.combined_count + ch.rx_count;
		if (ch.combined_count && ch.rx_count)
			n = ch.combined_count > ch.rx_count ?
				    ch.combined_count :
				    ch.rx_count;
	}
	if (s >= 0)
		close(s);
	return n ? n : 1;
}

static int
netdev_numa(const char *ifname)
{
	char path[128];
	int node = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device/numa_node",
		 ifname);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%d", &node) != 1)
			node = -1;
		fclose(f);
	}
	return node;
}

static void
list_netdevs(char *buf, size_t len)
{
	struct if_nameindex *l = if_nameindex(), *i;
	size_t used = 0;

	buf[0] = '\0';
	for (i = l; i && i->if_index; i++)
		if (strcmp(i->if_name, "lo") &&
		    used + strlen(i->if_name) + 3 < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 used ? ", " : "", i->if_name);
	if (l)
		if_freenameindex(l);
	if (!used)
		snprintf(buf, len, "none");
}

static int
check_netdev(struct vs_port *p, const char *name, char *err, size_t errlen)
{
	char names[256];
	int s;

	snprintf(p->info.ifname, sizeof(p->info.ifname), "%s", name);
	snprintf(p->info.device, sizeof(p->info.device), "xdp:%s", name);
	xp(p)->ifindex = (int)if_nametoindex(name);
	if (!xp(p)->ifindex) {
		list_netdevs(names, sizeof(names));
		snprintf(err, errlen,
			 "%s: no such interface in this network "
			 "namespace; there are: %s",
			 p->info.device, names);
		return -ENODEV;
	}
	if (p->o.buf_size != 2048) {
		snprintf(err, errlen,
			 "%s: buffers of %u bytes: AF_XDP frames "
			 "live in chunks of at most one 4 KiB page; "
			 "use buffer_size = 2048 (jumbo frames need "
			 "the verbs backend)",
			 p->info.device, p->o.buf_size);
		return -EINVAL;
	}
	s = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s < 0 && (errno == EPERM || errno == EACCES)) {
		snprintf(err, errlen,
			 "%s: AF_XDP needs CAP_NET_RAW, and loading "
			 "the XDP program CAP_BPF and CAP_NET_ADMIN; "
			 "run as root",
			 p->info.device);
		return -EPERM;
	}
	if (s < 0) {
		snprintf(err, errlen,
			 "%s: no AF_XDP sockets in this kernel (%s)",
			 p->info.device, strerror(errno));
		return -EAFNOSUPPORT;
	}
	close(s);
	s = vs__port_netdev_info(p, err, errlen);
	/* A frame, its VLAN tag and the kernel's headroom in one chunk. */
	if (!s && p->info.mtu + 18 + XDP_HEADROOM > p->o.buf_size) {
		snprintf(err, errlen,
			 "%s: MTU %u is too large for AF_XDP chunks "
			 "of %u bytes (at most %u); lower it (ip link "
			 "set %s mtu 1500) or use the verbs backend",
			 p->info.device, p->info.mtu, p->o.buf_size,
			 p->o.buf_size - 18 - XDP_HEADROOM, p->info.ifname);
		return -EMSGSIZE;
	}
	return s;
}

/* --- the program --- */

static int
load_program(struct vs_port *p, char *err, size_t errlen)
{
	struct xport *x = xp(p);
	char msg[8192] = "";
	struct bpf_object *obj;
	int rc;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "vstack_xdp");

	lib_msg = msg;
	lib_msg_len = sizeof(msg);
	libbpf_set_print(lib_print);
	libxdp_set_print(libxdp_print);
	obj = bpf_object__open_mem(vs__xdp_prog_obj, vs__xdp_prog_obj_len, &oo);
	rc = (int)libbpf_get_error(obj);
	if (rc)
		obj = NULL;
	x->obj = obj;
	/* Room for `flows` connections and listeners in each hash map. */
	if (!rc)
		rc = bpf_map__set_max_entries(
			bpf_object__find_map_by_name(obj, "vs_exact"),
			p->o.flows);
	if (!rc)
		rc = bpf_map__set_max_entries(
			bpf_object__find_map_by_name(obj, "vs_local"),
			p->o.flows);
	if (!rc && x->meta_in_frame) {
		struct bpf_map *mode =
			bpf_object__find_map_by_name(obj, ".rodata.vs_mode");
		uint32_t one = 1;

		rc = mode ? bpf_map__set_initial_value(mode, &one,
						       sizeof(one)) :
			    -ENOENT;
	}
	if (!rc) {
		DECLARE_LIBXDP_OPTS(xdp_program_opts, po, .obj = obj,
				    .prog_name = "vstack_xdp");

		x->prog = xdp_program__create(&po);
		rc = (int)libxdp_get_error(x->prog);
		if (rc)
			x->prog = NULL;
	}
	if (rc) {
		snprintf(err, errlen, "%s: cannot open the XDP program: %s",
			 p->info.device, strerror(-rc));
		lib_msg = NULL;
		return rc;
	}
	x->mode = XDP_MODE_NATIVE;
	rc = xdp_program__attach(x->prog, x->ifindex, x->mode, 0);
	if (rc == -EOPNOTSUPP) {
		vs_warn("%s: the driver has no native XDP; using generic (skb) "
			"mode, which is slower",
			p->info.device);
		msg[0] = '\0';
		x->mode = XDP_MODE_SKB;
		rc = xdp_program__attach(x->prog, x->ifindex, x->mode, 0);
	}
	lib_msg = NULL;
	libbpf_set_print(NULL);
	libxdp_set_print(NULL);
	if (rc) {
		const char *why = vs__xdp_reason(msg);

		if (rc == -EPERM)
			snprintf(err, errlen,
				 "%s: loading the XDP program needs "
				 "CAP_BPF and CAP_NET_ADMIN; run as "
				 "root",
				 p->info.device);
		else if (rc == -EBUSY || rc == -EEXIST)
			snprintf(err, errlen,
				 "%s: another XDP program on %s cannot "
				 "be shared%s%s",
				 p->info.device, p->info.ifname,
				 *why ? ": " : "", why);
		else if (rc == -EOPNOTSUPP || rc == -EINVAL)
			snprintf(err, errlen,
				 "%s: XDP not supported here (%s)%s%s",
				 p->info.device, strerror(-rc),
				 *why ? ": " : "", why);
		else
			snprintf(err, errlen,
				 "%s: the XDP program was rejected "
				 "(%s)%s%s",
				 p->info.device, strerror(-rc),
				 *why ? ": " : "", why);
		xdp_program__close(x->prog);
		x->prog = NULL;
		return rc;
	}
	/* The program never reads vs_procs: bound to it, the other
	 * processes find it among its maps. */
	rc = bpf_prog_bind_map(xdp_program__fd(x->prog),
			       bpf_object__find_map_fd_by_name(obj, "vs_procs"),
			       NULL);
	if (rc) {
		snprintf(err, errlen,
			 "%s: cannot bind the XDP program's maps: %s",
			 p->info.device, strerror(-rc));
		xdp_program__detach(x->prog, x->ifindex, x->mode, 0);
		xdp_program__close(x->prog);
		x->prog = NULL;
		return rc;
	}
	x->prog_id = xdp_program__id(x->prog);
	return 0;
}

/* The vstack program another process attached to the netdev, if any:
 * 1 (joined: x->prog_id, x->mode), 0 (none), or -errno with err. */
static int
join_program(struct vs_port *p, char *err, size_t errlen)
{
	struct xport *x = xp(p);
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(x->ifindex);
	struct xdp_program *prog = NULL;

	if (libxdp_get_error(mp))
		return 0; /* nothing attached */
	if (xdp_multiprog__is_legacy(mp)) {
		prog = xdp_multiprog__main_prog(mp);
		if (prog && strcmp(xdp_program__name(prog), "vstack_xdp"))
			prog = NULL;
	} else {
		while ((prog = xdp_multiprog__next_prog(prog, mp)) != NULL)
			if (!strcmp(xdp_program__name(prog), "vstack_xdp"))
				break;
	}
	if (prog) {
		x->prog_id = xdp_program__id(prog);
		x->mode = xdp_multiprog__attach_mode(mp);
	}
	xdp_multiprog__close(mp);
	if (!prog)
		return 0; /* another program: attaching says whether it may */
	vs_info("%s: joining the vstack XDP program %u on %s", p->info.device,
		x->prog_id, p->info.ifname);
	(void)err;
	(void)errlen;
	return 1;
}

/* The maps of the program on the netdev (ours or joined). */
static int
open_maps(struct vs_port *p, char *err, size_t errlen)
{
	struct xport *x = xp(p);
	int fd = bpf_prog_get_fd_by_id(x->prog_id), rc;

	rc = fd < 0 ? -errno : maps_of_prog(fd, &x->m);
	if (fd >= 0)
		close(fd);
	if (rc == -EPROTO || rc == -ENOENT)
		snprintf(err, errlen,
			 "%s: the XDP program on %s is another vstack "
			 "version's; stop its processes first",
			 p->info.device, p->info.ifname);
	else if (rc)
		snprintf(err, errlen,
			 "%s: cannot open the XDP program's "
			 "maps: %s",
			 p->info.device, strerror(-rc));
	return rc;
}

/*
 * Whether the kernel lets an XDP program call bpf_xdp_adjust_meta (6.18
 * as built here does not: "program of this type cannot use helper",
 * which libbpf_probe_bpf_helper takes for a yes). A kernel that refuses
 * every load (no CAP_BPF) says yes: loading the program then says why.
 */
static bool
has_xdp_meta(void)
{
	const struct bpf_insn probe[] = {
		/* r2 = -4; call bpf_xdp_adjust_meta(r1 = ctx, r2) */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_2,
		  .imm = -4 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_xdp_adjust_meta },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "MIT", probe,
			       sizeof(probe) / sizeof(probe[0]), NULL);

	if (fd >= 0)
		close(fd);
	return fd != -EINVAL;
}

/* Under the netdev's lock: the program, attached or joined, and its
 * maps. */
static int
attach_program(struct vs_port *p, char *err, size_t errlen)
{
	struct xport *x = xp(p);
	int rc;

	lock_path_of(x->ifindex, x->lock_path, sizeof(x->lock_path));
	x->lock_fd = xlock(x->lock_path);
	if (x->lock_fd < 0) {
		snprintf(err, errlen, "%s: cannot take the lock @%s: %s%s",
			 p->info.device, x->lock_path, strerror(-x->lock_fd),
			 x->lock_fd == -ETIMEDOUT ?
				 " (a process holds it: `ss -xlp | grep "
				 "vstack-xdp` names it)" :
				 "");
		return x->lock_fd;
	}
	/* Every process on the kernel answers the same: one that joins
	 * the program reads frames as the one that loaded it wrote them. */
	x->meta_in_frame = !has_xdp_meta();
	rc = join_program(p, err, errlen);
	if (rc == 0)
		rc = load_program(p, err, errlen);
	if (rc >= 0)
		rc = open_maps(p, err, errlen);
	if (rc < 0)
		return rc;
	/* Per-CPU maps (hit counters) are read whole: a value per CPU. */
	x->ncpus = libbpf_num_possible_cpus();
	x->owner = 0;
	x->reaper_fd = reaper_start(x);
	if (x->reaper_fd < 0)
		vs_warn("%s: no reaper (%s): if this process is killed, its XDP "
			"rules stay on %s until `xdp-loader unload`",
			p->info.device, strerror(-x->reaper_fd),
			p->info.ifname);
	return 0;
}

static int table_publish(struct xport *x);

/* The queues just bound are this process's: owner 1 + the first. */
static int
claim_owner(struct vs_port *p, char *err, size_t errlen)
{
	struct xport *x = xp(p);
	uint32_t o;

	x->owner = x->socks[0].hwq + 1;
	o = x->owner - 1;
	x->self.pid = (unsigned)getpid();
	x->self.start = proc_start(getpid());
	/* A number a dead process had: what its reaper has not removed. */
	purge(&x->m, x->owner);
	x->cur = 1; /* the first publish writes table 0 */
	if (bpf_map_update_elem(x->m.procs, &o, &x->self, BPF_ANY) ||
	    table_publish(x)) {
		snprintf(err, errlen,
			 "%s: cannot write the XDP program's "
			 "maps: %s",
			 p->info.device, strerror(errno));
		return -EIO;
	}
	/* Last: from now on the program hands these queues' frames to
	 * this process's rules. */
	for (unsigned i = 0; i < x->nsocks; i++) {
		uint32_t q = x->socks[i].hwq;

		bpf_map_update_elem(x->m.qowner, &q, &x->owner, BPF_ANY);
	}
	/* The reaper, forked before the sockets (it must never hold one),
	 * learns what to release. */
	if (x->reaper_fd >= 0) {
		struct {
			uint32_t owner;
			struct vs_xdp_proc self;
		} msg = { x->owner, x->self };

		if (write(x->reaper_fd, &msg, sizeof(msg)) !=
		    (ssize_t)sizeof(msg))
			vs_warn("%s: the reaper did not learn this process's "
				"share: %s",
				p->info.device, strerror(errno));
	}
	return 0;
}

/* --- queues --- */

/* A ring's size: a power of two, at least 64. */
static uint32_t
pow2(uint32_t v)
{
	return vs_pow2_at_least(v < 64 ? 64 : v);
}

static void
gauges(struct vs_port *p, unsigned qi)
{
	struct xq *q = &xp(p)->q[qi];
	uint64_t rx = 0, tx = 0;

	for (unsigned i = 0; i < q->nsock; i++) {
		rx += q->s[i]->rx_held;
		tx += q->s[i]->tx_held;
	}
	atomic_store_explicit(&p->st[qi].rx_posted, rx, memory_order_relaxed);
	atomic_store_explicit(&p->st[qi].tx_inflight, tx, memory_order_relaxed);
}

/* Gives the kernel receive buffers (engine qi's) until it holds
 * fill_depth. */
static void
fill(struct vs_port *p, unsigned qi, struct xsock *x)
{
	struct vs_buf *b[BURST];
	uint32_t idx;

	while (x->rx_held < x->fill_depth) {
		unsigned want = x->fill_depth - x->rx_held, n;

		if (want > BURST)
			want = BURST;
		n = vs__pool_get(&p->pool, qi, b, want);
		if (!n) {
			vs__stat_add(&p->st[qi].rx_no_buf, want);
			return;
		}
		if (xsk_ring_prod__reserve(&x->fill, n, &idx) != n) {
			vs__pool_put(&p->pool, qi, b, n);
			return;
		}
		for (unsigned i = 0; i < n; i++)
			*xsk_ring_prod__fill_addr(&x->fill, idx + i) =
				(uint64_t)(b[i]->head - p->pool.mem);
		xsk_ring_prod__submit(&x->fill, n);
		x->rx_held += n;
	}
}

/* The queue RSS gives the flow of a frame (for VS_XDP_QUEUE_RSS). */
static unsigned
rss_of(struct vs_port *p, const uint8_t *f, uint32_t len)
{
	uint16_t et;
	const uint8_t *l4;
	int family;

	if (len < 14 + 20)
		return 0;
	et = (uint16_t)(f[12] << 8 | f[13]);
	if (et == 0x0800) {
		family = AF_INET;
		l4 = f + 14 + (f[14] & 0xf) * 4;
	} else if (et == 0x86dd && len >= 14 + 40) {
		family = AF_INET6;
		l4 = f + 14 + 40;
	} else {
		return 0;
	}
	if (l4 + 4 > f + len)
		return 0;
	return vs__port_rss_queue(
		p, family, family == AF_INET ? f + 26 : f + 22,
		family == AF_INET ? f + 30 : f + 38,
		(uint16_t)(l4[0] << 8 | l4[1]), (uint16_t)(l4[2] << 8 | l4[3]));
}

/* Passes frames to engine t's handoff ring; wakes it if it sleeps. */
static void
handoff_push(struct vs_port *p, unsigned from, unsigned t, struct vs_buf **b,
	     unsigned n)
{
	struct xq *q = &xp(p)->q[t];
	unsigned k;

	pthread_spin_lock(&q->in.lock);
	k = HANDOFF - q->in.n < n ? HANDOFF - q->in.n : n;
	for (unsigned i = 0; i < k; i++)
		q->in.b[(q->in.head + q->in.n + i) % HANDOFF] = b[i];
	atomic_store(&q->in.n, q->in.n + k);
	pthread_spin_unlock(&q->in.lock);
	if (k < n) {
		vs__stat_add(&p->st[from].rx_no_buf, n - k);
		vs__pool_put(&p->pool, from, b + k, n - k);
	}
	if (k && atomic_load(&q->sleeping)) {
		uint64_t one = 1;

		if (write(q->evfd, &one, sizeof(one)) < 0)
			(void)0; /* the counter is full: it is awake anyway */
	}
}

static unsigned
handoff_pop(struct xq *q, struct vs_buf **out, unsigned n)
{
	unsigned k;

	if (!atomic_load_explicit(&q->in.n, memory_order_relaxed))
		return 0;
	pthread_spin_lock(&q->in.lock);
	k = q->in.n < n ? q->in.n : n;
	for (unsigned i = 0; i < k; i++)
		out[i] = q->in.b[(q->in.head + i) % HANDOFF];
	q->in.head = (q->in.head + k) % HANDOFF;
	atomic_store(&q->in.n, q->in.n - k);
	pthread_spin_unlock(&q->in.lock);
	return k;
}

/* Frames of socket x: engine qi's into out (returns how many), other
 * engines' into away/to. */
static unsigned
sock_rx(struct vs_port *p, unsigned qi, struct xsock *x, struct vs_buf **out,
	unsigned n, struct vs_buf **away, uint16_t *to, unsigned *naway)
{
	unsigned nq = p->o.nqueues, got = 0, k;
	bool in_frame = xp(p)->meta_in_frame;
	uint32_t idx;

	k = xsk_ring_cons__peek(&x->rx, n, &idx);
	for (unsigned i = 0; i < k; i++) {
		const struct xdp_desc *d =
			xsk_ring_cons__rx_desc(&x->rx, idx + i);
		struct vs_buf *b = &p->pool.desc[d->addr / p->pool.buf_size];
		const struct vs_xdp_meta *m;
		unsigned t = qi;

		b->data = p->pool.mem + d->addr;
		b->len = d->len;
		b->flags = 0;
		if (unlikely(in_frame) && b->len >= sizeof(*m)) {
			m = (const void *)b->data;
			b->data += sizeof(*m);
			b->len -= sizeof(*m);
		} else {
			m = (const void *)(b->data - sizeof(*m));
		}
		if (likely(m->magic == VS_XDP_META_MAGIC)) {
			t = m->queue;
			if (t == VS_XDP_QUEUE_RSS)
				t = rss_of(p, b->data, b->len);
		}
		if (t >= nq)
			t = qi;
		b->queue = (uint16_t)t;
		if (likely(t == qi)) {
			out[got++] = b;
		} else {
			to[*naway] = (uint16_t)t;
			away[(*naway)++] = b;
		}
	}
	if (k) {
		xsk_ring_cons__release(&x->rx, k);
		x->rx_held -= k;
	}
	if (x->rx_held + BURST <= x->fill_depth || !x->rx_held)
		fill(p, qi, x);
	if (!k && xsk_ring_prod__needs_wakeup(&x->fill))
		recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	return got;
}

static int sock_open(struct vs_port *p, unsigned si, unsigned hwq);

/*
 * A worker takes netdev queue hwq, which nobody has owned for
 * ADOPT_GRACE_US (a worker that ended and was not replaced, or a queue
 * no worker took): a socket on it for engine 0, whose thread this is.
 */
static void
adopt(struct vs_port *p, unsigned hwq)
{
	struct xport *x = xp(p);
	struct xq *q = &x->q[0];
	unsigned si = x->nsocks;
	struct xsock *k = &x->socks[si];
	struct epoll_event ev = { .events = EPOLLIN };
	uint32_t key = hwq;
	int rc;

	k->fill_depth = x->socks[0].fill_depth;
	rc = sock_open(p, si, hwq);
	if (!rc && epoll_ctl(q->epfd, EPOLL_CTL_ADD, k->fd, &ev))
		rc = -errno;
	if (rc) { /* EBUSY: a newcomer bound it first */
		if (k->xsk)
			xsk_socket__delete(k->xsk);
		memset(k, 0, sizeof(*k));
		return;
	}
	x->nsocks++;
	fill(p, 0, k);
	q->s[q->nsock] = k;
	__atomic_store_n(&q->nsock, q->nsock + 1, __ATOMIC_RELEASE);
	bpf_map_update_elem(x->m.qowner, &key, &x->owner, BPF_ANY);
	vs_info("%s: adopted queue %u, which nobody held for %u s",
		p->info.device, hwq, ADOPT_GRACE_US / 1000000);
}

/* Every ADOPT_TICK_US on engine 0 of a worker: queues free long enough
 * are adopted. */
static void
adopt_tick(struct vs_port *p)
{
	struct xport *x = xp(p);
	uint64_t now = vs__now_us(), v;

	if (read(x->adopt_tfd, &v, sizeof(v)) < 0)
		(void)0; /* not fired yet: woken by traffic */
	/* A little early, so that the timer's firing finds it due. */
	x->adopt_next_us = now + ADOPT_TICK_US - ADOPT_TICK_US / 8;
	for (unsigned hwq = x->qfirst;
	     hwq <= x->qend && x->nsocks < VS_XDP_MAX_QUEUES; hwq++) {
		uint32_t k = hwq, w = 1;

		if (bpf_map_lookup_elem(x->m.qowner, &k, &w) || w) {
			x->free_since[hwq] = 0;
			continue;
		}
		if (!x->free_since[hwq])
			x->free_since[hwq] = now;
		else if (now - x->free_since[hwq] >= ADOPT_GRACE_US) {
			x->free_since[hwq] = 0;
			adopt(p, hwq);
		}
	}
}

/* A worker's engine 0 wakes every ADOPT_TICK_US to look for free
 * queues; anyone else never. */
static void
adopt_start(struct vs_port *p)
{
	struct xport *x = xp(p);
	struct itimerspec it = { .it_interval = { .tv_sec = 1 },
				 .it_value = { .tv_sec = 1 } };
	struct epoll_event ev = { .events = EPOLLIN };

	if (!p->o.shared)
		return;
	x->adopt_tfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (x->adopt_tfd < 0 || timerfd_settime(x->adopt_tfd, 0, &it, NULL) ||
	    epoll_ctl(x->q[0].epfd, EPOLL_CTL_ADD, x->adopt_tfd, &ev)) {
		vs_warn("%s: no timer to adopt free queues (%s)",
			p->info.device, strerror(errno));
		return;
	}
	x->adopt_next_us = vs__now_us() + ADOPT_TICK_US;
}

static unsigned
x_rx_burst(struct vs_port *p, unsigned qi, struct vs_buf **out, unsigned n)
{
	struct xq *q = &xp(p)->q[qi];
	struct vs_buf *away[BURST];
	uint16_t to[BURST];
	unsigned naway = 0, got;
	uint64_t bytes = 0;

	if (n > BURST)
		n = BURST;
	if (qi == 0 && xp(p)->adopt_next_us &&
	    vs__now_us() >= xp(p)->adopt_next_us)
		adopt_tick(p);
	got = handoff_pop(q, out, n);
	/* Each socket in turn, starting where the last burst stopped. */
	for (unsigned i = 0; i < q->nsock && got + naway < n; i++) {
		struct xsock *x = q->s[(q->next + i) % q->nsock];

		got += sock_rx(p, qi, x, out + got, n - got - naway, away, to,
			       &naway);
	}
	if (q->nsock > 1)
		q->next = (q->next + 1) % q->nsock;
	/* Frames for other engines, grouped by engine. */
	while (naway) {
		struct vs_buf *g[BURST];
		unsigned ng = 0, t = to[0], w = 0;

		for (unsigned r = 0; r < naway; r++) {
			if (to[r] == t) {
				g[ng++] = away[r];
			} else {
				to[w] = to[r];
				away[w++] = away[r];
			}
		}
		handoff_push(p, qi, t, g, ng);
		naway = w;
	}
	for (unsigned i = 0; i < got; i++)
		bytes += out[i]->len;
	if (got) {
		vs__stat_add(&p->st[qi].rx_frames, got);
		vs__stat_add(&p->st[qi].rx_bytes, bytes);
	}
	gauges(p, qi);
	return got;
}

/* The socket engine qi sends on. */
static struct xsock *
txs(struct vs_port *p, unsigned qi)
{
	return xp(p)->q[qi].s[0];
}

/* Buffers of completed sends go back to the pool. */
static void
tx_reap(struct vs_port *p, unsigned qi)
{
	struct xsock *x = txs(p, qi);
	struct vs_buf *b[BURST];
	uint32_t idx;
	unsigned k;

	while (x->tx_held &&
	       (k = xsk_ring_cons__peek(&x->comp, BURST, &idx)) > 0) {
		for (unsigned i = 0; i < k; i++)
			b[i] = &p->pool.desc[*xsk_ring_cons__comp_addr(
						     &x->comp, idx + i) /
					     p->pool.buf_size];
		xsk_ring_cons__release(&x->comp, k);
		x->tx_held -= k;
		vs__pool_put(&p->pool, qi, b, k);
	}
}

/*
 * Asks the kernel to send what the TX ring holds, if it wants to be
 * asked. In copy mode each call sends a batch and says EAGAIN while
 * more is left.
 */
static void
tx_kick(struct vs_port *p, unsigned qi)
{
	struct xsock *x = txs(p, qi);

	x->tx_kick = false;
	x->tx_unkicked = 0;
	if (!xsk_ring_prod__needs_wakeup(&x->tx))
		return;
	for (int i = 0; i < 64; i++) {
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return;
		if (errno == ENOBUFS) {
			tx_reap(p, qi);
			continue;
		}
		if (errno != EAGAIN && errno != EBUSY) {
			vs__stat_add(&p->st[qi].tx_err, 1);
			return;
		}
	}
	x->tx_kick = true; /* still busy: again at the next burst or arm */
}

static unsigned
x_tx_burst(struct vs_port *p, unsigned qi, struct vs_buf **b, unsigned n)
{
	struct xsock *x = txs(p, qi);
	uint64_t bytes = 0;
	uint32_t idx, room;

	tx_reap(p, qi);
	room = xsk_prod_nb_free(&x->tx, n);
	if (room > p->o.tx_depth - x->tx_held)
		room = p->o.tx_depth - x->tx_held;
	if (unlikely(n > room)) {
		vs__stat_add(&p->st[qi].tx_full, n - room);
		n = room;
	}
	if (!n || xsk_ring_prod__reserve(&x->tx, n, &idx) != n) {
		if (x->tx_kick)
			tx_kick(p, qi);
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, idx + i);

		d->addr = (uint64_t)(b[i]->data - p->pool.mem);
		d->len = b[i]->len;
		d->options = 0;
		bytes += b[i]->len;
	}
	xsk_ring_prod__submit(&x->tx, n);
	x->tx_held += n;
	/* One kick for what the queue's holder sends in a row (flush), or
	 * per TX_KICK_BATCH frames: the most copy mode sends per call. */
	x->tx_unkicked += n;
	if (x->tx_unkicked >= TX_KICK_BATCH)
		tx_kick(p, qi);
	else
		x->tx_kick = true;
	vs__stat_add(&p->st[qi].tx_frames, n);
	vs__stat_add(&p->st[qi].tx_bytes, bytes);
	gauges(p, qi);
	return n;
}

static void
x_flush(struct vs_port *p, unsigned qi)
{
	if (txs(p, qi)->tx_kick)
		tx_kick(p, qi);
}

/* The kernel's drops on the engine's sockets: RX ring full, no fill
 * buffer, invalid descriptors (XDP_STATISTICS); and the program's, of
 * other processes' connections that arrived on their queues. */
static uint64_t
x_nic_drops(struct vs_port *p, unsigned qi)
{
	struct xport *x = xp(p);
	struct xq *q = &x->q[qi];
	uint64_t n = 0, v[256];

	/* Another thread: a worker's engine 0 may adopt a socket. */
	unsigned ns = __atomic_load_n(&q->nsock, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < ns; i++) {
		struct xdp_statistics st;
		socklen_t len = sizeof(st);
		uint32_t k = q->s[i]->hwq;

		if (x->ncpus <= (int)VS_ARRAY_SIZE(v) &&
		    !bpf_map_lookup_elem(x->m.misq, &k, v))
			for (int c = 0; c < x->ncpus; c++)
				n += v[c];

		memset(&st, 0, sizeof(st));
		if (getsockopt(q->s[i]->fd, SOL_XDP, XDP_STATISTICS, &st,
			       &len) == 0)
			/* An empty fill ring counts in rx_dropped too. */
			n += st.rx_dropped + st.rx_invalid_descs +
			     st.tx_invalid_descs +
			     (len >= sizeof(st) ? st.rx_ring_full : 0);
	}
	return n;
}

/* --- sleeping --- */

static bool
rx_ready(struct xq *q)
{
	if (atomic_load(&q->in.n))
		return true;
	for (unsigned i = 0; i < q->nsock; i++)
		if (xsk_cons_nb_avail(&q->s[i]->rx, 1))
			return true;
	return false;
}

static int
x_arm(struct vs_port *p, unsigned qi)
{
	struct xq *q = &xp(p)->q[qi];

	tx_reap(p, qi);
	if (txs(p, qi)->tx_kick)
		tx_kick(p, qi);
	gauges(p, qi);
	atomic_store(&q->sleeping, true);
	/* After the flag: a handoff pushed before it is seen here, one
	 * pushed after it writes the eventfd. */
	if (rx_ready(q)) {
		atomic_store(&q->sleeping, false);
		return 1;
	}
	return 0;
}

static void
x_woken(struct vs_port *p, unsigned qi)
{
	struct xq *q = &xp(p)->q[qi];
	uint64_t v;

	atomic_store(&q->sleeping, false);
	if (read(q->evfd, &v, sizeof(v)) < 0)
		(void)0; /* nothing was written: woken by a socket */
	/* A worker's adoption timer (adopt_tick runs when it is due). */
	if (qi == 0 && xp(p)->adopt_tfd >= 0 &&
	    read(xp(p)->adopt_tfd, &v, sizeof(v)) < 0)
		(void)0;
}

static int
x_sleep_fd(struct vs_port *p, unsigned qi)
{
	return xp(p)->q[qi].epfd;
}

/* --- rules --- */

/* Same precedence classes as the verbs backend (verbs.c); *kind says
 * whether a hash map can hold the rule (a 5-tuple; a local address and
 * port with nothing of the peer), else the masked table. */
static uint8_t
rule_class(const struct vs_rule *r, enum x_kind *kind)
{
	static const uint8_t full[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff };
	size_t alen = r->family == AF_INET6 ? 16 : 4;
	bool src = r->family && !memcmp(r->src_mask, full, alen);
	bool dst = r->family && !memcmp(r->dst_mask, full, alen);

	*kind = X_MASKED;
	if (r->action == VS_RULE_DROP)
		return 0;
	if (src && dst && r->proto && r->sport_mask == 0xffff &&
	    r->dport_mask == 0xffff) {
		*kind = X_EXACT;
		return 1;
	}
	if (dst && r->dport_mask == 0xffff) {
		if (r->proto && !r->sport_mask &&
		    !memcmp(r->src_mask, (const uint8_t[16]){ 0 }, alen))
			*kind = X_LOCAL;
		return 2;
	}
	return 3;
}

/* Writes the table not in use from the rule list, then switches. */
static int
table_publish(struct xport *x)
{
	static struct vs_xdp_table t; /* 5 KiB; under the port's rule lock */
	uint32_t next = x->cur ^ 1, o = x->owner - 1, ti = 2 * o + next;

	memset(&t, 0, sizeof(t));
	for (uint8_t cls = 0; cls < 4; cls++) {
		if (cls == 1)
			t.exact_at = (unsigned short)t.n;
		if (cls == 3)
			t.local_at = (unsigned short)t.n;
		for (struct x_rule *h = x->rules; h; h = h->next)
			if (h->kind == X_MASKED && h->r.cls == cls) {
				if (t.n == VS_XDP_MAX_RULES)
					return -ENOSPC;
				t.r[t.n++] = h->r;
			}
	}
	if (bpf_map_update_elem(x->m.tables, &ti, &t, BPF_ANY) ||
	    bpf_map_update_elem(x->m.cur, &o, &next, BPF_ANY))
		return -errno;
	x->cur = next;
	/* XDP programs run under RCU: after a grace period none still
	 * reads the old copy, which the next change may then rewrite. */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) < 0)
		usleep(10000); /* nohz_full: no such call; a generous wait */
	return 0;
}

/* Owner o's counters are slots (o - 1) * VS_XDP_OWNER_SLOTS on. */
static unsigned
slot_base(const struct xport *x)
{
	return (x->owner - 1) * VS_XDP_OWNER_SLOTS;
}

static int
slot_new(struct xport *x)
{
	for (int i = 0; i < VS_XDP_OWNER_SLOTS; i++)
		if (!x->slot_used[i]) {
			uint64_t *zeros =
				calloc((size_t)x->ncpus, sizeof(*zeros));
			uint32_t k = slot_base(x) + (uint32_t)i;

			if (!zeros)
				return -ENOMEM;
			bpf_map_update_elem(x->m.hits, &k, zeros, BPF_ANY);
			free(zeros);
			x->slot_used[i] = 1;
			return (int)k;
		}
	return -ENOSPC;
}

static void
slot_free(struct xport *x, uint16_t slot)
{
	if (slot != VS_XDP_NO_SLOT)
		x->slot_used[slot - slot_base(x)] = 0;
}

static void
x_unlink(struct x_rule *h)
{
	*h->pprev = h->next;
	if (h->next)
		h->next->pprev = h->pprev;
}

static int
x_map(const struct xport *x, const struct x_rule *h)
{
	return h->kind == X_EXACT ? x->m.exact : x->m.local;
}

/* Fills in h's hash key from r (addresses in network order). */
static const void *
x_key(const struct xport *x, struct x_rule *h, const struct vs_rule *r)
{
	size_t alen = r->family == AF_INET6 ? 16 : 4;

	if (h->kind == X_LOCAL) {
		h->key.local.owner = (uint16_t)x->owner;
		h->key.local.family = r->family;
		h->key.local.proto = r->proto;
		h->key.local.dport = h->r.dport;
		memcpy(h->key.local.dst, h->r.dst, alen);
	} else {
		h->key.exact.family = r->family;
		h->key.exact.proto = r->proto;
		h->key.exact.sport = h->r.sport;
		h->key.exact.dport = h->r.dport;
		memcpy(h->key.exact.src, h->r.src, alen);
		memcpy(h->key.exact.dst, h->r.dst, alen);
	}
	return &h->key;
}

static int
x_rule_add(struct vs_port *p, const struct vs_rule *r,
	   struct vs_rule_handle **out)
{
	struct xport *x = xp(p);
	struct x_rule *h = calloc(1, sizeof(*h));
	struct vs_xdp_rule *xr;
	size_t alen = r->family == AF_INET6 ? 16 : 4;
	int rc = 0;

	/* Processes split the netdev by queues; fragments follow their
	 * first fragment (info.frag_follow); the kernel gets nothing the
	 * program redirects. */
	if (r->standby || r->frag || r->copy)
		return free(h), -EOPNOTSUPP;
	if (!h)
		return -ENOMEM;
	xr = &h->r;
	xr->cls = rule_class(r, &h->kind);
	xr->action = r->action == VS_RULE_DROP	    ? VS_XDP_DROP :
		     r->action == VS_RULE_STEER_RSS ? VS_XDP_RSS :
						      VS_XDP_STEER;
	xr->proto = r->proto;
	xr->family = r->family;
	xr->queue = (uint16_t)r->queue;
	xr->sport = htons(r->sport & r->sport_mask);
	xr->sport_mask = htons(r->sport_mask);
	xr->dport = htons(r->dport & r->dport_mask);
	xr->dport_mask = htons(r->dport_mask);
	if (r->family) {
		for (size_t i = 0; i < alen; i++) {
			xr->src[i] = r->src[i] & r->src_mask[i];
			xr->dst[i] = r->dst[i] & r->dst_mask[i];
		}
		memcpy(xr->src_mask, r->src_mask, alen);
		memcpy(xr->dst_mask, r->dst_mask, alen);
	}
	xr->slot = VS_XDP_NO_SLOT;
	if (r->count) {
		rc = slot_new(x);
		if (rc < 0) {
			free(h);
			return rc;
		}
		xr->slot = (uint16_t)rc;
		rc = 0;
	}
	if (h->kind != X_MASKED) {
		struct vs_xdp_exact_val v = { .action = xr->action,
					      .queue = xr->queue,
					      .slot = xr->slot,
					      .owner = (uint16_t)x->owner };

		/* A full map says E2BIG: the caller's "no room" is ENOSPC. */
		if (bpf_map_update_elem(x_map(x, h), x_key(x, h, r), &v,
					BPF_NOEXIST))
			rc = errno == E2BIG ? -ENOSPC : -errno;
	}
	if (!rc) {
		h->next = x->rules;
		h->pprev = &x->rules;
		if (h->next)
			h->next->pprev = &h->next;
		x->rules = h;
		if (h->kind == X_MASKED && (rc = table_publish(x)) != 0)
			x_unlink(h);
	}
	if (rc) {
		slot_free(x, xr->slot);
		free(h);
		return rc;
	}
	*out = &h->h;
	return 0;
}

static int
x_rule_del(struct vs_port *p, struct vs_rule_handle *rh)
{
	struct xport *x = xp(p);
	struct x_rule *h = xr_of(rh);

	x_unlink(h);
	if (h->kind != X_MASKED)
		bpf_map_delete_elem(x_map(x, h), &h->key);
	else
		table_publish(x);
	slot_free(x, h->r.slot);
	free(h);
	return 0;
}

static int
x_rule_hits(struct vs_port *p, struct vs_rule_handle *rh, uint64_t *hits)
{
	struct xport *x = xp(p);
	struct x_rule *h = xr_of(rh);
	uint32_t k = h->r.slot;
	uint64_t *v;
	int rc = 0;

	if (k == VS_XDP_NO_SLOT)
		return -EOPNOTSUPP;
	v = calloc((size_t)x->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(x->m.hits, &k, v))
		rc = -errno;
	*hits = 0;
	for (int i = 0; !rc && i < x->ncpus; i++)
		*hits += v[i];
	free(v);
	return rc;
}

/* --- opening and closing --- */

static void
queue_close(struct vs_port *p, unsigned qi)
{
	struct xq *q = &xp(p)->q[qi];
	struct vs_buf *b[BURST];
	unsigned k;

	if (q->epfd >= 0)
		close(q->epfd);
	if (q->evfd >= 0)
		close(q->evfd);
	q->epfd = q->evfd = -1;
	while ((k = handoff_pop(q, b, BURST)) > 0)
		vs__pool_put(&p->pool, qi, b, k);
	pthread_spin_destroy(&q->in.lock);
	/* What the kernel held is free again (the leak check counts it). */
	for (unsigned i = 0; i < q->nsock; i++)
		q->s[i]->rx_held = q->s[i]->tx_held = 0;
	gauges(p, qi);
	free(q->s);
}

static void
x_close(struct vs_port *p)
{
	struct xport *x = xp(p);

	while (x->rules)
		x_rule_del(p, &x->rules->h);
	if (x->lock_fd < 0 && x->lock_path[0])
		x->lock_fd = xlock(x->lock_path);
	/* The queues go back to the kernel before their sockets close. */
	if (x->m.procs >= 0)
		owner_release(&x->m, x->owner, &x->self);
	for (unsigned i = 0; i < x->nsocks; i++)
		if (x->socks[i].xsk)
			xsk_socket__delete(x->socks[i].xsk);
	for (unsigned i = 0; x->q && i < p->o.nqueues; i++)
		queue_close(p, i);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->prog_id && x->lock_fd >= 0)
		detach_if_last(&x->m, x->prog_id, x->ifindex, x->mode);
	if (x->prog)
		xdp_program__close(x->prog);
	/* libxdp leaves an object it was given to its owner. */
	if (x->obj)
		bpf_object__close(x->obj);
	maps_close(&x->m);
	if (x->lock_fd >= 0)
		close(x->lock_fd);
	if (x->reaper_fd >= 0)
		close(x->reaper_fd); /* nothing left for it to do */
	if (x->adopt_tfd >= 0)
		close(x->adopt_tfd);
	x->adopt_tfd = -1;
	x->adopt_next_us = 0;
	free(x->socks);
	free(x->q);
	x->socks = NULL;
	x->nsocks = 0;
	x->q = NULL;
	x->umem = NULL;
	x->prog = NULL;
	x->obj = NULL;
	x->prog_id = 0;
	x->owner = 0;
	x->lock_fd = x->reaper_fd = -1;
}

/* Socket si on netdev queue hwq (-EBUSY: another socket holds it). */
static int
sock_open(struct vs_port *p, unsigned si, unsigned hwq)
{
	struct xport *x = xp(p);
	struct xsock *k = &x->socks[si];
	struct xsk_socket_config sc = {
		.rx_size = pow2(k->fill_depth),
		.tx_size = pow2(p->o.tx_depth),
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	struct xdp_options opt;
	socklen_t ol = sizeof(opt);
	int rc;

	/* The first socket takes the rings made with the UMEM. */
	rc = xsk_socket__create_shared(&k->xsk, p->info.ifname, hwq, x->umem,
				       &k->rx, &k->tx, &k->fill, &k->comp, &sc);
	if (rc) {
		k->xsk = NULL;
		return rc;
	}
	k->hwq = hwq;
	k->fd = xsk_socket__fd(k->xsk);
	if (getsockopt(k->fd, SOL_XDP, XDP_OPTIONS, &opt, &ol) == 0)
		x->zerocopy = opt.flags & XDP_OPTIONS_ZEROCOPY;
	return xsk_socket__update_xskmap(k->xsk, x->m.xsks);
}

/* Engine qi's sockets (i mod nqueues == qi), its eventfd and epoll. */
static int
queue_open(struct vs_port *p, unsigned qi)
{
	struct xport *x = xp(p);
	struct xq *q = &x->q[qi];
	struct epoll_event ev = { .events = EPOLLIN };

	q->s = calloc(VS_XDP_MAX_QUEUES, sizeof(*q->s));
	if (!q->s)
		return -ENOMEM;
	for (unsigned i = qi; i < x->nsocks; i += p->o.nqueues)
		q->s[q->nsock++] = &x->socks[i];
	q->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (q->evfd < 0 || q->epfd < 0 ||
	    epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->evfd, &ev))
		return -errno;
	for (unsigned i = 0; i < q->nsock; i++)
		if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->s[i]->fd, &ev))
			return -errno;
	for (unsigned i = 0; i < q->nsock; i++)
		fill(p, qi, q->s[i]);
	gauges(p, qi);
	return 0;
}

/* xdp:IFNAME or xdp:IFNAME@A or xdp:IFNAME@A-B (netdev queues). */
static int
parse_device(struct vs_port *p, char *name, size_t len, char *err,
	     size_t errlen)
{
	const char *at = strchr(p->o.device + 4, '@');
	struct xport *x = xp(p);
	char *end;

	x->qfirst = 0;
	x->qlast = ~0u;
	snprintf(name, len, "%.*s",
		 (int)(at ? (size_t)(at - p->o.device - 4) :
			    strlen(p->o.device + 4)),
		 p->o.device + 4);
	if (at) {
		errno = 0;
		x->qfirst = x->qlast = (unsigned)strtoul(at + 1, &end, 10);
		if (*end == '-')
			x->qlast = (unsigned)strtoul(end + 1, &end, 10);
		if (errno || end == at + 1 || *end || x->qlast < x->qfirst) {
			snprintf(err, errlen,
				 "%s: expected xdp:IFNAME, "
				 "xdp:IFNAME@QUEUE or "
				 "xdp:IFNAME@FIRST-LAST",
				 p->o.device);
			return -EINVAL;
		}
	}
	if (!*name || strlen(name) >= IF_NAMESIZE) {
		snprintf(err, errlen, "%s: expected xdp:IFNAME", p->o.device);
		return -EINVAL;
	}
	return 0;
}

static int
open_queues(struct vs_port *p, char *err, size_t errlen)
{
	struct xport *x = xp(p);
	unsigned hwqs = netdev_queues(p->info.ifname), ns = 0;
	unsigned last = x->qlast < hwqs - 1 ? x->qlast : hwqs - 1;
	uint32_t fd_depth;
	struct xsk_umem_config uc = { .frame_size = p->o.buf_size };
	uint64_t busy;
	int rc = 0, tries = 0;

	if (x->qfirst > last) {
		snprintf(err, errlen, "%s: queue %u: the netdev has %u queue%s",
			 p->o.device, x->qfirst, hwqs, hwqs == 1 ? "" : "s");
		return -EINVAL;
	}
	x->nsocks = last - x->qfirst + 1;
	if (x->nsocks > VS_XDP_MAX_QUEUES)
		x->nsocks = VS_XDP_MAX_QUEUES;
	/* A worker leaves the other queues to the other workers. */
	if (p->o.shared && x->nsocks > p->o.nqueues)
		x->nsocks = p->o.nqueues;
	if (p->o.nqueues > x->nsocks) {
		vs_info("%s: %u netdev queue%s (%u..%u): vstack runs %u engine%s "
			"(for more: ethtool -L %s combined N)",
			p->o.device, x->nsocks, x->nsocks == 1 ? "" : "s",
			x->qfirst, x->qfirst + x->nsocks - 1, x->nsocks,
			x->nsocks == 1 ? "" : "s", p->info.ifname);
		p->o.nqueues = p->info.nqueues = x->nsocks;
	}
	/* The receive buffers of an engine's share, over its sockets. */
	fd_depth = p->o.rx_depth * p->o.nqueues / x->nsocks;
	if (fd_depth < 64)
		fd_depth = 64;
	x->qend = last < VS_XDP_MAX_QUEUES ? last : VS_XDP_MAX_QUEUES - 1;
	/* Room for every queue: a worker may adopt more (adopt). */
	x->socks = calloc(VS_XDP_MAX_QUEUES, sizeof(*x->socks));
	x->q = calloc(p->o.nqueues, sizeof(*x->q));
	if (!x->socks || !x->q)
		return -ENOMEM;
	for (unsigned i = 0; i < p->o.nqueues; i++) {
		x->q[i].evfd = x->q[i].epfd = -1;
		pthread_spin_init(&x->q[i].in.lock, PTHREAD_PROCESS_PRIVATE);
	}
	uc.fill_size = pow2(fd_depth);
	uc.comp_size = pow2(p->o.tx_depth);
	rc = xsk_umem__create(&x->umem, p->pool.mem, p->pool.mem_len,
			      &x->socks[0].fill, &x->socks[0].comp, &uc);
	if (rc) {
		x->umem = NULL;
		snprintf(err, errlen,
			 "%s: cannot register %zu MiB of buffers as "
			 "an AF_XDP UMEM: %s%s",
			 p->info.device, p->pool.mem_len >> 20, strerror(-rc),
			 rc == -ENOMEM || rc == -EPERM ?
				 " (locked memory: raise RLIMIT_MEMLOCK, "
				 "`ulimit -l unlimited`)" :
				 "");
		return rc;
	}
	/* One socket per netdev queue, so no frame of vstack's flows lands
	 * where nobody reads it; queues other sockets hold are skipped. The
	 * kernel frees a closed socket's queue a moment later (deferred
	 * work): with none free, again for up to a second. */
again:
	busy = 0;
	for (unsigned hwq = x->qfirst; hwq <= last && ns < x->nsocks; hwq++) {
		x->socks[ns].fill_depth = fd_depth;
		rc = sock_open(p, ns, hwq);
		if (rc == -EBUSY) {
			busy |= hwq < 64 ? 1ull << hwq : 0;
			continue;
		}
		if (rc) {
			snprintf(err, errlen,
				 "%s: AF_XDP socket on queue %u: %s",
				 p->info.device, hwq, strerror(-rc));
			return rc;
		}
		ns++;
	}
	if (!ns && tries++ < 20) {
		usleep(50000);
		goto again;
	}
	for (unsigned hwq = 0; hwq < VS_XDP_MAX_QUEUES; hwq++) {
		if (!(busy >> hwq & 1))
			continue;
		if (p->o.shared)
			vs_info("%s: queue %u is another process's",
				p->info.device, hwq);
		else
			vs_warn("%s: queue %u is another AF_XDP socket's: frames "
				"that arrive there do not reach this process",
				p->info.device, hwq);
	}
	if (!ns) {
		snprintf(err, errlen,
			 "%s: every queue (%u..%u) is taken by "
			 "other AF_XDP sockets (other vstack "
			 "processes?)",
			 p->info.device, x->qfirst, last);
		return -EBUSY;
	}
	x->nsocks = ns;
	if (p->o.nqueues > ns)
		p->o.nqueues = p->info.nqueues = ns;
	for (unsigned i = 0; i < p->o.nqueues && !rc; i++)
		rc = queue_open(p, i);
	if (rc)
		snprintf(err, errlen, "%s: %s", p->info.device, strerror(-rc));
	return rc;
}

static int
x_open(struct vs_port *p, char *err, size_t errlen)
{
	struct xport *x = xp(p);
	char name[IF_NAMESIZE + 1];
	int rc;

	x->reaper_fd = x->lock_fd = x->adopt_tfd = -1;
	x->adopt_next_us = 0;
	memset(x->free_since, 0, sizeof(x->free_since));
	memset(&x->m, -1, sizeof(x->m));
	rc = parse_device(p, name, sizeof(name), err, errlen);
	if (!rc)
		rc = check_netdev(p, name, err, errlen);
	if (!rc)
		rc = vs__port_pool_init(p, netdev_numa(p->info.ifname), err,
					errlen);
	if (!rc)
		rc = attach_program(p, err, errlen);
	if (!rc)
		rc = open_queues(p, err, errlen);
	if (!rc)
		rc = claim_owner(p, err, errlen);
	if (rc) {
		x_close(p);
		return rc;
	}
	close(x->lock_fd);
	x->lock_fd = -1;
	adopt_start(p);
	p->info.queue_split = true;
	p->info.frag_follow = true;
	/* RSS over the engines, as vs__port_rss_queue computes it. */
	p->rss_table_len = vs_pow2_at_least(p->o.nqueues);
	for (unsigned i = 0; i < p->rss_table_len; i++)
		p->rss_table[i] = (uint16_t)(i % p->o.nqueues);
	vs_info("%s: AF_XDP %s mode, %s XDP, %u socket%s on queues %u..%u",
		p->info.device, x->zerocopy ? "zero-copy" : "copy",
		x->mode == XDP_MODE_NATIVE ? "native" : "generic", x->nsocks,
		x->nsocks == 1 ? "" : "s", x->socks[0].hwq,
		x->socks[x->nsocks - 1].hwq);
	return 0;
}

const struct vs_port_ops vs__xdp_ops = {
	.name = "xdp",
	.size = sizeof(struct xport),
	.open = x_open,
	.close = x_close,
	.rx_burst = x_rx_burst,
	.tx_burst = x_tx_burst,
	.flush = x_flush,
	.rule_add = x_rule_add,
	.rule_del = x_rule_del,
	.rule_hits = x_rule_hits,
	.nic_drops = x_nic_drops,
	.arm = x_arm,
	.woken = x_woken,
	.sleep_fd = x_sleep_fd,
};
