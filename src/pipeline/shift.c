#include "shift.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The rows pass k of the real stack emitted during the current input row. */
struct step_rows {
    unsigned char *data;
    size_t count, cap, row_bytes, row_elems;
    enum pool_dtype dtype;
};

struct shifted_chain;

/* A stage's sink context: which chain, which pass. */
struct link {
    struct shifted_chain *chain;
    size_t pass; /* 1-based */
};

struct comparison {
    size_t compared, changed;
    double abs_sum;
};

struct shifted_chain {
    struct shift_probe *probe;
    int axis; /* 0 depth, 1 height, 2 width */
    struct pool_stage **stages;
    struct link *links;
    size_t *cursor;         /* per pass: rows of this step already compared */
    struct comparison *cmp; /* per pass */
    unsigned char *held;    /* the previous row (height) or slab (depth) */
    unsigned char *shifted; /* a width-shifted row */
};

struct shift_probe {
    struct row_geom in;
    size_t npasses, row_bytes, in_row; /* in_row: position within the plane */
    struct step_rows *step;            /* per pass */
    struct shifted_chain chains[3];
    int nchains;
    char letters[3];
    double *a, *b;         /* scratch rows for comparing */
    double in_min, in_max; /* of the input, NaN ignored */
    bool lost_rows;        /* out of memory for a row of the real passes */
};

static int keep_row(struct step_rows *s, const void *row)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4;
        unsigned char *data = realloc(s->data, cap * s->row_bytes);
        if (!data)
            return -1;
        s->data = data;
        s->cap = cap;
    }
    memcpy(s->data + s->count++ * s->row_bytes, row, s->row_bytes);
    return 0;
}

void shift_probe_reference(struct shift_probe *p, size_t pass, const void *row)
{
    /* Out of memory loses the row: it is then not compared (see compare_row), and the
     * figures say so. */
    if (keep_row(&p->step[pass - 1], row))
        p->lost_rows = true;
}

static void compare_row(struct shifted_chain *c, size_t pass, const void *row)
{
    struct shift_probe *p = c->probe;
    struct step_rows *s = &p->step[pass - 1];
    size_t k = c->cursor[pass - 1]++;
    if (k >= s->count)
        return;
    dtype_row_to_double(s->dtype, s->data + k * s->row_bytes, p->a, s->row_elems);
    dtype_row_to_double(s->dtype, row, p->b, s->row_elems);
    struct comparison *cmp = &c->cmp[pass - 1];
    for (size_t i = 0; i < s->row_elems; i++) {
        double x = p->a[i], y = p->b[i];
        bool both_nan = x != x && y != y;
        if (x != y && !both_nan) {
            cmp->changed++;
            cmp->abs_sum += fabs(x - y);
        }
    }
    cmp->compared += s->row_elems;
}

static int shifted_output(void *ctx, const void *row, struct pool_error *err)
{
    struct link *l = ctx;
    struct shifted_chain *c = l->chain;
    compare_row(c, l->pass, row);
    if (l->pass < c->probe->npasses)
        return stage_push(c->stages[l->pass], row, err);
    return 0;
}

static int chain_init(struct shift_probe *p, struct shifted_chain *c, int axis,
                      const struct pool_pass *passes, size_t *used, size_t budget,
                      enum simd_level simd, struct pool_error *err)
{
    size_t n = p->npasses, plane_rows = p->in.size[1], held = 0;
    bool overflow = __builtin_mul_overflow(p->row_bytes, axis == 0 ? plane_rows + 1 : 2, &held);
    if (pool_check_memory(overflow ? SIZE_MAX : held, *used, budget,
                          "the shift test's rows (--shift-test) need", err))
        return -1;
    *used += held;
    c->probe = p;
    c->axis = axis;
    c->stages = calloc(n, sizeof *c->stages);
    c->links = calloc(n, sizeof *c->links);
    c->cursor = calloc(n, sizeof *c->cursor);
    c->cmp = calloc(n, sizeof *c->cmp);
    c->held = malloc(p->row_bytes * (axis == 0 ? plane_rows : 1));
    c->shifted = malloc(p->row_bytes);
    if (!c->stages || !c->links || !c->cursor || !c->cmp || !c->held || !c->shifted)
        return pool_fail_resource(err, "out of memory for the shift test");
    const struct row_geom *g = &p->in;
    for (size_t k = 0; k < n; k++) {
        struct pool_error why;
        struct stage_setup setup = {*used, budget, simd};
        if (stage_create_with(&c->stages[k], &passes[k], g, &setup, &why))
            return why.kind == ERROR_RESOURCE
                       ? pool_fail_resource(err, "the shift test's copy of pass %zu: %s", k + 1,
                                            why.msg)
                       : pool_fail(err, "the shift test's copy of pass %zu: %s", k + 1, why.msg);
        *used += stage_memory(c->stages[k]);
        c->links[k] = (struct link){c, k + 1};
        stage_set_sink(c->stages[k], shifted_output, &c->links[k]);
        g = stage_out_geom(c->stages[k]);
    }
    return 0;
}

