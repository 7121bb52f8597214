/* SPDX-License-Identifier: MIT */
/*
 * The NVMe/TCP receive parser (lib/tcp/pdu.c) on arbitrary bytes from the
 * "controller", cut into arbitrary pieces: it must never write outside its
 * own header buffer and the destinations its owner hands out (each a heap
 * block of exactly the command's size, so ASan sees one byte too far),
 * never hand the owner a PDU type a host may not receive, and once it
 * refuses a stream, refuse everything after with the same error.
 *
 * Input: byte 0 = the connection (bit 0 header digests, bit 1 data
 * digests, bits 2-4 CPDA, bit 5 skip the ICResp the target otherwise
 * prepends, bit 6 recv()-style want/advance instead of feed), byte 1 = the
 * piece size seed, then the stream.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tcp/pdu.h"

#define NR_CMDS 4
static const uint32_t cmd_len[NR_CMDS] = { 512, 4096, 8192, 1 };

struct owner {
	uint8_t *buf[NR_CMDS];
	unsigned pdus;
	int in_data;	/* a destination was handed out and its PDU has not completed */
};

static int own_dst(void *ctx, const struct nvme_tcp_data *d, uint8_t **dst)
{
	struct owner *o = ctx;

	FUZZ_CHECK(d->hdr.type == NVME_TCP_C2H_DATA && d->datal > 0);
	FUZZ_CHECK(!o->in_data);
	if (d->cccid >= NR_CMDS || (uint64_t)d->datao + d->datal > cmd_len[d->cccid])
		return -ERANGE;
	*dst = o->buf[d->cccid] + d->datao;
	o->in_data = 1;
	return 0;
}

static int own_pdu(void *ctx, const union nvp_tcp_pdu *p)
{
	struct owner *o = ctx;

	switch (p->hdr.type) {
	case NVME_TCP_ICRESP:
	case NVME_TCP_C2H_TERM:
	case NVME_TCP_RSP:
	case NVME_TCP_R2T:
		FUZZ_CHECK(!o->in_data);
		break;
	case NVME_TCP_C2H_DATA:
		FUZZ_CHECK(o->in_data);
		o->in_data = 0;
		break;
	default:
		FUZZ_CHECK(!"a PDU type a host never receives reached the owner");
	}
	o->pdus++;
	return 0;
}

static const struct nvp_tcp_rx_ops ops = { .data_dst = own_dst, .pdu = own_pdu };

static const uint8_t icresp[128] = { NVME_TCP_ICRESP, 0, 128, 0, 128, 0, 0, 0 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct owner o = { .pdus = 0 };
	struct nvp_tcp_rx rx;
	unsigned conf, seed;
	int err = 0;

	if (size < 2)
		return 0;
	conf = data[0], seed = data[1];
	data += 2, size -= 2;
	for (int i = 0; i < NR_CMDS; i++)
		o.buf[i] = malloc(cmd_len[i]);
	nvp_tcp_rx_init(&rx, &ops, &o);
	if (!(conf & 0x20)) {
		FUZZ_CHECK(nvp_tcp_rx_feed(&rx, icresp, sizeof(icresp)) == 0);
		nvp_tcp_rx_set_params(&rx, conf & 1, conf & 2, conf >> 2 & 7);
	}
	while (size && !err) {
		size_t piece = 1 + (seed = seed * 1103515245u + 12345u) % 300;

		if (piece > size)
			piece = size;
		if (conf & 0x40) {
			uint8_t *where;
			size_t n = nvp_tcp_rx_want(&rx, &where);

			FUZZ_CHECK(n > 0);
			if (piece > n)
				piece = n;
			memcpy(where, data, piece);
			err = nvp_tcp_rx_advance(&rx, piece);
		} else {
			err = nvp_tcp_rx_feed(&rx, data, piece);
		}
		data += piece, size -= piece;
	}
	if (err) {
		uint8_t byte = 0;

		FUZZ_CHECK(err < 0 && rx.state == NVP_TCP_RX_FAILED);
		FUZZ_CHECK(nvp_tcp_rx_feed(&rx, &byte, 1) == err);
	} else {
		FUZZ_CHECK(rx.state != NVP_TCP_RX_FAILED);
	}
	for (int i = 0; i < NR_CMDS; i++)
		free(o.buf[i]);
	return 0;
}
