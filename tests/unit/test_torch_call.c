/* Unit tests of --from-torch's translator: every accepted form of PyTorch's pooling calls
 * (constructors, reprs, functions, lists, Sequentials) and every kind of error. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli/torch_call.h"

/* Whether text translates to exactly want. */
static bool translates(const char *text, const char *want)
{
    char *got = NULL;
    struct pool_error err = {0};
    int rc = torch_call_to_specs(text, &got, &err);
    bool ok = rc == 0 && got && !strcmp(got, want);
    if (!ok)
        fprintf(stderr, "%s\n  gave '%s', want '%s'\n", text, rc ? err.msg : got, want);
    free(got);
    return ok;
}

/* Whether text is refused with exactly the message want, and no specs. */
static bool refuses(const char *text, const char *want)
{
    char *got = (char *)"untouched";
    struct pool_error err = {0};
    int rc = torch_call_to_specs(text, &got, &err);
    bool ok = rc == -1 && !got && !strcmp(err.msg, want) && err.kind == ERROR_UNSET;
    if (!ok)
        fprintf(stderr, "%s\n  gave '%s', want the error '%s'\n", text, rc ? err.msg : got, want);
    if (!rc)
        free(got);
    return ok;
}

static void test_max_modules(void)
{
    CHECK(
        translates("nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)", "max:3x3,s=2,p=1,ceil"));
    CHECK(translates("nn.MaxPool1d(3)", "max:3"));
    CHECK(translates("nn.MaxPool3d(2)", "max:2x2x2"));
    CHECK(translates("nn.MaxPool3d((1, 2, 3), (1, 1, 2))", "max:1x2x3,s=1x1x2"));
    /* the module's positional order: kernel, stride, padding, dilation, return_indices, ceil */
    CHECK(translates("nn.MaxPool2d(3, 1, 1, 2, False, True)", "max:3x3,s=1,p=1,d=2,ceil"));
    CHECK(translates("nn.MaxPool2d(kernel_size=[2, 3], dilation=(1, 2))", "max:2x3,d=1x2"));
    CHECK(translates("nn.MaxPool2d((3,), padding=(1,))", "max:3x3,p=1")); /* 1-tuples: ints */
    CHECK(translates("nn.MaxPool2d(3, stride=None, padding=0, dilation=1)", "max:3x3"));
    CHECK(translates("nn.MaxPool2d(3, padding=(1, 0), stride=(1, 2))", "max:3x3,s=1x2,p=1x0"));
    CHECK(translates("nn.MaxPool2d((3), (2))", "max:3x3,s=2")); /* (3) is 3 */
    CHECK(translates("nn.MaxPool2d(3, return_indices=False)", "max:3x3"));
}

static void test_avg_and_lp_modules(void)
{
    CHECK(translates("nn.AvgPool2d(3)", "avg:3x3"));
    CHECK(translates("nn.AvgPool2d(3, 2, 1, True, False, 5)", "avg:3x3,s=2,p=1,ceil,cip=0,div=5"));
    CHECK(translates("nn.AvgPool2d(3, count_include_pad=True, divisor_override=None)", "avg:3x3"));
    CHECK(translates("nn.AvgPool1d(4, 2, 1, False, False)", "avg:4,s=2,p=1,cip=0"));
    CHECK(translates("nn.AvgPool3d((2, 2, 1), divisor_override=3)", "avg:2x2x1,div=3"));
    CHECK(translates("nn.LPPool2d(2, 3)", "lp:3x3,norm=2"));
    CHECK(translates("nn.LPPool1d(1.5, 3, 2, True)", "lp:3,s=2,ceil,norm=1.5"));
    CHECK(translates("nn.LPPool2d(norm_type=2.0, kernel_size=(2, 3))", "lp:2x3,norm=2"));
    CHECK(translates("nn.LPPool3d(3, 2, stride=(1, 2, 2))", "lp:2x2x2,s=1x2x2,norm=3"));
    CHECK(translates("nn.LPPool2d(0.1, 2)", "lp:2x2,norm=0.1"));
    CHECK(translates("nn.LPPool2d(1e1, 2)", "lp:2x2,norm=10"));
}

