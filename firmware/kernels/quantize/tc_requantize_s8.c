/*
 * tc_requantize_s8: TFLite's ReluX (RELU, RELU6: requantize, then clamp to the activation
 * range) and reference_ops::Requantize (QUANTIZE int8 -> int8: clamp to int8):
 *   out = clamp(tc_requantize(in + input_offset, multiplier, shift) + output_offset)
 */
#include "tc_nn_elementwise.h"
#include "tc_nn_support.h"

/* real multiplier 1.0 as QuantizeMultiplier encodes it: requantizing is then exact. */
static int tc_is_identity(int32_t multiplier, int32_t shift)
{
    return multiplier == (1 << 30) && shift == 1;
}

tc_status tc_requantize_s8(const tc_requantize_params *params, int32_t size,
                           const int8_t *input, int8_t *output)
{
    if (params == NULL || input == NULL || output == NULL || size < 0) {
        TC_RETURN_ARG_ERROR();
    }
    const tc_requantize_params p = *params;
    if (tc_is_identity(p.multiplier, p.shift)) {
        const int32_t offset = p.input_offset + p.output_offset;
        for (int32_t i = 0; i < size; ++i) {
            output[i] = tc_clamp_s8(input[i] + offset, p.activation);
        }
        return TC_OK;
    }
    for (int32_t i = 0; i < size; ++i) {
        const int32_t x = tc_requantize(input[i] + p.input_offset, p.multiplier, p.shift);
        output[i] = tc_clamp_s8(x + p.output_offset, p.activation);
    }
    return TC_OK;
}
