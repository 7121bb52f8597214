/* SPDX-License-Identifier: MIT */
/* Per-thread error messages and diagnostics. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nvpoll.h"

#define NVP_ERRMSG_LEN 512

static _Thread_local char errmsg[NVP_ERRMSG_LEN];

NVP_API const char *nvp_errmsg(void)
{
	return errmsg;
}

int nvp_set_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	nvp_log(NVP_LOG_DEBUG, "error %d: %s", err, errmsg);
	return err;
}

int nvp_prefix_error(int err, const char *fmt, ...)
{
	char prefix[NVP_ERRMSG_LEN], old[NVP_ERRMSG_LEN], joined[2 * NVP_ERRMSG_LEN + 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, errmsg, sizeof(old));
	if (old[0] == '\0')
		snprintf(old, sizeof(old), "%s", strerror(err < 0 ? -err : err));
	snprintf(joined, sizeof(joined), "%s: %s", prefix, old);
	snprintf(errmsg, sizeof(errmsg), "%.*s", NVP_ERRMSG_LEN - 1, joined);
	return err;
}

static enum nvp_log_level log_threshold(void)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	const char *env = getenv("NVP_LOG");

	if (env)
		for (unsigned i = 0; i < NVP_ARRAY_SIZE(names); i++)
			if (strcmp(env, names[i]) == 0)
				return (enum nvp_log_level)i;
	return NVP_LOG_WARN;
}

void nvp_log(enum nvp_log_level level, const char *fmt, ...)
{
	static const char *const tags[] = { "error", "warning", "info", "debug" };
	char line[NVP_ERRMSG_LEN];
	va_list ap;

	if (level > log_threshold())
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "nvpoll %s: %s\n", tags[level], line);
}
