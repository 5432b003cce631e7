#include "sheet.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "font.h"

/* The sheet's biggest allowed size: it is held in memory. */
#define SHEET_MAX_BYTES ((size_t)1 << 31)
#define CROP_SIDE_MAX ((size_t)1 << 40) /* as the other size arguments */
/* The caption band, in font pixels: a margin, two lines of text with a gap, a margin. */
#define CAPTION_MARGIN 2
#define CAPTION_LINE (FONT_HEIGHT + 2)
#define CAPTION_BAND (CAPTION_MARGIN + 2 * CAPTION_LINE + CAPTION_MARGIN)

struct panel {
    size_t x0, width;    /* where it sits on the sheet, and its width there */
    size_t out_h, out_w; /* the stored rows it receives */
    size_t next_row;
    /* Nearest sampling as index maps from the sheet into the stored rows: stored_row
     * along the sheet axis that carries stored rows (y; x when the turn transposes),
     * stored_col along the other one. */
    size_t *stored_row, *stored_col;
};

struct contact_sheet {
    enum pool_dtype dtype;
    size_t inner, elem, height, panel_height, width;
    bool transpose, has_alpha;
    struct panel *panels;
    size_t npanels;
    unsigned char *pixels;
    size_t scale; /* font pixels per glyph pixel */
};

