/* Unit tests of the pooling core: shape arithmetic, window tables, every mode on hand-worked
 * cases, edge windows, NaN, integer rounding, every element type, and the streaming bound. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/convert.h"
#include "core/dtype.h"
#include "core/kernels.h"
#include "core/pass.h"
#include "core/stage.h"
#include "core/unpool.h"
#include "core/meter.h"
#include "core/plan.h"
#include "core/window.h"

/* Collects a stage's output rows into one buffer. */
struct collector {
    char *data;
    size_t used, row_bytes;
};

static int collect(void *ctx, const void *row, struct pool_error *err)
{
    (void)err;
    struct collector *c = ctx;
    memcpy(c->data + c->used, row, c->row_bytes);
    c->used += c->row_bytes;
    return 0;
}

/* Runs one pass over a whole tensor held in memory; returns the output (malloc'd) or NULL. */
static void *run_pass(const struct pool_pass *pass, const struct row_geom *in, const void *data,
                      struct row_geom *out)
{
    struct pool_stage *s;
    struct pool_error err;
    if (stage_create(&s, pass, in, &err)) {
        fprintf(stderr, "stage_create: %s\n", err.msg);
        return NULL;
    }
    *out = *stage_out_geom(s);
    size_t esize = dtype_size(in->dtype);
    size_t out_total = out->planes * geom_rows_per_plane(out) * geom_row_elems(out) * esize;
    struct collector c = {malloc(out_total), 0, geom_row_elems(out) * esize};
    stage_set_sink(s, collect, &c);
    size_t in_row = geom_row_elems(in) * esize;
    for (size_t r = 0; r < in->planes * geom_rows_per_plane(in); r++)
        stage_push(s, (const char *)data + r * in_row, &err);
    CHECK_EQ_INT(c.used, out_total);
    stage_free(s);
    return c.data;
}

static struct row_geom geom_1d(enum pool_dtype t, size_t len)
{
    return (struct row_geom){t, 1, 1, 1, {1, 1, len}, {'D', 'H', 'L'}};
}

static struct row_geom geom_2d(enum pool_dtype t, size_t planes, size_t h, size_t w, size_t inner)
{
    return (struct row_geom){t, planes, inner, 2, {1, h, w}, {'D', 'H', 'W'}};
}

static struct pool_pass pass_of(enum pool_mode mode, size_t k, size_t s, size_t p)
{
    struct pool_pass pass;
    memset(&pass, 0, sizeof pass);
    pass.mode = mode;
    pass.kernel = (struct size_arg){1, {k}};
    if (s)
        pass.stride = (struct size_arg){1, {s}};
    if (p)
        pass.padding = (struct size_arg){1, {p}};
    return pass;
}

/* A failure is told where it happens; the nearest caller that knows more says the rest. */
static void test_errors(void)
{
    struct pool_error err = {0};
    CHECK(pool_fail(&err, "bad %s", "row") == -1);
    CHECK(!strcmp(err.msg, "bad row") && err.kind == ERROR_UNSET && !err.subject);
    CHECK(pool_blame(&err, ERROR_INPUT, "a.png") == -1);
    CHECK(err.kind == ERROR_INPUT && !strcmp(err.subject, "a.png"));
    pool_blame(&err, ERROR_OUTPUT, "b.png"); /* the nearer blame stands */
    CHECK(err.kind == ERROR_INPUT && !strcmp(err.subject, "a.png"));
    pool_fail(&err, "again"); /* a new failure is told anew */
    CHECK(err.kind == ERROR_UNSET && !err.subject);
    pool_fail_resource(&err, "out of memory");
    pool_blame(&err, ERROR_INPUT, "a.png"); /* keeps its kind, takes the subject */
    CHECK(err.kind == ERROR_RESOURCE && !strcmp(err.subject, "a.png"));
    CHECK(pool_fail(NULL, "nowhere") == -1 && pool_blame(NULL, ERROR_USAGE, NULL) == -1);
}

/* The memory budget: sizes said in binary units; a stage's buffers weighed before they are
 * allocated, its own figure (stage_memory) the bound that decides. */
static void test_memory_budget(void)
{
    char b[32];
    CHECK(!strcmp(bytes_describe(1, b), "1 byte") &&
          !strcmp(bytes_describe(1023, b), "1023 bytes"));
    CHECK(!strcmp(bytes_describe(1024, b), "1 KiB") && !strcmp(bytes_describe(1536, b), "1.5 KiB"));
    CHECK(!strcmp(bytes_describe((size_t)1 << 30, b), "1 GiB"));
    CHECK(!strcmp(bytes_describe(((size_t)1 << 30) - 1, b), "1023.9 MiB"));
    struct pool_error err;
    CHECK(pool_check_memory(100, 0, 100, "x", &err) == 0);
    CHECK(pool_check_memory(101, 0, 100, "x needs", &err) == -1);
    CHECK(!strcmp(err.msg,
                  "x needs 101 bytes, more than the memory budget of 100 bytes (--max-memory)"));
    CHECK(pool_check_memory(60, 50, 100, "y needs", &err) == -1 &&
          strstr(err.msg, "with the 50 bytes taken before"));
    CHECK(pool_check_memory(1, 200, 100, "y", &err) == -1); /* already over */
    /* avg 3x3 over 1000 columns of 3 float32 channels: whatever the stage holds is the
     * least budget it is made within, and a byte less refuses it */
    struct row_geom in = geom_2d(DT_F32, 1, 50, 1000, 3);
    struct pool_pass modes[] = {pass_of(MODE_AVG, 3, 1, 1), pass_of(MODE_MAX, 2, 2, 0),
                                pass_of(MODE_MEDIAN, 3, 2, 0)};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        struct pool_stage *s;
        CHECK(stage_create(&s, &modes[i], &in, &err) == 0);
        size_t held = stage_memory(s);
        stage_free(s);
        CHECK(held > 1000 * 3 * 4);
        CHECK(stage_create_with(&s, &modes[i], &in, &(struct stage_setup){0, held, simd_best()},
                                &err) == 0);
        stage_free(s);
        CHECK(stage_create_with(&s, &modes[i], &in, &(struct stage_setup){1, held, simd_best()},
                                &err) == -1 &&
              !s);
        CHECK(strstr(err.msg, "more than the memory budget") != NULL);
        CHECK(stage_create_with(&s, &modes[i], &in, &(struct stage_setup){0, held - 1, simd_best()},
                                &err) == -1 &&
              !s);
    }
}

static void test_out_len(void)
{
    struct axis_params a = {.kernel = 2, .stride = 2, .padding = 0, .dilation = 1};
    size_t o;
    struct pool_error err;
    CHECK(axis_out_len(&a, 5, &o, &err) == 0 && o == 2);
    a.ceil_mode = true;
    CHECK(axis_out_len(&a, 5, &o, &err) == 0 && o == 3);
    /* ceil mode: the last window may not start in the right padding.
     * L=4, k=2, s=2, p=1: floor((4+2-2+1)/2)+1 = 3, and (3-1)*2 = 4 < 4+1, so 3 stays. */
    a = (struct axis_params){
        .kernel = 2, .stride = 2, .padding = 1, .dilation = 1, .ceil_mode = true};
    CHECK(axis_out_len(&a, 4, &o, &err) == 0 && o == 3);
    /* L=5, k=3, s=3, p=1, ceil: floor((5+2-3+2)/3)+1 = 3; (3-1)*3 = 6 >= 5+1 so 2. */
    a = (struct axis_params){
        .kernel = 3, .stride = 3, .padding = 1, .dilation = 1, .ceil_mode = true};
    CHECK(axis_out_len(&a, 5, &o, &err) == 0 && o == 2);
    /* dilation: span d(k-1)+1 */
    a = (struct axis_params){.kernel = 3, .stride = 1, .padding = 0, .dilation = 2};
    CHECK(axis_out_len(&a, 7, &o, &err) == 0 && o == 3);
    CHECK(axis_out_len(&a, 4, &o, &err) == -1);
    CHECK(strstr(err.msg, "dilated kernel 5") != NULL);
    a = (struct axis_params){.adaptive_out = 7};
    CHECK(axis_out_len(&a, 3, &o, &err) == 0 && o == 7);
}

