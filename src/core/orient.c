#include "orient.h"

struct orientation orientation_of(unsigned tag)
{
    switch (tag) {
    case 2: return (struct orientation){false, false, true};
    case 3: return (struct orientation){false, true, true};
    case 4: return (struct orientation){false, true, false};
    case 5: return (struct orientation){true, false, false};
    case 6: return (struct orientation){true, true, false};
    case 7: return (struct orientation){true, true, true};
    case 8: return (struct orientation){true, false, true};
    default: return (struct orientation){false, false, false};
    }
}

bool orientation_is_identity(struct orientation o)
{
    return !o.transpose && !o.reverse_rows && !o.reverse_cols;
}

/* The last two entries (height, width) of a per-axis size swap places. */
static void swap_hw(struct size_arg *a)
{
    if (a->n < 2)
        return;
    size_t t = a->v[a->n - 2];
    a->v[a->n - 2] = a->v[a->n - 1];
    a->v[a->n - 1] = t;
}

struct pool_pass orient_pass(const struct pool_pass *p, struct orientation o)
{
    struct pool_pass q = *p;
    if (o.transpose) {
        swap_hw(&q.kernel);
        swap_hw(&q.stride);
        swap_hw(&q.padding);
        swap_hw(&q.dilation);
        swap_hw(&q.output_size);
    }
    q.reversed[1] = o.reverse_rows;
    q.reversed[2] = o.reverse_cols;
    return q;
}
