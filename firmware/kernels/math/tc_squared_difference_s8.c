/*
 * tc_squared_difference_s8: SQUARED_DIFFERENCE on int8 with NumPy broadcasting (TFLite
 * squared_difference.cc, its int8 SquaredDifference):
 *   a = RoundingDivideByPOT(SRDHM((in1 + input1_offset) * 2^left_shift, m1), -s1)  (b alike)
 *   out = clamp(RoundingDivideByPOT(SRDHM((a - b)^2, mo), -so) + output_offset, -128, 127)
 * With left_shift 7 and both multipliers below one, |a - b| < 255 * 2^7: the square fits.
 */
#include "tc_math_broadcast.h"
#include "tc_math_internal.h"

static void tc_sqdiff_row_s8(const void *params, const void *const *in, const int32_t *step,
                             void *out, int32_t len)
{
    const tc_squared_difference_params *p = (const tc_squared_difference_params *)params;
    const int8_t *a = (const int8_t *)in[0];
    const int8_t *b = (const int8_t *)in[1];
    int8_t *o = (int8_t *)out;
    const int32_t sa = step[0], sb = step[1];
    const int32_t scale = (int32_t)1 << p->left_shift;
    for (int32_t j = 0; j < len; ++j) {
        const int32_t x = tc_mul_below_one((a[j * sa] + p->input1_offset) * scale,
                                           p->input1_multiplier, p->input1_shift);
        const int32_t y = tc_mul_below_one((b[j * sb] + p->input2_offset) * scale,
                                           p->input2_multiplier, p->input2_shift);
        const int32_t d = x - y;
        const int32_t v = tc_mul_below_one(d * d, p->output_multiplier, p->output_shift) +
                          p->output_offset;
        o[j] = (int8_t)TC_CLAMP(v, -128, 127);
    }
}

tc_status tc_squared_difference_s8(const tc_squared_difference_params *params,
                                   const tc_nd_dims *input1_dims, const int8_t *input1,
                                   const tc_nd_dims *input2_dims, const int8_t *input2,
                                   const tc_nd_dims *output_dims, int8_t *output)
{
    if (params == NULL || params->left_shift < 0 || params->left_shift > 7 ||
        params->input1_shift > 0 || params->input2_shift > 0 || params->output_shift > 0 ||
        params->input1_shift < -31 || params->input2_shift < -31 ||
        params->output_shift < -31) {
        TC_RETURN_ARG_ERROR();
    }
    return tc_bc_walk2(params, tc_sqdiff_row_s8, input1_dims, input1, input2_dims, input2, 1,
                       output_dims, output, 1);
}
