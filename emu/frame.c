// SPDX-License-Identifier: MIT
/*
 * frame.c - what the emulated NIC reads in a frame: turning ibv_flow_attr
 * specs into a masked match and keys, a frame's key, the RSS hash input, and
 * IP/TCP/UDP checksums (IBV_SEND_IP_CSUM on send, IBV_WC_IP_CSUM_OK on
 * receive). Pure functions: shared by the library and the vsemu daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/toeplitz.h"
#include "emu/emu.h"

/* What a frame's headers say, located once for matching and hashing. */
struct frame_info {
	const uint8_t *dmac, *smac;
	uint16_t ethertype; /* network order, after one VLAN tag */
	uint16_t vlan; /* network order TCI, 0 when untagged */
	int ipver;
	const uint8_t *src, *dst; /* 4 or 16 bytes */
	uint8_t proto, tos, ttl;
	bool frag; /* an IP fragment (IPv4: MF or an offset; IPv6: a
		      fragment header first) */
	const uint8_t *l3, *l4; /* l4 NULL unless TCP/UDP, first fragment */
	uint32_t l3len, l4len;
};

static void
parse_ipv4(struct frame_info *fi, const uint8_t *p, uint32_t left)
{
	uint32_t ihl, tot;

	if (left < 20 || (p[0] >> 4) != 4)
		return;
	ihl = (p[0] & 15u) * 4;
	tot = (uint32_t)p[2] << 8 | p[3];
	if (ihl < 20 || tot < ihl || tot > left)
		return;
	fi->ipver = 4;
	fi->l3 = p;
	fi->l3len = tot;
	fi->tos = p[1];
	fi->ttl = p[8];
	fi->proto = p[9];
	fi->src = p + 12;
	fi->dst = p + 16;
	fi->frag = (((uint32_t)p[6] << 8 | p[7]) & 0x3fff) != 0;
	/* Only a first (or whole) fragment carries the ports. */
	if ((((uint32_t)p[6] << 8 | p[7]) & 0x1fff) == 0) {
		fi->l4 = p + ihl;
		fi->l4len = tot - ihl;
	}
}

static void
parse_ipv6(struct frame_info *fi, const uint8_t *p, uint32_t left)
{
	uint32_t plen;

	if (left < 40 || (p[0] >> 4) != 6)
		return;
	plen = (uint32_t)p[4] << 8 | p[5];
	if (40 + plen > left)
		return;
	fi->ipver = 6;
	fi->l3 = p;
	fi->l3len = 40 + plen;
	fi->tos = (uint8_t)((p[0] & 15) << 4 | p[1] >> 4);
	fi->proto = p[6];
	fi->ttl = p[7];
	fi->src = p + 8;
	fi->dst = p + 24;
	fi->l4 = p + 40;
	fi->l4len = plen;
	/* A fragment header: the protocol is what it carries; only the
	 * first fragment (offset 0) has the ports. */
	if (fi->proto == 44) {
		fi->frag = true;
		fi->l4 = NULL;
		if (plen < 8)
			return;
		fi->proto = p[40];
		if (!(((uint32_t)p[42] << 8 | p[43]) & 0xfff8)) {
			fi->l4 = p + 48;
			fi->l4len = plen - 8;
		}
	}
}

static bool
parse_frame(struct frame_info *fi, const uint8_t *f, uint32_t len)
{
	uint32_t off = 14;

	memset(fi, 0, sizeof(*fi));
	if (len < 14)
		return false;
	fi->dmac = f;
	fi->smac = f + 6;
	memcpy(&fi->ethertype, f + 12, 2);
	if (fi->ethertype == htons(0x8100) && len >= 18) {
		memcpy(&fi->vlan, f + 14, 2);
		memcpy(&fi->ethertype, f + 16, 2);
		off = 18;
	}
	if (fi->ethertype == htons(0x0800))
		parse_ipv4(fi, f + off, len - off);
	else if (fi->ethertype == htons(0x86dd))
		parse_ipv6(fi, f + off, len - off);
	if (fi->l4 && !((fi->proto == 6 && fi->l4len >= 20) ||
			(fi->proto == 17 && fi->l4len >= 8)))
		fi->l4 = NULL;
	return true;
}

static unsigned
popcount_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	unsigned c = 0;

	for (size_t i = 0; i < n; i++)
		c += (unsigned)__builtin_popcount(b[i]);
	return c;
}

static void
and_bytes(uint8_t *dst, const void *val, const void *mask, size_t n)
{
	const uint8_t *v = val, *m = mask;

	for (size_t i = 0; i < n; i++)
		dst[i] = v[i] & m[i];
}

