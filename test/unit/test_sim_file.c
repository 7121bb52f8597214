/*
 * sim:file=PATH (lib/sim/sim_file.c): namespaces kept in a file across
 * processes (the real build/nvpoll, exec'ed twice, and forked children of
 * this test through the library), the documented layout on disk, the
 * geometry taken from the file or checked against it, the lock that keeps
 * a second opener out, zeroes that stay zero in the file, and plain "sim"
 * starting empty every time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <nvpoll.h>

#include "sync_io.h"

#define NS_ALIGN (64u << 10) /* where namespaces start in the file, as sim_file.c documents */

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/nvp-simfile-XXXXXX");
	fd = mkstemp(path); /* empty: the sim makes it a namespace file */
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static struct nvp_dev *open_file(const char *opts)
{
	char uri[256];
	struct nvp_dev *dev;

	snprintf(uri, sizeof(uri), "sim:file=%s%s%s", path, *opts ? "," : "", opts);
	dev = nvp_dev_open(uri, NULL);
	if (!dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	return dev;
}

/* One I/O on namespace @nsid, waited for: 'r' read, 'w' write, 'z' write zeroes, 'f' flush. */
static void io(struct nvp_dev *dev, uint32_t nsid, char op, uint64_t slba, uint32_t nlb, void *buf)
{
	const struct nvp_ns *ns = nvp_ns_get(dev, nsid);
	struct nvp_qpair *qp = nvp_qpair_create(dev, NULL);
	struct done d = { 0 };
	int err;

	assert_non_null(ns);
	assert_non_null(qp);
	switch (op) {
	case 'r': err = nvp_read(qp, ns, slba, nlb, buf, on_done, &d); break;
	case 'w': err = nvp_write(qp, ns, slba, nlb, buf, on_done, &d); break;
	case 'z': err = nvp_write_zeroes(qp, ns, slba, nlb, on_done, &d); break;
	default: err = nvp_flush(qp, ns, on_done, &d); break;
	}
	assert_int_equal(err, 0);
	assert_true(wait_done(qp, &d, 5000));
	assert_int_equal(d.err, 0);
	nvp_qpair_destroy(qp);
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed);
}

/* Run @fn(@arg) in a child process and expect it to exit 0. */
static void in_child(void (*fn)(const char *), const char *arg)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- the real CLI, two processes ---------------------------------------- */

/* build/nvpoll: two levels above this binary (build/test/test_sim_file). */
static void cli_path(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_true(n > 0);
	self[n] = '\0';
	snprintf(out, len, "%s/../nvpoll", dirname(self));
}

static int run(const char *const *argv)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli_write_then_read(void **state)
{
	char cli[PATH_MAX + 16], dev[128], in[] = "/tmp/nvp-simfile-in-XXXXXX", out[] = "/tmp/nvp-simfile-out-XXXXXX";
	uint8_t w[8 * 512], r[sizeof(w)];
	int fd;

	(void)state;
	cli_path(cli, sizeof(cli));
	snprintf(dev, sizeof(dev), "sim:file=%s", path);
	fill(w, sizeof(w), 3);
	fd = mkstemp(in);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, w, sizeof(w)), sizeof(w));
	close(fd);
	fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	{
		const char *wr[] = { cli, "write", dev, "--nsid", "1", "--slba", "100", "--nlb", "8", "--data", in, NULL };
		const char *rd[] = { cli, "read", dev, "--nsid", "1", "--slba", "100", "--nlb", "8", "--data", out, NULL };

		assert_int_equal(run(wr), 0);
		assert_int_equal(run(rd), 0);
	}
	fd = open(out, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, r, sizeof(r)), sizeof(r));
	close(fd);
	assert_memory_equal(r, w, sizeof(w));
	unlink(in);
	unlink(out);
}

/* ---- the library, across fork ------------------------------------------- */

