/*
 * A contact sheet: the input and every pass's output side by side, each expanded (nearest)
 * to the input's height, with a caption under each. Rows arrive per panel as they stream;
 * the sheet is held whole (about passes + 1 times the input) until it is written.
 */
#ifndef POOL_SHEET_H
#define POOL_SHEET_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/error.h"
#include "../core/tensor.h"

struct contact_sheet;

/* panels[0] is the input; all must be one 2-D plane of 1 to 4 channels of u8 or u16,
 * of one type and channel count. has_alpha: the last channel is alpha (kept opaque in the
 * margins). captions[i] is drawn under panel i, cut to fit. */
int sheet_create(struct contact_sheet **out, const struct row_geom *panels,
                 const char *const *captions, size_t npanels, bool has_alpha,
                 struct pool_error *err);
/* The next row of panel i (its rows arrive in order). */
void sheet_add_row(struct contact_sheet *s, size_t panel, const void *row);
/* The finished sheet: height rows of width * channels elements of the panels' type. */
size_t sheet_width(const struct contact_sheet *s);
size_t sheet_height(const struct contact_sheet *s);
enum pool_dtype sheet_dtype(const struct contact_sheet *s);
size_t sheet_channels(const struct contact_sheet *s);
const void *sheet_row(const struct contact_sheet *s, size_t y);
void sheet_free(struct contact_sheet *s);

#endif
