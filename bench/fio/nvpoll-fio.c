/* SPDX-License-Identifier: MIT */
/*
 * nvpoll as a fio external ioengine (build/nvpoll-fio.so):
 *
 *   fio --ioengine=external:build/nvpoll-fio.so --thread=1 \
 *       --filename=0000.00.05.0/ns=1 --rw=randread --bs=4k --iodepth=32 ...
 *
 * fio splits --filename at every ':', so a device is written with '.' in
 * place of ':' ("0000.00.05.0", domain optional: "00.05.0"), or with each
 * ':' escaped as "\:"; "/ns=N" picks the namespace (default: the first
 * active one). "sim" (or "sim\:ns=2,size=256M") is the in-process model,
 * "nil" the one that does nothing; a kernel node ("/dev/ng0n1",
 * "/dev/nvme0n1") goes through the kernel's path for it (io_uring_cmd,
 * io_uring; NVP_BE names another), its namespace the node's.
 *
 * Shape: one nvp_dev per controller per process, opened by the first job
 * that names it and closed when the last job using it ends (refcounted);
 * one qpair per job, on the job's own thread, so nothing on the I/O path is
 * shared. queue() posts a command without ringing; commit() rings once per
 * batch (iodepth_batch); getevents() polls. I/O buffers come from
 * nvp_dma_alloc() through fio's iomem hooks, so no data is copied.
 *
 * All files of one job must be on one controller (their namespaces may
 * differ): the job's buffers are that controller's DMA memory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fio.h"

#include <nvpoll.h>
#include "tool.h"

#ifndef NVP_FIO_VERSION
#error "build with -DNVP_FIO_VERSION='\"fio-X.Y\"': the fio release the headers come from"
#endif

#define NVF_URI_MAX 256

/* One opened controller, shared by every job that names it. */
struct nvf_dev {
	struct nvf_dev *next;
	char uri[NVF_URI_MAX];
	struct nvp_dev *dev;
	unsigned refs;
};

/* Per job (fio thread): its controller, its qpair, its completions. */
struct nvf_thread {
	struct nvf_dev *ndev;
	struct nvp_qpair *qp;
	unsigned depth;			/* fio's iodepth: io_u indexes are below it */
	struct nvme_dsm_range *ranges;	/* one per io_u, DMA memory: trims */
	uint16_t *status;		/* NVMe status of each io_u's last completion */
	struct io_u **events;		/* completed in this getevents() */
	unsigned nr_events, max_events;
	struct io_u **queued;		/* posted since the last commit() */
	unsigned nr_queued;
	struct nvf_file *files;		/* every file state this job made */
	int logged;			/* a submission error was explained once */
};

/* Per fio file of a job (fio_file->engine_data). */
struct nvf_file {
	struct nvf_file *next;
	struct nvf_thread *thr;
	const struct nvp_ns *ns;
	unsigned lba_shift;
};

static pthread_mutex_t devs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nvf_dev *devs;

/*
 * The headers we were built with must be those of the fio that loaded us:
 * struct thread_data and struct io_u change between releases without
 * FIO_IOOPS_VERSION always following.
 */
static int check_fio_version(void)
{
	if (strcmp(fio_version_string, NVP_FIO_VERSION) == 0)
		return 0;
	log_err("nvpoll-fio: built against %s's headers but loaded by %s: rebuild it "
		"(make fio) against the installed fio\n", NVP_FIO_VERSION, fio_version_string);
	return 1;
}

/*
 * "0000.00.05.0/ns=1" -> uri "0000:00:05.0", nsid 1. A PCI address may use
 * '.' for ':' (fio's file separator); without a domain it gets 0000, so
 * that every spelling of one controller finds the same nvf_dev. nsid 0:
 * none given.
 */
