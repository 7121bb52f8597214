/* SPDX-License-Identifier: MIT */
/*
 * The NVMe/TCP transport without a real target: tcp:// URIs, and what
 * nvp_dev_open() says when the peer on the other end is not a target that
 * plays by the rules (nothing listening, a closed connection, silence, a
 * wrong PDU format version, a PDU before ICResp, a refused Connect). The
 * peer is a thread on a loopback socket that plays one scripted part.
 * A scripted target (enough of a controller for nvp_dev_open() and I/O,
 * one thread per connection) covers what nvmet-tcp will not do on demand:
 * go silent with the connection open (I/O deadlines) and ask for a
 * write's data in small H2CData PDUs (MAXH2CDATA 4 KiB, two R2Ts). The
 * data path is tested against Linux's nvmet-tcp in the guest
 * (test/vm/guest-tcp.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sched.h>
#include <stdint.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <nvpoll.h>

#include "be/be.h"
#include "tcp/pdu.h"
#include "tcp/tcp.h"

static void test_addr_parse(void **state)
{
	struct nvp_tcp_addr a;
	char long_nqn[300];

	(void)state;
	assert_int_equal(nvp_tcp_addr_parse("127.0.0.1/nqn.x:y", &a), 0);
	assert_string_equal(a.host, "127.0.0.1");
	assert_int_equal(a.port, 4420);
	assert_string_equal(a.subnqn, "nqn.x:y");
	assert_int_equal(nvp_tcp_addr_parse("target.example:4421/nqn.a", &a), 0);
	assert_string_equal(a.host, "target.example");
	assert_int_equal(a.port, 4421);
	assert_int_equal(nvp_tcp_addr_parse("[::1]:9/nqn.b", &a), 0);
	assert_string_equal(a.host, "::1");
	assert_int_equal(a.port, 9);
	assert_int_equal(nvp_tcp_addr_parse("[fe80::1]/n", &a), 0);
	assert_int_equal(a.port, 4420);

	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1/", "/nqn", ":4420/nqn", "h:0/nqn", "h:65536/nqn", "h:12x/nqn", "h:/nqn",
		"[::1/nqn", "[]/nqn", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (nvp_tcp_addr_parse(bad[i], &a) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(strstr(nvp_errmsg(), "tcp://HOST[:PORT]/SUBSYSTEM-NQN"));
	}
	memset(long_nqn, 'n', sizeof(long_nqn) - 1);
	long_nqn[sizeof(long_nqn) - 1] = '\0';
	memcpy(long_nqn, "h/", 2);
	long_nqn[2 + 223] = '\0';
	assert_int_equal(nvp_tcp_addr_parse(long_nqn, &a), 0); /* 223 bytes: the longest NQN */
	long_nqn[2 + 223] = 'n';
	long_nqn[2 + 224] = '\0';
	assert_int_equal(nvp_tcp_addr_parse(long_nqn, &a), -EINVAL);
}

static void test_uri_kind(void **state)
{
	struct nvp_uri u;

	(void)state;
	assert_int_equal(nvp_uri_parse("tcp://10.0.0.2:4420/nqn.2014-08.org.example:s1", &u), 0);
	assert_int_equal(u.kind, NVP_URI_TCP);
	assert_string_equal(u.addr, "10.0.0.2:4420/nqn.2014-08.org.example:s1");
	assert_int_equal(nvp_uri_parse("tcp://10.0.0.2", &u), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "not an NVMe/TCP URI"));
	assert_non_null(nvp_be_config_find("tcp"));
}

/* ---- A scripted peer ----------------------------------------------------------- */

enum part {
	CLOSE_AT_ONCE,		/* accept and close */
	SILENT,			/* accept, read, never answer */
	BAD_PFV,		/* ICResp with PFV 1 */
	RSP_FIRST,		/* a CapsuleResp before any ICResp */
	REFUSE_HOST,		/* a good ICResp, then Connect: Connect Invalid Host */
	REFUSE_NQN,		/* ... Connect Invalid Parameters, the subsystem NQN in the data */
};

struct peer {
	int lfd;
	unsigned port;
	enum part part;
	pthread_t thread;
	char hostnqn[256];	/* what Connect said */
	char subnqn[256];
	uint16_t qid, sqsize;
	uint32_t kato;
};

