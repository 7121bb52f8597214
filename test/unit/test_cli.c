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
#include "tool.h"

int nvp_set_error(int err, const char *fmt, ...); /* lib/internal.h */

static unsigned nr_opens, nr_writes;
static struct nvp_dev *kept; /* the device the last command "closed" */

struct nvp_dev *cli_hook_dev_open(const char *uri, const struct nvp_opts *opts);
void cli_hook_dev_close(struct nvp_dev *dev);
int cli_hook_write(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb, const void *buf,
		   nvp_cb cb, void *arg);
int nvpoll_main(int argc, char **argv);

static int reuse; /* 1: the next command gets the kept device instead of a fresh sim */

struct nvp_dev *cli_hook_dev_open(const char *uri, const struct nvp_opts *opts)
{
	nr_opens++;
	if (reuse && kept) {
		struct nvp_dev *d = kept;

		kept = NULL;
		return d;
	}
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

static char out_text[64 * 1024];
static size_t out_len;

/* nvpoll ARGS..., its standard error in err_text, its standard output in out_text (out_len bytes). */
static int run_cli(int argc, const char *const *args)
{
	char *argv[24];
	char tmpl[] = "/tmp/nvp-cli-err-XXXXXX", otmpl[] = "/tmp/nvp-cli-out-XXXXXX";
	int fd = mkstemp(tmpl), ofd = mkstemp(otmpl), saved = dup(2), osaved = dup(1), rc;
	ssize_t n;

	assert_true(fd >= 0 && ofd >= 0 && saved >= 0 && osaved >= 0 && argc < 23);
	argv[0] = (char *)"nvpoll";
	for (int i = 0; i < argc; i++)
		argv[i + 1] = (char *)args[i];
	argv[argc + 1] = NULL;
	nr_opens = nr_writes = 0;
	optind = 0; /* getopt starts over */
	fflush(stderr);
	fflush(stdout);
	dup2(fd, 2);
	dup2(ofd, 1);
	rc = nvpoll_main(argc + 1, argv);
	fflush(stderr);
	fflush(stdout);
	dup2(saved, 2);
	dup2(osaved, 1);
	close(saved);
	close(osaved);
	n = pread(fd, err_text, sizeof(err_text) - 1, 0);
	err_text[n > 0 ? n : 0] = '\0';
	n = pread(ofd, out_text, sizeof(out_text) - 1, 0);
	out_len = n > 0 ? (size_t)n : 0;
	out_text[out_len] = '\0';
	close(fd);
	close(ofd);
	unlink(tmpl);
	unlink(otmpl);
	return rc;
}

#define CLI(...) run_cli((int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *)), \
			 (const char *[]){ __VA_ARGS__ })

static void expect_err(const char *what)
{
	if (!strstr(err_text, what))
		fail_msg("stderr \"%s\" lacks \"%s\"", err_text, what);
}

static void expect_out(const char *what)
{
	if (!strstr(out_text, what))
		fail_msg("stdout \"%.2000s\" lacks \"%s\"", out_text, what);
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
	reuse = 0;
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

/* ---- nvme-cli's commands ----------------------------------------------------------- */

/* The keys of a JSON document as paths ("vid", "psds.[].max_power"), sorted, without repeats. */
#define MAX_KEYS 512
struct keys {
	char k[MAX_KEYS][96];
	unsigned n;
};

static int cmp_str(const void *x, const void *y)
{
	return strcmp(x, y);
}

static void json_keys(const char *j, struct keys *out)
{
	char comp[16][64], kind[16], str[64];
	int depth = 0;

	out->n = 0;
	for (const char *p = j; *p;) {
		if (*p == '"') {
			size_t n = 0;
			const char *q;

			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (n < sizeof(str) - 1)
					str[n++] = *p;
			}
			str[n] = '\0';
			if (*p)
				p++;
			for (q = p; *q == ' ' || *q == '\n' || *q == '\t' || *q == '\r'; q++)
				;
			if (*q == ':' && depth > 0 && kind[depth - 1] == '{') {
				char full[96] = "";
				size_t off = 0;
				unsigned k;

				snprintf(comp[depth - 1], sizeof(comp[0]), "%s", str);
				for (int d = 0; d < depth - 1; d++)
					off += (size_t)snprintf(full + off, sizeof(full) - off, "%s.", kind[d] == '[' ? "[]" : comp[d]);
				snprintf(full + off, sizeof(full) - off, "%s", str);
				for (k = 0; k < out->n && strcmp(out->k[k], full); k++)
					;
				if (k == out->n && out->n < MAX_KEYS)
					strcpy(out->k[out->n++], full);
				p = q + 1;
			}
			continue;
		}
		if ((*p == '{' || *p == '[') && depth < 16)
			kind[depth++] = *p;
		else if ((*p == '}' || *p == ']') && depth > 0)
			depth--;
		p++;
	}
	qsort(out->k, out->n, sizeof(out->k[0]), cmp_str);
}