static void test_adaptive_and_fractional_modules(void)
{
    CHECK(translates("nn.AdaptiveAvgPool2d((7, 7))", "avg,out=7x7"));
    CHECK(translates("nn.AdaptiveAvgPool2d(1)", "avg,out=1x1"));
    CHECK(translates("nn.AdaptiveMaxPool1d(5)", "max,out=5"));
    CHECK(translates("nn.AdaptiveMaxPool3d((2, 3, 4), return_indices=False)", "max,out=2x3x4"));
    CHECK(translates("nn.AdaptiveAvgPool1d((5,))", "avg,out=5"));
    CHECK(translates("nn.FractionalMaxPool2d(3, output_size=5)", "fmax:3x3,out=5x5"));
    CHECK(translates("nn.FractionalMaxPool2d(2, (5, 6))", "fmax:2x2,out=5x6"));
    CHECK(translates("nn.FractionalMaxPool2d(3, output_ratio=0.5)", "fmax:3x3,ratio=0.5"));
    CHECK(translates("nn.FractionalMaxPool3d((1, 2, 2), None, (0.5, 0.7, 0.25))",
                     "fmax:1x2x2,ratio=0.5x0.7x0.25"));
}

/* What print(model) shows: keyword forms, stride written out, AvgPool1d's 1-tuples. */
static void test_reprs(void)
{
    CHECK(translates("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
                     "max:2x2"));
    CHECK(translates("MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)",
                     "max:3x3,s=2,p=1,ceil"));
    CHECK(translates("MaxPool3d(kernel_size=(1, 2, 3), stride=(1, 2, 3), padding=0, dilation=1, "
                     "ceil_mode=False)",
                     "max:1x2x3"));
    CHECK(translates("AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))", "avg:3"));
    CHECK(translates("AvgPool2d(kernel_size=3, stride=3, padding=0)", "avg:3x3"));
    CHECK(translates("LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)",
                     "lp:3x3,norm=2"));
    CHECK(translates("LPPool2d(norm_type=1.5, kernel_size=(2, 3), stride=1, ceil_mode=False)",
                     "lp:2x3,s=1,norm=1.5"));
    CHECK(translates("AdaptiveAvgPool2d(output_size=(7, 7))", "avg,out=7x7"));
    CHECK(translates("AdaptiveMaxPool1d(output_size=3)", "max,out=3"));
    CHECK(refuses("MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))",
                  "MaxUnpool2d: unpooling is a command of its own: see pool unpool (column 1)"));
}

