/* Where results go: stdout, or a temporary file beside the destination that is renamed
 * into place only when everything succeeded, so a failure never leaves partial output.
 * Devices and FIFOs (/dev/null, a named pipe) are written directly. */
#ifndef POOL_OUTPUT_H
#define POOL_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "../core/error.h"

struct output_file {
    const char *path;    /* destination, or "-" for stdout */
    char *resolved_path; /* the destination with symbolic links resolved (malloc'd) */
    char *temp_path;     /* NULL for stdout and for devices and FIFOs, written in place */
    FILE *fp;
    char *buffer; /* fp's stdio buffer, OUTPUT_BUFFER bytes (NULL: stdio's own) */
};

/* stdio writes a file in blocks of st_blksize (4 KiB): a 64 MiB tensor would take 16384
 * system calls. */
#define OUTPUT_BUFFER (256 * 1024)

/* Once at start-up, before any thread: reads the umask, and makes an interrupted process
 * (SIGINT, SIGTERM, SIGHUP, SIGPIPE) remove every half-written temp file; a signal ignored
 * when pool started stays ignored. Blocks SIGINT, SIGTERM and SIGHUP in the calling thread
 * (so in every thread started after) and starts the thread that takes them. The rest is
 * thread-safe. */
void output_init(void);
/* At the end of a run that called output_init: stops the thread that takes interrupts. */
void output_end(void);
/* Whether a line without its newline (a progress line) is on stderr: an interrupt ends it. */
void output_line_open(bool open);

int output_open(struct output_file *o, const char *path, struct pool_error *err);
/* Flushes, checks for write errors, and renames the temp file into place. */
int output_commit(struct output_file *o, struct pool_error *err);
/* Closes and removes the temp file; safe to call after a commit or a failed open. */
void output_abort(struct output_file *o);
/* Whether two output paths (not "-") name one file: the same existing file, or the same
 * name in the same folder once links in the folders are resolved. */
bool output_same_file(const char *a, const char *b);

#endif
