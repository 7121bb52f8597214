/* SPDX-License-Identifier: MIT */
/* JSON output shared by the command-line tools (nvpoll, nvpoll-perf). */
#ifndef NVP_TOOLS_JSON_H
#define NVP_TOOLS_JSON_H

#include <stdio.h>

/* @s as a JSON string: quotes and backslashes escaped, control and non-ASCII bytes as \u00XX. */
static inline void json_str(const char *s)
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

#endif /* NVP_TOOLS_JSON_H */
