/* Unit tests of the command line's value parsers: sizes, numbers, pass specs, shapes. */
#include <string.h>

#include "check.h"
#include "cli/spec.h"
#include "core/tensor.h"

static void test_sizes(void)
{
    struct size_arg a;
    struct pool_error err;
    CHECK(size_arg_parse("3", &a, &err) == 0 && a.n == 1 && a.v[0] == 3);
    CHECK(size_arg_parse("3x2", &a, &err) == 0 && a.n == 2 && a.v[0] == 3 && a.v[1] == 2);
    CHECK(size_arg_parse("2x3x4", &a, &err) == 0 && a.n == 3 && a.v[2] == 4);
    CHECK(size_arg_parse("0", &a, &err) == 0 && a.v[0] == 0); /* padding may be 0 */
    const char *bad[] = {"",
                         "x",
                         "3x",
                         "3x2x",
                         "-1",
                         "+2",
                         "3 ",
                         " 3",
                         "3y2",
                         "1x2x3x4",
                         "99999999999999999999",
                         "2147483648000000",
                         "3.5",
                         "3x-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = size_arg_parse(bad[i], &a, &err);
        CHECK(rc == -1);
        if (rc == 0)
            fprintf(stderr, "accepted '%s'\n", bad[i]);
    }
}

static void test_numbers(void)
{
    long n;
    double d;
    struct pool_error err;
    CHECK(count_parse("3", 1, 10, &n, &err) == 0 && n == 3);
    CHECK(count_parse("0", 1, 10, &n, &err) == -1);
    CHECK(count_parse("11", 1, 10, &n, &err) == -1);
    CHECK(count_parse("3x", 1, 10, &n, &err) == -1);
    CHECK(count_parse("", 1, 10, &n, &err) == -1);
    CHECK(number_parse("2.5", &d, &err) == 0 && d == 2.5);
    CHECK(number_parse("inf", &d, &err) == -1);
    CHECK(number_parse("nan", &d, &err) == -1);
    CHECK(number_parse("2q", &d, &err) == -1);
}

static void test_pass_specs(void)
{
    struct pool_pass p;
    struct pool_error err;
    CHECK(pass_spec_parse("max:3,s=2,p=1", &p, &err) == 0);
    CHECK(p.mode == MODE_MAX && !p.global && p.kernel.v[0] == 3 && p.stride.v[0] == 2 &&
          p.padding.v[0] == 1);
    CHECK(pass_spec_parse("avg:2x3,ceil,cip=1", &p, &err) == 0);
    CHECK(p.mode == MODE_AVG && p.kernel.n == 2 && p.ceil_mode && p.pad_count == PAD_COUNT_INCLUDE);
    CHECK(pass_spec_parse("avg:3,cip=0,div=7", &p, &err) == 0 && p.pad_count == PAD_COUNT_EXCLUDE &&
          p.divisor_override == 7);
    CHECK(pass_spec_parse("avg:3", &p, &err) == 0 && p.pad_count == PAD_COUNT_DEFAULT &&
          !p.divisor_override);
    CHECK(pass_spec_parse("avg:3,div=0", &p, &err) == -1 && strstr(err.msg, "from 1"));
    CHECK(pass_spec_parse("avg:3,div", &p, &err) == -1 && strstr(err.msg, "div=4"));
    CHECK(pass_spec_parse("avg:3,div=2x2", &p, &err) == -1);
    CHECK(pass_spec_parse("avg,k=2,ceil=0", &p, &err) == 0 && !p.ceil_mode && p.kernel.v[0] == 2);
    CHECK(pass_spec_parse("gavg", &p, &err) == 0 && p.global && p.mode == MODE_AVG);
    CHECK(pass_spec_parse("lp:2,norm=3", &p, &err) == 0 && p.has_norm && p.norm == 3);
    CHECK(pass_spec_parse("max,out=7x7", &p, &err) == 0 && p.output_size.n == 2);
    CHECK(pass_spec_parse("max:3,d=2", &p, &err) == 0 && p.dilation.v[0] == 2);
    CHECK(pass_spec_parse("mean:2", &p, &err) == -1 && strstr(err.msg, "unknown mode"));
    CHECK(pass_spec_parse("max:2,q=1", &p, &err) == -1 && strstr(err.msg, "unknown key"));
    CHECK(pass_spec_parse("max:2,s", &p, &err) == -1 && strstr(err.msg, "needs a value"));
    CHECK(pass_spec_parse("max:2,,s=1", &p, &err) == -1);
    CHECK(pass_spec_parse("max:a", &p, &err) == -1);
    CHECK(pass_spec_parse("max:2,ceil=maybe", &p, &err) == -1);
    CHECK(pass_spec_parse("lp:2,norm=x", &p, &err) == -1);
}

