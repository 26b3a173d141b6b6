/*
 * tc_comparison_s8: EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL on int8
 * with NumPy broadcasting (TFLite comparisons.cc, reference_ops::ComparisonWithScaling and
 * BroadcastComparison4DSlowWithScaling). Each input is put on a common scale first:
 *   v = RoundingDivideByPOT(SRDHM((in + offset) * 2^left_shift, multiplier), -shift)
 * and the two int32 values are compared.
 */
#include "tc_comparison_internal.h"
#include "tc_math_internal.h"

static void tc_cmp_row_s8(const void *params, const void *const *in, const int32_t *step,
                          void *out, int32_t len)
{
    const tc_comparison_params *p = (const tc_comparison_params *)params;
    const int8_t *a = (const int8_t *)in[0];
    const int8_t *b = (const int8_t *)in[1];
    bool *o = (bool *)out;
    const int32_t sa = step[0], sb = step[1];
    const int32_t scale = (int32_t)1 << p->left_shift;
    for (int32_t j = 0; j < len; ++j) {
        const int32_t x = tc_mul_below_one((a[j * sa] + p->input1_offset) * scale,
                                           p->input1_multiplier, p->input1_shift);
        const int32_t y = tc_mul_below_one((b[j * sb] + p->input2_offset) * scale,
                                           p->input2_multiplier, p->input2_shift);
        o[j] = tc_compare(p->op, x, y);
    }
}

tc_status tc_comparison_s8(const tc_comparison_params *params, const tc_nd_dims *input1_dims,
                           const int8_t *input1, const tc_nd_dims *input2_dims,
                           const int8_t *input2, const tc_nd_dims *output_dims, bool *output)
{
    if (params == NULL || params->op < TC_CMP_EQUAL || params->op > TC_CMP_GREATER_EQUAL ||
        params->left_shift < 0 || params->left_shift > 8 || params->input1_shift > 0 ||
        params->input2_shift > 0 || params->input1_shift < -31 || params->input2_shift < -31) {
        TC_RETURN_ARG_ERROR();
    }
    return tc_bc_walk2(params, tc_cmp_row_s8, input1_dims, input1, input2_dims, input2, 1,
                       output_dims, output, 1);
}