static int
spec_eth(struct emu_match *m, const struct ibv_flow_spec_eth *s)
{
	memcpy(m->dmac_m, s->mask.dst_mac, 6);
	and_bytes(m->dmac, s->val.dst_mac, s->mask.dst_mac, 6);
	memcpy(m->smac_m, s->mask.src_mac, 6);
	and_bytes(m->smac, s->val.src_mac, s->mask.src_mac, 6);
	m->ethertype_m = s->mask.ether_type;
	m->ethertype = s->val.ether_type & s->mask.ether_type;
	m->vlan_m = s->mask.vlan_tag;
	m->vlan = s->val.vlan_tag & s->mask.vlan_tag;
	return 0;
}

static void
set_ip(struct emu_match *m, int ver, const void *src, const void *src_m,
       const void *dst, const void *dst_m, size_t n)
{
	m->ipver = ver;
	memcpy(m->src_m, src_m, n);
	and_bytes(m->src, src, src_m, n);
	memcpy(m->dst_m, dst_m, n);
	and_bytes(m->dst, dst, dst_m, n);
}

static int
spec_l4(struct emu_match *m, const struct ibv_flow_spec_tcp_udp *s,
	uint8_t proto)
{
	m->proto = proto;
	m->proto_m = 0xff;
	m->sport_m = s->mask.src_port;
	m->sport = s->val.src_port & s->mask.src_port;
	m->dport_m = s->mask.dst_port;
	m->dport = s->val.dst_port & s->mask.dst_port;
	return 0;
}

/* One spec; returns 0, or an errno for a bad or unsupported one. */
static int
parse_spec(const struct ibv_flow_spec *sp, struct emu_match *m, bool *drop)
{
	switch ((int)sp->hdr.type) {
	case IBV_FLOW_SPEC_ETH:
		if (sp->hdr.size != sizeof(sp->eth))
			return EINVAL;
		return spec_eth(m, &sp->eth);
	case IBV_FLOW_SPEC_IPV4:
		if (sp->hdr.size != sizeof(sp->ipv4))
			return EINVAL;
		set_ip(m, 4, &sp->ipv4.val.src_ip, &sp->ipv4.mask.src_ip,
		       &sp->ipv4.val.dst_ip, &sp->ipv4.mask.dst_ip, 4);
		return 0;
	case IBV_FLOW_SPEC_IPV4_EXT: {
		const struct ibv_flow_ipv4_ext_filter *v = &sp->ipv4_ext.val,
						      *k = &sp->ipv4_ext.mask;

		if (sp->hdr.size != sizeof(sp->ipv4_ext))
			return EINVAL;
		if (k->flags & ~EMU_IPV4_MORE_FRAG)
			return EOPNOTSUPP;
		m->frag_m = k->flags ? 1 : 0;
		m->frag = (v->flags & k->flags) ? 1 : 0;
		set_ip(m, 4, &v->src_ip, &k->src_ip, &v->dst_ip, &k->dst_ip, 4);
		m->proto_m = k->proto;
		m->proto = v->proto & k->proto;
		m->tos_m = k->tos;
		m->tos = v->tos & k->tos;
		m->ttl_m = k->ttl;
		m->ttl = v->ttl & k->ttl;
		return 0;
	}
	case IBV_FLOW_SPEC_IPV6: {
		const struct ibv_flow_ipv6_filter *v = &sp->ipv6.val,
						  *k = &sp->ipv6.mask;

		if (sp->hdr.size != sizeof(sp->ipv6))
			return EINVAL;
		if (k->flow_label)
			return EOPNOTSUPP;
		set_ip(m, 6, v->src_ip, k->src_ip, v->dst_ip, k->dst_ip, 16);
		/* next_hdr 44 (a fragment header): any fragment, the
		 * emulator's stand-in for mlx5's frag bit, which
		 * ibv_flow_spec_ipv6 cannot express (docs/emu.md). Else the
		 * protocol, past a fragment header. */
		if (k->next_hdr == 0xff && v->next_hdr == 44) {
			m->frag_m = m->frag = 1;
		} else {
			m->proto_m = k->next_hdr;
			m->proto = v->next_hdr & k->next_hdr;
		}
		m->tos_m = k->traffic_class;
		m->tos = v->traffic_class & k->traffic_class;
		m->ttl_m = k->hop_limit;
		m->ttl = v->hop_limit & k->hop_limit;
		return 0;
	}
	case IBV_FLOW_SPEC_TCP:
	case IBV_FLOW_SPEC_UDP:
		if (sp->hdr.size != sizeof(sp->tcp_udp))
			return EINVAL;
		return spec_l4(m, &sp->tcp_udp,
			       sp->hdr.type == IBV_FLOW_SPEC_TCP ? 6 : 17);
	case IBV_FLOW_SPEC_ACTION_DROP:
		if (sp->hdr.size != sizeof(sp->drop))
			return EINVAL;
		*drop = true;
		return 0;
	default:
		return EOPNOTSUPP;
	}
}

