/*
 * The format modules' entry points, private to src/codec/ (and to the codecs' own unit
 * tests and fuzz harnesses): everything else goes through codec.h's format-blind calls,
 * so adding a format touches this header, its module and codec.c's tables.
 */
#ifndef POOL_FORMATS_H
#define POOL_FORMATS_H

#include <stdbool.h>
#include <stddef.h>

#include "codec.h"

/* The modules: each has a sniff (magic bytes), a read_header and a pair of ops. */
extern const struct reader_ops npy_reader_ops, raw_reader_ops, png_reader_ops, jpeg_reader_ops,
    pnm_reader_ops;
extern const struct writer_ops npy_writer_ops, npy_stack_writer_ops, raw_writer_ops, png_writer_ops,
    jpeg_writer_ops, pnm_writer_ops, txt_writer_ops, csv_writer_ops;
int npy_read_header(struct tensor_reader *r, struct pool_error *err);
int raw_read_header(struct tensor_reader *r, const struct raw_options *raw, struct pool_error *err);
int png_read_header(struct tensor_reader *r, struct pool_error *err);
int jpeg_codec_read_header(struct tensor_reader *r, struct pool_error *err);
int pnm_read_header(struct tensor_reader *r, struct pool_error *err);
bool npy_sniff(const unsigned char *bytes, size_t n);
bool png_sniff(const unsigned char *bytes, size_t n);
bool jpeg_sniff(const unsigned char *bytes, size_t n);
bool pnm_sniff(const unsigned char *bytes, size_t n);

/* The optional codecs (configure --without-tiff, --without-webp): their sniffs are in
 * codec.c, so a build without them still knows their files. */
extern const struct reader_ops tiff_reader_ops, webp_reader_ops;
extern const struct writer_ops tiff_writer_ops, webp_writer_ops;
int tiff_read_header(struct tensor_reader *r, struct pool_error *err);
int webp_read_header(struct tensor_reader *r, struct pool_error *err);
/* The most samples a TIFF pixel may have, read or written (multispectral images). */
#define TIFF_CHANNELS_MAX 256

#endif
