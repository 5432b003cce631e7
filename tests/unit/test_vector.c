/* The vector kernels against the portable loops: for every level this processor runs,
 * every element type and the shapes the vector kernels take (and their edges: padding,
 * ceil mode, partial windows, widths shorter than a vector), a stage gives the same bytes
 * at that level as at SIMD_PORTABLE, on data with NaNs, infinities, zeros of both signs
 * and each integer type's extremes. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/stage.h"
#include "core/vector.h"

/* Collects a stage's output rows, refusing more than the output should have. */
struct run {
    unsigned char *data;
    size_t used, cap, row_bytes;
};

static int collect_row(void *ctx, const void *row, struct pool_error *err)
{
    (void)err;
    struct run *r = ctx;
    if (r->used + r->row_bytes > r->cap)
        return -1;
    memcpy(r->data + r->used, row, r->row_bytes);
    r->used += r->row_bytes;
    return 0;
}

/* The pass over the whole input at one level; the output (malloc'd, *bytes long) or NULL
 * when the stage refuses the pass (then at every level). */
static unsigned char *run_at(const struct pool_pass *pass, const struct row_geom *in,
                             const unsigned char *data, enum simd_level level, size_t *bytes,
                             bool *vector)
{
    struct pool_stage *s;
    struct pool_error err;
    struct stage_setup setup = {0, SIZE_MAX, level};
    *vector = false;
    if (stage_create_with(&s, pass, in, &setup, &err))
        return NULL;
    const struct row_geom *out = stage_out_geom(s);
    struct run r = {NULL, 0, 0, geom_row_elems(out) * dtype_size(out->dtype)};
    r.cap = out->planes * geom_rows_per_plane(out) * r.row_bytes;
    r.data = malloc(r.cap ? r.cap : 1);
    *vector = stage_runs_vector(s);
    stage_set_sink(s, collect_row, &r);
    size_t in_row = geom_row_elems(in) * dtype_size(in->dtype);
    for (size_t i = 0; i < in->planes * geom_rows_per_plane(in); i++)
        CHECK(stage_push(s, data + i * in_row, &err) == 0);
    CHECK_EQ_INT(r.used, r.cap);
    stage_free(s);
    *bytes = r.cap;
    return r.data;
}

/* Random bytes, then for floats one element in three a special value, for integers one
 * in eight an extreme. */
static void fill(unsigned *seed, enum pool_dtype t, unsigned char *p, size_t n)
{
    size_t es = dtype_size(t);
    for (size_t i = 0; i < n * es; i++)
        p[i] = (unsigned char)(rand_r(seed) >> 5);
    static const double specials[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, 1.0, -1.0};
    for (size_t i = 0; i < n; i++) {
        int pick = rand_r(seed) % 24;
        unsigned char *e = p + i * es;
        if (t == DT_F32 && pick < 8) {
            float v = (float)specials[pick];
            memcpy(e, &v, es);
        } else if (t == DT_F64 && pick < 8) {
            memcpy(e, &specials[pick], es);
        } else if (!dtype_is_float(t) && pick < 3) {
            memset(e, pick == 0 ? 0x00 : 0xff, es); /* 0 / -1 or the largest */
            if (pick == 2 && dtype_is_signed(t))
                e[es - 1] = 0x7f;
        }
    }
}

/* Counts, over all cases, those where a vector kernel did the reduction: a test that would
 * compare the portable loops with themselves must not pass unnoticed. */
static size_t vector_cases, all_cases;

