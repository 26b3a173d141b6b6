/*
 * tc_prelu_s8: PRELU on int8, the alpha broadcast to the input's shape (TFLite
 * activations.cc, reference_ops::BroadcastPrelu / Prelu):
 *   v = in + input_offset
 *   out = clamp((v >= 0 ? MBQM(v, multiplier_1, shift_1)
 *                       : MBQM(v * (alpha + alpha_offset), multiplier_2, shift_2))
 *               + output_offset, -128, 127)
 * MBQM is TFLite's MultiplyByQuantizedMultiplier (tc_requantize).
 */
#include "tc_math_broadcast.h"
#include "tc_nn_support.h"

static void tc_prelu_row_s8(const void *params, const void *const *in, const int32_t *step,
                            void *out, int32_t len)
{
    const tc_prelu_params *p = (const tc_prelu_params *)params;
    const int8_t *x = (const int8_t *)in[0];
    const int8_t *alpha = (const int8_t *)in[1];
    int8_t *o = (int8_t *)out;
    const int32_t sx = step[0], sa = step[1];
    for (int32_t j = 0; j < len; ++j) {
        const int32_t v = x[j * sx] + p->input_offset;
        int32_t r;
        if (v >= 0) {
            r = tc_requantize(v, p->output_multiplier_1, p->output_shift_1);
        } else {
            r = tc_requantize(v * (alpha[j * sa] + p->alpha_offset), p->output_multiplier_2,
                              p->output_shift_2);
        }
        r = tc_add_wrap(r, p->output_offset);
        o[j] = (int8_t)TC_CLAMP(r, -128, 127);
    }
}

tc_status tc_prelu_s8(const tc_prelu_params *params, const tc_nd_dims *input_dims,
                      const int8_t *input, const tc_nd_dims *alpha_dims, const int8_t *alpha,
                      const tc_nd_dims *output_dims, int8_t *output)
{
    if (params == NULL || input_dims == NULL || output_dims == NULL) {
        TC_RETURN_ARG_ERROR();
    }
    for (int d = 0; d < TC_MATH_MAX_RANK; ++d) {
        if (input_dims->d[d] != output_dims->d[d]) {
            TC_RETURN_ARG_ERROR();
        }
    }
    return tc_bc_walk2(params, tc_prelu_row_s8, input_dims, input, alpha_dims, alpha, 1,
                       output_dims, output, 1);
}
