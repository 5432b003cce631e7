#include "pass.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static const struct {
    const char *name;
    enum pool_mode mode;
    bool global;
} modes[] = {
    {"max", MODE_MAX, false},         {"avg", MODE_AVG, false},   {"min", MODE_MIN, false},
    {"lp", MODE_LP, false},           {"gmax", MODE_MAX, true},   {"gavg", MODE_AVG, true},
    {"gmin", MODE_MIN, true},         {"mode", MODE_MODE, false}, {"median", MODE_MEDIAN, false},
    {"nearest", MODE_NEAREST, false}, {"fmax", MODE_FMAX, false},
};

bool mode_selects(enum pool_mode m)
{
    return m == MODE_MODE || m == MODE_MEDIAN || m == MODE_NEAREST;
}

bool mode_dilates(enum pool_mode m) { return m == MODE_MAX || m == MODE_MIN || mode_selects(m); }

const char *mode_name(const struct pool_pass *p)
{
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (modes[i].mode == p->mode && modes[i].global == p->global)
            return modes[i].name;
    return "?";
}

bool pass_counts_pad(const struct pool_pass *p)
{
    return p->mode == MODE_AVG && !p->global && !p->output_size.n &&
           p->pad_count != PAD_COUNT_EXCLUDE;
}

bool mode_parse(const char *s, struct pool_pass *p)
{
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (!strcmp(s, modes[i].name)) {
            p->mode = modes[i].mode;
            p->global = modes[i].global;
            return true;
        }
    return false;
}

static int check_positive(const struct size_arg *a, const char *what, struct pool_error *err)
{
    for (int i = 0; i < a->n; i++)
        if (a->v[i] == 0)
            return pool_fail(err, "%s must be at least 1", what);
    return 0;
}

static size_t arg_at(const struct size_arg *a, int i) { return a->v[a->n == 1 ? 0 : i]; }

static int check_padding(const struct pool_pass *p, struct pool_error *err)
{
    if (!p->padding.n)
        return 0;
    if (p->kernel.n && p->padding.n != 1 && p->kernel.n != 1 && p->padding.n != p->kernel.n)
        return pool_fail(err, "padding has %d sizes but kernel has %d", p->padding.n, p->kernel.n);
    int n = p->padding.n > p->kernel.n ? p->padding.n : p->kernel.n;
    for (int i = 0; i < n; i++) {
        size_t pad = arg_at(&p->padding, i), k = arg_at(&p->kernel, i);
        if (pad > k / 2)
            return pool_fail(err,
                             "padding %zu is more than half the kernel %zu "
                             "(PyTorch requires padding <= kernel/2)",
                             pad, k);
    }
    return 0;
}

/* fmax: PyTorch's FractionalMaxPool2d/3d take a kernel and an output size or ratio. */
static int check_fractional(const struct pool_pass *p, struct pool_error *err)
{
    if (!p->kernel.n)
        return pool_fail(err, "fmax needs a kernel size (-k), as PyTorch's kernel_size");
    if (!p->output_size.n && !p->ratio.n)
        return pool_fail(err, "fmax needs an output size (--output-size) or a ratio (--ratio)");
    if (p->output_size.n && p->ratio.n)
        return pool_fail(err, "fmax takes an output size or a ratio, not both");
    if (p->stride.n || p->padding.n || p->dilation.n || p->ceil_mode || p->pad_count ||
        p->divisor_override || p->has_norm)
        return pool_fail(err, "fmax places its windows itself: it takes no stride, padding, "
                              "dilation, ceil, count-include-pad, divisor or norm");
    for (int i = 0; i < p->ratio.n; i++)
        if (!(p->ratio.v[i] > 0 && p->ratio.v[i] < 1))
            return pool_fail(err,
                             "an fmax ratio is between 0 and 1 (not %g), as PyTorch's "
                             "output_ratio",
                             p->ratio.v[i]);
    return 0;
}