static char *read_text(const char *name)
{
	FILE *f = fopen(name, "r");
	char *buf = calloc(1, 1 << 20);

	if (!f)
		fail_msg("cannot open %s (unit tests run from the top of the tree): %s", name, strerror(errno));
	assert_non_null(buf);
	if (fread(buf, 1, (1 << 20) - 1, f) == 0)
		fail_msg("%s is empty", name);
	fclose(f);
	return buf;
}

/* nvpoll's JSON for ARGS has the keys of nvme-cli's output in test/fixtures/nvme-cli/@fixture. */
static void expect_nvme_cli_keys(const char *fixture, int argc, const char *const *args)
{
	char name[128], *ref;
	struct keys *want = malloc(sizeof(*want)), *got = malloc(sizeof(*got));
	unsigned w = 0, g = 0, bad = 0;

	snprintf(name, sizeof(name), "test/fixtures/nvme-cli/%s", fixture);
	ref = read_text(name);
	assert_int_equal(run_cli(argc, args), 0);
	json_keys(ref, want);
	json_keys(out_text, got);
	assert_true(want->n >= 2);
	while (w < want->n || g < got->n) {
		int c = w == want->n ? 1 : g == got->n ? -1 : strcmp(want->k[w], got->k[g]);

		if (c < 0)
			fprintf(stderr, "  %s: nvme-cli has \"%s\", nvpoll does not\n", fixture, want->k[w++]);
		else if (c > 0)
			fprintf(stderr, "  %s: nvpoll has \"%s\", nvme-cli does not\n", fixture, got->k[g++]);
		else
			w++, g++;
		bad += c != 0;
	}
	if (bad)
		fail_msg("%u keys differ from nvme-cli's %s", bad, fixture);
	free(ref);
	free(want);
	free(got);
}

#define KEYS(fixture, ...) expect_nvme_cli_keys(fixture, (int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *)), \
						(const char *[]){ __VA_ARGS__ })

static void test_json_keys_match_nvme_cli(void **state)
{
	struct keys *k = malloc(sizeof(*k));

	(void)state;
	KEYS("id-ctrl.json", "id-ctrl", "sim", "-o", "json");
	KEYS("id-ns.json", "id-ns", "sim", "--nsid", "1", "-o", "json");
	KEYS("smart-log.json", "smart-log", "sim", "-o", "json");
	KEYS("error-log.json", "error-log", "sim", "--output-format", "json");
	KEYS("list-ns.json", "list-ns", "sim", "--json");
	/* get-feature: nvme-cli 2.3 has no JSON form (fixtures/nvme-cli/README); ours, as nvpoll(1) lists it */
	assert_int_equal(CLI("get-feature", "sim", "-f", "7", "-o", "json"), 0);
	json_keys(out_text, k);
	assert_int_equal(k->n, 6);
	assert_string_equal(k->k[0], "feature_id");
	assert_string_equal(k->k[1], "name");
	assert_string_equal(k->k[2], "ncqa");
	assert_string_equal(k->k[3], "nsqa");
	assert_string_equal(k->k[4], "sel");
	assert_string_equal(k->k[5], "value");
	free(k);
}

static void test_id_ctrl(void **state)
{
	(void)state;
	assert_int_equal(CLI("id-ctrl", "sim"), 0);
	expect_out("NVME Identify Controller:\nvid       : 0x1b36\nssvid     : 0x1af4\nsn        : NVPSIM0001");
	expect_out("\nmn        : nvpoll sim ");
	expect_out("\noacs      : 0x10a\n"); /* Format NVM, Namespace Attachment, Doorbell Buffer Config */
	expect_out("\nelpe      : 255\n");
	expect_out("\nsubnqn    : nqn.2024-01.dev.nvpoll:sim:NVPSIM0001\n");
	assert_int_equal(CLI("id-ctrl", "sim", "-H"), 0);
	expect_out("  [1:1] : 1\tFormat NVM Supported\n");
	expect_out("  [3:3] : 1\tWrite Zeroes Supported\n");
	assert_int_equal(CLI("id-ctrl", "sim", "-o", "json"), 0);
	expect_out("{\"vid\":6966,\"ssvid\":6900,\"sn\":\"NVPSIM0001          \",");
	expect_out(",\"nn\":1,");
	expect_out(",\"psds\":[{\"max_power\":2500,");
	assert_int_equal(CLI("id-ctrl", "sim", "-o", "binary"), 0);
	assert_int_equal(out_len, 4096);
	assert_int_equal(((struct nvme_id_ctrl *)out_text)->vid, 0x1b36);
	assert_int_equal(CLI("id-ctrl", "sim", "-b"), 0);
	assert_int_equal(out_len, 4096);
}