static int parse_filename(const char *name, char *uri, size_t len, uint32_t *nsid)
{
	const char *slash = strstr(name, "/ns=");
	size_t n = slash ? (size_t)(slash - name) : strlen(name);
	unsigned colons = 0, dots = 0;
	char dev[NVF_URI_MAX];

	*nsid = 0;
	if (slash) {
		uint64_t v;

		if (slash[4] < '0' || slash[4] > '9' || tool_parse_u64(slash + 4, TOOL_NUM_DECIMAL, 0xfffffffe, &v) ||
		    v == 0)
			return -EINVAL;
		*nsid = (uint32_t)v;
	}
	if (n == 0 || n >= sizeof(dev))
		return -EINVAL;
	memcpy(dev, name, n);
	dev[n] = '\0';
	if (strcmp(dev, "sim") == 0 || strncmp(dev, "sim:", 4) == 0 || strcmp(dev, "nil") == 0 ||
	    strncmp(dev, "nil:", 4) == 0 || strncmp(dev, "/dev/", 5) == 0 || strncmp(dev, "tcp://", 6) == 0) {
		/* The library checks kernel nodes (/dev/ngXnY, /dev/nvmeXnY) and tcp:// URIs. */
		snprintf(uri, len, "%s", dev);
		return 0;
	}
	for (char *p = dev; *p; p++) {
		colons += *p == ':';
		dots += *p == '.';
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	}
	/* Dotted form: every '.' but the last (device.function) was a ':'. */
	if (colons == 0 && dots >= 2) {
		char *last = strrchr(dev, '.');

		for (char *p = dev; p < last; p++)
			if (*p == '.') {
				*p = ':';
				colons++;
			}
	}
	if (snprintf(uri, len, "%s%s", colons == 1 ? "0000:" : "", dev) >= (int)len)
		return -EINVAL;
	return 0;
}

/* NVPOLL_FIO_SHADOW_DOORBELLS=1: opts.shadow_doorbells, for every controller this process opens. */
static const struct nvp_opts *dev_opts(void)
{
	static struct nvp_opts opts;
	const char *env = getenv("NVPOLL_FIO_SHADOW_DOORBELLS");

	nvp_opts_init(&opts);
	opts.shadow_doorbells = env && strcmp(env, "1") == 0;
	return &opts;
}

static struct nvf_dev *dev_get(const char *uri)
{
	struct nvf_dev *d;

	pthread_mutex_lock(&devs_lock);
	for (d = devs; d; d = d->next)
		if (strcmp(d->uri, uri) == 0)
			break;
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d) {
			log_err("nvpoll-fio: out of memory\n");
			errno = ENOMEM;
			goto out;
		}
		snprintf(d->uri, sizeof(d->uri), "%s", uri);
		d->dev = nvp_dev_open(uri, dev_opts());
		if (!d->dev) {
			int err = errno;

			log_err("nvpoll-fio: %s\n", nvp_errmsg());
			free(d);
			d = NULL;
			errno = err;
			goto out;
		}
		if (nvp_dev_shadow_doorbells(d->dev))
			log_info("nvpoll-fio: %s: shadow doorbells\n", uri);
		d->next = devs;
		devs = d;
	}
	d->refs++;
out:
	pthread_mutex_unlock(&devs_lock);
	return d;
}

/* The last job to let go closes the controller: a clean shutdown (CC.SHN). */
static void dev_put(struct nvf_dev *d)
{
	struct nvf_dev **pp;

	pthread_mutex_lock(&devs_lock);
	if (--d->refs == 0) {
		for (pp = &devs; *pp != d; pp = &(*pp)->next)
			;
		*pp = d->next;
		nvp_dev_close(d->dev);
		free(d);
	}
	pthread_mutex_unlock(&devs_lock);
}

/* A job that failed before its cleanup ran must not leave a controller running. */
__attribute__((destructor)) static void nvf_unload(void)
{
	while (devs) {
		struct nvf_dev *d = devs;

		devs = d->next;
		nvp_dev_close(d->dev);
		free(d);
	}
}

static struct nvf_thread *thread_state(struct thread_data *td)
{
	if (!td->io_ops_data)
		td->io_ops_data = calloc(1, sizeof(struct nvf_thread));
	if (!td->io_ops_data)
		log_err("nvpoll-fio: out of memory\n");
	return td->io_ops_data;
}

/*
 * Open (or share) the file's controller and find its namespace. Idempotent:
 * setup() calls it in fio's main thread before jobs start, init() again in
 * the job's thread for the files setup() did not see (create_serialize=0).
 */