static int number_at(const char **s, size_t min, size_t *out)
{
    if (**s < '0' || **s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(*s, &end, 10);
    if (errno || v < min || v > CROP_SIDE_MAX)
        return -1;
    *out = (size_t)v;
    *s = end;
    return 0;
}

int sheet_crop_parse(const char *s, struct sheet_crop *c, struct pool_error *err)
{
    const char *p = s;
    memset(c, 0, sizeof *c);
    bool ok = number_at(&p, 1, &c->width) == 0 && *p++ == 'x' && number_at(&p, 1, &c->height) == 0;
    if (ok && *p == '+') {
        p++;
        ok = number_at(&p, 0, &c->x) == 0 && *p++ == '+' && number_at(&p, 0, &c->y) == 0;
    }
    if (!ok || *p)
        return pool_fail(err, "a crop is WxH or WxH+X+Y (width first, in the upright input's "
                              "pixels; sides 1 to 2^40)");
    c->given = true;
    c->text = s;
    return 0;
}

int sheet_crop_check(const struct sheet_crop *c, size_t width, size_t height,
                     struct pool_error *err)
{
    if (c->x + c->width <= width && c->y + c->height <= height)
        return 0;
    return pool_fail(err, "--sheet-crop %s reaches past the %zux%zu image (width x height)",
                     c->text, width, height);
}

static size_t scale_for(size_t height)
{
    size_t s = height / 256;
    return s < 1 ? 1 : s > 8 ? 8 : s;
}

static size_t caption_band(size_t scale) { return CAPTION_BAND * scale; }

/* The tallest panels, up to natural (never scaled up), whose sheet stays within the
 * default height with its captions (their size grows with the panels). */
static size_t default_panel_height(size_t natural)
{
    size_t h = natural < SHEET_DEFAULT_MAX_HEIGHT ? natural : SHEET_DEFAULT_MAX_HEIGHT;
    while (h > 1 && h + caption_band(scale_for(h)) > SHEET_DEFAULT_MAX_HEIGHT)
        h--;
    return h;
}

/* floor(i * num / den), without overflow for any image's sizes. */
static size_t scale_index(size_t i, size_t num, size_t den)
{
    return (size_t)((unsigned __int128)i * num / den);
}

static void put_value(const struct contact_sheet *s, unsigned char *at, unsigned value)
{
    if (s->dtype == DT_U8)
        *at = (unsigned char)value;
    else
        memcpy(at, &(uint16_t){(uint16_t)value}, 2);
}

/* Fills a rectangle with a gray level (0 black .. 1 white); alpha stays opaque. */
static void fill(struct contact_sheet *s, size_t x, size_t y, size_t w, size_t h, double level)
{
    unsigned max = s->dtype == DT_U8 ? 255 : 65535;
    for (size_t row = y; row < y + h && row < s->height; row++)
        for (size_t col = x; col < x + w && col < s->width; col++)
            for (size_t c = 0; c < s->inner; c++) {
                bool alpha = s->has_alpha && c + 1 == s->inner;
                unsigned v = alpha ? max : (unsigned)(level * max + 0.5);
                put_value(s, s->pixels + ((row * s->width + col) * s->inner + c) * s->elem, v);
            }
}

static void draw_text(struct contact_sheet *s, const char *text, size_t x, size_t y,
                      size_t max_width)
{
    size_t step = (FONT_WIDTH + 1) * s->scale;
    for (size_t i = 0; text[i] && (i + 1) * step <= max_width; i++) {
        const uint8_t *g = font_glyph(text[i]);
        for (int r = 0; r < FONT_HEIGHT; r++)
            for (int b = 0; b < FONT_WIDTH; b++)
                if (g[r] & (0x10 >> b))
                    fill(s, x + i * step + (size_t)b * s->scale, y + (size_t)r * s->scale, s->scale,
                         s->scale, 0.0);
    }
}

int sheet_check_panels(const struct row_geom *p, size_t n, struct pool_error *err)
{
    for (size_t i = 0; i < n; i++) {
        bool image = p[i].planes == 1 && p[i].nspatial == 2 && p[i].inner >= 1 && p[i].inner <= 4 &&
                     (p[i].dtype == DT_U8 || p[i].dtype == DT_U16);
        if (!image)
            return pool_fail(err, "a contact sheet shows images: one 2-D plane of 1 to 4 "
                                  "channels of 8 or 16 bits");
        if (p[i].dtype != p[0].dtype || p[i].inner != p[0].inner)
            return pool_fail(err, "the passes change the type or channels of the image");
    }
    return 0;
}

/* The region of the upright input the panels show: the crop, or all of it. */
struct region {
    size_t x, y, width, height; /* in the upright input */
    size_t in_w, in_h;          /* the upright input's size */
    bool cropped;
};

/* An upright output of up_h x up_w, sampled at panel row py of panel_h rows (or column):
 * whole panels sample the output itself, as the sheet always did; a crop expands the
 * output to the input's size first (input pixel i shows element floor(i * out / in)). */
static size_t upright_index(const struct region *r, bool vertical, size_t i, size_t panel_len,
                            size_t out_len)
{
    size_t start = vertical ? r->y : r->x, len = vertical ? r->height : r->width,
           in_len = vertical ? r->in_h : r->in_w;
    if (!r->cropped)
        return scale_index(i, out_len, panel_len);
    return scale_index(start + scale_index(i, len, panel_len), out_len, in_len);
}

/* The panel's index maps into its stored rows (orient.h: S[sy][sx] for U[y][x]). */
static int map_panel(struct panel *pn, const struct region *r, size_t panel_h,
                     struct orientation turn)
{
    size_t up_h = turn.transpose ? pn->out_w : pn->out_h,
           up_w = turn.transpose ? pn->out_h : pn->out_w;
    size_t *by_y = malloc(panel_h * sizeof *by_y), *by_x = malloc(pn->width * sizeof *by_x);
    if (!by_y || !by_x) {
        free(by_y);
        free(by_x);
        return -1;
    }
    for (size_t y = 0; y < panel_h; y++)
        by_y[y] = upright_index(r, true, y, panel_h, up_h);
    for (size_t x = 0; x < pn->width; x++)
        by_x[x] = upright_index(r, false, x, pn->width, up_w);
    pn->stored_row = turn.transpose ? by_x : by_y;
    pn->stored_col = turn.transpose ? by_y : by_x;
    size_t nrow = turn.transpose ? pn->width : panel_h, ncol = turn.transpose ? panel_h : pn->width;
    for (size_t i = 0; turn.reverse_rows && i < nrow; i++)
        pn->stored_row[i] = pn->out_h - 1 - pn->stored_row[i];
    for (size_t i = 0; turn.reverse_cols && i < ncol; i++)
        pn->stored_col[i] = pn->out_w - 1 - pn->stored_col[i];
    return 0;
}

/* A panel's width on the sheet: the region's aspect ratio, or the output's. */
static double panel_width(const struct region *r, const struct panel *pn, size_t panel_h,
                          bool transpose)
{
    double w = r->cropped ? (double)r->width : (double)(transpose ? pn->out_h : pn->out_w),
           h = r->cropped ? (double)r->height : (double)(transpose ? pn->out_w : pn->out_h);
    return w * (double)panel_h / h;
}

/* Lays the panels out left to right with a gap, and sizes the sheet; the index maps come
 * after the size is known to fit, as they are as long as the panels are wide. */
static int lay_out(struct contact_sheet *s, const struct row_geom *p, const struct region *r,
                   struct orientation turn, struct pool_error *err)
{
    size_t gap = 2 * s->scale, x = 0;
    for (size_t i = 0; i < s->npanels; i++) {
        struct panel *pn = &s->panels[i];
        pn->out_h = p[i].size[1];
        pn->out_w = p[i].size[2];
        double w = panel_width(r, pn, s->panel_height, turn.transpose);
        if (w > (double)SHEET_MAX_BYTES)
            return pool_fail(err, "a contact sheet this wide would not fit in memory");
        pn->width = w < 1 ? 1 : (size_t)(w + 0.5);
        pn->x0 = x;
        x += pn->width + (i + 1 < s->npanels ? gap : 0);
    }
    s->width = x;
    s->height = s->panel_height + caption_band(s->scale);
    double bytes = (double)s->width * (double)s->height * (double)(s->inner * s->elem);
    if (bytes > (double)SHEET_MAX_BYTES)
        return pool_fail(err, "the contact sheet would need %.0f MiB (at most %zu)",
                         bytes / (1 << 20), SHEET_MAX_BYTES >> 20);
    if (!(s->pixels = malloc((size_t)bytes)))
        return pool_fail_resource(err, "out of memory for the contact sheet");
    for (size_t i = 0; i < s->npanels; i++)
        if (map_panel(&s->panels[i], r, s->panel_height, turn))
            return pool_fail_resource(err, "out of memory for the contact sheet");
    return 0;
}

static struct region region_of(const struct row_geom *input, const struct sheet_layout *l)
{
    struct region r = {.in_h = input->size[1], .in_w = input->size[2]};
    if (l->turn.transpose) {
        r.in_h = input->size[2];
        r.in_w = input->size[1];
    }
    r.cropped = l->crop.given;
    r.x = r.cropped ? l->crop.x : 0;
    r.y = r.cropped ? l->crop.y : 0;
    r.width = r.cropped ? l->crop.width : r.in_w;
    r.height = r.cropped ? l->crop.height : r.in_h;
    return r;
}

int sheet_create(struct contact_sheet **out, const struct row_geom *panels, size_t npanels,
                 bool has_alpha, const struct sheet_layout *layout, struct pool_error *err)
{
    *out = NULL;
    struct contact_sheet *s = calloc(1, sizeof *s);
    if (!s || !(s->panels = calloc(npanels, sizeof *s->panels))) {
        free(s);
        return pool_fail_resource(err, "out of memory for the contact sheet");
    }
    struct region r = region_of(&panels[0], layout);
    s->dtype = panels[0].dtype;
    s->inner = panels[0].inner;
    s->elem = dtype_size(s->dtype);
    s->npanels = npanels;
    s->transpose = layout->turn.transpose;
    s->has_alpha = has_alpha;
    s->panel_height = layout->panel_height ? layout->panel_height : default_panel_height(r.height);
    s->scale = scale_for(s->panel_height);
    if (lay_out(s, panels, &r, layout->turn, err)) {
        sheet_free(s);
        return -1;
    }
    /* Gaps mid gray, captions black on white; panels are overwritten by their rows. */
    fill(s, 0, 0, s->width, s->height, 0.5);
    fill(s, 0, s->panel_height, s->width, s->height - s->panel_height, 1.0);
    *out = s;
    return 0;
}

static unsigned char *sheet_at(const struct contact_sheet *s, size_t y, size_t x)
{
    return s->pixels + (y * s->width + x) * s->inner * s->elem;
}

/* Sheet rows whose stored row is oy: the first is sampled, the others copy it. */
static void add_upright_row(struct contact_sheet *s, struct panel *p, size_t oy, const char *row)
{
    size_t px = s->inner * s->elem;
    unsigned char *first = NULL;
    for (size_t y = 0; y < s->panel_height; y++) {
        if (p->stored_row[y] != oy)
            continue;
        unsigned char *to = sheet_at(s, y, p->x0);
        if (first) {
            memcpy(to, first, p->width * px);
            continue;
        }
        for (size_t x = 0; x < p->width; x++)
            memcpy(to + x * px, row + p->stored_col[x] * px, px);
        first = to;
    }
}

/* Turned by 90 degrees: stored row oy is one or more sheet columns. */
static void add_turned_row(struct contact_sheet *s, struct panel *p, size_t oy, const char *row)
{
    size_t px = s->inner * s->elem;
    for (size_t x = 0; x < p->width; x++) {
        if (p->stored_row[x] != oy)
            continue;
        for (size_t y = 0; y < s->panel_height; y++)
            memcpy(sheet_at(s, y, p->x0 + x), row + p->stored_col[y] * px, px);
    }
}

void sheet_add_row(struct contact_sheet *s, size_t panel, const void *row)
{
    struct panel *p = &s->panels[panel];
    size_t oy = p->next_row++;
    if (oy >= p->out_h)
        return;
    if (s->transpose)
        add_turned_row(s, p, oy, row);
    else
        add_upright_row(s, p, oy, row);
}

void sheet_size_line(char *buf, size_t len, const char *size, double psnr)
{
    if (isnan(psnr))
        snprintf(buf, len, "%s", size);
    else if (isinf(psnr) && psnr > 0)
        snprintf(buf, len, "%s  inf dB", size);
    else
        snprintf(buf, len, "%s  %.1f dB", size, psnr);
}

void sheet_caption(struct contact_sheet *s, size_t panel, const char *line1, const char *line2)
{
    const struct panel *p = &s->panels[panel];
    size_t x = p->x0 + s->scale, y = s->panel_height + CAPTION_MARGIN * s->scale;
    size_t room = p->width > s->scale ? p->width - s->scale : 0;
    draw_text(s, line1, x, y, room);
    draw_text(s, line2, x, y + CAPTION_LINE * s->scale, room);
}

size_t sheet_width(const struct contact_sheet *s) { return s->width; }
size_t sheet_height(const struct contact_sheet *s) { return s->height; }
enum pool_dtype sheet_dtype(const struct contact_sheet *s) { return s->dtype; }
size_t sheet_channels(const struct contact_sheet *s) { return s->inner; }

const void *sheet_row(const struct contact_sheet *s, size_t y)
{
    return s->pixels + y * s->width * s->inner * s->elem;
}

void sheet_free(struct contact_sheet *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->npanels; i++) {
        free(s->panels[i].stored_row);
        free(s->panels[i].stored_col);
    }
    free(s->panels);
    free(s->pixels);
    free(s);
}
