/* SPDX-License-Identifier: MIT */
/*
 * The Report Zones parser fed arbitrary bytes, as a controller could
 * answer. Input: u8 max (zones the caller has room for), then the report
 * buffer itself (header and descriptors), its length the rest of the
 * input. The buffer is copied into an allocation of exactly that size, so
 * ASan sees any read past it; the zones array is exactly max entries.
 * Invariants: -EINVAL exactly when the buffer is shorter than the header;
 * otherwise the count is at most max, the header's count and what the
 * buffer holds, and each zone decodes its own descriptor's bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvpoll.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned max = size ? data[0] : 0;
	size_t len = size ? size - 1 : 0;
	uint8_t *buf = malloc(len ? len : 1);
	struct nvp_zone *zones = malloc((max ? max : 1) * sizeof(*zones));
	uint64_t hdr_nr = 0, nr = 0xdead;
	int n;

	FUZZ_CHECK(buf && zones);
	memcpy(buf, data + (size ? 1 : 0), len);
	n = nvp_zone_report_parse(buf, len, zones, max, &nr);
	if (len < 64) {
		FUZZ_CHECK(n == -EINVAL && nr == 0xdead);
		goto out;
	}
	memcpy(&hdr_nr, buf, 8);
	FUZZ_CHECK(n >= 0 && nr == hdr_nr);
	FUZZ_CHECK((unsigned)n <= max && (uint64_t)n <= hdr_nr && (size_t)n <= (len - 64) / 64);
	/* As many as all three bounds allow: none is dropped silently. */
	FUZZ_CHECK((unsigned)n == max || (uint64_t)n == hdr_nr || (size_t)n == (len - 64) / 64);
	for (int i = 0; i < n; i++) {
		const uint8_t *d = buf + 64 + (size_t)i * 64;
		uint64_t zcap, zslba, wp;

		memcpy(&zcap, d + 8, 8);
		memcpy(&zslba, d + 16, 8);
		memcpy(&wp, d + 24, 8);
		FUZZ_CHECK(zones[i].zcap == zcap && zones[i].zslba == zslba && zones[i].wp == wp);
		FUZZ_CHECK(zones[i].type == (d[0] & 0xf) && zones[i].state == d[1] >> 4 && zones[i].attrs == d[2]);
	}
	/* NULL zones with room for none is fine; with room for some it is refused. */
	FUZZ_CHECK(nvp_zone_report_parse(buf, len, NULL, 0, NULL) == 0);
	FUZZ_CHECK(nvp_zone_report_parse(buf, len, NULL, 1, NULL) == -EINVAL);
out:
	free(zones);
	free(buf);
	return 0;
}
