// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "stack/tcp.h"

struct vs_tcp {
	struct vs_engine *e;
	struct tcp_pcb *pcb;
	const struct vs_tcp_ops *ops;
	void *user;
	struct vs_rule_handle *rule;
	int reserve_fd; /* kernel socket holding the local port, or -1 */
	bool listener;
	bool closing; /* closed by the application, draining its sends */
};

static ip_addr_t
to_ip(const struct sockaddr *sa, u16_t *port)
{
	ip_addr_t a;

	memset(&a, 0, sizeof(a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		ip_2_ip4(&a)->addr = in->sin_addr.s_addr;
		IP_SET_TYPE_VAL(a, IPADDR_TYPE_V4);
		*port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(ip_2_ip6(&a)->addr, &in6->sin6_addr, 16);
		IP_SET_TYPE_VAL(a, IPADDR_TYPE_V6);
		*port = ntohs(in6->sin6_port);
	}
	return a;
}

static struct vs_tcp *
conn_new(struct vs_engine *e, const struct vs_tcp_ops *ops, void *user)
{
	struct vs_tcp *c = calloc(1, sizeof(*c));

	if (c) {
		c->e = e;
		c->ops = ops;
		c->user = user;
		c->reserve_fd = -1;
	}
	return c;
}

/* Gives back what the connection owned; lwIP's pcb is already gone. */
static void
conn_free(struct vs_tcp *c)
{
	if (c->rule)
		vs__port_rule_del(c->e->port, c->rule);
	if (c->reserve_fd >= 0)
		close(c->reserve_fd);
	free(c);
}

static void
on_err(void *arg, err_t err)
{
	struct vs_tcp *c = arg;
	int rc = err == ERR_RST ? -ECONNRESET
		 : err == ERR_ABRT ? -ECONNABORTED
				   : -ETIMEDOUT;

	/* lwIP freed the pcb already. */
	c->pcb = NULL;
	if (c->ops && c->ops->closed)
		c->ops->closed(c, rc);
	conn_free(c);
}

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct vs_tcp *c = arg;

	(void)pcb;
	(void)err;
	if (c->ops && c->ops->received)
		c->ops->received(c, p);
	else if (p)
		c->e->lw.pbuf_free(p);
	return ERR_OK;
}

static void finish_close(struct vs_tcp *c);

static err_t
on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct vs_tcp *c = arg;

	if (c->closing) {
		if (!pcb->unsent && !pcb->unacked)
			finish_close(c);
		return ERR_OK;
	}
	if (c->ops && c->ops->sent)
		c->ops->sent(c, len);
	return ERR_OK;
}

static void
attach(struct vs_tcp *c, struct tcp_pcb *pcb)
{
	struct vs_lwip *lw = &c->e->lw;

	c->pcb = pcb;
	lw->tcp_arg(pcb, c);
	lw->tcp_recv(pcb, on_recv);
	lw->tcp_sent(pcb, on_sent);
	lw->tcp_err(pcb, on_err);
}

static err_t
on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct vs_tcp *l = arg, *c;

	if (err != ERR_OK || !pcb || !(c = conn_new(l->e, NULL, NULL)))
		return ERR_MEM;
	attach(c, pcb);
	if (l->ops && l->ops->accepted)
		l->ops->accepted(l, c);
	return ERR_OK;
}

/* A rule steering this queue the frames to addr:port (and from the peer
 * when peer is not NULL). */
static int
steer(struct vs_tcp *c, const struct sockaddr *local,
      const struct sockaddr *peer)
{
	struct vs_rule r = { .action = VS_RULE_STEER, .queue = c->e->q,
			     .proto = IPPROTO_TCP, .dport_mask = 0xffff };
	size_t alen = local->sa_family == AF_INET ? 4 : 16;
	const void *la = local->sa_family == AF_INET
				 ? (const void *)&((const struct sockaddr_in *)local)->sin_addr
				 : (const void *)&((const struct sockaddr_in6 *)local)->sin6_addr;
	u16_t lport, pport;

	to_ip(local, &lport);
	r.dport = lport;
	r.family = (uint8_t)local->sa_family;
	memcpy(r.dst, la, alen);
	/* An unspecified local address: any destination address. */
	if (memcmp(r.dst, (const uint8_t[16]){ 0 }, alen))
		memset(r.dst_mask, 0xff, alen);
	if (peer) {
		const void *pa = peer->sa_family == AF_INET
			? (const void *)&((const struct sockaddr_in *)peer)->sin_addr
			: (const void *)&((const struct sockaddr_in6 *)peer)->sin6_addr;

		to_ip(peer, &pport);
		memcpy(r.src, pa, alen);
		memset(r.src_mask, 0xff, alen);
		r.sport = pport;
		r.sport_mask = 0xffff;
	}
	return vs__port_rule_add(c->e->port, &r, &c->rule);
}

