/*
 * The one interface every format implements. A reader produces a tensor's header, then
 * its elements in C order, a chunk at a time; a writer takes the header, then the elements
 * in the same order. Neither knows about pooling; the pipeline moves rows between them.
 */
#ifndef POOL_CODEC_H
#define POOL_CODEC_H

#include <stdio.h>

#include "../core/error.h"
#include "../core/tensor.h"
#include "source.h"

enum file_format { FORMAT_UNKNOWN, FORMAT_NPY, FORMAT_RAW };

/* What a raw input needs from the command line: it has no header. */
struct raw_options {
    bool given;                 /* --shape was given */
    struct tensor_shape shape;  /* dims and dtype (layout filled by the caller) */
};

struct tensor_reader {
    const struct reader_ops *ops;
    struct byte_source *src;
    struct tensor_shape shape;  /* layout left empty: the caller decides it */
    void *state;                /* the format's own */
};

struct reader_ops {
    enum file_format format;
    /* Reads the next `count` elements (native byte order) into buf. */
    int (*read)(struct tensor_reader *r, void *buf, size_t count, struct pool_error *err);
    /* Called after the last element: checks that nothing is left over. */
    int (*finish)(struct tensor_reader *r, struct pool_error *err);
    void (*destroy)(struct tensor_reader *r);
};

struct tensor_writer {
    const struct writer_ops *ops;
    FILE *out;
    struct tensor_shape shape;
    void *state;
};

struct writer_ops {
    enum file_format format;
    int (*begin)(struct tensor_writer *w, struct pool_error *err);     /* header */
    int (*write)(struct tensor_writer *w, const void *buf, size_t count, struct pool_error *err);
    int (*finish)(struct tensor_writer *w, struct pool_error *err);    /* trailer, flush */
    void (*destroy)(struct tensor_writer *w);
};

/* Finds the format from the magic bytes (or raw when raw->given) and reads the header. */
int reader_open(struct tensor_reader *r, struct byte_source *src, const struct raw_options *raw,
                struct pool_error *err);
void reader_close(struct tensor_reader *r);

int writer_open(struct tensor_writer *w, enum file_format format, FILE *out,
                const struct tensor_shape *shape, struct pool_error *err);
void writer_close(struct tensor_writer *w);

/* "npy", "raw" (and their file extensions) to a format; FORMAT_UNKNOWN when not known. */
enum file_format format_from_name(const char *name);
enum file_format format_from_path(const char *path);
const char *format_name(enum file_format f);

/* The modules. */
extern const struct reader_ops npy_reader_ops, raw_reader_ops;
extern const struct writer_ops npy_writer_ops, raw_writer_ops;
int npy_read_header(struct tensor_reader *r, struct pool_error *err);
int raw_read_header(struct tensor_reader *r, const struct raw_options *raw, struct pool_error *err);
bool npy_sniff(const unsigned char *bytes, size_t n);

#endif
