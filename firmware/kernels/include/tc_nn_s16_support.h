/*
 * tinyconv 16x8 kernels (int16 activations, int8 weights): the arithmetic they share.
 *
 * - tc_dot_s16_s8: sum(x[k] * w[k]) in int64, as TFLite's 16x8 reference kernels
 *   accumulate (int16 input, no input offset: int16 activations are symmetric).
 *   Portable C; Armv7E-M DSP: four MACs per two SMLALD (the int8 weights widened by
 *   SXTB16, the int16 inputs paired to match by PKHBT/PKHTB); Helium: eight MACs per
 *   VMLALDAVA (the weights widened by VLDRB.S16), the tail under a VCTP predicate.
 *   All three give the same int64 (integer sums are exact). tc_dot2_s16_s8: two filter
 *   rows against one input run, each input word loaded once.
 * - tc_requantize_s64: TFLite's MultiplyByQuantizedMultiplier(int64_t x, ...) of the
 *   double-rounding build, with the multiplier reduced to 16 bits:
 *     reduced = m < 0x7FFF0000 ? (m + 2^15) >> 16 : 0x7FFF
 *     out = (int32_t)((x * reduced + 2^(14 - shift)) >> (15 - shift))
 *   (shift -31..14: tinyconv/codegen/lowering/conv.py checks it).
 * - tc_round_scaled_f64_s64: LiteRT's double requantization of an int64 accumulator,
 *   (int32_t)round((double)acc * scale) with scale = mantissa * 2^-exponent, bit exact
 *   (|acc| < 2^53, so (double)acc is exact; the lowering checks the bound).
 */
#ifndef TC_NN_S16_SUPPORT_H
#define TC_NN_S16_SUPPORT_H

#include <stdint.h>

#include "tc_nn_math_types.h"
#include "tc_nn_simd.h"
#include "tc_nn_support.h"

#if TC_ISA_MVE
#include <arm_mve.h>
#endif

static inline int16_t tc_clamp_s16(int32_t x, tc_activation act)
{
    x = x > act.max ? act.max : x;
    x = x < act.min ? act.min : x;
    return (int16_t)x;
}

static inline int64_t tc_dot_s16_s8(const int16_t *x, const int8_t *w, int32_t n)
{
    int64_t acc = 0;
    int32_t k = 0;
#if TC_ISA_MVE
    for (; k < n; k += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(n - k));
        acc = vmlaldavaq_p_s16(acc, vldrhq_z_s16(x + k, p), vldrbq_z_s16(w + k, p), p);
    }
#elif TC_ISA_DSP
    for (; k + 4 <= n; k += 4) {
        const uint32_t x01 = (uint32_t)tc_read_s32(x + k);
        const uint32_t x23 = (uint32_t)tc_read_s32(x + k + 2);
        const int32_t four = tc_read_s32(w + k);
        const int32_t xe = (int32_t)((x01 & 0xFFFFu) | (x23 << 16));     /* x0, x2 */
        const int32_t xo = (int32_t)((x23 & 0xFFFF0000u) | (x01 >> 16)); /* x1, x3 */
        acc = (int64_t)__smlald(xe, tc_sxtb16_even(four), acc);
        acc = (int64_t)__smlald(xo, tc_sxtb16_odd(four), acc);
    }
#endif
    for (; k < n; ++k) {
        acc += (int32_t)x[k] * (int32_t)w[k];
    }
    return acc;
}

/* Two dot products sharing the input: acc0 += x . w0, acc1 += x . w1 (each input word
 * loaded once for both filter rows). Same sums as two tc_dot_s16_s8 calls. */
static inline void tc_dot2_s16_s8(const int16_t *x, const int8_t *w0, const int8_t *w1,
                                  int32_t n, int64_t *acc0, int64_t *acc1)
{
    int64_t a0 = *acc0, a1 = *acc1;
    int32_t k = 0;
#if TC_ISA_MVE
    for (; k < n; k += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(n - k));
        const int16x8_t xv = vldrhq_z_s16(x + k, p);
        a0 = vmlaldavaq_p_s16(a0, xv, vldrbq_z_s16(w0 + k, p), p);
        a1 = vmlaldavaq_p_s16(a1, xv, vldrbq_z_s16(w1 + k, p), p);
    }
