/*
 * tc_fully_connected_f64_s8: the fully connected layer requantized as LiteRT's reference
 * kernel does it, with a double scale (tc_round_scaled_f64); otherwise as
 * tc_fully_connected_s8. The loop (per ISA) is tc_fully_connected_run.h.
 */
#define TC_FC_F64 1
#include "tc_fully_connected_run.h"

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
        TC_RETURN_ARG_ERROR();
    }
    tc_fc_run(params, scale, input_dims, input, filter_dims, filter, bias, output);
    return TC_OK;
}
