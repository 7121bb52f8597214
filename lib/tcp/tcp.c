/* SPDX-License-Identifier: MIT */
/*
 * NVMe/TCP host transport (NVMe/TCP Transport spec 1.0, NVMe over Fabrics
 * 1.1): one TCP connection per queue, the admin queue first.
 *
 * Open: TCP connect, ICReq/ICResp (PFV 0, the digests asked for), Fabrics
 * Connect on queue 0 with the Keep Alive Timeout; then ctrl.c's controller
 * sequence runs unchanged over Property Get/Set (read CAP and VS, disable,
 * enable, and at close the shutdown); Identify, Keep Alive's accepted
 * timeout, Number of Queues, namespaces. Each I/O qpair gets its own
 * connection and Connect (qid, its depth) in qpair_init.
 *
 * I/O keeps the transport seam's shape (nvme/transport.h): commands land
 * in the qpair's SQ ring; each poll takes what was posted, rewrites the
 * data pointer as the one SGL descriptor NVMe/TCP wants (in-capsule data
 * for writes up to the target's IOCCSZ, else a Transport SGL Data Block),
 * queues every PDU of the batch and hands them to the kernel in one
 * sendmsg() (the doorbell's counterpart), the data straight from the
 * caller's buffer. Then it reads what arrived: C2HData lands straight in
 * the caller's read buffer (the parser says where, lib/tcp/pdu.h),
 * R2T queues H2CData PDUs of at most MAXH2CDATA bytes, CapsuleResp (or a
 * C2HData with SUCCESS) posts the completion to the CQ ring. Sockets are
 * non-blocking; no thread of our own.
 *
 * A connection that drops, or that sends a PDU the parser refuses, is
 * done: every command in flight on it completes with -ENOTCONN and a
 * message naming the target, and so does every command submitted after,
 * until nvp_ctrl_reset() makes a new association: the admin connection
 * again, the controller enabled again, and each qpair's connection again
 * at its next poll, with its commands resubmitted or failed by the reset
 * policy.
 *
 * An I/O command past its deadline (nvp_qpair_set_timeout()) gives up the
 * connection the same way, as nothing can take back one command on the
 * wire with its buffer safe to reuse: see tcp_expire().
 *
 * The admin queue is synchronous: one command at a time under the
 * transport's own lock, waited for with poll(2) within admin_timeout_ms.
 * Keep Alive goes from nvp_admin_poll() once half the accepted KATO has
 * passed since the last admin command: the application must call it
 * within KATO, or the target drops the controller.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"
#include "tcp/pdu.h"
#include "tcp/tcp.h"

#define TCP_ADMIN_DEPTH 32
#define TCP_DEFAULT_KATO_MS 10000
#define TCP_MAX_DEPTH 1024
#define TCP_STAGE_SIZE (64 * 1024)
#define TCP_DIRECT_MIN 2048	/* C2HData left to read: at least this much goes straight from recv() */
#define TCP_IOV_MAX 1024

/* ---- Addresses --------------------------------------------------------------- */

int nvp_tcp_addr_parse(const char *addr, struct nvp_tcp_addr *out)
{
	const char *p = addr, *host_end, *slash;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	out->port = NVME_TCP_PORT;
	if (*p == '[') {
		host_end = strchr(p, ']');
		if (!host_end)
			goto bad;
		p++;
		hlen = (size_t)(host_end - p);
		slash = host_end + 1;
	} else {
		hlen = strcspn(p, ":/");
		host_end = p + hlen;
		slash = host_end;
	}
	if (!hlen || hlen >= sizeof(out->host))
		goto bad;
	memcpy(out->host, p, hlen);
	if (*slash == ':') {
		char *end;
		unsigned long port = strtoul(slash + 1, &end, 10);

		if (end == slash + 1 || *end != '/' || port == 0 || port > 65535)
			goto bad;
		out->port = (unsigned)port;
		slash = end;
	}
	if (*slash != '/' || !slash[1] || strlen(slash + 1) > NVME_NQN_MAX)
		goto bad;
	snprintf(out->subnqn, sizeof(out->subnqn), "%s", slash + 1);
	return 0;
bad:
	return nvp_set_error(-EINVAL, "'tcp://%s' is not an NVMe/TCP URI: use tcp://HOST[:PORT]/SUBSYSTEM-NQN, "
			     "such as tcp://127.0.0.1/nqn.2014-08.org.example:sub1 (port 4420 by default, "
			     "[IPv6] in brackets, an NQN of at most %d bytes)", addr, NVME_NQN_MAX);
}

/* ---- One connection: a queue's PDUs both ways ------------------------------- */

struct tcp_cmd {
	uint8_t *buf;		/* its data: where C2HData goes, what H2CData sends */
	uint32_t len;
	uint8_t active;
	uint8_t write;		/* data from host to controller */
	uint8_t r2t;		/* an R2T waits for its H2CData */
	uint8_t done;		/* synchronous use: the completion arrived (cqe, err) */
	uint16_t ttag;
	uint32_t r2t_off, r2t_left;
	int err;
	struct nvme_cqe cqe;
};

/* One PDU to send: its header (with digest) here, its data where the caller keeps it, then its data digest. */
struct tx_pdu {
	uint8_t hdr[sizeof(struct nvme_tcp_cmd) + NVME_TCP_DIGEST_LEN];
	uint8_t hlen;
	uint8_t dglen;
	uint8_t ddgst[NVME_TCP_DIGEST_LEN];
	const uint8_t *data;
	uint32_t dlen;
};

struct tcp_conn {
	int fd;
	const char *target;	/* "127.0.0.1:4420 nqn...", for messages */
	uint16_t qid;
	unsigned epoch;		/* the controller association it belongs to (tcp_bus.epoch) */
	struct nvp_qpair *qp;	/* I/O: completions go to its CQ ring; NULL: synchronous use (admin, Connect) */
	struct nvp_tcp_rx rx;
	int hdgst, ddgst;
	uint32_t maxh2c;	/* MAXH2CDATA */
	uint32_t icd_max;	/* in-capsule data bytes a command may carry */
	struct tcp_cmd *cmds;
	unsigned nr_cmds, nr_active;
	unsigned nr_r2t;	/* commands with an R2T to answer */
	uint64_t nr_success;	/* commands completed by C2HData SUCCESS, no CapsuleResp: for the log */
	uint64_t nr_h2c;	/* H2CData PDUs sent */
	struct tx_pdu *tx;	/* a ring of PDUs to send, in order */
	unsigned tx_size, tx_head, tx_count;
	size_t tx_off;		/* bytes of the head PDU sent already */
	int dead;		/* -errno: the connection is gone, everything fails with -ENOTCONN */
	char why[256];		/* and why */
	uint8_t stage[TCP_STAGE_SIZE];
};

