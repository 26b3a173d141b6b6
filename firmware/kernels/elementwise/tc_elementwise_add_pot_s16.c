/*
 * ADD, int16, power-of-two scales (LiteRT's pot_scale_int16 path, taken when the op's
 * pot_scale_int16 option is set and every scale is a power of two, zero points 0), any
 * broadcast (tc_elementwise_s16.h: the arithmetic, tc_add_sub_pot_s16_row, and its SIMD
 * paths).
 */
#include "tc_elementwise_s16.h"

static void add_row(const void *params, const void *input1, int32_t step1, const void *input2,
                    int32_t step2, void *output, int32_t len)
{
    tc_add_sub_pot_s16_row((const tc_add_pot_params *)params, 1, (const int16_t *)input1,
                           step1, (const int16_t *)input2, step2, (int16_t *)output, len);
}

tc_status tc_elementwise_add_pot_s16(const tc_add_pot_params *params,
                                     const tc_dims *input1_dims, const int16_t *input1,
                                     const tc_dims *input2_dims, const int16_t *input2,
                                     const tc_dims *output_dims, int16_t *output)
{
    if (params == NULL || params->input1_shift > 0 || params->input2_shift > 0 ||
        params->input1_shift < -15 || params->input2_shift < -15) {
        TC_RETURN_ARG_ERROR();
    }
    return tc_ew_broadcast(params, add_row, input1_dims, input1, input2_dims, input2,
                           output_dims, output, sizeof(int16_t));
}
