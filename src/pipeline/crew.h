/*
 * Threads inside one tensor (-j): the planes of an NCHW tensor (its batch and channel
 * planes) pooled at once by several workers, each with its own copy of the chain. One
 * worker at a time reads the next group of whole planes (the reader is a stream, read in
 * order), pools them into planes of output, and waits its turn to write them, so the
 * output is the same bytes as one thread's, in the same order.
 */
#ifndef POOL_CREW_H
#define POOL_CREW_H

#include <stddef.h>

#include "../codec/codec.h"

struct crew_work {
    size_t planes;                  /* planes in the tensor */
    size_t group;                   /* planes a worker takes at a time (>= 1): small planes
                                     * in groups, so that a turn is worth its hand-over */
    size_t in_elems, in_bytes;      /* one plane of input */
    size_t out_rows, out_row_elems; /* one plane of output */
    size_t out_bytes;               /* out_rows rows of out_row_elems elements */
    struct tensor_reader *reader;   /* at the first plane */
    struct tensor_writer *writer;   /* begun */
    /* Pools one plane of input (in_bytes) into one plane of output (out_bytes) through
     * a worker's chain; fails only as writing would (a tap's file). */
    int (*pool_plane)(void *chain, const void *in, void *out, struct pool_error *err);
};

/* Runs the work on n chains (n threads, this one among them; fewer if threads or buffers
 * cannot be had). Their buffers, 2 groups of planes each, must have been weighed against
 * the memory budget. Returns 0; 1 when not one worker's buffers could be had (nothing is
 * read: the caller pools on one thread); or -1 with err saying its kind as pipeline_run
 * does (the reader's ERROR_INPUT, the writer's ERROR_OUTPUT), the first failure stopping
 * every worker. */
int crew_run(const struct crew_work *work, void *const *chains, size_t n, struct pool_error *err);

#endif
