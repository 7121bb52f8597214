/*
 * Several controllers open at once in one process, every active namespace
 * of each reachable, all working independently: each (controller,
 * namespace, LBA) gets its own pattern, written with commands in flight on
 * all controllers together, then read back; one controller is closed and
 * reopened while the others keep working, and its data is still there.
 *
 * usage: vm_multi [--be NAME] [--mem KIND] [--numa NODE] URI...
 * Each URI is one controller ("0000:00:03.0", "0000:00:04.0/ns=2": the
 * namespace must then be active). With no URI, two sims with 512 B and
 * 4 KiB namespaces, so the unit suite can run it with no guest.
 * Prints one "ctrl" line per controller (with the NUMA node its DMA memory
 * is on) and one "ns" line per namespace;
 * exits 0 when every check passed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <numaif.h>

#include <nvpoll.h>

#include "sync_io.h"

#define MAX_CTRL 8
#define SPOTS 4  /* LBAs checked per namespace */
#define NLB_BYTES 8192 /* bytes per spot */

struct ctrl {
	const char *uri;
	struct nvp_dev *dev;
	struct nvp_qpair *qp;
	uint8_t *buf;		/* one slot per (namespace, spot) */
	unsigned nr_ns;
	const uint32_t *nsids;
};

static struct nvp_opts opts;
static int fails;

#define CHECK(cond, ...)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);                       \
			printf(__VA_ARGS__);                                              \
			printf("\n");                                                     \
			fails++;                                                          \
		}                                                                         \
	} while (0)

static uint64_t spot_lba(const struct nvp_ns_info *info, unsigned s)
{
	uint64_t nlb = NLB_BYTES / info->lba_size, last = info->nsze - nlb;

	switch (s) {
	case 0: return 0;
	case 1: return 1 * nlb;
	case 2: return last / 2 / nlb * nlb;
	default: return last; /* ends on the last LBA */
	}
}

/* Every 8 bytes say which controller, namespace, LBA and word they belong to. */
static void pattern(uint8_t *p, unsigned c, uint32_t nsid, uint64_t lba, unsigned gen)
{
	for (unsigned w = 0; w < NLB_BYTES / 8; w++) {
		uint64_t v = (uint64_t)(c + 1) << 56 | (uint64_t)nsid << 48 | (uint64_t)gen << 44 |
			     (lba & 0xffffffffull) << 12 | w;

		memcpy(p + 8 * w, &v, 8);
	}
}

static uint8_t *slot(struct ctrl *c, unsigned i, unsigned s)
{
	return c->buf + ((size_t)i * SPOTS + s) * NLB_BYTES;
}

/* The node the page at @p is on; -1 when the kernel does not say (no NUMA). */
static int mem_node(void *p)
{
	int node = -1;

	if (get_mempolicy(&node, NULL, 0, p, MPOL_F_NODE | MPOL_F_ADDR) < 0)
		return -1;
	return node;
}

static int open_ctrl(struct ctrl *c, unsigned idx)
{
	const struct nvme_id_ctrl *id;
	char sn[21] = { 0 };

	c->dev = nvp_dev_open(c->uri, &opts);
	if (!c->dev) {
		printf("FAIL open %s: %s\n", c->uri, nvp_errmsg());
		return -1;
	}
	c->nr_ns = nvp_ns_list(c->dev, &c->nsids);
	c->qp = nvp_qpair_create(c->dev, &(struct nvp_qpair_opts){ .depth = 64 });
	c->buf = c->qp ? nvp_dma_alloc(c->dev, (size_t)c->nr_ns * SPOTS * NLB_BYTES) : NULL;
	if (!c->buf) {
		printf("FAIL %s: %s\n", c->uri, nvp_errmsg());
		return -1;
	}
	id = nvp_dev_id_ctrl(c->dev);
	memcpy(sn, id->sn, 20);
	for (int k = 19; k >= 0 && sn[k] == ' '; k--)
		sn[k] = 0;
	printf("ctrl %u %s: backend %s, sn %s, %u active namespaces, DMA memory on node %d\n", idx, c->uri,
	       nvp_dev_backend(c->dev), sn, c->nr_ns, mem_node(c->buf));
	return 0;
}

static void close_ctrl(struct ctrl *c)
{
	if (c->buf)
		nvp_dma_free(c->dev, c->buf);
	nvp_qpair_destroy(c->qp);
	nvp_dev_close(c->dev);
	c->dev = NULL;
	c->qp = NULL;
	c->buf = NULL;
}