static void child_write_two_ns(const char *opts)
{
	struct nvp_dev *dev = open_file(opts);
	uint8_t *buf = nvp_dma_alloc(dev, 4096);

	assert_non_null(buf);
	fill(buf, 4096, 1);
	io(dev, 1, 'w', 2047, 1, buf);	/* the last 512-byte block of 1 MiB */
	fill(buf, 4096, 2);
	io(dev, 2, 'w', 0, 1, buf);	/* the first 4 KiB block */
	io(dev, 2, 'f', 0, 0, NULL);
	nvp_dma_free(dev, buf);
	nvp_dev_close(dev);
}

/* Two namespaces: data kept per namespace, where the layout says, geometry taken from the file. */
static void test_two_namespaces_across_processes(void **state)
{
	uint8_t want[4096], got[4096];
	struct nvp_dev *dev;
	uint8_t *buf;
	int fd;

	(void)state;
	in_child(child_write_two_ns, "ns=2,lbads=512:4096,size=1M:2M");
	dev = open_file(""); /* no geometry: the file's */
	assert_int_equal(nvp_ns_list(dev, NULL), 2);
	assert_int_equal(nvp_ns_info(nvp_ns_get(dev, 1))->nsze, 2048);
	assert_int_equal(nvp_ns_info(nvp_ns_get(dev, 2))->lba_size, 4096);
	assert_int_equal(nvp_ns_info(nvp_ns_get(dev, 2))->nsze, 512);
	buf = nvp_dma_alloc(dev, 4096);
	assert_non_null(buf);
	io(dev, 1, 'r', 2047, 1, buf);
	fill(want, 512, 1);
	assert_memory_equal(buf, want, 512);
	io(dev, 2, 'r', 0, 1, buf);
	fill(want, 4096, 2);
	assert_memory_equal(buf, want, 4096);
	nvp_dma_free(dev, buf);
	nvp_dev_close(dev);

	/* On disk: namespace 1 at 64 KiB, namespace 2 at the next 64 KiB after 64 KiB + 1 MiB. */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, 512, NS_ALIGN + 2047 * 512), 512);
	fill(want, 512, 1);
	assert_memory_equal(got, want, 512);
	assert_int_equal(pread(fd, got, 4096, NS_ALIGN + (1 << 20)), 4096);
	fill(want, 4096, 2);
	assert_memory_equal(got, want, 4096);
	{
		struct stat st;

		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(st.st_size, NS_ALIGN + (1 << 20) + (2 << 20));
		/* Sparse: 3 MiB of namespaces, a few blocks written. */
		assert_true((uint64_t)st.st_blocks * 512 < (1u << 20));
	}
	close(fd);
}

/* ---- refused opens -------------------------------------------------------- */

static void test_geometry_mismatch_refused(void **state)
{
	char uri[256];
	struct nvp_dev *dev;

	(void)state;
	nvp_dev_close(open_file("ns=2,size=1M"));
	snprintf(uri, sizeof(uri), "sim:file=%s,ns=2,size=2M", path);
	assert_null(nvp_dev_open(uri, NULL));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "holds namespaces ns=2,lbads=512:512,size=1048576:1048576"));
	assert_non_null(strstr(nvp_errmsg(), "ask for ns=2,lbads=512:512,size=2097152:2097152"));
	snprintf(uri, sizeof(uri), "sim:file=%s,ns=1,size=1M", path);
	assert_null(nvp_dev_open(uri, NULL));
	assert_int_equal(errno, EINVAL);
	snprintf(uri, sizeof(uri), "sim:file=%s,lbads=4096,ns=2,size=1M", path);
	assert_null(nvp_dev_open(uri, NULL));
	assert_int_equal(errno, EINVAL);
	/* The same geometry given again is fine, and so is none. */
	nvp_dev_close(open_file("ns=2,size=1M:1M"));
	dev = open_file("");
	assert_int_equal(nvp_ns_list(dev, NULL), 2);
	nvp_dev_close(dev);
}

