/* SPDX-License-Identifier: MIT */
/* NVMe/TCP PDUs: CRC32C, the host's builders, and the receive parser (see pdu.h). */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"
#include "tcp/pdu.h"

/* ---- CRC32C ---------------------------------------------------------------- */

#define CRC32C_POLY 0x82f63b78u	/* Castagnoli, bit-reflected */

/* Slicing by 8: table[k][b] is the CRC of byte b followed by k zero bytes. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_use_hw;

static void crc_init(void)
{
	for (unsigned b = 0; b < 256; b++) {
		uint32_t c = b;

		for (int i = 0; i < 8; i++)
			c = c & 1 ? c >> 1 ^ CRC32C_POLY : c >> 1;
		crc_table[0][b] = c;
	}
	for (unsigned b = 0; b < 256; b++)
		for (unsigned k = 1; k < 8; k++)
			crc_table[k][b] = crc_table[k - 1][b] >> 8 ^ crc_table[0][crc_table[k - 1][b] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

uint32_t nvp_crc32c_update_table(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&crc_once, crc_init);
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8); /* little-endian host (spec.h) */
		w ^= crc;
		crc = crc_table[7][w & 0xff] ^ crc_table[6][w >> 8 & 0xff] ^ crc_table[5][w >> 16 & 0xff] ^
		      crc_table[4][w >> 24 & 0xff] ^ crc_table[3][w >> 32 & 0xff] ^ crc_table[2][w >> 40 & 0xff] ^
		      crc_table[1][w >> 48 & 0xff] ^ crc_table[0][w >> 56];
	}
	while (len--)
		crc = crc >> 8 ^ crc_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

uint32_t nvp_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_once, crc_init);
#if defined(__x86_64__)
	if (crc_use_hw)
		return crc32c_hw(crc, buf, len);
#endif
	return nvp_crc32c_update_table(crc, buf, len);
}