static int read_full(int fd, void *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = read(fd, (uint8_t *)buf + off, len - off);

		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	int fd = accept(p->lfd, NULL, NULL);
	struct nvme_tcp_icreq req;
	struct nvme_tcp_icresp ic = { .hdr = { .type = NVME_TCP_ICRESP, .hlen = 128, .plen = 128 },
				      .maxdata = 0x40000 };
	struct nvme_tcp_rsp rsp = { .hdr = { .type = NVME_TCP_RSP, .hlen = 24, .plen = 24 } };
	struct nvme_tcp_cmd cmd;
	struct nvme_fabrics_connect_data data;

	if (fd < 0)
		return NULL;
	if (p->part == CLOSE_AT_ONCE)
		goto out;
	if (read_full(fd, &req, sizeof(req)))
		goto out;
	switch (p->part) {
	case SILENT:
		sleep(1);
		goto out;
	case BAD_PFV:
		ic.pfv = 1;
		break;
	case RSP_FIRST:
		if (write(fd, &rsp, sizeof(rsp)) != sizeof(rsp))
			goto out;
		sleep(1);
		goto out;
	default:
		break;
	}
	ic.digest = req.digest;
	if (write(fd, &ic, sizeof(ic)) != sizeof(ic) || p->part == BAD_PFV)
		goto out;
	/* Connect: the capsule and its 1024 bytes of data in it. */
	if (read_full(fd, &cmd, sizeof(cmd)) || read_full(fd, &data, sizeof(data)))
		goto out;
	{
		const struct nvme_fabrics_connect *c = (const struct nvme_fabrics_connect *)&cmd.sqe;

		p->qid = c->qid;
		p->sqsize = c->sqsize;
		p->kato = c->kato;
		snprintf(p->hostnqn, sizeof(p->hostnqn), "%.223s", data.hostnqn);
		snprintf(p->subnqn, sizeof(p->subnqn), "%.223s", data.subnqn);
	}
	rsp.cqe.cid = cmd.sqe.cid;
	if (p->part == REFUSE_HOST) {
		rsp.cqe.status = (uint16_t)(NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_CONNECT_INVALID_HOST) << 1);
	} else {
		rsp.cqe.status = (uint16_t)(NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_CONNECT_INVALID_PARAM) << 1);
		rsp.cqe.dw0 = 1u << 16 | (uint32_t)offsetof(struct nvme_fabrics_connect_data, subnqn);
	}
	if (write(fd, &rsp, sizeof(rsp)) != sizeof(rsp))
		goto out;
	sleep(1); /* the host closes first */
out:
	close(fd);
	return NULL;
}

static void peer_start(struct peer *p, enum part part)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	memset(p, 0, sizeof(*p));
	p->part = part;
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p->lfd >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->lfd, 1), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&sa, &sl), 0);
	p->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static void peer_stop(struct peer *p)
{
	shutdown(p->lfd, SHUT_RDWR);
	pthread_join(p->thread, NULL);
	close(p->lfd);
}

/* Open tcp://127.0.0.1:PORT/nqn.test against @part: it must fail with @err and say @msg. */
static void expect_open_fails(enum part part, int err, const char *msg)
{
	struct nvp_opts opts;
	struct peer p;
	char uri[128];

	peer_start(&p, part);
	nvp_opts_init(&opts);
	/* Short only where the timeout is what is tested: the others end when the peer answers,
	   which a loaded host under valgrind can delay past 300 ms. */
	opts.admin_timeout_ms = part == SILENT ? 300 : 5000;
	opts.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:unit-test-host";
	opts.keep_alive_ms = 7000;
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u/nqn.test", p.port);
	assert_null(nvp_dev_open(uri, &opts));
	if (errno != -err)
		fail_msg("errno %d, not %d: %s", errno, -err, nvp_errmsg());
	if (!strstr(nvp_errmsg(), msg))
		fail_msg("'%s' does not say '%s'", nvp_errmsg(), msg);
	peer_stop(&p);
	if (part == REFUSE_HOST || part == REFUSE_NQN) {
		/* What Connect carried: the admin queue, its depth, the KATO, both NQNs. */
		assert_int_equal(p.qid, 0);
		assert_int_equal(p.sqsize, 31);
		assert_int_equal(p.kato, 7000);
		assert_string_equal(p.hostnqn, opts.hostnqn);
		assert_string_equal(p.subnqn, "nqn.test");
	}
}

