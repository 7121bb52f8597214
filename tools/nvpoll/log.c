/* SPDX-License-Identifier: MIT */
/*
 * The log page commands: smart-log, error-log, fw-log and get-log as
 * nvme-cli has them, and nvpoll's older log --log smart|error|fw.
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

/* --log smart|error|fw, vetted before the device is opened. */
static int check_log(const struct args *a)
{
	if (!a->log)
		return usage_error("%s", "log needs --log smart|error|fw");
	if (strcmp(a->log, "smart") && strcmp(a->log, "error") && strcmp(a->log, "fw"))
		return usage_error("--log '%s': expected smart, error or fw", a->log);
	if (a->fmt == OUT_BINARY)
		return usage_error("log has no binary form: smart-log, error-log or fw-log -o binary");
	return 0;
}

/* ---- smart-log -------------------------------------------------------------- */

static void counter(const char *json_key, const char *label, const uint8_t *v, int json)
{
	char buf[48];

	if (json)
		js_str(json_key, u128_str(v, buf, sizeof(buf)));
	else
		printf("%-40s: %s\n", label, u128_str(v, buf, sizeof(buf)));
}

/* Data units: thousands of 512-byte units, as nvme-cli shows them beside the count. */
static void data_units(const char *json_key, const char *label, const uint8_t *v, int json)
{
	char buf[48], size[32];

	if (json) {
		js_str(json_key, u128_str(v, buf, sizeof(buf)));
		return;
	}
	printf("%-40s: %s (%s)\n", label, u128_str(v, buf, sizeof(buf)),
	       human_size_si((double)le128(v) * 512000.0, size, sizeof(size)));
}

static int run_smart_log(struct nvp_dev *dev, const struct args *a)
{
	struct nvme_smart_log s;
	int json = a->fmt == OUT_JSON;
	uint32_t nsid;
	unsigned temp;

	if (cmd_nsid(dev, a, &nsid))
		return EXIT_USAGE;
	if (nvp_get_log_page(dev, nsid ? nsid : 0xffffffff, NVME_LOG_SMART, &s, sizeof(s)))
		return op_error("%s", cli_errmsg());
	if (a->fmt == OUT_BINARY)
		return write_binary(&s, sizeof(s));
	temp = (unsigned)(s.temperature[0] | s.temperature[1] << 8);
	if (json) {
		js_open(NULL, '{');
		js_u64("critical_warning", s.critical_warning);
		js_u64("temperature", temp);
		js_u64("avail_spare", s.avail_spare);
		js_u64("spare_thresh", s.spare_thresh);
		js_u64("percent_used", s.percent_used);
		js_u64("endurance_grp_critical_warning_summary", s.endu_grp_crit_warn_sumry);
	} else {
		printf("Smart Log for NVME device:%s namespace-id:%x\n", a->dev, nsid ? nsid : 0xffffffff);
		printf("%-40s: %#x\n", "critical_warning", s.critical_warning);
		printf("%-40s: %d °C (%u K)\n", "temperature", (int)temp - 273, temp);
		printf("%-40s: %u%%\n", "available_spare", s.avail_spare);
		printf("%-40s: %u%%\n", "available_spare_threshold", s.spare_thresh);
		printf("%-40s: %u%%\n", "percentage_used", s.percent_used);
		printf("%-40s: %u\n", "endurance group critical warning summary", s.endu_grp_crit_warn_sumry);
	}
	data_units("data_units_read", "Data Units Read", s.data_units_read, json);
	data_units("data_units_written", "Data Units Written", s.data_units_written, json);
	counter("host_read_commands", "host_read_commands", s.host_reads, json);
	counter("host_write_commands", "host_write_commands", s.host_writes, json);
	counter("controller_busy_time", "controller_busy_time (minutes)", s.ctrl_busy_time, json);
	counter("power_cycles", "power_cycles", s.power_cycles, json);
	counter("power_on_hours", "power_on_hours", s.power_on_hours, json);
	counter("unsafe_shutdowns", "unsafe_shutdowns", s.unsafe_shutdowns, json);
	counter("media_errors", "media_errors", s.media_errors, json);
	counter("num_err_log_entries", "num_err_log_entries", s.num_err_log_entries, json);
	if (json) {
		char key[32];

		js_u64("warning_temp_time", s.warning_temp_time);
		js_u64("critical_comp_time", s.critical_comp_time);
		for (int i = 0; i < 8; i++)
			if (s.temp_sensor[i]) {
				snprintf(key, sizeof(key), "temperature_sensor_%d", i + 1);
				js_u64(key, s.temp_sensor[i]);
			}
		js_u64("thm_temp1_trans_count", s.thm_temp1_trans_count);
		js_u64("thm_temp2_trans_count", s.thm_temp2_trans_count);
		js_u64("thm_temp1_total_time", s.thm_temp1_total_time);
		js_u64("thm_temp2_total_time", s.thm_temp2_total_time);
		js_close('}');
		js_end();
		return 0;
	}
	printf("%-40s: %u minutes\n", "Warning Temperature Time", s.warning_temp_time);
	printf("%-40s: %u minutes\n", "Critical Composite Temperature Time", s.critical_comp_time);
	for (int i = 0; i < 8; i++)
		if (s.temp_sensor[i])
			printf("Temperature Sensor %d%20s: %d °C (%u K)\n", i + 1, "", (int)s.temp_sensor[i] - 273,
			       s.temp_sensor[i]);
	printf("%-40s: %u\n", "Thermal Management T1 Trans Count", s.thm_temp1_trans_count);
	printf("%-40s: %u\n", "Thermal Management T2 Trans Count", s.thm_temp2_trans_count);
	printf("%-40s: %u\n", "Thermal Management T1 Total Time", s.thm_temp1_total_time);
	printf("%-40s: %u\n", "Thermal Management T2 Total Time", s.thm_temp2_total_time);
	return 0;
}

