/* SPDX-License-Identifier: MIT */
/*
 * CRC-16 T10-DIF and the 16-bit guard PI format: generate and check the
 * 8-byte tuple of each block. Shared by the host helpers and the sim's
 * controller model (lib/pi.h); the unit test checks it against the
 * standard's check value and tuples worked out by hand.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "pi.h"

#define T10DIF_POLY 0x8bb7u

/* crc16_table[b]: the CRC register after shifting byte b through it from zero (MSB first). */
static const uint16_t *crc16_table(void)
{
	static uint16_t table[256];
	static int ready; /* idempotent: two threads racing here write the same values */

	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		for (unsigned b = 0; b < 256; b++) {
			uint16_t r = (uint16_t)(b << 8);

			for (int k = 0; k < 8; k++)
				r = (uint16_t)(r & 0x8000 ? (unsigned)(r << 1) ^ T10DIF_POLY : (unsigned)(r << 1));
			table[b] = r;
		}
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	return table;
}

NVP_API uint16_t nvp_crc16_t10dif(uint16_t crc, const void *buf, size_t len)
{
	const uint16_t *t = crc16_table();
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		crc = (uint16_t)((crc << 8) ^ t[(crc >> 8) ^ p[i]]);
	return crc;
}

int nvp_pi_layout_ok(const struct nvp_pi_layout *l, const void *md)
{
	if (l->type < 1 || l->type > 3)
		return -EINVAL;
	if (l->ms < sizeof(struct nvme_pi_tuple) || !l->lba_size)
		return -EINVAL;
	return l->extended || md ? 0 : -EINVAL;
}

/* Block @i's data and its metadata. */
static void pi_block(const struct nvp_pi_layout *l, const uint8_t *data, const uint8_t *md, uint32_t i,
		     const uint8_t **d, const uint8_t **m)
{
	if (l->extended) {
		*d = data + (size_t)i * (l->lba_size + l->ms);
		*m = *d + l->lba_size;
	} else {
		*d = data + (size_t)i * l->lba_size;
		*m = md + (size_t)i * l->ms;
	}
}

/* Bytes of metadata before the tuple: the guard covers them too. */
static unsigned pi_offset(const struct nvp_pi_layout *l)
{
	return l->first ? 0 : l->ms - (unsigned)sizeof(struct nvme_pi_tuple);
}

static uint16_t pi_guard(const struct nvp_pi_layout *l, const uint8_t *d, const uint8_t *m)
{
	return nvp_crc16_t10dif(nvp_crc16_t10dif(0, d, l->lba_size), m, pi_offset(l));
}

void nvp_pi_gen(const struct nvp_pi_layout *l, uint8_t *data, uint8_t *md, uint32_t nlb, uint32_t ref_tag,
		uint16_t app_tag)
{
	for (uint32_t i = 0; i < nlb; i++) {
		const uint8_t *d, *m;
		struct nvme_pi_tuple t;

		pi_block(l, data, md, i, &d, &m);
		t.guard = nvme_be16(pi_guard(l, d, m));
		t.app_tag = nvme_be16(app_tag);
		t.ref_tag = nvme_be32(l->type == 3 ? ref_tag : ref_tag + i);
		memcpy((uint8_t *)m + pi_offset(l), &t, sizeof(t));
	}
}

uint16_t nvp_pi_check(const struct nvp_pi_layout *l, const uint8_t *data, const uint8_t *md, uint32_t nlb,
		      unsigned prchk, uint32_t ref_tag, uint16_t app_tag, uint16_t app_mask, uint32_t *block)
{
	for (uint32_t i = 0; i < nlb; i++) {
		const uint8_t *d, *m;
		struct nvme_pi_tuple t;
		uint16_t app;
		uint32_t ref;

		pi_block(l, data, md, i, &d, &m);
		memcpy(&t, m + pi_offset(l), sizeof(t));
		app = nvme_be16(t.app_tag);
		ref = nvme_be32(t.ref_tag);
		/* The escape values: the block is not checked at all. */
		if (app == NVME_PI_APP_ESCAPE && (l->type != 3 || ref == NVME_PI_REF_ESCAPE))
			continue;
		*block = i;
		if ((prchk & NVME_PRINFO_PRCHK_GUARD) && nvme_be16(t.guard) != pi_guard(l, d, m))
			return NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_GUARD_CHECK);
		if ((prchk & NVME_PRINFO_PRCHK_APP) && ((app ^ app_tag) & app_mask))
			return NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_APPTAG_CHECK);
		if ((prchk & NVME_PRINFO_PRCHK_REF) && l->type != 3 && ref != ref_tag + i)
			return NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_REFTAG_CHECK);
	}
	return 0;
}