static int check_option_fits_mode(const struct pool_pass *p, struct pool_error *err)
{
    const char *m = mode_name(p);
    bool windowed = p->kernel.n > 0;
    if (p->global && (windowed || p->stride.n || p->padding.n || p->dilation.n ||
                      p->output_size.n || p->ceil_mode))
        return pool_fail(err,
                         "%s pools each channel to one value: it takes no kernel, stride, "
                         "padding, dilation, ceil or output size",
                         m);
    if (p->mode == MODE_FMAX)
        return check_fractional(p, err);
    if (p->ratio.n || p->samples || p->has_seed)
        return pool_fail(err, "a ratio, a seed and random samples are fmax's (fractional max "
                              "pooling)");
    if (p->output_size.n && (windowed || p->stride.n || p->padding.n || p->dilation.n ||
                             p->ceil_mode || p->pad_count || p->divisor_override))
        return pool_fail(err, "an output size (adaptive pooling) takes no kernel, stride, "
                              "padding, dilation, ceil, count-include-pad or divisor");
    if (p->output_size.n && p->mode == MODE_LP)
        return pool_fail(err, "adaptive pooling (output size) works with every mode but lp");
    if (!p->global && !p->output_size.n && !windowed)
        return pool_fail(err, "%s needs a kernel size (-k) or an output size (--output-size)", m);
    bool dilated = false;
    for (int i = 0; i < p->dilation.n; i++)
        dilated |= p->dilation.v[i] != 1;
    if (dilated && !mode_dilates(p->mode))
        return pool_fail(err,
                         "dilation works with max, min, mode, median and nearest only "
                         "(PyTorch's %s pooling has none)",
                         m);
    if (p->padding.n && p->mode == MODE_LP)
        return pool_fail(err, "lp takes no padding (as PyTorch's lp_pool)");
    if (p->pad_count && p->mode != MODE_AVG)
        return pool_fail(err, "count-include-pad works with avg only");
    if (p->return_indices && p->mode != MODE_MAX && p->mode != MODE_MIN && p->mode != MODE_FMAX)
        return pool_fail(err, "indices (PyTorch's return_indices) come from max, min and fmax "
                              "pooling only");
    if (p->divisor_override && (p->mode != MODE_AVG || p->global))
        return pool_fail(err, "a divisor (PyTorch's divisor_override) works with windowed avg "
                              "only");
    if (p->has_norm && p->mode != MODE_LP)
        return pool_fail(err, "norm works with lp only");
    return 0;
}

static size_t largest(const struct size_arg *a, size_t unset)
{
    size_t most = a->n ? 0 : unset;
    for (int i = 0; i < a->n; i++)
        most = a->v[i] > most ? a->v[i] : most;
    return most;
}

/* Sizes are each at most 2^40 (the parsers' cap); their product need not be. */
#define WINDOW_SPAN_MAX ((size_t)1 << 40)

int pass_check(const struct pool_pass *p, struct pool_error *err)
{
    if (check_option_fits_mode(p, err) || check_positive(&p->kernel, "kernel", err) ||
        check_positive(&p->stride, "stride", err) ||
        check_positive(&p->dilation, "dilation", err) ||
        check_positive(&p->output_size, "output size", err) || check_padding(p, err))
        return -1;
    size_t k = largest(&p->kernel, 1), d = largest(&p->dilation, 1);
    if (k > 1 && d > (WINDOW_SPAN_MAX - 1) / (k - 1))
        return pool_fail(err, "dilation %zu times kernel %zu spans more than 2^40 elements", d, k);
    if (p->mode == MODE_LP && p->has_norm && !(p->norm > 0 && isfinite(p->norm)))
        return pool_fail(err, "norm must be a positive finite number");
    return 0;
}

int size_arg_resolve(const struct size_arg *a, const char *what, int nspatial, size_t unset,
                     size_t absent, size_t out[3], struct pool_error *err)
{
    if (a->n > 1 && a->n != nspatial)
        return pool_fail(err, "%s has %d sizes but the input has %d spatial ax%s", what, a->n,
                         nspatial, nspatial == 1 ? "is" : "es");
    for (int i = 0; i < 3; i++) {
        int axis = i - (3 - nspatial); /* index among the spatial axes, <0 when absent */
        out[i] = axis < 0 ? absent : a->n == 0 ? unset : arg_at(a, axis);
    }
    return 0;
}

