#include "vector.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* GCC if-converts the select of a NaN flag only when comparisons may not trap, and at -O2
 * vectorises only loops whose trip count is known: these loops need both. Neither changes
 * a value (pool never reads the floating-point exception flags). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "tree-vectorize", "vect-cost-model=dynamic")
#endif

typedef __int128 int128;
#define INT128_HIGHEST ((int128)(((unsigned __int128)1 << 127) - 1))
#define INT128_LOWEST (-INT128_HIGHEST - 1)

#define VTARGET
#define ISA baseline
#include "vector_isa.inc"
#undef VTARGET
#undef ISA

#if defined(__x86_64__)
#define VTARGET __attribute__((target("avx2")))
#define ISA avx2
#include "vector_isa.inc"
#undef VTARGET
#undef ISA

#define VTARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))
#define ISA avx512
#include "vector_isa.inc"
#undef VTARGET
#undef ISA
#endif

const struct vector_kernels *vector_kernels_for(enum pool_dtype t, enum simd_level l)
{
    if (!simd_available(l))
        return NULL;
    switch (l) {
    case SIMD_BASELINE: return table_of_baseline[t];
#if defined(__x86_64__)
    case SIMD_AVX2: return table_of_avx2[t];
    case SIMD_AVX512: return table_of_avx512[t];
#endif
    default: return NULL;
    }
}

bool vector_run_supported(unsigned k, unsigned s)
{
    switch (k * 8 + s) {
    case 2 * 8 + 1:
    case 2 * 8 + 2:
    case 3 * 8 + 1:
    case 3 * 8 + 2:
    case 3 * 8 + 3:
    case 4 * 8 + 2:
    case 4 * 8 + 4: return true;
    default: return false;
    }
}
