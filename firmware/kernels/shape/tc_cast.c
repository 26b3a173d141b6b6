/*
 * CAST between int8, uint8, int16, int32, int64, float32 and bool: LiteRT's cast.cc,
 * element by element:
 *   integer -> narrower integer   wraps (two's complement, low bits kept)
 *   any -> bool                   x != 0 (NaN is true); bool -> any: 0 or 1
 *   integer -> float              rounds to nearest even (int32 and int64 alike)
 *   float -> integer              truncated toward zero, saturated to the type's range,
 *                                 NaN giving the type's maximum (LiteRT 2.3's results,
 *                                 tests/kernels/test_kernels_shape_ops.py checks them)
 * Values are read and written with memcpy (no unaligned wide accesses on ARMv6-M). In
 * place: forward when the output element is no wider than the input's, else backward, so
 * each element is read before the output reaches its bytes.
 */
#include <string.h>

#include "tc_nn_shape.h"

static const int32_t type_size[] = {1, 1, 2, 4, 8, 4, 1};

typedef struct {
    int is_float;
    int64_t i;
    float f;
} value;

static inline value load(int32_t type, const uint8_t *p)
{
    value v = {0, 0, 0.0f};
    switch (type) {
    case TC_TYPE_INT8: v.i = (int8_t)p[0]; break;
    case TC_TYPE_UINT8: v.i = p[0]; break;
    case TC_TYPE_INT16: {
        int16_t x;
        memcpy(&x, p, 2);
        v.i = x;
        break;
    }
    case TC_TYPE_INT32: {
        int32_t x;
        memcpy(&x, p, 4);
        v.i = x;
        break;
    }
    case TC_TYPE_INT64: memcpy(&v.i, p, 8); break;
    case TC_TYPE_FLOAT32:
        v.is_float = 1;
        memcpy(&v.f, p, 4);
        break;
    default: v.i = p[0] != 0; break; /* bool */
    }
    return v;
}

/* float -> integer in LiteRT 2.3's CAST: truncated toward zero, saturated to the type's
 * range [lo, hi]; NaN gives hi. `limit` = hi + 1 as a float (exact: a power of two). */
static inline int64_t saturate(float f, int64_t lo, int64_t hi, float limit)
{
    if (f != f || f >= limit) {
        return hi;
    }
    if (f <= (float)lo) {
        return lo;
    }
    return (int64_t)f;
}

static inline void store(int32_t type, int32_t from_type, value v, uint8_t *p)
{
    int64_t i = v.i;
    if (v.is_float) {
        switch (type) {
        case TC_TYPE_FLOAT32: memcpy(p, &v.f, 4); return;
        case TC_TYPE_BOOL: p[0] = v.f != 0.0f; return;
        case TC_TYPE_INT8: i = saturate(v.f, INT8_MIN, INT8_MAX, 128.0f); break;
        case TC_TYPE_UINT8: i = saturate(v.f, 0, UINT8_MAX, 256.0f); break;
        case TC_TYPE_INT16: i = saturate(v.f, INT16_MIN, INT16_MAX, 32768.0f); break;
        case TC_TYPE_INT32: i = saturate(v.f, INT32_MIN, INT32_MAX, 2147483648.0f); break;
        default: i = saturate(v.f, INT64_MIN, INT64_MAX, 9223372036854775808.0f); break;
        }
    } else if (type == TC_TYPE_FLOAT32) {
        /* one rounding either way; the int32 conversion is the cheap one */
        const float f = from_type == TC_TYPE_INT64 ? (float)v.i : (float)(int32_t)v.i;
        memcpy(p, &f, 4);
        return;
    }
    const uint64_t bits = (uint64_t)i; /* two's complement: keep the low bytes */
    switch (type) {
    case TC_TYPE_INT8:
    case TC_TYPE_UINT8: p[0] = (uint8_t)bits; break;
    case TC_TYPE_INT16: {
        const uint16_t x = (uint16_t)bits;
        memcpy(p, &x, 2);
        break;
    }
    case TC_TYPE_INT32: {
        const uint32_t x = (uint32_t)bits;
        memcpy(p, &x, 4);
        break;
    }
    case TC_TYPE_INT64: memcpy(p, &bits, 8); break;
    default: p[0] = i != 0; break; /* bool */
    }
}

tc_status tc_cast(const tc_cast_params *params, int32_t size, const void *input, void *output)
{
    const int32_t from = params->input_type;
    const int32_t to = params->output_type;
    if (from < TC_TYPE_INT8 || from > TC_TYPE_BOOL || to < TC_TYPE_INT8 || to > TC_TYPE_BOOL ||
        size < 0) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t in_size = type_size[from];
    const int32_t out_size = type_size[to];
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    if (out_size > in_size) {
        for (int32_t k = size - 1; k >= 0; --k) {
            store(to, from, load(from, in + (size_t)k * in_size), out + (size_t)k * out_size);
        }
    } else {
        for (int32_t k = 0; k < size; ++k) {
            store(to, from, load(from, in + (size_t)k * in_size), out + (size_t)k * out_size);
        }
    }
    return TC_OK;
}