static void test_pass_check(void)
{
    struct pool_error err;
    struct pool_pass p = pass_of(MODE_MAX, 3, 0, 2);
    CHECK(pass_check(&p, &err) == -1 && strstr(err.msg, "half the kernel"));
    p = pass_of(MODE_AVG, 0, 0, 0);
    CHECK(pass_check(&p, &err) == -1 && strstr(err.msg, "at least 1"));
    p = pass_of(MODE_AVG, 2, 0, 0);
    p.dilation = (struct size_arg){1, {2}};
    CHECK(pass_check(&p, &err) == -1 && strstr(err.msg, "dilation"));
    p = pass_of(MODE_LP, 2, 0, 1);
    CHECK(pass_check(&p, &err) == -1 && strstr(err.msg, "padding"));
    p = pass_of(MODE_MAX, 2, 0, 0);
    p.pad_count = PAD_COUNT_INCLUDE;
    CHECK(pass_check(&p, &err) == -1);
    p.pad_count = PAD_COUNT_DEFAULT; /* the default is no choice: max takes it */
    CHECK(pass_check(&p, &err) == 0 && !pass_counts_pad(&p));
    p.divisor_override = 4;
    CHECK(pass_check(&p, &err) == -1 && strstr(err.msg, "divisor"));
    p = pass_of(MODE_AVG, 2, 0, 0);
    CHECK(pass_counts_pad(&p)); /* PyTorch's default */
    p.divisor_override = 4;
    CHECK(pass_check(&p, &err) == 0);
    p.pad_count = PAD_COUNT_EXCLUDE;
    CHECK(pass_check(&p, &err) == 0 && !pass_counts_pad(&p));
    memset(&p, 0, sizeof p);
    p.mode = MODE_AVG;
    CHECK(pass_check(&p, &err) == -1 && strstr(err.msg, "needs a kernel"));
    p.global = true;
    CHECK(pass_check(&p, &err) == 0);
    p.kernel = (struct size_arg){1, {2}};
    CHECK(pass_check(&p, &err) == -1);
    p = pass_of(MODE_LP, 2, 0, 0);
    p.has_norm = true;
    p.norm = -1;
    CHECK(pass_check(&p, &err) == -1 && strstr(err.msg, "norm"));
    /* per-axis sizes must match the input's spatial axes */
    struct axis_params ax[3];
    p = pass_of(MODE_MAX, 2, 0, 0);
    p.kernel = (struct size_arg){3, {2, 2, 2}};
    CHECK(pass_resolve(&p, 2, ax, &err) == -1 && strstr(err.msg, "3 sizes"));
    p.kernel = (struct size_arg){2, {3, 2}};
    CHECK(pass_resolve(&p, 2, ax, &err) == 0);
    CHECK(ax[1].kernel == 3 && ax[2].kernel == 2 && ax[1].stride == 3 && ax[2].stride == 2);
    CHECK(ax[0].kernel == 1 && ax[0].stride == 1);
}

static void test_windows(void)
{
    struct axis_table t;
    struct pool_error err;
    /* adaptive L=5 -> 3: [0,2) [1,4) [3,5) */
    struct axis_params a = {.adaptive_out = 3};
    CHECK(axis_table_init(&t, &a, MODE_AVG, 5, true, &err) == 0);
    CHECK(t.win[0].first == 0 && t.win[0].count == 2);
    CHECK(t.win[1].first == 1 && t.win[1].count == 3);
    CHECK(t.win[2].first == 3 && t.win[2].count == 2);
    CHECK(t.max_live >= 2);
    axis_table_free(&t);
    /* dilated max with padding: L=5, k=3, s=1, p=1, d=2: taps for o=0 are -1, 1, 3 */
    a = (struct axis_params){.kernel = 3, .stride = 1, .padding = 1, .dilation = 2};
    CHECK(axis_table_init(&t, &a, MODE_MAX, 5, true, &err) == 0);
    CHECK_EQ_INT(t.out_len, 3);
    CHECK(t.win[0].first == 1 && t.win[0].count == 2 && t.win[0].step == 2);
    CHECK(t.win[1].first == 0 && t.win[1].count == 3);
    CHECK(t.win[2].first == 1 && t.win[2].count == 2); /* taps 1, 3 (5 is past the end) */
    axis_table_free(&t);
    /* avg divisor with and without count_include_pad: L=5, k=3, s=2, p=1 */
    a = (struct axis_params){.kernel = 3, .stride = 2, .padding = 1, .dilation = 1};
    CHECK(axis_table_init(&t, &a, MODE_AVG, 5, true, &err) == 0);
    CHECK(t.win[0].count == 2 && t.win[0].divisor == 2);
    axis_table_free(&t);
    a.count_include_pad = true;
    CHECK(axis_table_init(&t, &a, MODE_AVG, 5, true, &err) == 0);
    CHECK(t.win[0].count == 2 && t.win[0].divisor == 3);
    axis_table_free(&t);
}

static void test_avg_ceil_1d(void)
{
    /* POOLING.md: [1,2,3,4,5], k=2, s=2, ceil gives [1.5, 3.5, 5.0], even with cip. */
    float x[5] = {1, 2, 3, 4, 5};
    struct row_geom in = geom_1d(DT_F32, 5), out;
    struct pool_pass p = pass_of(MODE_AVG, 2, 2, 0);
    p.ceil_mode = true;
    p.pad_count = PAD_COUNT_INCLUDE;
    float *y = run_pass(&p, &in, x, &out);
    CHECK_EQ_INT(out.size[2], 3);
    CHECK_NEAR(y[0], 1.5, 0);
    CHECK_NEAR(y[1], 3.5, 0);
    CHECK_NEAR(y[2], 5.0, 0);
    free(y);
    /* Lp: last value sqrt(2 * 25 / 1) = sqrt(50) */
    p = pass_of(MODE_LP, 2, 2, 0);
    p.ceil_mode = true;
    y = run_pass(&p, &in, x, &out);
    CHECK_NEAR(y[0], sqrt(5.0), 1e-6);
    CHECK_NEAR(y[2], sqrt(50.0), 1e-5);
    free(y);
}

static void test_avg_padding_2d(void)
{
    /* 3x3 of 1..9, k=3, s=1, p=1: corner (0,0) averages 1,2,4,5 */
    double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    struct row_geom in = geom_2d(DT_F64, 1, 3, 3, 1), out;
    struct pool_pass p = pass_of(MODE_AVG, 3, 1, 1);
    p.pad_count = PAD_COUNT_EXCLUDE;
    double *y = run_pass(&p, &in, x, &out);
    CHECK(out.size[1] == 3 && out.size[2] == 3);
    CHECK_NEAR(y[0], 3.0, 1e-12);
    CHECK_NEAR(y[4], 5.0, 1e-12);
    CHECK_NEAR(y[8], 7.0, 1e-12);
    free(y);
    p.pad_count = PAD_COUNT_DEFAULT; /* PyTorch's: padding counts */
    y = run_pass(&p, &in, x, &out);
    CHECK_NEAR(y[0], 12.0 / 9, 1e-12);
    CHECK_NEAR(y[4], 5.0, 1e-12);
    free(y);
    /* divisor_override divides every window, whole or clipped, by the same number */
    p.divisor_override = 4;
    y = run_pass(&p, &in, x, &out);
    CHECK_NEAR(y[0], 12.0 / 4, 1e-12);
    CHECK_NEAR(y[4], 45.0 / 4, 1e-12);
    CHECK_NEAR(y[8], 28.0 / 4, 1e-12);
    free(y);
}

/* Integer averages with divisor_override round half up like any other, on the 2x2 shape the
 * fused path would take (it divides by 4, so it must step aside). */
static void test_avg_divisor_integers(void)
{
    uint8_t x[4] = {1, 2, 3, 4}; /* one 2x2 window, sum 10 */
    int16_t neg[4] = {-1, -2, -3, -4};
    struct row_geom in = geom_2d(DT_U8, 1, 2, 2, 1), in16 = geom_2d(DT_I16, 1, 2, 2, 1), out;
    struct pool_pass p = pass_of(MODE_AVG, 2, 2, 0);
    const size_t divisors[] = {1, 3, 4, 8, 20, 21, 1000};
    const int want[] = {10, 3, 3, 1, 1, 0, 0}; /* 10/4 = 2.5 -> 3, 10/20 = 0.5 -> 1 */
    for (size_t i = 0; i < sizeof divisors / sizeof divisors[0]; i++) {
        p.divisor_override = divisors[i];
        uint8_t *y = run_pass(&p, &in, x, &out);
        CHECK_EQ_INT(y[0], want[i]);
        free(y);
        int16_t *z = run_pass(&p, &in16, neg, &out); /* half away from zero, as without */
        CHECK_EQ_INT(z[0], -want[i]);
        free(z);
    }
    /* a divisor below the window's size saturates, as max's empty windows do */
    uint8_t full[4] = {255, 255, 255, 255};
    int8_t low[4] = {-100, -100, -100, -100};
    struct row_geom in8 = geom_2d(DT_I8, 1, 2, 2, 1);
    p.divisor_override = 1;
    uint8_t *y = run_pass(&p, &in, full, &out);
    int8_t *z = run_pass(&p, &in8, low, &out);
    CHECK_EQ_INT(y[0], 255);
    CHECK_EQ_INT(z[0], -128);
    free(y);
    free(z);
}

/* return_indices: PyTorch's rules on a 2-D window with ties, NaN and two channels (the
 * positions are per plane: h W + w whatever the channel). */