static void conn_complete(struct tcp_conn *c, uint16_t cid, int err, const struct nvme_cqe *cqe)
{
	struct tcp_cmd *cmd = &c->cmds[cid];

	cmd->active = 0;
	if (cmd->r2t)
		c->nr_r2t--;
	cmd->r2t = 0;
	c->nr_active--;
	if (!c->qp) {
		cmd->done = 1;
		cmd->err = err;
		if (cqe)
			cmd->cqe = *cqe;
		return;
	}
	if (err)
		nvp_xport_complete_err(c->qp, cid, err);
	else
		nvp_xport_post_cqe(c->qp, cid, (uint16_t)(cqe->status >> 1), cqe->dw0);
}

/* The connection is done for: every command on it ends with -ENOTCONN, now and from now on. */
static int conn_fail(struct tcp_conn *c, int err)
{
	if (!c->dead) {
		snprintf(c->why, sizeof(c->why), "%s", nvp_errmsg());
		c->dead = err ? err : -ENOTCONN;
		/* Commands fail with the message; log it too where no caller may be there to read it. */
		if (c->qp || c->nr_active)
			nvp_log(NVP_LOG_ERROR, "NVMe/TCP connection to %s (queue %u) lost: %s", c->target, c->qid,
				c->why);
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
		c->tx_count = 0;
	}
	for (unsigned cid = 0; cid < c->nr_cmds && c->nr_active; cid++)
		if (c->cmds[cid].active) {
			nvp_set_error(-ENOTCONN, "NVMe/TCP connection to %s (queue %u) lost: %s", c->target, c->qid,
				      c->why);
			conn_complete(c, (uint16_t)cid, -ENOTCONN, NULL);
		}
	return nvp_set_error(-ENOTCONN, "NVMe/TCP connection to %s (queue %u) lost: %s", c->target, c->qid, c->why);
}

static struct tx_pdu *tx_slot(struct tcp_conn *c)
{
	struct tx_pdu *t;

	if (c->tx_count == c->tx_size)
		return NULL;
	t = &c->tx[(c->tx_head + c->tx_count) % c->tx_size];
	c->tx_count++;
	t->data = NULL;
	t->dlen = 0;
	t->dglen = 0;
	return t;
}

static void tx_data(struct tcp_conn *c, struct tx_pdu *t, const uint8_t *data, uint32_t len)
{
	t->data = data;
	t->dlen = len;
	if (c->ddgst && len) {
		uint32_t dg = nvp_crc32c(data, len);

		memcpy(t->ddgst, &dg, sizeof(dg));
		t->dglen = NVME_TCP_DIGEST_LEN;
	}
}

/* Send what is queued, as much as the socket takes: one sendmsg() for the lot, more only on a short send. */
static int conn_flush(struct tcp_conn *c)
{
	while (c->tx_count && !c->dead) {
		struct iovec iov[TCP_IOV_MAX];
		unsigned n = 0;
		size_t skip = c->tx_off;
		ssize_t sent;

		for (unsigned i = 0; i < c->tx_count && n + 3 <= TCP_IOV_MAX; i++) {
			struct tx_pdu *t = &c->tx[(c->tx_head + i) % c->tx_size];
			struct { const void *p; size_t len; } part[3] = {
				{ t->hdr, t->hlen }, { t->data, t->dlen }, { t->ddgst, t->dglen },
			};

			for (int k = 0; k < 3; k++) {
				if (skip >= part[k].len) {
					skip -= part[k].len;
					continue;
				}
				iov[n].iov_base = (void *)((const uint8_t *)part[k].p + skip);
				iov[n++].iov_len = part[k].len - skip;
				skip = 0;
			}
		}
		sent = sendmsg(c->fd, &(struct msghdr){ .msg_iov = iov, .msg_iovlen = n }, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			nvp_set_error(-errno, "send: %s", strerror(errno));
			return conn_fail(c, -errno);
		}
		/* Retire the PDUs sent whole. */
		c->tx_off += (size_t)sent;
		while (c->tx_count) {
			struct tx_pdu *t = &c->tx[c->tx_head];
			size_t whole = (size_t)t->hlen + t->dlen + t->dglen;

			if (c->tx_off < whole)
				break;
			c->tx_off -= whole;
			c->tx_head = (c->tx_head + 1) % c->tx_size;
			c->tx_count--;
		}
	}
	return c->dead ? conn_fail(c, c->dead) : 0;
}

/* H2CData PDUs for the R2Ts waiting, at most MAXH2CDATA bytes each, as far as the send ring has room. */
static void conn_answer_r2ts(struct tcp_conn *c)
{
	for (unsigned cid = 0; cid < c->nr_cmds && c->nr_r2t; cid++) {
		struct tcp_cmd *cmd = &c->cmds[cid];

		while (cmd->r2t && cmd->r2t_left) {
			uint32_t n = cmd->r2t_left < c->maxh2c ? cmd->r2t_left : c->maxh2c;
			struct tx_pdu *t = tx_slot(c);

			if (!t)
				return;
			t->hlen = (uint8_t)nvp_tcp_h2c_init(t->hdr, (uint16_t)cid, cmd->ttag, cmd->r2t_off, n,
							     n == cmd->r2t_left, c->hdgst, c->ddgst);
			tx_data(c, t, cmd->buf + cmd->r2t_off, n);
			c->nr_h2c++;
			cmd->r2t_off += n;
			cmd->r2t_left -= n;
		}
		if (cmd->r2t) {
			cmd->r2t = 0;
			c->nr_r2t--;
		}
	}
}

static struct tcp_cmd *rx_cmd(struct tcp_conn *c, const char *what, unsigned cid)
{
	if (cid >= c->nr_cmds || !c->cmds[cid].active) {
		nvp_set_error(-EPROTO, "NVMe/TCP: %s for command %u, which is not in flight", what, cid);
		return NULL;
	}
	return &c->cmds[cid];
}

static int rx_data_dst(void *ctx, const struct nvme_tcp_data *d, uint8_t **dst)
{
	struct tcp_conn *c = ctx;
	struct tcp_cmd *cmd = rx_cmd(c, "C2HData", d->cccid);

	if (!cmd)
		return -EPROTO;
	if (cmd->write || (uint64_t)d->datao + d->datal > cmd->len)
		return nvp_set_error(-EPROTO, "NVMe/TCP: C2HData for command %u: bytes %u..%llu of a %s of %u bytes",
				     d->cccid, d->datao, (unsigned long long)d->datao + d->datal,
				     cmd->write ? "write" : "transfer", cmd->len);
	*dst = cmd->buf + d->datao;
	return 0;
}

