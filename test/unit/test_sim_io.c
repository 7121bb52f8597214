/* SPDX-License-Identifier: MIT */
/*
 * The sim's I/O commands: read and write, compare, write zeroes,
 * deallocate, flush, DMA faults, PRPs (4 and 8 KiB pages) and SGLs. Host: sim_host.h.
 */
#include "sim_host.h"

/* ---- I/O -------------------------------------------------------------- */

static void test_read_write(void **state)
{
	struct host *h = host_up(state, "ns=2,lbads=512:4096,size=1M:4M");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *w = host_alloc(h, 64 * 1024), *r = host_alloc(h, 64 * 1024);

	fill(w, 64 * 1024, 1);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 10, 128, w, 64 * 1024), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 10, 128, r, 64 * 1024), 0);
	assert_memory_equal(w, r, 64 * 1024);
	/* Partial overlap, then the untouched neighbour reads as zeroes. */
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 74, 64, r, 32 * 1024), 0);
	assert_memory_equal(w + 32 * 1024, r, 32 * 1024);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 10, r, 5120), 0);
	assert_true(r[0] == 0 && r[5119] == 0);

	/* Namespace 2: 4 KiB blocks, last block. */
	fill(w, 8192, 2);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 2, 1022, 2, w, 8192), 0);
	memset(r, 0, 8192);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 2, 1022, 2, r, 8192), 0);
	assert_memory_equal(w, r, 8192);
	/* ... and namespace 1 did not see it. */
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 10, 16, r, 8192), 0);
	fill(w, 64 * 1024, 1);
	assert_memory_equal(w, r, 8192);

	assert_int_equal(rw(h, q, NVME_CMD_READ, 2, 1023, 2, r, 8192), GEN_DNR(NVME_SC_LBA_RANGE));
	assert_int_equal(rw(h, q, NVME_CMD_READ, 2, 1024, 1, r, 4096), GEN_DNR(NVME_SC_LBA_RANGE));
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, ~0ull, 1, r, 512), GEN_DNR(NVME_SC_LBA_RANGE));
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 3, 0, 1, r, 512), GEN_DNR(NVME_SC_INVALID_NS));
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 0, 0, 1, r, 512), GEN_DNR(NVME_SC_INVALID_NS));
	/* MDTS 5: 128 KiB; 33 blocks of 4 KiB is over. */
	assert_int_equal(rw(h, q, NVME_CMD_READ, 2, 0, 33, NULL, 0), GEN_DNR(NVME_SC_INVALID_FIELD));
	assert_int_equal(rw(h, q, 0x7e, 1, 0, 1, NULL, 0), GEN_DNR(NVME_SC_INVALID_OPCODE));
	assert_int_equal(stats(h)->io_cmds[NVME_CMD_READ], 9);
	assert_int_equal(stats(h)->io_cmds[NVME_CMD_WRITE], 4);
}

