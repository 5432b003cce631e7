#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../core/orient.h"
#include "../core/plan.h"
#include "messages.h"

int report_open(struct report *r, const struct cli_options *o, struct pool_error *err)
{
    memset(r, 0, sizeof *r);
    r->text = o->stats_text;
    r->out = stderr;
    if (!o->stats_file)
        return 0;
    r->to_file = true;
    if (output_open(&r->file, o->stats_file, err))
        return -1;
    r->out = r->file.fp;
    return 0;
}

int report_commit(struct report *r, struct pool_error *err)
{
    if (r->to_file)
        return output_commit(&r->file, err);
    return fflush(r->out) ? pool_fail(err, "write failed") : 0;
}

void report_abort(struct report *r)
{
    if (r->to_file)
        output_abort(&r->file);
}

/* "3" when every axis agrees, else "3x2". */
static void join_sizes(const size_t *v, int n, char *buf, size_t len)
{
    bool same = true;
    for (int i = 1; i < n; i++)
        same &= v[i] == v[0];
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < (same ? 1 : n) && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%zu", i ? "x" : "", v[i]);
}

/* The spatial entries of a per-axis field (depth, height, width order). */
static void spatial(const struct axis_params ax[3], int nspatial, size_t field_offset,
                    size_t out[3])
{
    for (int i = 0; i < nspatial; i++) {
        const char *base = (const char *)&ax[3 - nspatial + i];
        memcpy(&out[i], base + field_offset, sizeof out[i]);
    }
}

/* The shortest decimal that reads back as the same double. */
static void shortest_number(double v, char *buf, size_t len)
{
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

void describe_pass(const struct pool_pass *p, int nspatial, char *buf, size_t len)
{
    struct axis_params ax[3];
    size_t v[3] = {0, 0, 0};
    char part[64];
    snprintf(buf, len, "%s", mode_name(p));
    if (p->global || pass_resolve(p, nspatial, ax, NULL))
        return;
    size_t used = strlen(buf);
#define APPEND(...) used += (size_t)snprintf(buf + used, used < len ? len - used : 0, __VA_ARGS__)
    if (p->mode == MODE_FMAX) {
        spatial(ax, nspatial, offsetof(struct axis_params, kernel), v);
        join_sizes(v, nspatial, part, sizeof part);
        APPEND(":%s", part);
        if (p->output_size.n) {
            spatial(ax, nspatial, offsetof(struct axis_params, adaptive_out), v);
            join_sizes(v, nspatial, part, sizeof part);
            APPEND(",out=%s", part);
        } else {
            APPEND(",ratio=");
            for (int i = 0; i < p->ratio.n; i++) {
                shortest_number(p->ratio.v[i], part, sizeof part);
                APPEND("%s%s", i ? "x" : "", part);
            }
        }
        if (p->seed)
            APPEND(",seed=%" PRIu64, p->seed);
    } else if (ax[2].adaptive_out) {
        spatial(ax, nspatial, offsetof(struct axis_params, adaptive_out), v);
        join_sizes(v, nspatial, part, sizeof part);
        APPEND(",out=%s", part);
    } else {
        spatial(ax, nspatial, offsetof(struct axis_params, kernel), v);
        join_sizes(v, nspatial, part, sizeof part);
        APPEND(":%s", part);
        spatial(ax, nspatial, offsetof(struct axis_params, stride), v);
        join_sizes(v, nspatial, part, sizeof part);
        APPEND(",s=%s", part);
        spatial(ax, nspatial, offsetof(struct axis_params, padding), v);
        join_sizes(v, nspatial, part, sizeof part);
        if (strcmp(part, "0"))
            APPEND(",p=%s", part);
        spatial(ax, nspatial, offsetof(struct axis_params, dilation), v);
        join_sizes(v, nspatial, part, sizeof part);
        if (strcmp(part, "1"))
            APPEND(",d=%s", part);
        if (p->ceil_mode)
            APPEND(",ceil");
        if (p->mode == MODE_AVG && !pass_counts_pad(p))
            APPEND(",cip=0");
        if (p->divisor_override)
            APPEND(",div=%zu", p->divisor_override);
    }
    if (p->mode == MODE_LP) {
        char norm[40];
        shortest_number(p->has_norm ? p->norm : 2.0, norm, sizeof norm);
        APPEND(",norm=%s", norm);
    }
#undef APPEND
}

/* The shortest decimal that reads back as the same double; null for NaN and infinities,
 * which JSON cannot hold. */
static void json_number(FILE *out, double v)
{
    if (!isfinite(v)) {
        fputs("null", out);
        return;
    }
    char buf[40];
    shortest_number(v, buf, sizeof buf);
    fputs(buf, out);
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 (overlong forms aside). */
static size_t utf8_sequence(const unsigned char *s)
{
    size_t n = s[0] < 0x80           ? 1
               : (s[0] >> 5) == 0x6  ? 2
               : (s[0] >> 4) == 0xE  ? 3
               : (s[0] >> 3) == 0x1E ? 4
                                     : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] >> 6) != 0x2)
            return 0;
    return n;
}

