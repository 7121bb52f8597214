/* SPDX-License-Identifier: MIT */
/*
 * NVMe/TCP PDUs (lib/tcp/pdu.c): CRC32C against the standard check value,
 * the host's builders, and the receive parser on well-formed streams (cut
 * into every size of piece) and on each kind of malformed PDU, which it
 * must refuse with a message and without writing outside what it owns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <nvpoll.h>

#include "tcp/pdu.h"

/* ---- CRC32C ---------------------------------------------------------------- */

static void test_crc32c_check_value(void **state)
{
	(void)state;
	assert_int_equal(nvp_crc32c("123456789", 9), 0xe3069283u);
	assert_int_equal(~nvp_crc32c_update_table(NVP_CRC32C_INIT, "123456789", 9), 0xe3069283u);
	/* RFC 3720 B.4: 32 bytes of zeroes, of ones. */
	{
		uint8_t z[32] = { 0 }, o[32];

		memset(o, 0xff, sizeof(o));
		assert_int_equal(nvp_crc32c(z, sizeof(z)), 0x8a9136aau);
		assert_int_equal(nvp_crc32c(o, sizeof(o)), 0x62a8ab43u);
	}
}

/* The hardware path, the table path and piecewise updates agree on every length and alignment. */
static void test_crc32c_paths_agree(void **state)
{
	uint8_t buf[1100];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len += 37) {
			uint32_t whole = nvp_crc32c_update(NVP_CRC32C_INIT, buf + off, len);
			uint32_t split = nvp_crc32c_update(NVP_CRC32C_INIT, buf + off, len / 3);

			split = nvp_crc32c_update(split, buf + off + len / 3, len - len / 3);
			assert_int_equal(whole, nvp_crc32c_update_table(NVP_CRC32C_INIT, buf + off, len));
			assert_int_equal(whole, split);
		}
	print_message("crc32c: %s\n", nvp_crc32c_hw() ? "SSE4.2 and table" : "table only");
}

/* ---- Builders -------------------------------------------------------------- */

static void test_build_cmd(void **state)
{
	uint8_t out[sizeof(struct nvme_tcp_cmd) + NVME_TCP_DIGEST_LEN];
	struct nvme_sqe sqe = { .opc = 0x01, .cid = 7, .nsid = 1 };
	const struct nvme_tcp_cmd *c = (const struct nvme_tcp_cmd *)out;
	uint32_t dg;
	size_t n;

	(void)state;
	n = nvp_tcp_cmd_init(out, &sqe, 0, 0, 0);
	assert_int_equal(n, 72);
	assert_int_equal(c->hdr.type, NVME_TCP_CMD);
	assert_int_equal(c->hdr.hlen, 72);
	assert_int_equal(c->hdr.pdo, 0);
	assert_int_equal(c->hdr.plen, 72);
	assert_int_equal(c->sqe.cid, 7);

	n = nvp_tcp_cmd_init(out, &sqe, 4096, 1, 1);
	assert_int_equal(n, 76);
	assert_int_equal(c->hdr.flags, NVME_TCP_F_HDGST | NVME_TCP_F_DDGST);
	assert_int_equal(c->hdr.pdo, 76);
	assert_int_equal(c->hdr.plen, 76 + 4096 + 4);
	memcpy(&dg, out + 72, 4);
	assert_int_equal(dg, nvp_crc32c(out, 72));

	n = nvp_tcp_h2c_init(out, 3, 9, 8192, 512, 1, 0, 1);
	assert_int_equal(n, 24);
	assert_int_equal(out[0], NVME_TCP_H2C_DATA);
	assert_int_equal(out[1], NVME_TCP_F_DATA_LAST | NVME_TCP_F_DDGST);
	assert_int_equal(((const struct nvme_tcp_data *)out)->hdr.pdo, 24);
	assert_int_equal(((const struct nvme_tcp_data *)out)->hdr.plen, 24 + 512 + 4);
	assert_int_equal(((const struct nvme_tcp_data *)out)->ttag, 9);
	assert_int_equal(((const struct nvme_tcp_data *)out)->datao, 8192);
}