static void test_functions(void)
{
    /* the function's order: ceil_mode before return_indices */
    CHECK(translates("F.max_pool2d(x, 3, 1, 1, 1, True)", "max:3x3,s=1,p=1,ceil"));
    CHECK(translates("F.max_pool2d(x, 3, 1, 1, 1, True, False)", "max:3x3,s=1,p=1,ceil"));
    CHECK(translates("F.max_pool1d(input=x, kernel_size=2)", "max:2"));
    CHECK(translates("F.max_pool3d(x, 2, stride=[])", "max:2x2x2")); /* [] is the default */
    CHECK(translates("F.max_pool2d(x, 3, ())", "max:3x3"));
    CHECK(translates("F.avg_pool1d(x, 3, 1, 1, True, False)", "avg:3,s=1,p=1,ceil,cip=0"));
    CHECK(translates("F.avg_pool2d(x, 2, 2, 0, False, True, 3)", "avg:2x2,div=3"));
    CHECK(translates("F.avg_pool3d(x, (1, 2, 2))", "avg:1x2x2"));
    CHECK(translates("F.lp_pool1d(x, 2, 3)", "lp:3,norm=2"));
    CHECK(translates("F.lp_pool2d(x, 3, 2, 1, True)", "lp:2x2,s=1,ceil,norm=3"));
    CHECK(translates("F.lp_pool3d(x, norm_type=1, kernel_size=2)", "lp:2x2x2,norm=1"));
    CHECK(translates("F.adaptive_max_pool2d(x, (4, 5))", "max,out=4x5"));
    CHECK(translates("F.adaptive_max_pool1d(x, 4, False)", "max,out=4"));
    CHECK(translates("F.adaptive_avg_pool3d(x, 1)", "avg,out=1x1x1"));
    CHECK(translates("F.fractional_max_pool2d(x, 3, output_ratio=(0.5, 0.5))",
                     "fmax:3x3,ratio=0.5x0.5"));
    CHECK(translates("F.fractional_max_pool3d(x, 2, 4)", "fmax:2x2x2,out=4x4x4"));
    /* the function takes output_size and ignores output_ratio when both are given */
    CHECK(translates("F.fractional_max_pool2d(x, 2, 4, 0.5)", "fmax:2x2,out=4x4"));
    /* the input: any name, even a call */
    CHECK(translates("F.max_pool2d(self.features(x), 2)", "max:2x2"));
    CHECK(translates("F.max_pool2d(h_1, 2)", "max:2x2"));
}

static void test_prefixes(void)
{
    CHECK(translates("MaxPool2d(2)", "max:2x2"));
    CHECK(translates("nn.MaxPool2d(2)", "max:2x2"));
    CHECK(translates("torch.nn.MaxPool2d(2)", "max:2x2"));
    CHECK(translates("max_pool2d(x, 2)", "max:2x2"));
    CHECK(translates("F.max_pool2d(x, 2)", "max:2x2"));
    CHECK(translates("nn.functional.max_pool2d(x, 2)", "max:2x2"));
    CHECK(translates("torch.nn.functional.max_pool2d(x, 2)", "max:2x2"));
    CHECK(refuses("F.MaxPool2d(2)",
                  "F.MaxPool2d: not a pooling layer; give the pooling layers alone (column 1)"));
    CHECK(
        refuses("nn.max_pool2d(x, 2)",
                "nn.max_pool2d: not a pooling function; give the pooling layers alone (column 1)"));
    CHECK(refuses(
        "torch.max_pool2d(x, 2)",
        "torch.max_pool2d: not a pooling function; give the pooling layers alone (column 1)"));
}

static void test_lists_and_sequentials(void)
{
    CHECK(translates("[nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1)]", "max:2x2 avg,out=1x1"));
    CHECK(translates("[nn.MaxPool2d(2),]", "max:2x2"));
    CHECK(translates("(nn.MaxPool2d(2), F.avg_pool2d(x, 3))", "max:2x2 avg:3x3"));
    CHECK(translates("nn.Sequential(nn.MaxPool2d(2), nn.AvgPool2d(2))", "max:2x2 avg:2x2"));
    CHECK(translates("torch.nn.Sequential(nn.Sequential(nn.MaxPool1d(2)), [nn.MaxPool1d(3)])",
                     "max:2 max:3"));
    CHECK(translates(" \n [ nn.MaxPool2d( 2 ) ,\n\tnn.MaxPool2d(3) ] \n", "max:2x2 max:3x3"));
    /* print(nn.Sequential(...)): numbered or named layers, nested */
    CHECK(translates("Sequential(\n"
                     "  (0): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                     "ceil_mode=False)\n"
                     "  (1): AvgPool2d(kernel_size=3, stride=3, padding=0)\n"
                     ")",
                     "max:2x2 avg:3x3"));
    CHECK(translates("Sequential(\n"
                     "  (pool1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                     "ceil_mode=False)\n"
                     "  (gap): AdaptiveAvgPool2d(output_size=1)\n"
                     ")",
                     "max:2x2 avg,out=1x1"));
    CHECK(translates("Sequential(\n"
                     "  (0): Sequential(\n"
                     "    (0): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                     "ceil_mode=False)\n"
                     "  )\n"
                     "  (1): MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, "
                     "ceil_mode=False)\n"
                     ")",
                     "max:2x2 max:2"));
    /* ModuleList's order is its model's forward(): not a sequence of passes */
    CHECK(refuses("ModuleList(\n  (0): MaxPool2d(kernel_size=2)\n)",
                  "ModuleList: not a pooling layer; give the pooling layers alone (line 1, "
                  "column 1)"));
    /* a printed model of its own class: its children in order; lines without it too */
    CHECK(translates("Net(\n  (features): Sequential(\n    (0): MaxPool2d(kernel_size=2)\n  )\n"
                     "  (gap): AdaptiveAvgPool2d(output_size=1)\n)",
                     "max:2x2 avg,out=1x1"));
    CHECK(translates("(2): MaxPool2d(kernel_size=3, stride=2)\n(5): AvgPool2d(kernel_size=2)",
                     "max:3x3,s=2 avg:2x2"));
    CHECK(refuses("(2): MaxPool2d(2)\nAvgPool2d(2)",
                  "a line without its \"(name):\" label at line 2, column 1"));
}

