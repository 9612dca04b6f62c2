// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <ev.h>
#include <linux/capability.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/log.h"
#include "base/policy.h"
#include "base/self.h"
#include "ctl/capture.h"
#include "ctl/proto.h"
#include "ctl/server.h"
#include "stack/addr.h"

#define MAX_VIEWS 8
#define CLIENT_TIMEOUT_MS 1000
#define SNAP_TIMEOUT_MS 1000

extern char *program_invocation_short_name;

static struct {
	pthread_mutex_t lock; /* views */
	const struct vs_ctl_view *views[MAX_VIEWS];
	unsigned nviews;
	bool running, atexit_set;
	pthread_t thread;
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ev_loop *loop;
	ev_io lio;
	ev_async stop;
	uint64_t started_ms;
	pid_t pid;
	gid_t group; /* a shared directory's group, or (gid_t)-1 */
	/* vstackctl capture: one at a time, drained by a timer */
	struct vs_capture *cap;
	bool cap_done;
	char cap_file[256];
	uint64_t cap_written, cap_seen, cap_dropped; /* the last one's */
	ev_timer cap_timer;
	/* vstackctl flow: rules added at run time */
	struct ctl_flow {
		unsigned id;
		struct vs_port *port;
		struct vs_rule_handle *h; /* at the NIC, or NULL: */
		const struct vs_ctl_view *kview;
		int kid; /* a kernel rule */
		char text[6][64]; /* proto src dst sport dport action */
	} flows[64];
	unsigned nflows, next_flow;
} S = { .lock = PTHREAD_MUTEX_INITIALIZER, .lfd = -1, .group = (gid_t)-1 };

static struct vs_engine *
engine(const struct vs_ctl_view *v, unsigned i)
{
	return v->engines[i];
}

/* --- connections, listed by each engine on its own thread --- */

/*
 * A reply that may outgrow one message (conns): what is in `out` goes to
 * the client as a part whenever another row might not fit; the first
 * part starts with "ok\n", and serve() sends the rest as the last
 * message. A client that stops reading ends it (each message has
 * CLIENT_TIMEOUT_MS, the whole STREAM_TIMEOUT_MS).
 */
#define STREAM_TIMEOUT_MS 10000
#define ROW_MAX 512 /* a row of conns: two IPv6 endpoints and some */

struct stream {
	int fd;
	bool parts; /* some were sent: serve() sends no "ok\n" */
	bool broken; /* the client went, or is too slow: stop */
	uint64_t until_ms;
};

/* Sends out as a part if n more bytes might not fit in the message. */
static void
stream_room(struct stream *st, struct vs_ctl_buf *out, size_t n)
{
	struct vs_ctl_buf part = { 0 };

	if (st->broken || out->len + n + 3 <= VS_CTL_MAX)
		return;
	if (!st->parts)
		vs__ctl_printf(&part, "ok\n");
	vs__ctl_printf(&part, "%.*s", (int)out->len, out->p ? out->p : "");
	if (part.failed ||
	    vs__ctl_send(st->fd, VS_CTL_PART, part.p, part.len, st->until_ms))
		st->broken = true;
	st->parts = true;
	out->len = 0;
	vs__ctl_buf_free(&part);
}

/* What vstackctl conns asks for. */
struct conns_query {
	char state[16]; /* as ss names it ("ESTAB"), any case; "": any */
	long port; /* local or peer; -1: any */
	struct sockaddr_storage peer; /* the peer's address; family 0: any */
	bool summary; /* counts, not rows */
};

/* Counts of a summary: (proto, state) pairs, as few as the states. */
#define SUM_KINDS 16
struct sum {
	unsigned n;
	struct {
		bool udp;
		const char *state; /* report.c's names: compared by value */
		uint64_t count;
	} k[SUM_KINDS];
};

static void
sum_add(struct sum *s, bool udp, const char *state, uint64_t count)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (s->k[i].udp == udp && !strcmp(s->k[i].state, state))
			break;
	if (i == s->n) {
		if (s->n == SUM_KINDS)
			return;
		s->k[s->n].udp = udp;
		s->k[s->n].state = state;
		s->k[s->n++].count = 0;
	}
	s->k[i].count += count;
}

/* One engine's page of rows (or its counts), made on its thread. */
#define SNAP_TEXT (256u << 10)
struct snap {
	_Atomic int refs; /* the server's and the engine's */
	sem_t done;
	struct vs_engine *e;
	const char *dev;
	const struct conns_query *query;
	struct vs_conns_at at; /* where the page starts, then the next */
	unsigned took;
	bool full; /* the page ended before the engine's connections */
	char *text;
	size_t len;
	struct sum sum;
};

static void
snap_put(struct snap *s)
{
	if (atomic_fetch_sub(&s->refs, 1) == 1) {
		free(s->text);
		sem_destroy(&s->done);
		free(s);
	}
}

static void
ep_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!ss->ss_family) {
		snprintf(buf, len, "*");
		return;
	}
	inet_ntop(ss->ss_family, vs__sa_addr((const struct sockaddr *)ss), a,
		  sizeof(a));
	snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		 vs__sa_port((const struct sockaddr *)ss));
}

static bool
conn_matches(const struct conns_query *q, const struct vs_conn_info *ci)
{
	if (q->state[0] && strcasecmp(q->state, ci->state))
		return false;
	if (q->port >= 0 &&
	    vs__sa_port((const struct sockaddr *)&ci->local) != q->port &&
	    (!ci->peer.ss_family ||
	     vs__sa_port((const struct sockaddr *)&ci->peer) != q->port))
		return false;
	if (q->peer.ss_family) {
		const struct sockaddr *a = (const struct sockaddr *)&q->peer,
				      *b = (const struct sockaddr *)&ci->peer;

		if (a->sa_family != b->sa_family ||
		    memcmp(vs__sa_addr(a), vs__sa_addr(b),
			   a->sa_family == AF_INET ? 4 : 16))
			return false;
	}
	return true;
}