static void test_max_indices(void)
{
    /* 2x4 pixels of two channels: channel 0 is 5 5 NaN 1 / 2 5 NaN 9 (ties, two NaN),
     * channel 1 is 0 1 2 3 / 4 5 6 7 */
    const float n = NAN;
    float x[16] = {5, 0, 5, 1, n, 2, 1, 3, /* row 0 */
                   2, 4, 5, 5, n, 6, 9, 7};
    struct row_geom in = geom_2d(DT_F32, 1, 2, 4, 2), out;
    struct pool_pass p = pass_of(MODE_MAX, 2, 2, 0);
    p.return_indices = true;
    struct pool_stage *s;
    struct pool_error err;
    CHECK(stage_create(&s, &p, &in, &err) == 0);
    out = *stage_out_geom(s);
    CHECK(out.size[1] == 1 && out.size[2] == 2);
    float values[4];
    int64_t where[4];
    struct collector cv = {(char *)values, 0, sizeof values};
    struct collector ci = {(char *)where, 0, sizeof where};
    stage_set_sink(s, collect, &cv);
    stage_set_index_sink(s, collect, &ci);
    CHECK(stage_push(s, x, &err) == 0 && stage_push(s, x + 8, &err) == 0);
    stage_free(s);
    CHECK(ci.used == sizeof where);
    /* window 0, channel 0: 5 5 / 2 5 -> the first 5, at 0; channel 1: 0 1 / 4 5 -> 5 at 5 */
    CHECK(values[0] == 5 && where[0] == 0 && values[1] == 5 && where[1] == 5);
    /* window 1, channel 0: NaN 1 / NaN 9 -> the last NaN, at (1, 2) = 6 */
    CHECK(isnan(values[2]) && where[2] == 6);
    /* channel 1: 2 3 / 6 7 -> 7 at (1, 3) = 7 */
    CHECK(values[3] == 7 && where[3] == 7);
    /* min: channel 0's window 0 (5 5 / 2 5) gives 2 at (1, 0) = 4; channel 1's 0 at 0 */
    p.mode = MODE_MIN;
    CHECK(stage_create(&s, &p, &in, &err) == 0);
    cv.used = ci.used = 0;
    stage_set_sink(s, collect, &cv);
    stage_set_index_sink(s, collect, &ci);
    CHECK(stage_push(s, x, &err) == 0 && stage_push(s, x + 8, &err) == 0);
    stage_free(s);
    CHECK(values[0] == 2 && where[0] == 4 && values[1] == 0 && where[1] == 0);
    CHECK(isnan(values[2]) && where[2] == 6 && values[3] == 2 && where[3] == 2);
    /* avg has no indices */
    p.mode = MODE_AVG;
    CHECK(pass_check(&p, &err) == -1 && strstr(err.msg, "return_indices"));
}

/* Unpooling a band at a time gives the whole scatter: two planes of 2 values into 2x3
 * outputs, a band of one row, later values winning a shared index. */
static void test_unpool_bands(void)
{
    struct row_geom in = geom_2d(DT_F32, 2, 1, 2, 1), out = geom_2d(DT_F32, 2, 2, 3, 1);
    const float values[4] = {1, 2, 3, 4};
    const int64_t where[4] = {4, 0, 5, 5}; /* plane 0: (1,1) (0,0); plane 1: (1,2) twice */
    const float want[12] = {2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4};
    float got[12] = {0}, band[3];
    struct pool_error err;
    for (size_t first = 0; first < 4; first++) {
        struct unpool_band b = {&in, &out, first, 1, band};
        memset(band, 0, sizeof band);
        CHECK(unpool_first_input_row(&b) == first / 2 && unpool_end_input_row(&b) == first / 2 + 1);
        for (size_t r = 0; r < 2; r++)
            CHECK(unpool_scatter_row(&b, r, values + 2 * r, where + 2 * r, &err) == 0);
        memcpy(got + 3 * first, band, sizeof band);
    }
    CHECK(memcmp(got, want, sizeof want) == 0);
    const int64_t outside[2] = {0, 6};
    struct unpool_band b = {&in, &out, 0, 4, got};
    CHECK(unpool_scatter_row(&b, 0, values, outside, &err) == -1 && strstr(err.msg, "index 6"));
}

/* fmax with PyTorch's samples: a 7x7 ramp, kernel 2, 4 outputs, u = 0.1 on W and 0.9 on H
 * (F.fractional_max_pool2d gives rows 8 9 11 13 / 22 23 25 27 / 29 30 32 34 / 43 44 46 48:
 * starts 0 1 3 5 across, 0 2 3 5 down, each window's last tap the largest). */
static void test_fractional_samples(void)
{
    float x[49];
    for (int i = 0; i < 49; i++)
        x[i] = (float)i;
    const double samples[2] = {0.1, 0.9};
    struct row_geom in = geom_2d(DT_F32, 1, 7, 7, 1), out;
    struct pool_pass p = pass_of(MODE_FMAX, 2, 0, 0);
    memset(&p.stride, 0, sizeof p.stride);
    p.output_size = (struct size_arg){1, {4}};
    p.samples = samples;
    p.sample_sets = 1;
    p.sample_dims = 2;
    struct pool_error err;
    CHECK(pass_check(&p, &err) == 0);
    float *y = run_pass(&p, &in, x, &out);
    const float want[16] = {8, 9, 11, 13, 22, 23, 25, 27, 29, 30, 32, 34, 43, 44, 46, 48};
    CHECK(out.size[1] == 4 && out.size[2] == 4 && memcmp(y, want, sizeof want) == 0);
    free(y);
    /* without samples: the seed decides, the same every time */
    p.samples = NULL;
    p.seed = 11;
    float *a = run_pass(&p, &in, x, &out), *b = run_pass(&p, &in, x, &out);
    CHECK(memcmp(a, b, 16 * sizeof *a) == 0);
    free(a);
    free(b);
}

static void test_max_min_nan(void)
{
    float x[6] = {1, NAN, 3, 7, 2, -1};
    struct row_geom in = geom_1d(DT_F32, 6), out;
    struct pool_pass p = pass_of(MODE_MAX, 2, 2, 0);
    float *y = run_pass(&p, &in, x, &out);
    CHECK(isnan(y[0]));
    CHECK_NEAR(y[1], 7, 0);
    CHECK_NEAR(y[2], 2, 0);
    free(y);
    p.mode = MODE_MIN;
    y = run_pass(&p, &in, x, &out);
    CHECK(isnan(y[0]));
    CHECK_NEAR(y[1], 3, 0);
    CHECK_NEAR(y[2], -1, 0);
    free(y);
    /* A window made only of padding gives -inf: L=3, k=2, d=4, p=1: o=0 taps -1 and 3. */
    float three[3] = {1, 2, 3};
    in = geom_1d(DT_F32, 3);
    p = pass_of(MODE_MAX, 2, 1, 1);
    p.dilation = (struct size_arg){1, {4}};
    y = run_pass(&p, &in, three, &out);
    CHECK_EQ_INT(out.size[2], 1);
    CHECK(isinf(y[0]) && y[0] < 0);
    free(y);
    /* the same for an integer type gives its lowest value */
    int16_t ints[3] = {1, 2, 3};
    in = geom_1d(DT_I16, 3);
    int16_t *yi = run_pass(&p, &in, ints, &out);
    CHECK_EQ_INT(yi[0], INT16_MIN);
    free(yi);
}

static void test_integer_rounding(void)
{
    /* Round half away from zero: avg of (1,2) = 1.5 -> 2; (-1,-2) -> -2; (2,3,3) = 2.67 -> 3 */
    int16_t x[4] = {1, 2, -1, -2};
    struct row_geom in = geom_1d(DT_I16, 4), out;
    struct pool_pass p = pass_of(MODE_AVG, 2, 2, 0);
    int16_t *y = run_pass(&p, &in, x, &out);
    CHECK_EQ_INT(y[0], 2);
    CHECK_EQ_INT(y[1], -2);
    free(y);
    uint8_t u[6] = {255, 254, 0, 1, 100, 101};
    in = geom_1d(DT_U8, 6);
    uint8_t *v = run_pass(&p, &in, u, &out);
    CHECK_EQ_INT(v[0], 255); /* 254.5 rounds up */
    CHECK_EQ_INT(v[1], 1);   /* 0.5 rounds up */
    CHECK_EQ_INT(v[2], 101); /* 100.5 rounds up */
    free(v);
    /* 64-bit extremes do not overflow the sum */
    uint64_t big[2] = {UINT64_MAX, UINT64_MAX - 2};
    in = geom_1d(DT_U64, 2);
    uint64_t *b = run_pass(&p, &in, big, &out);
    CHECK(b[0] == UINT64_MAX - 1);
    free(b);
    int64_t neg[2] = {INT64_MIN, INT64_MIN + 1};
    in = geom_1d(DT_I64, 2);
    int64_t *n = run_pass(&p, &in, neg, &out);
    CHECK(n[0] == INT64_MIN); /* INT64_MIN + 0.5 rounds away from zero */
    free(n);
}

/* Large windows: the division-free average (divisors up to 2^23) and plain division above
 * it must agree; a global average of alternating 0 and 1 is exactly 0.5 and rounds up. */
