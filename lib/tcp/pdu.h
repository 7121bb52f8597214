/* SPDX-License-Identifier: MIT */
/*
 * NVMe/TCP PDUs as the host sends and receives them: CRC32C for the
 * digests, the builders of what the host sends (ICReq, CapsuleCmd,
 * H2CData), and the receive parser for what the controller sends
 * (ICResp, CapsuleResp, C2HData, R2T, C2HTermReq). The wire structures
 * themselves are in include/nvpoll/spec.h.
 *
 * The parser takes bytes as they arrive, in pieces of any size, and never
 * trusts a length before it has checked it: each field is validated as
 * soon as the bytes holding it are in, a PDU that breaks the framing rules
 * is refused with a message naming the field, and nothing is ever written
 * outside its own header buffer and the destination the owner handed out
 * for a C2HData PDU. Any error is sticky: the connection is done for.
 *
 * Data bytes are not copied by the parser when the owner does not want
 * them to be: nvp_tcp_rx_want() says where the next bytes belong (its
 * header buffer, or the caller's read buffer while in C2HData data), so
 * recv() can write straight there.
 */
#ifndef NVP_TCP_PDU_H
#define NVP_TCP_PDU_H

#include <stddef.h>
#include <stdint.h>

#include <nvpoll/spec.h>

/* ---- CRC32C (Castagnoli, reflected 0x82F63B78), as the digests use it ---- */

#define NVP_CRC32C_INIT 0xffffffffu

/* Running CRC: start from NVP_CRC32C_INIT, feed pieces, the digest is ~crc. */
uint32_t nvp_crc32c_update(uint32_t crc, const void *buf, size_t len);
/* The digest of one buffer (the standard check value: "123456789" gives 0xE3069283). */
static inline uint32_t nvp_crc32c(const void *buf, size_t len)
{
	return ~nvp_crc32c_update(NVP_CRC32C_INIT, buf, len);
}
/* The table-driven implementation alone, whatever the CPU offers: for tests. */
uint32_t nvp_crc32c_update_table(uint32_t crc, const void *buf, size_t len);
/* 1 when nvp_crc32c_update() uses the SSE4.2 crc32 instruction. */
int nvp_crc32c_hw(void);

/* ---- What the host sends ------------------------------------------------- */

/* ICReq: PFV 0, no alignment, one R2T per command at a time, the digests asked for. */
void nvp_tcp_icreq_init(struct nvme_tcp_icreq *req, int hdgst, int ddgst);

/*
 * A CapsuleCmd header for @sqe with @icdlen bytes of in-capsule data
 * following it (their digest, when @ddgst, is the sender's to append):
 * @out gets the header and, when @hdgst, its digest. Returns the bytes of
 * @out used (72 or 76).
 */
size_t nvp_tcp_cmd_init(uint8_t out[sizeof(struct nvme_tcp_cmd) + NVME_TCP_DIGEST_LEN],
			const struct nvme_sqe *sqe, uint32_t icdlen, int hdgst, int ddgst);

/* An H2CData header answering R2T @ttag for command @cid: @datal bytes from offset @datao. */
size_t nvp_tcp_h2c_init(uint8_t out[sizeof(struct nvme_tcp_data) + NVME_TCP_DIGEST_LEN], uint16_t cid,
			uint16_t ttag, uint32_t datao, uint32_t datal, int last, int hdgst, int ddgst);

/* ---- What the host receives ---------------------------------------------- */

/* The largest header the parser keeps: a C2HTermReq with the bad header it quotes. */
#define NVP_TCP_RX_HDR_MAX NVME_TCP_TERM_MAX

union nvp_tcp_pdu {
	struct nvme_tcp_hdr hdr;
	struct nvme_tcp_icresp icresp;
	struct nvme_tcp_rsp rsp;
	struct nvme_tcp_data data;	/* C2HData */
	struct nvme_tcp_r2t r2t;
	struct nvme_tcp_term term;	/* C2HTermReq */
	uint8_t raw[NVP_TCP_RX_HDR_MAX + NVME_TCP_DIGEST_LEN];
};

struct nvp_tcp_rx_ops {
	/*
	 * A C2HData header arrived and passed the framing checks: *@dst gets
	 * where its hdr.datal bytes go, datal bytes the owner has checked
	 * belong to the command (cccid, datao, datal against its buffer).
	 * 0 or -errno with nvp_set_error(): the connection fails.
	 */
	int (*data_dst)(void *ctx, const struct nvme_tcp_data *pdu, uint8_t **dst);
	/* A whole PDU arrived, its data (if any) in place and its digests checked. 0 or -errno with a message. */
	int (*pdu)(void *ctx, const union nvp_tcp_pdu *pdu);
};

enum nvp_tcp_rx_state {
	NVP_TCP_RX_CH,		/* the common header */
	NVP_TCP_RX_PSH,		/* the rest of the header and its digest */
	NVP_TCP_RX_PAD,		/* padding up to pdo */
	NVP_TCP_RX_DATA,	/* C2HData payload, into the owner's buffer */
	NVP_TCP_RX_DDGST,	/* its digest */
	NVP_TCP_RX_FAILED,	/* an error was found: nothing more is taken */
};

struct nvp_tcp_rx {
	const struct nvp_tcp_rx_ops *ops;
	void *ctx;
	/* What ICResp settled. */
	int ic_done;		/* ICResp arrived: from now on every other PDU type, never it */
	int hdgst, ddgst;	/* digests in use */
	unsigned cpda;		/* data alignment, 4 * (CPDA + 1) bytes */

	enum nvp_tcp_rx_state state;
	union nvp_tcp_pdu pdu;	/* the header so far */
	uint32_t have;		/* bytes of the current part already in */
	uint32_t need;		/* bytes of the current part in all */
	uint32_t hbytes;	/* header bytes to hold: hlen + digest, or a TermReq's plen */
	uint8_t *dst;		/* DATA: the owner's buffer */
	uint32_t crc;		/* DATA: running data digest */
	uint8_t scratch[256];	/* PAD and DDGST land here */
	int err;		/* sticky: the first error */
};

/* A parser expecting ICResp first. */
void nvp_tcp_rx_init(struct nvp_tcp_rx *rx, const struct nvp_tcp_rx_ops *ops, void *ctx);
/* After ICResp: the digests and alignment both sides agreed on. */
void nvp_tcp_rx_set_params(struct nvp_tcp_rx *rx, int hdgst, int ddgst, unsigned cpda);

/*
 * Where the next received bytes belong and how many of them at most:
 * recv() into *@where, then nvp_tcp_rx_advance() with the count. Never 0
 * bytes unless the parser has failed.
 */
size_t nvp_tcp_rx_want(struct nvp_tcp_rx *rx, uint8_t **where);
/* @n bytes (no more than nvp_tcp_rx_want() allowed) were written there. 0, or the sticky -errno. */
int nvp_tcp_rx_advance(struct nvp_tcp_rx *rx, size_t n);
/* Bytes already in memory: each copied where it belongs, callbacks run. 0, or the sticky -errno. */
int nvp_tcp_rx_feed(struct nvp_tcp_rx *rx, const uint8_t *buf, size_t len);

/* The PDU type's name, for messages ("C2HData"); "unknown" for others. */
const char *nvp_tcp_pdu_name(unsigned type);

#endif /* NVP_TCP_PDU_H */
