/* SPDX-License-Identifier: MIT */
/*
 * NVMe/TCP against a live target (test/vm/guest-tcp.sh: Linux's nvmet-tcp):
 * what the connection does over time and when the target goes away.
 *
 *   1. Keep Alive: with a KATO of 5 s, 12 s idle calling nvp_admin_poll()
 *      every 0.5 s keeps the controller: a read then works.
 *   2. ... and 12 s idle without it loses it: the target ends the
 *      association, the next read ends with -ENOTCONN naming the target;
 *      nvp_ctrl_reset() then connects again and a read works.
 *   3. The subsystem is taken off the port (PORT-LINK, the configfs link,
 *      removed) under QD 32 reads: every command ends, with -ENOTCONN or
 *      fine, within 15 s, nothing hangs; the link put back, nvp_ctrl_reset()
 *      reconnects and reads work again.
 *
 * usage: vm_tcp URI PORT-LINK    (exits 0 when every check passed)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nvpoll.h>

#define QD 32
#define KATO_MS 5000
#define IDLE_S 12.0
#define END_LIMIT_S 15.0

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

struct env {
	const char *uri;
	struct nvp_dev *dev;
	struct nvp_qpair *qp;
	const struct nvp_ns *ns;
	uint8_t *buf;
};

struct io {
	struct env *e;
	int done, err;
	int again;		/* resubmit on success */
	unsigned *busy;
	char msg[512];
};

static void on_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct io *io = arg;

	(void)cqe;
	io->done = 1;
	io->err = err;
	if (err) {
		snprintf(io->msg, sizeof(io->msg), "%s", nvp_errmsg());
		io->again = 0;
	}
	if (io->again) {
		io->done = 0;
		if (nvp_read(io->e->qp, io->e->ns, (uint64_t)(rand() % 1024), 1, io->e->buf, on_done, io) == 0)
			return;
		io->done = 1;
		io->err = -EIO;
	}
	if (io->busy)
		(*io->busy)--;
}

/* One read, waited for (5 s at most): 0 or its error. */
static int one_read(struct env *e, char *msg, size_t len)
{
	struct io io = { .e = e };
	double end = now_s() + 5;
	int err = nvp_read(e->qp, e->ns, 0, 1, e->buf, on_done, &io);

	if (err) {
		snprintf(msg, len, "%s", nvp_errmsg());
		return err;
	}
	while (!io.done && now_s() < end)
		nvp_qpair_poll(e->qp, 0);
	if (!io.done) {
		snprintf(msg, len, "no completion within 5 s");
		return -ETIMEDOUT;
	}
	snprintf(msg, len, "%s", io.msg);
	return io.err;
}

static int env_open(struct env *e, const char *uri)
{
	struct nvp_opts opts;

	memset(e, 0, sizeof(*e));
	e->uri = uri;
	nvp_opts_init(&opts);
	opts.keep_alive_ms = KATO_MS;
	e->dev = nvp_dev_open(uri, &opts);
	if (!e->dev) {
		printf("FAIL: open %s: %s\n", uri, nvp_errmsg());
		return -1;
	}
	e->ns = nvp_ns_get(e->dev, 1);
	e->qp = nvp_qpair_create(e->dev, &(struct nvp_qpair_opts){ .depth = 64 });
	e->buf = nvp_dma_alloc(e->dev, 4096);
	if (!e->ns || !e->qp || !e->buf) {
		printf("FAIL: setting up %s: %s\n", uri, nvp_errmsg());
		return -1;
	}
	return 0;
}

static void env_close(struct env *e)
{
	nvp_dma_free(e->dev, e->buf);
	nvp_qpair_destroy(e->qp);
	nvp_dev_close(e->dev);
}

static void idle(struct env *e, int admin_poll)
{
	double end = now_s() + IDLE_S;

	while (now_s() < end) {
		if (admin_poll) {
			int err = nvp_admin_poll(e->dev);

			CHECK(err >= 0, "nvp_admin_poll: %s", nvp_errmsg());
		}
		usleep(500000);
	}
}

