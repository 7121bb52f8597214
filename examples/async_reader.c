/* SPDX-License-Identifier: MIT */
/*
 * async_reader: several threads, each with its own qpair, each keeping a
 * queue depth of random 1-block reads in flight. A completion callback
 * counts the read and posts the next one from the same slot; the thread's
 * loop does nothing but poll. No lock is taken: a qpair and everything its
 * callbacks touch belong to one thread.
 *
 *   cc async_reader.c $(pkg-config --cflags --libs nvpoll) -o async_reader
 *   ./async_reader [-t THREADS] [-q DEPTH] [-n READS] [-w] [DEVICE]
 *
 * DEVICE is a PCI address bound to vfio-pci, or sim (the default). Each
 * thread reads its own 1024-block region of the first active namespace.
 * With -w, every block of those regions is first stamped with its own LBA
 * (this overwrites them), and each read checks the stamp it finds.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nvpoll.h>

#define REGION_BLOCKS 1024
#define STAMP_MAGIC 0x6e76706f6c6c2121ull /* "nvpoll!!" */

struct reader;

/* One command in flight: its buffer and what it asked for. */
struct slot {
	struct reader *r;
	void *buf;
	uint64_t lba;
};

struct reader {
	pthread_t tid;
	unsigned id;
	struct nvp_qpair *qp;
	struct slot *slots;
	uint64_t first_lba;
	uint64_t rng;
	unsigned long posted, completed, errors, mismatches;
	int failed; /* a read could not be posted: stop */
};

static struct nvp_dev *dev;
static const struct nvp_ns *ns;
static uint32_t lba_size;
static unsigned depth = 32;
static unsigned long reads = 20000;
static int check;

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void on_read(void *arg, int err, const struct nvme_cqe *cqe);

static void post_read(struct slot *s)
{
	struct reader *r = s->r;
	int err;

	s->lba = r->first_lba + next_rand(&r->rng) % REGION_BLOCKS;
	err = nvp_read(r->qp, ns, s->lba, 1, s->buf, on_read, s);
	if (err) {
		fprintf(stderr, "async_reader: thread %u: %s\n", r->id, nvp_errmsg());
		r->failed = 1;
		return;
	}
	r->posted++;
}

/* Runs inside nvp_qpair_poll() on the reader's thread; may post, must not poll. */
static void on_read(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct slot *s = arg;
	struct reader *r = s->r;
	uint64_t stamp[2];

	r->completed++;
	if (err) {
		char status[96];

		if (r->errors++ == 0)
			fprintf(stderr, "async_reader: thread %u: read of block %" PRIu64 ": %s\n", r->id,
				s->lba, nvp_status_format(nvp_cqe_status(cqe), status, sizeof(status)));
	} else if (check) {
		memcpy(stamp, s->buf, sizeof(stamp));
		if (stamp[0] != s->lba || stamp[1] != STAMP_MAGIC)
			r->mismatches++;
	}
	if (r->posted < reads && !r->failed)
		post_read(s);
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct nvp_qpair_opts qo = { .depth = depth + 1 }; /* depth - 1 can be in flight */

	r->qp = nvp_qpair_create(dev, &qo);
	if (!r->qp) {
		fprintf(stderr, "async_reader: thread %u: %s\n", r->id, nvp_errmsg());
		r->failed = 1;
		return NULL;
	}
	for (unsigned i = 0; i < depth && r->posted < reads && !r->failed; i++)
		post_read(&r->slots[i]);
	/* The whole I/O loop: poll rings the doorbell for what was posted, then reaps. */
	while (r->completed < r->posted)
		nvp_qpair_poll(r->qp, 0);
	nvp_qpair_destroy(r->qp);
	return NULL;
}

static void on_write(void *arg, int err, const struct nvme_cqe *cqe)
{
	(void)cqe;
	if (err)
		++*(unsigned long *)arg;
}

