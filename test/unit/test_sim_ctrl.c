/* SPDX-License-Identifier: MIT */
/*
 * The sim's controller: its option string, the registers it shows, and
 * enable, disable, shutdown and the enables it refuses. Host: sim_host.h.
 */
#include "sim_host.h"

/* ---- options and registers --------------------------------------------- */

static void test_options(void **state)
{
	static const char *bad[] = {
		"foo=1", "ns=0", "ns=33", "lbads=1000", "lbads=256", "size=0", "size=12X", "mdts=16",
		"mqes=0", "nqueues=0", "dstrd=9", "ns", "ns=", ",ns=1", "ns=1,", "ns=1,,mdts=1",
		"lbads=512:4096,ns=3", "size=1000", "lbads=4096,size=6K", "size=1M:", "sgl=3",
		"lbads=512:4096:512,size=1M:2M", "dbbuf=2", "yield=2", "yield=",
	};
	struct nvp_bus *bus;
	size_t i;

	(void)state;
	for (i = 0; i < NVP_ARRAY_SIZE(bad); i++) {
		bus = NULL;
		if (nvp_sim_ops.open(bad[i], NULL, &bus) != -EINVAL) {
			print_error("option string '%s' was accepted\n", bad[i]);
			fail();
		}
	}
	assert_int_equal(nvp_sim_ops.open("size=1G:16M,lbads=4096,ns=2,mdts=0,to=1,sn=ABC,dbbuf=0,yield=1",
					  NULL, &bus), 0);
	bus->ops->close(bus);
}

static void test_registers(void **state)
{
	struct host *h = host_open(state, "");
	uint64_t cap = nvp_reg_read64(h->bar, NVME_REG_CAP);

	assert_string_equal(nvp_sim_ops.name, "sim");
	assert_string_equal(nvp_sim_ops.default_mem, "libc");
	assert_int_equal(NVME_GET(cap, CAP_MQES), 1023);
	assert_int_equal(NVME_GET(cap, CAP_CQR), 1);
	assert_int_equal(NVME_GET(cap, CAP_TO), 20);
	assert_int_equal(NVME_GET(cap, CAP_DSTRD), 0);
	assert_int_equal(NVME_GET(cap, CAP_CSS), NVME_CAP_CSS_NVM | NVME_CAP_CSS_IOCS);
	assert_int_equal(NVME_GET(cap, CAP_MPSMIN), 0);
	assert_int_equal(reg32(h, NVME_REG_VS), 0x00010400);
	assert_int_equal(reg32(h, NVME_REG_CSTS), 0);
	assert_true(h->bus->bar0_len >= 16384);
	assert_int_equal((uintptr_t)h->bus->bar0 & (PAGE - 1), 0);
	/* Fake IOVAs: never the virtual address, and units not adjacent on the bus. */
	assert_true(h->iova[0] != (uintptr_t)h->mem);
	assert_true(h->iova[1] != h->iova[0] + NVP_DMA_UNIT_SIZE);
}

static void test_dstrd_mqes(void **state)
{
	struct host *h = host_up(state, "dstrd=2,mqes=7,nqueues=4");
	uint64_t cap = nvp_reg_read64(h->bar, NVME_REG_CAP);
	struct tq *q;
	uint8_t *buf;

	assert_int_equal(NVME_GET(cap, CAP_MQES), 7);
	assert_int_equal(NVME_GET(cap, CAP_DSTRD), 2);
	assert_true(h->bus->bar0_len >= NVME_REG_DBS + 2 * 5 * 16);
	/* Queues are reached through the 16-byte doorbell stride. */
	q = ioq(h, 4, 8);
	buf = host_alloc(h, 512);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 1, buf, 512), 0);
	assert_int_equal(create_cq(h, 3, 9, host_alloc(h, 9 * 16), NVME_QUEUE_PHYS_CONTIG),
			 CMD_DNR(NVME_SC_QUEUE_SIZE));
}

