/*
 * EXIF orientation (TIFF 6.0 tag 274; EXIF 2.32 section 4.6.4): how a stored image S is
 * turned to be upright, U. Tag 1 is upright already; 2 mirrors left-right; 3 turns 180
 * degrees; 4 mirrors top-bottom; 5 transposes; 6 turns 90 degrees clockwise; 7
 * transverses; 8 turns 90 degrees counter-clockwise (Pillow's ImageOps.exif_transpose).
 * As index maps, with S of h x w:
 *   U[y][x] = S[sy][sx],  without transposing: sy = y or h-1-y, sx = x or w-1-x;
 *                         transposing (5-8):   sy = x or h-1-x, sx = y or w-1-y.
 * Pooling U equals pooling S with the pass's height and width arguments swapped (5-8) and
 * the reversed axes laid from their far end (pool_pass.reversed), then turning the result.
 */
#ifndef POOL_ORIENT_H
#define POOL_ORIENT_H

#include <stdbool.h>

#include "pass.h"

struct orientation {
    bool transpose;                  /* U's rows are S's columns */
    bool reverse_rows, reverse_cols; /* S's rows (height) and columns (width) read backwards */
};

/* Tags outside 1-8 are 1. */
struct orientation orientation_of(unsigned tag);
bool orientation_is_identity(struct orientation o);

/* A pass meant for U, as it pools S: height and width arguments swapped when transposing
 * (a size given once for every axis stays), and S's reversed axes marked. */
struct pool_pass orient_pass(const struct pool_pass *p, struct orientation o);

#endif
