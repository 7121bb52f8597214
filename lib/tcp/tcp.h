/* SPDX-License-Identifier: MIT */
/*
 * The NVMe/TCP host transport (config "tcp"): a controller behind a TCP
 * target such as Linux's nvmet-tcp, reached as tcp://HOST[:PORT]/SUBNQN.
 */
#ifndef NVP_TCP_TCP_H
#define NVP_TCP_TCP_H

#include <stddef.h>

#include "bus.h"

struct nvp_transport_ops;

extern const struct nvp_bus_ops nvp_tcp_bus_ops;
extern const struct nvp_transport_ops nvp_xport_tcp;

#define NVP_TCP_HOST_MAX 64

/* Where a tcp:// URI points: host (a name, IPv4, or IPv6 without its brackets), port, subsystem NQN. */
struct nvp_tcp_addr {
	char host[NVP_TCP_HOST_MAX];
	unsigned port;
	char subnqn[224];
};

/*
 * Parse what follows "tcp://": HOST[:PORT]/SUBNQN, HOST an IPv4 address,
 * a name or [IPv6], PORT 1..65535 (default 4420), SUBNQN 1..223 bytes.
 * 0 or -EINVAL with a message saying what such a URI looks like.
 */
int nvp_tcp_addr_parse(const char *addr, struct nvp_tcp_addr *out);

#endif /* NVP_TCP_TCP_H */