/* File names are bytes: what is not UTF-8 becomes U+FFFD, so every line stays JSON. */
static void json_string(FILE *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    fputc('"', out);
    while (*s) {
        size_t n = utf8_sequence(s);
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if (*s < 0x20)
            fprintf(out, "\\u%04x", *s);
        else if (n)
            fwrite(s, 1, n, out);
        else
            fputs("\\ufffd", out);
        s += n ? n : 1;
    }
    fputc('"', out);
}

static void json_shape(FILE *out, const struct tensor_shape *s)
{
    fputc('[', out);
    for (int i = 0; i < s->ndim; i++)
        fprintf(out, "%s%zu", i ? "," : "", s->dims[i]);
    fputc(']', out);
}

static void json_axes(FILE *out, const char *key, const struct axis_params ax[3], int nspatial,
                      size_t offset, bool present)
{
    size_t v[3] = {0, 0, 0};
    fprintf(out, ",\"%s\":", key);
    if (!present) {
        fputs("null", out);
        return;
    }
    spatial(ax, nspatial, offset, v);
    fputc('[', out);
    for (int i = 0; i < nspatial; i++)
        fprintf(out, "%s%zu", i ? "," : "", v[i]);
    fputc(']', out);
}

/* "output_size": the spatial sizes of an output shape. */
static void json_out_size(FILE *out, const struct tensor_shape *shape, int nspatial)
{
    struct row_geom g;
    struct pool_error ignored;
    fputs(",\"output_size\":", out);
    if (tensor_geom(shape, &g, &ignored)) {
        fputs("null", out);
        return;
    }
    for (int i = 3 - nspatial; i < 3; i++)
        fprintf(out, "%s%zu", i == 3 - nspatial ? "[" : ",", g.size[i]);
    fputc(']', out);
}

/* One figure of every channel: "min":[...]. */
static void json_channels(FILE *out, const char *key, const struct meter_figures *f, size_t offset)
{
    fprintf(out, ",\"%s\":[", key);
    for (size_t c = 0; c < f->channels; c++) {
        double v;
        memcpy(&v, (const char *)&f->channel[c] + offset, sizeof v);
        if (c)
            fputc(',', out);
        json_number(out, v);
    }
    fputc(']', out);
}

static void json_field(FILE *out, const char *key, double v)
{
    fprintf(out, ",\"%s\":", key);
    json_number(out, v);
}

/* ,"shift":{"w":{"changed":0.25,"mean_change":60,"relative_change":0.333},...} */
static void json_shift(FILE *out, const char *key, const struct shift_figures *f)
{
    fprintf(out, ",\"%s\":{", key);
    for (int i = 0; i < f->naxes; i++) {
        fprintf(out, "%s\"%c\":{\"changed\":", i ? "," : "", f->axis[i]);
        json_number(out, f->changed[i]);
        fputs(",\"mean_change\":", out);
        json_number(out, f->mean_change[i]);
        fputs(",\"relative_change\":", out);
        json_number(out, f->relative_change[i]);
        fputs(",\"expected_change\":", out);
        json_number(out, f->expected_change[i]);
        fputc('}', out);
    }
    fputc('}', out);
}

