#include "simd.h"

#include <string.h>

static const char *const names[SIMD_LEVELS] = {"portable", "baseline", "avx2", "avx512"};

bool simd_available(enum simd_level l)
{
    switch (l) {
    case SIMD_PORTABLE:
    case SIMD_BASELINE: return true;
#if defined(__x86_64__) && defined(__GNUC__)
    case SIMD_AVX2: return __builtin_cpu_supports("avx2");
    case SIMD_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#endif
    default: return false;
    }
}

enum simd_level simd_best(void)
{
    enum simd_level l = SIMD_LEVELS;
    while (!simd_available(--l))
        ;
    return l;
}

const char *simd_name(enum simd_level l) { return l < SIMD_LEVELS ? names[l] : "?"; }

bool simd_parse(const char *name, enum simd_level *out)
{
    for (int l = 0; l < SIMD_LEVELS; l++)
        if (!strcmp(name, names[l])) {
            *out = (enum simd_level)l;
            return true;
        }
    return false;
}
