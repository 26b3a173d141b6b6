/*
 * ADD, int16, power-of-two scales (LiteRT's pot_scale_int16 path, taken when the op's
 * pot_scale_int16 option is set and every scale is a power of two, zero points 0):
 *   out = clamp(RoundingDivideByPOT(in1, -input1_shift) + RoundingDivideByPOT(in2, -input2_shift))
 * (at most one shift is nonzero; the clamp includes int16 saturation). Portable C.
 */
#include "tc_elementwise_s16.h"

static int16_t add_one(const void *params, int32_t a, int32_t b)
{
    const tc_add_pot_params *p = (const tc_add_pot_params *)params;
    const int32_t x1 = tc_rdbpot_s16(a, -p->input1_shift);
    const int32_t x2 = tc_rdbpot_s16(b, -p->input2_shift);
    return tc_clamp16(x1 + x2, p->activation);
}

tc_status tc_elementwise_add_pot_s16(const tc_add_pot_params *params,
                                     const tc_dims *input1_dims, const int16_t *input1,
                                     const tc_dims *input2_dims, const int16_t *input2,
                                     const tc_dims *output_dims, int16_t *output)
{
    if (params->input1_shift > 0 || params->input2_shift > 0 || params->input1_shift < -15 ||
        params->input2_shift < -15) {
        TC_RETURN_ARG_ERROR();
    }
    return tc_ew_s16_broadcast(params, add_one, input1_dims, input1, input2_dims, input2,
                               output_dims, output);
}