static int attach_file(struct thread_data *td, struct fio_file *f)
{
	struct nvf_thread *thr = thread_state(td);
	char uri[NVF_URI_MAX];
	const struct nvp_ns_info *info;
	struct nvf_file *ff;
	const uint32_t *nsids;
	uint32_t nsid;

	if (!thr)
		return -ENOMEM;
	if (FILE_ENG_DATA(f))
		return 0;
	if (parse_filename(f->file_name, uri, sizeof(uri), &nsid)) {
		log_err("nvpoll-fio: '%s' is not a device: write a PCI address with '.' for ':' "
			"(0000.00.05.0, or escape each ':' as '\\:'), optionally /ns=N, a kernel node /dev/ngXnY or "
			"/dev/nvmeXnY, sim, nil, or tcp\\://HOST/NQN with each ':' escaped\n",
			f->file_name);
		return -EINVAL;
	}
	if (!thr->ndev) {
		thr->ndev = dev_get(uri);
		if (!thr->ndev)
			return errno ? -errno : -ENODEV;
	} else if (strcmp(thr->ndev->uri, uri) != 0) {
		log_err("nvpoll-fio: job %s: %s and %s are different controllers: one job drives one "
			"controller (its buffers are that controller's DMA memory); use one job each\n",
			td->o.name, thr->ndev->uri, uri);
		return -EINVAL;
	}
	if (nsid == 0)
		nsid = nvp_dev_nsid(thr->ndev->dev); /* a kernel node names its namespace */
	if (nsid == 0) {
		if (nvp_ns_list(thr->ndev->dev, &nsids) == 0) {
			log_err("nvpoll-fio: %s has no active namespace\n", uri);
			return -ENOENT;
		}
		nsid = nsids[0];
	}
	ff = calloc(1, sizeof(*ff));
	if (!ff) {
		log_err("nvpoll-fio: out of memory\n");
		return -ENOMEM;
	}
	ff->ns = nvp_ns_get(thr->ndev->dev, nsid);
	if (!ff->ns) {
		log_err("nvpoll-fio: %s: namespace %u is not active\n", uri, nsid);
		free(ff);
		return -ENOENT;
	}
	info = nvp_ns_info(ff->ns);
	ff->lba_shift = (unsigned)__builtin_ctz(info->lba_size);
	ff->thr = thr;
	ff->next = thr->files;
	thr->files = ff;
	FILE_SET_ENG_DATA(f, ff);

	f->filetype = FIO_TYPE_BLOCK;
	f->real_file_size = info->nsze << ff->lba_shift;
	fio_file_set_size_known(f);
	return 0;
}

/* attach_file() for each of the job's files; 1 (the error recorded for @where) on failure. */
static int attach_files(struct thread_data *td, const char *where)
{
	struct fio_file *f;
	unsigned i;

	for_each_file(td, f, i) {
		int err = attach_file(td, f);

		if (err) {
			td_verror(td, -err, where);
			return 1;
		}
	}
	return 0;
}

static int nvf_setup(struct thread_data *td)
{
	if (check_fio_version())
		return 1;
	if (!td->o.use_thread) {
		log_err("nvpoll-fio: job %s: add --thread=1 (thread=1 in a job file): one process "
			"owns the controller and every job is a thread in it\n", td->o.name);
		return 1;
	}
	return attach_files(td, "nvpoll-fio setup");
}

