#include "window.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Adaptive pooling (PyTorch AdaptivePooling.h): start = floor(o*L/O), end = ceil((o+1)*L/O). */
static struct axis_window adaptive_window(size_t o, size_t out_len, size_t len)
{
    unsigned __int128 L = len, O = out_len;
    size_t start = (size_t)(o * L / O);
    size_t end = (size_t)(((o + 1) * L + O - 1) / O);
    return (struct axis_window){start, end - start, 1, end - start};
}

/* Max and min: taps a + j*d for j < k, where a = o*s - p; taps in the padding are skipped. */
static struct axis_window dilated_window(const struct axis_params *a, size_t o, size_t len)
{
    int64_t start = (int64_t)(o * a->stride) - (int64_t)a->padding;
    int64_t d = (int64_t)a->dilation, k = (int64_t)a->kernel, L = (int64_t)len;
    int64_t j0 = start < 0 ? (-start + d - 1) / d : 0;
    int64_t j1 = L - 1 - start < 0 ? -1 : (L - 1 - start) / d;
    if (j1 > k - 1)
        j1 = k - 1;
    struct axis_window w = {0, 0, (size_t)d, 1};
    if (j1 >= j0) {
        w.first = (size_t)(start + j0 * d);
        w.count = (size_t)(j1 - j0 + 1);
    }
    return w;
}

/* Avg and Lp: the window [a, a+k) clipped to the padded input [-p, L+p), then to [0, L).
 * The divisor counts padded cells only with count_include_pad (never cells past L + p). */
static struct axis_window average_window(const struct axis_params *a, size_t o, size_t len)
{
    int64_t L = (int64_t)len, p = (int64_t)a->padding;
    int64_t start = (int64_t)(o * a->stride) - p;
    int64_t end = start + (int64_t)a->kernel;
    if (end > L + p)
        end = L + p;
    int64_t real_start = start < 0 ? 0 : start, real_end = end > L ? L : end;
    size_t real = (size_t)(real_end - real_start);
    return (struct axis_window){(size_t)real_start, real, 1,
                                a->count_include_pad ? (size_t)(end - start) : real};
}

static size_t last_tap(const struct axis_window *w) { return w->first + (w->count - 1) * w->step; }

/* Smallest o with ready_at[o] >= i (ready_at is nondecreasing). */
static size_t first_ready_at_or_after(const struct axis_table *t, size_t n, size_t i)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ready_at[mid] >= i)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void compute_ready_and_live(struct axis_table *t)
{
    size_t ready = 0;
    for (size_t o = 0; o < t->out_len; o++) {
        const struct axis_window *w = &t->win[o];
        if (w->count && last_tap(w) > ready)
            ready = last_tap(w);
        t->ready_at[o] = ready;
    }
    /* Output o may use ring slot o % max_live only once o - max_live has been emitted,
     * i.e. before o's first tap is read. */
    t->max_live = 1;
    for (size_t o = 0; o < t->out_len; o++) {
        if (!t->win[o].count)
            continue;
        size_t oldest_open = first_ready_at_or_after(t, o, t->win[o].first);
        if (o - oldest_open + 1 > t->max_live)
            t->max_live = o - oldest_open + 1;
    }
}

static int build_contributions(struct axis_table *t, struct pool_error *err)
{
    size_t total = 0;
    for (size_t o = 0; o < t->out_len; o++)
        total += t->win[o].count;
    t->contrib_start = calloc(t->in_len + 1, sizeof *t->contrib_start);
    t->contrib = malloc((total ? total : 1) * sizeof *t->contrib);
    if (!t->contrib_start || !t->contrib)
        return pool_fail(err, "out of memory for the window table");
    for (size_t o = 0; o < t->out_len; o++)
        for (size_t j = 0; j < t->win[o].count; j++)
            t->contrib_start[t->win[o].first + j * t->win[o].step + 1]++;
    for (size_t i = 0; i < t->in_len; i++)
        t->contrib_start[i + 1] += t->contrib_start[i];
    size_t *fill = calloc(t->in_len ? t->in_len : 1, sizeof *fill);
    if (!fill)
        return pool_fail(err, "out of memory for the window table");
    for (size_t o = 0; o < t->out_len; o++)
        for (size_t j = 0; j < t->win[o].count; j++) {
            size_t i = t->win[o].first + j * t->win[o].step;
            t->contrib[t->contrib_start[i] + fill[i]++] = o;
        }
    free(fill);
    return 0;
}

int axis_table_init(struct axis_table *t, const struct axis_params *a, enum pool_mode mode,
                    size_t in_len, struct pool_error *err)
{
    memset(t, 0, sizeof *t);
    if (axis_out_len(a, in_len, &t->out_len, err))
        return -1;
    t->in_len = in_len;
    t->win = malloc(t->out_len * sizeof *t->win);
    t->ready_at = malloc(t->out_len * sizeof *t->ready_at);
    if (!t->win || !t->ready_at)
        return pool_fail(err, "out of memory for the window table");
    t->identity = t->out_len == in_len;
    for (size_t o = 0; o < t->out_len; o++) {
        if (a->adaptive_out)
            t->win[o] = adaptive_window(o, t->out_len, in_len);
        else if (mode == MODE_MAX || mode == MODE_MIN)
            t->win[o] = dilated_window(a, o, in_len);
        else
            t->win[o] = average_window(a, o, in_len);
        const struct axis_window *w = &t->win[o];
        t->identity &= w->count == 1 && w->first == o && w->divisor == 1;
    }
    compute_ready_and_live(t);
    return build_contributions(t, err);
}

void axis_table_free(struct axis_table *t)
{
    free(t->win);
    free(t->ready_at);
    free(t->contrib_start);
    free(t->contrib);
    memset(t, 0, sizeof *t);
}
