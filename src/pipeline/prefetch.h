/*
 * Reading ahead on a second thread: the decoder (inflate, IDCT) fills batches of rows while
 * the main thread pools and encodes the previous ones. A few batches are in flight, so
 * memory stays a small multiple of one batch.
 */
#ifndef POOL_PREFETCH_H
#define POOL_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "../codec/codec.h"

struct prefetch;

/* Batches in flight: their buffers are the read-ahead's memory. */
enum { PREFETCH_SLOTS = 4 };

/* Starts reading total_rows rows of row_bytes bytes (row_elems elements) in batches of
 * batch_rows. NULL when a thread cannot be had: then read synchronously. */
struct prefetch *prefetch_start(struct tensor_reader *r, size_t row_elems, size_t row_bytes,
                                size_t total_rows, size_t batch_rows);
/* The next batch and its row count, or NULL with err set when the reader failed. The batch
 * stays valid until the next call. */
const void *prefetch_next(struct prefetch *p, size_t *rows, struct pool_error *err);
/* Stops the reader thread (also early, after an error downstream) and frees everything. */
void prefetch_stop(struct prefetch *p);

#endif
