/*
 * Private to the softmax kernels: gemmlowp's fixed-point exp and reciprocal, as TFLite's
 * reference_ops::Softmax uses them for int8 input. Qm.n below means a raw int32 holding
 * value * 2^n with m integer bits (m + n = 31).
 */
#ifndef TC_SOFTMAX_INTERNAL_H
#define TC_SOFTMAX_INTERNAL_H

#include <stdint.h>

#include "tc_nn_elementwise.h"
#include "tc_nn_support.h"

#define TC_SOFTMAX_DIFF_INTEGER_BITS 5  /* exp() input: Q5.26 */
#define TC_SOFTMAX_ACCUM_INTEGER_BITS 12 /* sum of exps: Q12.19 */

static inline int32_t tc_fx_mul(int32_t a, int32_t b)
{
    return tc_doubling_high_mult(a, b);
}

/* x * 2^exponent, saturating (exponent > 0) or rounding to nearest (exponent < 0). */
static inline int32_t tc_fx_mul_pot(int32_t x, int32_t exponent)
{
    if (exponent < 0) {
        return tc_divide_by_power_of_two(x, -exponent);
    }
    if (exponent == 0) {
        return x;
    }
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor expansion around -1/8. */
static inline int32_t tc_fx_exp_quarter(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = a + (1 << 28); /* a + 1/8 */
    const int32_t x2 = tc_fx_mul(x, x);
    const int32_t x3 = tc_fx_mul(x2, x);
    const int32_t x4 = tc_fx_mul(x2, x2);
    const int32_t x4_over_4 = tc_fx_mul_pot(x4, -2);
    const int32_t poly = tc_fx_mul_pot(tc_fx_mul(x4_over_4 + x3, one_third) + x2, -1);
    return exp_minus_one_eighth + tc_fx_mul(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26; result in Q0.31 (gemmlowp exp_on_negative_values). */
static inline int32_t tc_fx_exp_on_negative_values(int32_t a)
{
    const int32_t fractional_bits = 31 - TC_SOFTMAX_DIFF_INTEGER_BITS;
    const int32_t one_quarter = 1 << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = tc_fx_exp_quarter(
        tc_fx_mul_pot(a_mod_quarter_minus_quarter, TC_SOFTMAX_DIFF_INTEGER_BITS));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    /* exp(-2^k) for k = -2..4 in Q0.31: multiply in each power of two present in -a. */
    static const int32_t exp_minus_pot[7] = {1672461947, 1302514674, 790015084, 290630308,
                                             39332535,   720401,     242};
    for (int32_t k = -2; k <= 4; ++k) {
        if (TC_SOFTMAX_DIFF_INTEGER_BITS > k && (remainder & (1 << (fractional_bits + k)))) {
            result = tc_fx_mul(result, exp_minus_pot[k + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out: Newton-Raphson in Q2.29. */
static inline int32_t tc_fx_one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t constant_48_over_17 = 1515870810;
    const int32_t constant_neg_32_over_17 = -1010580540;
    const int32_t one_q2 = 1 << 29;
    int32_t x = constant_48_over_17 + tc_fx_mul(half_denominator, constant_neg_32_over_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = tc_fx_mul(half_denominator, x);
        const int32_t one_minus = one_q2 - half_denominator_times_x;
        x = x + tc_fx_mul_pot(tc_fx_mul(x, one_minus), 2);
    }
    return tc_fx_mul_pot(x, 1); /* Q2.29 halved is Q1.30 -> Q0.31 */
}

/* 1 / x for x in Q12.19 (TFLite GetReciprocal): a Q0.31 mantissa and the exponent. */
static inline int32_t tc_fx_reciprocal(int32_t x, int32_t *num_bits_over_unit)
{
    const int32_t headroom_plus_one = __builtin_clz((uint32_t)x);
    *num_bits_over_unit = TC_SOFTMAX_ACCUM_INTEGER_BITS - headroom_plus_one;
    const int32_t shifted_minus_one =
        (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
    return tc_fx_one_over_one_plus_x(shifted_minus_one);
}

/*
 * One row: writes out[c] = round(2^output_bits * softmax) - 2^(output_bits - 1), clamped
 * to [out_min, out_max], through a callback-free pair of pointers (exactly one non-NULL).
 */
static inline void tc_softmax_row(const tc_softmax_params *p, const int8_t *in,
                                  int32_t row_size, int32_t output_bits, int8_t *out8,
                                  int16_t *out16)
{
    int8_t max = INT8_MIN;
    for (int32_t c = 0; c < row_size; ++c) {
        max = in[c] > max ? in[c] : max;
    }
    int32_t sum_of_exps = 0; /* Q12.19 */
    for (int32_t c = 0; c < row_size; ++c) {
        const int32_t diff = in[c] - max;
        if (diff >= p->diff_min) {
            const int32_t scaled = tc_requantize(diff, p->input_multiplier, p->input_left_shift);
            sum_of_exps += tc_fx_mul_pot(tc_fx_exp_on_negative_values(scaled),
                                         -TC_SOFTMAX_ACCUM_INTEGER_BITS);
        }
    }
    int32_t num_bits_over_unit;
    const int32_t reciprocal = tc_fx_reciprocal(sum_of_exps, &num_bits_over_unit);
    const int32_t exponent = num_bits_over_unit + 31 - output_bits;
    const int32_t out_min = -(1 << (output_bits - 1));
    const int32_t out_max = (1 << (output_bits - 1)) - 1;
    for (int32_t c = 0; c < row_size; ++c) {
        const int32_t diff = in[c] - max;
        int32_t y = out_min;
        if (diff >= p->diff_min) {
            const int32_t scaled = tc_requantize(diff, p->input_multiplier, p->input_left_shift);
            const int32_t e = tc_fx_exp_on_negative_values(scaled);
            y = tc_divide_by_power_of_two(tc_fx_mul(reciprocal, e), exponent) + out_min;
            y = TC_CLAMP(y, out_min, out_max);
        }
        if (out8 != NULL) {
            out8[c] = (int8_t)y;
        } else {
            out16[c] = (int16_t)y;
        }
    }
}

static inline int tc_softmax_args_valid(const tc_softmax_params *p, int32_t num_rows,
                                        int32_t row_size, const void *input,
                                        const void *output)
{
    return p != NULL && input != NULL && output != NULL && num_rows >= 0 && row_size > 0 &&
           p->input_left_shift >= 0 && p->input_left_shift <= 31;
}

#endif /* TC_SOFTMAX_INTERNAL_H */
