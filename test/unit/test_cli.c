/*
 * The nvpoll command line against the sim. The objects of tools/nvpoll/
 * are built for this test with -DNVPOLL_TEST_HOOKS: their main() runs as
 * nvpoll_main(), and the calls that open, close and write to the device go
 * through the hooks here, which count them and keep the device open after
 * the command so the test can read back what reached the namespace.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <nvpoll.h>

static unsigned nr_opens, nr_writes;
static struct nvp_dev *kept; /* the device the last command "closed" */

struct nvp_dev *cli_hook_dev_open(const char *uri, const struct nvp_opts *opts);
void cli_hook_dev_close(struct nvp_dev *dev);
int cli_hook_write(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb, const void *buf,
		   nvp_cb cb, void *arg);
int nvpoll_main(int argc, char **argv);

struct nvp_dev *cli_hook_dev_open(const char *uri, const struct nvp_opts *opts)
{
	nr_opens++;
	return nvp_dev_open(uri, opts);
}

void cli_hook_dev_close(struct nvp_dev *dev)
{
	if (kept)
		nvp_dev_close(kept);
	kept = dev;
}

int cli_hook_write(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb, const void *buf,
		   nvp_cb cb, void *arg)
{
	nr_writes++;
	return nvp_write(qp, ns, slba, nlb, buf, cb, arg);
}

#include <getopt.h> /* optind */

#define LBA 512		    /* the sim's default block size */
#define FILE_BYTES (200 * 1024) /* 400 blocks: less than --nlb 1024, more than one 128 KiB command */

static char err_text[4096];
static char path[96], dir[64];

/* nvpoll ARGS..., its standard error in err_text. */
static int run_cli(int argc, const char *const *args)
{
	char *argv[16];
	char tmpl[] = "/tmp/nvp-cli-err-XXXXXX";
	int fd = mkstemp(tmpl), saved = dup(2), rc;
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0 && argc < 15);
	argv[0] = (char *)"nvpoll";
	for (int i = 0; i < argc; i++)
		argv[i + 1] = (char *)args[i];
	argv[argc + 1] = NULL;
	nr_opens = nr_writes = 0;
	optind = 0; /* getopt starts over */
	fflush(stderr);
	dup2(fd, 2);
	rc = nvpoll_main(argc + 1, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, err_text, sizeof(err_text) - 1, 0);
	err_text[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(tmpl);
	return rc;
}

#define CLI(...) run_cli((int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *)), \
			 (const char *[]){ __VA_ARGS__ })

static void expect_err(const char *what)
{
	if (!strstr(err_text, what))
		fail_msg("stderr \"%s\" lacks \"%s\"", err_text, what);
}

static void fill_pattern(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + i / LBA + 1); /* no zero run a missed block could hide in */
}

static void write_file(const char *name, size_t len)
{
	uint8_t *p = malloc(len);
	FILE *f = fopen(name, "wb");

	assert_non_null(p);
	assert_non_null(f);
	fill_pattern(p, len);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(p);
}

static void on_read(void *arg, int err, const struct nvme_cqe *cqe)
{
	(void)cqe;
	*(int *)arg = err ? err : 1;
}

/* @nlb blocks (a multiple of 64) from LBA 0 of the kept device's namespace 1, which is then closed. */
static uint8_t *read_back(uint32_t nlb)
{
	struct nvp_qpair *qp;
	uint8_t *buf, *out = malloc((size_t)nlb * LBA);
	int done;

	assert_int_equal(nlb % 64, 0);
	assert_non_null(kept);
	qp = nvp_qpair_create(kept, NULL);
	assert_non_null(qp);
	buf = nvp_dma_alloc(kept, LBA * 64);
	assert_non_null(buf);
	for (uint32_t b = 0; b < nlb; b += 64) {
		done = 0;
		assert_int_equal(nvp_read(qp, nvp_ns_get(kept, 1), b, 64, buf, on_read, &done), 0);
		while (!done)
			if (!nvp_qpair_poll(qp, 0))
				sched_yield(); /* under valgrind the sim's thread needs the CPU */
		assert_int_equal(done, 1);
		memcpy(out + (size_t)b * LBA, buf, LBA * 64);
	}
	nvp_dma_free(kept, buf);
	nvp_qpair_destroy(qp);
	nvp_dev_close(kept);
	kept = NULL;
	return out;
}