int
emu__flow_parse(const struct ibv_flow_attr *attr, struct emu_match *m,
		struct ibv_counters **counters, bool *drop)
{
	const uint8_t *p = (const uint8_t *)(attr + 1);
	const uint8_t *end = (const uint8_t *)attr + attr->size;

	memset(m, 0, sizeof(*m));
	*drop = false;
	*counters = NULL;
	/* The specs lie within attr->size, as the verbs API has it. */
	if (attr->size < sizeof(*attr))
		return EINVAL;
	for (int i = 0; i < attr->num_of_specs; i++) {
		struct ibv_flow_spec sp;
		int rc;

		/* Specs follow each other unaligned (their sizes are not
		 * multiples of 8): copy each out before reading it. */
		if ((size_t)(end - p) < sizeof(sp.hdr))
			return EINVAL;
		memcpy(&sp.hdr, p, sizeof(sp.hdr));
		if (sp.hdr.size < sizeof(sp.hdr) || sp.hdr.size > sizeof(sp) ||
		    sp.hdr.size > (size_t)(end - p))
			return EINVAL;
		memcpy(&sp, p, sp.hdr.size);
		if (sp.hdr.type == IBV_FLOW_SPEC_ACTION_COUNT) {
			if (sp.hdr.size != sizeof(sp.flow_count) || *counters ||
			    !sp.flow_count.counters)
				return EINVAL;
			*counters = sp.flow_count.counters;
			p += sp.hdr.size;
			continue;
		}
		rc = parse_spec(&sp, m, drop);
		if (rc)
			return rc;
		p += sp.hdr.size;
	}
	m->specificity =
		popcount_bytes(m->dmac_m, 6) + popcount_bytes(m->smac_m, 6) +
		popcount_bytes(&m->ethertype_m, 2) +
		popcount_bytes(&m->vlan_m, 2) + (m->ipver ? 4 : 0) +
		popcount_bytes(m->src_m, 16) + popcount_bytes(m->dst_m, 16) +
		popcount_bytes(&m->proto_m, 1) + popcount_bytes(&m->tos_m, 1) +
		popcount_bytes(&m->ttl_m, 1) + m->frag_m +
		popcount_bytes(&m->sport_m, 2) + popcount_bytes(&m->dport_m, 2);
	return 0;
}

bool
emu__frame_key(struct emu_key *k, const uint8_t *frame, uint32_t len)
{
	struct frame_info fi;
	size_t alen;

	memset(k, 0, sizeof(*k));
	if (!parse_frame(&fi, frame, len))
		return false;
	memcpy(k->dmac, fi.dmac, 6);
	memcpy(k->smac, fi.smac, 6);
	k->ethertype = fi.ethertype;
	k->vlan = fi.vlan;
	k->tos = fi.tos;
	k->ttl = fi.ttl;
	if (fi.ipver) {
		alen = fi.ipver == 4 ? 4 : 16;
		k->has |= EMU_KEY_IP;
		k->ipver = (uint8_t)fi.ipver;
		memcpy(k->src, fi.src, alen);
		memcpy(k->dst, fi.dst, alen);
		k->proto = fi.proto;
		k->frag = fi.frag;
	}
	if (fi.l4) {
		k->has |= EMU_KEY_L4;
		memcpy(&k->sport, fi.l4, 2);
		memcpy(&k->dport, fi.l4 + 2, 2);
	}
	return true;
}

bool
emu__match_keys(const struct emu_match *m, struct emu_key *mask,
		struct emu_key *val)
{
	size_t alen = m->ipver == 4 ? 4 : 16;
	const uint8_t *v = (const uint8_t *)val, *k = (const uint8_t *)mask;

	memset(mask, 0, sizeof(*mask));
	memset(val, 0, sizeof(*val));
	memcpy(mask->dmac, m->dmac_m, 6);
	memcpy(val->dmac, m->dmac, 6);
	memcpy(mask->smac, m->smac_m, 6);
	memcpy(val->smac, m->smac, 6);
	mask->ethertype = m->ethertype_m;
	val->ethertype = m->ethertype;
	mask->vlan = m->vlan_m;
	val->vlan = m->vlan;
	mask->tos = m->tos_m;
	val->tos = m->tos;
	mask->ttl = m->ttl_m;
	val->ttl = m->ttl;
	/* Addresses count only with a version, and only theirs. */
	if (m->ipver) {
		mask->ipver = 0xff;
		val->ipver = (uint8_t)m->ipver;
		memcpy(mask->src, m->src_m, alen);
		memcpy(val->src, m->src, alen);
		memcpy(mask->dst, m->dst_m, alen);
		memcpy(val->dst, m->dst, alen);
	}
	mask->proto = m->proto_m;
	val->proto = m->proto;
	if (m->frag_m) {
		mask->frag = 0xff;
		val->frag = m->frag;
	}
	/* A protocol or fragment match needs an IP header, a port match
	 * ports, whatever the values (0 is a value). */
	if (m->proto_m || m->frag_m)
		mask->has |= EMU_KEY_IP;
	if (m->sport_m || m->dport_m)
		mask->has |= EMU_KEY_L4;
	val->has = mask->has;
	mask->sport = m->sport_m;
	val->sport = m->sport;
	mask->dport = m->dport_m;
	val->dport = m->dport;
	for (size_t i = 0; i < sizeof(*val); i++)
		if (v[i] & ~k[i])
			return false;
	return true;
}