static void test_big_window_rounding(void)
{
    size_t sizes[][2] = {{8192, 1024}, {8193, 1024}, {3, 5}};
    for (size_t t = 0; t < 3; t++) {
        size_t h = sizes[t][0], w = sizes[t][1];
        uint16_t *x = malloc(h * w * sizeof *x);
        for (size_t i = 0; i < h * w; i++)
            x[i] = (uint16_t)(i % 2 ? 65535 : 0);
        struct row_geom in = geom_2d(DT_U16, 1, h, w, 1), out;
        struct pool_pass p;
        memset(&p, 0, sizeof p);
        p.mode = MODE_AVG;
        p.global = true;
        uint16_t *y = run_pass(&p, &in, x, &out);
        /* mean = 65535 * ones / n; the halves round up */
        size_t ones = h * w / 2, n = h * w;
        uint64_t want = (2 * 65535 * (uint64_t)ones + n) / (2 * n);
        CHECK_EQ_INT(y[0], want);
        free(x);
        free(y);
    }
}

/* Every dtype: max 2 and avg 2 over a small ramp agree with the double computation. */
static void test_every_dtype(void)
{
    for (int t = 0; t < DT_COUNT; t++) {
        unsigned char buf[8 * 8];
        double ref[8] = {3, 10, 7, 7, 0, 4, 126, 120};
        size_t es = dtype_size((enum pool_dtype)t);
        for (int i = 0; i < 8; i++) {
            void *dst = buf + i * es;
            switch (t) {
            case DT_U8: *(uint8_t *)dst = (uint8_t)ref[i]; break;
            case DT_I8: *(int8_t *)dst = (int8_t)ref[i]; break;
            case DT_U16: *(uint16_t *)dst = (uint16_t)ref[i]; break;
            case DT_I16: *(int16_t *)dst = (int16_t)ref[i]; break;
            case DT_U32: *(uint32_t *)dst = (uint32_t)ref[i]; break;
            case DT_I32: *(int32_t *)dst = (int32_t)ref[i]; break;
            case DT_U64: *(uint64_t *)dst = (uint64_t)ref[i]; break;
            case DT_I64: *(int64_t *)dst = (int64_t)ref[i]; break;
            case DT_F16: *(uint16_t *)dst = float_to_half(ref[i]); break;
            case DT_F32: *(float *)dst = (float)ref[i]; break;
            case DT_F64: *(double *)dst = ref[i]; break;
            }
        }
        struct row_geom in = geom_1d((enum pool_dtype)t, 8), out;
        struct pool_pass p = pass_of(MODE_MAX, 2, 0, 0);
        unsigned char *y = run_pass(&p, &in, buf, &out);
        unsigned char *z;
        p.mode = MODE_AVG;
        z = run_pass(&p, &in, buf, &out);
        double want_max[4] = {10, 7, 4, 126};
        double want_avg[4] = {6.5, 7, 2, 123};
        bool is_float = dtype_is_float((enum pool_dtype)t);
        for (int i = 0; i < 4; i++) {
            double m, a;
            switch (t) {
            case DT_U8:
                m = ((uint8_t *)y)[i];
                a = ((uint8_t *)z)[i];
                break;
            case DT_I8:
                m = ((int8_t *)y)[i];
                a = ((int8_t *)z)[i];
                break;
            case DT_U16:
                m = ((uint16_t *)y)[i];
                a = ((uint16_t *)z)[i];
                break;
            case DT_I16:
                m = ((int16_t *)y)[i];
                a = ((int16_t *)z)[i];
                break;
            case DT_U32:
                m = ((uint32_t *)y)[i];
                a = ((uint32_t *)z)[i];
                break;
            case DT_I32:
                m = ((int32_t *)y)[i];
                a = ((int32_t *)z)[i];
                break;
            case DT_U64:
                m = (double)((uint64_t *)y)[i];
                a = (double)((uint64_t *)z)[i];
                break;
            case DT_I64:
                m = (double)((int64_t *)y)[i];
                a = (double)((int64_t *)z)[i];
                break;
            case DT_F16:
                m = half_to_float(((uint16_t *)y)[i]);
                a = half_to_float(((uint16_t *)z)[i]);
                break;
            case DT_F32:
                m = ((float *)y)[i];
                a = ((float *)z)[i];
                break;
            default:
                m = ((double *)y)[i];
                a = ((double *)z)[i];
                break;
            }
            CHECK_NEAR(m, want_max[i], 0);
            /* 6.5 rounds half away from zero for integers */
            CHECK_NEAR(a, is_float ? want_avg[i] : round(want_avg[i]), 0);
        }
        free(y);
        free(z);
    }
}

/* Random bits: every value a type holds, NaN, infinities and subnormals included; floats
 * also get zeros of both signs, which max and min must order as the general path does. */
static void random_row(unsigned *seed, enum pool_dtype t, unsigned char *row, size_t n)
{
    size_t es = dtype_size(t);
    for (size_t i = 0; i < n * es; i++)
        row[i] = (unsigned char)(rand_r(seed) >> 7);
    for (size_t i = 0; dtype_is_float(t) && i < n; i++) {
        int pick = rand_r(seed) % 4;
        if (pick == 0 && t == DT_F32)
            *(float *)(row + i * es) = rand_r(seed) % 2 ? 0.0f : -0.0f;
        else if (pick == 0 && t == DT_F64)
            *(double *)(row + i * es) = rand_r(seed) % 2 ? 0.0 : -0.0;
        else if (pick == 0)
            *(uint16_t *)(row + i * es) = rand_r(seed) % 2 ? 0 : 0x8000;
    }
}

/* The fused 2x2 kernel gives, bit for bit, what the general row kernels give: reduce each
 * row, combine both into a reset accumulator, finish with the height divisor 2. */
static void test_block2_matches_general(void)
{
    unsigned seed = 7;
    enum pool_mode modes[3] = {MODE_MAX, MODE_MIN, MODE_AVG};
    for (int t = 0; t < DT_COUNT; t++) {
        const struct type_kernels *k = kernels_for((enum pool_dtype)t);
        size_t es = dtype_size((enum pool_dtype)t);
        for (int m = 0; m < 3; m++)
            for (size_t inner = 1; inner <= 5; inner++)
                for (size_t in_w = 2; in_w <= 11; in_w++) {
                    struct axis_params ap = {
                        .kernel = 2, .stride = 2, .dilation = 1, .count_include_pad = true};
                    struct axis_table w;
                    struct pool_error err;
                    enum acc_kind acc = acc_for((enum pool_dtype)t, modes[m]);
                    size_t n = in_w / 2 * inner;
                    unsigned char top[11 * 5 * 8], bottom[11 * 5 * 8], want[5 * 5 * 8],
                        got[5 * 5 * 8], r0[5 * 5 * 16], r1[5 * 5 * 16], slot[5 * 5 * 16];
                    CHECK(!axis_table_init(&w, &ap, modes[m], in_w, true, &err));
                    for (int trial = 0; trial < 20; trial++) {
                        random_row(&seed, (enum pool_dtype)t, top, in_w * inner);
                        random_row(&seed, (enum pool_dtype)t, bottom, in_w * inner);
                        struct reduce_args ra = {modes[m], inner, 2.0, false};
                        struct finish_args fa = {.mode = modes[m],
                                                 .inner = inner,
                                                 .divisor_rest = 2,
                                                 .lp_scale = 4.0,
                                                 .inv_norm = 0.5};
                        k->reduce_row(top, r0, &w, &ra);
                        k->reduce_row(bottom, r1, &w, &ra);
                        acc_reset(acc, modes[m], slot, n);
                        acc_combine(acc, modes[m], slot, r0, n);
                        acc_combine(acc, modes[m], slot, r1, n);
                        k->finish_row(slot, want, &w, &fa);
                        k->block2_row(top, bottom, got, in_w / 2, inner, modes[m]);
                        CHECK(!memcmp(got, want, n * es));
                    }
                    axis_table_free(&w);
                }
    }
}

/* Through a stage: odd heights and widths leave the last row and column unread, planes are
 * independent, and avg rounds half away from zero, against a plain reference. */
static void test_block2_stage(void)
{
    unsigned seed = 3;
    for (size_t h = 2; h <= 7; h++)
        for (size_t wd = 2; wd <= 7; wd++) {
            size_t planes = 2, inner = 3, n = planes * h * wd * inner;
            int16_t *in = malloc(n * sizeof *in);
            for (size_t i = 0; i < n; i++)
                in[i] = (int16_t)(rand_r(&seed) % 65536 - 32768);
            in[0] = in[inner] = 1; /* a sum of 2 mod 4: a half to round away from zero */
            in[wd * inner] = in[wd * inner + inner] = 0;
            struct row_geom g = geom_2d(DT_I16, planes, h, wd, inner), out;
            struct pool_pass p = pass_of(MODE_AVG, 2, 0, 0);
            int16_t *y = run_pass(&p, &g, in, &out);
            CHECK_EQ_INT(out.size[1], h / 2);
            CHECK_EQ_INT(out.size[2], wd / 2);
            for (size_t pl = 0; pl < planes && y; pl++)
                for (size_t r = 0; r < h / 2; r++)
                    for (size_t c = 0; c < wd / 2 * inner; c++) {
                        size_t o = c / inner, ch = c % inner;
                        const int16_t *p0 = in + ((pl * h + 2 * r) * wd + 2 * o) * inner + ch;
                        long sum = p0[0] + p0[inner] + p0[wd * inner] + p0[wd * inner + inner];
                        long want = sum >= 0 ? (2 * sum + 4) / 8 : -((-2 * sum + 4) / 8);
                        CHECK_EQ_INT(y[((pl * (h / 2) + r) * (wd / 2)) * inner + c], want);
                    }
            free(y);
            free(in);
        }
}

