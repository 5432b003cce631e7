#include "kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef __int128 int128;
#define INT128_HIGHEST ((int128)(((unsigned __int128)1 << 127) - 1))
#define INT128_LOWEST (-INT128_HIGHEST - 1)

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name, SFX)

/* ---- accumulators ---- */
#define ACC double
#define SFX acc_f64
#define ACC_IS_NAN(v) ((v) != (v))
#define ACC_NAN NAN
#define ACC_LOWEST (-INFINITY)
#define ACC_HIGHEST INFINITY
#include "kernels_acc.inc"
#undef ACC
#undef SFX
#undef ACC_IS_NAN
#undef ACC_NAN
#undef ACC_LOWEST
#undef ACC_HIGHEST

#define ACC int64_t
#define SFX acc_i64
#define ACC_IS_NAN(v) 0
#define ACC_NAN 0
#define ACC_LOWEST INT64_MIN
#define ACC_HIGHEST INT64_MAX
#include "kernels_acc.inc"
#undef ACC
#undef SFX
#undef ACC_IS_NAN
#undef ACC_NAN
#undef ACC_LOWEST
#undef ACC_HIGHEST

#define ACC int128
#define SFX acc_i128
#define ACC_IS_NAN(v) 0
#define ACC_NAN 0
#define ACC_LOWEST INT128_LOWEST
#define ACC_HIGHEST INT128_HIGHEST
#include "kernels_acc.inc"
#undef ACC
#undef SFX
#undef ACC_IS_NAN
#undef ACC_NAN
#undef ACC_LOWEST
#undef ACC_HIGHEST

/* ---- element types ---- */
#define LOAD(x) (x)

#define T uint8_t
#define SFX u8
#define ACC int64_t
#define ACC_KIND ACC_I64
#define ACC_IS_NAN(v) 0
#define ACC_NAN 0
#define ACC_LOWEST INT64_MIN
#define ACC_HIGHEST INT64_MAX
#define T_IS_FLOAT 0
#define T_LOWEST 0
#define T_HIGHEST UINT8_MAX
#include "kernels_type.inc"
#undef T
#undef SFX
#undef T_LOWEST
#undef T_HIGHEST

#define T int8_t
#define SFX i8
#define T_LOWEST INT8_MIN
#define T_HIGHEST INT8_MAX
#include "kernels_type.inc"
#undef T
#undef SFX
#undef T_LOWEST
#undef T_HIGHEST

#define T uint16_t
#define SFX u16
#define T_LOWEST 0
#define T_HIGHEST UINT16_MAX
#include "kernels_type.inc"
#undef T
#undef SFX
#undef T_LOWEST
#undef T_HIGHEST

#define T int16_t
#define SFX i16
#define T_LOWEST INT16_MIN
#define T_HIGHEST INT16_MAX
#include "kernels_type.inc"
#undef T
#undef SFX
#undef T_LOWEST
#undef T_HIGHEST
#undef ACC
#undef ACC_KIND
#undef ACC_LOWEST
#undef ACC_HIGHEST

/* 32- and 64-bit integers sum into 128 bits. */
#define ACC int128
#define ACC_KIND ACC_I128
#define ACC_LOWEST INT128_LOWEST
#define ACC_HIGHEST INT128_HIGHEST

#define T uint32_t
#define SFX u32
#define T_LOWEST 0
#define T_HIGHEST UINT32_MAX
#include "kernels_type.inc"
#undef T
#undef SFX
#undef T_LOWEST
#undef T_HIGHEST

#define T int32_t
#define SFX i32
#define T_LOWEST INT32_MIN
#define T_HIGHEST INT32_MAX
#include "kernels_type.inc"
#undef T
#undef SFX
#undef T_LOWEST
#undef T_HIGHEST

#define T uint64_t
#define SFX u64
#define T_LOWEST 0
#define T_HIGHEST UINT64_MAX
#include "kernels_type.inc"
#undef T
#undef SFX
#undef T_LOWEST
#undef T_HIGHEST

#define T int64_t
#define SFX i64
#define T_LOWEST INT64_MIN
#define T_HIGHEST INT64_MAX
#include "kernels_type.inc"
#undef T
#undef SFX
#undef T_LOWEST
#undef T_HIGHEST
#undef ACC
#undef ACC_KIND
#undef ACC_IS_NAN
#undef ACC_NAN
#undef ACC_LOWEST
#undef ACC_HIGHEST
#undef T_IS_FLOAT

/* Floats accumulate in double, as PyTorch's own reference would to be exact. */
#define ACC double
#define ACC_KIND ACC_F64
#define ACC_IS_NAN(v) ((v) != (v))
#define ACC_NAN NAN
#define ACC_LOWEST (-INFINITY)
#define ACC_HIGHEST INFINITY
#define T_IS_FLOAT 1
#define T_LOWEST (-INFINITY)
#define T_HIGHEST INFINITY

#define T float
#define SFX f32
#define STORE_FLOAT(x) ((float)(x))
#include "kernels_type.inc"
#undef T
#undef SFX
#undef STORE_FLOAT

#define T double
#define SFX f64
#define STORE_FLOAT(x) (x)
#include "kernels_type.inc"
#undef T
#undef SFX
#undef STORE_FLOAT

#undef LOAD
#define LOAD(x) half_to_float(x)
#define T uint16_t
#define SFX f16
#define STORE_FLOAT(x) float_to_half(x)
#include "kernels_type.inc"

const struct type_kernels *kernels_for(enum pool_dtype t)
{
    static const struct type_kernels *const table[DT_COUNT] = {
        [DT_U8] = &kernels_u8,   [DT_I8] = &kernels_i8,   [DT_U16] = &kernels_u16,
        [DT_I16] = &kernels_i16, [DT_U32] = &kernels_u32, [DT_I32] = &kernels_i32,
        [DT_U64] = &kernels_u64, [DT_I64] = &kernels_i64, [DT_F16] = &kernels_f16,
        [DT_F32] = &kernels_f32, [DT_F64] = &kernels_f64,
    };
    return table[t];
}

enum acc_kind acc_for(enum pool_dtype t, enum pool_mode mode)
{
    return mode == MODE_LP ? ACC_F64 : kernels_for(t)->acc;
}

size_t acc_size(enum acc_kind a) { return a == ACC_F64 ? sizeof(double) : a == ACC_I64 ? 8 : 16; }

void acc_combine(enum acc_kind a, enum pool_mode mode, void *dst, const void *src, size_t n)
{
    if (a == ACC_F64)
        combine_acc_f64(mode, dst, src, n);
    else if (a == ACC_I64)
        combine_acc_i64(mode, dst, src, n);
    else
        combine_acc_i128(mode, dst, src, n);
}

void acc_reset(enum acc_kind a, enum pool_mode mode, void *dst, size_t n)
{
    if (a == ACC_F64)
        reset_acc_f64(mode, dst, n);
    else if (a == ACC_I64)
        reset_acc_i64(mode, dst, n);
    else
        reset_acc_i128(mode, dst, n);
}