/* What the report says about one pass. */
struct pass_record {
    const char *input;
    size_t image, number;
    const struct pool_pass *pass;
    struct tensor_shape in, out;
    int nspatial;
    bool is_image;
    int dims_width; /* the text table's in and out columns */
    double coverage, seconds;
    struct meter_figures fig;
    struct meter_figures stack; /* the passes so far against the first one's input */
    bool has_shift;
    struct shift_figures shift, stack_shift; /* the pass alone; the passes so far */
    const char *decoder; /* the format whose decoder did the pass (--fast), or NULL */
    bool stack_unknown;  /* a decoder did an earlier pass: the stack is not measured */
};

static void write_json(FILE *out, const struct pass_record *r)
{
    struct axis_params ax[3];
    const struct pool_pass *p = r->pass;
    bool resolved = pass_resolve(p, r->nspatial, ax, NULL) == 0;
    bool fractional = p->mode == MODE_FMAX;
    bool windowed = resolved && !ax[2].adaptive_out && !fractional;
    char spec[160];
    describe_pass(p, r->nspatial, spec, sizeof spec);
    fputs("{\"input\":", out);
    json_string(out, r->input);
    fprintf(out, ",\"image\":%zu,\"pass\":%zu,\"mode\":", r->image, r->number);
    json_string(out, mode_name(p));
    fputs(",\"spec\":", out);
    json_string(out, spec);
    json_axes(out, "kernel", ax, r->nspatial, offsetof(struct axis_params, kernel),
              windowed || (resolved && fractional));
    json_axes(out, "stride", ax, r->nspatial, offsetof(struct axis_params, stride), windowed);
    json_axes(out, "padding", ax, r->nspatial, offsetof(struct axis_params, padding), windowed);
    json_axes(out, "dilation", ax, r->nspatial, offsetof(struct axis_params, dilation), windowed);
    fprintf(out, ",\"ceil_mode\":%s,\"count_include_pad\":%s", p->ceil_mode ? "true" : "false",
            pass_counts_pad(p) ? "true" : "false");
    json_field(out, "divisor_override", p->divisor_override ? (double)p->divisor_override : NAN);
    if (fractional && resolved) /* its output size, given or from the ratio */
        json_out_size(out, &r->out, r->nspatial);
    else
        json_axes(out, "output_size", ax, r->nspatial, offsetof(struct axis_params, adaptive_out),
                  resolved && !windowed);
    json_field(out, "norm", p->mode == MODE_LP ? (p->has_norm ? p->norm : 2.0) : NAN);
    fputs(",\"layout\":", out);
    json_string(out, r->in.layout);
    fputs(",\"dtype\":", out);
    json_string(out, dtype_name(r->out.dtype));
    fputs(",\"in_shape\":", out);
    json_shape(out, &r->in);
    fputs(",\"out_shape\":", out);
    json_shape(out, &r->out);
    json_field(out, "coverage", r->coverage);
    json_channels(out, "min", &r->fig, offsetof(struct channel_figures, min));
    json_channels(out, "max", &r->fig, offsetof(struct channel_figures, max));
    json_channels(out, "mean", &r->fig, offsetof(struct channel_figures, mean));
    json_channels(out, "std", &r->fig, offsetof(struct channel_figures, std));
    json_field(out, "mse", r->fig.mse);
    json_field(out, "rmse", r->fig.rmse);
    json_field(out, "peak", r->fig.peak);
    json_field(out, "psnr", r->fig.psnr);
    json_field(out, "stack_mse", r->stack.mse);
    json_field(out, "stack_rmse", r->stack.rmse);
    json_field(out, "stack_psnr", r->stack.psnr);
    json_field(out, "seconds", r->seconds);
    if (r->has_shift) {
        json_shift(out, "shift", &r->shift);
        json_shift(out, "stack_shift", &r->stack_shift);
    }
    if (r->decoder) {
        fputs(",\"decoder\":", out);
        json_string(out, r->decoder);
    }
    fputs("}\n", out);
}