static void test_half_conversion(void)
{
    CHECK_EQ_INT(float_to_half(1.0), 0x3c00);
    CHECK_EQ_INT(float_to_half(-2.0), 0xc000);
    CHECK_EQ_INT(float_to_half(65504.0), 0x7bff);
    CHECK_EQ_INT(float_to_half(65520.0), 0x7c00);
    CHECK_EQ_INT(float_to_half(ldexp(1, -24)), 0x0001);
    CHECK_EQ_INT(float_to_half(1.0 + ldexp(1, -11)), 0x3c00); /* tie to even */
    CHECK_EQ_INT(float_to_half(1.0 + 3 * ldexp(1, -11)), 0x3c02);
    CHECK(isnan(half_to_float(float_to_half(NAN))));
    for (uint32_t h = 0; h < 0x7c00; h++)
        if (float_to_half(half_to_float((uint16_t)h)) != h) {
            CHECK_EQ_INT(float_to_half(half_to_float((uint16_t)h)), h);
            break;
        }
}

static void test_channels_last_and_3d(void)
{
    /* hwc 2x2x2: channel 0 = 1,2,3,4 and channel 1 = 10,20,30,40; max 2 -> (4, 40) */
    int32_t x[8] = {1, 10, 2, 20, 3, 30, 4, 40};
    struct row_geom in = geom_2d(DT_I32, 1, 2, 2, 2), out;
    struct pool_pass p = pass_of(MODE_MAX, 2, 0, 0);
    int32_t *y = run_pass(&p, &in, x, &out);
    CHECK(y[0] == 4 && y[1] == 40);
    free(y);
    p.mode = MODE_AVG;
    y = run_pass(&p, &in, x, &out);
    CHECK(y[0] == 3 && y[1] == 25); /* 2.5 -> 3, 25 */
    free(y);
    /* 3-D: 2 planes of 4x4x4 ramps, avg 2 -> means of 2x2x2 blocks */
    float v[2 * 64];
    for (int i = 0; i < 128; i++)
        v[i] = (float)i;
    struct row_geom g3 = {DT_F32, 2, 1, 3, {4, 4, 4}, {'D', 'H', 'W'}};
    y = run_pass(&p, &g3, v, &out);
    float *f = (float *)y;
    CHECK(out.size[0] == 2 && out.size[1] == 2 && out.size[2] == 2);
    /* block (0,0,0): indices d*16+h*4+w for d,h,w in {0,1} -> mean 10.5 */
    CHECK_NEAR(f[0], 10.5, 1e-6);
    CHECK_NEAR(f[7], 10.5 + 32 + 8 + 2, 1e-6);
    CHECK_NEAR(f[8], 64 + 10.5, 1e-6);
    free(y);
    /* global max over 3-D */
    struct pool_pass g;
    memset(&g, 0, sizeof g);
    g.mode = MODE_MAX;
    g.global = true;
    y = run_pass(&g, &g3, v, &out);
    f = (float *)y;
    CHECK(out.size[0] == 1 && out.size[1] == 1 && out.size[2] == 1);
    CHECK_NEAR(f[0], 63, 0);
    CHECK_NEAR(f[1], 127, 0);
    free(y);
}

static void test_premultiplied_alpha(void)
{
    /* A red opaque pixel beside a transparent green one averages to red, half transparent:
     * no green fringe. Then a fully transparent pair gives colour 0. */
    uint8_t x[16] = {255, 0, 0, 255, 0, 255, 0, 0, 10, 20, 30, 0, 40, 50, 60, 0};
    struct row_geom in = geom_2d(DT_U8, 1, 1, 4, 4), out;
    struct pool_pass p = pass_of(MODE_AVG, 1, 0, 0);
    p.kernel = (struct size_arg){2, {1, 2}};
    p.premultiply_alpha = true;
    uint8_t *y = run_pass(&p, &in, x, &out);
    CHECK(y[0] == 255 && y[1] == 0 && y[2] == 0 && y[3] == 128);
    CHECK(y[4] == 0 && y[5] == 0 && y[6] == 0 && y[7] == 0);
    free(y);
    /* exact rounding: colours 100 (alpha 1) and 101 (alpha 1) -> 100.5 -> 101 */
    uint8_t z[4] = {100, 1, 101, 1};
    in = geom_2d(DT_U8, 1, 1, 2, 2);
    y = run_pass(&p, &in, z, &out);
    CHECK(y[0] == 101 && y[1] == 1);
    free(y);
    /* without the flag, channels are independent */
    p.premultiply_alpha = false;
    in = geom_2d(DT_U8, 1, 1, 4, 4);
    y = run_pass(&p, &in, x, &out);
    CHECK(y[0] == 128 && y[1] == 128 && y[3] == 128);
    free(y);
    /* float: (0.2 * 1 + 0.8 * 0.25) / 1.25 */
    float f[4] = {0.2f, 1.0f, 0.8f, 0.25f};
    in = geom_2d(DT_F32, 1, 1, 2, 2);
    p.premultiply_alpha = true;
    float *g = run_pass(&p, &in, f, &out);
    CHECK_NEAR(g[0], (0.2 * 1 + 0.8 * 0.25) / 1.25, 1e-6);
    CHECK_NEAR(g[1], 0.625, 1e-7);
    free(g);
}

static int collect_one(void *ctx, const void *row, struct pool_error *err)
{
    (void)err;
    struct collector *c = ctx;
    memcpy(c->data, row, c->row_bytes);
    return 0;
}

/* Every 8- and 16-bit code survives sRGB -> linear -> sRGB: --linear never changes a value
 * that pooling did not change (a max, a flat region). */
static void test_linear_round_trip(void)
{
    for (int bits = 8; bits <= 16; bits += 8) {
        enum pool_dtype t = bits == 8 ? DT_U8 : DT_U16;
        size_t codes = bits == 8 ? 256 : 65536;
        struct row_geom g = geom_2d(t, 1, 1, codes / 2, 2); /* colour + alpha pairs */
        struct convert_stage *to, *back;
        struct pool_error err;
        CHECK(convert_create(&to, SRGB_TO_LINEAR, &g, t, 0, true, &err) == 0);
        CHECK(convert_create(&back, LINEAR_TO_SRGB, convert_out_geom(to), t, 0, true, &err) == 0);
        char *in = malloc(codes * dtype_size(t)), *mid = malloc(codes * 8);
        char *res = malloc(codes * dtype_size(t));
        for (size_t i = 0; i < codes; i++) {
            if (t == DT_U8)
                ((uint8_t *)in)[i] = (uint8_t)i;
            else
                ((uint16_t *)in)[i] = (uint16_t)i;
        }
        struct collector c1 = {mid, 0, codes * 8}, c2 = {res, 0, codes * dtype_size(t)};
        convert_set_sink(to, collect_one, &c1);
        convert_set_sink(back, collect_one, &c2);
        convert_push(to, in, &err);
        convert_push(back, mid, &err);
        CHECK(memcmp(in, res, codes * dtype_size(t)) == 0);
        /* code 128 of 8 bits is 0.2158605 in linear light; alpha 129 is 129/256, a power
         * of two so that averages of alpha stay exact */
        if (t == DT_U8) {
            CHECK_NEAR(((double *)mid)[128], 0.21586050011389926, 1e-12);
            CHECK(((double *)mid)[129] == 129 / 256.0);
        }
        convert_free(to);
        convert_free(back);
        free(in);
        free(mid);
        free(res);
    }
    /* averaging black and white in linear light gives 188, not 128 */
    CHECK_NEAR(floor(linear_to_srgb(0.5) * 255 + 0.5), 188, 0);
}

/* The streaming promise: a stage's memory does not depend on the image height. */
static void test_memory_independent_of_height(void)
{
    enum pool_mode modes[] = {MODE_MAX, MODE_MODE, MODE_MEDIAN, MODE_NEAREST};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct pool_pass p = pass_of(modes[m], 3, 2, 1);
        p.dilation = (struct size_arg){1, {2}};
        struct pool_stage *a, *b;
        struct pool_error err;
        struct row_geom short_in = geom_2d(DT_F32, 4, 100, 640, 1);
        struct row_geom tall_in = geom_2d(DT_F32, 4, 100000, 640, 1);
        CHECK(stage_create(&a, &p, &short_in, &err) == 0);
        CHECK(stage_create(&b, &p, &tall_in, &err) == 0);
        CHECK_EQ_INT(stage_memory(a), stage_memory(b));
        /* the selecting kind keeps (k - 1) d + 1 = 5 rows, a window and an output row, and
         * the table of the 320 output columns' windows */
        CHECK(stage_memory(b) < 7 * 640 * sizeof(float) + 320 * sizeof(struct axis_window));
        stage_free(a);
        stage_free(b);
    }
}

