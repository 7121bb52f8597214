/* SPDX-License-Identifier: MIT */
/* Mapping and unmapping BAR0 (bar.h). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "bus.h"
#include "internal.h"
#include "nvpoll.h"
#include "pci/bar.h"
#include "pci/bar_guard.h"

int nvp_pci_bar0_map(struct nvp_bus *bus, int fd, off_t off, size_t len, const char *where, void **bar0)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	if (p == MAP_FAILED)
		return nvp_set_error(-errno, "mmap of BAR0 of %s (%zu bytes%s%s): %s", bus->name, len,
				     where ? ", " : "", where ? where : "", strerror(errno));
	*bar0 = p;
	bus->bar0 = p;
	bus->bar0_len = len;
	if (nvp_bar_guard_add(p, len))
		nvp_log(NVP_LOG_WARN, "%s: %s", bus->name, nvp_errmsg());
	return 0;
}

void nvp_pci_bar0_unmap(void *bar0, size_t len)
{
	nvp_bar_guard_remove(bar0);
	munmap(bar0, len);
}
