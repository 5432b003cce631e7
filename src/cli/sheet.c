#include "sheet.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "font.h"

/* The sheet's biggest allowed size: it is held in memory. */
#define SHEET_MAX_BYTES ((size_t)1 << 31)

struct panel {
    size_t x0, width;    /* where it sits on the sheet, and its expanded width */
    size_t out_h, out_w; /* the rows it receives */
    size_t next_row;
};

struct contact_sheet {
    enum pool_dtype dtype;
    size_t inner, elem, height, image_height, width;
    struct panel *panels;
    size_t npanels;
    unsigned char *pixels;
    unsigned char *expanded; /* one expanded row of the widest panel */
    size_t scale;            /* font pixels per glyph pixel */
};

static size_t scale_for(size_t height)
{
    size_t s = height / 256;
    return s < 1 ? 1 : s > 8 ? 8 : s;
}

static void put_value(const struct contact_sheet *s, unsigned char *at, unsigned value)
{
    if (s->dtype == DT_U8)
        *at = (unsigned char)value;
    else
        memcpy(at, &(uint16_t){(uint16_t)value}, 2);
}

/* Fills a rectangle with a gray level (0 black .. 1 white); alpha stays opaque. */
static void fill(struct contact_sheet *s, size_t x, size_t y, size_t w, size_t h, double level,
                 bool has_alpha)
{
    unsigned max = s->dtype == DT_U8 ? 255 : 65535;
    for (size_t row = y; row < y + h && row < s->height; row++)
        for (size_t col = x; col < x + w && col < s->width; col++)
            for (size_t c = 0; c < s->inner; c++) {
                bool alpha = has_alpha && c + 1 == s->inner;
                unsigned v = alpha ? max : (unsigned)(level * max + 0.5);
                put_value(s, s->pixels + ((row * s->width + col) * s->inner + c) * s->elem, v);
            }
}

static void draw_text(struct contact_sheet *s, const char *text, size_t x, size_t y,
                      size_t max_width, bool has_alpha)
{
    size_t step = (FONT_WIDTH + 1) * s->scale;
    for (size_t i = 0; text[i] && (i + 1) * step <= max_width; i++) {
        const uint8_t *g = font_glyph(text[i]);
        for (int r = 0; r < FONT_HEIGHT; r++)
            for (int b = 0; b < FONT_WIDTH; b++)
                if (g[r] & (0x10 >> b))
                    fill(s, x + i * step + (size_t)b * s->scale, y + (size_t)r * s->scale, s->scale,
                         s->scale, 0.0, has_alpha);
    }
}

static int check_panels(const struct row_geom *p, size_t n, struct pool_error *err)
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

/* Lays the panels out left to right with a gap, and sizes the sheet. */
static int lay_out(struct contact_sheet *s, const struct row_geom *p, struct pool_error *err)
{
    size_t gap = 2 * s->scale, x = 0, widest = 1;
    for (size_t i = 0; i < s->npanels; i++) {
        struct panel *pn = &s->panels[i];
        pn->out_h = p[i].size[1];
        pn->out_w = p[i].size[2];
        double w = (double)pn->out_w * (double)s->image_height / (double)pn->out_h;
        if (w > (double)SHEET_MAX_BYTES)
            return pool_fail(err, "a contact sheet this wide would not fit in memory");
        pn->width = w < 1 ? 1 : (size_t)(w + 0.5);
        pn->x0 = x;
        x += pn->width + (i + 1 < s->npanels ? gap : 0);
        widest = pn->width > widest ? pn->width : widest;
    }
    s->width = x;
    s->height = s->image_height + (FONT_HEIGHT + 4) * s->scale;
    double bytes = (double)s->width * (double)s->height * (double)(s->inner * s->elem);
    if (bytes > (double)SHEET_MAX_BYTES)
        return pool_fail(err, "the contact sheet would need %.0f MiB (at most %zu)",
                         bytes / (1 << 20), SHEET_MAX_BYTES >> 20);
    s->pixels = malloc((size_t)bytes);
    s->expanded = malloc(widest * s->inner * s->elem);
    if (!s->pixels || !s->expanded)
        return pool_fail_resource(err, "out of memory for the contact sheet");
    return 0;
}

int sheet_create(struct contact_sheet **out, const struct row_geom *panels,
                 const char *const *captions, size_t npanels, bool has_alpha,
                 struct pool_error *err)
{
    *out = NULL;
    if (check_panels(panels, npanels, err))
        return -1;
    struct contact_sheet *s = calloc(1, sizeof *s);
    if (!s || !(s->panels = calloc(npanels, sizeof *s->panels))) {
        free(s);
        return pool_fail_resource(err, "out of memory for the contact sheet");
    }
    s->dtype = panels[0].dtype;
    s->inner = panels[0].inner;
    s->elem = dtype_size(s->dtype);
    s->npanels = npanels;
    s->image_height = panels[0].size[1];
    s->scale = scale_for(s->image_height);
    if (lay_out(s, panels, err)) {
        sheet_free(s);
        return -1;
    }
    /* Gaps mid gray, captions black on white; panels are overwritten by their rows. */
    fill(s, 0, 0, s->width, s->height, 0.5, has_alpha);
    fill(s, 0, s->image_height, s->width, s->height - s->image_height, 1.0, has_alpha);
    for (size_t i = 0; i < npanels; i++)
        draw_text(s, captions[i], s->panels[i].x0 + s->scale, s->image_height + 2 * s->scale,
                  s->panels[i].width, has_alpha);
    *out = s;
    return 0;
}

void sheet_add_row(struct contact_sheet *s, size_t panel, const void *row)
{
    struct panel *p = &s->panels[panel];
    size_t oy = p->next_row++, px = s->inner * s->elem, H = s->image_height;
    if (oy >= p->out_h)
        return;
    for (size_t x = 0; x < p->width; x++)
        memcpy(s->expanded + x * px, (const char *)row + (x * p->out_w / p->width) * px, px);
    /* Sheet rows y with floor(y * out_h / H) == oy. */
    size_t first = (oy * H + p->out_h - 1) / p->out_h,
           end = ((oy + 1) * H + p->out_h - 1) / p->out_h;
    for (size_t y = first; y < end && y < H; y++)
        memcpy(s->pixels + (y * s->width + p->x0) * px, s->expanded, p->width * px);
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
    free(s->panels);
    free(s->pixels);
    free(s->expanded);
    free(s);
}