static void test_refusals(void **state)
{
	(void)state;
	expect_open_fails(CLOSE_AT_ONCE, -ENOTCONN, "(queue 0) lost: "); /* closed, or reset: ICReq unread */
	expect_open_fails(SILENT, -ETIMEDOUT, "did not answer ICReq within 300 ms");
	expect_open_fails(BAD_PFV, -EPROTO, "PDU format version 1");
	expect_open_fails(RSP_FIRST, -ENOTCONN, "CapsuleResp before ICResp");
	expect_open_fails(REFUSE_HOST, -ECONNREFUSED, "Connect Invalid Host");
	expect_open_fails(REFUSE_NQN, -ECONNREFUSED, "no such subsystem NQN on this port");
}

static void test_nothing_listening(void **state)
{
	struct peer p;
	char uri[128];

	(void)state;
	peer_start(&p, CLOSE_AT_ONCE);
	peer_stop(&p); /* the port is free again, and nothing listens there */
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u/nqn.test", p.port);
	assert_null(nvp_dev_open(uri, NULL));
	assert_int_equal(errno, ECONNREFUSED);
	assert_non_null(strstr(nvp_errmsg(), "cannot connect to 127.0.0.1:"));
	assert_non_null(strstr(nvp_errmsg(), "Connection refused"));
}

/* The three NVMe/TCP options are refused by every other config, and a bad digest word is named. */
static void test_opts(void **state)
{
	struct nvp_opts opts;

	(void)state;
	nvp_opts_init(&opts);
	opts.tcp_digest = NVP_DIGEST_DATA;
	assert_null(nvp_dev_open("sim", &opts));
	assert_non_null(strstr(nvp_errmsg(), "are NVMe/TCP's"));
	opts.tcp_digest = 4;
	assert_null(nvp_dev_open("tcp://127.0.0.1:1/nqn.x", &opts));
	assert_non_null(strstr(nvp_errmsg(), "opts.tcp_digest 0x4"));
	setenv("NVP_TCP_DIGEST", "header,crc", 1);
	opts.tcp_digest = 0;
	assert_null(nvp_dev_open("tcp://127.0.0.1:1/nqn.x", &opts));
	assert_non_null(strstr(nvp_errmsg(), "NVP_TCP_DIGEST=header,crc"));
	unsetenv("NVP_TCP_DIGEST");
}

/* nvp_discover(): what it takes, and a target that is not there. */
static void test_discover_refusals(void **state)
{
	struct nvp_disc_entry *list = (struct nvp_disc_entry *)&list;
	struct peer p;
	char uri[128];

	(void)state;
	assert_int_equal(nvp_discover("sim", NULL, &list), -EINVAL);
	assert_null(list);
	assert_non_null(strstr(nvp_errmsg(), "use tcp://HOST[:PORT]"));
	assert_int_equal(nvp_discover("tcp://127.0.0.1", NULL, NULL), -EINVAL);
	peer_start(&p, CLOSE_AT_ONCE);
	peer_stop(&p);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u", p.port);
	assert_int_equal(nvp_discover(uri, NULL, &list), -ECONNREFUSED);
	/* The discovery NQN was added to the URI. */
	assert_non_null(strstr(nvp_errmsg(), "/nqn.2014-08.org.nvmexpress.discovery"));
	/* Connect carries the discovery NQN to the target. */
	peer_start(&p, REFUSE_HOST);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u", p.port);
	assert_int_equal(nvp_discover(uri, NULL, &list), -ECONNREFUSED);
	peer_stop(&p);
	assert_string_equal(p.subnqn, "nqn.2014-08.org.nvmexpress.discovery");
}

/* ---- A scripted target: enough of a controller for nvp_dev_open() and I/O ---------- */

/*
 * Admin: Connect, Property Get/Set (CAP, VS, CC, CSTS), Identify (controller,
 * active namespace list, namespace 1: 1024 blocks of 4 KiB), Get/Set
 * Features, Keep Alive. I/O on queue 1: reads from and writes into `disk`;
 * IOCCSZ 4, so every write asks for its data by R2T, split as `r2t_split`
 * says, and each H2CData PDU is written down. With `silent` set, I/O
 * commands are read and never answered (the connection stays open).
 */
#define T_BLOCKS 1024
#define T_LBA 4096
#define T_MAX_H2C 64

struct h2c_seen {
	uint32_t datao, datal;
	uint8_t flags, pdo;
	int hdgst_ok, ddgst_ok;
};