static void test_id_ns(void **state)
{
	(void)state;
	assert_int_equal(CLI("id-ns", "sim:size=8M", "--nsid", "1"), 0);
	expect_out("NVME Identify Namespace 1:\nnsze    : 0x4000 (16384 blocks, 8 MiB)\n");
	expect_out("LBA Format  0 : Metadata Size: 0   bytes - Data Size: 512 bytes - Relative Performance: 0x1 Better (in use)\n");
	expect_out("LBA Format  3 : Metadata Size: 0   bytes - Data Size: 4096 bytes - Relative Performance: 0 Best\n");
	expect_out("LBA Format  7 : Metadata Size: 0   bytes - Data Size: 65536 bytes - Relative Performance: 0x2 Good\n");
	assert_int_equal(CLI("id-ns", "sim", "-n", "1", "-H"), 0);
	expect_out("flbas   : 0\n  [6:5] : 0\tMost significant 2 bits of Current LBA Format Selected\n");
	expect_out("dlfeat  : 1\n  [3:3] : 0\tDeallocate Bit in the Write Zeroes Command is Not Supported\n"
		   "  [2:0] : 0x1\tBytes Read From a Deallocated Logical Block and its Metadata are 0x00\n");
	assert_int_equal(CLI("id-ns", "sim", "--namespace-id", "1", "-o", "json"), 0);
	expect_out("\"nlbaf\":7,\"flbas\":0,");
	expect_out("\"lbafs\":[{\"ms\":0,\"ds\":9,\"rp\":1},{\"ms\":0,\"ds\":10,\"rp\":2},");
	expect_out(",{\"ms\":0,\"ds\":16,\"rp\":2}]}\n");
	assert_int_equal(CLI("id-ns", "sim:ns=2", "--nsid", "3"), 1);
	expect_err("namespace 3: ");
	expect_err("Invalid Namespace");
	assert_int_equal(CLI("id-ns", "sim"), 2); /* no namespace named */
	assert_int_equal(nr_opens, 1);
	expect_err("id-ns needs a namespace: --nsid N");
	assert_int_equal(CLI("list-ns", "sim:ns=3"), 0);
	expect_out("[   0]:0x1  (64 MiB)\n[   1]:0x2  (64 MiB)\n[   2]:0x3  (64 MiB)\n");
	assert_int_equal(CLI("list-ns", "sim:ns=2", "-o", "json"), 0);
	assert_string_equal(out_text, "{\"nsid_list\":[{\"nsid\":1},{\"nsid\":2}]}\n");
}

/* Written, then read through the same device (the hooks keep it): the counters moved. */
static void test_smart_log(void **state)
{
	(void)state;
	write_file(path, 8 * LBA);
	assert_int_equal(CLI("write", "sim", "--nsid", "1", "--slba", "0", "--nlb", "8", "--data", path), 0);
	reuse = 1;
	assert_int_equal(CLI("smart-log", "sim"), 0);
	expect_out("Smart Log for NVME device:sim namespace-id:ffffffff\n");
	expect_out("temperature                             : 27 °C (300 K)\n");
	expect_out("Data Units Written                      : 1 (512.00 kB)\n");
	expect_out("host_write_commands                     : 1\n");
	expect_out("power_on_hours                          : 0\n");
	expect_out("Warning Temperature Time                : 0 minutes\n");
	expect_out("num_err_log_entries                     : 0\n");
	assert_int_equal(CLI("smart-log", "sim", "-o", "json"), 0);
	expect_out("{\"critical_warning\":0,\"temperature\":300,\"avail_spare\":100,");
	expect_out(",\"data_units_written\":\"1\",");
	expect_out(",\"host_write_commands\":\"1\",");
	assert_int_equal(CLI("smart-log", "sim", "-o", "binary"), 0);
	assert_int_equal(out_len, 512);
	assert_int_equal((uint8_t)out_text[1] | (uint8_t)out_text[2] << 8, 300);
}

