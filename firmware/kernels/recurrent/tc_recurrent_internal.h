/*
 * tinyconv recurrent kernels: shared integer arithmetic.
 *
 * gemmlowp's 16-bit fixed point (fixedpoint/fixedpoint.h), which LiteRT's integer LSTM
 * calls through tensor_utils::ApplySigmoid / ApplyTanh: logistic and tanh of a Q(ib).(15-ib)
 * int16 input, result Q0.15. Transcribed operation by operation, with the same int16
 * wrapping and saturation, so every one of the 65536 inputs gives gemmlowp's result (the
 * constants are gemmlowp's int32 ones rounding-divided by 2^16, as its
 * RescaleConstantInitializer does for int16).
 */
#ifndef TC_RECURRENT_INTERNAL_H
#define TC_RECURRENT_INTERNAL_H

#include <stdint.h>

#include "tc_nn_support.h"

static inline int16_t tc_s16_wrap(int32_t x)
{
    return (int16_t)(uint16_t)(uint32_t)x;
}

static inline int16_t tc_s16_sat(int32_t x)
{
    return (int16_t)TC_CLAMP(x, INT16_MIN, INT16_MAX);
}

/* SaturatingRoundingDoublingHighMul<int16_t>: a * b / 2^15, rounded, -1 * -1 saturated. */
static inline int16_t tc_s16_mul(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

/* SaturatingRoundingMultiplyByPOT<exponent> on int16: a saturating left shift, or a
 * rounding right shift for a negative exponent. */
static inline int16_t tc_s16_mul_pot(int16_t x, int32_t exponent)
{
    if (exponent < 0) {
        return (int16_t)tc_divide_by_power_of_two(x, -exponent);
    }
    const int32_t threshold = (1 << (15 - exponent)) - 1;
    if (x > threshold) {
        return INT16_MAX;
    }
    if (x < -threshold) {
        return INT16_MIN;
    }
    return (int16_t)(x * (1 << exponent));
}

/* exp(a) for a in [-1/4, 0), Q0.15: Taylor expansion around -1/8. */
static inline int16_t tc_s16_exp_quarter(int16_t a)
{
    const int16_t constant_term = 28918;  /* exp(-1/8) */
    const int16_t one_third = 10923;
    const int16_t x = tc_s16_wrap(a + (1 << 12));
    const int16_t x2 = tc_s16_mul(x, x);
    const int16_t x3 = tc_s16_mul(x2, x);
    const int16_t x4 = tc_s16_mul(x2, x2);
    const int16_t x4_over_4 = tc_s16_mul_pot(x4, -2);
    const int16_t sum = tc_s16_mul_pot(
        tc_s16_wrap(tc_s16_mul(tc_s16_wrap(x4_over_4 + x3), one_third) + x2), -1);
    return tc_s16_sat(constant_term + tc_s16_mul(constant_term, tc_s16_wrap(x + sum)));
}

/* exp(a) for a <= 0 given in Q(ib).(15-ib), result Q0.15 (gemmlowp exp_on_negative_values). */
static inline int16_t tc_s16_exp_negative(int16_t a, int32_t integer_bits)
{
    static const int16_t multipliers[7] = {25520, 19875, 12055, 4435, 600, 11, 0};
    const int32_t fractional_bits = 15 - integer_bits;
    const int16_t one_quarter = (int16_t)(1 << (fractional_bits - 2));
    const int16_t mask = (int16_t)(one_quarter - 1);
    const int16_t a_mod = tc_s16_wrap((a & mask) - one_quarter);
    int16_t result = tc_s16_exp_quarter(tc_s16_mul_pot(a_mod, integer_bits));
    const int16_t remainder = tc_s16_wrap(a_mod - a);
    for (int32_t exponent = -2; exponent <= 4; exponent++) {
        if (integer_bits > exponent &&
            (remainder & (1 << (fractional_bits + exponent))) != 0) {
            result = tc_s16_mul(result, multipliers[exponent + 2]);
        }
    }
    if (integer_bits > 5) {
        const int16_t clamp =
            (int16_t)tc_divide_by_power_of_two(-(int32_t)(1u << (36 - integer_bits)), 16);
        if (a < clamp) {
            result = 0;
        }
    }
    return a == 0 ? INT16_MAX : result;
}

/* Newton-Raphson for 1 / (1 + a) / 2 ... as gemmlowp: returns x in Q2.13 of 1/(half
 * denominator) after three iterations. */
static inline int16_t tc_s16_reciprocal_q2(int16_t half_denominator)
{
    const int16_t c48_over_17 = 23130;
    const int16_t c_neg32_over_17 = -15420;
    int16_t x = tc_s16_wrap(c48_over_17 + tc_s16_mul(half_denominator, c_neg32_over_17));
    for (int i = 0; i < 3; i++) {
        const int16_t half_denominator_times_x = tc_s16_mul(half_denominator, x);
        const int16_t one_minus = tc_s16_wrap((1 << 13) - half_denominator_times_x);
        x = tc_s16_wrap(x + tc_s16_mul_pot(tc_s16_mul(x, one_minus), 2));
    }
    return x;
}

static inline int16_t tc_s16_rounding_half_sum(int16_t a, int16_t b)
{
    const int32_t sum = (int32_t)a + (int32_t)b;
    return (int16_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* logistic(a), a in Q(ib).(15-ib), result Q0.15. */
static inline int16_t tc_s16_logistic(int16_t a, int32_t integer_bits)
{
    if (a == 0) {
        return 16384;
    }
    const int positive = a > 0;
    const int16_t abs_input = positive ? a : tc_s16_wrap(-a);
    const int16_t e = tc_s16_exp_negative(tc_s16_wrap(-abs_input), integer_bits);
    const int16_t x = tc_s16_reciprocal_q2(tc_s16_rounding_half_sum(e, INT16_MAX));
    const int16_t result_if_positive = tc_s16_mul_pot(x, 1);
    return positive ? result_if_positive : tc_s16_wrap(INT16_MAX - result_if_positive);
}

/* tanh(a), a in Q(ib).(15-ib), result Q0.15. */
static inline int16_t tc_s16_tanh(int16_t a, int32_t integer_bits)
{
    if (a == 0) {
        return 0;
    }
    const int negative = a < 0;
    const int16_t n = negative ? a : tc_s16_wrap(-a);
    const int16_t e = tc_s16_exp_negative(n, integer_bits + 1);
    const int16_t x = tc_s16_reciprocal_q2(tc_s16_rounding_half_sum(e, INT16_MAX));
    const int16_t t = tc_s16_mul_pot(tc_s16_wrap(x - (1 << 13)), 2);
    return negative ? tc_s16_wrap(-t) : t;
}

#endif /* TC_RECURRENT_INTERNAL_H */