/* Post one command per (namespace, spot) on every controller in @cs, then poll them all. */
static void io_all(struct ctrl *cs, unsigned nr, int only, int write, unsigned gen)
{
	struct done d[MAX_CTRL] = { 0 };
	unsigned want[MAX_CTRL] = { 0 };
	time_t deadline = time(NULL) + 60;
	int pending;

	for (unsigned c = 0; c < nr; c++) {
		if (only >= 0 && (int)c != only)
			continue;
		for (unsigned i = 0; i < cs[c].nr_ns; i++) {
			const struct nvp_ns *ns = nvp_ns_get(cs[c].dev, cs[c].nsids[i]);
			const struct nvp_ns_info *info = nvp_ns_info(ns);
			uint32_t nlb = NLB_BYTES / info->lba_size;

			for (unsigned s = 0; s < SPOTS; s++) {
				uint64_t lba = spot_lba(info, s);
				uint8_t *p = slot(&cs[c], i, s);
				int err;

				if (write)
					pattern(p, c, info->nsid, lba, gen);
				else
					memset(p, 0xa5, NLB_BYTES);
				err = write ? nvp_write(cs[c].qp, ns, lba, nlb, p, on_done, &d[c])
					    : nvp_read(cs[c].qp, ns, lba, nlb, p, on_done, &d[c]);
				CHECK(!err, "%s ns %u lba %" PRIu64 ": %s", cs[c].uri, info->nsid, lba, nvp_errmsg());
				want[c] += !err;
			}
		}
	}
	/* Every controller has commands in flight now; reap them side by side. */
	do {
		pending = 0;
		for (unsigned c = 0; c < nr; c++) {
			if (d[c].n < (int)want[c]) {
				nvp_qpair_poll(cs[c].qp, 0);
				pending = 1;
			}
		}
	} while (pending && time(NULL) < deadline);
	for (unsigned c = 0; c < nr; c++) {
		CHECK(d[c].n == (int)want[c], "%s: %d of %u commands completed", cs[c].uri, d[c].n, want[c]);
		CHECK(!d[c].err, "%s: a command failed: %d", cs[c].uri, d[c].err);
	}
}

static void verify(struct ctrl *cs, unsigned nr, int only, const unsigned *gen)
{
	uint8_t want[NLB_BYTES];

	for (unsigned c = 0; c < nr; c++) {
		if (only >= 0 && (int)c != only)
			continue;
		for (unsigned i = 0; i < cs[c].nr_ns; i++) {
			const struct nvp_ns_info *info = nvp_ns_info(nvp_ns_get(cs[c].dev, cs[c].nsids[i]));

			for (unsigned s = 0; s < SPOTS; s++) {
				pattern(want, c, info->nsid, spot_lba(info, s), gen[c]);
				CHECK(!memcmp(want, slot(&cs[c], i, s), NLB_BYTES),
				      "%s ns %u lba %" PRIu64 ": data is not what was written there", cs[c].uri,
				      info->nsid, spot_lba(info, s));
			}
		}
	}
}

int main(int argc, char **argv)
{
	static const char *const sims[] = { "sim:ns=2,lbads=512:4096,sn=SIMA", "sim:ns=3,lbads=4096:512:512,sn=SIMB" };
	struct ctrl cs[MAX_CTRL] = { 0 };
	unsigned gen[MAX_CTRL] = { 0 }, nr = 0;
	int a = 1;

	nvp_opts_init(&opts);
	for (; a + 1 < argc && argv[a][0] == '-'; a += 2) {
		if (!strcmp(argv[a], "--be"))
			opts.be = argv[a + 1];
		else if (!strcmp(argv[a], "--mem"))
			opts.mem = argv[a + 1];
		else if (!strcmp(argv[a], "--numa"))
			opts.numa_node = atoi(argv[a + 1]);
		else
			break;
	}
	for (; a < argc && nr < MAX_CTRL; a++)
		cs[nr++].uri = argv[a];
	if (!nr)
		for (; nr < 2; nr++)
			cs[nr].uri = sims[nr];

	for (unsigned c = 0; c < nr; c++)
		if (open_ctrl(&cs[c], c))
			return 1;
	for (unsigned c = 0; c < nr; c++) {
		for (unsigned i = 0; i < cs[c].nr_ns; i++) {
			const struct nvp_ns_info *info = nvp_ns_info(nvp_ns_get(cs[c].dev, cs[c].nsids[i]));

			printf("ns %u nsid %u: lba %u, %" PRIu64 " blocks\n", c, info->nsid, info->lba_size,
			       info->nsze);
		}
	}

	/* All controllers, all namespaces, at once; then each reads back only its own. */
	io_all(cs, nr, -1, 1, 0);
	io_all(cs, nr, -1, 0, 0);
	verify(cs, nr, -1, gen);

	/* Close and reopen controller 0 while the others write new data. */
	close_ctrl(&cs[0]);
	if (nr > 1) {
		gen[1] = 1;
		io_all(cs, nr, 1, 1, 1);
	}
	if (open_ctrl(&cs[0], 0))
		return 1;
	/* The sim's media lives in the process and goes with close: write it again. */
	if (!strcmp(nvp_dev_backend(cs[0].dev), "sim"))
		io_all(cs, nr, 0, 1, 0);
	io_all(cs, nr, -1, 0, 0);
	/* Controller 0 kept generation 0 across close (shutdown) and reopen; 1 has generation 1. */
	verify(cs, nr, -1, gen);

	for (unsigned c = 0; c < nr; c++)
		close_ctrl(&cs[c]);
	printf("vm_multi: %u controllers, %s\n", nr, fails ? "FAILED" : "all checks passed");
	return fails ? 1 : 0;
}
