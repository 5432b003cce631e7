/* --fast: the first pass done by the decoder as it decodes (a JPEG's DCT scaling), where
 * the decoder's shrink stands for that pass: an average over whole k x k blocks. Elsewhere
 * every pass runs exactly, silently; --plan says which for each input. */
#ifndef POOL_FAST_H
#define POOL_FAST_H

#include <stddef.h>

#include "../codec/codec.h"
#include "../core/pass.h"
#include "options.h"

/* The factor k (2, 4 or 8) by which r's decoder can do `first` (pass 1 as it pools the
 * stored image, core/orient.h) over `stored` (the reader's shape, laid out); 0 when --fast
 * was not given or cannot apply, and then, when why is not NULL, the reason in it ("" when
 * --fast was not given). */
unsigned fast_factor(const struct cli_options *o, const struct tensor_reader *r,
                     const struct tensor_shape *stored, const struct pool_pass *first, char *why,
                     size_t len);

#endif