/* The engine's walk (vs__engine_conns): true while the page has room. */
static bool
snap_one(void *arg, const struct vs_conn_info *ci)
{
	struct snap *s = arg;
	char l[64], r[64];
	int n;

	if (!conn_matches(s->query, ci))
		return true;
	if (s->query->summary) {
		sum_add(&s->sum, ci->udp, ci->state, 1);
		return true;
	}
	if (s->len + ROW_MAX > SNAP_TEXT) {
		s->full = true;
		return false;
	}
	ep_str(&ci->local, l, sizeof(l));
	ep_str(&ci->peer, r, sizeof(r));
	n = snprintf(s->text + s->len, ROW_MAX,
		     "%s\t%s\t%s\t%s\t%u\t%u\t%u\t%s\n",
		     ci->udp ? "udp" : "tcp", ci->state, l, r, ci->send_q,
		     ci->recv_q, vs__engine_queue(s->e), s->dev);
	if (n > 0 && n < ROW_MAX)
		s->len += (size_t)n;
	return true;
}

/* On the engine's thread, its lock held (a call from its ring). */
static void
snap_run(void *arg)
{
	struct snap *s = arg;

	s->took = vs__engine_conns(s->e, &s->at, snap_one, s);
	sem_post(&s->done);
	snap_put(s);
}

/* Engine e's page from at on (at moves past it), held for the caller
 * (snap_put), or NULL if the engine did not answer in SNAP_TIMEOUT_MS. */
static struct snap *
snap_take(struct vs_engine *e, const char *dev, const struct conns_query *q,
	  struct vs_conns_at *at)
{
	struct snap *s = calloc(1, sizeof(*s));
	struct timespec until;
	int rc;