/* -w: stamp each block of the regions with its LBA, in batches of @depth writes. */
static int stamp_regions(unsigned threads)
{
	struct nvp_qpair *qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = depth + 1 });
	uint8_t *bufs = nvp_dma_alloc(dev, (size_t)depth * lba_size);
	uint64_t lba = 0, end = (uint64_t)threads * REGION_BLOCKS;
	unsigned long failed = 0;
	int err = 0;

	if (!qp || !bufs) {
		fprintf(stderr, "async_reader: %s\n", nvp_errmsg());
		return -1;
	}
	while (lba < end && !err && !failed) {
		/* A buffer is reused only after the whole batch that used it completed. */
		for (unsigned i = 0; i < depth && lba < end && !err; i++, lba++) {
			uint64_t stamp[2] = { lba, STAMP_MAGIC };

			memcpy(bufs + (size_t)i * lba_size, stamp, sizeof(stamp));
			err = nvp_write(qp, ns, lba, 1, bufs + (size_t)i * lba_size, on_write, &failed);
		}
		while (nvp_qpair_outstanding(qp))
			nvp_qpair_poll(qp, 0);
	}
	if (err || failed)
		fprintf(stderr, "async_reader: stamping: %s\n", err ? nvp_errmsg() : "a write failed");
	nvp_qpair_destroy(qp);
	nvp_dma_free(dev, bufs);
	return err || failed ? -1 : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned threads = 2, nsz;
	unsigned long total = 0, errors = 0, mismatches = 0;
	const uint32_t *nsids;
	struct reader *rs;
	double start, secs;
	int c, failed = 0;

	while ((c = getopt(argc, argv, "t:q:n:w")) != -1) {
		switch (c) {
		case 't': threads = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'q': depth = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'n': reads = strtoul(optarg, NULL, 0); break;
		case 'w': check = 1; break;
		default:
			fprintf(stderr, "usage: async_reader [-t THREADS] [-q DEPTH] [-n READS] [-w] [DEVICE]\n");
			return 2;
		}
	}
	if (threads < 1 || threads > 64 || depth < 1 || depth > 1023) {
		fprintf(stderr, "async_reader: -t takes 1..64, -q 1..1023\n");
		return 2;
	}
	dev = nvp_dev_open(optind < argc ? argv[optind] : "sim", NULL);
	if (!dev) {
		fprintf(stderr, "async_reader: %s\n", nvp_errmsg());
		return 1;
	}
	nsz = nvp_ns_list(dev, &nsids);
	ns = nsz ? nvp_ns_get(dev, nsids[0]) : NULL;
	if (!ns || nvp_ns_info(ns)->nsze < (uint64_t)threads * REGION_BLOCKS) {
		fprintf(stderr, "async_reader: need a namespace of at least %u blocks\n", threads * REGION_BLOCKS);
		nvp_dev_close(dev);
		return 1;
	}
	lba_size = nvp_ns_info(ns)->lba_size;
	if (check && stamp_regions(threads)) {
		nvp_dev_close(dev);
		return 1;
	}

	rs = calloc(threads, sizeof(*rs));
	for (unsigned t = 0; rs && t < threads; t++) {
		struct reader *r = &rs[t];

		r->id = t;
		r->first_lba = (uint64_t)t * REGION_BLOCKS;
		r->rng = 0x9e3779b97f4a7c15ull * (t + 1);
		r->slots = calloc(depth, sizeof(*r->slots));
		for (unsigned i = 0; r->slots && i < depth; i++) {
			r->slots[i].r = r;
			r->slots[i].buf = nvp_dma_alloc(dev, lba_size); /* DMA memory, any thread */
			failed |= !r->slots[i].buf;
		}
		failed |= !r->slots;
	}
	if (!rs || failed) {
		fprintf(stderr, "async_reader: out of memory: %s\n", nvp_errmsg());
		nvp_dev_close(dev);
		return 1;
	}

	start = now_s();
	for (unsigned t = 0; t < threads; t++)
		if (pthread_create(&rs[t].tid, NULL, reader_main, &rs[t])) {
			fprintf(stderr, "async_reader: pthread_create failed\n");
			threads = t;
			failed = 1;
		}
	for (unsigned t = 0; t < threads; t++)
		pthread_join(rs[t].tid, NULL);
	secs = now_s() - start;

	for (unsigned t = 0; t < threads; t++) {
		struct reader *r = &rs[t];

		printf("thread %u: %lu reads, %lu errors%s", t, r->completed, r->errors, check ? ", " : "\n");
		if (check)
			printf("%lu stamp mismatches\n", r->mismatches);
		total += r->completed;
		errors += r->errors;
		mismatches += r->mismatches;
		failed |= r->failed || r->completed != reads;
		free(r->slots); /* their buffers go with nvp_dev_close() */
	}
	printf("%lu reads in %.3f s: %.0f IOPS, %u threads at depth %u\n", total, secs, total / secs,
	       threads, depth);
	free(rs);
	nvp_dev_close(dev);
	return failed || errors || mismatches ? 1 : 0;
}
