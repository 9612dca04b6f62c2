/* SPDX-License-Identifier: MIT */
/*
 * kernel - the kernel as vstack's control plane, for one netdev: its
 * addresses, the routes through it and its neighbours, read over netlink
 * (libmnl) and kept current by a subscription to their changes.
 *
 * vstack never answers or sends ARP/ND: when a next hop has no usable
 * neighbour entry, it asks the kernel to resolve it (RTM_NEWNEIGH with
 * NTF_USE, as a kernel socket's first packet would) and the answer comes
 * back as a notification.
 *
 * Owns: two netlink sockets (one for requests, one subscribed to
 * RTNLGRP_NEIGH, IPv4/IPv6 routes and addresses) and the tables.
 * Must never: be used by two threads at once (one owner polls its fd and
 * calls vs__kernel_update), or block (the subscription is non-blocking).
 */
#ifndef VS_STACK_KERNEL_H
#define VS_STACK_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct vs_kernel;

struct vs_kernel *vs__kernel_open(const char *ifname, char *err, size_t errlen);
void vs__kernel_close(struct vs_kernel *k);

/* Readable when the kernel changed something: then call update. */
int vs__kernel_fd(const struct vs_kernel *k);
/* Applies pending notifications; returns how many, or -errno. */
int vs__kernel_update(struct vs_kernel *k);

/* True if addr (AF_INET or AF_INET6) is one of the netdev's addresses. */
int vs__kernel_is_local(const struct vs_kernel *k, const struct sockaddr *a);

/*
 * The next hop towards dst (the gateway of the most specific route
 * through the netdev, or dst itself on a directly connected subnet) and
 * its MAC. Returns 0; -ENETUNREACH if no route goes through the netdev;
 * -EAGAIN if the neighbour is not (yet) resolved, in which case the
 * kernel has been asked to resolve it and a notification will follow.
 * hop may be NULL.
 */
int vs__kernel_next_hop(struct vs_kernel *k, const struct sockaddr *dst,
			uint8_t mac[6], struct sockaddr_storage *hop);

#endif