	if (!s || !(s->text = malloc(q->summary ? 1 : SNAP_TEXT))) {
		free(s);
		return NULL;
	}
	atomic_init(&s->refs, 2);
	sem_init(&s->done, 0, 0);
	s->e = e;
	s->dev = dev;
	s->query = q;
	s->at = *at;
	if (vs__engine_call(e, snap_run, s)) {
		snap_put(s);
		snap_put(s);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SNAP_TIMEOUT_MS / 1000;
	do
		rc = sem_timedwait(&s->done, &until);
	while (rc && errno == EINTR);
	if (rc) { /* the engine may still write to s: it keeps its ref */
		vs_warn("control: engine %u did not answer in %d ms",
			vs__engine_queue(e), SNAP_TIMEOUT_MS);
		snap_put(s);
		return NULL;
	}
	*at = s->at;
	return s;
}

static const char *
conns_parse(const struct vs_ctl_req *r, struct conns_query *q, char *why,
	    size_t whylen)
{
	static const char *const keys[] = { "state", "port", "peer",
					    "summary" };
	const char *bad = vs__ctl_unknown_arg(r, keys, VS_ARRAY_SIZE(keys)),
		   *state = vs__ctl_arg(r, "state"),
		   *port = vs__ctl_arg(r, "port"),
		   *peer = vs__ctl_arg(r, "peer"),
		   *summary = vs__ctl_arg(r, "summary");
	char *end;

	memset(q, 0, sizeof(*q));
	q->port = -1;
	if (bad) {
		snprintf(why, whylen,
			 "conns takes state=, port=, peer=, summary=1, not "
			 "'%.40s'",
			 bad);
		return why;
	}
	if (state && snprintf(q->state, sizeof(q->state), "%s", state) >=
			     (int)sizeof(q->state)) {
		snprintf(why, whylen, "bad state '%.40s'", state);
		return why;
	}
	if (port && ((q->port = strtol(port, &end, 10)) < 0 ||
		     q->port > 65535 || *end || !*port)) {
		snprintf(why, whylen, "bad port '%.40s'", port);
		return why;
	}
	if (peer) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&q->peer;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&q->peer;

		if (inet_pton(AF_INET, peer, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
		} else if (inet_pton(AF_INET6, peer, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
		} else {
			snprintf(why, whylen, "bad peer address '%.60s'", peer);
			return why;
		}
	}
	q->summary = summary && strcmp(summary, "0");
	return NULL;
}

static void
sum_print(struct vs_ctl_buf *out, const char *core, const struct sum *s)
{
	for (unsigned i = 0; i < s->n; i++)
		vs__ctl_printf(out, "%s\t%s\t%s\t%" PRIu64 "\n", core,
			       s->k[i].udp ? "udp" : "tcp", s->k[i].state,
			       s->k[i].count);
}

/*
 * conns: every connection of every engine, in pages of SNAP_TEXT that
 * each engine makes on its thread (a page holds it for its own rows and
 * the walk to them) and that go out as parts of the reply; or, with
 * summary=1, counts by core, protocol and state, then for all cores.
 */
static const char *
cmd_conns(const struct vs_ctl_req *r, struct stream *st, struct vs_ctl_buf *out,
	  char *why, size_t whylen)
{
	struct conns_query q;
	struct sum all = { 0 };
	const char *fail = conns_parse(r, &q, why, whylen);

	if (fail)
		return fail;
	vs__ctl_printf(out, q.summary ?
				    "core\tproto\tstate\tcount\n" :
				    "proto\tstate\tlocal\tpeer\tsend_q\trecv_"
				    "q\tcore\tdevice\n");
	for (unsigned v = 0; v < S.nviews; v++)
		for (unsigned i = 0; i < S.views[v]->n; i++) {
			struct vs_engine *e = engine(S.views[v], i);
			const char *dev =
				vs__port_info(S.views[v]->port)->device;
			struct vs_conns_at at = { 0 };
			bool more = true;

			while (more && !st->broken) {
				struct snap *s = snap_take(e, dev, &q, &at);
				char core[16];

				if (!s)
					break;
				more = s->full;
				snprintf(core, sizeof(core), "%u",
					 vs__engine_queue(e));
				sum_print(out, core, &s->sum);
				for (size_t o = 0; o < s->len && !st->broken;) {
					size_t n =
						strcspn(s->text + o, "\n") + 1;

					stream_room(st, out, n);
					vs__ctl_printf(out, "%.*s", (int)n,
						       s->text + o);
					o += n;
				}
				for (unsigned k = 0; k < s->sum.n; k++)
					sum_add(&all, s->sum.k[k].udp,
						s->sum.k[k].state,
						s->sum.k[k].count);
				snap_put(s);
			}
		}
	if (q.summary) {
		uint64_t total = 0;

		sum_print(out, "all", &all);
		for (unsigned k = 0; k < all.n; k++)
			total += all.k[k].count;
		vs__ctl_printf(out, "all\tall\tall\t%" PRIu64 "\n", total);
	}
	if (st->broken)
		return "the reply was not read in time";
	return NULL;
}

/* --- counters (a snapshot per engine, read without its lock) --- */

static void
cmd_stats(struct vs_ctl_buf *out)
{
	vs__ctl_printf(
		out,
		"core\tdevice\trx_packets\trx_bytes\ttx_packets\ttx_bytes\t"
		"drop_rx_no_buf\tdrop_tx_full\tdrop_tx_no_buf\tdrop_no_route\t"
		"drop_neigh\tdrop_not_ip\tdrop_raw_hook\tdrop_nic\t"
		"syn_cookies\tsyn_cookies_ok\tdrop_syn_cookie\tdrop_rx_no_mem\t"
		"rx_copied\ttime_wait\t"
		"pool_free\tpool_size\tloops\tsleeps\tlock_waits\t"
		"drop_syn_handoff\tfrag_handed\tdrop_frag_not_ours\t"
		"drop_frag_stray\tdrop_frag_handoff\tconn_refused\t"
		"moved_out\tmoved_in\n");
	for (unsigned v = 0; v < S.nviews; v++) {
		const struct vs_ctl_view *w = S.views[v];
		const struct vs_port_info *in = vs__port_info(w->port);
		uint32_t free_bufs = vs__port_bufs_free(w->port);

		for (unsigned i = 0; i < w->n; i++) {
			struct vs_engine_counters c;

			vs__engine_counters(engine(w, i), &c);
			vs__ctl_printf(
				out,
				"%u\t%s\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t"
				"%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%u\t%u\t%lu\t"
				"%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\n",
				c.q, in->device, (unsigned long)c.rx_frames,
				(unsigned long)c.rx_bytes,
				(unsigned long)c.tx_frames,
				(unsigned long)c.tx_bytes,
				(unsigned long)c.rx_no_buf,
				(unsigned long)c.tx_full,
				(unsigned long)c.tx_no_buf,
				(unsigned long)c.tx_no_route,
				(unsigned long)c.neigh_timeout,
				(unsigned long)c.rx_not_ip,
				(unsigned long)c.raw_dropped,
				(unsigned long)c.nic_drops,
				(unsigned long)c.syn_cookies_sent,
				(unsigned long)c.syn_cookies_ok,
				(unsigned long)c.syn_cookies_bad,
				(unsigned long)c.rx_no_mem,
				(unsigned long)c.rx_copied,
				(unsigned long)c.tcp_time_wait, free_bufs,
				in->nbufs, (unsigned long)c.loops,
				(unsigned long)c.sleeps,
				(unsigned long)c.lock_waits,
				(unsigned long)c.tcp_syn_handoff,
				(unsigned long)c.frag_handed,
				(unsigned long)c.frag_not_ours,
				(unsigned long)c.frag_stray,
				(unsigned long)c.frag_ring_full,
				(unsigned long)c.tcp_conn_refused,
				(unsigned long)c.tcp_moved_out,
				(unsigned long)c.tcp_moved_in);
		}
	}
}

static void
cmd_snmp(struct vs_ctl_buf *out)
{
	uint64_t t[23] = { 0 };
	static const char *const names[23] = {
		"Ip.InReceives",
		"Ip.OutRequests",
		"Ip.InDiscards",
		"Ip.OutNoRoutes",
		"Ip.ReasmReqds",
		"Ip.ReasmOKs",
		"Ip.ReasmFails",
		"Tcp.ActiveOpens",
		"Tcp.PassiveOpens",
		"Tcp.EstabResets",
		"Tcp.Timeouts",
		"Tcp.InBytes",
		"Tcp.OutBytes",
		"Udp.InDatagrams",
		"Udp.OutDatagrams",
		"TcpExt.TCPTimeouts",
		"TcpExt.TCPFastRetrans",
		"TcpExt.TCPLostRetransmit",
		"TcpExt.TCPAbortOnData",
		"TcpExt.ListenOverflows",
		"TcpExt.TCPLossProbes",
		"TcpExt.TCPChallengeACK",
		"TcpExt.TCPACKSkippedChallenge",
	};

	for (unsigned v = 0; v < S.nviews; v++)
		for (unsigned i = 0; i < S.views[v]->n; i++) {
			struct vs_engine_counters c;

			vs__engine_counters(engine(S.views[v], i), &c);
			t[0] += c.ip_in;
			t[1] += c.ip_out;
			t[2] += c.rx_not_ip + c.raw_dropped;
			t[3] += c.tx_no_route;
			t[4] += c.frag_in;
			t[5] += c.frag_reasm;
			t[6] += c.frag_reasm_fails;
			t[7] += c.tcp_connects;
			t[8] += c.tcp_accepted;
			t[9] += c.tcp_resets;
			t[10] += c.tcp_timeouts;
			t[11] += c.tcp_rx_bytes;
			t[12] += c.tcp_tx_bytes;
			t[13] += c.udp_rx_datagrams;
			t[14] += c.udp_tx_datagrams;
			t[15] += c.rto_timeouts;
			t[16] += c.fast_rexmits;
			t[17] += c.lost_rexmits;
			t[18] += c.tcp_abort_on_data;
			t[19] += c.tcp_listen_overflows;
			t[20] += c.tlp_probes;
			t[21] += c.challenge_acks;
			t[22] += c.challenge_acks_skipped;
		}
	vs__ctl_printf(out, "counter\tvalue\n");
	for (int i = 0; i < 23; i++)
		vs__ctl_printf(out, "%s\t%lu\n", names[i], (unsigned long)t[i]);
}

/* The histogram of every engine, then one column per core (engine
 * queue): how long ready data waited before the program took it. */
static void
cmd_latency(struct vs_ctl_buf *out)
{
	static uint64_t h[VS_MAX_ENGINES + 1][VS_LAT_BUCKETS];
	unsigned ncores = 0;

	memset(h, 0, sizeof(h));
	for (unsigned v = 0; v < S.nviews; v++)
		for (unsigned i = 0; i < S.views[v]->n; i++) {
			struct vs_engine_counters c;

			vs__engine_counters(engine(S.views[v], i), &c);
			if (c.q >= VS_MAX_ENGINES)
				continue;
			if (c.q + 1 > ncores)
				ncores = c.q + 1;
			for (int b = 0; b < VS_LAT_BUCKETS; b++) {
				h[0][b] += c.latency[b];
				h[1 + c.q][b] += c.latency[b];
			}
		}
	vs__ctl_printf(out, "below_us\tcount");
	for (unsigned q = 0; q < ncores; q++)
		vs__ctl_printf(out, "\tcore%u", q);
	vs__ctl_printf(out, "\n");
	for (int b = 0; b < VS_LAT_BUCKETS; b++) {
		if (b + 1 < VS_LAT_BUCKETS)
			vs__ctl_printf(out, "%llu", 1ull << b);
		else
			vs__ctl_printf(out, "inf");
		for (unsigned q = 0; q <= ncores; q++)
			vs__ctl_printf(out, "\t%lu", (unsigned long)h[q][b]);
		vs__ctl_printf(out, "\n");
	}
}

static void
cmd_info(struct vs_ctl_buf *out)
{
	vs__ctl_printf(out, "pid\tprogram\tmode\tdevice\tnetdev\tcores\tuptime_"
			    "s\tppid\taccepted\n");
	for (unsigned v = 0; v < S.nviews; v++) {
		const struct vs_ctl_view *w = S.views[v];
		const struct vs_port_info *in = vs__port_info(w->port);
		char cpus[256] = "";
		size_t k = 0;
		uint64_t accepted = 0;

		for (unsigned i = 0; i < w->n && k < sizeof(cpus) - 8; i++) {
			struct vs_engine_counters c;

			vs__engine_counters(engine(w, i), &c);
			k += (size_t)snprintf(cpus + k, sizeof(cpus) - k,
					      "%s%d", i ? "," : "", c.cpu);
			accepted += c.tcp_accepted;
		}
		/* ppid: which processes share a listener (nginx's workers
		 * and their master); accepted: how they split it. */
		vs__ctl_printf(
			out, "%d\t%s\t%s\t%s\t%s\t%s\t%lu\t%d\t%" PRIu64 "\n",
			(int)S.pid, program_invocation_short_name, w->mode,
			in->device, in->ifname, cpus,
			(unsigned long)((vs__now_ms() - S.started_ms) / 1000),
			(int)getppid(), accepted);
	}
}

static void
cmd_config(struct vs_ctl_buf *out)
{
	const struct vs_config *cfg = S.views[0]->cfg;
	char value[VS_CONTROL_DIR_MAX + 16];

	vs__ctl_printf(out, "key\tvalue\tsource\n");
	for (int k = 0; k < VS_CFG_NKEYS; k++) {
		if (k == VS_CFG_RULE)
			continue;
		vs__config_value(cfg, k, value, sizeof(value));
		vs__ctl_printf(out, "%s\t%s\t%s\n", vs__config_key_name(k),
			       value, vs__config_source_name(cfg->source[k]));
	}
	for (unsigned i = 0; i < cfg->policy.n; i++) {
		char rule[128];

		vs__policy_rule_format(&cfg->policy.rules[i], rule,
				       sizeof(rule));
		vs__ctl_printf(
			out, "rule\t%s\t%s\n", rule,
			vs__config_source_name(cfg->source[VS_CFG_RULE]));
	}
	if (cfg->file[0])
		vs__ctl_printf(out, "file\t%s\t-\n", cfg->file);
}

/* --- flow rules --- */

/* "ADDR[/LEN]" into r's address and mask (the policy's parser: host
 * bits past LEN are refused); sets or checks the family. */
static bool
parse_net(const char *v, uint8_t *family, uint8_t addr[16], uint8_t mask[16],
	  char *why, size_t whylen)
{
	unsigned len;
	uint8_t fam;

	if (vs__policy_net_parse(v, &fam, addr, &len, why, whylen) < 0)
		return false;
	if (*family && *family != fam) {
		snprintf(why, whylen, "'%s': src and dst of one family", v);
		return false;
	}
	memset(mask, 0, 16);
	for (unsigned i = 0; i < len; i++)
		mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	*family = fam;
	return true;
}

/* "PORT[/MASK]" (mask decimal or 0x hex; default all 16 bits): a port
 * 1..65535, or under a mask any value with no bit outside it (0/1: the
 * even source ports, as DESIGN.md shares flows between processes). */
static bool
parse_port(const char *v, uint16_t *port, uint16_t *mask)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10), m = 0xffff;

