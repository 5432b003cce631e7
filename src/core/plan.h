/*
 * What a stack of passes does to a shape, without any data: output sizes, the effective
 * stride and receptive field of the stack so far, the fraction of input elements a pass
 * reads at all (coverage), and the warnings that make aggressive pooling visible.
 */
#ifndef POOL_PLAN_H
#define POOL_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "pass.h"
#include "tensor.h"

#define PLAN_MAX_WARNINGS 8

enum plan_warning_kind {
    PLAN_UNREAD,          /* a stride past the kernel: input elements never read */
    PLAN_WINDOW_TOO_WIDE, /* the window is wider than the padded input on an axis */
    PLAN_COLLAPSE,        /* an axis falls to one element before the last pass */
};

struct plan_warning {
    enum plan_warning_kind kind;
    double percent;    /* PLAN_UNREAD: of input elements never read, 0-100 */
    char text[160];    /* the whole warning, for this shape */
    char general[160]; /* what every input shape meets alike, without its figures */
};

struct pass_plan {
    struct row_geom in, out;
    double coverage;  /* fraction of input elements inside at least one window */
    double stride[3]; /* effective stride of the stack so far, per axis (D, H, W) */
    double field[3];  /* receptive field of the stack so far, per axis */
    /* Where the stack's outputs lie on its input, per axis, for georeferencing: output o
     * stands for input [origin + o * stride, origin + (o + 1) * stride), input element i
     * spanning [i, i + 1): a cell of the stride centred on o's window (a GIS overview's
     * pixel). regular is false when the windows are not evenly spaced (adaptive sizes
     * that do not divide, fractional): then no such cell exists. */
    double origin[3];
    bool regular[3];
    int nwarnings;
    struct plan_warning warnings[PLAN_MAX_WARNINGS];
};

/* Plans pass number `index` (0-based) of `count` over `in`; `prev` is the previous pass's
 * plan, or NULL for the first. Fails as the pass itself would (the same messages). */
int plan_pass(const struct pool_pass *p, size_t index, size_t count, const struct row_geom *in,
              const struct pass_plan *prev, struct pass_plan *out, struct pool_error *err);

#endif
