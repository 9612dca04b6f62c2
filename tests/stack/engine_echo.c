// SPDX-License-Identifier: MIT
/*
 * engine_echo DEV PORT CONNECTIONS - the TCP echo of netif_echo, run by
 * an engine thread: the listening socket is set up by a call posted from
 * this thread. After CONNECTIONS connections ended, measures the idle
 * engine's CPU time over 2 s (it must sleep), prints it, and exits 0
 * (1 on error, on more than 1% of a core, or after 60 s).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "stack/engine.h"

static struct vs_engine e;
static _Atomic int served;
static u16_t port_no;

static u16_t
chain_len(const struct pbuf *p)
{
	u16_t n = 0;

	for (; p; p = p->next)
		n++;
	return n;
}

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (!p) {
		e.lw.tcp_close(pcb);
		served++;
		return ERR_OK;
	}
	/* All of it or nothing: refused data comes back whole later. */
	if (tcp_sndbuf(pcb) < p->tot_len ||
	    tcp_sndqueuelen(pcb) + chain_len(p) > TCP_SND_QUEUELEN) {
		e.lw.tcp_output(pcb);
		return ERR_MEM;
	}
	for (struct pbuf *q = p; q; q = q->next)
		if (e.lw.tcp_write(pcb, q->payload, q->len,
				   TCP_WRITE_FLAG_COPY) != ERR_OK)
			abort();
	e.lw.tcp_recved(pcb, p->tot_len);
	e.lw.pbuf_free(p);
	e.lw.tcp_output(pcb);
	return ERR_OK;
}

static err_t
on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	e.lw.tcp_recv(pcb, on_recv);
	return ERR_OK;
}

/* Runs on the engine's thread. */
static void
listen_call(void *arg)
{
	ip_addr_t any = vs__lwip_addr_any(IPADDR_TYPE_ANY);
	struct tcp_pcb *pcb = e.lw.tcp_new_ip_type(IPADDR_TYPE_ANY);

	if (e.lw.tcp_bind(pcb, &any, port_no) != ERR_OK)
		abort();
	pcb = e.lw.tcp_listen_with_backlog(pcb, 16);
	e.lw.tcp_accept(pcb, on_accept);
	printf("ready\n");
	fflush(stdout);
	(void)arg;
}

static double
thread_cpu_ms(pthread_t t)
{
	struct timespec ts;
	clockid_t c;

	pthread_getcpuclockid(t, &c);
	clock_gettime(c, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	struct vs_port_opts o = { .sz = sizeof(o), .nqueues = 1,
				  .buf_size = 2048, .nbufs = 4096,
				  .rx_depth = 256, .tx_depth = 256 };
	struct vs_rule r = { .action = VS_RULE_STEER, .proto = IPPROTO_TCP,
			     .dport_mask = 0xffff };
	struct vs_rule_handle *h;
	struct vs_port *port;
	char err[256];
	double cpu0;
	time_t end = time(NULL) + 60;

	if (argc != 4)
		return fprintf(stderr, "usage: engine_echo DEV PORT N\n"), 2;
	o.device = argv[1];
	port_no = (u16_t)atoi(argv[2]);
	r.dport = port_no;
	port = vs__port_open(&o, err, sizeof(err));
	if (!port || vs__port_rule_add(port, &r, &h) ||
	    vs__engine_open(&e, port, 0, 50, 0, err, sizeof(err)) ||
	    vs__engine_start(&e) || vs__engine_call(&e, listen_call, NULL))
		return fprintf(stderr, "engine_echo: %s\n", err), 1;
	while (served < atoi(argv[3]) && time(NULL) < end)
		usleep(10000);
	usleep(200000);
	cpu0 = thread_cpu_ms(e.thread);
	sleep(2);
	printf("served %d; idle engine: %.1f ms of CPU in 2000 ms, %llu "
	       "sleeps, %llu calls\n", served, thread_cpu_ms(e.thread) - cpu0,
	       (unsigned long long)e.sleeps, (unsigned long long)e.calls);
	if (thread_cpu_ms(e.thread) - cpu0 > 20)
		return fprintf(stderr, "engine_echo: the idle engine spins\n"), 1;
	vs__engine_close(&e);
	/* The engine has stopped: its counters can be read. */
	printf("rx %llu tx %llu waited-for-neighbour %llu timed-out %llu\n",
	       (unsigned long long)e.nif.st.rx_frames,
	       (unsigned long long)e.nif.st.tx_frames,
	       (unsigned long long)e.nif.st.neigh_waited,
	       (unsigned long long)e.nif.st.neigh_timeout);
	vs__port_close(port);
	return served == atoi(argv[3]) ? 0 : 1;
}
