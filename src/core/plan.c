#include "plan.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "window.h"

/* Adds a warning: `general` is its text without this shape's figures, fmt... the whole. */
__attribute__((format(printf, 5, 6))) static void warn(struct pass_plan *plan,
                                                       enum plan_warning_kind kind, double percent,
                                                       const char *general, const char *fmt, ...)
{
    if (plan->nwarnings == PLAN_MAX_WARNINGS)
        return;
    struct plan_warning *w = &plan->warnings[plan->nwarnings++];
    w->kind = kind;
    w->percent = percent;
    snprintf(w->general, sizeof w->general, "%s", general);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->text, sizeof w->text, fmt, ap);
    va_end(ap);
}

static void plan_axis(struct pass_plan *plan, int axis, const struct axis_params *a,
                      const struct axis_table *t, const struct pass_plan *prev)
{
    double jump = prev ? prev->stride[axis] : 1.0, field = prev ? prev->field[axis] : 1.0;
    /* fmax: windows of the kernel about L / O apart (where each plane puts them varies) */
    bool irregular = a->adaptive_out || a->fractional;
    double stride = irregular ? (double)t->in_len / (double)t->out_len : (double)a->stride;
    double span = a->fractional     ? (double)a->kernel
                  : a->adaptive_out ? (double)axis_widest_window(t)
                                    : (double)(a->dilation * (a->kernel - 1) + 1);
    plan->field[axis] = field + (span - 1) * jump;
    plan->stride[axis] = jump * stride;
    /* the cell's corner on this pass's input: its window's centre less half a stride
     * (adaptive windows that divide evenly are [o L/O, (o+1) L/O): corner 0) */
    bool even = a->adaptive_out && t->in_len % t->out_len == 0;
    double corner = even ? 0.0 : -(double)axis_lead(a) + (span - stride) / 2.0;
    plan->regular[axis] = (prev ? prev->regular[axis] : true) && (!irregular || even);
    plan->origin[axis] = (prev ? prev->origin[axis] : 0.0) + jump * corner;
}

/* A stride past the (dilated) kernel skips input: say how much, once for the pass. */
static void skip_warning(struct pass_plan *plan, const char *label, const struct axis_params ax[3],
                         const struct row_geom *in)
{
    int nspatial = in->nspatial;
    double stride[3], span[3];
    bool skips = false;
    for (int i = 0; i < 3; i++) {
        stride[i] = (double)ax[i].stride;
        span[i] = (double)(ax[i].dilation * (ax[i].kernel - 1) + 1);
        skips |= i >= 3 - nspatial && !ax[i].adaptive_out && !ax[i].fractional &&
                 stride[i] > span[i];
    }
    if (!skips)
        return;
    char s[40], k[40], general[160];
    axes_describe(stride, in, s, sizeof s);
    axes_describe(span, in, k, sizeof k);
    snprintf(general, sizeof general, "%s: stride %s > kernel %s", label, s, k);
    double percent = 100 * (1 - plan->coverage);
    warn(plan, PLAN_UNREAD, percent, general, "%s: %.0f%% of input elements are never read",
         general, percent);
}

static void axis_warnings(struct pass_plan *plan, const char *label, char axis_name,
                          const struct axis_params *a, const struct axis_table *t)
{
    size_t span = a->dilation * (a->kernel - 1) + 1;
    if (a->adaptive_out || a->fractional || span <= t->in_len + 2 * a->padding)
        return;
    char general[160];
    snprintf(general, sizeof general,
             "%s: the window %zu is larger than the padded input on axis %c", label, span,
             axis_name);
    warn(plan, PLAN_WINDOW_TOO_WIDE, 0, general,
         "%s: the window %zu is larger than the padded input %zu on axis %c", label, span,
         t->in_len + 2 * a->padding, axis_name);
}

int plan_pass(const struct pool_pass *p, size_t index, size_t count, const struct row_geom *in,
              const struct pass_plan *prev, struct pass_plan *out, struct pool_error *err)
{
    struct axis_params ax[3];
    struct axis_table tables[3] = {{0}};
    struct pool_error why;
    char label[48];
    int rc = 0;
    memset(out, 0, sizeof *out);
    out->in = *in;
    out->coverage = 1.0;
    snprintf(label, sizeof label, "pass %zu (%s)", index + 1, mode_name(p));
    if (pass_out_geom(p, in, &out->out, &why) || pass_resolve(p, in->nspatial, ax, &why))
        return pool_fail(err, "%s: %s", label, why.msg);
    for (int i = 0; i < 3 && rc == 0; i++) {
        rc = axis_table_init(&tables[i], &ax[i], p->mode, in->size[i], false, &why);
        if (rc == 0) {
            out->coverage *= 1.0 - (double)axis_unread(&tables[i]) / (double)tables[i].in_len;
            plan_axis(out, i, &ax[i], &tables[i], prev);
        }
    }
    if (rc == 0)
        skip_warning(out, label, ax, in);
    for (int i = 3 - in->nspatial; i < 3 && rc == 0; i++) {
        axis_warnings(out, label, in->axis_name[i], &ax[i], &tables[i]);
        if (index + 1 < count && out->out.size[i] == 1 && in->size[i] > 1 && !p->global) {
            char text[160];
            snprintf(text, sizeof text, "%s: axis %c collapses to 1 element before the last pass",
                     label, in->axis_name[i]);
            warn(out, PLAN_COLLAPSE, 0, text, "%s", text);
        }
    }
    for (int i = 0; i < 3; i++)
        axis_table_free(&tables[i]);
    return rc ? pool_fail(err, "%s: %s", label, why.msg) : 0;
}