/* ---- controller state ------------------------------------------------- */

static void test_enable_disable_shutdown(void **state)
{
	struct host *h = host_open(state, "");
	uint32_t cc;

	assert_true(host_enable(h, 2));
	assert_int_equal(admin(h, NVME_ADMIN_KEEP_ALIVE, 0, 0, NULL), 0);
	host_disable(h);
	assert_int_equal(stats(h)->resets, 1);
	/* Enable again with the same memory: the model starts the queues at 0. */
	assert_true(host_enable(h, 2));
	assert_int_equal(admin(h, NVME_ADMIN_KEEP_ALIVE, 0, 0, NULL), 0);
	cc = cc_value(h, 1) | (uint32_t)NVME_SET(NVME_CC_SHN_NORMAL, CC_SHN);
	wreg32(h, NVME_REG_CC, cc);
	assert_true(wait_csts(h, CSTS_SHST, NVME_SET(NVME_CSTS_SHST_COMPLETE, CSTS_SHST), WAIT_MS));
	/* SHN back to 0 clears SHST (as QEMU does). */
	wreg32(h, NVME_REG_CC, cc_value(h, 1));
	assert_true(wait_csts(h, CSTS_SHST, 0, WAIT_MS));
	host_disable(h);
}

static void test_ready_delay(void **state)
{
	struct host *h = host_open(state, "ready_ms=60");
	uint64_t t0 = now_ms();

	assert_true(host_enable(h, 4));
	assert_true(now_ms() - t0 >= 60);
}

static void test_enable_refused(void **state)
{
	struct host *h = host_open(state, "");
	uint8_t *q = host_alloc(h, PAGE);

	/* ASQ outside any dma_map: a DMA fault, so CFS. */
	wreg32(h, NVME_REG_AQA, 0x00030003);
	nvp_reg_write64(h->bar, NVME_REG_ASQ, 0x4000);
	nvp_reg_write64(h->bar, NVME_REG_ACQ, iova(h, q));
	wreg32(h, NVME_REG_CC, cc_value(h, 1));
	assert_true(wait_csts(h, CSTS_CFS, CSTS_CFS, WAIT_MS));
	assert_int_equal(reg32(h, NVME_REG_CSTS) & CSTS_RDY, 0);
	assert_true(stats(h)->dma_faults >= 1);
	/* A reset clears CFS. */
	wreg32(h, NVME_REG_CC, cc_value(h, 0));
	assert_true(wait_csts(h, CSTS_CFS, 0, WAIT_MS));
	/* An admin queue of one entry is refused too. */
	wreg32(h, NVME_REG_AQA, 0);
	nvp_reg_write64(h->bar, NVME_REG_ASQ, iova(h, q));
	wreg32(h, NVME_REG_CC, cc_value(h, 1));
	assert_true(wait_csts(h, CSTS_CFS, CSTS_CFS, WAIT_MS));
	wreg32(h, NVME_REG_CC, cc_value(h, 0));
	assert_true(wait_csts(h, CSTS_CFS, 0, WAIT_MS));
	/* Unaligned ASQ. */
	nvp_reg_write64(h->bar, NVME_REG_ASQ, iova(h, q) + 64);
	wreg32(h, NVME_REG_AQA, 0x00030003);
	wreg32(h, NVME_REG_CC, cc_value(h, 1));
	assert_true(wait_csts(h, CSTS_CFS, CSTS_CFS, WAIT_MS));
	wreg32(h, NVME_REG_CC, cc_value(h, 0));
	assert_true(wait_csts(h, CSTS_CFS, 0, WAIT_MS));
	assert_true(host_enable(h, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SIM_TEST(test_options),
		SIM_TEST(test_registers),
		SIM_TEST(test_dstrd_mqes),
		SIM_TEST(test_enable_disable_shutdown),
		SIM_TEST(test_ready_delay),
		SIM_TEST(test_enable_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