static int rx_pdu(void *ctx, const union nvp_tcp_pdu *p)
{
	struct tcp_conn *c = ctx;
	struct tcp_cmd *cmd;

	switch (p->hdr.type) {
	case NVME_TCP_RSP:
		if (!rx_cmd(c, "CapsuleResp", p->rsp.cqe.cid))
			return -EPROTO;
		conn_complete(c, p->rsp.cqe.cid, 0, &p->rsp.cqe);
		return 0;
	case NVME_TCP_C2H_DATA:
		if (p->hdr.flags & NVME_TCP_F_DATA_SUCCESS) {
			struct nvme_cqe cqe = { .cid = p->data.cccid, .sq_id = c->qid };

			c->nr_success++;
			conn_complete(c, p->data.cccid, 0, &cqe);
		}
		return 0;
	case NVME_TCP_R2T:
		cmd = rx_cmd(c, "R2T", p->r2t.cccid);
		if (!cmd)
			return -EPROTO;
		if (!cmd->write || cmd->r2t || (uint64_t)p->r2t.r2to + p->r2t.r2tl > cmd->len)
			return nvp_set_error(-EPROTO, "NVMe/TCP: R2T for command %u asks for bytes %u..%llu of a %s "
					     "of %u bytes%s", p->r2t.cccid, p->r2t.r2to,
					     (unsigned long long)p->r2t.r2to + p->r2t.r2tl, cmd->write ? "write" : "read",
					     cmd->len, cmd->r2t ? " while the last R2T is unanswered" : "");
		cmd->r2t = 1;
		c->nr_r2t++;
		cmd->ttag = p->r2t.ttag;
		cmd->r2t_off = p->r2t.r2to;
		cmd->r2t_left = p->r2t.r2tl;
		return 0;
	default: /* ICResp: read by conn_open(); C2HTermReq: the parser words it */
		return 0;
	}
}

static const struct nvp_tcp_rx_ops rx_ops = { .data_dst = rx_data_dst, .pdu = rx_pdu };

/* Read what has arrived, until the socket has no more. */
static int conn_recv(struct tcp_conn *c)
{
	while (!c->dead) {
		uint8_t *where;
		size_t want = nvp_tcp_rx_want(&c->rx, &where);
		int direct = c->rx.state == NVP_TCP_RX_DATA && want >= TCP_DIRECT_MIN;
		ssize_t n;
		int err;

		if (!want)
			return conn_fail(c, c->rx.err);
		/* The bulk of read data straight into the caller's buffer; headers through the stage. */
		n = direct ? recv(c->fd, where, want, MSG_DONTWAIT) : recv(c->fd, c->stage, sizeof(c->stage), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			nvp_set_error(-errno, "receive: %s", strerror(errno));
			return conn_fail(c, -errno);
		}
		if (n == 0) {
			nvp_set_error(-ECONNRESET, "the target closed the connection");
			return conn_fail(c, -ECONNRESET);
		}
		err = direct ? nvp_tcp_rx_advance(&c->rx, (size_t)n) : nvp_tcp_rx_feed(&c->rx, c->stage, (size_t)n);
		if (err)
			return conn_fail(c, err);
	}
	return c->dead ? conn_fail(c, c->dead) : 0;
}

/* Send, answer R2Ts, receive, and send what the R2Ts asked for. */
static int conn_pump(struct tcp_conn *c)
{
	int err = conn_flush(c);

	if (!err)
		err = conn_recv(c);
	if (!err) {
		conn_answer_r2ts(c);
		err = conn_flush(c);
	}
	return err;
}

/*
 * Start @sqe (its cid names the slot) with @len bytes at @buf: the data
 * pointer becomes the SGL descriptor NVMe/TCP wants. -EAGAIN when the
 * send ring is full (try at the next poll).
 */
static int conn_submit(struct tcp_conn *c, const struct nvme_sqe *sqe, void *buf, uint32_t len, int write)
{
	struct tcp_cmd *cmd = &c->cmds[sqe->cid];
	struct nvme_sqe s = *sqe;
	uint32_t icd = write && len <= c->icd_max ? len : 0;
	struct tx_pdu *t;

	if (c->dead)
		return -ENOTCONN;
	if (sqe->cid >= c->nr_cmds || cmd->active)
		return nvp_set_error(-EINVAL, "NVMe/TCP: command id %u is out of range or in flight", sqe->cid);
	t = tx_slot(c);
	if (!t)
		return -EAGAIN;
	s.flags = (uint8_t)((s.flags & ~NVME_SQE_PSDT) | NVME_PSDT_SGL << NVME_SQE_PSDT_SHIFT);
	memset(&s.sgl, 0, sizeof(s.sgl));
	s.sgl.length = len;
	s.sgl.type = icd ? NVME_SGL_DATA_BLOCK_OFFSET : NVME_SGL_TRANSPORT_DATA_BLOCK;
	t->hlen = (uint8_t)nvp_tcp_cmd_init(t->hdr, &s, icd, c->hdgst, c->ddgst);
	if (icd)
		tx_data(c, t, buf, icd);
	memset(cmd, 0, sizeof(*cmd));
	cmd->buf = buf;
	cmd->len = len;
	cmd->write = (uint8_t)write;
	cmd->active = 1;
	c->nr_active++;
	return 0;
}

/* Data moves host to controller? From the opcode's low bits (spec 4.1), Fabrics' by its type. */
static int sqe_writes(const struct nvme_sqe *sqe)
{
	if (sqe->opc == NVME_FABRICS_OPC)
		return ((const struct nvme_fabrics_connect *)sqe)->fctype == NVME_FCTYPE_CONNECT;
	return (sqe->opc & 3) == 1;
}

/* Wait on the socket for what @c needs next, at most until @deadline_ns. 0, -ETIMEDOUT or -errno. */
static int conn_wait(struct tcp_conn *c, uint64_t deadline_ns)
{
	uint64_t now = nvp_now_ns();
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN | (c->tx_count ? POLLOUT : 0) };
	int ms;

	if (now >= deadline_ns)
		return -ETIMEDOUT;
	ms = (int)((deadline_ns - now) / 1000000) + 1;
	if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
		return nvp_set_error(-errno, "poll: %s", strerror(errno));
	return 0;
}

/* One command on a synchronous connection, waited for: 0, -EIO with *@cqe, or -errno with a message. */
static int conn_sync(struct tcp_conn *c, struct nvme_sqe *sqe, void *buf, uint32_t len, unsigned timeout_ms,
		     struct nvme_cqe *cqe)
{
	uint64_t deadline = nvp_now_ns() + (uint64_t)timeout_ms * 1000000;
	struct tcp_cmd *cmd = &c->cmds[sqe->cid];
	int err = conn_submit(c, sqe, buf, len, sqe_writes(sqe));

	if (err == -ENOTCONN)
		return nvp_set_error(-ENOTCONN, "NVMe/TCP connection to %s (queue %u) lost: %s", c->target, c->qid,
				     c->why);
	if (err)
		return err == -EAGAIN ? nvp_set_error(-EBUSY, "NVMe/TCP: the admin send ring is full") : err;
	while (!cmd->done) {
		err = conn_pump(c);
		if (err || cmd->done)
			break;
		err = conn_wait(c, deadline);
		if (err == -ETIMEDOUT) {
			/* Nothing cancels a command on the wire: the connection is given up. */
			nvp_set_error(-ETIMEDOUT, "no answer within %u ms", timeout_ms);
			conn_fail(c, -ETIMEDOUT);
			return nvp_set_error(-ETIMEDOUT, "NVMe/TCP: %s (queue %u) did not answer opcode %#x within %u ms",
					     c->target, c->qid, sqe->opc, timeout_ms);
		}
		if (err)
			return err;
	}
	if (!cmd->done)
		return err;
	if (cmd->err)
		return cmd->err; /* the message is conn_fail()'s */
	if (cqe)
		*cqe = cmd->cqe;
	return nvp_cqe_status(&cmd->cqe) ? -EIO : 0;
}

