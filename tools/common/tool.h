/* SPDX-License-Identifier: MIT */
/*
 * What the programs around the library share: nvpoll (tools/), nvpoll-perf
 * (bench/perf/) and the fio engine (bench/fio/). Built as its own object and
 * linked into each of them, never into libnvpoll.
 */
#ifndef NVP_TOOLS_COMMON_TOOL_H
#define NVP_TOOLS_COMMON_TOOL_H

#include <stdint.h>

/* ---------------------------------------------------------------- JSON, on stdout */

/* @s as a JSON string: quotes and backslashes escaped, control and non-ASCII bytes as \u00XX. */
void tool_json_str(const char *s);
/* The same, or null for a NULL or empty @s. */
void tool_json_str_or_null(const char *s);
/* A node, group or other index: null when unknown (negative). */
void tool_json_index_or_null(int v);

/* ---------------------------------------------------------------- numbers */

/* How a number on a command line may be written. */
enum tool_num {
	TOOL_NUM_DECIMAL,	/* decimal digits; no '+', '-' or ' ' in front (nvpoll-perf, the fio engine) */
	TOOL_NUM_C,		/* as C writes it (42, 0x2a, 052); no '-' in front (nvpoll) */
};

/* All of @s as a number of at most @max; 0, or -1 (and *@out untouched). */
int tool_parse_u64(const char *s, enum tool_num how, uint64_t max, uint64_t *out);
/* A decimal byte count with an optional binary suffix: 4096, 4k, 64M, 1G, 2TiB, 8KB; 0 or -1. */
int tool_parse_size(const char *s, uint64_t *out);

/* ---------------------------------------------------------------- messages */

/*
 * nvp_errmsg() in the words of the installed programs: nvpoll-setup for
 * scripts/setup.sh, --be / --mem for opts.be / opts.mem. Valid until the next call.
 */
const char *tool_errmsg(void);

#endif /* NVP_TOOLS_COMMON_TOOL_H */