struct target {
	int lfd;
	unsigned port;
	pthread_t thread, conns[16];
	unsigned nr_conns;
	uint32_t maxh2c;
	uint32_t r2t_split;	/* a write's first R2T asks for this many bytes, the second for the rest; 0: one R2T */
	volatile int silent;
	volatile unsigned nr_silent;	/* I/O commands taken and left unanswered */
	volatile unsigned nr_connects;
	pthread_mutex_t lock;
	uint64_t cc;
	uint8_t *disk;
	struct h2c_seen h2c[T_MAX_H2C];
	unsigned nr_h2c;
	int hdgst, ddgst;	/* what the last ICReq asked for */
};

struct tconn {
	struct target *t;
	int fd, hd, dd;
	uint16_t qid;
};

static int t_send(struct tconn *c, const void *hdr, size_t hlen, const void *data, size_t dlen)
{
	uint8_t buf[256];
	uint32_t dg;

	memcpy(buf, hdr, hlen);
	if (c->hd) {
		dg = nvp_crc32c(hdr, hlen);
		memcpy(buf + hlen, &dg, 4);
		hlen += 4;
	}
	if (write(c->fd, buf, hlen) != (ssize_t)hlen)
		return -1;
	if (!dlen)
		return 0;
	if (write(c->fd, data, dlen) != (ssize_t)dlen)
		return -1;
	dg = nvp_crc32c(data, dlen);
	return c->dd && write(c->fd, &dg, 4) != 4 ? -1 : 0;
}

static int t_rsp(struct tconn *c, uint16_t cid, uint32_t dw0, uint32_t dw1)
{
	struct nvme_tcp_rsp r = { .hdr = { .type = NVME_TCP_RSP, .hlen = 24 } };

	r.hdr.flags = c->hd ? NVME_TCP_F_HDGST : 0;
	r.hdr.plen = 24 + (c->hd ? 4 : 0);
	r.cqe.cid = cid;
	r.cqe.dw0 = dw0;
	r.cqe.dw1 = dw1;
	r.cqe.sq_id = c->qid;
	return t_send(c, &r, sizeof(r), NULL, 0);
}

static int t_c2h(struct tconn *c, uint16_t cid, const void *data, uint32_t len)
{
	struct nvme_tcp_data d = { .hdr = { .type = NVME_TCP_C2H_DATA, .hlen = 24 }, .cccid = cid, .datal = len };

	d.hdr.flags = (uint8_t)(NVME_TCP_F_DATA_LAST | (c->hd ? NVME_TCP_F_HDGST : 0) | (c->dd ? NVME_TCP_F_DDGST : 0));
	d.hdr.pdo = (uint8_t)(24 + (c->hd ? 4 : 0));
	d.hdr.plen = d.hdr.pdo + len + (c->dd ? 4 : 0);
	return t_send(c, &d, sizeof(d), data, len);
}

/* One PDU from the host: its header (and digest) into @hdr, its data into @data. */
static int t_recv(struct tconn *c, uint8_t *hdr, uint8_t *data, size_t max, uint32_t *dlen, int *hd_ok, int *dd_ok)
{
	struct nvme_tcp_hdr *h = (struct nvme_tcp_hdr *)hdr;
	uint32_t dg, hl;

	if (read_full(c->fd, hdr, 8) || h->hlen < 8 || h->hlen > 128 || read_full(c->fd, hdr + 8, h->hlen - 8u))
		return -1;
	hl = h->hlen + (c->hd ? 4u : 0);
	*hd_ok = *dd_ok = 1;
	if (c->hd) {
		if (read_full(c->fd, &dg, 4))
			return -1;
		*hd_ok = dg == nvp_crc32c(hdr, h->hlen);
	}
	*dlen = h->plen > hl ? h->plen - hl - (c->dd ? 4u : 0) : 0;
	if (*dlen > max || (*dlen && h->pdo != hl) || read_full(c->fd, data, *dlen))
		return -1;
	if (*dlen && c->dd) {
		if (read_full(c->fd, &dg, 4))
			return -1;
		*dd_ok = dg == nvp_crc32c(data, *dlen);
	}
	return 0;
}