static void conn_free(struct tcp_conn *c)
{
	if (!c)
		return;
	nvp_log(NVP_LOG_DEBUG, "NVMe/TCP %s queue %u closed: %llu completed by C2HData SUCCESS, %llu H2CData PDUs sent",
		c->target, c->qid, (unsigned long long)c->nr_success, (unsigned long long)c->nr_h2c);
	if (c->fd >= 0)
		close(c->fd);
	free(c->cmds);
	free(c->tx);
	free(c);
}

/* TCP connect within @timeout_ms: the socket, non-blocking, with Nagle off. */
static int tcp_dial(const struct nvp_tcp_addr *a, const char *target, unsigned timeout_ms, int *out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	char port[8];
	int rc, err = -ECONNREFUSED, fd = -1;

	snprintf(port, sizeof(port), "%u", a->port);
	rc = getaddrinfo(a->host, port, &hints, &res);
	if (rc)
		return nvp_set_error(-EHOSTUNREACH, "NVMe/TCP: cannot resolve '%s': %s", a->host, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		int one = 1, soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
			err = -errno;
		} else {
			pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
			rc = poll(&pfd, 1, (int)timeout_ms);
			if (rc == 0)
				err = -ETIMEDOUT;
			else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
				err = -errno;
			else if (soerr)
				err = -soerr;
			else
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return nvp_set_error(err, "NVMe/TCP: cannot connect to %s: %s%s", target, strerror(-err),
				     err == -ECONNREFUSED ? " (is nvmet-tcp listening on that port?)" : "");
	*out = fd;
	return 0;
}

/* A connection with @depth command slots, through ICReq/ICResp. */
static int conn_open(const struct nvp_tcp_addr *a, const char *target, uint16_t qid, unsigned depth, int hdgst,
		     int ddgst, unsigned timeout_ms, struct tcp_conn **out)
{
	uint64_t deadline = nvp_now_ns() + (uint64_t)timeout_ms * 1000000;
	struct tcp_conn *c = calloc(1, sizeof(*c));
	struct nvme_tcp_icreq icreq;
	const struct nvme_tcp_icresp *ic;
	int err;

	if (!c)
		return nvp_set_error(-ENOMEM, "out of memory");
	c->fd = -1;
	c->target = target;
	c->qid = qid;
	c->nr_cmds = depth;
	c->cmds = calloc(depth, sizeof(*c->cmds));
	/* Per command: its capsule and the H2CData PDUs of one R2T; more wait for room. */
	c->tx_size = 2 * depth + 8;
	c->tx = calloc(c->tx_size, sizeof(*c->tx));
	if (!c->cmds || !c->tx) {
		conn_free(c);
		return nvp_set_error(-ENOMEM, "out of memory for a queue of %u", depth);
	}
	err = tcp_dial(a, target, timeout_ms, &c->fd);
	if (err)
		goto fail;
	nvp_tcp_rx_init(&c->rx, &rx_ops, c);

	nvp_tcp_icreq_init(&icreq, hdgst, ddgst);
	for (size_t off = 0; off < sizeof(icreq);) {
		ssize_t n = send(c->fd, (const uint8_t *)&icreq + off, sizeof(icreq) - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			err = nvp_set_error(-errno, "NVMe/TCP: ICReq to %s: %s", target, strerror(errno));
			goto fail;
		}
		if (n > 0)
			off += (size_t)n;
		else if ((err = conn_wait(c, deadline)))
			goto timeout;
	}
	while (!c->rx.ic_done) {
		err = conn_recv(c);
		if (c->rx.ic_done)
			break; /* judged first, even if the target hung up right after */
		if (err)
			goto fail_msg;
		if (!c->rx.ic_done && (err = conn_wait(c, deadline)))
			goto timeout;
	}
	ic = &c->rx.pdu.icresp;
	if (ic->pfv != 0) {
		err = nvp_set_error(-EPROTO, "NVMe/TCP: %s answers with PDU format version %u; nvpoll speaks 0",
				    target, ic->pfv);
		goto fail;
	}
	if ((ic->digest & NVME_TCP_HDGST_ENABLE) != (hdgst ? NVME_TCP_HDGST_ENABLE : 0) ||
	    (ic->digest & NVME_TCP_DDGST_ENABLE) != (ddgst ? NVME_TCP_DDGST_ENABLE : 0)) {
		err = nvp_set_error(-EPROTO, "NVMe/TCP: %s turned header digests %s and data digests %s; we asked "
				    "for %s and %s", target, ic->digest & NVME_TCP_HDGST_ENABLE ? "on" : "off",
				    ic->digest & NVME_TCP_DDGST_ENABLE ? "on" : "off", hdgst ? "on" : "off",
				    ddgst ? "on" : "off");
		goto fail;
	}
	if (ic->maxdata < 4096) {
		err = nvp_set_error(-EPROTO, "NVMe/TCP: %s allows %u bytes per H2CData PDU; the spec's least is 4096",
				    target, ic->maxdata);
		goto fail;
	}
	c->hdgst = hdgst;
	c->ddgst = ddgst;
	c->maxh2c = ic->maxdata;
	nvp_tcp_rx_set_params(&c->rx, hdgst, ddgst, ic->cpda);
	*out = c;
	return 0;
timeout:
	if (err == -ETIMEDOUT)
		err = nvp_set_error(-ETIMEDOUT, "NVMe/TCP: %s did not answer ICReq within %u ms", target, timeout_ms);
	goto fail;
fail_msg:
	err = nvp_prefix_error(err, "NVMe/TCP: initializing the connection to %s", target);
fail:
	conn_free(c);
	return err;
}

/* ---- The bus: a target, its host identity, its admin connection --------------- */

struct tcp_bus {
	struct nvp_bus bus;	/* first: the bus pointer is the tcp_bus pointer */
	struct nvp_tcp_addr addr;
	char target[NVP_TCP_HOST_MAX + 240];
	char hostnqn[NVME_NQN_MAX + 1];
	uint8_t hostid[16];
	int hdgst, ddgst;
	unsigned kato_ms;	/* asked for, then what the target accepted */
	unsigned timeout_ms;
	uint16_t cntlid;
	int discovery;		/* a discovery controller: no I/O queues, no namespaces */
	pthread_mutex_t lock;	/* the admin connection: one command at a time */
	struct tcp_conn *admin;
	uint16_t admin_cid;
	uint64_t last_admin_ns;	/* the last command the target saw from us, for Keep Alive */
	unsigned epoch;		/* atomic: bumped by a reset once the new association is up; qpairs follow */
};

static struct tcp_bus *tcp_bus(const struct nvp_dev *dev)
{
	return (struct tcp_bus *)dev->bus;
}

/* A stable 128-bit id from @s (FNV-1a, twice, salted), as a UUID's bytes. */
static void id_from(const char *s, uint8_t id[16])
{
	for (int half = 0; half < 2; half++) {
		uint64_t h = 14695981039346656037ull ^ (uint64_t)half;

		for (const char *p = s; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ull;
		memcpy(id + 8 * half, &h, 8);
	}
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* version 4 layout, variant 1 */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return 0;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\r\n")] = '\0';
	return ok && buf[0];
}

/* opts.hostnqn, else /etc/nvme/hostnqn, else one made from /etc/machine-id (or the host name): stable. */
static int host_identity(const struct nvp_opts *opts, struct tcp_bus *tb)
{
	char line[256], seed[256];

	if (opts && opts->hostnqn && *opts->hostnqn) {
		if (strlen(opts->hostnqn) > NVME_NQN_MAX)
			return nvp_set_error(-EINVAL, "opts.hostnqn is %zu bytes long: an NQN has at most %d",
					     strlen(opts->hostnqn), NVME_NQN_MAX);
		snprintf(tb->hostnqn, sizeof(tb->hostnqn), "%.223s", opts->hostnqn);
	} else if (read_line("/etc/nvme/hostnqn", line, sizeof(line)) && strlen(line) <= NVME_NQN_MAX) {
		snprintf(tb->hostnqn, sizeof(tb->hostnqn), "%.223s", line);
	} else {
		uint8_t u[16];

		if (!read_line("/etc/machine-id", seed, sizeof(seed)) && gethostname(seed, sizeof(seed)))
			snprintf(seed, sizeof(seed), "nvpoll");
		seed[sizeof(seed) - 1] = '\0';
		id_from(seed, u);
		snprintf(tb->hostnqn, sizeof(tb->hostnqn),
			 "nqn.2014-08.org.nvmexpress:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			 "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
			 u[10], u[11], u[12], u[13], u[14], u[15]);
	}
	id_from(tb->hostnqn, tb->hostid);
	return 0;
}

/* opts.tcp_digest, else $NVP_TCP_DIGEST ("header", "data", "header,data", "none"). */
static int digests(const struct nvp_opts *opts, struct tcp_bus *tb)
{
	unsigned d = opts ? opts->tcp_digest : 0;
	const char *env = getenv("NVP_TCP_DIGEST");

	if (!d && env && *env) {
		char buf[64], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", env);
		for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
			if (!strcmp(w, "header"))
				d |= NVP_DIGEST_HEADER;
			else if (!strcmp(w, "data"))
				d |= NVP_DIGEST_DATA;
			else if (strcmp(w, "none"))
				return nvp_set_error(-EINVAL, "NVP_TCP_DIGEST=%s: use header, data, header,data or none",
						     env);
		}
	}
	if (d & ~(unsigned)(NVP_DIGEST_HEADER | NVP_DIGEST_DATA))
		return nvp_set_error(-EINVAL, "opts.tcp_digest %#x: use NVP_DIGEST_HEADER and NVP_DIGEST_DATA", d);
	tb->hdgst = !!(d & NVP_DIGEST_HEADER);
	tb->ddgst = !!(d & NVP_DIGEST_DATA);
	return 0;
}

static int tcp_open(const char *addr, const struct nvp_opts *opts, struct nvp_bus **out)
{
	struct tcp_bus *tb = calloc(1, sizeof(*tb));
	int err;

	if (!tb)
		return nvp_set_error(-ENOMEM, "out of memory");
	err = nvp_tcp_addr_parse(addr, &tb->addr);
	if (!err)
		err = digests(opts, tb);
	if (!err)
		err = host_identity(opts, tb);
	if (err) {
		free(tb);
		return err;
	}
	tb->discovery = !strcmp(tb->addr.subnqn, NVME_DISC_SUBSYS_NQN);
	tb->kato_ms = opts && opts->keep_alive_ms ? opts->keep_alive_ms : TCP_DEFAULT_KATO_MS;
	tb->timeout_ms = opts && opts->admin_timeout_ms ? opts->admin_timeout_ms : NVP_DEFAULT_ADMIN_TIMEOUT_MS;
	snprintf(tb->target, sizeof(tb->target), "%s%s%s:%u %s", strchr(tb->addr.host, ':') ? "[" : "",
		 tb->addr.host, strchr(tb->addr.host, ':') ? "]" : "", tb->addr.port, tb->addr.subnqn);
	pthread_mutex_init(&tb->lock, NULL);
	tb->bus.ops = &nvp_tcp_bus_ops;
	tb->bus.numa_node = -1;
	snprintf(tb->bus.name, sizeof(tb->bus.name), "tcp://%.50s", tb->target);
	*out = &tb->bus;
	return 0;
}

static void tcp_close(struct nvp_bus *bus)
{
	struct tcp_bus *tb = (struct tcp_bus *)bus;

	conn_free(tb->admin);
	pthread_mutex_destroy(&tb->lock);
	free(tb);
}

const struct nvp_bus_ops nvp_tcp_bus_ops = {
	.name = "tcp",
	.default_mem = "libc",
	.open = tcp_open,
	.close = tcp_close,
	.dma_map = nvp_xport_dma_map,
	.dma_unmap = nvp_xport_dma_unmap,
};

/* ---- Fabrics commands ------------------------------------------------------- */

/* Connect's refusal, in words: what the status means for Connect (its codes are Connect's own). */
static const char *connect_status(uint16_t status, uint32_t dw0, char *buf, size_t len)
{
	unsigned sct = NVME_GET(status, STATUS_SCT), sc = NVME_GET(status, STATUS_SC);
	const char *what = NULL;

	if (sct == NVME_SCT_CMD_SPECIFIC) {
		switch (sc) {
		case NVME_SC_CONNECT_FORMAT: what = "incompatible format"; break;
		case NVME_SC_CONNECT_CTRL_BUSY: what = "controller busy"; break;
		case NVME_SC_CONNECT_INVALID_PARAM:
			/* dw0: IATTR bit 16 (1: in the Connect data, 0: in the command), IPO the byte offset. */
			snprintf(buf, len, "Connect Invalid Parameters (the %s at byte %u: %s)",
				 dw0 >> 16 & 1 ? "data" : "command", dw0 & 0xffff,
				 (dw0 >> 16 & 1) && (dw0 & 0xffff) == offsetof(struct nvme_fabrics_connect_data, subnqn) ?
				 "no such subsystem NQN on this port" : "check the NQNs and queue size");
			return buf;
		case NVME_SC_CONNECT_RESTART_DISC: what = "restart discovery"; break;
		case NVME_SC_CONNECT_INVALID_HOST:
			what = "Connect Invalid Host: this host NQN is not allowed on the subsystem "
			       "(add it to allowed_hosts, or set attr_allow_any_host)";
			break;
		case NVME_SC_AUTH_REQUIRED: what = "authentication required (not supported by nvpoll)"; break;
		}
	}
	if (what) {
		snprintf(buf, len, "%s", what);
		return buf;
	}
	return nvp_status_format(status, buf, len);
}

/* Fabrics Connect for queue @qid of @sqsize + 1 entries, on connection @c (synchronous use). */
static int fabrics_connect(struct tcp_bus *tb, struct tcp_conn *c, uint16_t qid, unsigned depth, uint32_t kato)
{
	struct nvme_fabrics_connect_data data;
	struct nvme_fabrics_connect cmd = {
		.opc = NVME_FABRICS_OPC, .fctype = NVME_FCTYPE_CONNECT, .cid = 0,
		.qid = qid, .sqsize = (uint16_t)(depth - 1), .kato = kato,
		/* I/O queues: no SQ head in responses, so a read may end with C2HData SUCCESS alone. */
		.cattr = qid ? NVME_CONNECT_DISABLE_SQFLOW : 0,
	};
	struct nvme_cqe cqe = { 0 };
	char why[256];
	int err;

	memset(&data, 0, sizeof(data));
	memcpy(data.hostid, tb->hostid, sizeof(data.hostid));
	data.cntlid = qid ? tb->cntlid : 0xffff;
	snprintf(data.subnqn, sizeof(data.subnqn), "%s", tb->addr.subnqn);
	snprintf(data.hostnqn, sizeof(data.hostnqn), "%s", tb->hostnqn);
	c->icd_max = sizeof(data); /* until Identify says more: Connect's own data goes in the capsule */
	err = conn_sync(c, (struct nvme_sqe *)&cmd, &data, sizeof(data), tb->timeout_ms, &cqe);
	if (err == -EIO)
		return nvp_set_error(-ECONNREFUSED, "NVMe/TCP: %s refused Connect for queue %u as host %s: %s",
				     tb->target, qid, tb->hostnqn,
				     connect_status(nvp_cqe_status(&cqe), cqe.dw0, why, sizeof(why)));
	if (err)
		return nvp_prefix_error(err, "NVMe/TCP: Connect for queue %u", qid);
	if (!qid)
		tb->cntlid = (uint16_t)cqe.dw0;
	return 0;
}

/* One admin command on the admin connection, with the lock held. */
static int admin_locked(struct tcp_bus *tb, const struct nvme_sqe *cmd, void *buf, size_t len, struct nvme_cqe *cqe)
{
	struct nvme_sqe s = *cmd;
	int err;

	if (!tb->admin)
		return nvp_set_error(-ENOTCONN, "NVMe/TCP: no admin connection to %s", tb->target);
	s.cid = tb->admin_cid;
	tb->admin_cid = (uint16_t)((tb->admin_cid + 1) % TCP_ADMIN_DEPTH);
	err = conn_sync(tb->admin, &s, buf, (uint32_t)len, tb->timeout_ms, cqe);
	tb->last_admin_ns = nvp_now_ns();
	return err;
}

static int tcp_admin(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len, struct nvme_cqe *cqe)
{
	struct tcp_bus *tb = tcp_bus(dev);
	int err;

	pthread_mutex_lock(&tb->lock);
	err = admin_locked(tb, cmd, buf, len, cqe);
	pthread_mutex_unlock(&tb->lock);
	return err;
}

static int tcp_prop_get(struct nvp_dev *dev, unsigned off, unsigned size, uint64_t *val)
{
	struct nvme_fabrics_prop_get cmd = {
		.opc = NVME_FABRICS_OPC, .fctype = NVME_FCTYPE_PROPERTY_GET,
		.attrib = size == 8 ? NVME_PROP_SIZE_8 : NVME_PROP_SIZE_4, .offset = off,
	};
	struct nvme_cqe cqe = { 0 };
	char why[96];
	int err = tcp_admin(dev, (const struct nvme_sqe *)&cmd, NULL, 0, &cqe);

	if (err == -EIO)
		return nvp_set_error(-EIO, "NVMe/TCP: Property Get of offset %#x: %s", off,
				     nvp_status_format(nvp_cqe_status(&cqe), why, sizeof(why)));
	if (err)
		return err;
	*val = size == 8 ? cqe.dw0 | (uint64_t)cqe.dw1 << 32 : cqe.dw0;
	return 0;
}

static int tcp_prop_set(struct nvp_dev *dev, unsigned off, unsigned size, uint64_t val)
{
	struct nvme_fabrics_prop_set cmd = {
		.opc = NVME_FABRICS_OPC, .fctype = NVME_FCTYPE_PROPERTY_SET,
		.attrib = size == 8 ? NVME_PROP_SIZE_8 : NVME_PROP_SIZE_4, .offset = off, .value = val,
	};
	struct nvme_cqe cqe = { 0 };
	char why[96];
	int err = tcp_admin(dev, (const struct nvme_sqe *)&cmd, NULL, 0, &cqe);

	if (err == -EIO)
		return nvp_set_error(-EIO, "NVMe/TCP: Property Set of offset %#x: %s", off,
				     nvp_status_format(nvp_cqe_status(&cqe), why, sizeof(why)));
	return err;
}

/* Keep Alive once half the accepted KATO passed without an admin command. */
static int tcp_admin_poll(struct nvp_dev *dev)
{
	struct tcp_bus *tb = tcp_bus(dev);
	struct nvme_sqe ka = { .opc = NVME_ADMIN_KEEP_ALIVE };
	int err = 0;

	if (!tb->kato_ms || pthread_mutex_trylock(&tb->lock))
		return 0;
	if (nvp_now_ns() - tb->last_admin_ns >= (uint64_t)tb->kato_ms * 500000)
		err = admin_locked(tb, &ka, NULL, 0, NULL);
	pthread_mutex_unlock(&tb->lock);
	return err ? nvp_prefix_error(err, "Keep Alive") : 0;
}

/* ---- The controller sequence ------------------------------------------------ */

static int step_connect(struct nvp_dev *dev)
{
	struct tcp_bus *tb = tcp_bus(dev);
	int err = conn_open(&tb->addr, tb->target, 0, TCP_ADMIN_DEPTH, tb->hdgst, tb->ddgst, tb->timeout_ms,
			    &tb->admin);

	if (err)
		return err;
	err = fabrics_connect(tb, tb->admin, 0, TCP_ADMIN_DEPTH, tb->kato_ms);
	tb->admin->icd_max = 8192; /* the admin queue's in-capsule data (NVMe/TCP: 8 KiB) */
	tb->last_admin_ns = nvp_now_ns();
	return err;
}

static int step_read_cap(struct nvp_dev *dev)
{
	uint64_t cap, vs;
	int err = tcp_prop_get(dev, NVME_REG_CAP, 8, &cap);

	if (!err)
		err = nvp_ctrl_parse_cap(dev, cap);
	if (!err)
		err = tcp_prop_get(dev, NVME_REG_VS, 4, &vs);
	if (err)
		return err;
	dev->vs = (uint32_t)vs;
	return 0;
}

static int step_identify(struct nvp_dev *dev)
{
	struct tcp_bus *tb = tcp_bus(dev);
	int err = nvp_identify(dev, NVME_ID_CNS_CTRL, 0, &dev->id_ctrl);
	const struct nvme_id_ctrl *id = &dev->id_ctrl;

	if (err)
		return nvp_prefix_error(err, "Identify Controller");
	dev->max_xfer = nvp_ctrl_max_xfer(id->mdts, dev->cap);
	if (id->ioccsz && id->ioccsz < sizeof(struct nvme_sqe) / 16)
		return nvp_set_error(-EPROTO, "NVMe/TCP: %s reports IOCCSZ %u, less than a command", tb->target,
				     id->ioccsz);
	if (id->msdbd > 1 || id->icdoff)
		nvp_log(NVP_LOG_DEBUG, "%s: MSDBD %u, ICDOFF %u", dev->bus->name, id->msdbd, id->icdoff);
	if (id->icdoff)
		return nvp_set_error(-ENOTSUP, "NVMe/TCP: %s wants in-capsule data at offset %u; nvpoll puts it at 0",
				     tb->target, id->icdoff * 16u);
	return 0;
}

/* The KATO the target accepted (Get Features, Keep Alive Timer); the one asked for if it does not say. */
static int step_keep_alive(struct nvp_dev *dev)
{
	struct tcp_bus *tb = tcp_bus(dev);
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_GET_FEATURES, .cdw10 = NVME_FEAT_KEEP_ALIVE };
	struct nvme_cqe cqe = { 0 };

	if (tb->kato_ms && !nvp_admin_sync(dev, &cmd, NULL, 0, &cqe) && cqe.dw0)
		tb->kato_ms = cqe.dw0;
	nvp_log(NVP_LOG_DEBUG, "%s: Keep Alive Timeout %u ms", dev->bus->name, tb->kato_ms);
	return 0;
}