static void test_syntax_errors(void)
{
    CHECK(refuses("nn.MaxPool2d(3, stride=2))", "unexpected ')' at column 26"));
    CHECK(refuses("", "unexpected end of text at column 1"));
    CHECK(refuses("nn.MaxPool2d(3", "unexpected end of text at column 15"));
    CHECK(refuses("nn.MaxPool2d(3 4)", "unexpected '4' at column 16"));
    CHECK(refuses("nn.MaxPool2d(3) nn.MaxPool2d(3)", "unexpected 'nn.MaxPool2d' at column 17"));
    CHECK(refuses("nn.MaxPool2d(3, stride=@)", "unexpected '@' at column 24"));
    CHECK(refuses("nn.MaxPool2d(3, stride=-x)", "unexpected '-' at column 24"));
    CHECK(refuses("nn.MaxPool2d(\x01)", "unexpected byte 0x01 at column 14"));
    CHECK(refuses("nn.MaxPool2d((3, 3)", "unexpected end of text at column 20"));
    CHECK(refuses("nn.MaxPool2d([3, 3)", "unexpected ')' at column 19"));
    CHECK(refuses("nn.MaxPool2d(3,,)", "unexpected ',' at column 16"));
    CHECK(refuses("nn.MaxPool2d(a.b=3)", "unexpected '=' at column 17"));
    CHECK(refuses("nn.MaxPool2d(99999999999999999999)", "number too large at column 14"));
    CHECK(refuses("nn.LPPool2d(1e999, 2)", "number too large at column 13"));
    CHECK(refuses("nn.MaxPool2d(3)\n)", "unexpected ')' at line 2, column 1"));
    /* "(0):" entries belong to a printed Sequential */
    CHECK(refuses("nn.MaxPool2d((0): 3)",
                  "nn.MaxPool2d: a printed \"(name):\" entry among its arguments (column 19)"));
    CHECK(refuses("Sequential(\n  (0): MaxPool2d(2) MaxPool2d(2)\n)",
                  "unexpected 'MaxPool2d' at line 2, column 21"));
}

