/* One pooling pass: what the user asked for, checked, and resolved per spatial axis. */
#ifndef POOL_PASS_H
#define POOL_PASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tensor.h"

enum pool_mode {
    MODE_MAX,
    MODE_AVG,
    MODE_MIN,
    MODE_LP,
    MODE_MODE,
    MODE_MEDIAN,
    MODE_NEAREST,
    MODE_FMAX /* fractional max pooling: see pool_pass.ratio */
};

/* Mode, median and nearest pick one of the window's values (see POOLING.md, "Label-safe
 * modes"): the stage keeps the rows a window spans instead of running sums. */
bool mode_selects(enum pool_mode m);
/* Modes whose taps are a + j*d (dilation applies): max, min and the selecting ones. */
bool mode_dilates(enum pool_mode m);

/* A size option: unset (n = 0), one value for every spatial axis (n = 1), or one per axis. */
struct size_arg {
    int n;
    size_t v[3];
};

/* Whether avg's divisor counts padded cells (PyTorch's count_include_pad, default True):
 * unset (zero) is PyTorch's default; set only when given, so other modes can refuse it. */
enum pad_count { PAD_COUNT_DEFAULT, PAD_COUNT_INCLUDE, PAD_COUNT_EXCLUDE };

struct pool_pass {
    enum pool_mode mode;
    bool global; /* gmax, gavg, gmin: adaptive to 1 on every spatial axis */
    struct size_arg kernel, stride, padding, dilation, output_size;
    bool ceil_mode;
    enum pad_count pad_count; /* as given: PAD_COUNT_DEFAULT when not */
    /* avg: every window's divisor (PyTorch's divisor_override); 0 = none, the window's own */
    size_t divisor_override;
    /* max, min, fmax: also give each output's position in the input (stage_set_index_sink) */
    bool return_indices;
    /* fmax (PyTorch's fractional_max_pool2d/3d): windows of `kernel` at pseudo-random
     * starts, one output size per axis from output_size or from ratio (floor(L ratio)).
     * Each (batch, channel) plane draws its own offsets: from samples when given (PyTorch's
     * _random_samples, sample_sets x nspatial values in [0, 1), set n C + c, in PyTorch's
     * order: W, H for 2-D; D, H, W for 3-D), else from seed. */
    struct {
        int n;
        double v[3];
    } ratio;
    bool has_seed; /* seed was given (fmax takes one; others refuse it) */
    uint64_t seed;
    const double *samples;
    size_t sample_sets;
    int sample_dims; /* values per set: the input's spatial axes */
    bool has_norm;
    double norm; /* Lp's P */
    /* avg of images with alpha (the last channel of a channels-last tensor): weight colours
     * by alpha. Set by the CLI for images, not by pass specs. */
    bool premultiply_alpha;
    /* --edge replicate (vips shrink): the output length rounded half up, (L+2p-span)/s + 1,
     * and the far edge of height and width extended by copies of the last element so that
     * every window is whole (the pipeline extends: see axis_extended_len). */
    bool edge_replicate;
    /* Depth, height and width read backwards: windows are laid as on the reversed axis
     * (output o of the reversed axis is output O-1-o here), so that pooling a stored image
     * and then flipping it equals flipping it and then pooling (EXIF orientation). */
    bool reversed[3];
};

/* The parameters of one spatial axis, ready for arithmetic. */
struct axis_params {
    size_t kernel, stride, padding, dilation;
    size_t adaptive_out; /* 0 unless adaptive */
    bool ceil_mode, count_include_pad;
    bool replicate; /* pool_pass.edge_replicate, on this axis */
    /* reversed: the axis is pooled as if read backwards (an EXIF-rotated image's, see
     * pool_pass.reversed): axis_table_init lays the windows from the far end by a shift.
     * Window o starts at o s - padding + shift (PyTorch: shift 0); the padded input stays
     * [-padding, L + padding), and the output length is PyTorch's. */
    bool reversed;
    int64_t shift;
    /* fmax: the output length is adaptive_out, or floor(L ratio) when that is 0; windows
     * of kernel, placed per plane by the stage. Window tables describe the axis by the
     * adaptive windows of the same output length (what the meter and plan see). */
    bool fractional;
    double ratio;
    size_t fractional_spare; /* inputs the windows must leave unread: 1 in 3-D (aten's check) */
};

/* Where window 0 starts, before the input: padding - shift (negative: inside it). */
static inline int64_t axis_lead(const struct axis_params *a)
{
    return (int64_t)a->padding - a->shift;
}

/* A size option per axis into out[3] (depth, height, width): `unset` where it was not
 * given, `absent` on the axes the tensor does not have; one value or one per spatial axis
 * (else an error naming `what`). */
int size_arg_resolve(const struct size_arg *a, const char *what, int nspatial, size_t unset,
                     size_t absent, size_t out[3], struct pool_error *err);

const char *mode_name(const struct pool_pass *p);
/* Whether the pass divides by windows that include padding: windowed avg unless the user
 * said count_include_pad=False (a zero-initialised pass is PyTorch's default: it does). */
bool pass_counts_pad(const struct pool_pass *p);
/* max, avg, min, lp, mode, median, nearest, fmax, gmax, gavg, gmin */
bool mode_parse(const char *s, struct pool_pass *p);

/* Rules that hold whatever the input: sizes positive, padding at most half the kernel,
 * each option valid for the mode. */
int pass_check(const struct pool_pass *p, struct pool_error *err);

/* Per-axis parameters for a tensor with nspatial spatial axes, filled into ax[3]
 * (depth, height, width; absent axes get the identity). */
int pass_resolve(const struct pool_pass *p, int nspatial, struct axis_params ax[3],
                 struct pool_error *err);

/*
 * Output length of one axis, as PyTorch computes it (aten/src/ATen/native/Pool.h):
 *   O = floor((L + 2p - d(k-1) - 1 + (ceil ? s-1 : 0)) / s) + 1
 *   and in ceil mode, if (O-1)*s >= L + p then O = O - 1
 * (the last window must start inside the input or the left padding).
 * Adaptive axes give their requested size.
 */
int axis_out_len(const struct axis_params *a, size_t len, size_t *out, struct pool_error *err);
/* With a->replicate: the length the windows of the axis's output need (at least len), the
 * input extended by copies of its last element; else len. */
size_t axis_extended_len(const struct axis_params *a, size_t len);
/* The shift that lays an axis's windows from its far end: with it, window o of the axis
 * read backwards holds exactly the taps of window O-1-o read forwards (0 for adaptive
 * axes, which are symmetric). Window o forwards starts at o s - p with taps j d apart, so
 * backwards its first tap is L-1 - ((O-1-o) s - p + (k-1) d) = o s - p + shift with
 * shift = 2p + L - ((k-1) d + 1) - (O-1) s. */
int64_t axis_mirror_shift(const struct axis_params *a, size_t len);

/* The output geometry of a pass over `in`, or an error naming the axis and the rule. */
int pass_out_geom(const struct pool_pass *p, const struct row_geom *in, struct row_geom *out,
                  struct pool_error *err);

#endif
