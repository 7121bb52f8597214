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

const char *cli_errmsg(void)
{
	return tool_errmsg();
}

const char *human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f %s", v, units[u]);
	else
		snprintf(buf, len, "%.2f %s", v, units[u]);
	return buf;
}

const char *human_size_si(double bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB" };
	unsigned u = 0;

	while (bytes >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1000;
		u++;
	}
	snprintf(buf, len, "%.2f %s", bytes, units[u]);
	return buf;
}

void hex_dump(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	printf("       0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f\n");
	for (size_t off = 0; off < len; off += 16) {
		printf("%04zx:", off);
		for (size_t i = 0; i < 16; i++)
			if (off + i < len)
				printf(" %02x", p[off + i]);
			else
				printf("   ");
		printf(" \"");
		for (size_t i = 0; i < 16 && off + i < len; i++)
			putchar(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.');
		printf("\"\n");
	}
}

int write_binary(const void *buf, size_t len)
{
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout))
		return op_error("writing to standard output: %s", strerror(errno));
	return 0;
}

const char *u128_str(const uint8_t *b, char *buf, size_t len)
{
	unsigned __int128 v = 0;
	char tmp[48];
	size_t n = 0;

	for (int i = 15; i >= 0; i--)
		v = v << 8 | b[i];
	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n && i + 1 < len; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n < len ? n : len - 1] = '\0';
	return buf;
}

/* ---- JSON */

static int js_first[32] = { 1 };
static unsigned js_depth;

static void js_key(const char *key)
{
	if (!js_first[js_depth])
		putchar(',');
	js_first[js_depth] = 0;
	if (key) {
		tool_json_str(key);
		putchar(':');
	}
}

void js_open(const char *key, char brace)
{
	if (js_depth)
		js_key(key);
	putchar(brace);
	if (js_depth + 1 < sizeof(js_first) / sizeof(js_first[0]))
		js_depth++;
	js_first[js_depth] = 1;
}

void js_close(char brace)
{
	putchar(brace);
	if (js_depth)
		js_depth--;
}

void js_u64(const char *key, uint64_t v)
{
	js_key(key);
	printf("%" PRIu64, v);
}

void js_i64(const char *key, int64_t v)
{
	js_key(key);
	printf("%" PRId64, v);
}

void js_str(const char *key, const char *s)
{
	js_key(key);
	tool_json_str(s);
}

void js_bool(const char *key, int v)
{
	js_key(key);
	fputs(v ? "true" : "false", stdout);
}

void js_end(void)
{
	putchar('\n');
	js_depth = 0;
	js_first[0] = 1;
}
