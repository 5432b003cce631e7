/* Fuzz harness: an EXIF block (the TIFF structure) through src/codec/exif.c: its
 * orientation, and its copy rewritten for a pooled output (libexif). */
#include <stdlib.h>

#include "codec/exif.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned orientation = exif_orientation(data, size);
    if (orientation < 1 || orientation > 8)
        abort(); /* the contract: 1 to 8 whatever the block (0: out of memory) */
    unsigned char *out = NULL;
    size_t out_len = 0;
    if (exif_rewrite(data, size, size % 2 == 0, 7 + size % 5, 3 + size % 3, &out, &out_len) == 0) {
        /* what it wrote must read back */
        if (exif_orientation(out, out_len) < 1)
            abort();
        free(out);
    }
    return 0;
}
