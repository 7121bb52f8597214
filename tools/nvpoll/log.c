/* SPDX-License-Identifier: MIT */
/*
 * nvpoll log: the SMART, error and firmware slot log pages.
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

int cmd_log(struct nvp_dev *dev, const struct args *a)
{
	union {
		struct nvme_smart_log smart;
		struct nvme_error_log err[8];
		struct nvme_fw_slot_log fw;
	} u;
	int err;

	/* check_options() vetted --log before the device was opened. */
	if (strcmp(a->log, "smart") == 0) {
		err = nvp_get_log_page(dev, 0xffffffff, NVME_LOG_SMART, &u.smart, sizeof(u.smart));
		if (err)
			return op_error("%s", cli_errmsg());
		const struct nvme_smart_log *s = &u.smart;
		unsigned temp = (unsigned)(s->temperature[0] | s->temperature[1] << 8);

		printf((a->fmt == OUT_JSON) ? "{\"critical_warning\":%u,\"temperature_k\":%u,\"avail_spare\":%u,\"percent_used\":%u,"
				 "\"data_units_read\":%" PRIu64 ",\"data_units_written\":%" PRIu64
				 ",\"host_reads\":%" PRIu64 ",\"host_writes\":%" PRIu64 ",\"power_cycles\":%" PRIu64
				 ",\"unsafe_shutdowns\":%" PRIu64 ",\"media_errors\":%" PRIu64 "}\n"
			       : "critical_warning   : %#x\ntemperature        : %u K\navail_spare        : %u%%\n"
				 "percent_used       : %u%%\ndata_units_read    : %" PRIu64 "\ndata_units_written : %" PRIu64
				 "\nhost_reads         : %" PRIu64 "\nhost_writes        : %" PRIu64
				 "\npower_cycles       : %" PRIu64 "\nunsafe_shutdowns   : %" PRIu64
				 "\nmedia_errors       : %" PRIu64 "\n",
		       s->critical_warning, temp, s->avail_spare, s->percent_used, le128(s->data_units_read),
		       le128(s->data_units_written), le128(s->host_reads), le128(s->host_writes),
		       le128(s->power_cycles), le128(s->unsafe_shutdowns), le128(s->media_errors));
	} else if (strcmp(a->log, "error") == 0) {
		err = nvp_get_log_page(dev, 0, NVME_LOG_ERROR, u.err, sizeof(u.err));
		if (err)
			return op_error("%s", cli_errmsg());
		printf((a->fmt == OUT_JSON) ? "[" : "");
		for (unsigned i = 0, shown = 0; i < 8; i++) {
			const struct nvme_error_log *e = &u.err[i];
			char status[96];

			if (!e->error_count)
				continue;
			if ((a->fmt == OUT_JSON))
				printf("%s{\"error_count\":%" PRIu64 ",\"sqid\":%u,\"cid\":%u,\"status\":%u,\"lba\":%" PRIu64
				       ",\"nsid\":%u}", shown ? "," : "", e->error_count, e->sqid, e->cid, e->status >> NVME_CQE_STATUS_SHIFT,
				       e->lba, e->nsid);
			else
				printf("#%" PRIu64 ": sqid %u cid %u nsid %u lba %" PRIu64 ": %s\n", e->error_count, e->sqid,
				       e->cid, e->nsid, e->lba, nvp_status_format((uint16_t)(e->status >> NVME_CQE_STATUS_SHIFT), status, sizeof(status)));
			shown++;
		}
		printf((a->fmt == OUT_JSON) ? "]\n" : "");
	} else if (strcmp(a->log, "fw") == 0) {
		err = nvp_get_log_page(dev, 0, NVME_LOG_FW_SLOT, &u.fw, sizeof(u.fw));
		if (err)
			return op_error("%s", cli_errmsg());
		printf((a->fmt == OUT_JSON) ? "{\"active_slot\":%u,\"slots\":[" : "active slot: %u\n", u.fw.afi & 7);
		for (int i = 0; i < 7; i++) {
			char fr[9];

			fixed_str(fr, u.fw.frs[i], 8);
			if ((a->fmt == OUT_JSON)) {
				printf(i ? "," : "");
				tool_json_str(fr);
			} else if (fr[0]) {
				printf("slot %d: %s\n", i + 1, fr);
			}
		}
		printf((a->fmt == OUT_JSON) ? "]}\n" : "");
	}
	return 0;
}