	if (end == v || n > 0xffff || (*end && *end != '/'))
		return false;
	if (*end == '/') {
		const char *ms = end + 1;

		m = strtoul(ms, &end, 0);
		if (end == ms || *end || m > 0xffff || !m)
			return false;
	}
	if ((n & ~m) || (m == 0xffff && !n))
		return false;
	*port = (uint16_t)n;
	*mask = (uint16_t)m;
	return true;
}

static const char *
flow_add(const struct vs_ctl_req *r, struct vs_ctl_buf *out, char *why,
	 size_t whylen)
{
	static const char *const keys[] = { "proto", "src",    "dst", "sport",
					    "dport", "action", "core" };
	const char *v, *action = vs__ctl_arg(r, "action");
	struct vs_rule rule = { .count = true };
	const struct vs_ctl_view *w = S.views[0];
	struct ctl_flow *f;
	int rc;

	if ((v = vs__ctl_unknown_arg(r, keys, VS_ARRAY_SIZE(keys)))) {
		snprintf(why, whylen, "flow_add: unknown argument '%s'", v);
		return why;
	}
	if ((v = vs__ctl_arg(r, "proto"))) {
		if (strcmp(v, "tcp") && strcmp(v, "udp")) {
			snprintf(why, whylen, "bad proto '%s' (tcp, udp)", v);
			return why;
		}
		rule.proto = !strcmp(v, "tcp") ? IPPROTO_TCP : IPPROTO_UDP;
	}
	if ((v = vs__ctl_arg(r, "src")) &&
	    !parse_net(v, &rule.family, rule.src, rule.src_mask, why, whylen))
		return why;
	if ((v = vs__ctl_arg(r, "dst")) &&
	    !parse_net(v, &rule.family, rule.dst, rule.dst_mask, why, whylen))
		return why;
	if ((v = vs__ctl_arg(r, "sport")) &&
	    !parse_port(v, &rule.sport, &rule.sport_mask)) {
		snprintf(why, whylen,
			 "bad sport '%s' (PORT 1..65535, or "
			 "VALUE/MASK with no bit outside MASK)",
			 v);
		return why;
	}
	if ((v = vs__ctl_arg(r, "dport")) &&
	    !parse_port(v, &rule.dport, &rule.dport_mask)) {
		snprintf(why, whylen,
			 "bad dport '%s' (PORT 1..65535, or "
			 "VALUE/MASK with no bit outside MASK)",
			 v);
		return why;
	}
	if ((rule.sport_mask || rule.dport_mask) && !rule.proto) {
		snprintf(why, whylen, "ports need proto=tcp or proto=udp");
		return why;
	}
	if (!action) {
		snprintf(why, whylen,
			 "flow_add needs action=drop|steer|kernel");
		return why;
	}
	if (!strcmp(action, "drop")) {
		rule.action = VS_RULE_DROP;
	} else if (!strcmp(action, "steer")) {
		const char *c = vs__ctl_arg(r, "core");
		char *end;
		long core = c ? strtol(c, &end, 10) : -1;

		if (!c || *end || core < 0 || core >= (long)w->n) {
			snprintf(why, whylen, "steer needs core=0..%u",
				 w->n - 1);
			return why;
		}
		rule.action = VS_RULE_STEER;
		rule.queue = vs__engine_queue(engine(w, (unsigned)core));
	} else if (!strcmp(action, "kernel")) {
		if (!w->kernel_add) {
			snprintf(why, whylen,
				 "action kernel: a native program decides "
				 "itself what it takes");
			return why;
		}
		rule.action = VS_RULE_DROP; /* unused: never reaches the NIC */
	} else {
		snprintf(why, whylen, "bad action '%s' (drop, steer, kernel)",
			 action);
		return why;
	}
	if (S.nflows == VS_ARRAY_SIZE(S.flows)) {
		snprintf(why, whylen, "%u flow rules already", S.nflows);
		return why;
	}
	f = &S.flows[S.nflows];
	memset(f, 0, sizeof(*f));
	if (!strcmp(action, "kernel")) {
		/* Frames no rule takes are the kernel's already: keep vstack
		 * from taking these (sockets created from now on). */
		f->kid = w->kernel_add(&rule);
		f->kview = w;
		rc = f->kid < 0 ? f->kid : 0;
	} else {
		rc = vs__port_rule_add(w->port, &rule, &f->h);
	}
	if (rc) {
		snprintf(why, whylen, "the NIC refused the rule: %s%s",
			 strerror(-rc),
			 rc == -EOPNOTSUPP ?
				 " (it cannot count a rule's frames)" :
				 "");
		return why;
	}
	f->id = ++S.next_flow;
	f->port = w->port;
	for (int k = 0; k < 5; k++)
		snprintf(f->text[k], sizeof(f->text[k]), "%s",
			 vs__ctl_arg(r, keys[k]) ? vs__ctl_arg(r, keys[k]) :
						   "*");
	snprintf(f->text[5], sizeof(f->text[5]), "%s%s%s", action,
		 rule.action == VS_RULE_STEER ? " " : "",
		 rule.action == VS_RULE_STEER ? vs__ctl_arg(r, "core") : "");
	S.nflows++;
	vs_info("control: flow %u added (%s)", f->id, f->text[5]);
	vs__ctl_printf(out, "id\n%u\n", f->id);
	return NULL;
}