static void test_layer_errors(void)
{
    CHECK(refuses("nn.Conv2d(3, 8, 3)",
                  "nn.Conv2d: not a pooling layer; give the pooling layers alone (column 1)"));
    CHECK(refuses("F.relu(x)",
                  "F.relu: not a pooling function; give the pooling layers alone (column 1)"));
    CHECK(refuses("nn.MaxPool4d(2)",
                  "nn.MaxPool4d: not a pooling layer; give the pooling layers alone (column 1)"));
    CHECK(refuses(
        "nn.FractionalMaxPool1d(2, 3)",
        "nn.FractionalMaxPool1d: not a pooling layer; give the pooling layers alone (column 1)"));
    CHECK(refuses("[nn.MaxPool2d(2), nn.ReLU()]",
                  "nn.ReLU: not a pooling layer; give the pooling layers alone (column 19)"));
    CHECK(refuses("Sequential(\n  (0): MaxPool2d(kernel_size=2)\n  (1): Conv2d(3, 3, 3)\n)",
                  "Conv2d: not a pooling layer; give the pooling layers alone (line 3, column 8)"));
    CHECK(refuses("nn.MaxUnpool2d(2)",
                  "nn.MaxUnpool2d: unpooling is a command of its own: see pool unpool (column 1)"));
    CHECK(refuses("F.max_unpool1d(x, i, 2)",
                  "F.max_unpool1d: unpooling is a command of its own: see pool unpool (column 1)"));
    CHECK(refuses("x", "expected a pooling layer such as nn.MaxPool2d(2), got a name (column 1)"));
    CHECK(refuses("[nn.MaxPool2d(2), 3]",
                  "expected a pooling layer such as nn.MaxPool2d(2), got an int (column 19)"));
    CHECK(refuses("[]", "no pooling layer given"));
    CHECK(refuses("nn.Sequential()", "no pooling layer given"));
    CHECK(refuses("nn.Sequential(nn.MaxPool2d(2), foo=1)",
                  "nn.Sequential: takes no keyword arguments (column 1)"));
    CHECK(refuses("nn.MaxPool2d(3, return_indices=True)",
                  "nn.MaxPool2d: return_indices=True: pool writes indices with --indices "
                  "FILE.npy, not in a spec (column 32)"));
    CHECK(refuses("F.max_pool2d(x, 2, 2, 0, 1, False, True)",
                  "F.max_pool2d: return_indices=True: pool writes indices with --indices "
                  "FILE.npy, not in a spec (column 36)"));
    CHECK(refuses("nn.AdaptiveMaxPool2d(2, True)",
                  "nn.AdaptiveMaxPool2d: return_indices=True: pool writes indices with "
                  "--indices FILE.npy, not in a spec (column 25)"));
    CHECK(refuses("nn.AdaptiveAvgPool2d((None, 7))",
                  "nn.AdaptiveAvgPool2d: output_size=(None, 7): None (the input's size on that "
                  "axis) has no spec: give every size (column 22)"));
    CHECK(refuses("F.fractional_max_pool2d(x, 2, 4, _random_samples=s)",
                  "F.fractional_max_pool2d: _random_samples=s: pool takes the samples with "
                  "--samples FILE.npy, not in a spec (column 50)"));
    CHECK(refuses("nn.FractionalMaxPool2d(2, 4, 0.5)",
                  "nn.FractionalMaxPool2d: give an output_size or an output_ratio, not both "
                  "(column 1)"));
    CHECK(refuses("nn.FractionalMaxPool2d(2)",
                  "nn.FractionalMaxPool2d: give an output_size or an output_ratio (column 1)"));
    CHECK(refuses("FractionalMaxPool2d()",
                  "FractionalMaxPool2d: missing required argument 'kernel_size' (print(model) "
                  "shows no arguments of a FractionalMaxPool: give its constructor call) "
                  "(column 1)"));
}