uint32_t
emu__rss_hash(const uint8_t *key, size_t keylen, uint64_t f,
	      const uint8_t *frame, uint32_t len)
{
	struct frame_info fi;
	uint8_t in[36];
	size_t n = 0, alen;
	uint64_t s, d, sp, dp;

	if (!parse_frame(&fi, frame, len) || !fi.ipver)
		return 0;
	s = fi.ipver == 4 ? IBV_RX_HASH_SRC_IPV4 : IBV_RX_HASH_SRC_IPV6;
	d = fi.ipver == 4 ? IBV_RX_HASH_DST_IPV4 : IBV_RX_HASH_DST_IPV6;
	sp = fi.proto == 6 ? IBV_RX_HASH_SRC_PORT_TCP :
			     IBV_RX_HASH_SRC_PORT_UDP;
	dp = fi.proto == 6 ? IBV_RX_HASH_DST_PORT_TCP :
			     IBV_RX_HASH_DST_PORT_UDP;
	alen = fi.ipver == 4 ? 4 : 16;
	if (f & s)
		memcpy(in + n, fi.src, alen), n += alen;
	if (f & d)
		memcpy(in + n, fi.dst, alen), n += alen;
	if (fi.l4 && (f & sp))
		memcpy(in + n, fi.l4, 2), n += 2;
	if (fi.l4 && (f & dp))
		memcpy(in + n, fi.l4 + 2, 2), n += 2;
	return vs__toeplitz(key, keylen, in, n);
}

static uint32_t
sum16(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Sum of the pseudo header (RFC 793 3.1, RFC 768, RFC 8200 8.1). */
static uint32_t
pseudo_sum(const struct frame_info *fi)
{
	size_t alen = fi->ipver == 4 ? 4 : 16;
	uint32_t sum = sum16(fi->src, (uint32_t)alen, 0);

	sum = sum16(fi->dst, (uint32_t)alen, sum);
	return sum + fi->proto + fi->l4len;
}

bool
emu__frame_csum_ok(const uint8_t *frame, uint32_t len)
{
	struct frame_info fi;

	if (!parse_frame(&fi, frame, len) || !fi.l4 || fi.frag ||
	    fi.l4 != fi.l3 + (fi.ipver == 4 ? (fi.l3[0] & 15u) * 4 : 40))
		return false;
	if (fi.ipver == 4 && fold(sum16(fi.l3, (fi.l3[0] & 15u) * 4, 0)))
		return false;
	if (fi.proto == 17 && fi.ipver == 4 && !fi.l4[6] && !fi.l4[7])
		return true; /* UDP over IPv4 without a checksum */
	return fold(sum16(fi.l4, fi.l4len, pseudo_sum(&fi))) == 0;
}

void
emu__frame_fill_csum(uint8_t *frame, uint32_t len)
{
	struct frame_info fi;
	uint8_t *l3, *l4;
	uint16_t c;
	int off;

	if (!parse_frame(&fi, frame, len) || !fi.ipver)
		return;
	l3 = (uint8_t *)(uintptr_t)fi.l3;
	if (fi.ipver == 4) {
		l3[10] = l3[11] = 0;
		c = fold(sum16(l3, (l3[0] & 15u) * 4, 0));
		l3[10] = (uint8_t)(c >> 8);
		l3[11] = (uint8_t)c;
	}
	/* As mlx5: no TCP/UDP sum for a fragment (it covers the datagram). */
	if (!fi.l4 || fi.frag)
		return;
	l4 = (uint8_t *)(uintptr_t)fi.l4;
	off = fi.proto == 6 ? 16 : 6;
	l4[off] = l4[off + 1] = 0;
	c = fold(sum16(l4, fi.l4len, pseudo_sum(&fi)));
	if (fi.proto == 17 && c == 0)
		c = 0xffff; /* RFC 768: a computed zero is sent as all ones */
	l4[off] = (uint8_t)(c >> 8);
	l4[off + 1] = (uint8_t)c;
}