static void
flow_remove(unsigned i)
{
	if (S.flows[i].h)
		vs__port_rule_del(S.flows[i].port, S.flows[i].h);
	else
		S.flows[i].kview->kernel_del(S.flows[i].kid);
	S.flows[i] = S.flows[--S.nflows];
}

static const char *
flow_del(const struct vs_ctl_req *r, struct vs_ctl_buf *out, char *why,
	 size_t whylen)
{
	const char *v = vs__ctl_arg(r, "id");
	char *end;
	unsigned long id = v ? strtoul(v, &end, 10) : 0;

	if (!v || *end || r->nargs != 1) {
		snprintf(why, whylen, "flow_del takes id=N");
		return why;
	}
	for (unsigned i = 0; i < S.nflows; i++)
		if (S.flows[i].id == id) {
			flow_remove(i);
			vs_info("control: flow %lu deleted", id);
			vs__ctl_printf(out, "id\n%lu\n", id);
			return NULL;
		}
	snprintf(why, whylen, "no flow %lu", id);
	return why;
}

static void
flow_list(struct vs_ctl_buf *out)
{
	vs__ctl_printf(out,
		       "id\tproto\tsrc\tdst\tsport\tdport\taction\thits\n");
	for (unsigned i = 0; i < S.nflows; i++) {
		struct ctl_flow *f = &S.flows[i];
		uint64_t hits;
		char h[24] = "-";

		if (f->h && !vs__port_rule_hits(f->port, f->h, &hits))
			snprintf(h, sizeof(h), "%lu", (unsigned long)hits);
		vs__ctl_printf(out, "%u\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f->id,
			       f->text[0], f->text[1], f->text[2], f->text[3],
			       f->text[4], f->text[5], h);
	}
}