/* Every entry the controller keeps (ELPE + 1 = 256 on the sim), and a failed command shows up in them. */
static void test_error_log(void **state)
{
	const char *p;
	unsigned n = 0;

	(void)state;
	assert_int_equal(CLI("error-log", "sim", "-o", "json"), 0);
	for (p = out_text; (p = strstr(p, "\"error_count\":")); p++)
		n++;
	assert_int_equal(n, 256);
	assert_int_equal(CLI("io-passthru", "sim", "--nsid", "1", "--opcode", "0x7f"), 1);
	expect_err("io-passthru failed: Invalid Command Opcode");
	reuse = 1;
	assert_int_equal(CLI("error-log", "sim"), 0);
	expect_out("Error Log Entries for device:sim entries:256\n");
	expect_out("Entry[ 0]: error_count 1, sqid 1,");
	expect_out("Invalid Command Opcode");
	expect_out("1 of 256 entries hold an error\n");
	assert_int_equal(CLI("smart-log", "sim", "-o", "json"), 0);
	expect_out("\"num_err_log_entries\":\"1\"");
	assert_int_equal(CLI("error-log", "sim", "-b"), 0);
	assert_int_equal(out_len, 256 * 64);
}

static void test_fw_log_get_log(void **state)
{
	(void)state;
	assert_int_equal(CLI("fw-log", "sim"), 0);
	expect_out("afi  : 0x1 (active slot 1)\nfrs1 : 0x2020202020312e30 (0.1     )\n");
	assert_int_equal(CLI("fw-log", "sim", "-o", "json"), 0);
	assert_string_equal(out_text, "{\"sim\":{\"Active Firmware Slot (afi)\":1,"
				      "\"Firmware Rev Slot 1\":\"2314885530819571248 (0.1     )\"}}\n");
	assert_int_equal(CLI("get-log", "sim", "--log-id", "2", "--log-len", "16"), 0);
	expect_out("Device:sim log-id:2 namespace-id:0xffffffff\n");
	expect_out("0000: 00 2c 01 64 0a 00 00 00 00 00 00 00 00 00 00 00 \".,.d............\"\n");
	assert_int_equal(CLI("get-log", "sim", "--log-id", "3", "--log-len", "512", "-b"), 0);
	assert_int_equal(out_len, 512);
	assert_memory_equal(out_text + 8, "0.1     ", 8);
	assert_int_equal(CLI("get-log", "sim", "--log-id", "0x70", "--log-len", "512"), 1);
	expect_err("log page 0x70: ");
	expect_refused(CLI("get-log", "sim", "--log-id", "2"), "get-log needs --log-id and --log-len");
	expect_refused(CLI("get-log", "sim", "--log-id", "2", "--log-len", "6"), "expected a multiple of 4 bytes");
	expect_refused(CLI("get-log", "sim", "--log-id", "2", "--log-len", "8", "-o", "json"), "no JSON form");
}

static void test_features(void **state)
{
	(void)state;
	assert_int_equal(CLI("get-feature", "sim", "-f", "7"), 0);
	expect_out("get-feature:0x07 (Number of Queues), Current value:0x000f000f\n"
		   "\tNumber of IO Completion Queues Allocated (NCQA): 16\n");
	assert_int_equal(CLI("get-feature", "sim", "-f", "7", "--sel", "supported"), 0);
	expect_out("Supported capabilities value:0x00000004\n\tsaveable: no, per namespace: no, changeable: yes\n");
	assert_int_equal(CLI("get-feature", "sim", "-f", "1", "--sel", "default", "-o", "json"), 0);
	expect_out("{\"feature_id\":1,\"name\":\"Arbitration\",\"sel\":\"default\",");
	assert_int_equal(CLI("get-feature", "sim", "--feature-id", "0x55"), 1);
	expect_err("get-feature 0x55 (Unknown), current: Invalid Field in Command");
	assert_int_equal(CLI("set-feature", "sim", "-f", "0x0f", "-v", "4000"), 0);
	expect_out("set-feature:0x0f (Keep Alive Timer), value:0x00000fa0, cdw12:0x00000000, save:0\n");
	reuse = 1;
	assert_int_equal(CLI("get-feature", "sim", "-f", "0x0f", "-H"), 0);
	expect_out("Current value:0x00000fa0\n\tKeep Alive Timeout (KATO): 4000 ms\n");
	reuse = 0;
	assert_int_equal(CLI("set-feature", "sim", "-f", "0x0f", "-v", "1", "--save"), 1);
	expect_err("Feature Identifier Not Saveable");
	expect_refused(CLI("get-feature", "sim"), "get-feature needs -f (--feature-id)");
	expect_refused(CLI("get-feature", "sim", "-f", "7", "--sel", "later"), "--sel 'later': expected current, default");
	expect_refused(CLI("set-feature", "sim", "-f", "7"), "set-feature needs -f (--feature-id) and -v (--value)");
}