/* flips[0]: reverse rows, flips[1]: reverse columns, of planes of h x w x inner i16. */
static void flip_planes(const int16_t *in, int16_t *out, size_t planes, size_t h, size_t w,
                        size_t inner, const bool flips[2])
{
    for (size_t p = 0; p < planes; p++)
        for (size_t y = 0; y < h; y++)
            for (size_t x = 0; x < w; x++)
                for (size_t c = 0; c < inner; c++)
                    out[((p * h + y) * w + x) * inner + c] =
                        in[((p * h + (flips[0] ? h - 1 - y : y)) * w + (flips[1] ? w - 1 - x : x)) *
                               inner +
                           c];
}

/* An axis pooled as if read backwards (EXIF orientation): pooling the flipped image with
 * reversed axes gives the flipped result, for every mode and parameter. */
static void test_reversed_axes(void)
{
    unsigned seed = 99;
    enum pool_mode modes[] = {MODE_MAX,  MODE_MIN,    MODE_AVG,    MODE_LP,
                              MODE_MODE, MODE_MEDIAN, MODE_NEAREST};
    for (int n = 0; n < 600; n++) {
        size_t h = 1 + rand_r(&seed) % 12, w = 1 + rand_r(&seed) % 12,
               inner = 1 + rand_r(&seed) % 2;
        enum pool_mode mode = modes[rand_r(&seed) % 7];
        size_t k = 1 + rand_r(&seed) % 4, s = 1 + rand_r(&seed) % 4;
        struct pool_pass p = pass_of(mode, k, s, mode == MODE_LP ? 0 : rand_r(&seed) % (k / 2 + 1));
        if (mode != MODE_AVG && mode != MODE_LP && rand_r(&seed) % 3 == 0)
            p.dilation = (struct size_arg){1, {1 + rand_r(&seed) % 3}};
        p.ceil_mode = rand_r(&seed) % 2;
        p.pad_count = mode == MODE_AVG && rand_r(&seed) % 2 ? PAD_COUNT_EXCLUDE : PAD_COUNT_DEFAULT;
        if (mode != MODE_LP && rand_r(&seed) % 5 == 0) {
            memset(&p.kernel, 0, sizeof p.kernel);
            memset(&p.stride, 0, sizeof p.stride);
            memset(&p.padding, 0, sizeof p.padding);
            memset(&p.dilation, 0, sizeof p.dilation);
            p.ceil_mode = false;
            p.pad_count = PAD_COUNT_DEFAULT;
            p.output_size = (struct size_arg){2, {1 + rand_r(&seed) % 8, 1 + rand_r(&seed) % 8}};
        }
        struct row_geom g = geom_2d(DT_I16, 2, h, w, inner), out, out_r;
        size_t total = 2 * h * w * inner;
        int16_t *x = malloc(total * sizeof *x), *xr = malloc(total * sizeof *xr);
        for (size_t i = 0; i < total; i++)
            x[i] = (int16_t)(rand_r(&seed) % 5 - 2);
        bool flips[2] = {rand_r(&seed) % 2, rand_r(&seed) % 2};
        flips[1] |= !flips[0];
        flip_planes(x, xr, 2, h, w, inner, flips);
        struct pool_pass pr = p;
        pr.reversed[1] = flips[0];
        pr.reversed[2] = flips[1];
        struct pool_stage *probe;
        struct pool_error err;
        if (stage_create(&probe, &p, &g, &err)) { /* no window fits: refused either way */
            CHECK(stage_create(&probe, &pr, &g, &err) != 0);
            free(x);
            free(xr);
            continue;
        }
        stage_free(probe);
        int16_t *y = run_pass(&p, &g, x, &out), *yr = run_pass(&pr, &g, xr, &out_r);
        CHECK(out.size[1] == out_r.size[1] && out.size[2] == out_r.size[2]);
        size_t out_total = 2 * out.size[1] * out.size[2] * inner;
        int16_t *want = malloc(out_total * sizeof *want);
        flip_planes(y, want, 2, out.size[1], out.size[2], inner, flips);
        bool same = !memcmp(want, yr, out_total * sizeof *want);
        if (!same)
            fprintf(stderr, "reversed: mode %d %zux%zux%zu k%zu s%zu ceil %d flips %d%d\n", mode, h,
                    w, inner, k, s, p.ceil_mode, flips[0], flips[1]);
        CHECK(same);
        free(want);
        free(y);
        free(yr);
        free(x);
        free(xr);
    }
}

/* Floats order -0 before +0 and NaN after every number; NaNs are one value for mode and
 * make the median NaN; a channels-last mode compares whole pixels. */
static void test_select_semantics(void)
{
    const struct type_kernels *k = kernels_for(DT_F32);
    float out[2];
    float ties[4] = {0.0f, -0.0f, 0.0f, -0.0f}; /* 2 and 2: the smaller, -0, wins */
    k->select_window(ties, 4, 1, MODE_MODE, out);
    CHECK(out[0] == 0 && signbit(out[0]));
    float nans[5] = {NAN, 1, -NAN, 1, NAN}; /* three NaNs (one value) beat two 1s */
    k->select_window(nans, 5, 1, MODE_MODE, out);
    CHECK(isnan(out[0]));
    float nans_lose[4] = {NAN, 1, NAN, 1}; /* a tie: numbers come before NaN */
    k->select_window(nans_lose, 4, 1, MODE_MODE, out);
    CHECK_NEAR(out[0], 1, 0);
    float median_nan[3] = {1, NAN, 2};
    k->select_window(median_nan, 3, 1, MODE_MEDIAN, out);
    CHECK(isnan(out[0]));
    float even[4] = {4, 1, 3, 2}; /* the lower median */
    k->select_window(even, 4, 1, MODE_MEDIAN, out);
    CHECK_NEAR(out[0], 2, 0);
    /* pixels (1,2) (2,1) (2,1) (1,2) (1,1): channel by channel the mode would be (1,1), a
     * pixel seen once; whole pixels tie 2 to 2 and the smaller, (1,2), wins */
    uint8_t px[10] = {1, 2, 2, 1, 2, 1, 1, 2, 1, 1}, got[2];
    kernels_for(DT_U8)->select_window(px, 5, 2, MODE_MODE, got);
    CHECK_EQ_INT(got[0], 1);
    CHECK_EQ_INT(got[1], 2);
    /* a window of padding only */
    kernels_for(DT_U8)->select_window(px, 0, 2, MODE_MODE, got);
    CHECK_EQ_INT(got[0] + got[1], 0);
    /* heapsort past 16 values: 40 values, 7 the most frequent */
    int16_t many[40];
    for (int i = 0; i < 40; i++)
        many[i] = (int16_t)(i % 9 == 0 ? 7 : 100 - i);
    int16_t one;
    kernels_for(DT_I16)->select_window(many, 40, 1, MODE_MODE, &one);
    CHECK_EQ_INT(one, 7);
    for (int i = 0; i < 40; i++)
        many[i] = (int16_t)((i * 17) % 40);
    kernels_for(DT_I16)->select_window(many, 40, 1, MODE_MEDIAN, &one);
    CHECK_EQ_INT(one, 19);
}

/* Reference answers from a table of every window, computed the slow, obvious way. */
static size_t last_tap_of(const struct axis_window *w)
{
    return w->first + (w->count - 1) * w->step;
}

static size_t brute_max_live(const struct axis_table *full)
{
    size_t most = 1;
    for (size_t o = 0; o < full->out_len; o++) {
        if (!full->win[o].count)
            continue;
        /* outputs o' <= o still open when o's first tap is read: some q <= o' ends at or
         * after it */
        size_t oldest = o, running = 0;
        bool any = false;
        for (size_t q = 0; q <= o; q++) {
            const struct axis_window *w = &full->win[q];
            if (w->count && (!any || last_tap_of(w) > running)) {
                running = last_tap_of(w);
                any = true;
            }
            if (any && running >= full->win[o].first) {
                oldest = q;
                break;
            }
        }
        most = o - oldest + 1 > most ? o - oldest + 1 : most;
    }
    return most;
}

static bool brute_identity(const struct axis_table *full)
{
    bool id = full->out_len == full->in_len;
    for (size_t o = 0; o < full->out_len && id; o++)
        id = full->win[o].count == 1 && full->win[o].first == o && full->win[o].divisor == 1;
    return id;
}

static size_t brute_unread(const struct axis_table *full)
{
    size_t n = 0;
    for (size_t i = 0; i < full->in_len; i++) {
        bool read = false;
        for (size_t o = 0; o < full->out_len && !read; o++)
            for (size_t j = 0; j < full->win[o].count && !read; j++)
                read = full->win[o].first + j * full->win[o].step == i;
        n += !read;
    }
    return n;
}