/* fmax's axes: present ones fractional, with the kernel and an output size or ratio. */
static int resolve_fractional(const struct pool_pass *p, int nspatial, const size_t k[3],
                              const size_t o[3], struct axis_params ax[3], struct pool_error *err)
{
    if (nspatial == 1)
        return pool_fail(err, "fmax pools 2-D and 3-D inputs, as PyTorch's "
                              "fractional_max_pool2d/3d");
    if (p->ratio.n > 1 && p->ratio.n != nspatial)
        return pool_fail(err, "the ratio has %d values but the input has %d spatial axes",
                         p->ratio.n, nspatial);
    for (int i = 0; i < 3; i++) {
        int axis = i - (3 - nspatial);
        ax[i] = (struct axis_params){.kernel = 1, .stride = 1, .dilation = 1};
        if (axis < 0)
            continue;
        if (p->reversed[i])
            return pool_fail(err, "fmax lays its windows from the start of each axis, so it "
                                  "cannot pool a turned image upright: give --no-auto-orient");
        ax[i].kernel = k[i];
        ax[i].stride = k[i];
        ax[i].fractional = true;
        ax[i].adaptive_out = p->output_size.n ? o[i] : 0;
        ax[i].ratio = p->ratio.n == 0 ? 0 : p->ratio.v[p->ratio.n == 1 ? 0 : axis];
        ax[i].fractional_spare = nspatial == 3; /* fractional_max_pool3d: O + k - 1 < L */
    }
    return 0;
}

/* fmax's output length: given, or floor(L ratio) as PyTorch's Python wrapper's int(); the
 * windows must fit, O + k - 1 <= L, and in 3-D leave one input over (aten's checks in
 * fractional_max_pool2d/3d: "pool size too large relative to input"). */
static int fractional_out_len(const struct axis_params *a, size_t len, size_t *out,
                              struct pool_error *err)
{
    size_t o = a->adaptive_out ? a->adaptive_out : (size_t)((double)len * a->ratio);
    if (o == 0)
        return pool_fail(err, "the ratio %g of %zu gives no output", a->ratio, len);
    size_t need = o + a->kernel - 1 + a->fractional_spare;
    if (need > len)
        return pool_fail(err,
                         "fmax's %zu outputs of kernel %zu need an input of at least %zu, not "
                         "%zu (PyTorch: pool size too large relative to input)",
                         o, a->kernel, need, len);
    *out = o;
    return 0;
}

int pass_resolve(const struct pool_pass *p, int nspatial, struct axis_params ax[3],
                 struct pool_error *err)
{
    size_t k[3], s[3], pad[3], d[3], o[3];
    if (size_arg_resolve(&p->kernel, "kernel", nspatial, 1, 1, k, err) ||
        size_arg_resolve(&p->padding, "padding", nspatial, 0, 0, pad, err) ||
        size_arg_resolve(&p->dilation, "dilation", nspatial, 1, 1, d, err) ||
        size_arg_resolve(&p->output_size, "output size", nspatial, 1, 1, o, err))
        return -1;
    /* stride defaults to the kernel, axis by axis */
    if (p->stride.n) {
        if (size_arg_resolve(&p->stride, "stride", nspatial, 1, 1, s, err))
            return -1;
    } else {
        memcpy(s, k, sizeof s);
    }
    bool adaptive = p->global || p->output_size.n;
    if (p->mode == MODE_FMAX)
        return resolve_fractional(p, nspatial, k, o, ax, err);
    for (int i = 0; i < 3; i++) {
        bool present = i >= 3 - nspatial;
        ax[i] = (struct axis_params){
            .kernel = k[i],
            .stride = s[i],
            .padding = pad[i],
            .dilation = d[i],
            .adaptive_out = adaptive && present ? (p->global ? 1 : o[i]) : 0,
            .ceil_mode = p->ceil_mode,
            .count_include_pad = pass_counts_pad(p),
            .replicate = p->edge_replicate && present && !adaptive,
            .reversed = p->reversed[i] && present,
        };
    }
    return 0;
}