/* "300x200 u8" for an image, "1x3x8x6 (NCHW) f32" for a tensor. */
static void format_dims(const struct tensor_shape *s, bool is_image, char *buf, size_t len)
{
    shape_describe(s, is_image, buf, len);
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, " %s", dtype_name(s->dtype));
}

static void format_psnr(double psnr, char *buf, size_t len)
{
    if (isinf(psnr))
        snprintf(buf, len, "%s", "inf");
    else
        snprintf(buf, len, "%.2f", psnr);
}

/* Up to this many channels get a line each; more are summed up in one. */
#define TEXT_CHANNELS_LISTED 4

/* "64 channels: min -3.1 max 7.2, means -0.2 to 1.3, stds 0.1 to 2.2". */
static void write_channel_summary(FILE *out, const struct meter_figures *fig)
{
    struct channel_figures lo = fig->channel[0], hi = lo;
    for (size_t c = 1; c < fig->channels; c++) {
        const struct channel_figures *f = &fig->channel[c];
        lo.min = fmin(lo.min, f->min);
        hi.max = fmax(hi.max, f->max);
        lo.mean = fmin(lo.mean, f->mean);
        hi.mean = fmax(hi.mean, f->mean);
        lo.std = fmin(lo.std, f->std);
        hi.std = fmax(hi.std, f->std);
    }
    fprintf(out,
            "     %zu channels: min %.6g max %.6g, means %.6g to %.6g, stds %.6g to %.6g "
            "(--stats JSON has each)\n",
            fig->channels, lo.min, hi.max, lo.mean, hi.mean, lo.std, hi.std);
}

/* "25.0% of outputs change, by 60 (33.33% of the input's range; 8.33% per output)", or
 * shorter. */
static void write_shift_change(FILE *out, const struct shift_figures *f, int axis, bool terse)
{
    fprintf(out, terse ? "%.1f%%" : "%.1f%% of outputs change", 100 * f->changed[axis]);
    if (f->changed[axis] > 0)
        fprintf(out,
                terse ? ", by %.4g (%.2f%%; %.2f%%)"
                      : ", by %.4g (%.2f%% of the input's range; %.2f%% per output)",
                f->mean_change[axis], 100 * f->relative_change[axis],
                100 * f->expected_change[axis]);
}

static void write_text(FILE *out, const struct pass_record *r)
{
    char spec[160], in[64], outs[64], psnr[32], stack[32];
    describe_pass(r->pass, r->nspatial, spec, sizeof spec);
    format_dims(&r->in, r->is_image, in, sizeof in);
    format_dims(&r->out, r->is_image, outs, sizeof outs);
    if (r->number == 1)
        fprintf(out, "%s (image %zu)\n%-4s %-22s %-*s %-*s %8s %10s %8s %8s %9s\n", r->input,
                r->image, "pass", "spec", r->dims_width, "in", r->dims_width, "out", "coverage",
                "rmse", "psnr", "stack", "ms");
    if (r->decoder) {
        fprintf(out, "%-4zu %-22s %-*s %-*s %7.1f%%  done by the %s decoder (--fast)\n", r->number,
                spec, r->dims_width, in, r->dims_width, outs, 100 * r->coverage, r->decoder);
        return;
    }
    format_psnr(r->fig.psnr, psnr, sizeof psnr);
    format_psnr(r->stack.psnr, stack, sizeof stack);
    if (r->stack_unknown)
        snprintf(stack, sizeof stack, "-");
    fprintf(out, "%-4zu %-22s %-*s %-*s %7.1f%% %10.4g %8s %8s %9.2f\n", r->number, spec,
            r->dims_width, in, r->dims_width, outs, 100 * r->coverage, r->fig.rmse, psnr, stack,
            1e3 * r->seconds);
    if (r->fig.channels > TEXT_CHANNELS_LISTED)
        write_channel_summary(out, &r->fig);
    for (size_t c = 0; c < r->fig.channels && r->fig.channels <= TEXT_CHANNELS_LISTED; c++) {
        const struct channel_figures *f = &r->fig.channel[c];
        fprintf(out, "     channel %-3zu min %-10.6g max %-10.6g mean %-10.6g std %.6g\n", c,
                f->min, f->max, f->mean, f->std);
    }
    for (int i = 0; r->has_shift && i < r->shift.naxes; i++) {
        fprintf(out, "     shift %c by 1: ", r->shift.axis[i]);
        write_shift_change(out, &r->shift, i, false);
        if (r->number > 1) { /* (the first pass is the stack so far) */
            fprintf(out, "; passes 1-%zu: ", r->number);
            write_shift_change(out, &r->stack_shift, i, true);
        }
        fputc('\n', out);
    }
}