static size_t brute_widest(const struct axis_table *full)
{
    size_t widest = 1;
    for (size_t o = 0; o < full->out_len; o++)
        if (full->win[o].count && last_tap_of(&full->win[o]) - full->win[o].first + 1 > widest)
            widest = last_tap_of(&full->win[o]) - full->win[o].first + 1;
    return widest;
}

static struct axis_params random_axis(unsigned *seed, size_t *L, enum pool_mode *mode)
{
    *seed = *seed * 1103515245 + 12345;
    unsigned r = *seed;
    /* mostly short axes, some long enough to have many whole windows between the borders */
    *L = (r >> 5) & 1 ? 1 + (r >> 8) % 40 : 1 + (r >> 8) % 300;
    struct axis_params a = {.kernel = 1 + (r >> 14) % 5,
                            .stride = 1 + (r >> 17) % 4,
                            .dilation = 1 + (r >> 20) % 3,
                            .ceil_mode = (r >> 23) & 1,
                            .count_include_pad = (r >> 24) & 1};
    a.padding = ((r >> 25) % 3) <= a.kernel / 2 ? (r >> 25) % 3 : 0;
    *mode = (enum pool_mode)((r >> 27) % 4);
    if (*mode == MODE_AVG || *mode == MODE_LP)
        a.dilation = 1;
    /* a third of the axes reversed (orient.h): the same windows laid from the other end */
    *seed = *seed * 1103515245 + 12345;
    if ((*seed >> 16) % 3 == 0)
        a.reversed = true;
    if (((r >> 29) & 3) == 0)
        a = (struct axis_params){.adaptive_out = 1 + (r >> 10) % 50};
    return a;
}

/* The streamed axes compute windows when asked: ready_at, the readers of each input, and
 * what setup derives from the borders alone must agree with a table of every window. */
