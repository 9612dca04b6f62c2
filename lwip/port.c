// SPDX-License-Identifier: MIT
/*
 * port.c - what lwIP needs from its platform, compiled into vstack's
 * lwIP library (each engine's private copy has its own).
 *
 * Owns: the clock lwIP's timers run on, its random numbers, the secret
 * behind initial sequence numbers and SYN cookies, and the reset that
 * answers a SYN vstack refuses (vs_lwip_syn_filter). Must never: call into vstack
 * (the copy is loaded RTLD_LOCAL and sees nothing of it) but through the
 * pointer vstack sets (vs_lwip_syn_filter), block, or be called from any
 * thread but its engine's.
 */
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lwip/arch.h"
#include "lwip/ip.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"
#include "lwip/sys.h"
#include "lwip_hooks.h"

static uint64_t secret[2]; /* the ISN hash key, from the kernel */
static uint64_t rand_state;

static void
seed(void)
{
	uint64_t s[3] = { 0 };

	if (rand_state)
		return;
	/* getrandom only fails before the kernel's pool is ready at boot;
	 * the clock then still makes each copy's numbers differ. */
	if (getrandom(s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		s[0] ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull;
		s[1] ^= (uint64_t)ts.tv_sec * 0xbf58476d1ce4e5b9ull;
		s[2] ^= (uintptr_t)&ts;
	}
	secret[0] = s[0];
	secret[1] = s[1];
	rand_state = s[2] | 1;
}

/* Milliseconds for lwIP's timers (wraps; lwIP compares by difference). */
u32_t
sys_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u32_t)((uint64_t)ts.tv_sec * 1000 +
		       (uint64_t)ts.tv_nsec / 1000000);
}

/* xorshift64*: lwIP's first local ports; nothing secret depends on it. */
unsigned int
vs_lwip_rand(void)
{
	seed();
	rand_state ^= rand_state >> 12;
	rand_state ^= rand_state << 25;
	rand_state ^= rand_state >> 27;
	return (unsigned int)((rand_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* SipHash-2-4 (Aumasson and Bernstein) of len bytes under secret. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t
siphash(const uint8_t *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ secret[0];
	uint64_t v1 = 0x646f72616e646f6dull ^ secret[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ secret[0];
	uint64_t v3 = 0x7465646279746573ull ^ secret[1];
	uint64_t b = (uint64_t)len << 56, m;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, in + i, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t k = 0; i + k < len; k++)
		b |= (uint64_t)in[i + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * RFC 6528, section 3: ISN = M + F(localip, localport, remoteip,
 * remoteport, secretkey), M a clock ticking every 4 microseconds. A new
 * connection on the 4-tuple of one in TIME_WAIT therefore starts above
 * the old one's sequence numbers (RFC 6191 relies on it).
 */
/* An address as 16 bytes (an IPv4 one zero-padded): no padding or
 * zone byte of ip_addr_t reaches the hash. */
static void
put_ip(uint8_t *out, const ip_addr_t *a)
{
	memset(out, 0, 16);
	if (IP_IS_V6(a))
		memcpy(out, ip_2_ip6(a)->addr, 16);
	else
		memcpy(out, &ip_2_ip4(a)->addr, 4);
}

u32_t
vs_lwip_isn(const ip_addr_t *local_ip, u16_t local_port,
	    const ip_addr_t *remote_ip, u16_t remote_port)
{
	uint8_t buf[36];
	struct timespec ts;
	uint64_t us4;

	seed();
	put_ip(buf, local_ip);
	put_ip(buf + 16, remote_ip);
	memcpy(buf + 32, &local_port, 2);
	memcpy(buf + 34, &remote_port, 2);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	us4 = ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000) / 4;
	return (u32_t)(us4 + siphash(buf, sizeof(buf)));
}

/*
 * SYN cookies (RFC 4987, section 3.6): 5 bits of a 64 s clock, 2 bits
 * for the MSS (of four), 25 bits of a keyed hash of the connection, the
 * client's ISN and the clock. A cookie is valid for two periods (64 to
 * 128 s); a guessed one passes with odds of 2 in 2^25.
 */
static const u16_t cookie_mss[4] = { 536, 1220, 1440, 1460 };

static u32_t
cookie_hash(const ip_addr_t *lip, u16_t lport, const ip_addr_t *rip,
	    u16_t rport, u32_t isn, u32_t period)
{
	uint8_t buf[45];

	put_ip(buf, lip);
	put_ip(buf + 16, rip);
	memcpy(buf + 32, &lport, 2);
	memcpy(buf + 34, &rport, 2);
	memcpy(buf + 36, &isn, 4);
	memcpy(buf + 40, &period, 4);
	buf[44] = 'c'; /* not an ISN's input */
	return (u32_t)siphash(buf, sizeof(buf)) & 0x1ffffff;
}

static u32_t
cookie_period(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u32_t)(ts.tv_sec / 64);
}

u32_t
vs_lwip_syn_cookie(const ip_addr_t *local_ip, u16_t local_port,
		   const ip_addr_t *remote_ip, u16_t remote_port, u32_t isn,
		   u16_t *mss)
{
	u32_t t = cookie_period(), m = 3;

	seed();
	while (m > 0 && cookie_mss[m] > *mss)
		m--;
	*mss = cookie_mss[m];
	return (t & 0x1f) << 27 | m << 25 |
	       cookie_hash(local_ip, local_port, remote_ip, remote_port, isn,
			   t);
}

u16_t
vs_lwip_syn_cookie_check(const ip_addr_t *local_ip, u16_t local_port,
			 const ip_addr_t *remote_ip, u16_t remote_port,
			 u32_t isn, u32_t cookie)
{
	u32_t now = cookie_period();

	seed();
	for (u32_t t = now; t + 2 > now; t--)
		if ((t & 0x1f) == cookie >> 27 &&
		    cookie_hash(local_ip, local_port, remote_ip, remote_port,
				isn, t) == (cookie & 0x1ffffff))
			return cookie_mss[(cookie >> 25) & 3];
	return 0;
}

int (*vs_lwip_syn_filter)(void *arg, u16_t sport);
int (*vs_lwip_reassembled_fn)(void *arg, struct pbuf *p);
void *vs_lwip_reassembled_arg;

int
vs_lwip_reassembled(struct pbuf *p, struct netif *inp)
{
	(void)inp;
	return vs_lwip_reassembled_fn ?
		       vs_lwip_reassembled_fn(vs_lwip_reassembled_arg, p) :
		       0;
}

err_t
vs_lwip_listen_input(const struct tcp_pcb *pcb, const struct tcp_hdr *hdr,
		     const struct pbuf *p)
{
	int take;

	if (!vs_lwip_syn_filter ||
	    (TCPH_FLAGS(hdr) & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN)
		return ERR_OK;
	/* tcp_input turned the header to host order already, and p starts
	 * at the payload. */
	take = vs_lwip_syn_filter(pcb->callback_arg, hdr->src);
	if (take < 0) /* RFC 793: a reset acknowledging the SYN */
		tcp_rst(pcb, 0,
			hdr->seqno + p->tot_len + 1 +
				((TCPH_FLAGS(hdr) & TCP_FIN) ? 1 : 0),
			ip_current_dest_addr(), ip_current_src_addr(),
			hdr->dest, hdr->src);
	return take > 0 ? ERR_OK : ERR_ABRT;
}
