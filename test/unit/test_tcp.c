/* SPDX-License-Identifier: MIT */
/*
 * The NVMe/TCP transport without a real target: tcp:// URIs, and what
 * nvp_dev_open() says when the peer on the other end is not a target that
 * plays by the rules (nothing listening, a closed connection, silence, a
 * wrong PDU format version, a PDU before ICResp, a refused Connect). The
 * peer is a thread on a loopback socket that plays one scripted part.
 * The data path is tested against Linux's nvmet-tcp in the guest
 * (test/vm/guest-tcp.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
	opts.admin_timeout_ms = 300;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_uri_kind),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_nothing_listening),
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_discover_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