/* ---- The parser: a fake owner --------------------------------------------- */

struct owner {
	uint8_t buf[4][8192];	/* command cid's read buffer */
	uint32_t len[4];
	unsigned types[64];	/* the PDUs seen, in order */
	unsigned n;
	struct nvme_tcp_r2t r2t;
	struct nvme_cqe cqe;
	int refuse;		/* data_dst says no */
};

static int own_dst(void *ctx, const struct nvme_tcp_data *d, uint8_t **dst)
{
	struct owner *o = ctx;

	if (o->refuse || d->cccid >= 4 || (uint64_t)d->datao + d->datal > o->len[d->cccid])
		return -ERANGE;
	*dst = o->buf[d->cccid] + d->datao;
	return 0;
}

static int own_pdu(void *ctx, const union nvp_tcp_pdu *p)
{
	struct owner *o = ctx;

	if (o->n < 64)
		o->types[o->n++] = p->hdr.type;
	if (p->hdr.type == NVME_TCP_R2T)
		o->r2t = p->r2t;
	if (p->hdr.type == NVME_TCP_RSP)
		o->cqe = p->rsp.cqe;
	return 0;
}

static const struct nvp_tcp_rx_ops own_ops = { .data_dst = own_dst, .pdu = own_pdu };

/* ---- What a controller sends, built here independently of pdu.c's builders ---- */

struct stream {
	uint8_t b[65536];
	size_t n;
};

static void put(struct stream *s, const void *p, size_t n)
{
	assert_true(s->n + n <= sizeof(s->b));
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void put_crc(struct stream *s, const void *p, size_t n)
{
	uint32_t c = nvp_crc32c(p, n);

	put(s, &c, 4);
}

static void put_icresp(struct stream *s)
{
	struct nvme_tcp_icresp r = { .hdr = { .type = NVME_TCP_ICRESP, .hlen = 128, .plen = 128 },
				     .maxdata = 131072 };

	put(s, &r, sizeof(r));
}

static void put_rsp(struct stream *s, uint16_t cid, uint16_t status, int hd)
{
	struct nvme_tcp_rsp r = { .hdr = { .type = NVME_TCP_RSP, .hlen = 24, .plen = 24u + (hd ? 4 : 0),
					   .flags = hd ? NVME_TCP_F_HDGST : 0 },
				  .cqe = { .cid = cid, .status = (uint16_t)(status << 1) } };

	put(s, &r, sizeof(r));
	if (hd)
		put_crc(s, &r, sizeof(r));
}

static void put_c2h(struct stream *s, uint16_t cid, uint32_t datao, const uint8_t *data, uint32_t datal,
		    unsigned flags, int hd, int dd, unsigned pad)
{
	uint8_t zero[64] = { 0 };
	struct nvme_tcp_data d = {
		.hdr = { .type = NVME_TCP_C2H_DATA, .hlen = 24,
			 .flags = (uint8_t)(flags | (hd ? NVME_TCP_F_HDGST : 0) | (dd ? NVME_TCP_F_DDGST : 0)),
			 .pdo = (uint8_t)(24 + (hd ? 4 : 0) + pad) },
		.cccid = cid, .datao = datao, .datal = datal,
	};

	d.hdr.plen = d.hdr.pdo + datal + (dd ? 4 : 0);
	put(s, &d, sizeof(d));
	if (hd)
		put_crc(s, &d, sizeof(d));
	put(s, zero, pad);
	put(s, data, datal);
	if (dd)
		put_crc(s, data, datal);
}

static void put_r2t(struct stream *s, uint16_t cid, uint16_t ttag, uint32_t off, uint32_t len, int hd)
{
	struct nvme_tcp_r2t r = { .hdr = { .type = NVME_TCP_R2T, .hlen = 24, .plen = 24u + (hd ? 4 : 0),
					   .flags = hd ? NVME_TCP_F_HDGST : 0 },
				  .cccid = cid, .ttag = ttag, .r2to = off, .r2tl = len };

	put(s, &r, sizeof(r));
	if (hd)
		put_crc(s, &r, sizeof(r));
}

static void rx_ready(struct nvp_tcp_rx *rx, struct owner *o, int hd, int dd, unsigned cpda)
{
	struct stream s = { .n = 0 };

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < 4; i++)
		o->len[i] = 4096u << (i & 1);
	nvp_tcp_rx_init(rx, &own_ops, o);
	put_icresp(&s);
	assert_int_equal(nvp_tcp_rx_feed(rx, s.b, s.n), 0);
	nvp_tcp_rx_set_params(rx, hd, dd, cpda);
	o->n = 0;
}