static void test_compare_zeroes_dsm_flush(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *w = host_alloc(h, 16384), *r = host_alloc(h, 16384);
	struct nvme_dsm_range *ranges = host_alloc(h, PAGE);
	struct nvme_sqe sqe;

	fill(w, 16384, 3);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 100, 32, w, 16384), 0);
	assert_int_equal(rw(h, q, NVME_CMD_COMPARE, 1, 100, 32, w, 16384), 0);
	w[5000] ^= 1;
	assert_int_equal(rw(h, q, NVME_CMD_COMPARE, 1, 100, 32, w, 16384),
			 ST(NVME_SCT_MEDIA, NVME_SC_COMPARE_FAILED));
	w[5000] ^= 1;

	/* Write Zeroes of blocks 104..111, the rest stays. */
	assert_int_equal(rw(h, q, NVME_CMD_WRITE_ZEROES, 1, 104, 8, NULL, 0), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 100, 32, r, 16384), 0);
	memset(w + 2048, 0, 4096);
	assert_memory_equal(w, r, 16384);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE_ZEROES, 1, 131071, 2, NULL, 0),
			 GEN_DNR(NVME_SC_LBA_RANGE));
	/* Write Zeroes is not bound by MDTS. */
	assert_int_equal(rw(h, q, NVME_CMD_WRITE_ZEROES, 1, 0, 65536, NULL, 0), 0);

	/* Deallocate two ranges: they read back as zeroes. */
	fill(w, 16384, 4);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 100, 32, w, 16384), 0);
	ranges[0] = (struct nvme_dsm_range){ .nlb = 2, .slba = 100 };
	ranges[1] = (struct nvme_dsm_range){ .nlb = 3, .slba = 129 };
	sqe = (struct nvme_sqe){ .opc = NVME_CMD_DSM, .nsid = 1, .cdw10 = 1,
				 .cdw11 = NVME_DSM_ATTR_DEALLOCATE };
	prp_fill(h, &sqe, ranges, 32);
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 100, 32, r, 16384), 0);
	memset(w, 0, 1024);
	memset(w + 29 * 512, 0, 3 * 512);
	assert_memory_equal(w, r, 16384);
	/* A bad range fails the whole command, nothing is dropped. */
	ranges[0] = (struct nvme_dsm_range){ .nlb = 1, .slba = 102 };
	ranges[1] = (struct nvme_dsm_range){ .nlb = 1, .slba = 1u << 20 };
	sqe = (struct nvme_sqe){ .opc = NVME_CMD_DSM, .nsid = 1, .cdw10 = 1,
				 .cdw11 = NVME_DSM_ATTR_DEALLOCATE };
	prp_fill(h, &sqe, ranges, 32);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_LBA_RANGE));
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 100, 32, r, 16384), 0);
	assert_memory_equal(w, r, 16384);

	sqe = (struct nvme_sqe){ .opc = NVME_CMD_FLUSH, .nsid = 1 };
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	sqe = (struct nvme_sqe){ .opc = NVME_CMD_FLUSH, .nsid = 0xffffffff };
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	sqe = (struct nvme_sqe){ .opc = NVME_CMD_FLUSH, .nsid = 2 };
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_INVALID_NS));
}

static void test_dma_faults(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *buf = host_alloc(h, 8192);
	struct nvme_sqe sqe = rw_sqe(NVME_CMD_READ, 1, 0, 1);
	uint64_t faults = stats(h)->dma_faults;

	/* A virtual address is not a bus address. */
	sqe.prp1 = (uintptr_t)buf;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	assert_int_equal(stats(h)->dma_faults, faults + 1);
	/* Past the end of the first unit: the hole, not the second unit. */
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 16);
	sqe.prp1 = h->iova[0] + NVP_DMA_UNIT_SIZE - PAGE;
	sqe.prp2 = h->iova[0] + NVP_DMA_UNIT_SIZE;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	assert_int_equal(stats(h)->dma_faults, faults + 2);
	/* The same transfer with the right per-unit address works. */
	sqe.prp2 = h->iova[1];
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	/* A write from unmapped memory leaves the namespace alone. */
	sqe = rw_sqe(NVME_CMD_WRITE, 1, 0, 1);
	sqe.prp1 = 0x1000;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	assert_int_equal(stats(h)->dma_faults, faults + 3);
}

