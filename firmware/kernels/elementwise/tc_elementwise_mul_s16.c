/*
 * MUL, int16: LiteRT's reference_integer_ops::Mul / BroadcastMul6DSlow for int16 (zero
 * points 0, which LiteRT requires):
 *   out = clamp(tc_requantize((in1 + input1_offset) * (in2 + input2_offset),
 *                             output_multiplier, output_shift) + output_offset)
 * The product of two int16 fits in int32. Any broadcast; portable C on every core.
 */
#include "tc_elementwise_s16.h"

static int16_t mul_one(const void *params, int32_t a, int32_t b)
{
    const tc_mul_params *p = (const tc_mul_params *)params;
    const int32_t y = tc_requantize((a + p->input1_offset) * (b + p->input2_offset),
                                    p->output_multiplier, p->output_shift);
    return tc_clamp16(tc_add_wrap(y, p->output_offset), p->activation);
}

tc_status tc_elementwise_mul_s16(const tc_mul_params *params,
                                 const tc_dims *input1_dims, const int16_t *input1,
                                 const tc_dims *input2_dims, const int16_t *input2,
                                 const tc_dims *output_dims, int16_t *output)
{
    return tc_ew_s16_broadcast(params, mul_one, input1_dims, input1, input2_dims, input2,
                               output_dims, output);
}
