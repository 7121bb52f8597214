/* SPDX-License-Identifier: MIT */
/*
 * nvpoll list, list-backends and discover: what is there to open, and how.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nvpoll.h"

int cmd_list_backends(const struct args *a)
{
	struct nvp_backend_info be[NVP_MAX_BACKENDS];
	unsigned n = nvp_backends(be, NVP_MAX_BACKENDS);

	if (n > NVP_MAX_BACKENDS)
		n = NVP_MAX_BACKENDS;
	if ((a->fmt == OUT_JSON))
		printf("[");
	else
		printf("%-12s %-6s %-16s %-15s %s\n", "CONFIG", "USABLE", "DRIVER", "MEMORY", "WHY");
	for (unsigned i = 0; i < n; i++) {
		if ((a->fmt == OUT_JSON)) {
			printf("%s{\"name\":", i ? "," : "");
			tool_json_str(be[i].name);
			printf(",\"driver\":");
			tool_json_str_or_null(be[i].driver);
			printf(",\"default_mem\":");
			tool_json_str(be[i].default_mem);
			printf(",\"mems\":");
			tool_json_str(be[i].mems);
			printf(",\"usable\":%s,\"reason\":", be[i].usable ? "true" : "false");
			tool_json_str(be[i].reason);
			printf("}");
		} else {
			printf("%-12s %-6s %-16s %-15s %s\n", be[i].name, be[i].usable ? "yes" : "no",
			       be[i].driver ? be[i].driver : "-", be[i].mems, be[i].reason);
		}
	}
	if ((a->fmt == OUT_JSON))
		printf("]\n");
	return 0;
}

static void list_json(const struct nvp_pci_info *d, unsigned idx)
{
	printf("%s{\"bdf\":", idx ? "," : "");
	tool_json_str(d->bdf);
	printf(",\"vendor_id\":\"%04x\",\"device_id\":\"%04x\",\"subsys_vendor_id\":\"%04x\","
	       "\"subsys_device_id\":\"%04x\",\"vendor\":", d->vendor_id, d->device_id, d->subsys_vendor_id,
	       d->subsys_device_id);
	tool_json_str_or_null(d->vendor);
	printf(",\"device\":");
	tool_json_str_or_null(d->device);
	printf(",\"numa_node\":");
	tool_json_index_or_null(d->numa_node);
	printf(",\"driver\":");
	tool_json_str_or_null(d->driver);
	printf(",\"iommu_group\":");
	tool_json_index_or_null(d->iommu_group);
	printf(",\"iommu_type\":");
	tool_json_str_or_null(d->iommu_type);
	printf(",\"backend\":");
	tool_json_str_or_null(d->backend);
	printf(",\"usable\":[");
	for (unsigned k = 0; k < d->nr_usable; k++) {
		printf(k ? "," : "");
		tool_json_str(d->usable[k]);
	}
	printf("],\"reason\":");
	tool_json_str_or_null(d->reason);
	printf("}");
}

static void list_text(const struct nvp_pci_info *d)
{
	char numa[16] = "-", group[32] = "-", usable[128] = "";
	size_t off = 0;

	if (d->numa_node >= 0)
		snprintf(numa, sizeof(numa), "%d", d->numa_node);
	if (d->iommu_group >= 0)
		snprintf(group, sizeof(group), "%d%s%s%s", d->iommu_group, d->iommu_type[0] ? " (" : "",
			 d->iommu_type, d->iommu_type[0] ? ")" : "");
	for (unsigned k = 0; k < d->nr_usable && off < sizeof(usable); k++)
		off += (size_t)snprintf(usable + off, sizeof(usable) - off, "%s%s", k ? "," : "", d->usable[k]);
	printf("%-13s %04x:%04x  %-4s %-16s %-14s %-12s %s%s%s\n", d->bdf, d->vendor_id, d->device_id, numa,
	       d->driver[0] ? d->driver : "-", group, d->nr_usable ? usable : "none", d->vendor,
	       d->vendor[0] && d->device[0] ? " " : "", d->device);
	if (!d->nr_usable && d->reason[0])
		printf("              %s\n", d->reason);
}

int cmd_list(const struct args *a)
{
	struct nvp_pci_info *list;
	int n = nvp_enumerate(&list);

	if (n < 0) {
		fprintf(stderr, "nvpoll: %s\n", cli_errmsg());
		return 1;
	}
	if ((a->fmt == OUT_JSON))
		printf("{\"controllers\":[");
	else if (n)
		printf("%-13s %-10s %-4s %-16s %-14s %-12s %s\n", "BDF", "ID", "NUMA", "DRIVER", "IOMMU GROUP",
		       "CAN OPEN", "NAME");
	else
		printf("no NVMe controllers (PCI class 01:08:02) found\n");
	for (int i = 0; i < n; i++) {
		if ((a->fmt == OUT_JSON))
			list_json(&list[i], (unsigned)i);
		else
			list_text(&list[i]);
	}
	if ((a->fmt == OUT_JSON))
		printf("]}\n");
	free(list);
	return 0;
}

static const char *disc_subtype(unsigned t)
{
	return t == NVME_NQN_NVM ? "nvm" : t == NVME_NQN_DISC_CURRENT ? "discovery (this one)" :
	       t == NVME_NQN_DISC_REFERRAL ? "discovery (referral)" : "unknown";
}

static const char *disc_trtype(unsigned t)
{
	return t == NVME_TRTYPE_TCP ? "tcp" : t == NVME_TRTYPE_RDMA ? "rdma" : t == NVME_TRTYPE_FC ? "fc" :
	       t == NVME_TRTYPE_LOOP ? "loop" : "unknown";
}

/* The discovery log of the target at a->dev. */
static int cmd_discover(const struct args *a)
{
	struct nvp_disc_entry *e;
	struct nvp_opts opts;
	int n;

	nvp_opts_init(&opts);
	opts.be = a->be;
	opts.mem = a->mem;
	n = nvp_discover(a->dev, &opts, &e);
	if (n < 0) {
		return op_error("%s", cli_errmsg());
	}
	if (a->fmt == OUT_JSON)
		printf("{\"records\":[");
	else if (n)
		printf("%-5s %-21s %-40s %-6s %-5s %s\n", "TYPE", "SUBTYPE", "ADDRESS", "PORT", "PORTID", "NQN");
	else
		printf("the discovery controller lists no subsystem for this host\n");
	for (int i = 0; i < n; i++) {
		if (a->fmt != OUT_JSON) {
			printf("%-5s %-21s %-40s %-6s %-5u %s\n", disc_trtype(e[i].trtype), disc_subtype(e[i].subtype),
			       e[i].traddr, e[i].trsvcid, e[i].portid, e[i].subnqn);
			continue;
		}
		printf("%s{\"trtype\":", i ? "," : "");
		tool_json_str(disc_trtype(e[i].trtype));
		printf(",\"subtype\":");
		tool_json_str(e[i].subtype == NVME_NQN_NVM ? "nvm" : "discovery");
		printf(",\"adrfam\":%u,\"traddr\":", e[i].adrfam);
		tool_json_str(e[i].traddr);
		printf(",\"trsvcid\":");
		tool_json_str(e[i].trsvcid);
		printf(",\"portid\":%u,\"cntlid\":%u,\"subnqn\":", e[i].portid, e[i].cntlid);
		tool_json_str(e[i].subnqn);
		printf("}");
	}
	if (a->fmt == OUT_JSON)
		printf("]}\n");
	free(e);
	return 0;
}

static int run_discover(struct nvp_dev *dev, const struct args *a)
{
	(void)dev;
	return cmd_discover(a);
}

static int run_list(struct nvp_dev *dev, const struct args *a)
{
	(void)dev;
	return cmd_list(a);
}

static int run_list_backends(struct nvp_dev *dev, const struct args *a)
{
	(void)dev;
	return cmd_list_backends(a);
}

const struct cmd list_cmds[] = {
	{ "list", "[--json]", "NVMe controllers: driver, NUMA node, IOMMU group, which configs can open each",
	  1, NULL, run_list, NULL },
	{ "list-backends", "[--json]", "the configs built in, and whether each is usable here now",
	  1, NULL, run_list_backends, NULL },
	{ "discover", "tcp://HOST[:PORT] [--json]", "the subsystems an NVMe/TCP target's discovery controller lists",
	  NO_DEV_TARGET, NULL, run_discover, NULL },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL },
};