static void test_show_regs_reset(void **state)
{
	(void)state;
	assert_int_equal(CLI("show-regs", "sim"), 0);
	/* CC: EN, IOSQES 6, IOCQES 4, and CSS 110b (all command sets: the sim offers CAP.CSS bit 6, as QEMU does). */
	expect_out("version : 10400\ncc      : 460061\ncsts    : 1\n");
	assert_int_equal(CLI("show-regs", "sim", "-H"), 0);
	expect_out("\tMaximum Queue Entries Supported (MQES): 1024\n");
	expect_out("\tEnable (EN): yes\n");
	expect_out("\tReady (RDY): yes\n");
	assert_int_equal(CLI("show-regs", "sim", "-o", "json"), 0);
	expect_out("\"vs\":66560,\"intms\":0,\"intmc\":0,\"cc\":4587617,\"csts\":1,");
	assert_int_equal(CLI("show-regs", "nil"), 1);
	expect_err("nil: the nil config has no controller registers to read");
	assert_int_equal(CLI("reset", "sim"), 0);
	expect_out("controller reset: done, sim ready again\n");
}

static void test_io_commands(void **state)
{
	uint8_t *got, *want = malloc(16 * LBA);
	char other[128];

	(void)state;
	fill_pattern(want, 16 * LBA);
	write_file(path, 16 * LBA);
	assert_int_equal(CLI("write", "sim", "--nsid", "1", "--slba", "0", "--nlb", "16", "--data", path), 0);
	reuse = 1;
	assert_int_equal(CLI("compare", "sim", "--nsid", "1", "--slba", "0", "--nlb", "16", "--data", path), 0);
	expect_out("compare: LBAs 0..15 of namespace 1 hold the data of ");
	assert_int_equal(CLI("compare", "sim", "--nsid", "1", "--slba", "1", "--nlb", "15", "--data", path), 1);
	expect_err("compare of LBA 1+15 failed: Compare Failure");
	assert_int_equal(CLI("write-zeroes", "sim", "--nsid", "1", "--slba", "2", "--nlb", "2"), 0);
	expect_out("NVMe Write Zeroes: success: LBAs 2..3 (1 KiB) of namespace 1\n");
	assert_int_equal(CLI("dsm", "sim", "--nsid", "1", "--slba", "8", "--nlb", "4", "--ad"), 0);
	expect_out("NVMe DSM: success: deallocated LBAs 8..11 of namespace 1\n");
	assert_int_equal(CLI("flush", "sim"), 0);
	expect_out("NVMe Flush: success (namespace 1)\n");
	/* --data -: the blocks to standard output */
	assert_int_equal(CLI("read", "sim", "--nsid", "1", "--slba", "0", "--nlb", "16", "--data", "-"), 0);
	assert_int_equal(out_len, 16 * LBA);
	memset(want + 2 * LBA, 0, 2 * LBA);
	memset(want + 8 * LBA, 0, 4 * LBA);
	assert_memory_equal(out_text, want, 16 * LBA);
	got = read_back(64);
	assert_memory_equal(got, want, 16 * LBA);
	free(got);
	snprintf(other, sizeof(other), "%s/none", dir);
	expect_refused(CLI("dsm", "sim", "--nsid", "1", "--slba", "0", "--nlb", "4"), "dsm needs --ad");
	expect_refused(CLI("write-zeroes", "sim", "--nsid", "1", "--nlb", "4"), "write-zeroes needs --slba:");
	expect_refused(CLI("compare", "sim", "--nsid", "1", "--slba", "0", "--nlb", "4"), "compare needs --data:");
	free(want);
}

