/* SPDX-License-Identifier: MIT */
/*
 * nvpoll's output helpers: identify strings, 128-bit counters.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nvpoll.h"

/* Identify strings are space padded, not terminated. */
void fixed_str(char *out, const char *in, size_t len)
{
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\0'))
		len--;
	memcpy(out, in, len);
	out[len] = '\0';
}

/* 128-bit little-endian SMART counter; saturates at UINT64_MAX for printing. */
uint64_t le128(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 15; i >= 8; i--)
		if (b[i])
			return UINT64_MAX;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static int vmsg(int rc, const char *fmt, va_list ap)
{
	fputs("nvpoll: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return rc;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vmsg(EXIT_USAGE, fmt, ap);
	va_end(ap);
	return rc;
}

int op_error(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vmsg(EXIT_FAIL, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * The library speaks to programs: it names the source tree's script and
 * struct nvp_opts' fields. A user of the installed command knows the
 * installed set-up command and this command's flags instead.
 */
static const char *const cli_words[][2] = {
	{ "scripts/setup.sh", "nvpoll-setup" },
	{ "opts.be / NVP_BE", "--be / $NVP_BE" },
	{ "opts.be", "--be" },
	{ "opts.mem", "--mem" },
	{ "opts.numa_node", "the NUMA node" },
};

const char *cli_errmsg(void)
{
	static char out[1024];
	const char *in = nvp_errmsg();
	size_t o = 0;

	while (*in && o + 1 < sizeof(out)) {
		size_t k, n = 0;

		for (k = 0; k < sizeof(cli_words) / sizeof(cli_words[0]); k++) {
			n = strlen(cli_words[k][0]);
			if (!strncmp(in, cli_words[k][0], n))
				break;
		}
		if (k < sizeof(cli_words) / sizeof(cli_words[0])) {
			const char *to = cli_words[k][1];

			while (*to && o + 1 < sizeof(out))
				out[o++] = *to++;
			in += n;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = '\0';
	return out;
}
