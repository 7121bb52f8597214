/* SPDX-License-Identifier: MIT */
/*
 * What the files of the nvpoll command line share: the parsed command line,
 * the command table, output helpers (output.c) and the --data file (data.c).
 * main.c parses and dispatches; each command family has its own file.
 */
#ifndef NVP_TOOLS_NVPOLL_H
#define NVP_TOOLS_NVPOLL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <nvpoll.h>
#include "tool.h"

/* test/unit/test_cli.c builds these files with -DNVPOLL_TEST_HOOKS: its wrappers count opens and writes. */
#ifdef NVPOLL_TEST_HOOKS
struct nvp_dev *cli_hook_dev_open(const char *uri, const struct nvp_opts *opts);
void cli_hook_dev_close(struct nvp_dev *dev);
int cli_hook_write(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb, const void *buf,
		   nvp_cb cb, void *arg);
#define nvp_dev_open cli_hook_dev_open
#define nvp_dev_close cli_hook_dev_close
#define nvp_write cli_hook_write
#endif

/* Exit statuses: the same for every command (nvpoll(1), EXIT STATUS). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

enum out_fmt { OUT_NORMAL, OUT_JSON, OUT_BINARY };

struct args {
	const char *cmd, *dev, *data, *be, *mem, *log;
	uint32_t nsid;
	uint64_t slba;
	uint32_t nlb;
	enum out_fmt fmt;
	int have_nsid, have_slba, have_nlb;
};

/* "nvpoll: " + the message on stderr; returns EXIT_USAGE (a bad command line). */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "nvpoll: " + the message on stderr; returns EXIT_FAIL (an operation that failed). */
int op_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The library's last message, in the words of the installed commands and their flags. */
const char *cli_errmsg(void);

/* ---- output.c */
/* Identify strings are space padded, not terminated: @out gets @len + 1 bytes. */
void fixed_str(char *out, const char *in, size_t len);
/* 128-bit little-endian counter; saturates at UINT64_MAX. */
uint64_t le128(const uint8_t *b);

/* ---- data.c: the --data file of a read or write */
struct data_file {
	const char *name;	/* for messages */
	FILE *f;
	uint8_t *mem;		/* a write's input from a stream, read whole; else NULL */
	size_t off;		/* bytes of @mem handed out */
};
int data_open(const char *path, int write, struct data_file *d);
int data_check_input(struct data_file *d, size_t total, uint32_t nlb, uint32_t lba_size);
int data_read(struct data_file *d, void *buf, size_t bytes);
int data_truncate(struct data_file *d);
int data_close(struct data_file *d, int write);

/* ---- the commands */
int cmd_identify(struct nvp_dev *dev, const struct args *a);
int cmd_rw(struct nvp_dev *dev, const struct args *a, int write, struct data_file *d);
int cmd_log(struct nvp_dev *dev, const struct args *a);
int cmd_list(const struct args *a);
int cmd_list_backends(const struct args *a);

#endif /* NVP_TOOLS_NVPOLL_H */
