/*
 * A header may declare 2^30 rows and then deliver none: nothing that is set up before the
 * rows arrive may loop over the declared height. This test compiles the window arithmetic
 * with a counter on every window it computes, then sets up passes, plans, meters and shift
 * probes over 2^30-row geometries: the count must stay in proportion to the kernel and the
 * width, never the height. (Counted, not timed: tests are not benchmarks.)
 */
#include <stdlib.h>
#include <string.h>

static size_t window_calls;
#define WINDOW_PROBE() ((void)window_calls++)
#include "core/window.c"

#include "check.h"
#include "core/meter.h"
#include "core/plan.h"
#include "core/stage.h"
#include "pipeline/shift.h"

/* A bound far below any height used here, far above what the borders need. */
#define FEW_WINDOWS 5000

static const size_t TALL = (size_t)1 << 30;

static struct pool_pass pass_of(enum pool_mode mode, size_t k, size_t s, size_t p, size_t d)
{
    struct pool_pass pass;
    memset(&pass, 0, sizeof pass);
    pass.mode = mode;
    pass.kernel = (struct size_arg){1, {k}};
    pass.stride = (struct size_arg){1, {s}};
    pass.padding = (struct size_arg){1, {p}};
    pass.dilation = (struct size_arg){1, {d}};
    return pass;
}

static void test_axis_setup(void)
{
    struct pool_error err;
    enum pool_mode modes[] = {MODE_MAX, MODE_AVG, MODE_MIN, MODE_LP};
    size_t heights[] = {TALL, TALL + 7, 1000};
    for (int m = 0; m < 4; m++)
        for (int h = 0; h < 3; h++) {
            bool dilated = modes[m] == MODE_MAX || modes[m] == MODE_MIN;
            struct axis_params a = {
                .kernel = 3, .stride = 2, .padding = 1, .dilation = dilated ? 2 : 1};
            struct axis_table t;
            window_calls = 0;
            CHECK(axis_table_init(&t, &a, modes[m], heights[h], false, &err) == 0);
            CHECK(t.win == NULL);
            CHECK_EQ_INT(t.max_live, dilated ? 3 : 2);
            /* dilation 2 and stride 2 read only the odd rows */
            CHECK_EQ_INT(axis_unread(&t), dilated ? (heights[h] + 1) / 2 : 0);
            CHECK_EQ_INT(axis_widest_window(&t), dilated ? 5 : 3);
            CHECK(window_calls < FEW_WINDOWS);
            axis_table_free(&t);
        }
    /* a stride past the kernel leaves a third of the input unread, counted per stride */
    struct axis_params a = {.kernel = 2, .stride = 3, .dilation = 1};
    struct axis_table t;
    window_calls = 0;
    CHECK(axis_table_init(&t, &a, MODE_MAX, 3 * TALL, false, &err) == 0);
    CHECK_EQ_INT(axis_unread(&t), TALL);
    CHECK(!t.identity);
    CHECK(window_calls < FEW_WINDOWS);
    axis_table_free(&t);
    /* a stride as long as the axis: two outputs, counted without walking the inputs */
    a = (struct axis_params){.kernel = 2, .stride = TALL, .dilation = 1};
    window_calls = 0;
    CHECK(axis_table_init(&t, &a, MODE_MAX, 2 * TALL, false, &err) == 0);
    CHECK_EQ_INT(t.out_len, 2);
    CHECK_EQ_INT(axis_unread(&t), 2 * TALL - 4);
    CHECK(window_calls < FEW_WINDOWS);
    axis_table_free(&t);
    /* a long kernel, stride 1: work in proportion to the kernel only */
    a = (struct axis_params){.kernel = 1000, .stride = 1, .padding = 500, .dilation = 1};
    window_calls = 0;
    CHECK(axis_table_init(&t, &a, MODE_AVG, TALL, false, &err) == 0);
    CHECK_EQ_INT(t.max_live, 1000);
    CHECK_EQ_INT(axis_unread(&t), 0);
    CHECK(window_calls < 100 * 1000);
    axis_table_free(&t);
    /* kernel 1, stride 1: the identity, found from the borders */
    a = (struct axis_params){.kernel = 1, .stride = 1, .dilation = 1};
    window_calls = 0;
    CHECK(axis_table_init(&t, &a, MODE_AVG, TALL, false, &err) == 0);
    CHECK(t.identity);
    CHECK(window_calls < FEW_WINDOWS);
    axis_table_free(&t);
    /* adaptive to a large size */
    a = (struct axis_params){.adaptive_out = (size_t)1 << 24};
    window_calls = 0;
    CHECK(axis_table_init(&t, &a, MODE_MAX, TALL, false, &err) == 0);
    CHECK_EQ_INT(t.max_live, 1);
    CHECK_EQ_INT(axis_unread(&t), 0);
    CHECK_EQ_INT(axis_widest_window(&t), 64);
    CHECK(window_calls < FEW_WINDOWS);
    axis_table_free(&t);
}

/* Everything the pipeline builds per pass before the first row: the stage, the meter (full
 * and estimating), the plan and its warnings, the shift probe. */
static void test_pass_setup(void)
{
    struct pool_error err;
    struct row_geom in = {DT_U8, 1, 3, 2, {1, TALL, 64}, {'D', 'H', 'W'}};
    struct pool_pass passes[] = {pass_of(MODE_MAX, 3, 2, 1, 2), pass_of(MODE_AVG, 2, 2, 0, 1),
                                 pass_of(MODE_LP, 3, 3, 1, 1)};
    passes[2].has_norm = true;
    passes[2].norm = 2;
    struct pass_plan plan[3];
    struct row_geom g = in;
    for (size_t k = 0; k < 3; k++) {
        window_calls = 0;
        struct pool_stage *stage;
        CHECK(stage_create(&stage, &passes[k], &g, &err) == 0);
        CHECK(stage_memory(stage) < ((size_t)1 << 20));
        for (size_t estimate = 0; estimate <= 256; estimate += 256) {
            struct pass_meter *meter;
            struct meter_setup setup = {.channels = {3, true}, .estimate_rows = estimate};
            CHECK(meter_create(&meter, &g, stage_out_geom(stage),
                               &(struct meter_level){stage_axes(stage)}, 1, &setup, &err) == 0);
            meter_free(meter);
        }
        CHECK(plan_pass(&passes[k], k, 3, &g, k ? &plan[k - 1] : NULL, &plan[k], &err) == 0);
        CHECK(window_calls < FEW_WINDOWS);
        g = *stage_out_geom(stage);
        stage_free(stage);
    }
    CHECK_NEAR(plan[0].coverage, 0.25, 1e-12);       /* odd rows and columns only */
    CHECK_NEAR(plan[1].coverage, 30.0 / 31.0, 1e-6); /* 31 columns, in pairs */
    window_calls = 0;
    struct shift_probe *probe;
    size_t used = 0;
    CHECK(shift_probe_create(&probe, passes, 3, &in, "hw", &used, SIZE_MAX, simd_best(), &err) ==
          0);
    CHECK(used > 0); /* its stages and rows were weighed */
    CHECK(window_calls < FEW_WINDOWS);
    shift_probe_free(probe);
}

int main(void)
{
    RUN(test_axis_setup());
    RUN(test_pass_setup());
    return check_summary();
}
