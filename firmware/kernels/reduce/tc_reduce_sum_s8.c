/*
 * MEAN and SUM, int8: LiteRT's reference_ops::QuantizedMeanOrSum (the int32 sum over the
 * reduced axes, minus input_zp * count, requantized with MultiplyByQuantizedMultiplier, plus
 * output_zp, clamped), over any axes of a rank 1 to 6 tensor (tc_nn_reduce.h says how the
 * axes are laid out; tc_reduce_internal.h walks them).
 */
#include "tc_reduce_internal.h"

tc_status tc_reduce_sum_s8(const tc_reduce_sum_params *params, const int8_t *input, int8_t *output)
{
    if (params == NULL) {
        TC_RETURN_ARG_ERROR();
    }
    return tc_reduce_run(&params->shape, params, input, NULL, output, NULL);
}