static void test_argument_errors(void)
{
    CHECK(refuses("nn.MaxPool2d((2, 3, 4))", "nn.MaxPool2d: kernel_size=(2, 3, 4): expected an "
                                             "int or a tuple of 2 ints, got 3 values (column 14)"));
    CHECK(refuses("nn.MaxPool1d((3, 3))", "nn.MaxPool1d: kernel_size=(3, 3): expected an int or "
                                          "a tuple of 1 int, got 2 values (column 14)"));
    CHECK(refuses("nn.MaxPool2d(())", "nn.MaxPool2d: kernel_size=(): expected an int or a tuple "
                                      "of 2 ints, got 0 values (column 14)"));
    CHECK(refuses("nn.MaxPool2d(2.0)", "nn.MaxPool2d: kernel_size=2.0: expected an int or a "
                                       "tuple of 2 ints, got a float (column 14)"));
    CHECK(refuses("nn.MaxPool2d(True)", "nn.MaxPool2d: kernel_size=True: expected an int or a "
                                        "tuple of 2 ints, got a bool (column 14)"));
    CHECK(refuses("nn.MaxPool2d((2, 2.5))",
                  "nn.MaxPool2d: kernel_size=(2, 2.5): expected ints, got a float (column 14)"));
    CHECK(refuses("nn.MaxPool2d(-1)",
                  "nn.MaxPool2d: kernel_size=-1: must be at least 1 (column 14)"));
    CHECK(
        refuses("nn.MaxPool2d(0)", "nn.MaxPool2d: kernel_size=0: must be at least 1 (column 14)"));
    CHECK(refuses("nn.MaxPool2d(2, 0)", "nn.MaxPool2d: stride=0: must be at least 1 (column 17)"));
    CHECK(refuses("nn.MaxPool2d(3, padding=(1, -1))",
                  "nn.MaxPool2d: padding=(1, -1): must be at least 0 (column 25)"));
    CHECK(refuses("nn.MaxPool2d(3, dilation=0)",
                  "nn.MaxPool2d: dilation=0: must be at least 1 (column 26)"));
    CHECK(refuses("nn.MaxPool2d(3, padding=None)", "nn.MaxPool2d: padding=None: expected an int or "
                                                   "a tuple of 2 ints, got None (column 25)"));
    CHECK(refuses("nn.MaxPool2d(2, ceil_mode=1)",
                  "nn.MaxPool2d: ceil_mode=1: expected True or False, got an int (column 27)"));
    CHECK(refuses("nn.AvgPool2d(2, count_include_pad=None)",
                  "nn.AvgPool2d: count_include_pad=None: expected True or False, got None "
                  "(column 35)"));
    CHECK(refuses("nn.AvgPool2d(3, divisor_override=0)",
                  "nn.AvgPool2d: divisor_override=0: expected None or a whole number from 1 "
                  "(column 34)"));
    CHECK(refuses("nn.AvgPool2d(3, divisor_override=2.0)",
                  "nn.AvgPool2d: divisor_override=2.0: expected None or a whole number from 1 "
                  "(column 34)"));
    CHECK(refuses("nn.LPPool2d(0, 3)",
                  "nn.LPPool2d: norm_type=0: expected a positive number (column 13)"));
    CHECK(refuses("nn.LPPool2d(True, 3)",
                  "nn.LPPool2d: norm_type=True: expected a positive number (column 13)"));
    CHECK(refuses("nn.LPPool2d(2, (3,))", "nn.LPPool2d: kernel_size=(3,): expected an int or a "
                                          "tuple of 2 ints, got 1 value (column 16)"));
    CHECK(refuses("nn.AdaptiveAvgPool2d((7,))", "nn.AdaptiveAvgPool2d: output_size=(7,): expected "
                                                "an int or a tuple of 2 ints, got 1 value "
                                                "(column 22)"));
    CHECK(refuses("nn.AdaptiveAvgPool2d(0)",
                  "nn.AdaptiveAvgPool2d: output_size=0: must be at least 1 (column 22)"));
    CHECK(refuses("nn.FractionalMaxPool2d(2, output_ratio=1.5)",
                  "nn.FractionalMaxPool2d: output_ratio=1.5: must be between 0 and 1 (column 40)"));
    CHECK(refuses("nn.FractionalMaxPool2d(2, output_ratio=(0.5,))",
                  "nn.FractionalMaxPool2d: output_ratio=(0.5,): expected a number or a tuple of 2 "
                  "numbers (column 40)"));
    CHECK(refuses("nn.FractionalMaxPool2d(2, output_ratio=(0.5, 0.5, 0.5))",
                  "nn.FractionalMaxPool2d: output_ratio=(0.5, 0.5, 0.5): expected a number or a "
                  "tuple of 2 numbers (column 40)"));
    CHECK(refuses("F.max_pool2d(3, 2)",
                  "F.max_pool2d: input=3: expected the input tensor, got an int (column 14)"));
    /* binding, as Python binds */
    CHECK(refuses("nn.MaxPool2d(3, foo=1)",
                  "nn.MaxPool2d: unexpected keyword argument 'foo' (column 17)"));
    CHECK(refuses("nn.AvgPool1d(3, divisor_override=2)",
                  "nn.AvgPool1d: unexpected keyword argument 'divisor_override' (column 17)"));
    CHECK(refuses("nn.MaxPool2d(3, kernel_size=3)",
                  "nn.MaxPool2d: got multiple values for argument 'kernel_size' (column 17)"));
    CHECK(refuses("nn.MaxPool2d(kernel_size=3, kernel_size=3)",
                  "nn.MaxPool2d: got multiple values for argument 'kernel_size' (column 29)"));
    CHECK(refuses("nn.MaxPool2d()",
                  "nn.MaxPool2d: missing required argument 'kernel_size' (column 1)"));
    CHECK(refuses("F.lp_pool2d(x, 2)",
                  "F.lp_pool2d: missing required argument 'kernel_size' (column 1)"));
    CHECK(refuses("nn.MaxPool2d(kernel_size=3, 2)",
                  "nn.MaxPool2d: positional argument follows keyword argument (column 29)"));
    CHECK(refuses("nn.MaxPool2d(1, 2, 3, 4, False, False, 7)",
                  "nn.MaxPool2d: takes 6 positional arguments at most (kernel_size, stride, "
                  "padding, dilation, return_indices, ceil_mode) (column 40)"));
    CHECK(refuses("nn.AdaptiveAvgPool2d(2, 3)",
                  "nn.AdaptiveAvgPool2d: takes 1 positional argument at most (output_size) "
                  "(column 25)"));
}

