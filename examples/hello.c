/* SPDX-License-Identifier: MIT */
/*
 * hello: open a controller, say what it is, write one block, read it back.
 *   cc hello.c $(pkg-config --cflags --libs nvpoll) -o hello
 *   ./hello [DEVICE]   a PCI address bound to vfio-pci, or sim (the default)
 * It overwrites the last logical block of the first active namespace.
 */
#include <stdio.h>
#include <string.h>
#include <nvpoll.h>

struct result { int done, err; uint16_t status; };

/* Runs inside nvp_qpair_poll(), on the thread that polls. */
static void on_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	*(struct result *)arg = (struct result){ .done = 1, .err = err, .status = nvp_cqe_status(cqe) };
}

/* Wait for one posted command: each poll rings the doorbell, then reaps. */
static int wait_for(struct nvp_qpair *qp, int posted, struct result *r, const char *what)
{
	char status[96];

	if (posted)
		return fprintf(stderr, "hello: %s: %s\n", what, nvp_errmsg()), -1;
	while (!r->done)
		nvp_qpair_poll(qp, 0);
	if (r->err)
		fprintf(stderr, "hello: %s: %s\n", what, nvp_status_format(r->status, status, sizeof(status)));
	return r->err;
}

/* Identify strings are padded with spaces, not terminated. */
static int len(const char *s, int n)
{
	while (n && (s[n - 1] == ' ' || !s[n - 1]))
		n--;
	return n;
}

int main(int argc, char **argv)
{
	struct nvp_dev *dev = nvp_dev_open(argc > 1 ? argv[1] : "sim", NULL);
	struct result wr = { 0 }, rd = { 0 };
	const struct nvp_ns_info *info;
	const struct nvme_id_ctrl *id;
	const struct nvp_ns *ns;
	const uint32_t *nsids;
	struct nvp_qpair *qp;
	char *out, *in;
	int rc = 1;

	if (!dev)
		return fprintf(stderr, "hello: %s\n", nvp_errmsg()), 1;
	id = nvp_dev_id_ctrl(dev);
	printf("%.*s, serial %.*s, NVMe %u.%u, through %s\n", len(id->mn, 40), id->mn, len(id->sn, 20),
	       id->sn, nvp_dev_vs(dev) >> 16, nvp_dev_vs(dev) >> 8 & 0xff, nvp_dev_backend(dev));
	if (nvp_ns_list(dev, &nsids) == 0 || !(ns = nvp_ns_get(dev, nsids[0]))) {
		fprintf(stderr, "hello: no active namespace\n");
		goto out;
	}
	info = nvp_ns_info(ns);
	qp = nvp_qpair_create(dev, NULL); /* one per thread that submits */
	out = nvp_dma_alloc(dev, 2 * info->lba_size); /* data buffers must be DMA memory */
	if (!qp || !out) {
		fprintf(stderr, "hello: %s\n", nvp_errmsg());
		goto out;
	}
	in = strcpy(out, "hello, nvpoll") + info->lba_size;
	if (wait_for(qp, nvp_write(qp, ns, info->nsze - 1, 1, out, on_done, &wr), &wr, "write") ||
	    wait_for(qp, nvp_read(qp, ns, info->nsze - 1, 1, in, on_done, &rd), &rd, "read"))
		goto out;
	printf("namespace %u, block %llu: \"%s\"\n", info->nsid, (unsigned long long)info->nsze - 1, in);
	rc = strcmp(in, out) != 0;
out:
	nvp_dev_close(dev); /* destroys the qpair, frees the buffer, shuts down cleanly */
	return rc;
}
