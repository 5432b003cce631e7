/*
 * What the fuzz harnesses share. Each harness is one libFuzzer entry point,
 * LLVMFuzzerTestOneInput, over one parser; scripts/fuzz links it with libFuzzer, and
 * make check links it with replay.c, which feeds it every file of its corpus and
 * regressions folders. A harness frees everything it made and never exits: the input
 * decides nothing but which of the parser's paths run.
 */
#ifndef POOL_FUZZ_H
#define POOL_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"
#include "codec/formats.h" /* the harnesses call the modules directly */

/* Small budgets, so that one input stays fast: images declaring more pixels are refused by
 * their reader, and tensors or outputs of more elements are not read or pooled. */
#define FUZZ_MAX_PIXELS (1ULL << 18)
/* The memory budget of every reader and pipeline (core/error.h): what a header declares
 * beyond it is refused, which the harnesses reach with small inputs. */
#define FUZZ_MAX_MEMORY ((size_t)64 << 20)
#define FUZZ_MAX_ELEMENTS ((size_t)1 << 18)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of size bytes (malloc'd), or NULL when out of memory. */
char *fuzz_string(const uint8_t *data, size_t size);

/* A byte source reading a copy of size bytes from memory, as a regular file of that size
 * when known_size, else as a pipe; source_close frees it. -1 when out of memory. */
int fuzz_source_open(struct byte_source *src, const uint8_t *data, size_t size, bool known_size);

/* Reads every image of an opened reader to its end, a row of its first axis at a time (at
 * most FUZZ_MAX_ELEMENTS elements per image, and a few images), as the pipeline does: the
 * reads, then finish, or next for a stream of several. 0 when it all reads. */
int fuzz_read_all(struct tensor_reader *r);

/* One codec's reader over the input, header then every image (fuzz_read_all). The input's
 * length picks the variant: a file or a pipe, palette indices or colours, strict or
 * --lenient (which goes on past corrupt data: it must end all the same). */
void fuzz_decode(const uint8_t *data, size_t size, const struct reader_ops *ops,
                 int (*read_header)(struct tensor_reader *r, struct pool_error *err));

#endif
