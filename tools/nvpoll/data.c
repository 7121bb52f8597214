/* SPDX-License-Identifier: MIT */
/*
 * The --data file of a read or write, opened before the device is (opening
 * resets the controller, so a bad path should cost nothing). "-" is standard
 * input or output.
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

int data_open(const char *path, int write, struct data_file *d)
{
	struct stat st;
	int fd;

	memset(d, 0, sizeof(*d));
	if (!strcmp(path, "-")) {
		d->name = write ? "standard input" : "standard output";
		d->f = write ? stdin : stdout;
		return 0;
	}
	d->name = path;
	/* No O_TRUNC: a read's output is truncated once the device is ready, not before. */
	fd = write ? open(path, O_RDONLY | O_CLOEXEC) : open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		fd = -1;
		errno = EISDIR;
	}
	d->f = fd >= 0 ? fdopen(fd, write ? "rb" : "wb") : NULL;
	if (!d->f) {
		fprintf(stderr, "nvpoll: cannot open %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	return 0;
}

/* Bytes left in a regular file from its position; -1 for a pipe, terminal, device. */
static long long regular_bytes_left(FILE *f)
{
	struct stat st;
	off_t pos;

	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode))
		return -1;
	pos = ftello(f);
	return pos >= 0 && st.st_size > pos ? (long long)(st.st_size - pos) : 0;
}

/*
 * All @total bytes a write needs are there before its first command goes out:
 * a regular file by its size, any other input read into memory whole.
 */
int data_check_input(struct data_file *d, size_t total, uint32_t nlb, uint32_t lba_size)
{
	long long left = regular_bytes_left(d->f);
	size_t have;

	if (left >= 0) {
		have = (unsigned long long)left < total ? (size_t)left : total;
	} else {
		d->mem = malloc(total);
		if (!d->mem) {
			fprintf(stderr, "nvpoll: no memory to hold the %zu bytes of %s before writing them: "
				"nothing was written; write from a regular file instead\n", total, d->name);
			return 1;
		}
		have = fread(d->mem, 1, total, d->f);
		if (have < total && ferror(d->f)) {
			fprintf(stderr, "nvpoll: reading %s: %s: nothing was written\n", d->name, strerror(errno));
			return 1;
		}
	}
	if (have < total && !lba_size) {
		fprintf(stderr, "nvpoll: %s holds %zu bytes, less than the %zu bytes that --data-len asks for: "
			"nothing was sent\n", d->name, have, total);
		return 1;
	}
	if (have < total) {
		fprintf(stderr, "nvpoll: %s holds %zu bytes, less than the %zu bytes (%u blocks of %u) that "
			"--nlb %u asks for: nothing was written\n", d->name, have, total, nlb, lba_size, nlb);
		return 1;
	}
	return 0;
}

int data_read(struct data_file *d, void *buf, size_t bytes)
{
	if (!d->mem)
		return fread(buf, 1, bytes, d->f) == bytes ? 0 : -1;
	memcpy(buf, d->mem + d->off, bytes);
	d->off += bytes;
	return 0;
}

/* A read's output starts empty, now that the device is ready to fill it. */
int data_truncate(struct data_file *d)
{
	struct stat st;

	if (fstat(fileno(d->f), &st) || !S_ISREG(st.st_mode) || ftruncate(fileno(d->f), 0) == 0)
		return 0;
	fprintf(stderr, "nvpoll: cannot truncate %s: %s\n", d->name, strerror(errno));
	return 1;
}

/* Returns 1 if a read's output could not be completed; the input's close is not checked. */
int data_close(struct data_file *d, int write)
{
	int err = d->f == stdin || d->f == stdout ? fflush(d->f) : fclose(d->f);

	free(d->mem);
	if (err && !write) {
		fprintf(stderr, "nvpoll: closing %s: %s\n", d->name, strerror(errno));
		return 1;
	}
	return 0;
}
