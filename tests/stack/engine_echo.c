// SPDX-License-Identifier: MIT
/*
 * engine_echo DEV PORT CONNECTIONS - the TCP echo of netif_echo, run by
 * an engine thread: the listening socket is set up by a call posted from
 * this thread. After CONNECTIONS connections ended, measures the idle
 * engine's CPU time over 2 s (it must sleep), prints it, and exits 0
 * (1 on error, on more than 1% of a core, or after 60 s).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "stack/engine.h"
#include "lwip_echo.h"

static struct vs_engine e;
static u16_t port_no;

/* Runs on the engine's thread. */
static void
listen_call(void *arg)
{
	echo_lw = &e.lw;
	if (echo_listen(port_no))
		abort();
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
	struct vs_port_opts o = { .sz = sizeof(o),
				  .nqueues = 1,
				  .buf_size = 2048,
				  .nbufs = 4096,
				  .rx_depth = 256,
				  .tx_depth = 256 };
	struct vs_rule r = { .action = VS_RULE_STEER,
			     .proto = IPPROTO_TCP,
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
	while (echo_served < atoi(argv[3]) && time(NULL) < end)
		usleep(10000);
	usleep(200000);
	cpu0 = thread_cpu_ms(e.thread);
	sleep(2);
	printf("served %d; idle engine: %.1f ms of CPU in 2000 ms, %llu "
	       "sleeps, %llu calls\n",
	       echo_served, thread_cpu_ms(e.thread) - cpu0,
	       (unsigned long long)e.st.sleeps, (unsigned long long)e.st.calls);
	if (thread_cpu_ms(e.thread) - cpu0 > 20)
		return fprintf(stderr, "engine_echo: the idle engine spins\n"),
		       1;
	vs__engine_close(&e);
	/* The engine has stopped: its counters can be read. */
	printf("rx %llu tx %llu waited-for-neighbour %llu timed-out %llu\n",
	       (unsigned long long)atomic_load(&e.nif.st.rx_frames),
	       (unsigned long long)atomic_load(&e.nif.st.tx_frames),
	       (unsigned long long)atomic_load(&e.nif.st.neigh_waited),
	       (unsigned long long)atomic_load(&e.nif.st.neigh_timeout));
	vs__port_close(port);
	return echo_served == atoi(argv[3]) ? 0 : 1;
}
