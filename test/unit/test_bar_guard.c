/*
 * A vanished BAR: a mapping whose accesses raise SIGBUS (here a shared file
 * mapping past the file's end, which faults exactly as a zapped BAR does)
 * reads all ones once registered, and a SIGBUS elsewhere still kills.
 *
 * Plain C, not cmocka: cmocka installs its own SIGBUS handler around each
 * test, which would stand in for the process's real one.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pci/bar_guard.h"

static int failures;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                  \
		}                                                                    \
	} while (0)

/* 8 KiB mapped over a 4 KiB file: the second page raises SIGBUS. */
static volatile uint8_t *faulting_mapping(void)
{
	char path[] = "/tmp/nvp-bar-XXXXXX";
	int fd = mkstemp(path);
	void *p;

	if (fd < 0 || ftruncate(fd, 4096)) {
		perror("temp file");
		exit(1);
	}
	unlink(path);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

/*
 * Run @fn in a child; 1 if the fault ended it: killed by SIGBUS, or stopped
 * by the handler that was there before ours (ASan's reports and exits).
 */
static int fault_is_fatal(void (*fn)(volatile uint8_t *), volatile uint8_t *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFSIGNALED(status) ? WTERMSIG(status) == SIGBUS : WEXITSTATUS(status) != 0;
}

static void touch_second_page(volatile uint8_t *p)
{
	(void)*(volatile uint32_t *)(p + 4096);
}

int main(void)
{
	volatile uint8_t *bar = faulting_mapping(), *other = faulting_mapping();

	/* Registered: the faulting access reads all ones, and so does the whole BAR. */
	bar[0] = 1;
	CHECK(nvp_bar_guard_add((void *)bar, 8192) == 0);
	CHECK(*(volatile uint32_t *)(bar + 4096 + 0x1c) == 0xffffffffu);
	CHECK(*(volatile uint32_t *)bar == 0xffffffffu);
	*(volatile uint32_t *)(bar + 4096) = 5; /* stores go nowhere, without faulting */

	/* Not registered: the previous handler (or the default action) still ends the process. */
	CHECK(fault_is_fatal(touch_second_page, other));

	/* Registered, then removed: no longer caught. */
	CHECK(nvp_bar_guard_add((void *)other, 8192) == 0);
	nvp_bar_guard_remove((void *)other);
	CHECK(fault_is_fatal(touch_second_page, other));

	nvp_bar_guard_remove((void *)bar);
	munmap((void *)bar, 8192);
	munmap((void *)other, 8192);
	printf("test_bar_guard: %s\n", failures ? "FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