/* Refuse at start what every I/O would fail on, with a reason. */
static int check_job(struct thread_data *td, struct nvf_thread *thr)
{
	struct nvp_dev *dev = thr->ndev->dev;
	size_t max_xfer = nvp_dev_max_xfer(dev);
	struct nvf_file *ff;

	for (ff = thr->files; ff; ff = ff->next) {
		unsigned long long lba = 1ull << ff->lba_shift;

		for (int d = DDIR_READ; d <= DDIR_TRIM; d++) {
			if (td->o.min_bs[d] % lba || td->o.max_bs[d] % lba) {
				log_err("nvpoll-fio: job %s: bs=%llu..%llu (%s) is not a multiple of the "
					"namespace's %llu-byte blocks\n", td->o.name, td->o.min_bs[d],
					td->o.max_bs[d], io_ddir_name(d), lba);
				return 1;
			}
		}
	}
	for (int d = DDIR_READ; d <= DDIR_WRITE; d++)
		if (td->o.max_bs[d] > max_xfer) {
			log_err("nvpoll-fio: job %s: bs=%llu (%s) is above the controller's largest "
				"transfer, %zu bytes (MDTS); nvpoll does not split commands\n",
				td->o.name, td->o.max_bs[d], io_ddir_name(d), max_xfer);
			return 1;
		}
	if (td_trim(td) && !(nvp_dev_id_ctrl(dev)->oncs & NVME_ONCS_DSM)) {
		log_err("nvpoll-fio: job %s: %s has no Dataset Management (ONCS bit 2): no trim\n",
			td->o.name, thr->ndev->uri);
		return 1;
	}
	if (td->o.iodepth + 1 > nvp_dev_max_queue_depth(dev)) {
		log_err("nvpoll-fio: job %s: iodepth=%u needs %u queue entries; the controller "
			"allows %u (CAP.MQES)\n", td->o.name, td->o.iodepth, td->o.iodepth + 1,
			nvp_dev_max_queue_depth(dev));
		return 1;
	}
	return 0;
}

/* In the job's thread: the qpair and everything the I/O path needs, allocated once. */
static int nvf_init(struct thread_data *td)
{
	struct nvp_qpair_opts qo = { 0 };
	struct nvf_thread *thr;

	if (check_fio_version() || attach_files(td, "nvpoll-fio init"))
		return 1;
	thr = td->io_ops_data;
	if (!thr || !thr->ndev) {
		log_err("nvpoll-fio: job %s names no device (--filename)\n", td->o.name);
		return 1;
	}
	if (check_job(td, thr)) {
		td_verror(td, EINVAL, "nvpoll-fio init");
		return 1;
	}
	thr->depth = td->o.iodepth;
	thr->events = calloc(thr->depth, sizeof(*thr->events));
	thr->queued = calloc(thr->depth, sizeof(*thr->queued));
	thr->status = calloc(thr->depth, sizeof(*thr->status));
	if (!thr->events || !thr->queued || !thr->status) {
		log_err("nvpoll-fio: out of memory\n");
		return 1;
	}
	if (td_trim(td)) {
		/* The controller reads the range list: it must be DMA memory. */
		thr->ranges = nvp_dma_alloc(thr->ndev->dev, thr->depth * sizeof(*thr->ranges));
		if (!thr->ranges) {
			log_err("nvpoll-fio: %s\n", nvp_errmsg());
			return 1;
		}
	}
	/* A qpair keeps depth - 1 commands in flight: one more than iodepth. */
	qo.depth = thr->depth + 1;
	thr->qp = nvp_qpair_create(thr->ndev->dev, &qo);
	if (!thr->qp) {
		log_err("nvpoll-fio: job %s: %s\n", td->o.name, nvp_errmsg());
		return 1;
	}
	return 0;
}

/* NVPOLL_FIO_STATS=1: what the qpair did, to tell doorbell and poll costs from fio's own. */
static void print_stats(struct thread_data *td, struct nvf_thread *thr)
{
	struct nvp_qpair_stats st;
	const char *env = getenv("NVPOLL_FIO_STATS");

	if (!env || strcmp(env, "1") != 0)
		return;
	nvp_qpair_stats(thr->qp, &st);
	log_info("nvpoll-fio: job %s: %llu commands, %llu SQ doorbells, %llu completions, %llu CQ doorbells, "
		 "%llu polls (%llu empty)\n", td->o.name, (unsigned long long)st.submitted,
		 (unsigned long long)st.sq_doorbells, (unsigned long long)st.completed,
		 (unsigned long long)st.cq_doorbells, (unsigned long long)st.polls,
		 (unsigned long long)st.polls_empty);
}