static void test_prp(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *w = host_alloc(h, 64 * 1024), *r = host_alloc(h, 64 * 1024);
	uint64_t *list = host_alloc(h, 2 * PAGE), *list2 = host_alloc(h, PAGE);
	uint8_t *p1 = host_alloc_unit1(h, 0);
	struct nvme_sqe sqe;
	unsigned i;

	fill(w, 64 * 1024, 5);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 128, w, 64 * 1024), 0);

	/* PRP1 at a dword offset, PRP2 the next page: 4 KiB across two pages. */
	memset(r, 0, 8192);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 8, r + 100, 4096), 0);
	assert_memory_equal(r + 100, w, 4096);

	/* Chained list: the first list page holds two entries (data, then the chain). */
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 32);
	sqe.prp1 = iova(h, p1);
	sqe.prp2 = iova(h, (uint8_t *)list + PAGE - 16);
	list[PAGE / 8 - 2] = iova(h, p1 + 3 * PAGE);
	list[PAGE / 8 - 1] = iova(h, list2);
	list2[0] = iova(h, p1 + PAGE);	/* pages out of order on purpose */
	list2[1] = iova(h, p1 + 2 * PAGE);
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	assert_memory_equal(p1, w, PAGE);
	assert_memory_equal(p1 + 3 * PAGE, w + PAGE, PAGE);
	assert_memory_equal(p1 + PAGE, w + 2 * PAGE, PAGE);
	assert_memory_equal(p1 + 2 * PAGE, w + 3 * PAGE, PAGE);

	/* A list over many pages: 64 KiB from 16 separate pages in the second unit. */
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 128);
	sqe.prp1 = iova(h, p1 + 100 * PAGE);
	for (i = 1; i < 16; i++)
		list[i - 1] = iova(h, p1 + (100 + 2 * i) * PAGE);
	sqe.prp2 = iova(h, list);
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	for (i = 0; i < 16; i++)
		assert_memory_equal(p1 + (100 + (i ? 2 * i : 0)) * PAGE, w + i * PAGE, PAGE);

	/* Offsets: PRP1 not dword aligned, PRP2 data page and list entry not page aligned. */
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 1);
	sqe.prp1 = iova(h, r) + 2;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_PRP_OFFSET_INVALID));
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 16);
	sqe.prp1 = iova(h, r);
	sqe.prp2 = iova(h, r + PAGE) + 512;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_PRP_OFFSET_INVALID));
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 24);
	sqe.prp1 = iova(h, r);
	list[0] = iova(h, r + PAGE);
	list[1] = iova(h, r + 2 * PAGE) + 8;
	sqe.prp2 = iova(h, list);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_PRP_OFFSET_INVALID));
	/* List entry unmapped: Data Transfer Error. */
	list[1] = 0x7000;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	/* List pointer itself unmapped. */
	sqe.prp2 = 0x9000;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
}

/* CC.MPS = 1: 8 KiB memory pages change the PRP arithmetic. */
static void test_prp_8k_pages(void **state)
{
	struct host *h = host_open(state, "");
	struct tq *q;
	uint8_t *w, *r;

	h->mps = 1;
	assert_true(host_enable(h, 4));
	q = ioq(h, 1, 4);
	w = host_alloc(h, 65536);
	r = host_alloc(h, 65536);
	fill(w, 65536, 6);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 128, w, 65536), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 120, r + 4096, 61440), 0);
	assert_memory_equal(w, r + 4096, 61440);
	/* 4 KiB aligned is not 8 KiB aligned any more. */
	assert_int_equal(create_cq(h, 2, 4, r + 4096, 1), GEN_DNR(NVME_SC_PRP_OFFSET_INVALID));
}

static struct nvme_sgl_desc sgl(uint64_t addr, uint32_t len, unsigned type)
{
	return (struct nvme_sgl_desc){ .addr = addr, .length = len, .type = (uint8_t)(type << 4) };
}

static void test_sgl(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *w = host_alloc(h, 16384), *r = host_alloc(h, 16384);
	struct nvme_sgl_desc *seg1 = host_alloc(h, PAGE), *seg2 = host_alloc(h, PAGE);
	struct nvme_sqe sqe;

	fill(w, 16384, 7);
	/* One data block in the SQE, at an odd address. */
	sqe = rw_sqe(NVME_CMD_WRITE, 1, 0, 8);
	sqe.flags = NVME_PSDT_SGL << NVME_SQE_PSDT_SHIFT;
	sqe.sgl = sgl(iova(h, w + 1), 4096, 0);
	memmove(w + 1, w, 4096);
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 8, r, 4096), 0);
	assert_memory_equal(r, w + 1, 4096);

	/* Segment -> last segment, with a bit bucket skipping 512 bytes. */
	fill(w, 16384, 8);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 8, w, 4096), 0);
	memset(r, 0xee, 16384);
	seg1[0] = sgl(iova(h, r), 1000, 0);
	seg1[1] = sgl(iova(h, seg2), 32, 3);
	seg2[0] = sgl(0, 512, 1);
	seg2[1] = sgl(iova(h, r + 8192), 4096 - 1512, 0);
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 8);
	sqe.flags = NVME_PSDT_SGL << NVME_SQE_PSDT_SHIFT;
	sqe.sgl = sgl(iova(h, seg1), 32, 2);
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	assert_memory_equal(r, w, 1000);
	assert_int_equal(r[1000], 0xee);
	assert_memory_equal(r + 8192, w + 1512, 4096 - 1512);

	/* Too little data described, or too much. */
	seg2[1].length -= 4;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_DATA));
	seg2[1].length += 8;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_DATA));
	seg2[1].length -= 4;
	/* A bit bucket in a write. */
	sqe.opc = NVME_CMD_WRITE;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_TYPE));
	sqe.opc = NVME_CMD_READ;
	/* A segment descriptor inside the last segment. */
	seg2[0] = sgl(iova(h, seg1), 32, 2);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_LAST));
	/* Bad type, bad length of a segment, unmapped segment. */
	sqe.sgl = sgl(iova(h, seg1), 32, 5);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_TYPE));
	sqe.sgl = sgl(iova(h, seg1), 24, 2);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_COUNT));
	sqe.sgl = sgl(0x5000, 32, 3);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	/* A data block running off its 2 MiB unit. */
	sqe.sgl = sgl(h->iova[0] + NVP_DMA_UNIT_SIZE - 512, 4096, 0);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	/* Admin commands take PRPs only. */
	sqe = (struct nvme_sqe){ .opc = NVME_ADMIN_IDENTIFY, .flags = NVME_PSDT_SGL << NVME_SQE_PSDT_SHIFT, .cdw10 = 1 };
	sqe.sgl = sgl(iova(h, r), 4096, 0);
	assert_int_equal(run(h, &h->aq, &sqe, NULL), GEN_DNR(NVME_SC_INVALID_FIELD));
}