static int step_queues(struct nvp_dev *dev)
{
	unsigned wanted = dev->opts.nr_io_queues;
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES };
	struct nvme_cqe cqe = { 0 };
	unsigned got;
	int err;

	if (tcp_bus(dev)->discovery) { /* it has only its admin queue and the discovery log */
		dev->nr_io_queues = 0;
		dev->io_qpairs = calloc(1, sizeof(*dev->io_qpairs));
		return dev->io_qpairs ? 0 : nvp_set_error(-ENOMEM, "out of memory");
	}
	if (wanted > 65535)
		wanted = 65535;
	cmd.cdw11 = (wanted - 1) | (wanted - 1) << 16;
	err = nvp_admin_sync(dev, &cmd, NULL, 0, &cqe);
	if (err)
		return nvp_prefix_error(err, "Set Features (Number of Queues)");
	got = (cqe.dw0 & 0xffff) + 1;
	if ((cqe.dw0 >> 16) + 1 < got)
		got = (cqe.dw0 >> 16) + 1;
	dev->nr_io_queues = got < wanted ? got : wanted;
	if (dev->max_queue_depth > TCP_MAX_DEPTH)
		dev->max_queue_depth = TCP_MAX_DEPTH;
	dev->io_qpairs = calloc(dev->nr_io_queues + 1, sizeof(*dev->io_qpairs));
	return dev->io_qpairs ? 0 : nvp_set_error(-ENOMEM, "out of memory for %u qpairs", dev->nr_io_queues);
}

