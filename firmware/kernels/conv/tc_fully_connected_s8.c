/*
 * tc_fully_connected_s8 and tc_fully_connected_f64_s8: argument checks, and the
 * portable C loop of TFLite's reference_integer_ops::FullyConnected(PerChannel):
 *   output[b][u] = requantize(sum_k (filter[u][k] + filter_offset) *
 *                                   (input[b][k] + input_offset) + bias[u])
 * The DSP and MVE files provide their own tc_fully_connected_s8_run.
 */
#include "tc_conv_internal.h"

int32_t tc_fully_connected_s8_get_buffer_size(const tc_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}

tc_status tc_fully_connected_s8(const tc_context *ctx, const tc_fc_params *params,
                                const tc_per_channel_quant_params *quant,
                                const tc_dims *input_dims, const int8_t *input,
                                const tc_dims *filter_dims, const int8_t *filter,
                                const tc_dims *bias_dims, const int32_t *bias,
                                const tc_dims *output_dims, int8_t *output)
{
    (void)ctx;
    (void)bias_dims;
    if (quant == NULL || quant->multiplier == NULL || quant->shift == NULL ||
        !tc_fc_args_valid(params, input_dims, input, filter_dims, filter, output_dims,
                          output)) {
        return TC_ARG_ERROR;
    }
    const tc_fc_requant rq = {quant, NULL};
    tc_fully_connected_s8_run(params, &rq, input_dims, input, filter_dims, filter, bias, output);
    return TC_OK;
}

tc_status tc_fully_connected_f64_s8(const tc_context *ctx, const tc_fc_params *params,
                                    const tc_f64_scale_params *scale,
                                    const tc_dims *input_dims, const int8_t *input,
                                    const tc_dims *filter_dims, const int8_t *filter,
                                    const tc_dims *bias_dims, const int32_t *bias,
                                    const tc_dims *output_dims, int8_t *output)
{
    (void)ctx;
    (void)bias_dims;
    if (scale == NULL || scale->mantissa == NULL || scale->exponent == NULL ||
        !tc_fc_args_valid(params, input_dims, input, filter_dims, filter, output_dims,
                          output)) {
        return TC_ARG_ERROR;
    }
    const tc_fc_requant rq = {NULL, scale};
    tc_fully_connected_s8_run(params, &rq, input_dims, input, filter_dims, filter, bias, output);
    return TC_OK;
}

#if TC_CONV_REF

void tc_fully_connected_s8_run(const tc_fc_params *params, const tc_fc_requant *rq,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, int8_t *output)
{
    const int32_t depth = filter_dims->c;
    const int32_t units = filter_dims->n;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in = input + b * depth;
        for (int32_t u = 0; u < units; ++u) {
            const int8_t *f = filter + u * depth;
            int32_t acc = 0;
            for (int32_t k = 0; k < depth; ++k) {
                acc += (f[k] + params->filter_offset) * (in[k] + params->input_offset);
            }
            acc += tc_conv_bias(bias, u);
            output[b * units + u] = tc_fc_output(rq, params, acc, u);
        }
    }
}

#endif /* TC_CONV_REF */