static void test_shapes(void)
{
    struct tensor_shape s;
    struct pool_error err;
    char buf[64];
    CHECK(shape_parse("1x64x56x56", &s, &err) == 0 && s.ndim == 4 && s.dims[1] == 64);
    shape_format(&s, buf, sizeof buf);
    CHECK(!strcmp(buf, "1x64x56x56"));
    CHECK(shape_parse("1x2x3x4x5x6", &s, &err) == -1);
    CHECK(shape_parse("1x0x3", &s, &err) == -1);
    CHECK(shape_parse("4x4junk", &s, &err) == -1);
    CHECK(shape_parse("", &s, &err) == -1);
    CHECK(layout_check("nchw", 4, &err) == 0);
    CHECK(layout_check("nchw", 3, &err) == -1);
    CHECK(layout_check("nhcw", 4, &err) == -1);
    CHECK(!strcmp(layout_default(5), "ncdhw"));
}

/* Sizes for people: images width first, tensors labelled, axes named when they differ. */
static void test_described_sizes(void)
{
    struct tensor_shape s = {.dtype = DT_U8, .ndim = 3, .dims = {200, 300, 3}, .layout = "hwc"};
    struct row_geom g;
    struct pool_error err;
    char buf[64];
    shape_describe(&s, true, buf, sizeof buf);
    CHECK(!strcmp(buf, "300x200"));
    shape_describe(&s, false, buf, sizeof buf);
    CHECK(!strcmp(buf, "200x300x3 (HWC)"));
    s = (struct tensor_shape){.dtype = DT_F32, .ndim = 4, .dims = {1, 3, 8, 6}, .layout = "nchw"};
    shape_describe(&s, false, buf, sizeof buf);
    CHECK(!strcmp(buf, "1x3x8x6 (NCHW)"));
    CHECK(tensor_geom(&s, &g, &err) == 0);
    axes_describe((double[3]){1, 3, 2}, &g, buf, sizeof buf);
    CHECK(!strcmp(buf, "3x2 (HxW)"));
    axes_describe((double[3]){1, 3, 3}, &g, buf, sizeof buf);
    CHECK(!strcmp(buf, "3"));
    axes_describe((double[3]){1, 1.5, 2}, &g, buf, sizeof buf);
    CHECK(!strcmp(buf, "1.5x2 (HxW)"));
    plane_describe(&g, buf, sizeof buf);
    CHECK(!strcmp(buf, "8x6 (HxW)"));
    s = (struct tensor_shape){.dtype = DT_F32, .ndim = 3, .dims = {2, 4, 6}, .layout = "dhw"};
    CHECK(tensor_geom(&s, &g, &err) == 0);
    shape_describe(&s, true, buf, sizeof buf); /* a volume: its axes, never WxH */
    CHECK(!strcmp(buf, "2x4x6 (DHW)"));
    axes_describe((double[3]){2, 1, 1}, &g, buf, sizeof buf);
    CHECK(!strcmp(buf, "2x1x1 (DxHxW)"));
}

static void test_byte_sizes(void)
{
    struct pool_error err;
    size_t v;
    CHECK(bytes_parse("1048576", 1, &v, &err) == 0 && v == 1048576);
    CHECK(bytes_parse("1G", 1, &v, &err) == 0 && v == (size_t)1 << 30);
    CHECK(bytes_parse("512m", 1, &v, &err) == 0 && v == (size_t)512 << 20);
    CHECK(bytes_parse("4GiB", 1, &v, &err) == 0 && v == (size_t)4 << 30);
    CHECK(bytes_parse("64KB", 1, &v, &err) == 0 && v == 64 << 10);
    CHECK(bytes_parse("2T", 1, &v, &err) == 0 && v == (size_t)2 << 40);
    const char *bad[] = {
        "", "G", "1.5G", "-1", "1X", "1Gx", "1 G", "1GiBB", "99999999999999999999T"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(bytes_parse(bad[i], 1, &v, &err) == -1 && strstr(err.msg, "bad size"));
    CHECK(bytes_parse("1K", 1 << 20, &v, &err) == -1 && strstr(err.msg, "at least 1048576"));
    CHECK(bytes_parse("16383P", 1, &v, &err) == -1); /* no P unit */
}

int main(void)
{
    RUN(test_sizes());
    RUN(test_byte_sizes());
    RUN(test_numbers());
    RUN(test_pass_specs());
    RUN(test_shapes());
    RUN(test_described_sizes());
    return check_summary();
}
