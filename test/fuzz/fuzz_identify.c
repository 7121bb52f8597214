/* SPDX-License-Identifier: MIT */
/*
 * What the controller tells us, from arbitrary bytes: Identify Namespace
 * data, CAP and MDTS, status codes. Input layout (short inputs read as
 * zeroes past their end):
 *
 *   0  u64 CAP        8  u8 MDTS      9  u16 status    11  u8 format buffer length
 *  12  u32 nsid      16  Identify Namespace data (4096 bytes)
 *
 * The log pages are printed by tools/nvpoll.c, not parsed by the library:
 * nothing to fuzz there until a library parser exists.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvme/nvme.h"

static int power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("NVP_LOG", "error", 0); /* nvp_ns_parse warns on NCAP > NSZE */
	return 0;
}

static void fuzz_ns(uint32_t nsid, const struct nvme_id_ns *id)
{
	unsigned fmt = nvme_id_ns_flbas_index(id);
	int valid = fmt <= id->nlbaf && fmt < 64 && id->lbaf[fmt].lbads >= 9 && id->lbaf[fmt].lbads <= 16;
	struct nvp_ns ns;
	int err = nvp_ns_parse(&ns, nsid, id);

	FUZZ_CHECK(err == 0 || err == -EINVAL);
	FUZZ_CHECK((err == 0) == valid);
	if (err) {
		FUZZ_CHECK(nvp_errmsg()[0] != '\0');
		return;
	}
	FUZZ_CHECK(power_of_two(ns.info.lba_size));
	FUZZ_CHECK(ns.info.lba_size >= 512 && ns.info.lba_size <= 65536);
	FUZZ_CHECK(ns.info.lba_size == 1u << ns.lba_shift);
	FUZZ_CHECK(ns.info.lbaf == fmt && ns.info.ms == id->lbaf[fmt].ms);
	FUZZ_CHECK(ns.info.nsid == nsid && ns.info.nsze == id->nsze);
	FUZZ_CHECK(ns.info.ncap == id->ncap && ns.info.nuse == id->nuse);
}

static void fuzz_cap(uint64_t cap, uint8_t mdts)
{
	struct nvp_dev *dev = calloc(1, sizeof(*dev));
	size_t max_xfer = nvp_ctrl_max_xfer(mdts, cap);
	unsigned mpsmin = NVME_GET(cap, CAP_MPSMIN) + 12, mpsmax = NVME_GET(cap, CAP_MPSMAX) + 12;
	int err;

	FUZZ_CHECK(dev != NULL);
	/* Whatever CAP says, the transfer size stays within nvpoll's cap. */
	FUZZ_CHECK(max_xfer >= 4096 && max_xfer <= NVP_MAX_XFER_CAP);
	err = nvp_ctrl_parse_cap(dev, cap);
	if (err) {
		FUZZ_CHECK(err == -ENODEV || err == -ENOTSUP);
		FUZZ_CHECK(nvp_errmsg()[0] != '\0');
		free(dev);
		return;
	}
	FUZZ_CHECK(cap != UINT64_MAX && (NVME_GET(cap, CAP_CSS) & NVME_CAP_CSS_NVM));
	FUZZ_CHECK(dev->cap == cap);
	FUZZ_CHECK(dev->page_shift >= 12 && dev->page_shift <= 16);
	FUZZ_CHECK(dev->page_shift >= mpsmin && dev->page_shift <= mpsmax);
	FUZZ_CHECK(dev->db_stride == 4u << NVME_GET(cap, CAP_DSTRD));
	FUZZ_CHECK(dev->max_queue_depth >= 2 && dev->max_queue_depth <= 65536);
	FUZZ_CHECK(dev->ready_timeout_ms >= 500 && dev->ready_timeout_ms <= 255 * 500);
	/* A usable controller moves whole pages: at least one, and a multiple. */
	FUZZ_CHECK(max_xfer >= (size_t)1 << dev->page_shift);
	FUZZ_CHECK(max_xfer % ((size_t)1 << dev->page_shift) == 0);
	if (mdts && mdts < 20 && ((size_t)1 << mpsmin << mdts) <= NVP_MAX_XFER_CAP)
		FUZZ_CHECK(max_xfer == (size_t)1 << mpsmin << mdts);
	free(dev);
}

static void fuzz_status(uint16_t status, uint8_t len)
{
	const char *name = nvp_status_str(status);
	char *buf = malloc(len ? len : 1), big[256];

	FUZZ_CHECK(name != NULL && name[0] != '\0');
	/* CRD, More and DNR never change the name. */
	FUZZ_CHECK(name == nvp_status_str(status & NVME_STATUS_CODE_MASK));
	FUZZ_CHECK(buf != NULL);
	/* Exactly @len bytes: ASan sees any write past them. */
	FUZZ_CHECK(nvp_status_format(status, buf, len) == buf);
	if (len)
		FUZZ_CHECK(memchr(buf, '\0', len) != NULL);
	nvp_status_format(status, big, sizeof(big));
	FUZZ_CHECK(strncmp(big, name, strlen(name)) == 0);
	FUZZ_CHECK(strlen(big) < sizeof(big) - 1);
	if (len)
		FUZZ_CHECK(strncmp(buf, big, len - 1) == 0);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint64_t cap = fuzz_take(&in, 8);
	uint8_t mdts = (uint8_t)fuzz_take(&in, 1);
	uint16_t status = (uint16_t)fuzz_take(&in, 2);
	uint8_t len = (uint8_t)fuzz_take(&in, 1);
	uint32_t nsid = (uint32_t)fuzz_take(&in, 4);
	struct nvme_id_ns *id = calloc(1, sizeof(*id));

	if (!id)
		return 0;
	memcpy(id, in.p, in.left < sizeof(*id) ? in.left : sizeof(*id));
	fuzz_ns(nsid, id);
	fuzz_cap(cap, mdts);
	fuzz_status(status, len);
	free(id);
	return 0;
}