int
vs__tcp_listen(struct vs_engine *e, const struct sockaddr *addr, int backlog,
	       const struct vs_tcp_ops *ops, void *user, struct vs_tcp **out)
{
	struct vs_lwip *lw = &e->lw;
	struct vs_tcp *l = conn_new(e, ops, user);
	struct tcp_pcb *pcb;
	u16_t port;
	ip_addr_t ip = to_ip(addr, &port);
	int rc;

	if (!l)
		return -ENOMEM;
	pcb = lw->tcp_new_ip_type(IP_GET_TYPE(&ip));
	if (!pcb || lw->tcp_bind(pcb, &ip, port) != ERR_OK) {
		if (pcb)
			lw->tcp_abort(pcb);
		free(l);
		return pcb ? -EADDRINUSE : -ENOMEM;
	}
	rc = steer(l, addr, NULL);
	if (rc) {
		lw->tcp_abort(pcb);
		free(l);
		return rc;
	}
	l->listener = true;
	l->pcb = lw->tcp_listen_with_backlog(pcb, (u8_t)(backlog > 255 ? 255
								       : backlog));
	lw->tcp_arg(l->pcb, l);
	lw->tcp_accept(l->pcb, on_accept);
	*out = l;
	return 0;
}

static err_t
on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct vs_tcp *c = arg;

	(void)pcb;
	if (c->ops && c->ops->connected)
		c->ops->connected(c, err == ERR_OK ? 0 : -ECONNREFUSED);
	return ERR_OK;
}

/*
 * A local port for an outbound connection, reserved with a kernel socket
 * bound to it (kept open as long as the connection), so that the kernel
 * does not give it to anyone else. Fills local with the port's address.
 */
static int
reserve_port(struct vs_tcp *c, int family, struct sockaddr_storage *local)
{
	const struct vs_port_info *in = vs__port_info(c->e->port);
	socklen_t len = sizeof(*local);
	unsigned i;

	for (i = 0; i < in->naddrs && in->addrs[i].ss_family != family; i++)
		;
	if (i == in->naddrs)
		return -EADDRNOTAVAIL;
	*local = in->addrs[i];
	((struct sockaddr_in *)local)->sin_port = 0;
	c->reserve_fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->reserve_fd < 0 ||
	    bind(c->reserve_fd, (struct sockaddr *)local,
		 family == AF_INET ? sizeof(struct sockaddr_in)
				   : sizeof(struct sockaddr_in6)) < 0 ||
	    getsockname(c->reserve_fd, (struct sockaddr *)local, &len) < 0)
		return -errno;
	return 0;
}