/* format: 512 B to 4 KiB blocks, the namespace read again, its data gone; then back. */
static void test_format(void **state)
{
	uint8_t zero[4096] = { 0 };

	(void)state;
	write_file(path, 8 * LBA);
	assert_int_equal(CLI("write", "sim:size=1M", "--nsid", "1", "--slba", "0", "--nlb", "8", "--data", path), 0);
	reuse = 1;
	assert_int_equal(CLI("format", "sim", "--nsid", "1", "--lbaf", "3", "--force"), 0);
	expect_out("Success formatting namespace:1\nnamespace 1: 256 blocks of 4096 bytes (1 MiB), LBA format 3\n");
	assert_int_equal(nvp_ns_info(nvp_ns_get(kept, 1))->lba_size, 4096);
	assert_int_equal(CLI("id-ns", "sim", "--nsid", "1"), 0);
	expect_out("LBA Format  3 : Metadata Size: 0   bytes - Data Size: 4096 bytes - Relative Performance: 0 Best (in use)\n");
	assert_int_equal(CLI("read", "sim", "--nsid", "1", "--slba", "0", "--nlb", "1", "--data", "-"), 0);
	assert_int_equal(out_len, 4096);
	assert_memory_equal(out_text, zero, 4096);
	assert_int_equal(CLI("read", "sim", "--nsid", "1", "--slba", "256", "--nlb", "1", "--data", "-"), 1);
	expect_err("past the end of namespace 1 (256 blocks)");
	assert_int_equal(CLI("format", "sim", "--nsid", "1", "--lbaf", "8", "--force"), 1);
	expect_err("--lbaf 8: namespace 1 has LBA formats 0..7");
	assert_int_equal(CLI("format", "sim", "--nsid", "1", "--lbaf", "0", "--ses", "1", "--force"), 0);
	expect_out("namespace 1: 2048 blocks of 512 bytes (1 MiB), LBA format 0\n");
	reuse = 0;
	expect_refused(CLI("format", "sim", "--nsid", "1", "--lbaf", "3"), "add --force");
	expect_refused(CLI("format", "sim", "--nsid", "1", "--force"), "format needs --lbaf N");
	expect_refused(CLI("format", "sim", "--nsid", "1", "--lbaf", "3", "--ses", "3", "--force"), "--ses 3: expected 0");
}

static void test_passthru(void **state)
{
	(void)state;
	assert_int_equal(CLI("admin-passthru", "sim", "--opcode", "6", "--cdw10", "1", "--data-len", "4096", "--read",
			     "-b"), 0);
	assert_int_equal(out_len, 4096);
	assert_int_equal(((struct nvme_id_ctrl *)out_text)->vid, 0x1b36);
	assert_int_equal(CLI("admin-passthru", "sim", "--opcode", "0x0a", "--cdw10", "7"), 0);
	expect_out("NVMe command result:000f000f\n");
	assert_int_equal(CLI("admin-passthru", "sim", "--opcode", "0x0a", "--cdw10", "7", "-o", "json"), 0);
	assert_string_equal(out_text, "{\"result\":983055,\"data_len\":0}\n");
	/* Write 1 block from a file (opcode 01h: host to controller), read it back to a file. */
	write_file(path, LBA);
	assert_int_equal(CLI("io-passthru", "sim", "--nsid", "1", "--opcode", "1", "--cdw10", "5", "--data-len", "512",
			     "--data", path, "--write"), 0);
	reuse = 1;
	assert_int_equal(CLI("io-passthru", "sim", "--nsid", "1", "--opcode", "2", "--cdw10", "5", "--data-len", "512",
			     "-b"), 0);
	assert_int_equal(out_len, LBA);
	{
		uint8_t want[LBA];

		fill_pattern(want, LBA);
		assert_memory_equal(out_text, want, LBA);
	}
	reuse = 0;
	expect_refused(CLI("io-passthru", "sim", "--nsid", "1"), "io-passthru needs --opcode");
	expect_refused(CLI("io-passthru", "sim", "--opcode", "1", "--data-len", "512", "--write"),
		       "io-passthru --write needs --data FILE");
	expect_refused(CLI("admin-passthru", "sim", "--opcode", "6", "--read", "--write", "--data-len", "4"),
		       "--read and --write both given");
}

/* The kept device holds the sim file's lock: close it before the next command opens the file. */
static void drop_kept(void)
{
	if (kept)
		nvp_dev_close(kept);
	kept = NULL;
}
#define NSCLI(...) (drop_kept(), CLI(__VA_ARGS__))

/*
 * attach-ns / detach-ns (and their ns-attach / ns-detach names), list-ns -a and list-ctrl, on a sim
 * whose file keeps the attachment state from one command to the next, as a controller does.
 */