static void t_admin(struct tconn *c, const struct nvme_sqe *s)
{
	static uint8_t page[4096];
	struct target *t = c->t;
	uint32_t cns = s->cdw10 & 0xff;

	memset(page, 0, sizeof(page));
	switch (s->opc) {
	case NVME_ADMIN_IDENTIFY:
		if (cns == NVME_ID_CNS_CTRL) {
			struct nvme_id_ctrl *id = (struct nvme_id_ctrl *)page;

			id->mdts = 5; /* 128 KiB */
			id->nn = 1;
			id->ioccsz = 4; /* no in-capsule data: every write by R2T */
			memcpy(id->mn, "scripted target", 15);
		} else if (cns == NVME_ID_CNS_NS_ACTIVE_LIST) {
			((uint32_t *)page)[0] = 1;
		} else {
			struct nvme_id_ns *ns = (struct nvme_id_ns *)page;

			ns->nsze = ns->ncap = ns->nuse = T_BLOCKS;
			ns->lbaf[0].lbads = 12;
		}
		t_c2h(c, s->cid, page, sizeof(page));
		t_rsp(c, s->cid, 0, 0);
		return;
	case NVME_FABRICS_OPC: {
		const struct nvme_fabrics_prop_get *pg = (const void *)s;
		const struct nvme_fabrics_prop_set *ps = (const void *)s;
		uint64_t v = 0;

		if (pg->fctype == NVME_FCTYPE_PROPERTY_SET) {
			pthread_mutex_lock(&t->lock);
			if (ps->offset == NVME_REG_CC)
				t->cc = ps->value;
			pthread_mutex_unlock(&t->lock);
		} else if (pg->fctype == NVME_FCTYPE_PROPERTY_GET) {
			pthread_mutex_lock(&t->lock);
			if (pg->offset == NVME_REG_CAP)
				v = 127 | 1ull << 16 | 2ull << 24 | 1ull << 37; /* MQES 127, CQR, TO 1 s, NVM */
			else if (pg->offset == NVME_REG_VS)
				v = 0x10400;
			else if (pg->offset == NVME_REG_CC)
				v = t->cc;
			else if (pg->offset == NVME_REG_CSTS)
				v = (t->cc & 1) | ((t->cc >> 14 & 3) ? 2u << 2 : 0); /* RDY = EN; shutdown done at once */
			pthread_mutex_unlock(&t->lock);
		}
		t_rsp(c, s->cid, (uint32_t)v, (uint32_t)(v >> 32));
		return;
	}
	default: /* Get/Set Features (1 queue of each kind, KATO as asked), Keep Alive */
		t_rsp(c, s->cid, 0, 0);
	}
}

static void t_io(struct tconn *c, const struct nvme_sqe *s)
{
	struct target *t = c->t;
	uint64_t off = (s->cdw10 | (uint64_t)s->cdw11 << 32) * T_LBA;
	uint32_t len = ((s->cdw12 & 0xffff) + 1) * T_LBA;
	static uint8_t hdr[160];
	int hd_ok, dd_ok;

	if (t->silent) {
		t->nr_silent++;
		return;
	}
	if (off + len > (uint64_t)T_BLOCKS * T_LBA) {
		t_rsp(c, s->cid, 0, 0);
		return;
	}
	if (s->opc == NVME_CMD_READ) {
		t_c2h(c, s->cid, t->disk + off, len);
		t_rsp(c, s->cid, 0, 0);
		return;
	}
	/* A write: its data by R2T, one or two of them. */
	for (uint32_t r2to = 0; r2to < len;) {
		uint32_t r2tl = t->r2t_split && !r2to && t->r2t_split < len ? t->r2t_split : len - r2to;
		struct nvme_tcp_r2t r = { .hdr = { .type = NVME_TCP_R2T, .hlen = 24 }, .cccid = s->cid,
					  .ttag = (uint16_t)(0x40 + r2to / 4096), .r2to = r2to, .r2tl = r2tl };

		r.hdr.flags = c->hd ? NVME_TCP_F_HDGST : 0;
		r.hdr.plen = 24 + (c->hd ? 4 : 0);
		if (t_send(c, &r, sizeof(r), NULL, 0))
			return;
		for (uint32_t got = 0; got < r2tl;) {
			const struct nvme_tcp_data *d = (const void *)hdr;
			uint32_t dlen;

			if (t_recv(c, hdr, t->disk + off + r2to + got, len - r2to - got, &dlen, &hd_ok, &dd_ok))
				return;
			if (t->nr_h2c < T_MAX_H2C)
				t->h2c[t->nr_h2c++] = (struct h2c_seen){ .datao = d->datao, .datal = d->datal,
					.flags = d->hdr.flags, .pdo = d->hdr.pdo, .hdgst_ok = hd_ok, .ddgst_ok = dd_ok };
			if (d->hdr.type != NVME_TCP_H2C_DATA || d->cccid != s->cid || d->ttag != r.ttag ||
			    d->datao != r2to + got || !d->datal || d->datal != dlen)
				return; /* a wrong PDU: hang up */
			got += dlen;
		}
		r2to += r2tl;
	}
	t_rsp(c, s->cid, 0, 0);
}

