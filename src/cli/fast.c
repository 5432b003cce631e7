#include "fast.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static unsigned refuse(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static unsigned refuse(char *why, size_t len, const char *fmt, ...)
{
    if (why) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* What keeps the options from --fast, whatever the input: NULL when nothing does. */
static const char *options_refuse(const struct cli_options *o)
{
    if (o->save_passes || o->contact_sheet)
        return "--save-passes and --contact-sheet show pass 1's input, the full image";
    if (o->shift_test)
        return "--shift-test pools the full image shifted";
    if (o->linear)
        return "--linear averages light, and the decoder averages codes";
    return NULL;
}

/* The block size k when `first` averages whole k x k blocks over height and width (kernel
 * = stride = k of 2, 4 or 8, no padding, no divisor, no edge extension), else 0. */
static unsigned block_average(const struct pool_pass *first, int nspatial)
{
    struct axis_params ax[3];
    if (first->mode != MODE_AVG || first->global || first->output_size.n || nspatial != 2 ||
        first->divisor_override || first->edge_replicate || pass_resolve(first, 2, ax, NULL))
        return 0;
    size_t k = ax[1].kernel;
    for (int i = 1; i <= 2; i++)
        if (ax[i].kernel != k || ax[i].stride != k || ax[i].padding || ax[i].dilation != 1)
            return 0;
    return k == 2 || k == 4 || k == 8 ? (unsigned)k : 0;
}

unsigned fast_factor(const struct cli_options *o, const struct tensor_reader *r,
                     const struct tensor_shape *stored, const struct pool_pass *first, char *why,
                     size_t len)
{
    if (why && len)
        why[0] = '\0';
    if (!o->fast)
        return 0;
    if (!r->ops->shrink) {
        char name[16];
        snprintf(name, sizeof name, "%s", format_name(r->ops->format));
        for (char *c = name; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        return refuse(why, len, "the input is %s, and only JPEG's decoder shrinks", name);
    }
    const char *by_options = options_refuse(o);
    if (by_options)
        return refuse(why, len, "%s", by_options);
    if (strcmp(stored->layout, "hwc") && strcmp(stored->layout, "hw"))
        return refuse(why, len,
                      "the image is read as %s, and the decoder shrinks height and "
                      "width",
                      stored->layout);
    struct row_geom g;
    if (tensor_geom(stored, &g, NULL))
        return 0;
    unsigned k = block_average(first, g.nspatial);
    if (!k)
        return refuse(why, len,
                      "pass 1 is not an average of 2x2, 4x4 or 8x8 blocks (kernel = "
                      "stride, no padding, divisor or edge rule)");
    size_t height = g.size[1], width = g.size[2];
    if (height < k || width < k)
        return refuse(why, len, "the image is smaller than pass 1's window");
    bool partial = height % k || width % k;
    if (partial && first->ceil_mode)
        return refuse(why, len,
                      "ceil mode keeps a partial last window, which the decoder "
                      "cannot make");
    /* An EXIF-turned image's windows are laid from the far end: its partial block is at
     * the start, and the decoder's blocks start at the start. */
    if ((first->reversed[1] && height % k) || (first->reversed[2] && width % k))
        return refuse(why, len,
                      "the EXIF orientation lays pass 1's windows from the far end "
                      "of a size that is not a multiple of %u",
                      k);
    return k;
}
