// SPDX-License-Identifier: MIT
/*
 * fuzz_xdp - libFuzzer target: vstack's XDP program (src/verbs/
 * xdp_prog.bpf.c) run by the kernel on the input as a frame
 * (BPF_PROG_TEST_RUN), its verdict and the rule it counted checked
 * against a reference written here in plain C: a parser of Ethernet,
 * IPv4 and IPv6 with TCP or UDP ports, and the rule precedence of
 * docs/port.md (drop rules, exact 5-tuples, masked rules of class 2,
 * local address and port pairs, the rest). IP fragments: a first
 * fragment is classified as a whole frame and, if a rule takes it, its
 * datagram is remembered (vs_frags, emptied before each input); a later
 * fragment of it, made here, meets the same verdict, counted nowhere.
 *
 * The program is loaded from the bytes libvstack embeds, not attached;
 * its maps get a fixed set of rules, one of each kind, each counting in
 * its own slot. A steering rule's verdict here is XDP_PASS (no AF_XDP
 * socket to redirect to): the slot counted says which rule matched.
 * Needs CAP_BPF (root); without it the target says so and exits 77.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "verbs/xdp_abi.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const unsigned char vs__xdp_prog_obj[];
extern const unsigned int vs__xdp_prog_obj_len;

enum kind { MASKED, EXACT, LOCAL };

/* A rule as a user states it: prefixes and port masks. */
struct ref_rule {
	enum kind kind;
	int cls; /* precedence class, as xdp.c's rule_class gives it */
	int drop;
	int family, proto; /* 0: any */
	const char *src, *dst; /* NULL: any */
	int src_bits, dst_bits;
	uint16_t sport, sport_mask, dport, dport_mask;
};

/* Slot i counts rules[i]. */
static const struct ref_rule rules[] = {
	{ MASKED, 0, 1, AF_INET, IPPROTO_UDP, NULL, NULL, 0, 0, 0, 0, 9,
	  0xffff },
	{ EXACT, 1, 0, AF_INET, IPPROTO_TCP, "10.0.0.2", "10.0.0.1", 32, 32,
	  1234, 0xffff, 80, 0xffff },
	{ EXACT, 1, 0, AF_INET6, IPPROTO_UDP, "fd00::2", "fd00::1", 128, 128,
	  5353, 0xffff, 53, 0xffff },
	{ MASKED, 2, 0, AF_INET, IPPROTO_TCP, "10.0.0.0", "10.0.0.1", 24, 32, 0,
	  0, 80, 0xffff },
	{ LOCAL, 2, 0, AF_INET, IPPROTO_TCP, NULL, "10.0.0.1", 0, 32, 0, 0, 80,
	  0xffff },
	{ LOCAL, 2, 0, AF_INET6, IPPROTO_TCP, NULL, "fd00::1", 0, 128, 0, 0,
	  443, 0xffff },
	{ MASKED, 3, 0, AF_INET, IPPROTO_UDP, NULL, NULL, 0, 0, 0, 0, 5000,
	  0xfff8 },
	{ MASKED, 3, 0, 0, IPPROTO_TCP, NULL, NULL, 0, 0, 7, 0xffff, 0, 0 },
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

static struct bpf_object *obj; /* open for the process's life */
static int prog_fd, hits_fd, frags_fd, ncpus;
static uint64_t seen[NRULES];

/* --- the reference --- */

struct flow {
	int family, proto;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	size_t frag_off; /* a fragment: where its offset field is */
};

enum { OTHER, WHOLE, FIRST_FRAG, LATER_FRAG };

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* What vstack may take: a TCP or UDP frame with its ports, whole
 * (WHOLE) or a datagram's first fragment (FIRST_FRAG); LATER_FRAG: a
 * fragment without ports; OTHER: the rest. */
static int
ref_parse(const uint8_t *f, size_t n, struct flow *fl)
{
	int what = WHOLE;
	size_t l4;

	memset(fl, 0, sizeof(*fl));
	if (n < 14)
		return OTHER;
	if (be16(f + 12) == 0x0800) {
		const uint8_t *ip = f + 14;

		if (n < 14 + 20 || ip[0] >> 4 != 4 || (ip[0] & 15) < 5)
			return OTHER;
		fl->family = AF_INET;
		fl->proto = ip[9];
		memcpy(fl->src, ip + 12, 4);
		memcpy(fl->dst, ip + 16, 4);
		l4 = 14 + (size_t)(ip[0] & 15) * 4;
		if (be16(ip + 6) & 0x3fff) { /* more fragments, or an offset */
			fl->frag_off = 14 + 6;
			if (be16(ip + 6) & 0x1fff)
				return LATER_FRAG;
			what = FIRST_FRAG;
		}
	} else if (be16(f + 12) == 0x86dd) {
		const uint8_t *ip6 = f + 14;

		if (n < 14 + 40 || ip6[0] >> 4 != 6)
			return OTHER;
		fl->family = AF_INET6;
		fl->proto = ip6[6];
		memcpy(fl->src, ip6 + 8, 16);
		memcpy(fl->dst, ip6 + 24, 16);
		l4 = 14 + 40;
		if (fl->proto == 44) { /* a fragment header */
			if (n < 14 + 48)
				return OTHER;
			fl->frag_off = 14 + 42;
			if (be16(ip6 + 42) & 0xfff8)
				return LATER_FRAG;
			fl->proto = ip6[40];
			l4 = 14 + 48;
			what = FIRST_FRAG;
		}
	} else {
		return OTHER;
	}
	if (fl->proto != IPPROTO_TCP && fl->proto != IPPROTO_UDP)
		return OTHER;
	if (n < l4 + 4)
		return OTHER;
	fl->sport = be16(f + l4);
	fl->dport = be16(f + l4 + 2);
	return what;
}

static int
prefix_eq(const uint8_t *a, const char *text, int family, int bits)
{
	uint8_t b[16] = { 0 };

	if (!text)
		return 1;
	inet_pton(family, text, b);
	for (int i = 0; i < bits; i++) {
		int m = 0x80 >> (i % 8);

		if ((a[i / 8] & m) != (b[i / 8] & m))
			return 0;
	}
	return 1;
}

static int
ref_match(const struct ref_rule *r, const struct flow *fl)
{
	if (r->family && r->family != fl->family)
		return 0;
	if (r->proto && r->proto != fl->proto)
		return 0;
	if ((fl->sport & r->sport_mask) != r->sport ||
	    (fl->dport & r->dport_mask) != r->dport)
		return 0;
	if (r->family && (!prefix_eq(fl->src, r->src, r->family, r->src_bits) ||
			  !prefix_eq(fl->dst, r->dst, r->family, r->dst_bits)))
		return 0;
	return 1;
}

/* The rule that takes the frame, or -1: the kernel's. */
static int
ref_classify(const struct flow *fl)
{
	/* Masked class 0; exact; masked 1 and 2; local pairs; masked 3. */
	static const struct {
		enum kind kind;
		int cls;
	} order[] = { { MASKED, 0 }, { EXACT, 1 }, { MASKED, 1 },
		      { MASKED, 2 }, { LOCAL, 2 }, { MASKED, 3 } };

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++)
		for (size_t i = 0; i < NRULES; i++)
			if (rules[i].kind == order[o].kind &&
			    rules[i].cls == order[o].cls &&
			    ref_match(&rules[i], fl))
				return (int)i;
	return -1;
}