static void pass_shapes(const struct tensor_shape *base, const struct row_geom *in,
                        const struct row_geom *out, struct pass_record *r)
{
    r->in = r->out = *base;
    tensor_respace(&r->in, in->size);
    tensor_respace(&r->out, out->size);
    r->in.dtype = in->dtype;
    r->out.dtype = out->dtype;
}

/* A record of a turned image (EXIF orientation 5-8) as on the upright image: the pass's
 * height and width arguments, shapes and shift figures swap back. */
static void swap_axes(char *layout, size_t *dims)
{
    char *h = strchr(layout, 'h'), *w = strchr(layout, 'w');
    if (!h || !w)
        return;
    size_t t = dims[h - layout];
    dims[h - layout] = dims[w - layout];
    dims[w - layout] = t;
}

static void swap(double *v, int i, int j)
{
    double t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static void turn_shift(struct shift_figures *f)
{
    int h = -1, w = -1;
    for (int i = 0; i < f->naxes; i++) {
        h = f->axis[i] == 'h' ? i : h;
        w = f->axis[i] == 'w' ? i : w;
    }
    if (h < 0 || w < 0)
        return;
    swap(f->changed, h, w);
    swap(f->mean_change, h, w);
    swap(f->relative_change, h, w);
    swap(f->expected_change, h, w);
}

static void turn_record(struct pass_record *r)
{
    swap_axes(r->in.layout, r->in.dims);
    swap_axes(r->out.layout, r->out.dims);
    if (r->has_shift) {
        turn_shift(&r->shift);
        turn_shift(&r->stack_shift);
    }
}

/* The text table's in and out columns: at least 18, as wide as the widest shape. */
static int dims_width(const struct tensor_shape *shape, bool is_image,
                      const struct decoded_passes *decoded, struct pipeline *p)
{
    size_t widest = 18;
    char text[64];
    for (size_t k = 0; k < p->npasses + (decoded->count > 0); k++) {
        struct pass_record r = {0};
        bool by_decoder = decoded->count && k == 0;
        size_t f = k - (decoded->count > 0);
        if (by_decoder)
            pass_shapes(shape, &decoded->in, &p->in, &r);
        else
            pass_shapes(shape, pass_filter_in_geom(p->passes[f]),
                        pass_filter_out_geom(p->passes[f]), &r);
        format_dims(&r.in, is_image, text, sizeof text);
        widest = strlen(text) > widest ? strlen(text) : widest;
        format_dims(&r.out, is_image, text, sizeof text);
        widest = strlen(text) > widest ? strlen(text) : widest;
    }
    return (int)widest;
}

static void unknown_figures(struct meter_figures *f) { f->mse = f->rmse = f->peak = f->psnr = NAN; }

/* The record of a pass a decoder did: shapes, parameters and coverage. */
static void write_decoded(struct report *rep, struct pass_record *r,
                          const struct tensor_shape *shape, const struct decoded_passes *decoded,
                          const struct pool_pass *pass, size_t count, struct pipeline *p,
                          bool transposed)
{
    struct pass_plan plan;
    r->nspatial = decoded->in.nspatial;
    r->decoder = format_name(decoded->format);
    pass_shapes(shape, &decoded->in, &p->in, r);
    r->coverage = plan_pass(pass, 0, count, &decoded->in, NULL, &plan, NULL) ? NAN : plan.coverage;
    r->seconds = NAN;
    unknown_figures(&r->fig);
    unknown_figures(&r->stack);
    if (transposed)
        turn_record(r);
    if (rep->text)
        write_text(rep->out, r);
    else
        write_json(rep->out, r);
}

int report_image(struct report *rep, const char *input, size_t image,
                 const struct tensor_shape *shape, bool is_image, const struct pool_pass *passes,
                 const struct decoded_passes *decoded, struct pipeline *p, bool transposed,
                 struct pool_error *err)
{
    int width = rep->text ? dims_width(shape, is_image, decoded, p) : 0;
    size_t skip = decoded->count, count = skip + p->npasses;
    struct orientation back = {transposed, 0, 0};
    for (size_t k = 0; k < skip; k++) {
        struct pool_pass upright = orient_pass(&passes[k], back);
        struct pass_record r = {
            .input = input, .image = image, .number = k + 1, .pass = &upright, .dims_width = width};
        r.is_image = is_image;
        write_decoded(rep, &r, shape, decoded, &passes[k], count, p, transposed);
    }
    for (size_t k = 0; k < p->npasses; k++) {
        struct pass_filter *f = p->passes[k];
        const struct row_geom *in = pass_filter_in_geom(f), *out = pass_filter_out_geom(f);
        struct pool_pass upright = orient_pass(&passes[skip + k], back);
        struct pass_record r = {.input = input,
                                .image = image,
                                .number = skip + k + 1,
                                .pass = &upright,
                                .is_image = is_image,
                                .dims_width = width};
        struct pass_plan plan;
        r.nspatial = in->nspatial;
        pass_shapes(shape, in, out, &r);
        r.coverage = plan_pass(&passes[skip + k], skip + k, count, in, NULL, &plan, NULL)
                         ? NAN
                         : plan.coverage;
        r.seconds = pass_filter_seconds(f);
        meter_figures(pass_filter_meter(f), &r.fig);
        /* (after a decoded pass, the stack so far would be measured against its output) */
        struct pass_meter *stack = skip ? NULL : pipeline_stack_meter(p, k);
        r.stack_unknown = skip > 0;
        if (stack)
            meter_figures(stack, &r.stack);
        else
            r.stack.mse = r.stack.rmse = r.stack.psnr = NAN;
        /* Figures asked for are figures given: not an unknown for want of memory. */
        if (r.fig.out_of_memory || r.stack.out_of_memory)
            return pool_fail_resource(err, "out of memory for the statistics of a pass");
        r.has_shift = pipeline_shift(p, k, false, &r.shift) &&
                      pipeline_shift(p, k, true, &r.stack_shift);
        if (r.has_shift && (r.shift.out_of_memory || r.stack_shift.out_of_memory))
            return pool_fail_resource(err, "out of memory for the shift test");
        if (transposed)
            turn_record(&r);
        if (rep->text)
            write_text(rep->out, &r);
        else
            write_json(rep->out, &r);
    }
    /* Flushed here, so that a failure says its reason while errno still holds it. */
    errno = 0;
    if (fflush(rep->out) || ferror(rep->out))
        return pool_fail(err, "write failed%s%s", errno ? ": " : "", errno ? strerror(errno) : "");
    return 0;
}

/* "pass 2 (max)" or "passes 1-3". */
static void stack_name(const struct pool_pass *passes, size_t last, char *buf, size_t len)
{
    if (last == 1)
        snprintf(buf, len, "pass 1 (%s)", mode_name(&passes[0]));
    else
        snprintf(buf, len, "passes 1-%zu", last);
}

bool report_warn_psnr(struct input_warnings *to, const char *input, const struct pool_pass *passes,
                      struct pipeline *p, size_t last, double threshold)
{
    struct pass_meter *m = pipeline_stack_meter(p, last - 1);
    struct meter_figures f;
    if (!m)
        return false;
    meter_figures(m, &f);
    if (!(f.psnr < threshold))
        return false;
    char name[64], general[160];
    stack_name(passes, last, name, sizeof name);
    snprintf(general, sizeof general, "%s: PSNR below %g dB against the input", name, threshold);
    warning_give(to, input, WARNING_PSNR, f.psnr, f.estimated, general,
                 "%s: PSNR %s%.1f dB against the input, below %g dB: much of its detail is "
                 "lost (--warn-psnr DB sets the limit, 0 turns the warning off)",
                 name, f.estimated ? "about " : "", f.psnr, threshold);
    return true;
}
