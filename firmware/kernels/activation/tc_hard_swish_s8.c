/*
 * tc_hard_swish_s8: TFLite's reference_ops::HardSwish for int8, in 16-bit fixed point:
 *   hires   = (in - input_zero_point) * 128               (input scale / 128)
 *   preout  = SRDHM16(hires, output_multiplier)           (output scale, before its shift)
 *   reluish = hires rescaled so that +-3.0 maps to +-32768, saturating, then moved from
 *             [-1, 1] to [0, 1]
 *   out     = RoundingDivideByPOT(SDHM16(reluish, preout), -output_exponent) + output_zp
 * SRDHM16 rounds (gemmlowp's SaturatingRoundingDoublingHighMul on int16); SDHM16 truncates,
 * which TFLite chose to cancel the rounding bias of the other two.
 */
#include "tc_nn_elementwise.h"
#include "tc_nn_support.h"

/* gemmlowp SaturatingRoundingDoublingHighMul for int16. */
static int16_t tc_srdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = (int32_t)a * b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15)); /* truncating division, as in gemmlowp */
}

/* Like tc_srdhm16 but rounding toward zero (TFLite's SaturatingDoublingHighMul). */
static int16_t tc_sdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)(((int32_t)a * b) / (1 << 15));
}

static int16_t tc_saturating_left_shift16(int16_t x, int32_t amount)
{
    const int64_t shifted = (int64_t)x * ((int64_t)1 << amount);
    return (int16_t)TC_CLAMP(shifted, INT16_MIN, INT16_MAX);
}

/* gemmlowp RoundingDivideByPOT on int16, including its int16 mask for exponents >= 16. */
static int16_t tc_rdbpot16(int16_t x, int32_t exponent)
{
    const int16_t mask = (int16_t)(((int64_t)1 << exponent) - 1);
    const int16_t remainder = (int16_t)(x & mask);
    const int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
    return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

tc_status tc_hard_swish_s8(const tc_hard_swish_params *params, int32_t size,
                           const int8_t *input, int8_t *output)
{
    if (params == NULL || input == NULL || output == NULL || size < 0 ||
        params->output_multiplier_exponent > 0 || params->output_multiplier_exponent < -31 ||
        params->reluish_multiplier_exponent > 31 || params->reluish_multiplier_exponent < -31) {
        return TC_ARG_ERROR;
    }
    const tc_hard_swish_params p = *params;
    const int16_t output_multiplier = (int16_t)p.output_multiplier_fixedpoint_int16;
    const int16_t reluish_multiplier = (int16_t)p.reluish_multiplier_fixedpoint_int16;
    const int32_t reluish_exponent = p.reluish_multiplier_exponent;
    for (int32_t i = 0; i < size; ++i) {
        const int16_t hires = (int16_t)((input[i] - p.input_zero_point) * (1 << 7));
        const int16_t preshift_output = tc_srdhm16(hires, output_multiplier);

        int16_t reluish = hires;
        if (reluish_exponent > 0) {
            /* All but the last bit of left shift first, so saturation here cannot matter. */
            reluish = tc_saturating_left_shift16(reluish, reluish_exponent - 1);
        }
        reluish = tc_srdhm16(reluish, reluish_multiplier);
        if (reluish_exponent > 0) {
            reluish = tc_saturating_left_shift16(reluish, 1);
        } else if (reluish_exponent < 0) {
            reluish = tc_rdbpot16(reluish, -reluish_exponent);
        }
        reluish = (int16_t)((reluish + (1 << 15)) >> 1); /* [-1, 1] -> [0, 1] */

        const int16_t preshift = tc_sdhm16(reluish, preshift_output);
        /* TFLite adds the zero point in int16 and then clamps to int8. */
        const int32_t y = (int16_t)(tc_rdbpot16(preshift, -p.output_multiplier_exponent) +
                                    p.output_zero_point);
        output[i] = (int8_t)TC_CLAMP(y, INT8_MIN, INT8_MAX);
    }
    return TC_OK;
}