static void test_not_a_sim_file_refused(void **state)
{
	char uri[256];
	int fd = open(path, O_WRONLY | O_TRUNC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a namespace file\n", 21), 21);
	close(fd);
	snprintf(uri, sizeof(uri), "sim:file=%s", path);
	assert_null(nvp_dev_open(uri, NULL));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "is not a sim namespace file"));

	/* A header that promises more than the file holds (truncated): refused too. */
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	nvp_dev_close(open_file("size=1M"));
	assert_int_equal(truncate(path, NS_ALIGN + 4096), 0);
	assert_null(nvp_dev_open(uri, NULL));
	assert_non_null(strstr(nvp_errmsg(), "shorter than its header says"));
}

static void test_second_open_refused(void **state)
{
	char uri[256];
	struct nvp_dev *dev;
	int to_child[2], to_parent[2];
	pid_t pid;
	char c;
	int st;

	(void)state;
	snprintf(uri, sizeof(uri), "sim:file=%s,size=1M", path);
	/* In one process. */
	dev = open_file("size=1M");
	assert_null(nvp_dev_open(uri, NULL));
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(nvp_errmsg(), "is in use by another open sim"));
	nvp_dev_close(dev);

	/* Across processes: a child holds it open until told to close. */
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nvp_dev *held = nvp_dev_open(uri, NULL);

		c = held ? 'y' : 'n';
		if (write(to_parent[1], &c, 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(2);
		nvp_dev_close(held);
		_exit(0);
	}
	assert_int_equal(read(to_parent[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_null(nvp_dev_open(uri, NULL));
	assert_int_equal(errno, EBUSY);
	assert_int_equal(write(to_child[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Closed there: free here. */
	dev = nvp_dev_open(uri, NULL);
	assert_non_null(dev);
	nvp_dev_close(dev);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* ---- zeroes reach the file ------------------------------------------------- */

static void child_write_then_zero(const char *opts)
{
	struct nvp_dev *dev = open_file(opts);
	uint8_t *buf = nvp_dma_alloc(dev, 64 << 10);

	assert_non_null(buf);
	fill(buf, 64 << 10, 5);
	io(dev, 1, 'w', 0, 128, buf);
	/* Unaligned to pages at both ends: 3 .. 100. */
	io(dev, 1, 'z', 3, 98, NULL);
	nvp_dma_free(dev, buf);
	nvp_dev_close(dev);
}

static void test_write_zeroes_persist(void **state)
{
	uint8_t want[64 << 10];
	struct nvp_dev *dev;
	uint8_t *buf;

	(void)state;
	in_child(child_write_then_zero, "size=1M");
	dev = open_file("size=1M");
	buf = nvp_dma_alloc(dev, sizeof(want));
	assert_non_null(buf);
	io(dev, 1, 'r', 0, 128, buf);
	fill(want, sizeof(want), 5);
	memset(want + 3 * 512, 0, 98 * 512);
	assert_memory_equal(buf, want, sizeof(want));
	nvp_dma_free(dev, buf);
	nvp_dev_close(dev);
}

/* Plain "sim" is memory: every open starts empty. */
static void test_plain_sim_starts_empty(void **state)
{
	struct nvp_dev *dev = nvp_dev_open("sim", NULL);
	uint8_t *buf;

	(void)state;
	assert_non_null(dev);
	buf = nvp_dma_alloc(dev, 4096);
	fill(buf, 512, 9);
	io(dev, 1, 'w', 0, 1, buf);
	nvp_dma_free(dev, buf);
	nvp_dev_close(dev);
	dev = nvp_dev_open("sim", NULL);
	buf = nvp_dma_alloc(dev, 4096);
	memset(buf, 0xee, 512);
	io(dev, 1, 'r', 0, 1, buf);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(buf[i], 0);
	nvp_dma_free(dev, buf);
	nvp_dev_close(dev);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cli_write_then_read),
		T(test_two_namespaces_across_processes),
		T(test_geometry_mismatch_refused),
		T(test_not_a_sim_file_refused),
		T(test_second_open_refused),
		T(test_write_zeroes_persist),
		T(test_plain_sim_starts_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
