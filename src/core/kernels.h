/* Typed inner loops of the pooling core: one set per element type, one per accumulator. */
#ifndef POOL_KERNELS_H
#define POOL_KERNELS_H

#include <stddef.h>

#include "dtype.h"
#include "pass.h"
#include "window.h"

/* What a window's running value is kept in: double for floats and for every Lp,
 * int64 for 8- and 16-bit integers, int128 for 32- and 64-bit ones (sums never wrap). */
enum acc_kind { ACC_F64, ACC_I64, ACC_I128 };

struct reduce_args {
    enum pool_mode mode;
    size_t inner;     /* channels interleaved in a row */
    double norm;      /* Lp's P */
    bool premultiply; /* avg: the last channel is alpha, weight the others by it */
};

struct finish_args {
    enum pool_mode mode;
    size_t inner;
    bool premultiply;
    size_t divisor_rest;     /* product of the depth and height divisors of this row */
    size_t divisor_override; /* avg: every window's divisor instead (0: none) */
    double lp_scale;         /* Lp: the kernel's element count */
    double inv_norm;         /* Lp: 1/P */
};

/* Avg's divisor for output o of a row: PyTorch's divisor_override, else the window's own. */
static inline size_t window_divisor(const struct axis_table *w, size_t o,
                                    const struct finish_args *f)
{
    return f->divisor_override ? f->divisor_override : w->win[o].divisor * f->divisor_rest;
}

struct type_kernels {
    enum acc_kind acc;
    /* One input row of T into out_len(w) * inner accumulators. */
    void (*reduce_row)(const void *in, void *acc, const struct axis_table *w,
                       const struct reduce_args *r);
    /* Accumulators back into a row of T: max/min as they are, avg divided and rounded, Lp's root. */
    void (*finish_row)(const void *acc, void *out, const struct axis_table *w,
                       const struct finish_args *f);
    /* Max, min or avg (no alpha weighting) with kernel = stride = 2 on height and width and
     * every window whole: out_w * inner elements of T from two input rows of T (at least
     * 2 out_w pixels each), the result reduce_row, acc_combine and finish_row would give. */
    void (*block2_row)(const void *top, const void *bottom, void *out, size_t out_w, size_t inner,
                       enum pool_mode mode);
    /* Mode or median of one window: n values of `width` elements of T each (width > 1:
     * whole pixels, for the mode of a channels-last image; median takes width 1), which it
     * reorders; writes the chosen value (width elements) to out, zeros when n = 0 (a
     * window of padding only). Floats order -0 before +0 and NaN after every number;
     * NaNs are one value for mode, and any NaN makes the median NaN. */
    void (*select_window)(void *values, size_t n, size_t width, enum pool_mode mode, void *out);
    /* Max or min of one window with the tap it came from, as PyTorch's max pooling with
     * return_indices (aten/src/ATen/native/cpu/MaxPoolKernel.cpp, AdaptiveMaxPoolKernel.cpp):
     * the first largest of the n values in window order, or the last NaN (each NaN takes
     * the place); min as PyTorch's -max_pool(-x), the first smallest. Writes the value to
     * out and returns its position in values; n = 0 (taps in the padding only) gives the
     * empty window's value (-inf or the type's lowest for max) and SIZE_MAX. */
    size_t (*arg_extreme)(const void *values, size_t n, enum pool_mode mode, void *out);
};

const struct type_kernels *kernels_for(enum pool_dtype t);
enum acc_kind acc_for(enum pool_dtype t, enum pool_mode mode);
size_t acc_size(enum acc_kind a);
/* dst[i] = dst[i] (op) src[i]: max, min (NaN wins, as PyTorch) or sum. */
void acc_combine(enum acc_kind a, enum pool_mode mode, void *dst, const void *src, size_t n);
/* Sets n accumulators to the identity of the mode (-inf for max, +inf for min, 0 for sums). */
void acc_reset(enum acc_kind a, enum pool_mode mode, void *dst, size_t n);

#endif
