/* SPDX-License-Identifier: MIT */
/*
 * The SIGBUS handler for vanished BARs (see bar_guard.h). It is installed
 * once per process, the first time a BAR is registered, and chains to the
 * previous handler for faults that are not ours. The registry is a fixed
 * array of atomics: the handler may run at any moment and must not lock.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <nvpoll/barrier.h>

#include "internal.h"
#include "pci/bar_guard.h"

#define NVP_BAR_GUARDS 64

static struct {
	uintptr_t start; /* 0: free slot */
	size_t len;
} guards[NVP_BAR_GUARDS];

static struct sigaction previous;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_err;

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
	static const char msg[] = "nvpoll: SIGBUS on a device BAR: the device is gone; it now reads all ones\n";
	uintptr_t addr = (uintptr_t)si->si_addr;

	for (unsigned i = 0; i < NVP_BAR_GUARDS; i++) {
		/* Acquire: a start seen set comes with the len stored before it. */
		uintptr_t start = nvp_load_acquire(&guards[i].start);
		size_t len = nvp_load_relaxed(&guards[i].len);
		void *p;

		if (!start || addr - start >= len)
			continue;
		p = mmap((void *)start, len, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		memset(p, 0xff, len);
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
			/* nothing to do: a message is all it was */
		}
		return; /* the faulting access runs again and reads all ones */
	}
	/* Not ours: what would have happened without us. */
	if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
		previous.sa_sigaction(sig, si, uctx);
	} else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
	} else {
		/* The fault repeats on return and takes the default action: the process dies. */
		signal(SIGBUS, SIG_DFL);
	}
}

static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &previous))
		install_err = -errno;
}

int nvp_bar_guard_add(void *addr, size_t len)
{
	pthread_once(&install_once, install);
	if (install_err)
		return nvp_set_error(install_err, "cannot install the SIGBUS handler for device removal");
	for (unsigned i = 0; i < NVP_BAR_GUARDS; i++) {
		uintptr_t expected = 0;

		/* Publish the length before the start: the handler reads start first. */
		if (nvp_load_relaxed(&guards[i].start)) /* taken: a hint only, the cmpxchg decides */
			continue;
		nvp_store_relaxed(&guards[i].len, len); /* ordered by the release below */
		if (nvp_cmpxchg_release(&guards[i].start, &expected, (uintptr_t)addr))
			return 0;
	}
	return nvp_set_error(-ENOSPC, "more than %d device BARs mapped: removal of the others is not survived",
			     NVP_BAR_GUARDS);
}

void nvp_bar_guard_remove(void *addr)
{
	for (unsigned i = 0; i < NVP_BAR_GUARDS; i++)
		if (nvp_load_relaxed(&guards[i].start) == (uintptr_t)addr) /* our own slot: no data behind it */
			nvp_store_release(&guards[i].start, 0); /* after our last use of the mapping */
}

int nvp_bar_fill_ones(void *addr, size_t len)
{
	void *ones = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	if (ones == MAP_FAILED)
		return -errno;
	memset(ones, 0xff, len);
	if (mremap(ones, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, addr) == MAP_FAILED) {
		err = -errno;
		munmap(ones, len);
		return err;
	}
	return 0;
}