/*
 * A reset is a new association: the admin connection is dropped (the
 * target then deletes the old controller and its I/O queues) and made
 * again, and the controller enabled anew. The qpairs follow on their own
 * threads at their next poll (tcp_qpair_follow()).
 */
static int step_reconnect(struct nvp_dev *dev)
{
	struct tcp_bus *tb = tcp_bus(dev);
	int err;

	pthread_mutex_lock(&tb->lock);
	conn_free(tb->admin);
	tb->admin = NULL;
	err = step_connect(dev);
	pthread_mutex_unlock(&tb->lock);
	return err;
}

static int step_queues_reset(struct nvp_dev *dev)
{
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES };

	cmd.cdw11 = (dev->nr_io_queues - 1) | (dev->nr_io_queues - 1) << 16;
	if (dev->nr_io_queues && !tcp_bus(dev)->discovery && nvp_admin_sync_locked(dev, &cmd, NULL, 0, NULL))
		nvp_log(NVP_LOG_WARN, "%s: reset: %s", dev->bus->name, nvp_errmsg());
	return 0;
}

static int step_follow(struct nvp_dev *dev)
{
	nvp_add_fetch_acq_rel(&tcp_bus(dev)->epoch, 1); /* qpairs load it with acquire, then reconnect */
	return 0;
}

