/*
 * tc_comparison_s32: EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL on int32_t
 * with NumPy broadcasting (TFLite comparisons.cc, reference_ops::ComparisonImpl and
 * BroadcastComparison4DSlowImpl): LiteRT compares the stored integers, without rescaling.
 */
#include "tc_math_broadcast.h"

static void tc_cmp_row_s32(const void *params, const void *const *in, const int32_t *step,
                        void *out, int32_t len)
{
    const int32_t op = ((const tc_comparison_params *)params)->op;
    const int32_t *a = (const int32_t *)in[0];
    const int32_t *b = (const int32_t *)in[1];
    bool *o = (bool *)out;
    const int32_t sa = step[0], sb = step[1];
    for (int32_t j = 0; j < len; ++j) {
        const int32_t x = a[j * sa], y = b[j * sb];
        bool r;
        switch (op) {
        case TC_CMP_EQUAL: r = x == y; break;
        case TC_CMP_NOT_EQUAL: r = x != y; break;
        case TC_CMP_LESS: r = x < y; break;
        case TC_CMP_LESS_EQUAL: r = x <= y; break;
        case TC_CMP_GREATER: r = x > y; break;
        default: r = x >= y; break;
        }
        o[j] = r;
    }
}

tc_status tc_comparison_s32(const tc_comparison_params *params, const tc_nd_dims *input1_dims,
                           const int32_t *input1, const tc_nd_dims *input2_dims,
                           const int32_t *input2, const tc_nd_dims *output_dims, bool *output)
{
    if (params == NULL || params->op < TC_CMP_EQUAL || params->op > TC_CMP_GREATER_EQUAL) {
        TC_RETURN_ARG_ERROR();
    }
    return tc_bc_walk2(params, tc_cmp_row_s32, input1_dims, input1, input2_dims, input2, 4,
                       output_dims, output, 1);
}