/* --- capture --- */

/* %XX escapes (a filter's spaces travel as %20); false if malformed. */
static bool
unescape(const char *in, char *out, size_t len)
{
	size_t k = 0;

	for (; *in && k + 1 < len; in++) {
		unsigned v;

		if (*in != '%') {
			out[k++] = *in;
			continue;
		}
		if (sscanf(in + 1, "%2x", &v) != 1 || !in[1] || !in[2] ||
		    v < 0x20 || v > 0x7e)
			return false;
		out[k++] = (char)v;
		in += 2;
	}
	out[k] = 0;
	return !*in;
}

static void
cap_end(void)
{
	vs__capture_drain(S.cap);
	vs__capture_counts(S.cap, &S.cap_written, &S.cap_seen, &S.cap_dropped);
	vs__capture_free(S.cap);
	S.cap = NULL;
	S.cap_done = true;
	ev_timer_stop(S.loop, &S.cap_timer);
	vs_info("capture: %lu frames written to %s",
		(unsigned long)S.cap_written, S.cap_file);
}

static void
on_cap_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	pthread_mutex_lock(&S.lock);
	if (S.cap && vs__capture_drain(S.cap))
		cap_end();
	pthread_mutex_unlock(&S.lock);
}

static void
cap_status(struct vs_ctl_buf *out)
{
	if (S.cap)
		vs__capture_counts(S.cap, &S.cap_written, &S.cap_seen,
				   &S.cap_dropped);
	vs__ctl_printf(
		out,
		"state\tfile\twritten\tseen\tdropped\n%s\t%s\t%lu\t%lu\t%lu\n",
		S.cap	   ? "running" :
		S.cap_done ? "done" :
			     "none",
		S.cap_file[0] ? S.cap_file : "-", (unsigned long)S.cap_written,
		(unsigned long)S.cap_seen, (unsigned long)S.cap_dropped);
}

static const char *
cap_start(const struct vs_ctl_req *r, struct vs_ctl_buf *out, char *why,
	  size_t whylen)
{
	const char *file = vs__ctl_arg(r, "file"),
		   *count = vs__ctl_arg(r, "count");
	const char *core = vs__ctl_arg(r, "core"),
		   *filter = vs__ctl_arg(r, "filter");
	struct vs_engine *es[VS_MAX_ENGINES];
	char f[160] = "", *end;
	long n = 0, c = -1;
	unsigned ne = 0;

	static const char *const keys[] = { "file", "count", "core", "filter" };
	const char *bad = vs__ctl_unknown_arg(r, keys, VS_ARRAY_SIZE(keys));

	if (bad) {
		snprintf(why, whylen, "capture_start: unknown argument '%s'",
			 bad);
		return why;
	}
	if (!file || file[0] != '/') {
		snprintf(why, whylen, "capture_start needs file=ABSOLUTE_PATH");
		return why;
	}
	if (count && ((n = strtol(count, &end, 10)) <= 0 || *end)) {
		snprintf(why, whylen, "bad count '%s'", count);
		return why;
	}
	if (core && ((c = strtol(core, &end, 10)) < 0 || *end)) {
		snprintf(why, whylen, "bad core '%s'", core);
		return why;
	}
	if (filter && !unescape(filter, f, sizeof(f))) {
		snprintf(why, whylen, "bad %%-escape in the filter");
		return why;
	}
	if (S.cap) {
		snprintf(why, whylen, "a capture is running (to %.120s)",
			 S.cap_file);
		return why;
	}
	for (unsigned v = 0; v < S.nviews; v++)
		for (unsigned i = 0; i < S.views[v]->n && ne < VS_MAX_ENGINES;
		     i++)
			if (c < 0 || vs__engine_queue(engine(S.views[v], i)) ==
					     (unsigned)c)
				es[ne++] = engine(S.views[v], i);
	if (!ne) {
		snprintf(why, whylen, "no core %ld", c);
		return why;
	}
	S.cap = vs__capture_new(es, ne, file, f, n, why, whylen);
	if (!S.cap)
		return why;
	snprintf(S.cap_file, sizeof(S.cap_file), "%s", file);
	S.cap_done = false;
	S.cap_written = S.cap_seen = S.cap_dropped = 0;
	ev_timer_init(&S.cap_timer, on_cap_timer, 0.01, 0.01);
	ev_timer_start(S.loop, &S.cap_timer);
	vs_info("capture: to %s, %u engines, filter '%s'", file, ne, f);
	cap_status(out);
	return NULL;
}

/* Runs a request; returns the reply's first line's error, or NULL. */
/* Does the client (blocked on its request, so alive) have CAP_NET_ADMIN
 * in its effective set? */
static bool
peer_net_admin(pid_t pid)
{
	char path[64], line[256];
	unsigned long long eff = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	return found && (eff >> CAP_NET_ADMIN & 1);
}

static const char *
dispatch(const struct vs_ctl_req *r, pid_t peer, struct stream *st,
	 struct vs_ctl_buf *out, char *why, size_t whylen)
{
	static const struct {
		const char *name;
		void (*fn)(struct vs_ctl_buf *out);
	} plain[] = {
		{ "info", cmd_info },	    { "stats", cmd_stats },
		{ "snmp", cmd_snmp },	    { "config", cmd_config },
		{ "latency", cmd_latency }, { "flow_list", flow_list },
	};

