/* SPDX-License-Identifier: MIT */
/*
 * Protection information on a buffer of blocks, for both sides: the
 * host's helpers (nvp_pi_generate(), nvp_pi_verify()) and the sim's
 * controller, which checks and generates PI on the commands it runs.
 * Base layer: no message, no state; lib/pi.c.
 */
#ifndef NVP_PI_H
#define NVP_PI_H

#include <stddef.h>
#include <stdint.h>

#include "nvpoll.h"

/* How @nlb blocks lie in memory; from a struct nvp_ns_info, or the sim's namespace. */
struct nvp_pi_layout {
	uint32_t lba_size;
	uint16_t ms;
	uint8_t type;		/* 1..3 */
	uint8_t first;		/* PI in the first 8 bytes of metadata */
	uint8_t extended;	/* metadata after each block, in @data */
};

/* 0, or -EINVAL when the layout cannot carry PI (no type, ms < 8, separate without @md). */
int nvp_pi_layout_ok(const struct nvp_pi_layout *l, const void *md);
void nvp_pi_gen(const struct nvp_pi_layout *l, uint8_t *data, uint8_t *md, uint32_t nlb,
		uint32_t ref_tag, uint16_t app_tag);
/* The status of the first failing check (0: all pass), its block in *@block. */
uint16_t nvp_pi_check(const struct nvp_pi_layout *l, const uint8_t *data, const uint8_t *md, uint32_t nlb,
		      unsigned prchk, uint32_t ref_tag, uint16_t app_tag, uint16_t app_mask, uint32_t *block);

#endif /* NVP_PI_H */
