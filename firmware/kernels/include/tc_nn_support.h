/*
 * tinyconv int8 kernels: TFLite's fixed-point requantization, bit for bit.
 *
 * By default this is TFLite's double-rounding MultiplyByQuantizedMultiplier
 * (SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT), which is what LiteRT's
 * reference kernels compute. Building with -DTC_SINGLE_ROUNDING selects TFLite's
 * TFLITE_SINGLE_ROUNDING variant (one 64-bit rounding shift) instead.
 */
#ifndef TC_NN_SUPPORT_H
#define TC_NN_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "tc_nn_types.h"

#define TC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define TC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TC_CLAMP(x, lo, hi) TC_MAX((lo), TC_MIN((x), (hi)))

static inline int32_t tc_doubling_high_mult(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    /* Division, not a shift: TFLite truncates toward zero here. */
    return (int32_t)((ab + nudge) / (1LL << 31));
}

static inline int32_t tc_divide_by_power_of_two(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((1LL << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/*
 * acc * multiplier * 2^(shift - 31), rounded as TFLite does, for every (multiplier, shift)
 * QuantizeMultiplier produces: shifts from -31 up to any left shift (effective scales of
 * 2^31 and more give shifts above 31, which TFLite's double-rounding build does not cap).
 * Where TFLite's C++ has undefined behaviour, this computes what LiteRT's build does
 * (tests/unit/test_quant.py checks it against LiteRT): `acc * (1 << left_shift)` wraps,
 * and the shift is taken modulo 32 (x86's shl). Nothing here overflows a signed type.
 */
static inline int32_t tc_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
#if defined(TC_SINGLE_ROUNDING)
    /* TFLITE_SINGLE_ROUNDING's QuantizeMultiplier caps the shift at 30. */
    if (shift > 30) {
        multiplier = INT32_MAX;
        shift = 30;
    }
    const int32_t total_shift = 31 - shift;
    const int64_t rounded = (int64_t)acc * multiplier + (1LL << (total_shift - 1));
    return (int32_t)(rounded >> total_shift);
#else
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)acc << (left_shift & 31));
    return tc_divide_by_power_of_two(tc_doubling_high_mult(shifted, multiplier), right_shift);
#endif
}

/* a + b in int32 as TFLite's kernels compute it (`acc += output_offset`): wrapping.
 * The convolutions' accumulators are int32 modulo 2^32 the same way: the sum over a
 * filter's taps always fits (the importer checks its reach), but the bias may not (the
 * converter saturates a dead channel's bias to +-(2^31 - 1)), and LiteRT's `acc += bias`
 * wraps. So every add of a bias, or onto an accumulator that may hold one, is this one:
 * defined in C with any compiler flags, and order-independent like the reference's sum. */
static inline int32_t tc_add_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* TC_CLAMP(x, act.min, act.max), written so that GCC keeps it to two compares. */
static inline int8_t tc_clamp_s8(int32_t x, tc_activation act)
{
    x = x > act.max ? act.max : x;
    x = x < act.min ? act.min : x;
    return (int8_t)x;
}

/* Element i of an int8, int16 or int32 array given by its element size (1, 2 or 4): for the
 * kernels whose one body serves several types, each caller passing a constant size, so the
 * choice folds away. */
static inline int32_t tc_load_sized(const void *p, int32_t i, size_t size)
{
    return size == 1 ? ((const int8_t *)p)[i]
                     : (size == 2 ? ((const int16_t *)p)[i] : ((const int32_t *)p)[i]);
}

/* Stores v (already in the type's range) as element i of an int8 or int16 array. */
static inline void tc_store_sized(void *p, int32_t i, int32_t v, size_t size)
{
    if (size == 1) {
        ((int8_t *)p)[i] = (int8_t)v;
    } else {
        ((int16_t *)p)[i] = (int16_t)v;
    }
}

#endif /* TC_NN_SUPPORT_H */