static void nvf_cleanup(struct thread_data *td)
{
	struct nvf_thread *thr = td->io_ops_data;
	struct nvf_file *ff;

	if (!thr)
		return;
	if (thr->qp) {
		print_stats(td, thr);
		nvp_qpair_destroy(thr->qp);
	}
	if (thr->ranges)
		nvp_dma_free(thr->ndev->dev, thr->ranges);
	while ((ff = thr->files)) {
		thr->files = ff->next;
		free(ff);
	}
	if (thr->ndev)
		dev_put(thr->ndev);
	free(thr->events);
	free(thr->queued);
	free(thr->status);
	free(thr);
	td->io_ops_data = NULL;
}

/* io_u buffers: DMA memory of the job's controller, so reads land in place. */
static int nvf_iomem_alloc(struct thread_data *td, size_t total_mem)
{
	struct nvf_thread *thr = td->io_ops_data;

	if (!thr || !thr->ndev)
		return 1;
	td->orig_buffer = nvp_dma_alloc(thr->ndev->dev, total_mem);
	if (!td->orig_buffer) {
		log_err("nvpoll-fio: %zu bytes of I/O buffers: %s\n", total_mem, nvp_errmsg());
		return 1;
	}
	return 0;
}

static void nvf_iomem_free(struct thread_data *td)
{
	struct nvf_thread *thr = td->io_ops_data;

	if (thr && thr->ndev && td->orig_buffer)
		nvp_dma_free(thr->ndev->dev, td->orig_buffer);
	td->orig_buffer = NULL;
}

/* Runs inside nvp_qpair_poll(), on the job's thread. */
static void nvf_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct io_u *io_u = arg;
	struct nvf_thread *thr = ((struct nvf_file *)FILE_ENG_DATA(io_u->file))->thr;

	thr->status[io_u->index] = nvp_cqe_status(cqe);
	io_u->error = err ? -err : 0;
	thr->events[thr->nr_events++] = io_u;
}

static enum fio_q_status nvf_queue(struct thread_data *td, struct io_u *io_u)
{
	struct nvf_thread *thr = td->io_ops_data;
	struct nvf_file *ff = FILE_ENG_DATA(io_u->file);
	uint64_t mask = (1ull << ff->lba_shift) - 1;
	uint64_t slba = io_u->offset >> ff->lba_shift;
	uint64_t nlb = io_u->xfer_buflen >> ff->lba_shift;
	struct nvme_dsm_range *r;
	const char *why = NULL;
	int err;

	thr->status[io_u->index] = 0;
	if (ddir_rw(io_u->ddir) && ((io_u->offset | io_u->xfer_buflen) & mask)) {
		why = "not a whole number of logical blocks";
		err = -EINVAL;
		goto out_error;
	}
	switch (io_u->ddir) {
	case DDIR_READ:
		err = nvp_read(thr->qp, ff->ns, slba, (uint32_t)nlb, io_u->xfer_buf, nvf_done, io_u);
		break;
	case DDIR_WRITE:
		err = nvp_write(thr->qp, ff->ns, slba, (uint32_t)nlb, io_u->xfer_buf, nvf_done, io_u);
		break;
	case DDIR_TRIM:
		if (nlb > UINT32_MAX) {
			why = "more than 2^32 - 1 blocks in one trim";
			err = -E2BIG;
			goto out_error;
		}
		r = &thr->ranges[io_u->index];
		r->cattr = 0;
		r->nlb = (uint32_t)nlb;
		r->slba = slba;
		err = nvp_dsm(thr->qp, ff->ns, r, 1, nvf_done, io_u);
		break;
	case DDIR_SYNC:
	case DDIR_DATASYNC:
		err = nvp_flush(thr->qp, ff->ns, nvf_done, io_u);
		break;
	default:
		why = "nvpoll-fio has no command for this";
		err = -EOPNOTSUPP;
		goto out_error;
	}
	if (err == -EAGAIN)
		return FIO_Q_BUSY; /* fio commits, reaps, and queues it again */
	if (err)
		goto out_error;
	thr->queued[thr->nr_queued++] = io_u;
	return FIO_Q_QUEUED;

out_error:
	if (!thr->logged) {
		thr->logged = 1;
		log_err("nvpoll-fio: %s %s offset=%llu len=%llu: %s\n", io_u->file->file_name,
			io_ddir_name(io_u->ddir), io_u->offset, io_u->xfer_buflen,
			why ? why : nvp_errmsg());
	}
	io_u->error = -err;
	return FIO_Q_COMPLETED;
}