static void *tconn_main(void *arg)
{
	struct tconn *c = arg;
	struct target *t = c->t;
	struct nvme_tcp_icreq req;
	struct nvme_tcp_icresp ic = { .hdr = { .type = NVME_TCP_ICRESP, .hlen = 128, .plen = 128 } };
	static __thread uint8_t hdr[160], data[8192];

	if (read_full(c->fd, &req, sizeof(req)))
		goto out;
	c->hd = !!(req.digest & NVME_TCP_HDGST_ENABLE);
	c->dd = !!(req.digest & NVME_TCP_DDGST_ENABLE);
	t->hdgst = c->hd;
	t->ddgst = c->dd;
	ic.digest = req.digest;
	ic.maxdata = t->maxh2c;
	if (write(c->fd, &ic, sizeof(ic)) != sizeof(ic))
		goto out;
	for (;;) {
		const struct nvme_tcp_cmd *cmd = (const void *)hdr;
		uint32_t dlen;
		int hd_ok, dd_ok;

		if (t_recv(c, hdr, data, sizeof(data), &dlen, &hd_ok, &dd_ok) || !hd_ok || !dd_ok ||
		    cmd->hdr.type != NVME_TCP_CMD)
			break;
		if (cmd->sqe.opc == NVME_FABRICS_OPC &&
		    ((const struct nvme_fabrics_connect *)&cmd->sqe)->fctype == NVME_FCTYPE_CONNECT) {
			c->qid = ((const struct nvme_fabrics_connect *)&cmd->sqe)->qid;
			t->nr_connects++;
			t_rsp(c, cmd->sqe.cid, 1, 0); /* cntlid 1 */
		} else if (c->qid == 0) {
			t_admin(c, &cmd->sqe);
		} else {
			t_io(c, &cmd->sqe);
		}
	}
out:
	close(c->fd);
	free(c);
	return NULL;
}

static void *target_main(void *arg)
{
	struct target *t = arg;

	for (;;) {
		int fd = accept(t->lfd, NULL, NULL);
		struct tconn *c;

		if (fd < 0)
			return NULL;
		c = calloc(1, sizeof(*c));
		c->t = t;
		c->fd = fd;
		if (t->nr_conns == sizeof(t->conns) / sizeof(t->conns[0]) || pthread_create(&t->conns[t->nr_conns], NULL, tconn_main, c)) {
			close(fd);
			free(c);
			continue;
		}
		t->nr_conns++;
	}
}

static void target_start(struct target *t, uint32_t maxh2c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	memset(t, 0, sizeof(*t));
	t->maxh2c = maxh2c;
	t->disk = calloc(T_BLOCKS, T_LBA);
	assert_non_null(t->disk);
	pthread_mutex_init(&t->lock, NULL);
	t->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(t->lfd >= 0);
	assert_int_equal(bind(t->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(t->lfd, 8), 0);
	assert_int_equal(getsockname(t->lfd, (struct sockaddr *)&sa, &sl), 0);
	t->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&t->thread, NULL, target_main, t), 0);
}

/* After the host closed every connection. */
static void target_stop(struct target *t)
{
	shutdown(t->lfd, SHUT_RDWR);
	pthread_join(t->thread, NULL);
	for (unsigned i = 0; i < t->nr_conns; i++)
		pthread_join(t->conns[i], NULL);
	close(t->lfd);
	pthread_mutex_destroy(&t->lock);
	free(t->disk);
}

static struct nvp_dev *target_open(struct target *t, unsigned digest)
{
	struct nvp_opts opts;
	char uri[128];
	struct nvp_dev *dev;

