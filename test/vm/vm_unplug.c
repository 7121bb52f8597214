/*
 * Removal of one controller while I/O runs on it and on another one in the
 * same process: the removed one's commands all end (with -ENODEV, or fine
 * when they completed first), the application hears of it, the kernel gets
 * the device back, and the other controller goes on working with its data
 * checked.
 *
 * usage: vm_unplug [--device-id ID] [--want-event] REMOVE-URI KEEP-URI
 *
 * After 1 s of QD 32 on both, the removal starts: for a PCI URI by
 * appending "device_del ID" to $NVP_VM_MONITOR (scripts/vm.sh --monitor:
 * QEMU hot-unplugs the controller, the guest kernel asks vfio-pci's user
 * for it back, or removes it under uio_pci_generic); for a sim by injecting
 * NVP_SIM_FAULT_RELEASE_REQUEST. --want-event: NVP_EVENT_REMOVAL must come
 * (vfio-pci and sim; uio has no request channel, its BAR just vanishes).
 * With no URI: two sims, --want-event (the unit suite's run). Prints the
 * times from the removal's start to each step; exits 0 when every check
 * passed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nvpoll.h>
#include <nvpoll/sim.h>

#define QD 32
#define XFER 4096
#define REMOVE_AFTER_S 1.0
#define REMOVAL_LIMIT_S 15.0 /* the removal must have ended every command by then */
#define KEEP_AFTER_S 2.0     /* the other controller keeps working this long after */
#define SYSFS_LIMIT_S 10.0

static int fails;

#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);         \
			printf(__VA_ARGS__);                                \
			printf("\n");                                       \
			fails++;                                            \
		}                                                           \
	} while (0)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ctrl;

struct slot {
	struct ctrl *c;
	uint8_t *buf;
	unsigned idx;
	uint64_t lba;
	uint64_t step;		/* kept side: slot i writes transfer i + QD * step, wrapping */
	unsigned gen;
	int writing;		/* keep side: a write of (lba, gen) then its read-back */
	int busy;
};

struct ctrl {
	const char *uri;
	struct nvp_dev *dev;
	struct nvp_qpair *qp;
	const struct nvp_ns *ns;
	uint32_t nlb;
	uint64_t lbas;
	int keep;		/* the controller that stays: writes and checks data */
	struct slot slots[QD];
	unsigned busy;
	uint64_t ok, enodev, other, verified;
};

static double t_event;

static void on_event(struct nvp_dev *dev, const struct nvp_event *ev, void *arg)
{
	(void)dev;
	(void)arg;
	if (ev->kind == NVP_EVENT_REMOVAL && !t_event)
		t_event = now_s();
}

static void pattern(uint8_t *p, uint64_t lba, unsigned gen)
{
	for (size_t i = 0; i < XFER; i += 8) {
		uint64_t v = lba * 0x9e3779b97f4a7c15ull ^ (uint64_t)gen << 40 ^ i;

		memcpy(p + i, &v, 8);
	}
}

static int submit(struct slot *s);

static void on_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct slot *s = arg;
	struct ctrl *c = s->c;
	uint8_t want[XFER];

	s->busy = 0;
	c->busy--;
	if (err == -ENODEV) {
		c->enodev++;
		return;
	}
	if (err) {
		c->other++;
		CHECK(0, "%s: LBA %" PRIu64 ": %s (status %#x)", c->uri, s->lba, strerror(-err), nvp_cqe_status(cqe));
		return;
	}
	c->ok++;
	if (c->keep && !s->writing) {
		pattern(want, s->lba, s->gen);
		CHECK(!memcmp(want, s->buf, XFER), "%s: LBA %" PRIu64 " gen %u reads back different data", c->uri,
		      s->lba, s->gen);
		c->verified++;
	}
}

/* The next command of a slot: reads on the removed side; write, read back, next LBA on the kept one. */
static int submit(struct slot *s)
{
	struct ctrl *c = s->c;
	int err;

	if (c->keep) {
		if (s->writing) {
			s->writing = 0; /* its write completed: read it back */
		} else {
			uint64_t transfers = c->lbas / c->nlb / QD * QD;

			s->lba = (s->idx + QD * s->step++) % transfers * c->nlb;
			s->gen++;
			s->writing = 1;
			pattern(s->buf, s->lba, s->gen);
		}
	} else {
		s->lba = (uint64_t)(rand() % (int)(c->lbas / c->nlb)) * c->nlb;
	}
	err = s->writing ? nvp_write(c->qp, c->ns, s->lba, c->nlb, s->buf, on_done, s)
			 : nvp_read(c->qp, c->ns, s->lba, c->nlb, s->buf, on_done, s);
	if (!err) {
		s->busy = 1;
		c->busy++;
	}
	return err;
}