static void assert_zeroes(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			fail_msg("byte %zu (LBA %zu) is %#x: something was written", i, i / LBA, p[i]);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/nvp-cli-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/data", dir);
	kept = NULL;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (kept)
		nvp_dev_close(kept);
	kept = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- write: the whole input is checked before the first command ------------------ */

static void test_write_short_file(void **state)
{
	uint8_t *got;

	(void)state;
	write_file(path, FILE_BYTES);
	assert_int_equal(CLI("write", "sim", "--nsid", "1", "--slba", "0", "--nlb", "1024", "--data", path), 1);
	assert_int_equal(nr_writes, 0);
	got = read_back(1024);
	assert_zeroes(got, 1024 * LBA);
	free(got);
	expect_err("holds 204800 bytes, less than the 524288 bytes (1024 blocks of 512) that --nlb 1024 asks for: "
		   "nothing was written");
}

/* Standard input as a pipe: its length is known only at its end. */
static void run_with_stdin_pipe(size_t bytes, int expect_rc, const char *const *args, int argc)
{
	int fds[2], saved = dup(0), status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t *p = malloc(bytes);

		close(fds[0]);
		fill_pattern(p, bytes);
		_exit(write(fds[1], p, bytes) == (ssize_t)bytes ? 0 : 1);
	}
	close(fds[1]);
	dup2(fds[0], 0);
	close(fds[0]);
	if (run_cli(argc, args) != expect_rc)
		fail_msg("exit status not %d: %s", expect_rc, err_text);
	dup2(saved, 0);
	close(saved);
	__fpurge(stdin);
	clearerr(stdin);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void test_write_short_stdin(void **state)
{
	static const char *const args[] = { "write", "sim", "--nsid", "1", "--slba", "0", "--nlb", "1024", "--data", "-" };
	uint8_t *got;

	(void)state;
	run_with_stdin_pipe(FILE_BYTES, 1, args, 10);
	assert_int_equal(nr_writes, 0);
	got = read_back(1024);
	assert_zeroes(got, 1024 * LBA);
	free(got);
	expect_err("standard input holds 204800 bytes, less than the 524288 bytes");
	expect_err("nothing was written");
}

static void test_write_whole_input(void **state)
{
	static const char *const args[] = { "write", "sim", "--nsid", "1", "--slba", "0", "--nlb", "400", "--data", "-" };
	uint8_t *want = malloc(FILE_BYTES), *got;

	(void)state;
	fill_pattern(want, FILE_BYTES);
	write_file(path, FILE_BYTES);
	assert_int_equal(CLI("write", "sim", "--nsid", "1", "--slba", "0", "--nlb", "400", "--data", path), 0);
	assert_int_equal(nr_writes, 2); /* 256 + 144 blocks: MDTS splits it */
	got = read_back(448);
	assert_memory_equal(got, want, FILE_BYTES);
	assert_zeroes(got + FILE_BYTES, 48 * LBA);
	free(got);

	run_with_stdin_pipe(FILE_BYTES, 0, args, 10);
	got = read_back(448);
	assert_memory_equal(got, want, FILE_BYTES);
	free(got);
	free(want);
}

/* ---- what a command needs is checked before the device is opened (and reset) ----- */

/* Exit status 2, the device never opened, and the message names what is missing. */
static void expect_refused(int rc, const char *msg)
{
	assert_int_equal(nr_opens, 0);
	if (kept) {
		nvp_dev_close(kept);
		kept = NULL;
	}
	assert_int_equal(rc, 2);
	expect_err(msg);
}

static void test_missing_options(void **state)
{
	(void)state;
	expect_refused(CLI("write", "sim", "--nsid", "1", "--nlb", "8", "--data", path),
		       "write needs --slba: nvpoll write DEVICE --nsid N --slba S --nlb C --data FILE");
	expect_refused(CLI("read", "sim", "--slba", "0", "--nlb", "8", "--data", path), "read needs --nsid:");
	expect_refused(CLI("read", "sim", "--nsid", "1", "--slba", "0", "--data", path), "read needs --nlb:");
	expect_refused(CLI("write", "sim", "--nsid", "1", "--slba", "0", "--nlb", "8"), "write needs --data:");
	expect_refused(CLI("write", "sim", "--slba", "0"), "write needs --nsid, --nlb and --data:");
	expect_refused(CLI("log", "sim"), "log needs --log smart|error|fw");
	expect_refused(CLI("log", "sim", "--log", "smrt"), "--log 'smrt': expected smart, error or fw");
	assert_int_equal(access(path, F_OK), -1); /* and no output file was made */
}

static void test_bad_data_path(void **state)
{
	char missing[128];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/none/data", dir);
	assert_int_equal(CLI("write", "sim", "--nsid", "1", "--slba", "0", "--nlb", "8", "--data", missing), 1);
	assert_int_equal(nr_opens, 0);
	expect_err("cannot open");
	expect_err("No such file or directory");
	assert_int_equal(CLI("write", "sim", "--nsid", "1", "--slba", "0", "--nlb", "8", "--data", dir), 1);
	assert_int_equal(nr_opens, 0);
	expect_err("Is a directory");
	assert_int_equal(CLI("read", "sim", "--nsid", "1", "--slba", "0", "--nlb", "8", "--data", missing), 1);
	assert_int_equal(nr_opens, 0);
	expect_err("No such file or directory");
}

/* A read's output is left alone until the blocks can be read, then holds exactly them. */
static void test_read_output(void **state)
{
	FILE *f;
	char buf[64] = "";

	(void)state;
	f = fopen(path, "w");
	fputs("precious", f);
	fclose(f);
	assert_int_equal(CLI("read", "sim", "--nsid", "9", "--slba", "0", "--nlb", "8", "--data", path), 1);
	expect_err("namespace 9");
	assert_int_equal(nr_opens, 1);
	f = fopen(path, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious");
	nvp_dev_close(kept);
	kept = NULL;

	assert_int_equal(CLI("read", "sim", "--nsid", "1", "--slba", "0", "--nlb", "8", "--data", path), 0);
	f = fopen(path, "rb");
	assert_int_equal(fread(err_text, 1, sizeof(err_text), f), 8 * LBA);
	fclose(f);
	assert_zeroes((const uint8_t *)err_text, 8 * LBA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_short_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_short_stdin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_whole_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_data_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_output, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
