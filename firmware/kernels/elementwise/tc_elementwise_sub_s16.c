/*
 * SUB, int16, general scales: LiteRT's sub.cc general quantized path for int16
 * (reference_ops::SubElementwise / BroadcastQuantSubSlow): int8's arithmetic with
 * left_shift 15 (tc_add_sub_s16_element), any broadcast. Portable C on every core.
 */
#include "tc_elementwise_s16.h"

static int16_t sub_one(const void *params, int32_t a, int32_t b)
{
    return tc_add_sub_s16_element((const tc_add_params *)params, a, b, -1);
}

tc_status tc_elementwise_sub_s16(const tc_add_params *params,
                                 const tc_dims *input1_dims, const int16_t *input1,
                                 const tc_dims *input2_dims, const int16_t *input2,
                                 const tc_dims *output_dims, int16_t *output)
{
    return tc_ew_s16_broadcast(params, sub_one, input1_dims, input1, input2_dims, input2,
                               output_dims, output);
}