static void test_ns_attach(void **state)
{
	char dev[160];

	(void)state;
	snprintf(dev, sizeof(dev), "sim:ns=2,size=1M,detached=2,file=%s/ns.img", dir);
	assert_int_equal(NSCLI("list-ns", dev), 0);
	assert_string_equal(out_text, "[   0]:0x1  (1 MiB)\n");
	assert_int_equal(NSCLI("list-ns", dev, "--all"), 0);
	assert_string_equal(out_text, "[   0]:0x1  (1 MiB)\n[   1]:0x2\n");
	assert_int_equal(NSCLI("list-ns", dev, "-a", "-o", "json"), 0);
	assert_string_equal(out_text, "{\"nsid_list\":[{\"nsid\":1},{\"nsid\":2}]}\n");
	assert_int_equal(NSCLI("list-ctrl", dev), 0);
	assert_string_equal(out_text, "num of ctrls present: 1\n[   0]:0x1\n");
	assert_int_equal(NSCLI("list-ctrl", dev, "-n", "2", "-o", "json"), 0);
	assert_string_equal(out_text, "{\"num_ctrl\":0,\"ctrl_list\":[]}\n");
	assert_int_equal(NSCLI("list-ctrl", dev, "-n", "1", "-o", "json"), 0);
	assert_string_equal(out_text, "{\"num_ctrl\":1,\"ctrl_list\":[{\"ctrl_id\":1}]}\n");
	assert_int_equal(NSCLI("list-ctrl", dev, "--cntid", "2"), 0);
	assert_string_equal(out_text, "num of ctrls present: 0\n");
	/* Detached: the library does not offer it, and the controller refuses a raw read of it. */
	assert_int_equal(NSCLI("read", dev, "--nsid", "2", "--slba", "0", "--nlb", "1", "--data", "-"), 1);
	expect_err("namespace 2 is not active");
	assert_int_equal(NSCLI("io-passthru", dev, "--nsid", "2", "--opcode", "2", "--data-len", "512", "--read", "-b"), 1);
	expect_err("Invalid Namespace or Format (SCT 0h / SC bh, DNR)");

	/* Attach (to this controller: no -c), then it is listed and readable. */
	assert_int_equal(NSCLI("attach-ns", dev, "--namespace-id", "2"), 0);
	assert_string_equal(out_text, "attach-ns: Success, nsid:2\n");
	assert_int_equal(NSCLI("list-ns", dev), 0);
	assert_string_equal(out_text, "[   0]:0x1  (1 MiB)\n[   1]:0x2  (1 MiB)\n");
	assert_int_equal(NSCLI("read", dev, "--nsid", "2", "--slba", "0", "--nlb", "1", "--data", "-"), 0);
	assert_int_equal(out_len, LBA);
	assert_int_equal(NSCLI("list-ctrl", dev, "-n", "2"), 0);
	assert_string_equal(out_text, "num of ctrls present: 1\n[   0]:0x1\n");
	assert_int_equal(NSCLI("attach-ns", dev, "-n", "2"), 1);
	expect_err("attach-ns of namespace 2: Namespace Already Attached (SCT 1h / SC 18h, DNR)");

	/* Detach by the other name, with the controller list given: gone again. */
	assert_int_equal(NSCLI("ns-detach", dev, "-n", "2", "--controllers", "1"), 0);
	assert_string_equal(out_text, "detach-ns: Success, nsid:2\n");
	assert_int_equal(NSCLI("list-ns", dev), 0);
	assert_string_equal(out_text, "[   0]:0x1  (1 MiB)\n");
	assert_int_equal(NSCLI("io-passthru", dev, "--nsid", "2", "--opcode", "2", "--data-len", "512", "--read", "-b"), 1);
	expect_err("Invalid Namespace or Format");
	assert_int_equal(NSCLI("detach-ns", dev, "-n", "2"), 1);
	expect_err("detach-ns of namespace 2: Namespace Not Attached (SCT 1h / SC 1ah, DNR)");
	assert_int_equal(NSCLI("detach-ns", dev, "-n", "1", "-c", "1,2"), 1);
	expect_err("Controller List Invalid (SCT 1h / SC 1ch, DNR)");
	assert_int_equal(NSCLI("attach-ns", dev, "-n", "3"), 1);
	expect_err("Invalid Namespace or Format");
	assert_int_equal(NSCLI("ns-attach", dev, "-n", "2", "-c", "0x1"), 0);
	assert_string_equal(out_text, "attach-ns: Success, nsid:2\n");

	/* The command line: 2, before the device is opened. */
	expect_refused(NSCLI("detach-ns", "sim"), "detach-ns needs --namespace-id N");
	expect_refused(NSCLI("detach-ns", "sim", "-n", "0xffffffff"), "name one namespace");
	expect_refused(NSCLI("attach-ns", "sim", "-n", "1", "-c", "1,,2"), "expected controller ids separated by commas");
	expect_refused(NSCLI("attach-ns", "sim", "-n", "1", "-c", "0x10000"), "'0x10000' is not a controller id");
	expect_refused(NSCLI("list-ctrl", "sim", "--cntid", "x"), "--cntid 'x': expected a controller id");
}