static int step_namespaces(struct nvp_dev *dev)
{
	return tcp_bus(dev)->discovery ? 0 : nvp_ns_scan(dev);
}

static void tcp_shutdown(struct nvp_dev *dev)
{
	struct tcp_bus *tb = tcp_bus(dev);

	if (tb->admin && !tb->admin->dead && nvp_ctrl_shutdown(dev))
		nvp_log(NVP_LOG_WARN, "%s: %s", dev->bus->name, nvp_errmsg());
}

static const struct nvp_ctrl_step tcp_steps[] = {
	{ "connect admin queue",	.open = step_connect,		.reset = step_reconnect },
	{ "read CAP and VS",		.open = step_read_cap },
	{ "disable",			.open = nvp_ctrl_disable,	.reset = nvp_ctrl_disable },
	{ "enable",			.open = nvp_ctrl_enable,	.reset = nvp_ctrl_enable },
	{ "identify",			.open = step_identify },
	{ "keep alive timeout",		.open = step_keep_alive },
	{ "number of queues",		.open = step_queues,		.reset = step_queues_reset },
	{ "namespaces",			.open = step_namespaces },
	{ "I/O queues follow",		.reset = step_follow },
};

static const struct nvp_ctrl_ops tcp_ctrl = {
	.name = "tcp",
	.steps = tcp_steps,
	.nr_steps = NVP_ARRAY_SIZE(tcp_steps),
	.reset_from = 0,
};

/* ---- I/O qpairs ------------------------------------------------------------- */

/* A connection for I/O qpair @qp on the association of @epoch, through Connect. */
static int qpair_conn(struct nvp_qpair *qp, unsigned epoch, struct tcp_conn **out)
{
	struct tcp_bus *tb = tcp_bus(qp->dev);
	const struct nvme_id_ctrl *id = &qp->dev->id_ctrl;
	struct tcp_conn *c;
	int err;

	err = conn_open(&tb->addr, tb->target, qp->qid, qp->size, tb->hdgst, tb->ddgst, tb->timeout_ms, &c);
	if (err)
		return err;
	err = fabrics_connect(tb, c, qp->qid, qp->size, 0);
	if (err) {
		conn_free(c);
		return err;
	}
	c->icd_max = id->ioccsz > 4 ? id->ioccsz * 16 - (uint32_t)sizeof(struct nvme_sqe) : 0;
	c->qp = qp;
	c->epoch = epoch;
	*out = c;
	return 0;
}

static int tcp_qpair_init(struct nvp_qpair *qp)
{
	struct tcp_conn *c;
	int err = qpair_conn(qp, nvp_load_acquire(&tcp_bus(qp->dev)->epoch), &c);

	if (!err)
		qp->xport_priv = c;
	return err;
}