static int ctrl_open(struct ctrl *c, const char *uri, int keep)
{
	const uint32_t *nsids;

	c->uri = uri;
	c->keep = keep;
	c->dev = nvp_dev_open(uri, NULL);
	if (!c->dev) {
		printf("FAIL open %s: %s\n", uri, nvp_errmsg());
		return -1;
	}
	c->qp = nvp_qpair_create(c->dev, NULL);
	c->ns = nvp_ns_list(c->dev, &nsids) ? nvp_ns_get(c->dev, nsids[0]) : NULL;
	if (!c->qp || !c->ns) {
		printf("FAIL %s: qpair or namespace: %s\n", uri, nvp_errmsg());
		return -1;
	}
	c->nlb = XFER / nvp_ns_info(c->ns)->lba_size;
	c->lbas = nvp_ns_info(c->ns)->nsze;
	for (unsigned i = 0; i < QD; i++) {
		struct slot *s = &c->slots[i];

		s->c = c;
		s->idx = i;
		s->buf = nvp_dma_alloc(c->dev, XFER);
		if (!s->buf) {
			printf("FAIL %s: DMA buffer: %s\n", uri, nvp_errmsg());
			return -1;
		}
	}
	return 0;
}

static void ctrl_close(struct ctrl *c)
{
	if (!c->dev)
		return;
	if (c->qp)
		nvp_qpair_destroy(c->qp);
	for (unsigned i = 0; i < QD; i++)
		nvp_dma_free(c->dev, c->slots[i].buf);
	nvp_dev_close(c->dev);
}

static int start_removal(struct ctrl *c, const char *device_id)
{
	struct nvp_sim *sim = nvp_dev_sim(c->dev);
	const char *mon = getenv("NVP_VM_MONITOR");
	FILE *f;

	if (sim) {
		struct nvp_sim_fault ask = { .type = NVP_SIM_FAULT_RELEASE_REQUEST };

		return nvp_sim_inject(sim, &ask);
	}
	if (!mon || !device_id) {
		printf("FAIL %s: removing a PCI device needs --device-id and $NVP_VM_MONITOR (scripts/vm.sh --monitor)\n",
		       c->uri);
		return -1;
	}
	f = fopen(mon, "a");
	if (!f || fprintf(f, "device_del %s\n", device_id) < 0 || fclose(f)) {
		printf("FAIL cannot write to %s: %s\n", mon, strerror(errno));
		return -1;
	}
	return 0;
}

/* Seconds from @t0 until the PCI function of @uri leaves sysfs; -1 for a sim, or when it stays. */
static double sysfs_gone(const char *uri, double t0)
{
	char path[128];

	if (!strncmp(uri, "sim", 3))
		return -1;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%.12s", uri);
	while (access(path, F_OK) == 0 && now_s() - t0 < SYSFS_LIMIT_S)
		usleep(10000);
	return access(path, F_OK) ? now_s() - t0 : -1;
}