/* --- the program's maps, as xdp.c writes them --- */

static void
to_xdp(const struct ref_rule *r, uint16_t slot, struct vs_xdp_rule *x)
{
	memset(x, 0, sizeof(*x));
	x->action = r->drop ? VS_XDP_DROP : VS_XDP_STEER;
	x->proto = (unsigned char)r->proto;
	x->family = (unsigned char)r->family;
	x->cls = (unsigned char)r->cls;
	x->slot = slot;
	x->sport = htons(r->sport);
	x->sport_mask = htons(r->sport_mask);
	x->dport = htons(r->dport);
	x->dport_mask = htons(r->dport_mask);
	if (r->src)
		inet_pton(r->family, r->src, x->src);
	if (r->dst)
		inet_pton(r->family, r->dst, x->dst);
	for (int i = 0; i < r->src_bits; i++)
		x->src_mask[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	for (int i = 0; i < r->dst_bits; i++)
		x->dst_mask[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	for (int i = 0; i < 16; i++) {
		x->src[i] &= x->src_mask[i];
		x->dst[i] &= x->dst_mask[i];
	}
}

static int
map_fd(struct bpf_object *o, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(o, name);

	if (fd < 0) {
		fprintf(stderr, "fuzz_xdp: no map %s\n", name);
		exit(1);
	}
	return fd;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct vs_xdp_table t;
	struct bpf_program *p;
	uint32_t zero = 0, one = 1;
	int exact_fd, local_fd;

	(void)argc;
	(void)argv;
	libbpf_set_print(NULL);
	obj = bpf_object__open_mem(vs__xdp_prog_obj, vs__xdp_prog_obj_len,
				   NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "fuzz_xdp: cannot load the XDP program "
				"(needs CAP_BPF: run as root); skipped\n");
		exit(77);
	}
	p = bpf_object__find_program_by_name(obj, "vstack_xdp");
	prog_fd = bpf_program__fd(p);
	hits_fd = map_fd(obj, "vs_hits");
	exact_fd = map_fd(obj, "vs_exact");
	local_fd = map_fd(obj, "vs_local");
	frags_fd = map_fd(obj, "vs_frags");
	ncpus = libbpf_num_possible_cpus();
	/* The masked table in class order, and where the lookups go. */
	for (int cls = 0; cls < 4; cls++) {
		if (cls == 1)
			t.exact_at = (unsigned short)t.n;
		if (cls == 3)
			t.local_at = (unsigned short)t.n;
		for (size_t i = 0; i < NRULES; i++)
			if (rules[i].kind == MASKED && rules[i].cls == cls)
				to_xdp(&rules[i], (uint16_t)i, &t.r[t.n++]);
	}
	for (size_t i = 0; i < NRULES; i++) {
		struct vs_xdp_rule x;
		struct vs_xdp_exact_val v = { 0 };

		to_xdp(&rules[i], (uint16_t)i, &x);
		v.action = x.action;
		v.slot = (unsigned short)i;
		v.owner = 1; /* the one process, owner of queue 0 */
		if (rules[i].kind == EXACT) {
			struct vs_xdp_exact_key k = { .family = x.family,
						      .proto = x.proto,
						      .sport = x.sport,
						      .dport = x.dport };

			memcpy(k.src, x.src, 16);
			memcpy(k.dst, x.dst, 16);
			bpf_map_update_elem(exact_fd, &k, &v, BPF_ANY);
		} else if (rules[i].kind == LOCAL) {
			struct vs_xdp_local_key k = { .family = x.family,
						      .proto = x.proto,
						      .dport = x.dport,
						      .owner = 1 };

			memcpy(k.dst, x.dst, 16);
			bpf_map_update_elem(local_fd, &k, &v, BPF_ANY);
		}
	}
	/* BPF_PROG_TEST_RUN's frames arrive on queue 0: owner 1's, whose
	 * tables are 0 and 1 (0 in use). */
	if (bpf_map_update_elem(map_fd(obj, "vs_tables"), &zero, &t, BPF_ANY) ||
	    bpf_map_update_elem(map_fd(obj, "vs_cur"), &zero, &zero, BPF_ANY) ||
	    bpf_map_update_elem(map_fd(obj, "vs_qowner"), &zero, &one,
				BPF_ANY)) {
		perror("fuzz_xdp: the rule table");
		exit(1);
	}
	return 0;
}

/* The rule whose slot counted since the last call, or -1; -2 if more
 * than one did. */
static int
counted(void)
{
	uint64_t v[512];
	int which = -1;

	for (uint32_t i = 0; i < NRULES; i++) {
		uint64_t sum = 0;

		if (ncpus > 512 || bpf_map_lookup_elem(hits_fd, &i, v))
			abort();
		for (int c = 0; c < ncpus; c++)
			sum += v[c];
		if (sum != seen[i]) {
			which = which == -1 ? (int)i : -2;
			seen[i] = sum;
		}
	}
	return which;
}

/* The program's verdict on a frame. */
static int
run(const uint8_t *data, size_t size)
{
	uint8_t out[4096 + 256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = data,
		    .data_size_in = (uint32_t)size, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		perror("fuzz_xdp: BPF_PROG_TEST_RUN");
		abort();
	}
	return (int)o.retval;
}

/* How many datagrams vs_frags remembers. */
static int
frags_held(void)
{
	struct vs_xdp_frag_key k;
	int n = 0;

	for (int rc = bpf_map_get_next_key(frags_fd, NULL, &k); !rc;
	     rc = bpf_map_get_next_key(frags_fd, &k, &k))
		n++;
	return n;
}

static void
frags_clear(void)
{
	struct vs_xdp_frag_key k;

	while (!bpf_map_get_next_key(frags_fd, NULL, &k))
		bpf_map_delete_elem(frags_fd, &k);
}

static void
check(const char *what, int got, int verdict, int want, int want_verdict)
{
	if (got == want && verdict == want_verdict)
		return;
	fprintf(stderr,
		"fuzz_xdp: %s: the program counted rule %d with verdict %d; "
		"the reference says rule %d, verdict %d\n",
		what, got, verdict, want, want_verdict);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t later[3000];
	struct flow fl;
	int want, what, verdict;
	uint16_t off;

	/* The kernel runs XDP on frames of 14 bytes up to a page. */
	if (size < 14 || size > sizeof(later))
		return 0;
	frags_clear();
	verdict = run(data, size);
	what = ref_parse(data, size, &fl);
	want = what == WHOLE || what == FIRST_FRAG ? ref_classify(&fl) : -1;
	check("a frame", counted(), verdict, want,
	      want >= 0 && rules[want].drop ? XDP_DROP : XDP_PASS);
	if (what != FIRST_FRAG)
		return 0;
	/* The datagram is remembered if a rule took its first fragment,
	 * and its next fragment (offset 8) meets the same verdict. */
	if (frags_held() != (want >= 0)) {
		fprintf(stderr,
			"fuzz_xdp: a first fragment of rule %d left "
			"%d datagrams remembered\n",
			want, frags_held());
		abort();
	}
	memcpy(later, data, size);
	off = be16(later + fl.frag_off);
	/* Offset 1 (8 bytes): IPv4 below 3 flag bits, IPv6 above 3 bits. */
	off = fl.family == AF_INET ? (uint16_t)((off & 0xe000) | 1) :
				     (uint16_t)((off & 7) | 1 << 3);
	later[fl.frag_off] = (uint8_t)(off >> 8);
	later[fl.frag_off + 1] = (uint8_t)off;
	verdict = run(later, size);
	check("its later fragment", counted(), verdict, -1,
	      want >= 0 && rules[want].drop ? XDP_DROP : XDP_PASS);
	return 0;
}
