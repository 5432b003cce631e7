/*
 * Which kernels pool's hot loops run: the portable row loops, which take every shape, or
 * the vector kernels (vector.h) for the common ones, compiled once per instruction set and
 * chosen at run time by what the processor has. Every level gives the same bytes: the
 * vector kernels do the portable loops' arithmetic in the same order.
 */
#ifndef POOL_SIMD_H
#define POOL_SIMD_H

#include <stdbool.h>

enum simd_level {
    SIMD_PORTABLE, /* the row loops of kernels.h alone */
    SIMD_BASELINE, /* vector kernels for the compiler's default target (SSE2 on x86-64) */
    SIMD_AVX2,     /* x86-64 with AVX2 */
    SIMD_AVX512,   /* x86-64 with AVX-512 F, BW, DQ and VL */
    SIMD_LEVELS
};

/* The best level this processor runs. */
enum simd_level simd_best(void);
/* Whether this build and this processor can run level l. */
bool simd_available(enum simd_level l);
/* "portable", "baseline", "avx2", "avx512". */
const char *simd_name(enum simd_level l);
/* Parses a name above; false for anything else. */
bool simd_parse(const char *name, enum simd_level *out);

#endif
