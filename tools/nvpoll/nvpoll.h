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
	const char *ctrls;	/* -c: attach-ns/detach-ns --controllers list, list-ctrl --cntid */
	int all;		/* list-ns -a, --all: allocated namespaces (CNS 10h) */
	uint32_t nsid;
	uint64_t slba;
	uint32_t nlb;
	enum out_fmt fmt;
	int have_nsid, have_slba, have_nlb;
	int human;		/* -H: bit fields decoded */
	int raw;		/* -b, --raw-binary: as -o binary */
	int force;		/* format: --force */
	int ad;			/* dsm: --ad */
	int save;		/* set-feature: --save */
	int dir_read, dir_write; /* passthru: --read, --write */
	uint32_t log_id, log_len, fid, value, cdw11, sel, lbaf, ses, opcode, data_len;
	int have_log_id, have_log_len, have_fid, have_value, have_sel, have_lbaf, have_opcode;
	uint32_t cdw[16];	/* passthru: --cdw2 .. --cdw15 */
};

/*
 * One command: its name, one line of help, and what it runs. @check (may
 * be NULL) vets the options before the device is opened (opening resets
 * the controller), and may open the --data file; @run gets the open
 * device, or NULL when @no_dev: 1 the command takes no DEVICE,
 * NO_DEV_TARGET it takes one it reaches itself (discover's tcp://HOST).
 */
#define NO_DEV_TARGET 2
struct cmd {
	const char *name, *synopsis, *help;
	int no_dev;
	int (*check)(const struct args *a);
	int (*run)(struct nvp_dev *dev, const struct args *a);
	/* After @run, or after the open failed, when @check passed: closes what @check opened; the exit status. */
	int (*finish)(const struct args *a, int rc);
};
extern const struct cmd identify_cmds[], log_cmds[], feature_cmds[], io_cmds[], admin_cmds[], list_cmds[],
	ns_cmds[];

/* "nvpoll: " + the message on stderr; returns EXIT_USAGE (a bad command line). */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "nvpoll: " + the message on stderr; returns EXIT_FAIL (an operation that failed). */
int op_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The library's last message, in the words of the installed commands and their flags. */
const char *cli_errmsg(void);

/*
 * The namespace a command works on: --nsid, else the one the DEVICE names
 * (/ns=N, a kernel node); 0 when neither names one. A --nsid that differs
 * from the DEVICE's is a bad command line: -1, after saying so.
 */
int cmd_nsid(struct nvp_dev *dev, const struct args *a, uint32_t *nsid);
/* The same, where one is needed: EXIT_USAGE when none is named. */
int cmd_nsid_needed(struct nvp_dev *dev, const struct args *a, uint32_t *nsid);

/* ---- output.c */
/* Sizes in binary units: "512 MiB", "4 KiB", "1.50 GiB"; into @buf, returned. */
const char *human_size(uint64_t bytes, char *buf, size_t len);
/* Sizes in decimal units, as nvme-cli's data units: "512.00 kB". */
const char *human_size_si(double bytes, char *buf, size_t len);
/* 16 bytes a line, offset, hex, ASCII; as nvme-cli's hex dumps. */
void hex_dump(const void *buf, size_t len);
/* @len bytes on stdout; EXIT_FAIL when stdout failed. */
int write_binary(const void *buf, size_t len);
/* A 128-bit counter as decimal digits (nvme-cli prints them as strings in JSON). */
const char *u128_str(const uint8_t *b, char *buf, size_t len);

/*
 * JSON on stdout: objects and arrays opened and closed with commas kept
 * track of. @key is NULL inside arrays.
 */
void js_open(const char *key, char brace);
void js_close(char brace);
void js_u64(const char *key, uint64_t v);
void js_i64(const char *key, int64_t v);
void js_str(const char *key, const char *s);
void js_bool(const char *key, int v);
/* End of the document: a newline. */
void js_end(void);

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

/* ---- io.c: what admin-passthru shares with io-passthru */
int check_passthru(const struct args *a);
int passthru_finish(const struct args *a, int rc);
void passthru_sqe(const struct args *a, uint32_t nsid, struct nvme_sqe *cmd, int *to_ctrl, int *from_ctrl);
int passthru_input(const struct args *a, void *buf);
int passthru_output(const struct args *a, uint32_t dw0, const void *buf, size_t len, int from_ctrl);

/* ---- the commands */
int cmd_identify(struct nvp_dev *dev, const struct args *a);
int cmd_rw(struct nvp_dev *dev, const struct args *a, int write, struct data_file *d);
int cmd_log(struct nvp_dev *dev, const struct args *a);
int cmd_list(const struct args *a);
int cmd_list_backends(const struct args *a);

#endif /* NVP_TOOLS_NVPOLL_H */
