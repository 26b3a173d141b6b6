/*
 * tc_elementwise_add_s8: TFLite's int8 ADD (reference_integer_ops::Add and
 * BroadcastAdd6DSlow) with numpy broadcasting; see tc_add_sub_row.h for the arithmetic.
 */
#include "tc_add_sub_row.h"

static void tc_add_row(const void *call, const void *input1, int32_t step1,
                       const void *input2, int32_t step2, void *output, int32_t len)
{
    tc_add_sub_row(call, 1, input1, step1, input2, step2, output, len, sizeof(int8_t));
}

tc_status tc_elementwise_add_s8(const tc_add_params *params,
                                const tc_dims *input1_dims, const int8_t *input1,
                                const tc_dims *input2_dims, const int8_t *input2,
                                const tc_dims *output_dims, int8_t *output)
{
    return tc_add_sub(params, tc_add_row, input1_dims, input1, input2_dims, input2,
                      output_dims, output, sizeof(int8_t));
}