	nvp_opts_init(&opts);
	opts.admin_timeout_ms = 2000;
	opts.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:unit-test-host";
	opts.tcp_digest = digest;
	opts.nr_io_queues = 1;
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u/nqn.test", t->port);
	dev = nvp_dev_open(uri, &opts);
	if (!dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	return dev;
}

struct done {
	int n, err[8];
	char msg[8][512];
};

static void on_io(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct done *d = arg;

	(void)cqe;
	if (d->n < 8) {
		d->err[d->n] = err;
		snprintf(d->msg[d->n], sizeof(d->msg[0]), "%s", err ? nvp_errmsg() : "");
	}
	d->n++;
}

/* Poll until @d has @n completions, @limit_ms at most: the milliseconds it took. */
static unsigned wait_done(struct nvp_qpair *qp, struct done *d, int n, unsigned limit_ms)
{
	struct timespec t0, t1;
	unsigned ms = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (d->n < n && ms < limit_ms) {
		/* Yield when idle: under valgrind the target's thread runs only when this one lets it. */
		if (!nvp_qpair_poll(qp, 0))
			sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (unsigned)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	}
	return ms;
}

/*
 * A target that takes I/O commands and never answers them, the connection
 * left open: each command ends by its deadline (nvp_qpair_set_timeout()),
 * the first with -ETIMEDOUT naming the target, the two sent later with
 * -ENOTCONN since the timeout closed the connection; the next command ends
 * with -ENOTCONN too, and nvp_ctrl_reset() connects again.
 */
static void test_io_timeout(void **state)
{
	struct target t;
	struct nvp_dev *dev;
	struct nvp_qpair *qp;
	const struct nvp_ns *ns;
	struct nvp_qpair_stats st;
	struct done d = { 0 };
	uint8_t *buf;
	char name[64];
	unsigned ms;

	(void)state;
	target_start(&t, 0x40000);
	memset(t.disk, 0x5a, T_LBA);
	dev = target_open(&t, 0);
	ns = nvp_ns_get(dev, 1);
	qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 16 });
	buf = nvp_dma_alloc(dev, 3 * T_LBA);
	assert_non_null(ns);
	assert_non_null(qp);
	assert_non_null(buf);
	snprintf(name, sizeof(name), "127.0.0.1:%u nqn.test", t.port);

	assert_int_equal(nvp_read(qp, ns, 0, 1, buf, on_io, &d), 0);
	wait_done(qp, &d, 1, 2000);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.err[0], 0);
	assert_int_equal(buf[0], 0x5a);

	t.silent = 1;
	nvp_qpair_set_timeout(qp, 1000); /* long beside the polls below, even under valgrind */
	memset(&d, 0, sizeof(d));
	assert_int_equal(nvp_read(qp, ns, 0, 1, buf, on_io, &d), 0);
	/*
	 * Until the target has it and the periodic check (every 128 polls) has
	 * surely stamped its deadline, then 100 ms more: the next two get
	 * deadlines 100 ms after its own, however slow the polling (valgrind).
	 */
	for (unsigned i = 0; i < 1000 || !t.nr_silent; i++)
		nvp_qpair_poll(qp, 0);
	wait_done(qp, &d, 1, 100); /* nothing comes back */
	assert_int_equal(d.n, 0);
	assert_int_equal(nvp_read(qp, ns, 1, 1, buf + T_LBA, on_io, &d), 0);
	assert_int_equal(nvp_read(qp, ns, 2, 1, buf + 2 * T_LBA, on_io, &d), 0);
	ms = wait_done(qp, &d, 3, 8000);
	assert_int_equal(d.n, 3);
	if (ms > 4000)
		fail_msg("the commands ended after %u ms, with a timeout of 1000 ms", ms);
	assert_int_equal(t.nr_silent, 3);
	assert_int_equal(d.err[0], -ETIMEDOUT);
	if (!strstr(d.msg[0], name) || !strstr(d.msg[0], "within 1000 ms"))
		fail_msg("'%s' does not name %s and the timeout", d.msg[0], name);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(d.err[i], -ENOTCONN);
		if (!strstr(d.msg[i], name) || !strstr(d.msg[i], "lost:") || !strstr(d.msg[i], "within 1000 ms"))
			fail_msg("'%s' does not say the connection to %s was closed by a timeout", d.msg[i], name);
	}
	nvp_qpair_stats(qp, &st);
	assert_int_equal(st.timeouts, 1);

	/* Closed: the next command ends at once. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(nvp_read(qp, ns, 0, 1, buf, on_io, &d), 0);
	wait_done(qp, &d, 1, 100);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.err[0], -ENOTCONN);
	assert_int_equal(t.nr_silent, 3);

	/* A new association: the target answers again (a deadline a slow run, valgrind's, always meets). */
	t.silent = 0;
	nvp_qpair_set_timeout(qp, 30000);
	assert_int_equal(nvp_ctrl_reset(dev), 0);
	memset(&d, 0, sizeof(d));
	buf[0] = 0;
	assert_int_equal(nvp_read(qp, ns, 0, 1, buf, on_io, &d), 0);
	wait_done(qp, &d, 1, 2000);
	assert_int_equal(d.n, 1);
	if (d.err[0])
		fail_msg("read after reset: %s", d.msg[0]);
	assert_int_equal(buf[0], 0x5a);
	assert_int_equal(t.nr_connects, 4); /* admin and I/O queue, twice */

	nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
	nvp_dev_close(dev);
	target_stop(&t);
}

