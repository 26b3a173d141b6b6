/*
 * tc_fully_connected_f64_s16: the 16x8 fully connected layer requantized as LiteRT's
 * reference kernel does it, (int32_t)round((double)acc * s_in * s_w[u] / s_out), bit exact
 * in integer arithmetic. The loop is tc_fully_connected_s16_run.h.
 */
#define TC_FC_S16_F64 1
#include "tc_fully_connected_s16_run.h"

tc_status tc_fully_connected_f64_s16(const tc_context *ctx, const tc_fc_params *params,
                                     const tc_f64_scale_params *scale,
                                     const tc_dims *input_dims, const int16_t *input,
                                     const tc_dims *filter_dims, const int8_t *filter,
                                     const tc_dims *bias_dims, const int64_t *bias,
                                     const tc_dims *output_dims, int16_t *output)
{
    (void)ctx;
    (void)bias_dims;
    return tc_fc_s16_run(params, scale, input_dims, input, filter_dims, filter, bias,
                         output_dims, output);
}