int shift_probe_create(struct shift_probe **out, const struct pool_pass *passes, size_t npasses,
                       const struct row_geom *in, const char *axis_letters, size_t *memory_used,
                       size_t memory_budget, enum simd_level simd, struct pool_error *err)
{
    struct shift_probe *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return pool_fail_resource(err, "out of memory for the shift test");
    p->in = *in;
    p->npasses = npasses;
    p->in_min = INFINITY;
    p->in_max = -INFINITY;
    p->row_bytes = geom_row_elems(in) * dtype_size(in->dtype);
    p->step = calloc(npasses, sizeof *p->step);
    size_t widest = geom_row_elems(in);
    if (!p->step)
        goto oom;
    struct row_geom g = *in;
    for (size_t k = 0; k < npasses; k++) {
        if (pass_out_geom(&passes[k], &g, &g, err))
            goto fail;
        p->step[k] = (struct step_rows){.row_bytes = geom_row_elems(&g) * dtype_size(g.dtype),
                                        .row_elems = geom_row_elems(&g),
                                        .dtype = g.dtype};
        widest = geom_row_elems(&g) > widest ? geom_row_elems(&g) : widest;
    }
    p->a = malloc(widest * sizeof *p->a);
    p->b = malloc(widest * sizeof *p->b);
    if (!p->a || !p->b)
        goto oom;
    for (int axis = 3 - in->nspatial; axis < 3; axis++) {
        p->letters[p->nchains] = axis_letters[axis - (3 - in->nspatial)];
        if (chain_init(p, &p->chains[p->nchains++], axis, passes, memory_used, memory_budget, simd,
                       err))
            goto fail;
    }
    *out = p;
    return 0;
oom:
    pool_fail_resource(err, "out of memory for the shift test");
fail:
    shift_probe_free(p);
    return -1;
}

/* The shifted row for this step: x moved one element along the chain's axis. */
static const void *shifted_input(struct shifted_chain *c, const void *row)
{
    struct shift_probe *p = c->probe;
    size_t bytes = p->row_bytes, h_len = p->in.size[1];
    size_t d = p->in_row / h_len, h = p->in_row % h_len;
    if (c->axis == 2) {
        size_t px = p->in.inner * dtype_size(p->in.dtype);
        memcpy(c->shifted, row, px < bytes ? px : bytes);
        if (bytes > px)
            memcpy(c->shifted + px, row, bytes - px);
        return c->shifted;
    }
    /* Height: row h-1 (row 0 repeated); depth: slab d-1 (slab 0 repeated). */
    unsigned char *slot = c->axis == 1 ? c->held : c->held + h * bytes;
    bool first = c->axis == 1 ? h == 0 : d == 0;
    memcpy(c->shifted, first ? row : slot, bytes);
    memcpy(slot, row, bytes);
    return c->shifted;
}

static void track_input_range(struct shift_probe *p, const void *row)
{
    size_t n = geom_row_elems(&p->in);
    double lo = p->in_min, hi = p->in_max;
    dtype_row_to_double(p->in.dtype, row, p->a, n);
    for (size_t i = 0; i < n; i++) {
        lo = p->a[i] < lo ? p->a[i] : lo;
        hi = p->a[i] > hi ? p->a[i] : hi;
    }
    p->in_min = lo;
    p->in_max = hi;
}

int shift_probe_step(struct shift_probe *p, const void *row, struct pool_error *err)
{
    track_input_range(p, row);
    for (int i = 0; i < p->nchains; i++) {
        struct shifted_chain *c = &p->chains[i];
        memset(c->cursor, 0, p->npasses * sizeof *c->cursor);
        if (stage_push(c->stages[0], shifted_input(c, row), err))
            return -1;
    }
    for (size_t k = 0; k < p->npasses; k++)
        p->step[k].count = 0;
    if (++p->in_row == p->in.size[0] * p->in.size[1])
        p->in_row = 0;
    return 0;
}

void shift_probe_figures(const struct shift_probe *p, size_t pass, struct shift_figures *f)
{
    double range = p->in_max - p->in_min;
    f->naxes = p->nchains;
    f->out_of_memory = p->lost_rows;
    for (int i = 0; i < p->nchains; i++) {
        const struct comparison *cmp = &p->chains[i].cmp[pass - 1];
        double n = (double)cmp->compared, changed = (double)cmp->changed;
        double mean = changed ? cmp->abs_sum / changed : 0;
        f->axis[i] = p->letters[i];
        f->changed[i] = n ? changed / n : NAN;
        f->mean_change[i] = mean;
        /* A constant input cannot change an output; with NaN or inf it may: NaN (null). */
        f->relative_change[i] = mean == 0 ? 0 : range > 0 ? mean / range : NAN;
        f->expected_change[i] = f->changed[i] * f->relative_change[i];
    }
}

void shift_probe_free(struct shift_probe *p)
{
    if (!p)
        return;
    for (int i = 0; i < 3; i++) {
        struct shifted_chain *c = &p->chains[i];
        for (size_t k = 0; c->stages && k < p->npasses; k++)
            stage_free(c->stages[k]);
        free(c->stages);
        free(c->links);
        free(c->cursor);
        free(c->cmp);
        free(c->held);
        free(c->shifted);
    }
    for (size_t k = 0; p->step && k < p->npasses; k++)
        free(p->step[k].data);
    free(p->step);
    free(p->a);
    free(p->b);
    free(p);
}