int main(int argc, char **argv)
{
	struct ctrl rm = { 0 }, keep = { 0 };
	const char *device_id = NULL, *rm_uri, *keep_uri;
	int want_event = 0, arg = 1, removing = 0;
	double t0, t_del = 0, t_removed = 0, t_drained = 0, next_admin = 0, gone;
	uint64_t keep_before = 0;

	for (; arg < argc && !strncmp(argv[arg], "--", 2); arg++) {
		if (!strcmp(argv[arg], "--want-event"))
			want_event = 1;
		else if (!strcmp(argv[arg], "--device-id") && arg + 1 < argc)
			device_id = argv[++arg];
		else
			break;
	}
	if (argc == 1) {
		want_event = 1;
		rm_uri = keep_uri = "sim";
	} else if (argc - arg == 2) {
		rm_uri = argv[arg];
		keep_uri = argv[arg + 1];
	} else {
		fprintf(stderr, "usage: vm_unplug [--device-id ID] [--want-event] REMOVE-URI KEEP-URI\n");
		return 2;
	}
	if (ctrl_open(&rm, rm_uri, 0) || ctrl_open(&keep, keep_uri, 1))
		goto out;
	nvp_dev_set_event_cb(rm.dev, on_event, NULL);
	for (unsigned i = 0; i < QD; i++) {
		CHECK(!submit(&rm.slots[i]), "%s: submit: %s", rm.uri, nvp_errmsg());
		CHECK(!submit(&keep.slots[i]), "%s: submit: %s", keep.uri, nvp_errmsg());
	}

	t0 = now_s();
	for (;;) {
		double t = now_s();

		nvp_qpair_poll(rm.qp, 0);
		nvp_qpair_poll(keep.qp, 0);
		for (unsigned i = 0; i < QD; i++) {
			if (!keep.slots[i].busy && (!t_drained || t - t_drained < KEEP_AFTER_S))
				CHECK(!submit(&keep.slots[i]), "%s: submit: %s", keep.uri, nvp_errmsg());
			if (!rm.slots[i].busy && !removing)
				CHECK(!submit(&rm.slots[i]), "%s: submit: %s", rm.uri, nvp_errmsg());
		}
		if (!removing && t - t0 >= REMOVE_AFTER_S) {
			if (start_removal(&rm, device_id))
				break;
			removing = 1;
			t_del = now_s();
			keep_before = keep.verified;
			printf("vm_unplug: removal of %s started after %" PRIu64 " I/Os on it\n", rm.uri, rm.ok);
		}
		if (t >= next_admin) {
			nvp_admin_poll(rm.dev);
			next_admin = t + 0.01;
		}
		if (removing && !t_removed && nvp_dev_removed(rm.dev))
			t_removed = now_s();
		if (t_removed && !t_drained && !rm.busy)
			t_drained = now_s();
		if (t_drained && t - t_drained >= KEEP_AFTER_S && !keep.busy)
			break;
		if (removing && !t_drained && t - t_del > REMOVAL_LIMIT_S) {
			CHECK(0, "%s: %u commands still in flight %.0f s after the removal started (removed: %d)", rm.uri,
			      rm.busy, REMOVAL_LIMIT_S, nvp_dev_removed(rm.dev));
			break;
		}
	}
	if (t_drained) {
		CHECK(nvp_read(rm.qp, rm.ns, 0, 1, rm.slots[0].buf, on_done, &rm.slots[0]) == -ENODEV,
		      "a new command on the removed %s is not refused with -ENODEV", rm.uri);
		CHECK(rm.enodev > 0 || rm.busy == 0, "no command ended with -ENODEV");
		nvp_admin_poll(rm.dev);
		if (want_event)
			CHECK(t_event > 0, "no NVP_EVENT_REMOVAL for %s", rm.uri);
		CHECK(keep.verified > keep_before, "%s did no checked I/O after %s was removed", keep.uri, rm.uri);
		CHECK(keep.other == 0, "%s had %" PRIu64 " failed commands", keep.uri, keep.other);
		CHECK(rm.other == 0, "%s had %" PRIu64 " commands fail with other errors than -ENODEV", rm.uri,
		      rm.other);
		gone = sysfs_gone(rm.uri, t_del);
		CHECK(strncmp(rm.uri, "sim", 3) == 0 || gone >= 0, "%s still in sysfs %.0f s after device_del", rm.uri,
		      SYSFS_LIMIT_S);
		printf("vm_unplug: %s: removal started -> seen removed %.3f s, event %.3f s, every command ended "
		       "%.3f s (%" PRIu64 " with -ENODEV), gone from sysfs %.3f s\n",
		       rm.uri, t_removed - t_del, t_event ? t_event - t_del : -1.0, t_drained - t_del, rm.enodev,
		       gone);
		printf("vm_unplug: %s: %" PRIu64 " I/Os read back and checked, %" PRIu64 " of them after the removal\n",
		       keep.uri, keep.verified, keep.verified - keep_before);
	}
out:
	ctrl_close(&rm);
	ctrl_close(&keep);
	if (fails || !t_drained) {
		printf("vm_unplug: FAILED (%d checks)\n", fails);
		return 1;
	}
	printf("vm_unplug: all checks passed\n");
	return 0;
}
