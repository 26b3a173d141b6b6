/*
 * ADD, int16, general scales: LiteRT's add.cc general quantized path for int16
 * (reference_ops::AddElementwise / BroadcastAdd6DSlow): the int8 kernel's arithmetic with
 * left_shift 15 and an int16 clamp, any broadcast (tc_add_sub_row.h: the arithmetic and its
 * Helium path).
 */
#include "tc_add_sub_row.h"

static void add_row(const void *call, const void *input1, int32_t step1, const void *input2,
                    int32_t step2, void *output, int32_t len)
{
    tc_add_sub_row(call, 1, input1, step1, input2, step2, output, len, sizeof(int16_t));
}

tc_status tc_elementwise_add_s16(const tc_add_params *params,
                                 const tc_dims *input1_dims, const int16_t *input1,
                                 const tc_dims *input2_dims, const int16_t *input2,
                                 const tc_dims *output_dims, int16_t *output)
{
    return tc_add_sub(params, add_row, input1_dims, input1, input2_dims, input2, output_dims,
                      output, sizeof(int16_t));
}