#elif TC_ISA_DSP
    for (; k + 4 <= n; k += 4) {
        const uint32_t x01 = (uint32_t)tc_read_s32(x + k);
        const uint32_t x23 = (uint32_t)tc_read_s32(x + k + 2);
        const int32_t xe = (int32_t)((x01 & 0xFFFFu) | (x23 << 16));     /* x0, x2 */
        const int32_t xo = (int32_t)((x23 & 0xFFFF0000u) | (x01 >> 16)); /* x1, x3 */
        const int32_t f0 = tc_read_s32(w0 + k), f1 = tc_read_s32(w1 + k);
        a0 = (int64_t)__smlald(xe, tc_sxtb16_even(f0), a0);
        a0 = (int64_t)__smlald(xo, tc_sxtb16_odd(f0), a0);
        a1 = (int64_t)__smlald(xe, tc_sxtb16_even(f1), a1);
        a1 = (int64_t)__smlald(xo, tc_sxtb16_odd(f1), a1);
    }
#endif
    for (; k < n; ++k) {
        a0 += (int32_t)x[k] * (int32_t)w0[k];
        a1 += (int32_t)x[k] * (int32_t)w1[k];
    }
    *acc0 = a0;
    *acc1 = a1;
}

static inline int32_t tc_requantize_s64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int32_t reduced =
        multiplier < 0x7FFF0000 ? (int32_t)(((int64_t)multiplier + (1 << 15)) >> 16) : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t rounded =
        (int64_t)((uint64_t)(x * reduced) + ((uint64_t)1 << (total_shift - 1)));
    return (int32_t)(uint32_t)(uint64_t)(rounded >> total_shift);
}

/* The exact product a * b of two 64-bit magnitudes, as hi * 2^64 + lo. */
static inline void tc_mul_u64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    const uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    *lo = (mid << 32) | (uint32_t)p00;
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

static inline int32_t tc_bits_u64(uint64_t v)
{
    return v == 0 ? 0 : 64 - __builtin_clzll(v);
}

/* Bit i of the 128-bit hi:lo. */
static inline uint32_t tc_bit_u128(uint64_t hi, uint64_t lo, int32_t i)
{
    return (uint32_t)((i >= 64 ? hi >> (i - 64) : lo >> i) & 1u);
}

/* Whether any of bits 0..i-1 of hi:lo is set (i >= 0). */
static inline int tc_any_below_u128(uint64_t hi, uint64_t lo, int32_t i)
{
    if (i <= 0) {
        return 0;
    }
    if (i < 64) {
        return (lo & (((uint64_t)1 << i) - 1)) != 0;
    }
    if (lo != 0) {
        return 1;
    }
    return i - 64 >= 64 ? hi != 0 : (hi & (((uint64_t)1 << (i - 64)) - 1)) != 0;
}

/* (hi:lo) >> s, the low 64 bits (s >= 1). */
static inline uint64_t tc_shr_u128(uint64_t hi, uint64_t lo, int32_t s)
{
    if (s >= 64) {
        return s >= 128 ? 0 : hi >> (s - 64);
    }
    return (lo >> s) | (hi << (64 - s));
}

static inline int32_t tc_round_scaled_f64_s64(int64_t acc, int64_t mantissa, int32_t exponent)
{
    const uint64_t limit = (uint64_t)1 << 31;
    if (acc == 0 || mantissa <= 0) {
        return 0;
    }
    const uint64_t a = acc < 0 ? 0u - (uint64_t)acc : (uint64_t)acc;
    uint64_t hi, lo;
    tc_mul_u64(a, (uint64_t)mantissa, &hi, &lo);
    /* 1. The double product: 53 significant bits, rounded to nearest even. */
    const int32_t bits = hi != 0 ? 64 + tc_bits_u64(hi) : tc_bits_u64(lo);
    uint64_t significand;
    int32_t scale_log2 = -exponent;
    if (bits <= 53) {
        significand = lo;
    } else {
        const int32_t drop = bits - 53;
        significand = tc_shr_u128(hi, lo, drop);
        const uint32_t half_bit = tc_bit_u128(hi, lo, drop - 1);
        const int sticky = tc_any_below_u128(hi, lo, drop - 1);
        if (half_bit && (sticky || (significand & 1u))) {
            ++significand;
        }
        scale_log2 += drop;
    }
    /* 2. round(): halves away from zero, on the magnitude. */
    uint64_t magnitude;
    if (scale_log2 >= 0) {
        magnitude = (scale_log2 >= 31 || significand >= (limit >> scale_log2))
                        ? limit
                        : significand << scale_log2;
    } else if (scale_log2 <= -60) {
        magnitude = 0;
    } else {
        const int32_t right = -scale_log2;
        magnitude = (significand + ((uint64_t)1 << (right - 1))) >> right;
    }
    if (magnitude >= limit) {
        return INT32_MIN; /* (int32_t) of a double out of range: x86-64's cvttsd2si */
    }
    return acc < 0 ? -(int32_t)magnitude : (int32_t)magnitude;
}

#endif /* TC_NN_S16_SUPPORT_H */