/* ---- error-log -------------------------------------------------------------- */

/* Every entry the controller keeps: Identify's ELPE + 1. */
static int run_error_log(struct nvp_dev *dev, const struct args *a)
{
	unsigned n = nvp_dev_id_ctrl(dev)->elpe + 1u, used = 0;
	size_t len = n * sizeof(struct nvme_error_log);
	struct nvme_error_log *e = calloc(n, sizeof(*e));
	int rc = 0;

	if (!e)
		return op_error("no memory for %u error log entries", n);
	if (nvp_get_log_page(dev, 0, NVME_LOG_ERROR, e, len)) {
		free(e);
		return op_error("%s", cli_errmsg());
	}
	if (a->fmt == OUT_BINARY) {
		rc = write_binary(e, len);
	} else if (a->fmt == OUT_JSON) {
		js_open(NULL, '{');
		js_open("errors", '[');
		for (unsigned i = 0; i < n; i++) {
			js_open(NULL, '{');
			js_u64("error_count", e[i].error_count);
			js_u64("sqid", e[i].sqid);
			js_u64("cmdid", e[i].cid);
			js_u64("status_field", e[i].status >> 1);
			js_u64("phase_tag", e[i].status & 1);
			js_u64("parm_error_location", e[i].param_error_location);
			js_u64("lba", e[i].lba);
			js_u64("nsid", e[i].nsid);
			js_u64("vs", e[i].vs);
			js_u64("trtype", e[i].trtype);
			js_u64("cs", e[i].cs);
			js_u64("trtype_spec_info", e[i].trtype_spec_info);
			js_close('}');
		}
		js_close(']');
		js_close('}');
		js_end();
	} else {
		printf("Error Log Entries for device:%s entries:%u\n", a->dev, n);
		for (unsigned i = 0; i < n; i++) {
			char status[96];

			if (!e[i].error_count)
				continue;
			used++;
			printf("Entry[%2u]: error_count %" PRIu64 ", sqid %u, cmdid %#x, status %#x: %s, "
			       "parm_err_loc %#x, lba %#" PRIx64 ", nsid %#x, vs %#x, cs %#" PRIx64 "\n", i,
			       e[i].error_count, e[i].sqid, e[i].cid, e[i].status >> 1,
			       nvp_status_format((uint16_t)(e[i].status >> 1), status, sizeof(status)),
			       e[i].param_error_location, e[i].lba, e[i].nsid, e[i].vs, e[i].cs);
		}
		printf("%u of %u entries hold an error\n", used, n);
	}
	free(e);
	return rc;
}