/*
 * The controller was reset (a new association): connect again, and move
 * the commands in flight as the reset policy says, as PCIe's recovery does
 * (qpair.c): under NVP_RESET_RESUBMIT those that may run twice are sent
 * again on the new connection, every other one completes with -EIO. When
 * the new connection cannot be made, they all end with -ENOTCONN.
 */
static void tcp_qpair_follow(struct nvp_qpair *qp, unsigned epoch)
{
	struct tcp_conn *old = qp->xport_priv, *c;
	struct nvp_dev *dev = qp->dev;
	uint16_t *fail;
	unsigned nfail = 0;
	int err = qpair_conn(qp, epoch, &c);

	qp->stats.recoveries++;
	if (err) {
		nvp_log(NVP_LOG_ERROR, "%s qid %u: reconnecting after reset: %s", dev->bus->name, qp->qid,
			nvp_errmsg());
		old->epoch = epoch;
		conn_fail(old, -ENOTCONN);
		return;
	}
	fail = calloc(old->nr_cmds, sizeof(*fail));
	for (uint16_t cid = 0; cid < old->nr_cmds; cid++) {
		struct tcp_cmd *cmd = &old->cmds[cid];
		struct nvp_req *req = &qp->reqs[cid];

		if (!cmd->active)
			continue;
		if (dev->opts.reset_policy == NVP_RESET_RESUBMIT && nvp_sqe_resubmittable(&req->sqe) &&
		    !conn_submit(c, &req->sqe, cmd->buf, cmd->len, cmd->write)) {
			req->busy = NVP_REQ_POSTED; /* a fresh deadline from the next check */
			qp->stats.resubmitted++;
		} else if (fail) {
			fail[nfail++] = cid;
		}
	}
	qp->xport_priv = c;
	conn_free(old);
	/* Complete last: a callback may submit into the slots freed here. */
	for (unsigned i = 0; i < nfail; i++) {
		nvp_set_error(-EIO, "NVMe/TCP: the controller was reset with this command in flight");
		nvp_xport_complete_err(qp, fail[i], -EIO);
	}
	free(fail);
}

static void tcp_qpair_fini(struct nvp_qpair *qp)
{
	conn_free(qp->xport_priv);
	qp->xport_priv = NULL;
}

/*
 * I/O deadlines, as PCIe keeps them (include/nvpoll/qpair.h): submission
 * stores none; this check, at most once a millisecond, stamps the slots
 * posted since the last one with now + the qpair's timeout (as
 * nvp_qpair_set_timeout() does before a change) and looks for commands in
 * flight past theirs. NVMe/TCP cannot
 * take one command back from the target with its buffer safe (a late
 * C2HData would still land in it), so a command past its deadline gives
 * up the connection: it ends with -ETIMEDOUT, every other one in flight
 * with -ENOTCONN (conn_fail() shuts the socket: nothing more is read into
 * any buffer), and nvp_ctrl_reset() makes a new association.
 */
static void tcp_expire(struct nvp_qpair *qp, struct tcp_conn *c, uint64_t now)
{
	uint64_t ms = qp->timeout_ticks / nvp_ticks_per_ms();
	unsigned nr_late = 0;
	uint16_t first = 0;
	char why[200];

	qp->next_check = now + nvp_ticks_per_ms();
	for (uint16_t cid = 0; cid < qp->size - 1; cid++) {
		struct nvp_req *req = &qp->reqs[cid];

		if (req->busy == NVP_REQ_POSTED) {
			req->deadline = now + qp->timeout_ticks; /* submission stores none (include/nvpoll/qpair.h) */
			req->busy = NVP_REQ_STAMPED;
		} else if (req->busy && req->deadline <= now && cid < c->nr_cmds && c->cmds[cid].active) {
			req->flags |= NVP_REQ_TIMED_OUT;
			if (!nr_late++)
				first = cid;
		}
	}
	if (!nr_late)
		return;
	qp->stats.timeouts += nr_late;
	snprintf(why, sizeof(why), "%u command%s (cid %u, opcode %#x first) not completed within %llu ms; the "
		 "connection is closed so that no late data lands in their buffers", nr_late, nr_late > 1 ? "s" : "",
		 first, qp->reqs[first].sqe.opc, (unsigned long long)ms);
	for (uint16_t cid = 0; cid < qp->size - 1 && nr_late; cid++) {
		if (!(qp->reqs[cid].busy && (qp->reqs[cid].flags & NVP_REQ_TIMED_OUT)))
			continue;
		nr_late--;
		nvp_set_error(-ETIMEDOUT, "NVMe/TCP: %s (queue %u) did not complete cid %u (opcode %#x) within %llu ms",
			      c->target, c->qid, cid, qp->reqs[cid].sqe.opc, (unsigned long long)ms);
		conn_complete(c, cid, -ETIMEDOUT, NULL);
	}
	nvp_set_error(-ETIMEDOUT, "%s", why);
	conn_fail(c, -ETIMEDOUT); /* logs why; the others end with -ENOTCONN and it */
}

static void tcp_poll(struct nvp_qpair *qp)
{
	struct tcp_conn *c = qp->xport_priv;
	const struct nvme_sqe *sqe;
	unsigned epoch = nvp_load_acquire(&tcp_bus(qp->dev)->epoch); /* the reset's new association is up */

	if (epoch != c->epoch) {
		tcp_qpair_follow(qp, epoch);
		c = qp->xport_priv;
	}
	for (;;) {
		size_t len;
		void *buf;
		uint16_t head = qp->xport_sq_head;
		int err;

		sqe = nvp_xport_next_sqe(qp);
		if (!sqe)
			break;
		buf = nvp_xport_data(qp, sqe, &len);
		err = conn_submit(c, sqe, buf, (uint32_t)len, sqe_writes(sqe));
		if (err == -EAGAIN) {
			qp->xport_sq_head = head; /* the send ring is full: this one at the next poll */
			break;
		}
		if (err) {
			nvp_set_error(-ENOTCONN, "NVMe/TCP connection to %s (queue %u) lost: %s", c->target, c->qid,
				      c->why);
			nvp_xport_complete_err(qp, sqe->cid, err == -ENOTCONN ? -ENOTCONN : err);
		}
	}
	if (!c->dead)
		conn_pump(c);
	if (c->nr_active && !c->dead && (qp->stats.polls & 127) == 0) {
		uint64_t now = nvp__ticks();

		if (now >= qp->next_check)
			tcp_expire(qp, c, now);
	}
}

const struct nvp_transport_ops nvp_xport_tcp = {
	.name = "tcp",
	.ctrl = &tcp_ctrl,
	.admin = tcp_admin,
	.qpair_init = tcp_qpair_init,
	.qpair_fini = tcp_qpair_fini,
	.poll = tcp_poll,
	.prop_get = tcp_prop_get,
	.prop_set = tcp_prop_set,
	.admin_poll = tcp_admin_poll,
	.shutdown = tcp_shutdown,
};
