#include "dtype.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name, *alias;
    size_t size;
} dtype_info[DT_COUNT] = {
    [DT_U8] = {"u8", "uint8", 1},     [DT_I8] = {"i8", "int8", 1},
    [DT_U16] = {"u16", "uint16", 2},  [DT_I16] = {"i16", "int16", 2},
    [DT_U32] = {"u32", "uint32", 4},  [DT_I32] = {"i32", "int32", 4},
    [DT_U64] = {"u64", "uint64", 8},  [DT_I64] = {"i64", "int64", 8},
    [DT_F16] = {"f16", "float16", 2}, [DT_F32] = {"f32", "float32", 4},
    [DT_F64] = {"f64", "float64", 8},
};

size_t dtype_size(enum pool_dtype t) { return dtype_info[t].size; }
const char *dtype_name(enum pool_dtype t) { return dtype_info[t].name; }
bool dtype_is_float(enum pool_dtype t) { return t == DT_F16 || t == DT_F32 || t == DT_F64; }

bool dtype_is_signed(enum pool_dtype t)
{
    return t == DT_I8 || t == DT_I16 || t == DT_I32 || t == DT_I64 || dtype_is_float(t);
}

bool dtype_parse(const char *s, enum pool_dtype *out)
{
    static const struct {
        const char *name;
        enum pool_dtype t;
    } extra[] = {
        {"half", DT_F16}, {"float", DT_F32}, {"double", DT_F64}, {"f2", DT_F16},
        {"f4", DT_F32},   {"f8", DT_F64},    {"u1", DT_U8},      {"i1", DT_I8},
        {"u2", DT_U16},   {"i2", DT_I16},    {"u4", DT_U32},     {"i4", DT_I32},
    };
    for (int t = 0; t < DT_COUNT; t++)
        if (!strcmp(s, dtype_info[t].name) || !strcmp(s, dtype_info[t].alias)) {
            *out = (enum pool_dtype)t;
            return true;
        }
    /* NumPy's codes with byte counts (f4, u1...); not u8/i8, which are ours (8 bits). */
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (!strcmp(s, extra[i].name)) {
            *out = extra[i].t;
            return true;
        }
    return false;
}

float half_to_float(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)mant, -24); /* subnormal */
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexpf((float)(mant | 0x400), exp - 25);
    return sign ? -v : v;
}

uint16_t float_to_half(double x)
{
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    double a = fabs(x);
    if (isnan(x))
        return sign | 0x7e00;
    if (a >= 65520.0) /* rounds to infinity: max half 65504, halfway to next 65520 */
        return sign | 0x7c00;
    if (a < ldexp(1.0, -14)) {
        /* subnormal range: units of 2^-24, nearbyint rounds ties to even */
        return sign | (uint16_t)nearbyint(a * 16777216.0);
    }
    int e;
    double m = frexp(a, &e);               /* a = m * 2^e, m in [0.5, 1) */
    double scaled = nearbyint(m * 2048.0); /* 11 significant bits */
    if (scaled == 2048.0) {
        scaled = 1024.0;
        e++;
    }
    int exp = e - 1 + 15;
    return sign | (uint16_t)((exp << 10) | ((int)scaled - 1024));
}

#define ROW_TO_DOUBLE(T, LOAD)                                                                     \
    do {                                                                                           \
        const T *in = row;                                                                         \
        for (size_t i = 0; i < n; i++)                                                             \
            out[i] = (double)LOAD(in[i]);                                                          \
    } while (0)
#define AS_IS(x) (x)

void dtype_row_to_double(enum pool_dtype t, const void *row, double *out, size_t n)
{
    switch (t) {
    case DT_U8: ROW_TO_DOUBLE(uint8_t, AS_IS); break;
    case DT_I8: ROW_TO_DOUBLE(int8_t, AS_IS); break;
    case DT_U16: ROW_TO_DOUBLE(uint16_t, AS_IS); break;
    case DT_I16: ROW_TO_DOUBLE(int16_t, AS_IS); break;
    case DT_U32: ROW_TO_DOUBLE(uint32_t, AS_IS); break;
    case DT_I32: ROW_TO_DOUBLE(int32_t, AS_IS); break;
    case DT_U64: ROW_TO_DOUBLE(uint64_t, AS_IS); break;
    case DT_I64: ROW_TO_DOUBLE(int64_t, AS_IS); break;
    case DT_F16: ROW_TO_DOUBLE(uint16_t, half_to_float); break;
    case DT_F32: ROW_TO_DOUBLE(float, AS_IS); break;
    case DT_F64: ROW_TO_DOUBLE(double, AS_IS); break;
    default: break;
    }
}
