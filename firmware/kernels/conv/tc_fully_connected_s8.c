/*
 * tc_fully_connected_s8: TFLite's reference_integer_ops::FullyConnected(PerChannel) with
 * the fixed-point multiplier and shift,
 *   output[b][u] = requantize(sum_k (filter[u][k] + filter_offset) *
 *                                   (input[b][k] + input_offset) + bias[u])
 * Argument checks here; the loop (per ISA) is tc_fully_connected_run.h.
 */
#define TC_FC_F64 0
#include "tc_fully_connected_run.h"

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
        TC_RETURN_ARG_ERROR();
    }
    tc_fc_run(params, quant, input_dims, input, filter_dims, filter, bias, output);
    return TC_OK;
}
