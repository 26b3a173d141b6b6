/*
 * tc_quantize_f32_s16: TFLite's reference_ops::AffineQuantize to int16:
 *   out = clamp(round(in / scale) + zero_point, -32768, 32767)
 * (tc_quantize_f32_internal.h: the arithmetic, NaN and overflow as LiteRT on x86-64).
 */
#include "tc_nn_elementwise.h"
#include "tc_quantize_f32_internal.h"

tc_status tc_quantize_f32_s16(const tc_affine_quant_params *params, int32_t size,
                              const float *input, int16_t *output)
{
    if (params == NULL || input == NULL || output == NULL || size < 0) {
        TC_RETURN_ARG_ERROR();
    }
    for (int32_t i = 0; i < size; ++i) {
        output[i] = (int16_t)tc_quantize_f32_value(input[i], params->scale, params->zero_point,
                                                 -32768, 32767);
    }
    return TC_OK;
}