	if (!strcmp(r->cmd, "conns"))
		return cmd_conns(r, st, out, why, whylen);
	for (size_t i = 0; i < VS_ARRAY_SIZE(plain); i++)
		if (!strcmp(r->cmd, plain[i].name)) {
			if (r->nargs) {
				snprintf(why, whylen, "%s takes no arguments",
					 r->cmd);
				return why;
			}
			plain[i].fn(out);
			return NULL;
		}
	/* What changes the NIC's rules or writes a file where the client
	 * says, with this process's privileges: only for a client that has
	 * CAP_NET_ADMIN itself (as ethtool -N or tcpdump -w would need). */
	if ((!strcmp(r->cmd, "flow_add") || !strcmp(r->cmd, "flow_del") ||
	     !strcmp(r->cmd, "capture_start")) &&
	    !peer_net_admin(peer)) {
		snprintf(why, whylen,
			 "%s needs CAP_NET_ADMIN (run vstackctl as root)",
			 r->cmd);
		return why;
	}
	if (!strcmp(r->cmd, "flow_add"))
		return flow_add(r, out, why, whylen);
	if (!strcmp(r->cmd, "flow_del"))
		return flow_del(r, out, why, whylen);
	if (!strcmp(r->cmd, "capture_start"))
		return cap_start(r, out, why, whylen);
	if (!strcmp(r->cmd, "capture_status") ||
	    !strcmp(r->cmd, "capture_stop")) {
		if (r->nargs) {
			snprintf(why, whylen, "%s takes no arguments", r->cmd);
			return why;
		}
		if (S.cap && !strcmp(r->cmd, "capture_stop"))
			cap_end();
		cap_status(out);
		return NULL;
	}
	if (!strcmp(r->cmd, "set")) {
		const char *lv = vs__ctl_arg(r, "loglevel");
		int level = lv ? vs__log_level_parse(lv) : -EINVAL;

		if (r->nargs != 1 || !lv) {
			snprintf(why, whylen, "set takes loglevel=LEVEL");
			return why;
		}
		if (level < 0) {
			snprintf(why, whylen,
				 "bad level '%s' (error, warn, info, debug)",
				 lv);
			return why;
		}
		vs__log_set_level(level);
		vs_info("control: log level set to %s", lv);
		vs__ctl_printf(out, "loglevel\n%s\n", lv);
		return NULL;
	}
	snprintf(why, whylen, "unknown command '%s'", r->cmd);
	return why;
}

/*
 * The control directory must be a directory (not a symlink) that nobody
 * else may write to, of this user's or root's: another user could
 * otherwise swap the socket's path (bind and chmod follow symlinks) or
 * plant one of their own. One exception, the packages' /run/vstack
 * (docs/deploy.md): root's, sticky and writable by one group (mode
 * 3770): each member's process serves there, nobody may rename or remove
 * another's files, and the sockets are the group's (S.group), so that
 * the group's members may use vstackctl on each other's processes.
 */
static bool
dir_ours(const char *dir)
{
	struct stat st;
	const char *why = NULL;

	S.group = (gid_t)-1;
	if (lstat(dir, &st))
		why = strerror(errno);
	else if (S_ISLNK(st.st_mode))
		why = "a symbolic link";
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		why = "owned by another user";
	else if (st.st_mode & 002)
		why = "writable by others";
	else if ((st.st_mode & 020) &&
		 (st.st_uid != 0 || !(st.st_mode & S_ISVTX)))
		why = "writable by its group but not root's and sticky";
	else if (st.st_mode & 020)
		S.group = st.st_gid;
	if (why)
		vs_warn("control: %s: %s; refused as the control directory "
			"(control_dir, VSTACK_CONTROL_DIR); vstackctl will not "
			"see this process",
			dir, why);
	return !why;
}

/* May the peer of fd (cred) use this process's control socket: root,
 * this user, or a member of a shared directory's group. */
static bool
peer_allowed(int fd, const struct ucred *cred)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0 || cred->uid == geteuid())
		return true;
	if (S.group == (gid_t)-1)
		return false;
	if (cred->gid == S.group)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(groups[0]); i++)
		if (groups[i] == S.group)
			return true;
	return false;
}

static void
serve(int fd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct vs_ctl_buf out = { 0 };
	struct stream st = { .fd = fd };
	struct vs_ctl_req r;
	static char req[VS_CTL_MAX + 1];
	uint64_t reply_by;
	char err[200], why[200];
	const char *fail = NULL;
	size_t len;
	int rc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    !peer_allowed(fd, &cred)) {
		vs_warn("control: refused a client of uid %d, pid %d (only uid %d, "
			"root%s)",
			(int)cred.uid, (int)cred.pid, (int)geteuid(),
			S.group != (gid_t)-1 ? " or the directory's group" :
					       "");
		fail = "permission denied";
		goto reply;
	}
	rc = vs__ctl_recv(fd, VS_CTL_REQUEST, req, sizeof(req), &len,
			  CLIENT_TIMEOUT_MS, err, sizeof(err));
	if (rc == -EPROTO) {
		vs_warn("control: bad message from pid %d: %s", (int)cred.pid,
			err);
		fail = err;
	} else if (rc) {
		return; /* gone or too slow: nothing to answer */
	} else if (vs__ctl_parse(req, len, &r, err, sizeof(err))) {
		vs_warn("control: bad request from pid %d: %s", (int)cred.pid,
			err);
		fail = err;
	} else {
		pthread_mutex_lock(&S.lock);
		st.until_ms = vs__now_ms() + STREAM_TIMEOUT_MS;
		fail = S.nviews ? dispatch(&r, cred.pid, &st, &out, why,
					   sizeof(why)) :
				  "no engines running";
		pthread_mutex_unlock(&S.lock);
		if (!fail && out.failed)
			fail = "reply too large or out of memory";
	}
