/*
 * Vector kernels for the common shapes: loops without calls or data-dependent branches,
 * whose window sizes and strides are constants, so the compiler vectorises them; compiled
 * once per instruction set (simd.h). Each does exactly the arithmetic of the portable loop
 * it stands in for (kernels.h), in the same order, so results are the same bytes: NaN
 * flags as reduce_row keeps them, sums from 0 (so -0 alone sums to +0), max keeping the
 * first of equal values.
 */
#ifndef POOL_VECTOR_H
#define POOL_VECTOR_H

#include <stddef.h>

#include "dtype.h"
#include "pass.h"
#include "simd.h"

struct vector_kernels {
    /* reduce_row's work on a run of whole windows of one channel (inner 1) that are
     * kernel k taps wide and stride s apart: n accumulators (the type's acc_kind), window
     * o summing or taking the max or min of in[o s + j], j < k. Only for the (k, s) that
     * vector_run_supported accepts, and MODE_MAX, MODE_MIN, MODE_AVG. */
    void (*reduce_run)(const void *in, void *acc, size_t n, unsigned k, unsigned s,
                       enum pool_mode mode);
    /* acc_combine for this type's accumulators (NULL: use acc_combine). */
    void (*combine)(void *dst, const void *src, size_t n, enum pool_mode mode);
    /* finish_row for max and min: n accumulators back to the type, saturating. */
    void (*finish_extreme)(const void *acc, void *out, size_t n);
    /* finish_row for avg of floats, every window of the run divided by the same divisor
     * (NULL for integer types: their rounding stays in the portable loop). */
    void (*finish_average)(const void *acc, void *out, size_t n, size_t divisor);
    /* Mode or median of each 2x2 block of one channel, integers only (NULL for floats):
     * out_w outputs from two rows of at least 2 out_w elements, as select_window gives. */
    void (*select2_row)(const void *top, const void *bottom, void *out, size_t out_w,
                        enum pool_mode mode);
};

/* The kernels for type t at level l, or NULL where there are none (SIMD_PORTABLE, half
 * floats, a level this build or processor lacks). */
const struct vector_kernels *vector_kernels_for(enum pool_dtype t, enum simd_level l);
/* Whether reduce_run takes windows of k taps, s apart. */
bool vector_run_supported(unsigned k, unsigned s);

#endif
