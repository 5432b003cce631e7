/* Element types of a tensor, their sizes and names, and IEEE half conversion. */
#ifndef POOL_DTYPE_H
#define POOL_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pool_dtype {
    DT_U8,
    DT_I8,
    DT_U16,
    DT_I16,
    DT_U32,
    DT_I32,
    DT_U64,
    DT_I64,
    DT_F16,
    DT_F32,
    DT_F64,
    DT_COUNT
};

size_t dtype_size(enum pool_dtype t);
const char *dtype_name(enum pool_dtype t);
bool dtype_is_float(enum pool_dtype t);
bool dtype_is_signed(enum pool_dtype t);

/* Accepts our names (u8, f32...) and NumPy's (uint8, float32, half...). */
bool dtype_parse(const char *s, enum pool_dtype *out);

float half_to_float(uint16_t h);
/* n elements of type t as doubles (64-bit integers beyond 2^53 round). */
void dtype_row_to_double(enum pool_dtype t, const void *row, double *out, size_t n);
/* Rounds to nearest, ties to even; overflow gives infinity, NaN stays NaN. */
uint16_t float_to_half(double x);

#endif