static void compare(const struct pool_pass *pass, const struct row_geom *g,
                    const unsigned char *data, enum simd_level level)
{
    size_t want_bytes = 0, got_bytes = 0;
    bool portable_vector, vector;
    unsigned char *want = run_at(pass, g, data, SIMD_PORTABLE, &want_bytes, &portable_vector);
    unsigned char *got = run_at(pass, g, data, level, &got_bytes, &vector);
    CHECK(!portable_vector);
    CHECK((want == NULL) == (got == NULL));
    if (want && got) {
        all_cases++;
        vector_cases += vector;
        CHECK_EQ_INT(got_bytes, want_bytes);
        bool same = got_bytes == want_bytes && !memcmp(got, want, want_bytes);
        CHECK(same);
        if (!same)
            fprintf(stderr, "  %s %s %s k%zu s%zu p%zu ceil %d W %zu H %zu inner %zu\n",
                    simd_name(level), mode_name(pass), dtype_name(g->dtype), pass->kernel.v[0],
                    pass->stride.n ? pass->stride.v[0] : 0,
                    pass->padding.n ? pass->padding.v[0] : 0, pass->ceil_mode, g->size[2],
                    g->size[1], g->inner);
    }
    free(want);
    free(got);
}

/* A pass of one kernel, stride and padding on every axis (designated: the rest zero). */
#define PASS(MODE, K, S, P, CEIL)                                                                  \
    ((struct pool_pass){.mode = (MODE),                                                            \
                        .kernel = {1, {(K)}},                                                      \
                        .stride = {1, {(S)}},                                                      \
                        .padding = {1, {(P)}},                                                     \
                        .ceil_mode = (CEIL)})

static void test_level(enum simd_level level)
{
    static const unsigned shapes[][2] = {{2, 1}, {2, 2}, {3, 1}, {3, 2}, {3, 3},
                                         {4, 2}, {4, 4}, {5, 2}, {2, 3}};
    static const enum pool_mode modes[] = {MODE_MAX, MODE_MIN, MODE_AVG};
    unsigned seed = 11;
    for (int t = 0; t < DT_COUNT; t++)
        for (size_t w = 1; w <= 37; w += (w < 12 ? 1 : 5))
            for (size_t h = 2; h <= 5; h += 3)
                for (size_t inner = 1; inner <= 3; inner += 2) {
                    struct row_geom g = {(enum pool_dtype)t, 2, inner, 2, {1, h, w},
                                         {'D', 'H', 'W'}};
                    size_t n = 2 * h * w * inner;
                    unsigned char *data = malloc(n * dtype_size(g.dtype));
                    fill(&seed, g.dtype, data, n);
                    for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++)
                        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
                            for (size_t p = 0; p <= shapes[sh][0] / 2; p++)
                                for (int ceil = 0; ceil < 2; ceil++) {
                                    struct pool_pass pass = PASS(modes[m], shapes[sh][0],
                                                                 shapes[sh][1], p, ceil);
                                    compare(&pass, &g, data, level);
                                    if (modes[m] == MODE_AVG) {
                                        pass.pad_count = PAD_COUNT_EXCLUDE;
                                        compare(&pass, &g, data, level);
                                        pass.divisor_override = 7;
                                        compare(&pass, &g, data, level);
                                    }
                                }
                    for (int m = MODE_MODE; m <= MODE_MEDIAN; m++) {
                        struct pool_pass pass = PASS((enum pool_mode)m, 2, 2, 0, false);
                        compare(&pass, &g, data, level);
                    }
                    free(data);
                }
}

int main(void)
{
    for (int l = SIMD_BASELINE; l < SIMD_LEVELS; l++) {
        if (!simd_available((enum simd_level)l)) { /* no test: there is nothing to run */
            printf("# %s: not on this processor\n", simd_name((enum simd_level)l));
            continue;
        }
        vector_cases = all_cases = 0;
        RUN(test_level((enum simd_level)l));
        /* a good share of the cases have a vector kernel reduce (a run along width, or
         * 2x2 mode or median), not only finish max and min: about 1 in 6 (one channel of
         * 3, widths from 1, shapes it does not take) */
        CHECK(vector_cases * 8 > all_cases);
        printf("# %s: %zu of %zu cases on the vector path\n", simd_name((enum simd_level)l),
               vector_cases, all_cases);
    }
    return check_summary();
}