/* One doorbell write for everything queued since the last commit. */
static int nvf_commit(struct thread_data *td)
{
	struct nvf_thread *thr = td->io_ops_data;
	struct timespec now;

	if (!thr->nr_queued)
		return 0;
	nvp_qpair_ring(thr->qp);
	/* Issue time is the ring, not the post: iodepth_batch shows in slat. */
	if (fio_fill_issue_time(td)) {
		fio_gettime(&now, NULL);
		for (unsigned i = 0; i < thr->nr_queued; i++) {
			thr->queued[i]->issue_time = now;
			io_u_queued(td, thr->queued[i]);
		}
		if (td->o.read_iolog_file)
			td->last_issue = now;
	}
	io_u_mark_submit(td, thr->nr_queued);
	thr->nr_queued = 0;
	return 0;
}

static int nvf_getevents(struct thread_data *td, unsigned int min, unsigned int max,
			 const struct timespec *t)
{
	struct nvf_thread *thr = td->io_ops_data;
	struct timespec start;
	int timed = 0;

	thr->nr_events = 0;
	while (thr->nr_events < max) {
		/* Never reap more than fio can take: the cap bounds the callbacks. */
		if (nvp_qpair_poll(thr->qp, max - thr->nr_events) == 0 && t) {
			if (!timed) {
				fio_gettime(&start, NULL);
				timed = 1;
			} else if (ntime_since_now(&start) >= (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec) {
				break;
			}
		}
		if (thr->nr_events >= min)
			break;
	}
	return (int)thr->nr_events;
}

static struct io_u *nvf_event(struct thread_data *td, int event)
{
	struct nvf_thread *thr = td->io_ops_data;

	return thr->events[event];
}

/* fio prints this under its "io_u error" line: the NVMe status, by name. */
static char *nvf_errdetails(struct io_u *io_u)
{
	struct nvf_file *ff = io_u->file ? FILE_ENG_DATA(io_u->file) : NULL;
	uint16_t status = ff ? ff->thr->status[io_u->index] : 0;
	char buf[128], *msg;

	if (!status)
		return strdup(strerror(io_u->error));
	nvp_status_format(status, buf, sizeof(buf));
	if (asprintf(&msg, "NVMe status: %s", buf) < 0)
		return NULL;
	return msg;
}

/* Nothing to open per file: the controller was opened by setup()/init(). */
static int nvf_open_file(struct thread_data *td, struct fio_file *f)
{
	int err = attach_file(td, f);

	if (err)
		td_verror(td, -err, "nvpoll-fio open_file");
	return err ? 1 : 0;
}

static int nvf_close_file(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

static int nvf_get_file_size(struct thread_data *td, struct fio_file *f)
{
	return nvf_open_file(td, f);
}

/*
 * Found by fio with dlsym("ioengine"). FIO_DISKLESSIO: the file name is no
 * path (fio would create directories for "/ns=1"), nor a block device for
 * its disk stats, cache invalidation or I/O scheduler.
 */
__attribute__((visibility("default"))) struct ioengine_ops ioengine = {
	.name = "nvpoll",
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_RAWIO | FIO_NOEXTEND | FIO_NODISKUTIL | FIO_DISKLESSIO | FIO_ASYNCIO_SETS_ISSUE_TIME,
	.setup = nvf_setup,
	.init = nvf_init,
	.queue = nvf_queue,
	.commit = nvf_commit,
	.getevents = nvf_getevents,
	.event = nvf_event,
	.errdetails = nvf_errdetails,
	.cleanup = nvf_cleanup,
	.open_file = nvf_open_file,
	.close_file = nvf_close_file,
	.get_file_size = nvf_get_file_size,
	.iomem_alloc = nvf_iomem_alloc,
	.iomem_free = nvf_iomem_free,
};