/* ---- exit statuses: 2 for the command line, 1 for the operation ------------------------ */

static void test_exit_codes(void **state)
{
	(void)state;
	expect_refused(CLI("frobnicate", "sim"), "unknown command 'frobnicate'");
	expect_refused(CLI("id-ctrl"), "id-ctrl needs a DEVICE");
	expect_refused(CLI("list-backends", "sim"), "list-backends takes no DEVICE");
	expect_refused(CLI("id-ctrl", "sim", "-o", "yaml"), "-o 'yaml': expected normal, json or binary");
	expect_refused(CLI("read", "sim", "--nsid", "1", "--slba", "0", "--nlb", "4294967296", "--data", "-"),
		       "--nlb 4294967296 is too large: at most 4294967295");
	expect_refused(CLI("read", "sim", "--nsid", "1", "--slba", "0", "--nlb", "0", "--data", "-"), "--nlb 0:");
	expect_refused(CLI("id-ns", "sim", "--nsid", "0x100000000"), "--nsid 0x100000000 is too large");
	/* the DEVICE's /ns=N and --nsid disagree: refused before anything is opened */
	expect_refused(CLI("id-ns", "0000:00:05.0/ns=1", "--nsid", "2"), "--nsid 2 conflicts with namespace 1, which "
		       "0000:00:05.0/ns=1 names");
	/* a malformed DEVICE, a bad sim option, an unknown --be: the command line again (opened, refused) */
	assert_int_equal(CLI("id-ctrl", "sim:bogus=1"), 2);
	expect_err("sim option 'bogus' is unknown");
	assert_int_equal(CLI("id-ctrl", "0000:zz"), 2);
	expect_err("is not a device URI");
	assert_int_equal(CLI("id-ctrl", "sim", "--be", "nope"), 2);
	assert_int_equal(CLI("id-ctrl", "sim", "--mem", "nope"), 2);
	/* an operation that fails: 1 */
	assert_int_equal(CLI("id-ctrl", "0000:ff:1f.7"), 1);
	assert_int_equal(CLI("read", "sim", "--nsid", "1", "--slba", "131072", "--nlb", "1", "--data", "-"), 1);
	assert_int_equal(CLI("identify", "sim", "--nsid", "9"), 1);
	/* --help and --version: 0, on standard output */
	assert_int_equal(CLI("--version"), 0);
	assert_string_equal(out_text, "nvpoll version 0.3\n");
	assert_int_equal(CLI("version"), 0);
	assert_int_equal(CLI("--help"), 0);
	expect_out("exit status: 0 done, 1 the operation failed, 2 the command line is wrong.\n");
}

/* Messages name the installed commands and the flags, not the source tree and struct fields. */
static void test_messages(void **state)
{
	(void)state;
	assert_int_equal(CLI("id-ctrl", "sim", "--be", "nil"), 2);
	expect_err("config 'nil' cannot open 'sim'");
	assert_null(strstr(err_text, "opts."));
	assert_int_equal(CLI("--help"), 0);
	expect_out("bound by nvpoll-setup config");
	assert_null(strstr(out_text, "scripts/setup.sh"));
	/* the library's words for programs, as lib/be/be.c and lib/hugemem/hugemem.c write them */
	nvp_set_error(-EBUSY, "device 0000:00:05.0 is not bound to any driver: run scripts/setup.sh config, or "
		      "pick a config with opts.be / NVP_BE (opts.mem: libc)");
	assert_string_equal(tool_errmsg(), "device 0000:00:05.0 is not bound to any driver: run nvpoll-setup config, "
			    "or pick a config with --be / $NVP_BE (--mem: libc)");
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
		cmocka_unit_test_setup_teardown(test_json_keys_match_nvme_cli, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_ctrl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_ns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smart_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fw_log_get_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_regs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passthru, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ns_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
