/*
 * MUL, int16: LiteRT's reference_integer_ops::Mul / BroadcastMul6DSlow for int16, any
 * broadcast (tc_elementwise_s16.h: the arithmetic, tc_mul_s16_row, and its SIMD paths).
 */
#include "tc_elementwise_s16.h"

static void mul_row(const void *params, const void *input1, int32_t step1, const void *input2,
                    int32_t step2, void *output, int32_t len)
{
    tc_mul_s16_row((const tc_mul_params *)params, (const int16_t *)input1, step1,
                   (const int16_t *)input2, step2, (int16_t *)output, len);
}

tc_status tc_elementwise_mul_s16(const tc_mul_params *params,
                                 const tc_dims *input1_dims, const int16_t *input1,
                                 const tc_dims *input2_dims, const int16_t *input2,
                                 const tc_dims *output_dims, int16_t *output)
{
    return tc_ew_broadcast(params, mul_row, input1_dims, input1, input2_dims, input2,
                           output_dims, output, sizeof(int16_t));
}
