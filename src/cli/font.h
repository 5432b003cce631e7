/* A tiny 5x7 bitmap font for captions: lower-case letters, digits, the punctuation pass
 * specs use, and B (for dB). Other upper case is drawn as lower case; anything else as
 * '?'. */
#ifndef POOL_FONT_H
#define POOL_FONT_H

#include <stdint.h>

#define FONT_WIDTH 5
#define FONT_HEIGHT 7

/* Seven rows, the leftmost pixel in bit 4. */
const uint8_t *font_glyph(char c);

#endif