int
vs__tcp_connect(struct vs_engine *e, const struct sockaddr *dst,
		const struct vs_tcp_ops *ops, void *user, struct vs_tcp **out)
{
	struct vs_lwip *lw = &e->lw;
	struct vs_tcp *c = conn_new(e, ops, user);
	struct sockaddr_storage local;
	u16_t lport, dport;
	ip_addr_t lip, dip;
	struct tcp_pcb *pcb;
	int rc;

	if (!c)
		return -ENOMEM;
	rc = reserve_port(c, dst->sa_family, &local);
	if (!rc)
		rc = steer(c, (struct sockaddr *)&local, dst);
	if (rc) {
		conn_free(c);
		return rc;
	}
	lip = to_ip((struct sockaddr *)&local, &lport);
	dip = to_ip(dst, &dport);
	pcb = lw->tcp_new_ip_type(IP_GET_TYPE(&dip));
	if (!pcb || lw->tcp_bind(pcb, &lip, lport) != ERR_OK) {
		if (pcb)
			lw->tcp_abort(pcb);
		conn_free(c);
		return pcb ? -EADDRINUSE : -ENOMEM;
	}
	attach(c, pcb);
	if (lw->tcp_connect(pcb, &dip, dport, on_connected) != ERR_OK) {
		lw->tcp_arg(pcb, NULL);
		lw->tcp_err(pcb, NULL);
		lw->tcp_abort(pcb);
		conn_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void
vs__tcp_set_ops(struct vs_tcp *c, const struct vs_tcp_ops *ops, void *user)
{
	c->ops = ops;
	c->user = user;
}

void *
vs__tcp_user(const struct vs_tcp *c)
{
	return c->user;
}

ssize_t
vs__tcp_send(struct vs_tcp *c, const void *data, size_t len)
{
	struct vs_lwip *lw = &c->e->lw;
	size_t room;

	if (!c->pcb || c->listener)
		return -ENOTCONN;
	room = tcp_sndbuf(c->pcb);
	if (len > room)
		len = room;
	if (len > 0xffff)
		len = 0xffff;
	if (!len || tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN)
		return 0;
	if (lw->tcp_write(c->pcb, data, (u16_t)len, TCP_WRITE_FLAG_COPY) !=
	    ERR_OK)
		return 0;
	lw->tcp_output(c->pcb);
	return (ssize_t)len;
}

void
vs__tcp_consumed(struct vs_tcp *c, size_t len)
{
	while (c->pcb && len) {
		u16_t n = len > 0xffff ? 0xffff : (u16_t)len;

		c->e->lw.tcp_recved(c->pcb, n);
		len -= n;
	}
}

/* After close: what still arrives is dropped; lwIP keeps the pcb (FIN
 * handshake, TIME_WAIT) without calling back. */
static err_t
recv_after_close(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct vs_lwip *lw = arg;

	(void)err;
	if (p) {
		lw->tcp_recved(pcb, p->tot_len);
		lw->pbuf_free(p);
	}
	return ERR_OK;
}

/* While draining: incoming data is dropped, the connection stays ours. */
static err_t
recv_while_closing(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct vs_tcp *c = arg;

	return recv_after_close(&c->e->lw, pcb, p, err);
}

/* The end of the closing handshake's grace: rule and port go. */
static void
linger_done(void *arg)
{
	conn_free(arg);
}

/* Everything sent was acknowledged: FIN, `closed`, and the rule lingers
 * for the peer's last segments. */
static void
finish_close(struct vs_tcp *c)
{
	struct vs_lwip *lw = &c->e->lw;
	struct tcp_pcb *pcb = c->pcb;
	const struct vs_tcp_ops *ops = c->ops;

	lw->tcp_arg(pcb, lw);
	lw->tcp_err(pcb, NULL);
	lw->tcp_sent(pcb, NULL);
	lw->tcp_recv(pcb, recv_after_close);
	if (lw->tcp_close(pcb) != ERR_OK)
		lw->tcp_abort(pcb);
	c->pcb = NULL;
	c->ops = NULL;
	if (ops && ops->closed)
		ops->closed(c, 0);
	/* TODO: follow lwIP's TIME_WAIT instead of a fixed grace. */
	lw->sys_timeout(2000, linger_done, c);
}

/*
 * Graceful close: what was sent is delivered first (the connection
 * lingers, retransmitting, until the peer acknowledged all of it), then
 * the FIN goes and `closed(c, 0)` is called; a reset or timeout meanwhile
 * reports `closed(c, -err)`.
 */
void
vs__tcp_close(struct vs_tcp *c)
{
	struct vs_lwip *lw = &c->e->lw;

	if (c->listener || !c->pcb) {
		if (c->pcb && lw->tcp_close(c->pcb) != ERR_OK)
			lw->tcp_abort(c->pcb);
		c->pcb = NULL;
		if (c->ops && c->ops->closed)
			c->ops->closed(c, 0);
		conn_free(c);
		return;
	}
	c->closing = true;
	lw->tcp_recv(c->pcb, recv_while_closing);
	if (!c->pcb->unsent && !c->pcb->unacked)
		finish_close(c);
	else
		lw->tcp_output(c->pcb);
}
