#include "exif.h"

#include <libexif/exif-data.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define EXIF_HEADER "Exif\0\0"
#define EXIF_HEADER_LEN 6
#define EXIF_MAX (1u << 24) /* far above the 64 KiB a JPEG segment holds */

/* libexif's allocations: an allocation that fails makes it log and go on without what it
 * was for (a tag, the orientation), so each one is watched. libexif's allocator takes no
 * context: the flag is the thread's (a batch reads several files at once). */
static _Thread_local bool exif_out_of_memory;

static void *exif_alloc(ExifLong size)
{
    void *p = calloc(size, 1); /* libexif's own allocator zeroes */
    exif_out_of_memory |= !p;
    return p;
}

static void *exif_realloc(void *p, ExifLong size)
{
    void *grown = realloc(p, size);
    exif_out_of_memory |= !grown;
    return grown;
}

/* libexif wants the "Exif\0\0" header before the TIFF structure. NULL when the block is
 * not one, or out of memory (exif_out_of_memory then says so). */
static ExifData *load(const unsigned char *tiff, size_t len)
{
    exif_out_of_memory = false;
    if (!tiff || len < 8 || len > EXIF_MAX)
        return NULL;
    unsigned char *buf = malloc(len + EXIF_HEADER_LEN);
    ExifMem *mem = buf ? exif_mem_new(exif_alloc, exif_realloc, free) : NULL;
    ExifData *ed = mem ? exif_data_new_mem(mem) : NULL;
    exif_mem_unref(mem); /* (ed holds its own reference) */
    if (ed) {
        /* keep the block as it is: no tags added or dropped to follow the specification */
        exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
        exif_data_unset_option(ed, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
        memcpy(buf, EXIF_HEADER, EXIF_HEADER_LEN);
        memcpy(buf + EXIF_HEADER_LEN, tiff, len);
        exif_data_load_data(ed, buf, (unsigned)(len + EXIF_HEADER_LEN));
    }
    exif_out_of_memory |= !buf;
    free(buf);
    if (ed && exif_out_of_memory) {
        exif_data_unref(ed);
        return NULL;
    }
    return ed;
}

static ExifEntry *orientation_entry(ExifData *ed)
{
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    bool fits = e && e->components >= 1 &&
                ((e->format == EXIF_FORMAT_SHORT && e->size >= 2) ||
                 (e->format == EXIF_FORMAT_LONG && e->size >= 4)); /* LONG: off-spec, but seen */
    return fits ? e : NULL;
}

unsigned exif_orientation(const unsigned char *tiff, size_t len)
{
    ExifData *ed = load(tiff, len);
    if (!ed)
        return exif_out_of_memory ? 0 : 1;
    ExifEntry *e = orientation_entry(ed);
    ExifByteOrder order = exif_data_get_byte_order(ed);
    unsigned v = !e                               ? 1
                 : e->format == EXIF_FORMAT_SHORT ? exif_get_short(e->data, order)
                                                  : exif_get_long(e->data, order);
    exif_data_unref(ed);
    return v >= 1 && v <= 8 ? v : 1;
}

static void set_dimension(ExifData *ed, ExifTag tag, size_t value)
{
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_EXIF], tag);
    ExifByteOrder order = exif_data_get_byte_order(ed);
    if (!e || e->components < 1)
        return;
    if (e->format == EXIF_FORMAT_SHORT && e->size >= 2 && value <= 0xffff)
        exif_set_short(e->data, order, (ExifShort)value);
    else if (e->format == EXIF_FORMAT_LONG && e->size >= 4 && value <= 0xffffffffu)
        exif_set_long(e->data, order, (ExifLong)value);
}

int exif_rewrite(const unsigned char *tiff, size_t len, bool drop_orientation, size_t width,
                 size_t height, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    ExifData *ed = load(tiff, len);
    if (!ed)
        return exif_out_of_memory ? -2 : -1;
    ExifEntry *e = drop_orientation ? orientation_entry(ed) : NULL;
    if (e)
        exif_content_remove_entry(ed->ifd[EXIF_IFD_0], e);
    set_dimension(ed, EXIF_TAG_PIXEL_X_DIMENSION, width);
    set_dimension(ed, EXIF_TAG_PIXEL_Y_DIMENSION, height);
    unsigned char *saved = NULL;
    unsigned int saved_len = 0;
    exif_data_save_data(ed, &saved, &saved_len);
    exif_data_unref(ed);
    /* libexif writes the "Exif\0\0" header first: hand out the TIFF structure alone */
    if (exif_out_of_memory || !saved || saved_len <= EXIF_HEADER_LEN ||
        memcmp(saved, EXIF_HEADER, EXIF_HEADER_LEN)) {
        free(saved);
        return exif_out_of_memory ? -2 : -1;
    }
    memmove(saved, saved + EXIF_HEADER_LEN, saved_len - EXIF_HEADER_LEN);
    *out = saved;
    *out_len = saved_len - EXIF_HEADER_LEN;
    return 0;
}
