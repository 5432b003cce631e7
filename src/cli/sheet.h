/*
 * A contact sheet: the input and every pass's output side by side, upright, each sampled
 * by nearest neighbour to one panel height, with a two-line caption under each. Rows
 * arrive per panel as they stream, in the stored orientation; the sheet is held whole
 * (its own width x height x channels) until it is written, so the captions can be drawn
 * last, when figures about the whole stack are known.
 */
#ifndef POOL_SHEET_H
#define POOL_SHEET_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/error.h"
#include "../core/orient.h"
#include "../core/tensor.h"

/* The default keeps the whole sheet (panels and captions) within this many rows. */
#define SHEET_DEFAULT_MAX_HEIGHT 2048
#define SHEET_HEIGHT_MAX 65535

/* --sheet-crop WxH+X+Y: a region of the upright input, in its pixels, width first. */
struct sheet_crop {
    bool given;
    size_t width, height, x, y;
    const char *text; /* as written, for messages */
};

/* Parses WxH or WxH+X+Y; errors say what a crop looks like. */
int sheet_crop_parse(const char *s, struct sheet_crop *c, struct pool_error *err);
/* Whether the crop lies within an upright image of width x height. */
int sheet_crop_check(const struct sheet_crop *c, size_t width, size_t height,
                     struct pool_error *err);

struct sheet_layout {
    size_t panel_height;     /* --sheet-height; 0: the default */
    struct sheet_crop crop;  /* not given: whole panels */
    struct orientation turn; /* how the stored rows are turned upright */
};

struct contact_sheet;

/* panels[0] is the input; all must be one 2-D plane of 1 to 4 channels of u8 or u16,
 * of one type and channel count (sheet_check_panels). has_alpha: the last channel is
 * alpha (kept opaque in the margins). A crop must lie within the input (sheet_crop_check).
 * Without a crop, panel k is pass k's output sampled to the panel height; with one, it is
 * pass k's output expanded by nearest to the input's size, cropped, then sampled. */
int sheet_check_panels(const struct row_geom *panels, size_t npanels, struct pool_error *err);
int sheet_create(struct contact_sheet **out, const struct row_geom *panels, size_t npanels,
                 bool has_alpha, const struct sheet_layout *layout, struct pool_error *err);
/* The next stored row of panel i (its rows arrive in order). */
void sheet_add_row(struct contact_sheet *s, size_t panel, const void *row);
/* A caption's second line: the size, then the PSNR when it is known (NaN: not known, left
 * out; +inf: "inf dB", nothing was lost). */
void sheet_size_line(char *buf, size_t len, const char *size, double psnr);
/* Draws two lines of text under panel i, each cut to the panel's width. */
void sheet_caption(struct contact_sheet *s, size_t panel, const char *line1, const char *line2);
/* The finished sheet: height rows of width * channels elements of the panels' type. */
size_t sheet_width(const struct contact_sheet *s);
size_t sheet_height(const struct contact_sheet *s);
enum pool_dtype sheet_dtype(const struct contact_sheet *s);
size_t sheet_channels(const struct contact_sheet *s);
const void *sheet_row(const struct contact_sheet *s, size_t y);
void sheet_free(struct contact_sheet *s);

#endif
