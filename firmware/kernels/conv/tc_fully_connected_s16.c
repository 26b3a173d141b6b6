/*
 * tc_fully_connected_s16: the 16x8 fully connected layer with TFLite Micro's (and
 * CMSIS-NN's) fixed-point requantization, MultiplyByQuantizedMultiplier(int64) with the
 * 16-bit reduced multiplier (tc_requantize_s64). The loop is tc_fully_connected_s16_run.h.
 */
#define TC_FC_S16_F64 0
#include "tc_fully_connected_s16_run.h"

tc_status tc_fully_connected_s16(const tc_context *ctx, const tc_fc_params *params,
                                 const tc_per_channel_quant_params *quant,
                                 const tc_dims *input_dims, const int16_t *input,
                                 const tc_dims *filter_dims, const int8_t *filter,
                                 const tc_dims *bias_dims, const int64_t *bias,
                                 const tc_dims *output_dims, int16_t *output)
{
    (void)ctx;
    (void)bias_dims;
    return tc_fc_s16_run(params, quant, input_dims, input, filter_dims, filter, bias,
                         output_dims, output);
}
