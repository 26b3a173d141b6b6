/*
 * tc_global_avgpool_s8_ort: QLinearGlobalAveragePool as onnxruntime computes it: per
 * channel the int32 sum of (x + input_offset) over the H x W pixels, then
 * tc_ort_requantize with scale = s_in / (s_out * (float)(H * W)) (tc_nn_onnxrt.h).
 */
#include "tc_ort_internal.h"

tc_status tc_global_avgpool_s8_ort(const tc_ort_pool_params *params,
                                   const tc_dims *input_dims, const int8_t *input,
                                   const tc_dims *output_dims, int8_t *output)
{
    (void)output_dims;
    const int32_t pixels = input_dims->h * input_dims->w, channels = input_dims->c;
    for (int32_t b = 0; b < input_dims->n; b++) {
        const int8_t *in_b = input + (size_t)b * pixels * channels;
        for (int32_t c = 0; c < channels; c++) {
            int32_t acc = 0;
            for (int32_t p = 0; p < pixels; p++) {
                acc += (int32_t)in_b[(size_t)p * channels + c] + params->input_offset;
            }
            output[(size_t)b * channels + c] =
                tc_ort_requantize(acc, params->scale, params->output_offset,
                                  &params->activation);
        }
    }
    return TC_OK;
}