/* A session's worth of PDUs, as digests and padding vary, fed in pieces of every size 1..97 and whole. */
static void test_rx_well_formed(void **state)
{
	uint8_t data[8192];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ i >> 8);
	for (int mode = 0; mode < 4; mode++) {
		int hd = mode & 1, dd = mode >> 1;
		struct stream s = { .n = 0 };

		put_c2h(&s, 1, 0, data, 3000, 0, hd, dd, 0);
		put_c2h(&s, 1, 3000, data + 3000, 5192, NVME_TCP_F_DATA_LAST, hd, dd, 0);
		put_rsp(&s, 1, 0, hd);
		put_r2t(&s, 2, 5, 4096, 4096, hd);
		put_c2h(&s, 0, 0, data, 4096, NVME_TCP_F_DATA_LAST | NVME_TCP_F_DATA_SUCCESS, hd, dd, 0);
		put_rsp(&s, 3, 0x0281, hd);

		for (size_t piece = 1; piece <= 98; piece++) {
			struct nvp_tcp_rx rx;
			struct owner o;
			size_t size = piece == 98 ? s.n : piece;

			rx_ready(&rx, &o, hd, dd, 0);
			for (size_t off = 0; off < s.n; off += size)
				assert_int_equal(nvp_tcp_rx_feed(&rx, s.b + off, off + size > s.n ? s.n - off : size), 0);
			assert_int_equal(rx.state, NVP_TCP_RX_CH);
			assert_int_equal(o.n, 6);
			assert_int_equal(o.types[0], NVME_TCP_C2H_DATA);
			assert_int_equal(o.types[2], NVME_TCP_RSP);
			assert_int_equal(o.types[3], NVME_TCP_R2T);
			assert_memory_equal(o.buf[1], data, 8192);
			assert_memory_equal(o.buf[0], data, 4096);
			assert_int_equal(o.r2t.cccid, 2);
			assert_int_equal(o.r2t.ttag, 5);
			assert_int_equal(o.r2t.r2tl, 4096);
			assert_int_equal(o.cqe.cid, 3);
			assert_int_equal(o.cqe.status >> 1, 0x0281);
		}
	}
}

/* Padding up to an aligned data offset (CPDA), and the want/advance path recv() uses. */
static void test_rx_padding_and_want(void **state)
{
	uint8_t data[4096], *where;
	struct stream s = { .n = 0 };
	struct nvp_tcp_rx rx;
	struct owner o;
	size_t off = 0;

	(void)state;
	memset(data, 0xa5, sizeof(data));
	rx_ready(&rx, &o, 1, 1, 7); /* 32-byte alignment: pdo 32 after 28 header bytes */
	put_c2h(&s, 0, 0, data, 4096, NVME_TCP_F_DATA_LAST, 1, 1, 4);
	while (off < s.n) {
		size_t n = nvp_tcp_rx_want(&rx, &where);

		assert_true(n > 0);
		if (rx.state == NVP_TCP_RX_DATA)
			assert_ptr_equal(where, o.buf[0] + rx.have); /* straight into the owner's buffer */
		if (n > s.n - off)
			n = s.n - off;
		memcpy(where, s.b + off, n);
		assert_int_equal(nvp_tcp_rx_advance(&rx, n), 0);
		off += n;
	}
	assert_int_equal(o.n, 1);
	assert_memory_equal(o.buf[0], data, 4096);
	/* More than asked is refused, not written. */
	assert_true(nvp_tcp_rx_want(&rx, &where) == 8);
	assert_int_equal(nvp_tcp_rx_advance(&rx, 9), -EINVAL);
}