/*
 * MAXH2CDATA 4 KiB and a 64 KiB write answered by two R2Ts (10000 bytes,
 * then the rest): the host sends H2CData PDUs of at most 4 KiB, each at the
 * offset where the last one ended, LAST_PDU on the last of each R2T only,
 * the digests right; the target's copy, and the data read back, are the
 * caller's.
 */
static void r2t_split(unsigned digest)
{
	const uint32_t len = 16 * T_LBA, split = 10000;
	int hd = !!(digest & NVP_DIGEST_HEADER), dd = !!(digest & NVP_DIGEST_DATA);
	struct target t;
	struct nvp_dev *dev;
	struct nvp_qpair *qp;
	const struct nvp_ns *ns;
	struct done d = { 0 };
	uint8_t *buf;
	uint32_t off = 0;

	target_start(&t, 4096);
	t.r2t_split = split;
	dev = target_open(&t, digest);
	assert_int_equal(t.hdgst, hd);
	assert_int_equal(t.ddgst, dd);
	ns = nvp_ns_get(dev, 1);
	qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 16 });
	buf = nvp_dma_alloc(dev, len);
	assert_non_null(ns);
	assert_non_null(qp);
	assert_non_null(buf);
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + i / 4096);

	assert_int_equal(nvp_write(qp, ns, 8, 16, buf, on_io, &d), 0);
	wait_done(qp, &d, 1, 10000);
	assert_int_equal(d.n, 1);
	if (d.err[0])
		fail_msg("write: %s", d.msg[0]);
	/* 10000 = 4096 + 4096 + 1808; 55536 = 13 * 4096 + 2288. */
	assert_int_equal(t.nr_h2c, 3 + 14);
	for (unsigned i = 0; i < t.nr_h2c; i++) {
		const struct h2c_seen *h = &t.h2c[i];
		int last = i == 2 || i == t.nr_h2c - 1;
		uint32_t want = i == 2 ? split - 2 * 4096 : i == t.nr_h2c - 1 ? len - split - 13 * 4096 : 4096;

		if (h->datao != off || h->datal != want)
			fail_msg("H2CData %u: bytes %u+%u, not %u+%u", i, h->datao, h->datal, off, want);
		if (!!(h->flags & NVME_TCP_F_DATA_LAST) != last)
			fail_msg("H2CData %u: LAST_PDU %s", i, last ? "missing" : "set before the R2T's last");
		assert_int_equal(!!(h->flags & NVME_TCP_F_HDGST), hd);
		assert_int_equal(!!(h->flags & NVME_TCP_F_DDGST), dd);
		assert_int_equal(h->pdo, 24 + (hd ? 4 : 0));
		assert_true(h->hdgst_ok);
		assert_true(h->ddgst_ok);
		off += h->datal;
	}
	assert_memory_equal(t.disk + 8 * T_LBA, buf, len);

	memset(buf, 0, len);
	memset(&d, 0, sizeof(d));
	assert_int_equal(nvp_read(qp, ns, 8, 16, buf, on_io, &d), 0);
	wait_done(qp, &d, 1, 10000);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.err[0], 0);
	assert_memory_equal(t.disk + 8 * T_LBA, buf, len);

	nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
	nvp_dev_close(dev);
	target_stop(&t);
}

static void test_r2t_split(void **state)
{
	(void)state;
	r2t_split(0);
	r2t_split(NVP_DIGEST_HEADER | NVP_DIGEST_DATA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_uri_kind),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_nothing_listening),
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_discover_refusals),
		cmocka_unit_test(test_io_timeout),
		cmocka_unit_test(test_r2t_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