int nvp_crc32c_hw(void)
{
	pthread_once(&crc_once, crc_init);
	return crc_use_hw;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* ---- Builders ------------------------------------------------------------ */

void nvp_tcp_icreq_init(struct nvme_tcp_icreq *req, int hdgst, int ddgst)
{
	memset(req, 0, sizeof(*req));
	req->hdr.type = NVME_TCP_ICREQ;
	req->hdr.hlen = sizeof(*req);
	req->hdr.plen = sizeof(*req);
	req->pfv = 0;
	req->hpda = 0;
	req->maxr2t = 0; /* one R2T outstanding per command */
	req->digest = (uint8_t)((hdgst ? NVME_TCP_HDGST_ENABLE : 0) | (ddgst ? NVME_TCP_DDGST_ENABLE : 0));
}

/* The common header of a PDU the host sends with @hlen header bytes and @datal data bytes after it. */
static size_t hdr_finish(uint8_t *out, unsigned type, unsigned flags, size_t hlen, uint32_t datal,
			 int hdgst, int ddgst)
{
	struct nvme_tcp_hdr *h = (struct nvme_tcp_hdr *)out;
	size_t hd = hdgst ? NVME_TCP_DIGEST_LEN : 0;

	h->type = (uint8_t)type;
	h->flags = (uint8_t)(flags | (hdgst ? NVME_TCP_F_HDGST : 0) | (ddgst && datal ? NVME_TCP_F_DDGST : 0));
	h->hlen = (uint8_t)hlen;
	h->pdo = (uint8_t)(datal ? hlen + hd : 0);
	h->plen = (uint32_t)(hlen + hd + datal + (ddgst && datal ? NVME_TCP_DIGEST_LEN : 0));
	if (hdgst)
		put_le32(out + hlen, nvp_crc32c(out, hlen));
	return hlen + hd;
}

size_t nvp_tcp_cmd_init(uint8_t out[sizeof(struct nvme_tcp_cmd) + NVME_TCP_DIGEST_LEN],
			const struct nvme_sqe *sqe, uint32_t icdlen, int hdgst, int ddgst)
{
	struct nvme_tcp_cmd *c = (struct nvme_tcp_cmd *)out;

	memset(&c->hdr, 0, sizeof(c->hdr));
	memcpy(&c->sqe, sqe, sizeof(c->sqe));
	return hdr_finish(out, NVME_TCP_CMD, 0, sizeof(*c), icdlen, hdgst, ddgst);
}

size_t nvp_tcp_h2c_init(uint8_t out[sizeof(struct nvme_tcp_data) + NVME_TCP_DIGEST_LEN], uint16_t cid,
			uint16_t ttag, uint32_t datao, uint32_t datal, int last, int hdgst, int ddgst)
{
	struct nvme_tcp_data *d = (struct nvme_tcp_data *)out;

	memset(d, 0, sizeof(*d));
	d->cccid = cid;
	d->ttag = ttag;
	d->datao = datao;
	d->datal = datal;
	return hdr_finish(out, NVME_TCP_H2C_DATA, last ? NVME_TCP_F_DATA_LAST : 0, sizeof(*d), datal, hdgst, ddgst);
}

/* ---- The receive parser ---------------------------------------------------- */

const char *nvp_tcp_pdu_name(unsigned type)
{
	switch (type) {
	case NVME_TCP_ICREQ: return "ICReq";
	case NVME_TCP_ICRESP: return "ICResp";
	case NVME_TCP_H2C_TERM: return "H2CTermReq";
	case NVME_TCP_C2H_TERM: return "C2HTermReq";
	case NVME_TCP_CMD: return "CapsuleCmd";
	case NVME_TCP_RSP: return "CapsuleResp";
	case NVME_TCP_H2C_DATA: return "H2CData";
	case NVME_TCP_C2H_DATA: return "C2HData";
	case NVME_TCP_R2T: return "R2T";
	default: return "unknown";
	}
}

static int rx_fail(struct nvp_tcp_rx *rx, int err)
{
	rx->state = NVP_TCP_RX_FAILED;
	rx->err = err;
	return err;
}

#define RX_BAD(rx, ...) rx_fail(rx, nvp_set_error(-EPROTO, __VA_ARGS__))

static void rx_part(struct nvp_tcp_rx *rx, enum nvp_tcp_rx_state state, uint32_t need)
{
	rx->state = state;
	rx->have = 0;
	rx->need = need;
}

void nvp_tcp_rx_init(struct nvp_tcp_rx *rx, const struct nvp_tcp_rx_ops *ops, void *ctx)
{
	memset(rx, 0, sizeof(*rx));
	rx->ops = ops;
	rx->ctx = ctx;
	rx_part(rx, NVP_TCP_RX_CH, sizeof(struct nvme_tcp_hdr));
}

void nvp_tcp_rx_set_params(struct nvp_tcp_rx *rx, int hdgst, int ddgst, unsigned cpda)
{
	rx->hdgst = !!hdgst;
	rx->ddgst = !!ddgst;
	rx->cpda = cpda;
}

/* The common header is in: is this a PDU a controller may send now, framed as its type must be? */
static int rx_check_ch(struct nvp_tcp_rx *rx)
{
	const struct nvme_tcp_hdr *h = &rx->pdu.hdr;
	const char *name = nvp_tcp_pdu_name(h->type);
	uint32_t hd = rx->hdgst ? NVME_TCP_DIGEST_LEN : 0, dd = rx->ddgst ? NVME_TCP_DIGEST_LEN : 0;
	unsigned want_hlen;

	switch (h->type) {
	case NVME_TCP_ICRESP:
		want_hlen = sizeof(struct nvme_tcp_icresp);
		break;
	case NVME_TCP_C2H_TERM:
		want_hlen = sizeof(struct nvme_tcp_term);
		break;
	case NVME_TCP_RSP:
		want_hlen = sizeof(struct nvme_tcp_rsp);
		break;
	case NVME_TCP_C2H_DATA:
		want_hlen = sizeof(struct nvme_tcp_data);
		break;
	case NVME_TCP_R2T:
		want_hlen = sizeof(struct nvme_tcp_r2t);
		break;
	default:
		return RX_BAD(rx, "NVMe/TCP: the controller sent a PDU of type 0x%02x (%s), which a host never "
			      "receives", h->type, name);
	}
	if ((h->type == NVME_TCP_ICRESP) == !!rx->ic_done && h->type != NVME_TCP_C2H_TERM)
		return RX_BAD(rx, "NVMe/TCP: %s %s", name, rx->ic_done ? "after the connection was initialized" :
			      "before ICResp");
	if (h->hlen != want_hlen)
		return RX_BAD(rx, "NVMe/TCP: %s with header length %u, not %u", name, h->hlen, want_hlen);

	switch (h->type) {
	case NVME_TCP_C2H_TERM:
		/* No digests; what follows the header is the PDU it objects to, 128 bytes at most. */
		if (h->plen < want_hlen || h->plen > NVME_TCP_TERM_MAX)
			return RX_BAD(rx, "NVMe/TCP: C2HTermReq of %u bytes, not %u..%u", h->plen, want_hlen,
				      NVME_TCP_TERM_MAX);
		rx->hbytes = h->plen;
		return 0;
	case NVME_TCP_ICRESP:
		if (h->pdo || h->plen != want_hlen)
			return RX_BAD(rx, "NVMe/TCP: ICResp with pdo %u and plen %u, not 0 and %u", h->pdo, h->plen,
				      want_hlen);
		rx->hbytes = want_hlen;
		return 0;
	}
	if (!!(h->flags & NVME_TCP_F_HDGST) != rx->hdgst)
		return RX_BAD(rx, "NVMe/TCP: %s %s a header digest, but the connection %s", name,
			      rx->hdgst ? "without" : "with", rx->hdgst ? "has them on" : "has none");
	rx->hbytes = want_hlen + hd;
	if (h->type != NVME_TCP_C2H_DATA) {
		if (h->flags & NVME_TCP_F_DDGST)
			return RX_BAD(rx, "NVMe/TCP: %s with the data digest flag, and no data", name);
		if (h->pdo || h->plen != want_hlen + hd)
			return RX_BAD(rx, "NVMe/TCP: %s with pdo %u and plen %u, not 0 and %u", name, h->pdo,
				      h->plen, want_hlen + hd);
		return 0;
	}
	if (!!(h->flags & NVME_TCP_F_DDGST) != rx->ddgst)
		return RX_BAD(rx, "NVMe/TCP: C2HData %s a data digest, but the connection %s",
			      rx->ddgst ? "without" : "with", rx->ddgst ? "has them on" : "has none");
	if (h->pdo < want_hlen + hd || (rx->cpda && h->pdo % (4 * (rx->cpda + 1))))
		return RX_BAD(rx, "NVMe/TCP: C2HData with data offset %u: before the header's end (%u) or off "
			      "the %u-byte alignment", h->pdo, want_hlen + hd, 4 * (rx->cpda + 1));
	if (h->plen <= (uint64_t)h->pdo + dd)
		return RX_BAD(rx, "NVMe/TCP: C2HData of %u bytes holds no data (offset %u)", h->plen, h->pdo);
	return 0;
}

static int rx_call(struct nvp_tcp_rx *rx)
{
	int err = rx->ops->pdu(rx->ctx, &rx->pdu);

	if (err)
		return rx_fail(rx, err);
	rx_part(rx, NVP_TCP_RX_CH, sizeof(struct nvme_tcp_hdr));
	return 0;
}

/* The controller ends the connection: say why, in its words. */
static int rx_term(struct nvp_tcp_rx *rx)
{
	static const char *const fes[] = {
		[NVME_TCP_FES_INVALID_HEADER] = "invalid PDU header field",
		[NVME_TCP_FES_PDU_SEQ_ERR] = "PDU sequence error",
		[NVME_TCP_FES_HDGST_ERR] = "header digest error",
		[NVME_TCP_FES_DATA_RANGE] = "data transfer out of range",
		[NVME_TCP_FES_R2T_LIMIT] = "R2T or data transfer limit exceeded",
		[NVME_TCP_FES_UNSUPPORTED_PARAM] = "unsupported parameter",
	};
	const struct nvme_tcp_term *t = &rx->pdu.term;
	uint32_t fei = t->feil | (uint32_t)t->feiu << 16;
	int err = rx->ops->pdu(rx->ctx, &rx->pdu);

	if (err)
		return rx_fail(rx, err);
	return rx_fail(rx, nvp_set_error(-ECONNRESET, "NVMe/TCP: the controller ended the connection "
					 "(C2HTermReq: %s, FES 0x%02x, FEI 0x%x)",
					 t->fes < NVP_ARRAY_SIZE(fes) && fes[t->fes] ? fes[t->fes] : "unknown error",
					 t->fes, fei));
}

/* The whole header (and its digest) is in. */
static int rx_check_psh(struct nvp_tcp_rx *rx)
{
	const struct nvme_tcp_hdr *h = &rx->pdu.hdr;
	uint32_t dd = rx->ddgst ? NVME_TCP_DIGEST_LEN : 0;
	const struct nvme_tcp_data *d = &rx->pdu.data;
	uint8_t *dst = NULL;
	int err;

	if (h->type == NVME_TCP_C2H_TERM)
		return rx_term(rx);
	if (h->type == NVME_TCP_ICRESP) {
		rx->ic_done = 1;
		return rx_call(rx);
	}
	if (rx->hdgst && get_le32(rx->pdu.raw + h->hlen) != nvp_crc32c(rx->pdu.raw, h->hlen))
		return rx_fail(rx, nvp_set_error(-EBADMSG, "NVMe/TCP: %s header digest mismatch (0x%08x, "
						 "computed 0x%08x)", nvp_tcp_pdu_name(h->type),
						 get_le32(rx->pdu.raw + h->hlen), nvp_crc32c(rx->pdu.raw, h->hlen)));
	if (h->type == NVME_TCP_R2T && rx->pdu.r2t.r2tl == 0)
		return RX_BAD(rx, "NVMe/TCP: R2T for command %u asks for 0 bytes", rx->pdu.r2t.cccid);
	if (h->type != NVME_TCP_C2H_DATA)
		return rx_call(rx);
	if (d->datal == 0 || (uint64_t)h->pdo + d->datal + dd != h->plen)
		return RX_BAD(rx, "NVMe/TCP: C2HData for command %u: %u data bytes at offset %u with the "
			      "digest do not make its length %u", d->cccid, d->datal, h->pdo, h->plen);
	if ((h->flags & NVME_TCP_F_DATA_SUCCESS) && !(h->flags & NVME_TCP_F_DATA_LAST))
		return RX_BAD(rx, "NVMe/TCP: C2HData for command %u says SUCCESS on a PDU that is not the last",
			      d->cccid);
	err = rx->ops->data_dst(rx->ctx, d, &dst);
	if (err)
		return rx_fail(rx, err);
	rx->dst = dst;
	rx->crc = NVP_CRC32C_INIT;
	rx_part(rx, NVP_TCP_RX_PAD, h->pdo - rx->hbytes);
	return 0;
}

/* The current part is complete: check it and move on. */
static int rx_step(struct nvp_tcp_rx *rx)
{
	switch (rx->state) {
	case NVP_TCP_RX_CH:
		if (rx_check_ch(rx))
			return rx->err;
		rx_part(rx, NVP_TCP_RX_PSH, rx->hbytes - (uint32_t)sizeof(struct nvme_tcp_hdr));
		return 0;
	case NVP_TCP_RX_PSH:
		return rx_check_psh(rx);
	case NVP_TCP_RX_PAD:
		rx_part(rx, NVP_TCP_RX_DATA, rx->pdu.data.datal);
		return 0;
	case NVP_TCP_RX_DATA:
		if (!rx->ddgst)
			return rx_call(rx);
		rx_part(rx, NVP_TCP_RX_DDGST, NVME_TCP_DIGEST_LEN);
		return 0;
	case NVP_TCP_RX_DDGST:
		if (get_le32(rx->scratch) != ~rx->crc)
			return rx_fail(rx, nvp_set_error(-EBADMSG, "NVMe/TCP: C2HData for command %u: data digest "
							 "mismatch (0x%08x, computed 0x%08x)", rx->pdu.data.cccid,
							 get_le32(rx->scratch), ~rx->crc));
		return rx_call(rx);
	case NVP_TCP_RX_FAILED:
		break;
	}
	return rx->err;
}

size_t nvp_tcp_rx_want(struct nvp_tcp_rx *rx, uint8_t **where)
{
	switch (rx->state) {
	case NVP_TCP_RX_CH:
		*where = rx->pdu.raw + rx->have;
		break;
	case NVP_TCP_RX_PSH:
		*where = rx->pdu.raw + sizeof(struct nvme_tcp_hdr) + rx->have;
		break;
	case NVP_TCP_RX_PAD:
	case NVP_TCP_RX_DDGST:
		*where = rx->scratch + rx->have;
		break;
	case NVP_TCP_RX_DATA:
		*where = rx->dst + rx->have;
		break;
	default:
		*where = NULL;
		return 0;
	}
	return rx->need - rx->have;
}

int nvp_tcp_rx_advance(struct nvp_tcp_rx *rx, size_t n)
{
	if (rx->state == NVP_TCP_RX_FAILED)
		return rx->err;
	if (n > rx->need - rx->have)
		return rx_fail(rx, nvp_set_error(-EINVAL, "NVMe/TCP: %zu bytes received where %u were asked for",
						 n, rx->need - rx->have));
	if (rx->state == NVP_TCP_RX_DATA && rx->ddgst)
		rx->crc = nvp_crc32c_update(rx->crc, rx->dst + rx->have, n);
	rx->have += (uint32_t)n;
	/* Parts of length 0 (no padding) pass at once. */
	while (rx->have == rx->need && rx->state != NVP_TCP_RX_FAILED)
		if (rx_step(rx))
			return rx->err;
	return rx->state == NVP_TCP_RX_FAILED ? rx->err : 0;
}

int nvp_tcp_rx_feed(struct nvp_tcp_rx *rx, const uint8_t *buf, size_t len)
{
	while (len) {
		uint8_t *where;
		size_t n = nvp_tcp_rx_want(rx, &where);
		int err;

		if (n == 0)
			return rx->err;
		if (n > len)
			n = len;
		memcpy(where, buf, n);
		err = nvp_tcp_rx_advance(rx, n);
		if (err)
			return err;
		buf += n;
		len -= n;
	}
	return rx->state == NVP_TCP_RX_FAILED ? rx->err : 0;
}