/* What PyTorch checks only when the layer runs, pool's spec checks refuse (found by
 * tests/fuzz/torch_call.c: the translation was a spec that -P refused). */
static void test_checked_as_specs(void)
{
    CHECK(refuses("nn.MaxPool2d(3, stride=2, padding=2, ceil_mode=True)",
                  "nn.MaxPool2d: padding 2 is more than half the kernel 3 (PyTorch requires "
                  "padding <= kernel/2) (column 1)"));
    CHECK(refuses("[nn.MaxPool2d(2), F.avg_pool1d(x, 2, padding=2)]",
                  "F.avg_pool1d: padding 2 is more than half the kernel 2 (PyTorch requires "
                  "padding <= kernel/2) (column 19)"));
    CHECK(translates("nn.AvgPool2d(3, padding=1)", "avg:3x3,p=1"));
}

static void test_limits(void)
{
    char deep[128] = "nn.MaxPool2d(";
    for (int i = 0; i < 40; i++)
        strcat(deep, "(");
    strcat(deep, "2");
    for (int i = 0; i < 41; i++)
        strcat(deep, ")");
    CHECK(refuses(deep, "nested too deeply at column 45"));
    size_t n = 70000;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    CHECK(refuses(big, "more than 65536 bytes of text"));
    free(big);
}

int main(void)
{
    RUN(test_max_modules());
    RUN(test_avg_and_lp_modules());
    RUN(test_adaptive_and_fractional_modules());
    RUN(test_reprs());
    RUN(test_functions());
    RUN(test_prefixes());
    RUN(test_lists_and_sequentials());
    RUN(test_syntax_errors());
    RUN(test_layer_errors());
    RUN(test_argument_errors());
    RUN(test_checked_as_specs());
    RUN(test_limits());
    return check_summary();
}
