/*
 * tc_fully_connected_s8_ort: QGemm / QLinearMatMul (constant B) as onnxruntime computes
 * them: per row of the input and output unit u,
 *     acc = bias[u] + sum_d (x[d] + input_offset) * (w[u][d] + filter_offset)
 * then tc_ort_requantize with scale[u] or scale[0] (tc_nn_onnxrt.h). Portable C.
 */
#include "tc_ort_internal.h"

tc_status tc_fully_connected_s8_ort(const tc_context *ctx, const tc_fc_params *params,
                                    const tc_ort_requant_params *quant,
                                    const tc_dims *input_dims, const int8_t *input,
                                    const tc_dims *filter_dims, const int8_t *filter,
                                    const tc_dims *bias_dims, const int32_t *bias,
                                    const tc_dims *output_dims, int8_t *output)
{
    (void)ctx;
    (void)bias_dims;
    (void)output_dims;
    const int32_t depth = filter_dims->c, units = filter_dims->n;
    if (depth <= 0 || input_dims->c != depth) {
        TC_RETURN_ARG_ERROR();
    }
    for (int32_t row = 0; row < input_dims->n; row++) {
        const int8_t *x = input + (size_t)row * depth;
        for (int32_t u = 0; u < units; u++) {
            const int8_t *w = filter + (size_t)u * depth;
            int32_t acc = bias != NULL ? bias[u] : 0;
            for (int32_t d = 0; d < depth; d++) {
                acc += ((int32_t)x[d] + params->input_offset) *
                       ((int32_t)w[d] + params->filter_offset);
            }
            output[(size_t)row * units + u] =
                tc_ort_requantize(acc, quant->scale[quant->per_channel ? u : 0],
                                  params->output_offset, &params->activation);
        }
    }
    return TC_OK;
}
