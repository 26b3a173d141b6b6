/*
 * tc_quantize_f32_s16: TFLite's reference_ops::AffineQuantize to int16:
 *   out = clamp(round(in / scale) + zero_point, -32768, 32767)
 * with a float division and std::round (halves away from zero), converted to int32 before
 * the zero point is added. Built with -ffp-contract=off so the division rounds like the
 * reference.
 */
#include "tc_nn_elementwise.h"

/* std::round for a float already known to lie in (-2^23, 2^23): no libm needed. */
static float tc_round_half_away(float x)
{
    const float truncated = (float)(int32_t)x; /* exact for |x| < 2^23 */
    const float fraction = x - truncated;       /* exact too */
    if (fraction >= 0.5f) {
        return truncated + 1.0f;
    }
    if (fraction <= -0.5f) {
        return truncated - 1.0f;
    }
    return truncated;
}

tc_status tc_quantize_f32_s16(const tc_affine_quant_params *params, int32_t size,
                             const float *input, int16_t *output)
{
    if (params == NULL || input == NULL || output == NULL || size < 0) {
        TC_RETURN_ARG_ERROR();
    }
    const float scale = params->scale;
    const int32_t zero_point = params->zero_point;
    for (int32_t i = 0; i < size; ++i) {
        const float q = input[i] / scale;
        int32_t value;
        if (q > -2147483648.0f && q < 2147483648.0f) {
            /* Beyond +-1024 the result clamps whatever the zero point: skip the rounding. */
            if (q > 65536.0f) {
                value = 32767;
            } else if (q < -65536.0f) {
                value = -32768;
            } else {
                value = (int32_t)tc_round_half_away(q) + zero_point;
                value = value < -32768 ? -32768 : (value > 32767 ? 32767 : value);
            }
        } else {
            /* NaN, infinities and |q| >= 2^31: LiteRT converts with static_cast<int32_t>,
             * which on x86-64 (where the reference runs) gives INT32_MIN, then adds the
             * zero point with wrap-around. Reproduce that: -128 for zp >= 0, else 127. */
            value = zero_point >= 0 ? -32768 : 32767;
        }
        output[i] = (int16_t)value;
    }
    return TC_OK;
}
