#include "fit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE_MAX ((size_t)1 << 40) /* as the other size arguments */

static int side_parse(const char **s, size_t *out)
{
    if (**s < '0' || **s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(*s, &end, 10);
    if (errno || v == 0 || v > SIDE_MAX)
        return -1;
    *out = (size_t)v;
    *s = end;
    return 0;
}

int fit_parse(const char *s, struct fit_geometry *g, struct pool_error *err)
{
    const char *p = s;
    memset(g, 0, sizeof *g);
    bool ok = true;
    if (*p != 'x')
        ok = side_parse(&p, &g->width) == 0;
    if (ok && *p == 'x') {
        p++;
        ok = side_parse(&p, &g->height) == 0;
    }
    if (ok && (*p == '^' || *p == '!') && g->width && g->height)
        g->rule = *p++ == '^' ? FIT_COVER : FIT_EXACT;
    if (!ok || *p || (!g->width && !g->height))
        return pool_fail(err,
                         "%s: a geometry is W, xH, WxH (fit inside), WxH^ (cover) or WxH! "
                         "(exact), width first, each 1 to 2^40",
                         s);
    return 0;
}

/* side * num / den rounded half up, at least 1, at most side (never larger). */
static size_t scaled(size_t side, size_t num, size_t den)
{
    unsigned __int128 v = ((unsigned __int128)2 * side * num + den) / (2 * (unsigned __int128)den);
    return v < 1 ? 1 : v > side ? side : (size_t)v;
}

bool fit_size(const struct fit_geometry *g, size_t h, size_t w, size_t *out_h, size_t *out_w)
{
    if (g->rule == FIT_EXACT) {
        *out_h = g->height < h ? g->height : h;
        *out_w = g->width < w ? g->width : w;
    } else {
        /* The scale is one of the two ratios target/side, compared exactly by cross
         * products: fit inside takes the smaller, cover the larger. */
        bool by_width;
        if (!g->height)
            by_width = true;
        else if (!g->width)
            by_width = false;
        else {
            unsigned __int128 wr = (unsigned __int128)g->width * h,
                              hr = (unsigned __int128)g->height * w;
            by_width = g->rule == FIT_INSIDE ? wr <= hr : wr >= hr;
        }
        size_t num = by_width ? g->width : g->height, den = by_width ? w : h;
        if (num >= den) { /* already within: no upsampling */
            *out_h = h;
            *out_w = w;
        } else {
            *out_h = by_width ? scaled(h, num, den) : num;
            *out_w = by_width ? num : scaled(w, num, den);
        }
    }
    return *out_h != h || *out_w != w;
}

int fit_output_size(const struct fit_geometry *g, const struct row_geom *in, struct size_arg *out,
                    bool *changed, struct pool_error *err)
{
    if (in->nspatial < 2)
        return pool_fail(err, "--size fits height and width, and this tensor has one spatial "
                              "axis: give -k or --output-size");
    size_t oh, ow;
    *changed = fit_size(g, in->size[1], in->size[2], &oh, &ow);
    *out = in->nspatial == 3 ? (struct size_arg){3, {in->size[0], oh, ow}}
                             : (struct size_arg){2, {oh, ow}};
    return 0;
}

void fit_format(const struct fit_geometry *g, char *buf, size_t len)
{
    char w[24] = "", h[24] = "";
    if (g->width)
        snprintf(w, sizeof w, "%zu", g->width);
    if (g->height)
        snprintf(h, sizeof h, "x%zu", g->height);
    snprintf(buf, len, "%s%s%s", w, h,
             g->rule == FIT_COVER   ? "^"
             : g->rule == FIT_EXACT ? "!"
                                    : "");
}