static void test_lazy_windows(void)
{
    unsigned seed = 12345;
    int mismatches = 0, derived = 0;
    for (int n = 0; n < 3000; n++) {
        size_t L;
        enum pool_mode mode;
        struct axis_params a = random_axis(&seed, &L, &mode);
        struct axis_table full, lazy;
        struct pool_error err;
        if (axis_table_init(&full, &a, mode, L, true, &err))
            continue; /* an output size below 1: refused either way */
        CHECK(axis_table_init(&lazy, &a, mode, L, false, &err) == 0);
        size_t running = 0;
        for (size_t o = 0; o < full.out_len; o++) {
            const struct axis_window *w = &full.win[o];
            if (w->count && last_tap_of(w) > running)
                running = last_tap_of(w);
            mismatches += axis_ready_at(&lazy, o) != running;
        }
        for (size_t i = 0; i < L; i++) {
            size_t first, last;
            axis_readers(&lazy, i, &first, &last);
            for (size_t o = 0; o < full.out_len; o++) {
                const struct axis_window *w = &full.win[o];
                bool reads = false;
                for (size_t j = 0; j < w->count; j++)
                    reads |= w->first + j * w->step == i;
                bool lazy_reads = o >= first && o <= last && first <= last &&
                                  axis_reads(&lazy, o, i);
                mismatches += reads != lazy_reads;
            }
        }
        derived += lazy.max_live != brute_max_live(&full);
        derived += lazy.identity != brute_identity(&full);
        derived += axis_unread(&lazy) != brute_unread(&full);
        derived += axis_widest_window(&lazy) != brute_widest(&full);
        axis_table_free(&full);
        axis_table_free(&lazy);
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK_EQ_INT(derived, 0);
}

/* Runs one pass with a meter on its rows; returns the figures (the meter is freed). */
struct metered {
    struct pass_meter *meter;
    struct pool_stage *stage;
};

static int meter_sink(void *ctx, const void *row, struct pool_error *err)
{
    (void)err;
    meter_output_row(((struct metered *)ctx)->meter, row);
    return 0;
}

static struct meter_figures run_metered(const struct pool_pass *pass, const struct row_geom *in,
                                        const void *data, struct channel_figures *channel0,
                                        size_t estimate_rows)
{
    struct metered m;
    struct pool_error err;
    struct meter_figures f = {0};
    struct meter_setup setup = {.channels = {1, false}, .estimate_rows = estimate_rows};
    if (stage_create(&m.stage, pass, in, &err) ||
        meter_create(&m.meter, in, stage_out_geom(m.stage),
                     &(struct meter_level){stage_axes(m.stage)}, 1, &setup, &err)) {
        fprintf(stderr, "metered pass: %s\n", err.msg);
        CHECK(0);
        return f;
    }
    stage_set_sink(m.stage, meter_sink, &m);
    size_t row_bytes = geom_row_elems(in) * dtype_size(in->dtype);
    for (size_t r = 0; r < in->planes * geom_rows_per_plane(in); r++) {
        meter_input_row(m.meter, (const char *)data + r * row_bytes);
        stage_push(m.stage, (const char *)data + r * row_bytes, &err);
    }
    meter_figures(m.meter, &f);
    if (channel0)
        *channel0 = f.channel[0];
    meter_free(m.meter);
    stage_free(m.stage);
    return f;
}

/* What a pass lost, by hand: exact for 8-bit, the float path, and a 3-D pass whose open
 * rows make the ring of sums grow. */
/* The exact 8-bit sums (one walk over each output column's run, 64-bit row sums) give the
 * loss the float path gives on the same values as doubles, whatever the channels and
 * kernels (modes whose outputs are input values: an average would round differently). */
static void test_meter_exact_matches_float(void)
{
    unsigned seed = 11;
    enum pool_mode modes[] = {MODE_MIN, MODE_MAX, MODE_MODE, MODE_NEAREST};
    for (int n = 0; n < 200; n++) {
        size_t h = 2 + rand_r(&seed) % 20, w = 2 + rand_r(&seed) % 20,
               inner = 1 + rand_r(&seed) % 5;
        size_t k = 1 + rand_r(&seed) % 4, s = 1 + rand_r(&seed) % 4;
        if (k > h || k > w)
            continue;
        struct pool_pass p = pass_of(modes[rand_r(&seed) % 4], k, s, 0);
        size_t total = h * w * inner;
        uint8_t *x8 = malloc(total);
        double *x64 = malloc(total * sizeof *x64);
        for (size_t i = 0; i < total; i++)
            x64[i] = x8[i] = (uint8_t)rand_r(&seed);
        struct row_geom g8 = geom_2d(DT_U8, 1, h, w, inner), g64 = geom_2d(DT_F64, 1, h, w, inner);
        struct meter_figures a = run_metered(&p, &g8, x8, NULL, 0);
        struct meter_figures b = run_metered(&p, &g64, x64, NULL, 0);
        CHECK_NEAR(a.mse, b.mse, 1e-9 * (1 + b.mse));
        free(x8);
        free(x64);
    }
}

/* Brute force: the output of one pass whose window centre is nearest input i, the earliest
 * on a tie (axes read forwards). */
static size_t brute_nearest(const struct axis_table *t, size_t i)
{
    size_t best = 0, best_d = SIZE_MAX;
    for (size_t o = 0; o < t->out_len; o++) {
        struct axis_window w = axis_window_at(t, o);
        if (!w.count)
            continue;
        size_t c2 = 2 * w.first + w.step * (w.count - 1), d = c2 > 2 * i ? c2 - 2 * i : 2 * i - c2;
        if (d < best_d) {
            best = o;
            best_d = d;
        }
    }
    return best;
}

/* Two stages in a row, the second's rows kept and metered against the first's input. */
struct stacked {
    struct pool_stage *second;
    struct pass_meter *meter;
    uint8_t *out;
    size_t row_bytes, rows;
};

static int to_second(void *ctx, const void *row, struct pool_error *err)
{
    return stage_push(((struct stacked *)ctx)->second, row, err);
}

static int keep_stacked(void *ctx, const void *row, struct pool_error *err)
{
    struct stacked *s = ctx;
    (void)err;
    meter_output_row(s->meter, row);
    memcpy(s->out + s->rows++ * s->row_bytes, row, s->row_bytes);
    return 0;
}

/* The stack's loss: MSE of the input against the second pass's output, each input paired
 * through both passes' nearest centres (composed), as a brute force pairs them. */
static double stack_mse_by_hand(const struct pool_stage *a, const struct pool_stage *b,
                                const uint8_t *x, size_t h, size_t w, const uint8_t *y)
{
    double sse = 0;
    size_t ow = stage_out_geom(b)->size[2];
    for (size_t r = 0; r < h; r++)
        for (size_t c = 0; c < w; c++) {
            size_t yr = brute_nearest(&stage_axes(b)[1], brute_nearest(&stage_axes(a)[1], r));
            size_t yc = brute_nearest(&stage_axes(b)[2], brute_nearest(&stage_axes(a)[2], c));
            double e = (double)x[r * w + c] - (double)y[yr * ow + yc];
            sse += e * e;
        }
    return sse / (double)(h * w);
}

static void test_meter_stack_composes(void)
{
    unsigned seed = 23;
    int mismatches = 0, runs = 0;
    for (int n = 0; n < 300; n++) {
        size_t h = 3 + rand_r(&seed) % 40, w = 3 + rand_r(&seed) % 40;
        struct pool_pass p[2];
        for (int j = 0; j < 2; j++) {
            size_t k = 1 + rand_r(&seed) % 4, s = 1 + rand_r(&seed) % 4;
            p[j] = pass_of(MODE_MAX, k, s, rand_r(&seed) % (k / 2 + 1));
        }
        struct row_geom g = geom_2d(DT_U8, 1, h, w, 1);
        struct stacked st = {0};
        struct pool_stage *first = NULL;
        struct pool_error err;
        if (stage_create(&first, &p[0], &g, &err) ||
            stage_create(&st.second, &p[1], stage_out_geom(first), &err)) {
            stage_free(first);
            continue; /* a window past the input: no such stack */
        }
        const struct row_geom *out = stage_out_geom(st.second);
        struct meter_level levels[2] = {{stage_axes(first)}, {stage_axes(st.second)}};
        struct meter_setup setup = {.channels = {1, false}, .loss_only = true};
        CHECK(meter_create(&st.meter, &g, out, levels, 2, &setup, &err) == 0);
        st.row_bytes = out->size[2];
        st.out = malloc(out->size[1] * out->size[2]);
        uint8_t *x = malloc(h * w);
        for (size_t i = 0; i < h * w; i++)
            x[i] = (uint8_t)rand_r(&seed);
        stage_set_sink(first, to_second, &st);
        stage_set_sink(st.second, keep_stacked, &st);
        for (size_t r = 0; r < h; r++) {
            meter_input_row(st.meter, x + r * w);
            stage_push(first, x + r * w, &err);
        }
        struct meter_figures f;
        meter_figures(st.meter, &f);
        double want = stack_mse_by_hand(first, st.second, x, h, w, st.out);
        mismatches += fabs(f.mse - want) > 1e-9 * (1 + want);
        runs++;
        meter_free(st.meter);
        stage_free(first);
        stage_free(st.second);
        free(st.out);
        free(x);
    }
    CHECK(runs > 100);
    CHECK_EQ_INT(mismatches, 0);
}

static void test_meter(void)
{
    struct channel_figures ch;
    uint8_t img[4] = {0, 100, 0, 0};
    struct row_geom g = geom_2d(DT_U8, 1, 2, 2, 1);
    struct pool_pass avg2 = pass_of(MODE_AVG, 2, 0, 0);
    struct meter_figures f = run_metered(&avg2, &g, img, &ch, 0);
    CHECK(f.mse == 1875.0); /* output 25: (3 * 625 + 5625) / 4 */
    CHECK_NEAR(f.psnr, 10 * log10(255.0 * 255.0 / 1875.0), 1e-12);
    CHECK(ch.min == 25 && ch.max == 25 && ch.mean == 25 && ch.std == 0);
    /* dilated, padded max over 0..50: centres 4 3 5 7 9 run backwards; inputs pair with
     * outputs 1 1 0 2 3 4, errors 30 20 20 20 20 20 */
    float ramp[6] = {0, 10, 20, 30, 40, 50};
    struct pool_pass dil = pass_of(MODE_MAX, 2, 1, 1);
    dil.dilation = (struct size_arg){1, {3}};
    f = run_metered(&dil, &(struct row_geom){DT_F32, 1, 1, 1, {1, 1, 6}, {'D', 'H', 'L'}}, ramp,
                    NULL, 0);
    CHECK_NEAR(f.mse, 1400.0 / 6, 1e-9);
    /* a constant input loses nothing, and the float sums do not cancel to a residue */
    double flat[64];
    for (int i = 0; i < 64; i++)
        flat[i] = 1000.1;
    f = run_metered(&avg2, &(struct row_geom){DT_F64, 1, 1, 2, {1, 8, 8}, {'D', 'H', 'W'}}, flat,
                    &ch, 0);
    CHECK(f.mse == 0 && isinf(f.psnr));
    /* 3-D avg 3, stride 1 over 6x5x4: every depth slab stays open until its window closes */
    static double vol[6 * 5 * 4];
    for (int i = 0; i < 6 * 5 * 4; i++)
        vol[i] = (i * 37) % 11;
    struct pool_pass avg3 = pass_of(MODE_AVG, 3, 1, 1);
    struct row_geom g3 = {DT_F64, 1, 1, 3, {6, 5, 4}, {'D', 'H', 'W'}};
    f = run_metered(&avg3, &g3, vol, NULL, 0);
    CHECK(isfinite(f.mse) && f.mse > 0);
    /* the estimate reads only some rows, the exact figure all of them */
    static uint8_t tall[64 * 8];
    for (int i = 0; i < 64 * 8; i++)
        tall[i] = (uint8_t)(i * 7);
    struct meter_figures exact = run_metered(
        &avg2, &(struct row_geom){DT_U8, 1, 1, 2, {1, 64, 8}, {'D', 'H', 'W'}}, tall, NULL, 0);
    struct meter_figures estimate = run_metered(
        &avg2, &(struct row_geom){DT_U8, 1, 1, 2, {1, 64, 8}, {'D', 'H', 'W'}}, tall, NULL, 4);
    CHECK(exact.mse > 0 && estimate.mse > 0 && estimate.mse != exact.mse);
}

/* Where a stack's outputs lie on its input (plan.h's origin and stride), worked by hand:
 * a cell of the stride centred on each output's window. */
static void test_plan_grid(void)
{
    struct row_geom g = geom_2d(DT_U8, 1, 100, 60, 1);
    struct pass_plan a, b;
    struct pool_pass k2 = pass_of(MODE_AVG, 2, 0, 0);
    CHECK(plan_pass(&k2, 0, 2, &g, NULL, &a, NULL) == 0);
    /* 2x2: output o covers [2o, 2o + 2) */
    CHECK(a.regular[1] && a.regular[2] && a.origin[1] == 0.0 && a.stride[1] == 2.0);
    /* then 3/2/1: its window o is [2o - 1, 2o + 2) of the 50x30 input, centre 2o + 0.5, a
     * cell [2o - 0.5, 2o + 1.5): on the image, origin 2 * -0.5 = -1, stride 4 */
    struct pool_pass k3 = pass_of(MODE_MAX, 3, 2, 1);
    CHECK(plan_pass(&k3, 1, 2, &a.out, &a, &b, NULL) == 0);
    CHECK(b.regular[2] && b.origin[2] == -1.0 && b.stride[2] == 4.0);
    /* dilation 2 widens the window to 5: k 3 s 2 p 2 d 2: window [2o - 2, 2o + 3), centre
     * 2o + 0.5, cell corner 2o - 0.5 */
    struct pool_pass dil = pass_of(MODE_MAX, 3, 2, 2);
    dil.dilation = (struct size_arg){1, {2}};
    CHECK(plan_pass(&dil, 0, 1, &g, NULL, &a, NULL) == 0);
    CHECK(a.origin[1] == -0.5 && a.stride[1] == 2.0);
    /* adaptive to a size that divides: 100 -> 25 is [4o, 4o + 4); 60 -> 7 is irregular */
    struct pool_pass ad = {.mode = MODE_AVG, .output_size = {2, {25, 7}}};
    CHECK(plan_pass(&ad, 0, 1, &g, NULL, &a, NULL) == 0);
    CHECK(a.regular[1] && a.origin[1] == 0.0 && a.stride[1] == 4.0);
    CHECK(!a.regular[2]);
    /* an irregular pass leaves the whole stack irregular on that axis */
    CHECK(plan_pass(&k2, 1, 2, &a.out, &a, &b, NULL) == 0);
    CHECK(b.regular[1] && !b.regular[2] && b.stride[1] == 8.0);
}

int main(void)
{
    RUN(test_errors());
    RUN(test_memory_budget());
    RUN(test_out_len());
    RUN(test_pass_check());
    RUN(test_windows());
    RUN(test_avg_ceil_1d());
    RUN(test_avg_padding_2d());
    RUN(test_avg_divisor_integers());
    RUN(test_max_indices());
    RUN(test_unpool_bands());
    RUN(test_fractional_samples());
    RUN(test_max_min_nan());
    RUN(test_integer_rounding());
    RUN(test_every_dtype());
    RUN(test_big_window_rounding());
    RUN(test_block2_matches_general());
    RUN(test_block2_stage());
    RUN(test_half_conversion());
    RUN(test_channels_last_and_3d());
    RUN(test_premultiplied_alpha());
    RUN(test_linear_round_trip());
    RUN(test_memory_independent_of_height());
    RUN(test_select_semantics());
    RUN(test_reversed_axes());
    RUN(test_meter());
    RUN(test_lazy_windows());
    RUN(test_meter_exact_matches_float());
    RUN(test_meter_stack_composes());
    RUN(test_plan_grid());
    return check_summary();
}