/* ---- fw-log ----------------------------------------------------------------- */

static int run_fw_log(struct nvp_dev *dev, const struct args *a)
{
	struct nvme_fw_slot_log fw;

	if (nvp_get_log_page(dev, 0, NVME_LOG_FW_SLOT, &fw, sizeof(fw)))
		return op_error("%s", cli_errmsg());
	if (a->fmt == OUT_BINARY)
		return write_binary(&fw, sizeof(fw));
	if (a->fmt == OUT_JSON) {
		js_open(NULL, '{');
		js_open(a->dev, '{'); /* nvme-cli names the object by its device */
		js_u64("Active Firmware Slot (afi)", fw.afi);
	} else {
		printf("Firmware Log for device:%s\nafi  : %#x (active slot %u%s)\n", a->dev, fw.afi, fw.afi & 7,
		       fw.afi >> 4 & 7 ? ", another at the next reset" : "");
	}
	for (int i = 0; i < 7; i++) {
		char key[32], val[64], fr[9];
		uint64_t v;

		memcpy(&v, fw.frs[i], 8);
		if (!v)
			continue;
		for (int k = 0; k < 8; k++)
			fr[k] = fw.frs[i][k] >= 0x20 && fw.frs[i][k] < 0x7f ? fw.frs[i][k] : '.';
		fr[8] = '\0';
		if (a->fmt == OUT_JSON) {
			snprintf(key, sizeof(key), "Firmware Rev Slot %d", i + 1);
			snprintf(val, sizeof(val), "%" PRIu64 " (%s)", v, fr);
			js_str(key, val);
		} else {
			printf("frs%d : %#018" PRIx64 " (%s)\n", i + 1, v, fr);
		}
	}
	if (a->fmt == OUT_JSON) {
		js_close('}');
		js_close('}');
		js_end();
	}
	return 0;
}

/* ---- get-log ---------------------------------------------------------------- */

static int check_get_log(const struct args *a)
{
	if (!a->have_log_id || !a->have_log_len)
		return usage_error("get-log needs --log-id and --log-len: nvpoll get-log DEVICE --log-id ID "
				   "--log-len BYTES [-b]");
	if (a->fmt == OUT_JSON)
		return usage_error("get-log prints a hex dump or, with -b (-o binary), the raw page; it has no JSON form");
	return 0;
}

static int run_get_log(struct nvp_dev *dev, const struct args *a)
{
	uint8_t *buf = calloc(1, a->log_len);
	uint32_t nsid;
	int rc;

	if (!buf)
		return op_error("no memory for %u bytes", a->log_len);
	if (cmd_nsid(dev, a, &nsid)) {
		free(buf);
		return EXIT_USAGE;
	}
	if (nvp_get_log_page(dev, nsid ? nsid : 0xffffffff, (uint8_t)a->log_id, buf, a->log_len)) {
		rc = op_error("log page %#x: %s", a->log_id, cli_errmsg());
	} else if (a->fmt == OUT_BINARY) {
		rc = write_binary(buf, a->log_len);
	} else {
		printf("Device:%s log-id:%u namespace-id:%#x\n", a->dev, a->log_id, nsid ? nsid : 0xffffffff);
		hex_dump(buf, a->log_len);
		rc = 0;
	}
	free(buf);
	return rc;
}

const struct cmd log_cmds[] = {
	{ "log", "DEVICE --log smart|error|fw [--json]", "read a log page (the older form of the three below)",
	  0, check_log, cmd_log, NULL },
	{ "smart-log", "DEVICE [-o FMT]", "SMART / Health: temperatures, data units, hours, errors",
	  0, NULL, run_smart_log, NULL },
	{ "error-log", "DEVICE [-o FMT]", "every Error Information entry the controller keeps",
	  0, NULL, run_error_log, NULL },
	{ "fw-log", "DEVICE [-o FMT]", "Firmware Slot Information", 0, NULL, run_fw_log, NULL },
	{ "get-log", "DEVICE --log-id ID --log-len BYTES [-b]", "any log page, as a hex dump or raw",
	  0, check_get_log, run_get_log, NULL },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL },
};
