/*
 * tc_convolve_1x1_s8, portable C: a 1x1, stride 1, ungrouped CONV_2D is a GEMM,
 * output[pixel][oc] = sum_ic filter[oc][ic] * (input[pixel][ic] + input_offset) + bias[oc],
 * requantized per output channel exactly like tc_convolve_s8.
 */
#include "tc_conv_internal.h"

int32_t tc_convolve_1x1_s8_get_buffer_size(const tc_dims *input_dims,
                                           const tc_dims *filter_dims)
{
    (void)input_dims;
    (void)filter_dims;
    return 0;
}

#if TC_CONV_REF

tc_status tc_convolve_1x1_s8(const tc_context *ctx, const tc_conv_params *params,
                             const tc_per_channel_quant_params *quant,
                             const tc_dims *input_dims, const int8_t *input,
                             const tc_dims *filter_dims, const int8_t *filter,
                             const tc_dims *bias_dims, const int32_t *bias,
                             const tc_dims *output_dims, int8_t *output)
{
    (void)ctx;
    (void)bias_dims;
    if (!tc_conv_1x1_args_valid(params, quant, input_dims, input, filter_dims, filter,
                                output_dims, output)) {
        return TC_ARG_ERROR;
    }
    const int32_t pixels = input_dims->n * input_dims->h * input_dims->w;
    const int32_t depth = input_dims->c;
    const int32_t out_c = output_dims->c;
    for (int32_t p = 0; p < pixels; ++p) {
        const int8_t *in = input + p * depth;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int8_t *f = filter + oc * depth;
            int32_t acc = 0;
            for (int32_t k = 0; k < depth; ++k) {
                acc += f[k] * (in[k] + params->input_offset);
            }
            acc += tc_conv_bias(bias, oc);
            output[p * out_c + oc] = tc_conv_output(acc, quant->multiplier[oc], quant->shift[oc],
                                                    params->output_offset, params->activation);
        }
    }
    return TC_OK;
}

#endif /* TC_CONV_REF */
