/*
 * tc_leaky_relu_s16: TFLite's reference_ops::QuantizeLeakyRelu for int16,
 * the int8 arithmetic with an int16 clamp:
 *   x = in + input_offset
 *   out = clamp(output_offset + (x >= 0 ? requantize(x, identity) : requantize(x, alpha)))
 * A negative alpha (alpha_multiplier < 0) is applied as its magnitude, then negated.
 */
#include "tc_nn_elementwise.h"
#include "tc_nn_support.h"

tc_status tc_leaky_relu_s16(const tc_leaky_relu_params *params, int32_t size,
                           const int16_t *input, int16_t *output)
{
    if (params == NULL || input == NULL || output == NULL || size < 0 ||
        params->alpha_multiplier == INT32_MIN) {
        TC_RETURN_ARG_ERROR();
    }
    const tc_leaky_relu_params p = *params;
    const int alpha_negative = p.alpha_multiplier < 0;
    const int32_t alpha_magnitude = alpha_negative ? -p.alpha_multiplier : p.alpha_multiplier;
    const tc_activation int16_range = {INT16_MIN, INT16_MAX};
    for (int32_t i = 0; i < size; ++i) {
        const int32_t x = input[i] + p.input_offset;
        int32_t y;
        if (x >= 0) {
            y = tc_requantize(x, p.identity_multiplier, p.identity_shift);
        } else {
            y = tc_requantize(x, alpha_magnitude, p.alpha_shift);
            y = alpha_negative ? -y : y;
        }
        output[i] = (int16_t)TC_CLAMP(tc_add_wrap(p.output_offset, y), int16_range.min, int16_range.max);
    }
    return TC_OK;
}