reply:
	/* One client at a time: one that reads its reply slowly, or not at
	 * all, holds the server at most CLIENT_TIMEOUT_MS for the request,
	 * then as long for the reply, or STREAM_TIMEOUT_MS for a reply in
	 * parts, all of them. */
	reply_by = st.parts ? st.until_ms : vs__now_ms() + CLIENT_TIMEOUT_MS;
	if (fail) {
		struct vs_ctl_buf e = { 0 };

		vs__ctl_printf(&e, "error: %s\n", fail);
		vs__ctl_send(fd, VS_CTL_REPLY, e.p, e.len, reply_by);
		vs__ctl_buf_free(&e);
	} else {
		struct vs_ctl_buf ok = { 0 };

		/* After parts, the last message is the rest of the table. */
		vs__ctl_printf(&ok, "%s%.*s", st.parts ? "" : "ok\n",
			       (int)out.len, out.p ? out.p : "");
		if (ok.failed)
			vs__ctl_send(fd, VS_CTL_REPLY,
				     "error: reply too large\n", 23, reply_by);
		else
			vs__ctl_send(fd, VS_CTL_REPLY, ok.p, ok.len, reply_by);
		vs__ctl_buf_free(&ok);
	}
	vs__ctl_buf_free(&out);
}

static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC);

	(void)loop;
	(void)revents;
	if (fd < 0)
		return;
	serve(fd);
	close(fd);
}

static void
on_stop(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void *
server_main(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	vs__in_vstack++; /* this thread's socket calls are the kernel's */
	ev_run(S.loop, 0);
	return NULL;
}

static void
unlink_at_exit(void)
{
	if (S.path[0] && S.pid == getpid())
		unlink(S.path);
}

/* Sockets of processes that are gone. */
static void
sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[sizeof(S.path) + 300];

		if (!vs__ctl_sock_stale(dir, de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!unlink(path))
			vs_info("control: removed %s (process gone)", path);
	}
	if (d)
		closedir(d);
}

static int
start(const struct vs_config *cfg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *dir = cfg->control_dir;
	int fd;

	vs__in_vstack++;
	S.pid = getpid();
	S.started_ms = vs__now_ms();
	if (mkdir(dir, 0755) && errno != EEXIST) {
		vs_warn("control: cannot create %s: %s; vstackctl will not see "
			"this process",
			dir, strerror(errno));
		goto fail;
	}
	if (!dir_ours(dir))
		goto fail;
	sweep(dir);
	/* Bound and listening under a temporary name first, then renamed:
	 * a PID.sock file always has its listener, so another process's
	 * sweep, finding the pid gone and nobody listening, removes only a
	 * dead process's socket, never one whose pid was just reused. */
	snprintf(S.path, sizeof(S.path), "%s/%d.sock", dir, (int)S.pid);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/.%d.new", dir,
		 (int)S.pid);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(sa.sun_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (S.group != (gid_t)-1 && chown(sa.sun_path, (uid_t)-1, S.group)) ||
	    chmod(sa.sun_path, S.group != (gid_t)-1 ? 0660 : 0600) ||
	    listen(fd, 16) || rename(sa.sun_path, S.path)) {
		vs_warn("control: cannot serve %s: %s; vstackctl will not see "
			"this process",
			S.path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(sa.sun_path);
		}
		S.path[0] = 0;
		goto fail;
	}
	S.lfd = fd;
	S.loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!S.loop)
		goto fail_sock;
	ev_io_init(&S.lio, on_accept, fd, EV_READ);
	ev_io_start(S.loop, &S.lio);
	ev_async_init(&S.stop, on_stop);
	ev_async_start(S.loop, &S.stop);
	if (pthread_create(&S.thread, NULL, server_main, NULL)) {
		ev_loop_destroy(S.loop);
		goto fail_sock;
	}
	if (!S.atexit_set)
		S.atexit_set = !atexit(unlink_at_exit);
	S.running = true;
	vs__in_vstack--;
	vs_info("control: serving %s", S.path);
	return 0;
fail_sock:
	close(fd);
	unlink(S.path);
	S.path[0] = 0;
	S.lfd = -1;
fail:
	vs__in_vstack--;
	return -1;
}

void
vs__ctl_add(const struct vs_ctl_view *v)
{
	pthread_mutex_lock(&S.lock);
	if (S.nviews < MAX_VIEWS)
		S.views[S.nviews++] = v;
	if (!S.running && !S.path[0])
		start(v->cfg);
	pthread_mutex_unlock(&S.lock);
}

void
vs__ctl_remove(const struct vs_ctl_view *v)
{
	bool last;

	pthread_mutex_lock(&S.lock);
	for (unsigned i = 0; i < S.nflows;) /* the port is about to close */
		if (S.flows[i].port == v->port)
			flow_remove(i);
		else
			i++;
	for (unsigned i = 0; i < S.nviews; i++)
		if (S.views[i] == v) {
			S.views[i] = S.views[--S.nviews];
			break;
		}
	last = !S.nviews && S.running;
	pthread_mutex_unlock(&S.lock);
	if (!last)
		return;
	ev_async_send(S.loop, &S.stop);
	pthread_join(S.thread, NULL);
	if (S.cap)
		cap_end();
	ev_loop_destroy(S.loop);
	close(S.lfd);
	unlink(S.path);
	S.path[0] = 0;
	S.lfd = -1;
	S.running = false;
}

void
vs__ctl_atfork_child(void)
{
	/* The thread is the parent's; the socket file too. */
	if (S.lfd >= 0)
		close(S.lfd);
	S.lfd = -1;
	S.running = false;
	S.nviews = 0;
	S.path[0] = 0;
	S.loop = NULL;
	pthread_mutex_init(&S.lock, NULL);
}