/* Division rounding toward negative infinity, as PyTorch's div_rtn. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int axis_out_len(const struct axis_params *a, size_t len, size_t *out, struct pool_error *err)
{
    if (a->fractional)
        return fractional_out_len(a, len, out, err);
    if (a->adaptive_out) {
        *out = a->adaptive_out;
        return 0;
    }
    /* Sizes are capped at 2^40 by the parsers and d (k - 1) by pass_check: no wrapping. */
    int64_t L = (int64_t)len, k = (int64_t)a->kernel, s = (int64_t)a->stride;
    int64_t p = (int64_t)a->padding, d = (int64_t)a->dilation;
    int64_t span = d * (k - 1) + 1;
    /* In ceil mode a window may hang past the end: even a kernel larger than the input
     * gives one output when L + 2p - span + s - 1 >= 0. */
    int64_t o = floor_div(L + 2 * p - span + (a->ceil_mode ? s - 1 : 0), s) + 1;
    if (a->ceil_mode && (o - 1) * s >= L + p)
        o--;
    /* vips shrink: round((L + 2p - span) / s + 1), halves up (451 by 2: 226; an input
     * shorter than the kernel gives 1 while at least half a stride long) */
    if (a->replicate)
        o = floor_div(2 * (L + 2 * p - span) + 3 * s, 2 * s);
    if (o < 1)
        return pool_fail(
            err, "the %s %" PRId64 " is larger than the %s %" PRId64 " (the output would be empty)",
            d > 1 ? "dilated kernel" : "kernel", span, p ? "padded input" : "input", L + 2 * p);
    *out = (size_t)o;
    return 0;
}

size_t axis_extended_len(const struct axis_params *a, size_t len)
{
    size_t o;
    struct pool_error ignored;
    if (!a->replicate || axis_out_len(a, len, &o, &ignored))
        return len;
    size_t need = (o - 1) * a->stride + a->dilation * (a->kernel - 1) + 1;
    need = need > 2 * a->padding ? need - 2 * a->padding : 0;
    return need > len ? need : len;
}

int64_t axis_mirror_shift(const struct axis_params *a, size_t len)
{
    size_t o;
    struct pool_error ignored;
    if (a->adaptive_out || axis_out_len(a, len, &o, &ignored))
        return 0;
    int64_t span = (int64_t)((a->kernel - 1) * a->dilation + 1);
    return 2 * (int64_t)a->padding + (int64_t)len - span - (int64_t)((o - 1) * a->stride);
}

/* PyTorch's avg_pool3d (and so Lp in 3-D) also wants every axis at least as long as the
 * kernel, padding aside (pool3d_shape_check with check_input_size). */
static int check_3d_average_input(const struct pool_pass *p, const struct axis_params ax[3],
                                  const struct row_geom *in, struct pool_error *err)
{
    if (in->nspatial != 3 || (p->mode != MODE_AVG && p->mode != MODE_LP) || p->global ||
        p->output_size.n)
        return 0;
    for (int i = 0; i < 3; i++)
        if (in->size[i] < ax[i].kernel)
            return pool_fail(err,
                             "axis %c: the kernel %zu is larger than the input %zu "
                             "(3-D %s pooling needs input >= kernel on every axis, as "
                             "PyTorch's avg_pool3d)",
                             in->axis_name[i], ax[i].kernel, in->size[i], mode_name(p));
    return 0;
}

int pass_out_geom(const struct pool_pass *p, const struct row_geom *in, struct row_geom *out,
                  struct pool_error *err)
{
    struct axis_params ax[3];
    struct pool_error why;
    if (pass_resolve(p, in->nspatial, ax, err) || check_3d_average_input(p, ax, in, err))
        return -1;
    if (p->edge_replicate && in->nspatial == 3 && !ax[0].adaptive_out)
        return pool_fail(err, "--edge replicate extends height and width: a 3-D tensor's depth "
                              "is not extended (use --edge partial)");
    *out = *in;
    for (int i = 3 - in->nspatial; i < 3; i++)
        if (axis_out_len(&ax[i], in->size[i], &out->size[i], &why))
            return pool_fail(err, "axis %c: %s", in->axis_name[i], why.msg);
    return 0;
}
