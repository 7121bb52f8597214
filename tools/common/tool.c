/* SPDX-License-Identifier: MIT */
/* JSON strings and command-line numbers for the tools. See tool.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvpoll.h>
#include "tool.h"

void tool_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

void tool_json_str_or_null(const char *s)
{
	if (s && *s)
		tool_json_str(s);
	else
		printf("null");
}

void tool_json_index_or_null(int v)
{
	if (v >= 0)
		printf("%d", v);
	else
		printf("null");
}

/* What may stand first: strtoull() itself would take a sign (and negate on '-') or skip spaces. */
static int lead_ok(const char *s, enum tool_num how)
{
	if (!s || !*s || *s == '-')
		return 0;
	return how == TOOL_NUM_C || (*s != '+' && *s != ' ');
}

int tool_parse_u64(const char *s, enum tool_num how, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!lead_ok(s, how))
		return -1;
	errno = 0;
	v = strtoull(s, &end, how == TOOL_NUM_C ? 0 : 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int tool_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!lead_ok(s, TOOL_NUM_DECIMAL))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: return -1;
	}
	if (*end && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* ---------------------------------------------------------------- messages */

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

const char *tool_errmsg(void)
{
	static __thread char out[1024]; /* per thread, as nvp_errmsg() */
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