/* One malformed PDU after a good ICResp: refused with @err and a message containing @msg. */
static void expect_refused(const struct stream *s, int hd, int dd, unsigned cpda, int err, const char *msg)
{
	struct nvp_tcp_rx rx;
	struct owner o;
	uint8_t guard[sizeof(o.buf)];

	rx_ready(&rx, &o, hd, dd, cpda);
	memcpy(guard, o.buf, sizeof(guard));
	assert_int_equal(nvp_tcp_rx_feed(&rx, s->b, s->n), err);
	if (!strstr(nvp_errmsg(), msg))
		fail_msg("message '%s' does not say '%s'", nvp_errmsg(), msg);
	assert_int_equal(rx.state, NVP_TCP_RX_FAILED);
	assert_int_equal(o.n, 0);
	/* Sticky: nothing more is taken. */
	assert_int_equal(nvp_tcp_rx_feed(&rx, s->b, s->n), err);
}

static void test_rx_refuses(void **state)
{
	uint8_t data[4096] = { 1, 2, 3 };
	struct stream s;
	struct nvme_tcp_hdr *h = (struct nvme_tcp_hdr *)s.b;

	(void)state;
#define FRESH() (s.n = 0)
	/* Types a host never receives, and unknown ones. */
	FRESH(), put_rsp(&s, 0, 0, 0), h->type = NVME_TCP_CMD;
	expect_refused(&s, 0, 0, 0, -EPROTO, "CapsuleCmd");
	FRESH(), put_rsp(&s, 0, 0, 0), h->type = NVME_TCP_H2C_DATA;
	expect_refused(&s, 0, 0, 0, -EPROTO, "H2CData");
	FRESH(), put_rsp(&s, 0, 0, 0), h->type = 0x42;
	expect_refused(&s, 0, 0, 0, -EPROTO, "type 0x42");
	FRESH(), put_icresp(&s);
	expect_refused(&s, 0, 0, 0, -EPROTO, "after the connection was initialized");
	/* Header length. */
	FRESH(), put_rsp(&s, 0, 0, 0), h->hlen = 16;
	expect_refused(&s, 0, 0, 0, -EPROTO, "header length 16");
	/* plen and pdo of a PDU without data. */
	FRESH(), put_rsp(&s, 0, 0, 0), h->plen = 4096;
	expect_refused(&s, 0, 0, 0, -EPROTO, "plen 4096");
	FRESH(), put_r2t(&s, 0, 0, 0, 512, 0), h->pdo = 24;
	expect_refused(&s, 0, 0, 0, -EPROTO, "pdo 24");
	FRESH(), put_r2t(&s, 0, 0, 0, 0, 0);
	expect_refused(&s, 0, 0, 0, -EPROTO, "asks for 0 bytes");
	/* Digest flags that disagree with the connection. */
	FRESH(), put_rsp(&s, 0, 0, 0);
	expect_refused(&s, 1, 0, 0, -EPROTO, "without a header digest");
	FRESH(), put_c2h(&s, 0, 0, data, 512, 0, 0, 1, 0);
	expect_refused(&s, 0, 0, 0, -EPROTO, "with a data digest");
	/* Digests that do not match. */
	FRESH(), put_rsp(&s, 0, 0, 1), s.b[10] ^= 1;
	expect_refused(&s, 1, 0, 0, -EBADMSG, "header digest mismatch");
	FRESH(), put_c2h(&s, 0, 0, data, 512, 0, 0, 1, 0), s.b[24 + 100] ^= 0x80;
	expect_refused(&s, 0, 1, 0, -EBADMSG, "data digest mismatch");
	/* C2HData framing: data offset, lengths, flags. */
	FRESH(), put_c2h(&s, 0, 0, data, 512, 0, 0, 0, 0), h->pdo = 20;
	expect_refused(&s, 0, 0, 0, -EPROTO, "data offset 20");
	FRESH(), put_c2h(&s, 0, 0, data, 512, 0, 0, 0, 4);
	expect_refused(&s, 0, 0, 3, -EPROTO, "alignment"); /* pdo 28, not a multiple of 16 */
	FRESH(), put_c2h(&s, 0, 0, data, 512, 0, 0, 0, 0), h->plen = 24;
	expect_refused(&s, 0, 0, 0, -EPROTO, "holds no data");
	FRESH(), put_c2h(&s, 0, 0, data, 512, 0, 0, 0, 0), h->plen += 1;
	expect_refused(&s, 0, 0, 0, -EPROTO, "do not make its length");
	FRESH(), put_c2h(&s, 0, 0, data, 512, 0, 0, 0, 0), ((struct nvme_tcp_data *)s.b)->datal = 0xfffffff0;
	expect_refused(&s, 0, 0, 0, -EPROTO, "do not make its length");
	FRESH(), put_c2h(&s, 0, 0, data, 512, NVME_TCP_F_DATA_SUCCESS, 0, 0, 0);
	expect_refused(&s, 0, 0, 0, -EPROTO, "not the last");
	/* The owner's bounds: past the command's buffer, an unknown command. */
	FRESH(), put_c2h(&s, 0, 4000, data, 512, 0, 0, 0, 0);
	expect_refused(&s, 0, 0, 0, -ERANGE, "");
	FRESH(), put_c2h(&s, 9, 0, data, 512, 0, 0, 0, 0);
	expect_refused(&s, 0, 0, 0, -ERANGE, "");
	/* A TermReq too long for what it may quote. */
	FRESH(), put_rsp(&s, 0, 0, 0), h->type = NVME_TCP_C2H_TERM, h->plen = 4096;
	expect_refused(&s, 0, 0, 0, -EPROTO, "C2HTermReq of 4096 bytes");
#undef FRESH
}