/* sgl=2: SGLS 10b, Data Blocks dword aligned in address and length, and no Bit Bucket. */
static void test_sgl_dword(void **state)
{
	struct host *h = host_up(state, "sgl=2");
	struct tq *q = ioq(h, 1, 4);
	uint8_t *w = host_alloc(h, 8192), *r = host_alloc(h, 8192);
	struct nvme_sgl_desc *seg = host_alloc(h, PAGE);
	struct nvme_id_ctrl *c = host_alloc(h, 4096);
	struct nvme_sqe sqe;

	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 0, NVME_ID_CNS_CTRL, 0, c, 4096, NULL), 0);
	assert_int_equal(c->sgls, NVME_SGLS_DWORD);
	fill(w, 8192, 9);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 8, w, 4096), 0);
	/* Dword-aligned pieces not on pages: fine. */
	memset(r, 0, 8192);
	seg[0] = sgl(iova(h, r + 4), 1020, 0);
	seg[1] = sgl(iova(h, r + 2048), 3076, 0);
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 8);
	sqe.flags = NVME_PSDT_SGL << NVME_SQE_PSDT_SHIFT;
	sqe.sgl = sgl(iova(h, seg), 32, 3);
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	assert_memory_equal(r + 4, w, 1020);
	assert_memory_equal(r + 2048, w + 1020, 3076);
	/* An odd address, an odd length: SGL Data Block Granularity Invalid. */
	seg[0] = sgl(iova(h, r + 5), 1020, 0);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_GRANULARITY));
	seg[0] = sgl(iova(h, r + 4), 1019, 0);
	seg[1] = sgl(iova(h, r + 2048), 3077, 0);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_GRANULARITY));
	/* No Bit Bucket offered (SGLS bit 16 clear): refused even in a read. */
	seg[0] = sgl(0, 1020, 1);
	seg[1] = sgl(iova(h, r + 2048), 3076, 0);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_TYPE));
}

static void test_sgl_disabled(void **state)
{
	struct host *h = host_up(state, "sgl=0");
	struct tq *q = ioq(h, 1, 4);
	uint8_t *r = host_alloc(h, 4096);
	struct nvme_id_ctrl *c = host_alloc(h, 4096);
	struct nvme_sqe sqe = rw_sqe(NVME_CMD_READ, 1, 0, 8);

	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 0, NVME_ID_CNS_CTRL, 0, c, 4096, NULL), 0);
	assert_int_equal(c->sgls, 0);
	sqe.flags = NVME_PSDT_SGL << NVME_SQE_PSDT_SHIFT;
	sqe.sgl = sgl(iova(h, r), 4096, 0);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_INVALID_FIELD));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SIM_TEST(test_read_write),
		SIM_TEST(test_compare_zeroes_dsm_flush),
		SIM_TEST(test_dma_faults),
		SIM_TEST(test_prp),
		SIM_TEST(test_prp_8k_pages),
		SIM_TEST(test_sgl),
		SIM_TEST(test_sgl_disabled),
		SIM_TEST(test_sgl_dword),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