static void test_keep_alive(struct env *e)
{
	char msg[512];
	int err;
	double t0;

	idle(e, 1);
	err = one_read(e, msg, sizeof(msg));
	CHECK(err == 0, "read after %.0f s idle with nvp_admin_poll(): %d (%s)", IDLE_S, err, msg);
	printf("# %.0f s idle, nvp_admin_poll() every 0.5 s, KATO %u ms: read %s\n", IDLE_S, KATO_MS,
	       err ? "FAILED" : "ok");

	idle(e, 0);
	t0 = now_s();
	err = one_read(e, msg, sizeof(msg));
	CHECK(err == -ENOTCONN, "read after %.0f s idle without nvp_admin_poll(): %d, not -ENOTCONN (%s)", IDLE_S,
	      err, msg);
	CHECK(strstr(msg, "NVMe/TCP connection to 127.0.0.1:4420") != NULL, "the message names no target: %s", msg);
	printf("# %.0f s idle without nvp_admin_poll(): the read ended in %.2f s with %d: %s\n", IDLE_S,
	       now_s() - t0, err, msg);

	t0 = now_s();
	err = nvp_ctrl_reset(e->dev);
	CHECK(err == 0, "nvp_ctrl_reset: %s", nvp_errmsg());
	err = one_read(e, msg, sizeof(msg));
	CHECK(err == 0, "read after the reset: %d (%s)", err, msg);
	printf("# nvp_ctrl_reset() reconnected, a read works again (%.2f s)\n", now_s() - t0);
}

static void test_port_removal(struct env *e, const char *link)
{
	char target[PATH_MAX], msg[512];
	struct io ios[QD];
	unsigned busy = 0, failed = 0, fine = 0;
	double t0, end;
	int err;

	/* Absolute: configfs resolves a new link's target from the cwd, not from the link's folder. */
	if (!realpath(link, target)) {
		printf("FAIL: realpath %s: %s\n", link, strerror(errno));
		fails++;
		return;
	}
	memset(ios, 0, sizeof(ios));
	for (int i = 0; i < QD; i++) {
		ios[i] = (struct io){ .e = e, .again = 1, .busy = &busy };
		if (nvp_read(e->qp, e->ns, (uint64_t)i, 1, e->buf, on_done, &ios[i]) == 0)
			busy++;
	}
	CHECK(busy == QD, "%u of %d reads submitted", busy, QD);
	end = now_s() + 1;
	while (now_s() < end)
		nvp_qpair_poll(e->qp, 0);
	t0 = now_s();
	CHECK(unlink(link) == 0, "unlink %s: %s", link, strerror(errno));
	while (busy && now_s() < t0 + END_LIMIT_S)
		nvp_qpair_poll(e->qp, 0);
	CHECK(busy == 0, "%u commands still in flight %.0f s after the port removal", busy, END_LIMIT_S);
	for (int i = 0; i < QD; i++) {
		if (!ios[i].done)
			continue;
		if (ios[i].err == -ENOTCONN && strstr(ios[i].msg, "NVMe/TCP connection to 127.0.0.1:4420"))
			failed++;
		else if (ios[i].err == 0)
			fine++;
		else
			CHECK(0, "read %d ended with %d: %s", i, ios[i].err, ios[i].msg);
	}
	CHECK(failed > 0, "no read ended with -ENOTCONN naming the target");
	printf("# port removed under QD %d: all ended in %.2f s, %u with -ENOTCONN naming the target, %u fine\n",
	       QD, now_s() - t0, failed, fine);
	for (int i = 0; i < QD; i++)
		if (ios[i].err && ios[i].err != -ENOTCONN)
			printf("#   read %d: %s\n", i, ios[i].msg);
	if (failed)
		printf("#   e.g. %s\n", ios[0].err ? ios[0].msg : "");

	CHECK(symlink(target, link) == 0, "symlink %s %s: %s", target, link, strerror(errno));
	t0 = now_s();
	err = nvp_ctrl_reset(e->dev);
	CHECK(err == 0, "nvp_ctrl_reset after the port came back: %s", nvp_errmsg());
	err = one_read(e, msg, sizeof(msg));
	CHECK(err == 0, "read after the reconnect: %d (%s)", err, msg);
	printf("# port back, nvp_ctrl_reset() reconnected in %.2f s, a read works again\n", now_s() - t0);
}

int main(int argc, char **argv)
{
	struct env e;

	if (argc != 3) {
		fprintf(stderr, "usage: vm_tcp URI PORT-LINK\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (env_open(&e, argv[1]))
		return 1;
	test_keep_alive(&e);
	test_port_removal(&e, argv[2]);
	env_close(&e);
	printf("vm_tcp: %s\n", fails ? "FAILED" : "all checks passed");
	return fails ? 1 : 0;
}
