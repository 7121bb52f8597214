/* SPDX-License-Identifier: MIT */
/*
 * Configs are data: each is a const struct nvp_bus_ops, listed once in
 * `configs` below. Adding one is one file and one line here.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "be/be.h"
#include "internal.h"
#include "vfio/sysfs.h"

static const struct nvp_bus_ops *const configs[] = {
	&nvp_vfio_ops,
	&nvp_sim_ops,
};

const struct nvp_bus_ops *nvp_be_find(const char *name)
{
	for (size_t i = 0; i < NVP_ARRAY_SIZE(configs); i++)
		if (strcmp(configs[i]->name, name) == 0)
			return configs[i];
	return NULL;
}

int nvp_uri_parse(const char *uri, struct nvp_uri *out)
{
	char bdf[NVP_URI_ADDR_MAX];
	const char *slash;
	char *end;
	unsigned long nsid;

	memset(out, 0, sizeof(*out));
	if (!uri || !*uri)
		return nvp_set_error(-EINVAL, "no device given: use a PCI address such as 0000:00:05.0, or sim");
	if (strncmp(uri, "sim", 3) == 0 && (uri[3] == '\0' || uri[3] == ':')) {
		out->is_sim = 1;
		if (strlen(uri + 3) >= sizeof(out->addr))
			return nvp_set_error(-EINVAL, "sim options are too long");
		snprintf(out->addr, sizeof(out->addr), "%s", uri[3] ? uri + 4 : "");
		return 0;
	}
	slash = strchr(uri, '/');
	if ((size_t)(slash ? slash - uri : (long)strlen(uri)) >= sizeof(bdf))
		goto bad;
	snprintf(bdf, sizeof(bdf), "%.*s", (int)(slash ? slash - uri : (long)strlen(uri)), uri);
	if (nvp_pci_bdf_parse(bdf, out->addr))
		goto bad;
	if (slash) {
		if (strncmp(slash, "/ns=", 4) || !isdigit((unsigned char)slash[4]))
			goto bad;
		errno = 0;
		nsid = strtoul(slash + 4, &end, 10);
		if (*end || errno || nsid == 0 || nsid > 0xfffffffe)
			goto bad;
		out->nsid = (uint32_t)nsid;
	}
	return 0;
bad:
	return nvp_set_error(-EINVAL, "'%s' is not a device URI: use a PCI address such as 0000:00:05.0 "
			     "(optionally /ns=N), or sim[:options]", uri);
}

int nvp_be_open(const struct nvp_uri *uri, const char *be_name, const struct nvp_opts *opts,
		struct nvp_bus **bus)
{
	const struct nvp_bus_ops *ops;
	int err;

	if (!be_name)
		be_name = uri->is_sim ? "sim" : "vfio-pci";
	ops = nvp_be_find(be_name);
	if (!ops)
		return nvp_set_error(-EINVAL, "unknown backend config '%s': use vfio-pci or sim", be_name);
	if (uri->is_sim != (ops == &nvp_sim_ops))
		return nvp_set_error(-EINVAL, "config '%s' cannot open '%s'", be_name, uri->addr);
	err = ops->open(uri->addr, opts, bus);
	if (err)
		return err;
	(*bus)->ops = ops;
	return 0;
}
