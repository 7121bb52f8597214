/* SPDX-License-Identifier: MIT */
/*
 * nvp_discover(): open the discovery controller of an NVMe over Fabrics
 * target (through the config its URI names: tcp), read its discovery log
 * (log 70h) whole, and hand back its records. The log is read twice when
 * it changed in between (its generation counter moved), as the spec asks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvpoll.h>

#include "internal.h"

#define DISC_MAX_RECORDS 1024

/* @len bytes of space-padded text into a NUL-terminated string without the padding. */
static void field(char *dst, size_t dlen, const char *src, size_t len)
{
	while (len && (src[len - 1] == ' ' || src[len - 1] == '\0'))
		len--;
	if (len >= dlen)
		len = dlen - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* "tcp://HOST[:PORT]" gets the discovery NQN; a URI naming an NQN already is kept. */
static int disc_uri(const char *uri, char *out, size_t len)
{
	const char *host, *end;

	if (!uri || strncmp(uri, "tcp://", 6))
		return nvp_set_error(-EINVAL, "'%s' is no discovery controller: use tcp://HOST[:PORT]",
				     uri ? uri : "(null)");
	host = uri + 6;
	end = *host == '[' && strchr(host, ']') ? strchr(host, ']') : host; /* an IPv6 address has colons */
	if (strchr(end, '/'))
		snprintf(out, len, "%s", uri);
	else
		snprintf(out, len, "%s/%s", uri, NVME_DISC_SUBSYS_NQN);
	return 0;
}

static int read_log(struct nvp_dev *dev, struct nvme_disc_log_hdr **out, uint64_t *nrec)
{
	struct nvme_disc_log_hdr *hdr = calloc(1, sizeof(*hdr));
	uint64_t gen;
	int err;

	*out = NULL;
	if (!hdr)
		return nvp_set_error(-ENOMEM, "out of memory");
	for (int tries = 0;; tries++) {
		size_t len;
		void *grown;

		err = nvp_get_log_page(dev, 0, NVME_LOG_DISCOVERY, hdr, sizeof(*hdr));
		if (err)
			goto fail;
		gen = hdr->genctr;
		*nrec = hdr->numrec < DISC_MAX_RECORDS ? hdr->numrec : DISC_MAX_RECORDS;
		len = sizeof(*hdr) + (size_t)*nrec * sizeof(struct nvme_disc_log_entry);
		grown = realloc(hdr, len);
		if (!grown) {
			err = nvp_set_error(-ENOMEM, "out of memory for %llu discovery records",
					    (unsigned long long)*nrec);
			goto fail;
		}
		hdr = grown;
		err = nvp_get_log_page(dev, 0, NVME_LOG_DISCOVERY, hdr, len);
		if (err)
			goto fail;
		if (hdr->genctr == gen || tries == 3)
			break;
	}
	if (hdr->numrec < *nrec)
		*nrec = hdr->numrec;
	*out = hdr;
	return 0;
fail:
	free(hdr);
	return nvp_prefix_error(err, "reading the discovery log");
}

NVP_API int nvp_discover(const char *uri, const struct nvp_opts *opts, struct nvp_disc_entry **list)
{
	struct nvme_disc_log_hdr *hdr;
	const struct nvme_disc_log_entry *e;
	struct nvp_disc_entry *out = NULL;
	char full[512];
	struct nvp_dev *dev;
	uint64_t n = 0;
	int err;

	if (!list)
		return nvp_set_error(-EINVAL, "nvp_discover: list is NULL");
	*list = NULL;
	err = disc_uri(uri, full, sizeof(full));
	if (err)
		return err;
	dev = nvp_dev_open(full, opts);
	if (!dev)
		return -errno;
	err = read_log(dev, &hdr, &n);
	nvp_dev_close(dev);
	if (err)
		return nvp_prefix_error(err, "discover %s", uri);
	if (n) {
		out = calloc(n, sizeof(*out));
		if (!out) {
			free(hdr);
			return nvp_set_error(-ENOMEM, "out of memory");
		}
	}
	e = (const struct nvme_disc_log_entry *)(hdr + 1);
	for (uint64_t i = 0; i < n; i++) {
		field(out[i].subnqn, sizeof(out[i].subnqn), e[i].subnqn, sizeof(e[i].subnqn));
		field(out[i].traddr, sizeof(out[i].traddr), e[i].traddr, sizeof(e[i].traddr));
		field(out[i].trsvcid, sizeof(out[i].trsvcid), e[i].trsvcid, sizeof(e[i].trsvcid));
		out[i].trtype = e[i].trtype;
		out[i].adrfam = e[i].adrfam;
		out[i].subtype = e[i].subtype;
		out[i].portid = e[i].portid;
		out[i].cntlid = e[i].cntlid;
	}
	free(hdr);
	*list = out;
	return (int)n;
}
