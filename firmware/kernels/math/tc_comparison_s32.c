/*
 * tc_comparison_s32: EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL on int32_t
 * with NumPy broadcasting: LiteRT compares the stored integers, without rescaling
 * (tc_comparison_internal.h).
 */
#include "tc_comparison_internal.h"

static void tc_cmp_row_s32(const void *params, const void *const *in, const int32_t *step,
                          void *out, int32_t len)
{
    tc_cmp_row_integers(params, in, step, out, len, sizeof(int32_t));
}

tc_status tc_comparison_s32(const tc_comparison_params *params, const tc_nd_dims *input1_dims,
                           const int32_t *input1, const tc_nd_dims *input2_dims,
                           const int32_t *input2, const tc_nd_dims *output_dims, bool *output)
{
    return tc_comparison_integers(params, tc_cmp_row_s32, input1_dims, input1, input2_dims,
                                  input2, output_dims, output, sizeof(int32_t));
}