/* Before ICResp, nothing else; a C2HTermReq ends the connection with the controller's reason. */
static void test_rx_sequence_and_term(void **state)
{
	struct nvme_tcp_term t = { .hdr = { .type = NVME_TCP_C2H_TERM, .hlen = 24, .plen = 24 + 24 },
				   .fes = NVME_TCP_FES_HDGST_ERR };
	uint8_t bad[24] = { NVME_TCP_CMD };
	struct stream s = { .n = 0 };
	struct nvp_tcp_rx rx;
	struct owner o;

	(void)state;
	memset(&o, 0, sizeof(o));
	nvp_tcp_rx_init(&rx, &own_ops, &o);
	put_rsp(&s, 0, 0, 0);
	assert_int_equal(nvp_tcp_rx_feed(&rx, s.b, s.n), -EPROTO);
	assert_non_null(strstr(nvp_errmsg(), "before ICResp"));

	rx_ready(&rx, &o, 1, 1, 0);
	s.n = 0;
	put(&s, &t, sizeof(t));
	put(&s, bad, sizeof(bad));
	assert_int_equal(nvp_tcp_rx_feed(&rx, s.b, s.n), -ECONNRESET);
	assert_non_null(strstr(nvp_errmsg(), "header digest error"));
	assert_int_equal(o.n, 1);
	assert_int_equal(o.types[0], NVME_TCP_C2H_TERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_check_value),
		cmocka_unit_test(test_crc32c_paths_agree),
		cmocka_unit_test(test_build_cmd),
		cmocka_unit_test(test_rx_well_formed),
		cmocka_unit_test(test_rx_padding_and_want),
		cmocka_unit_test(test_rx_refuses),
		cmocka_unit_test(test_rx_sequence_and_term),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
