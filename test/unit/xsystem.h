/* SPDX-License-Identifier: MIT */
/* For unit tests that build fake sysfs trees with shell commands. Include after <cmocka.h>. */
#ifndef NVP_TEST_XSYSTEM_H
#define NVP_TEST_XSYSTEM_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Run a printf-formatted shell command; the test fails if it does. */
static void xsystem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void xsystem(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("setup command failed: %s", cmd);
}

#endif /* NVP_TEST_XSYSTEM_H */
