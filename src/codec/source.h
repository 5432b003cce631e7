/* A byte stream to decode from: a file or stdin, with a few bytes of look-ahead so the
 * format can be found from its magic bytes even on a pipe. */
#ifndef POOL_SOURCE_H
#define POOL_SOURCE_H

#include <stdbool.h>
#include <stdio.h>

#include "../core/error.h"

#define SOURCE_PEEK_MAX 16
#define SOURCE_READ_BUFFER (64 * 1024) /* stdio buffer of a file source, in bytes */

struct byte_source {
    FILE *fp;
    const char *name; /* as the user gave it; "-" for stdin */
    bool owns_fp;
    char *buffer; /* the file's stdio buffer, SOURCE_READ_BUFFER bytes (NULL: stdio's) */
    unsigned char peeked[SOURCE_PEEK_MAX];
    size_t peek_len, peek_pos;
    long long size; /* bytes in a regular file, -1 when unknown (a pipe) */
    unsigned long long consumed;
};

/* Opens a path, or stdin for "-". */
int source_open(struct byte_source *src, const char *path, struct pool_error *err);
void source_close(struct byte_source *src);
/* Up to n (<= SOURCE_PEEK_MAX) bytes ahead without consuming them; returns how many there are. */
size_t source_peek(struct byte_source *src, const unsigned char **bytes, size_t n);
/* Reads up to n bytes; fewer only at the end of the data or on a read error. */
size_t source_read(struct byte_source *src, void *buf, size_t n);
bool source_failed(const struct byte_source *src); /* a read error (not the end) */
/* Whether any byte is left after what has been read. */
bool source_at_end(struct byte_source *src);

#endif
