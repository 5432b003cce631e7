/*
 * EXIF, read and rewritten through libexif. A block is the TIFF structure that JPEG
 * carries in an APP1 segment after "Exif\0\0" and PNG in its eXIf chunk (EXIF 2.32;
 * PNG 3rd edition, section 11.3.6.3).
 */
#ifndef POOL_EXIF_H
#define POOL_EXIF_H

#include <stdbool.h>
#include <stddef.h>

/* The orientation tag (TIFF tag 274 in IFD0; EXIF 2.32 section 4.6.4) of a block: 1 to 8;
 * 1 when the block or the tag is missing or invalid; 0 when out of memory to read it. */
unsigned exif_orientation(const unsigned char *tiff, size_t len);

/* A copy of the block for an output of width x height pixels: PixelXDimension and
 * PixelYDimension updated where present, the orientation tag removed when
 * drop_orientation (the pixels were turned upright). *out is malloc'd (free() it); 0 on
 * success, -1 when the block cannot be parsed or re-encoded (the output then goes without
 * EXIF), -2 when out of memory. */
int exif_rewrite(const unsigned char *tiff, size_t len, bool drop_orientation, size_t width,
                 size_t height, unsigned char **out, size_t *out_len);

#endif
