/*
 * tc_dequantize_s16_f32: TFLite's reference_ops::Dequantize from int16:
 *   out = (float)(scale * (in - zero_point))
 * TFLite multiplies in double; the product of a float and an integer below 2^9 is exact in
 * double, so a single float multiplication rounds to the same float.
 */
#include "tc_nn_elementwise.h"

tc_status tc_dequantize_s16_f32(const tc_affine_quant_params *params, int32_t size,
                               const int16_t *input, float *output)
{
    if (params == NULL || input == NULL || output == NULL || size < 0) {
        TC_RETURN_ARG_ERROR();
    }
    const float scale = params->scale;
    const int32_t zero_point = params->zero_point;
    for (int32_t i = 0; i < size; ++i) {
        output[i] = scale * (float)(input[i] - zero_point);
    }
    return TC_OK;
}
