/*
 * tc_elementwise_mul_s8: TFLite's int8 MUL (reference_integer_ops::MulElementwise and
 * BroadcastMul6DSlow) with numpy broadcasting:
 *   out = clamp(tc_requantize((in1 + input1_offset) * (in2 + input2_offset),
 *                             output_multiplier, output_shift) + output_offset)
 * Portable C, plus Armv7E-M DSP and Helium variants giving the same bytes.
 */
#include "tc_elementwise_internal.h"

static inline int8_t tc_mul_output(const tc_mul_params *p, int32_t product)
{
    const int32_t out =
        tc_ew_requantize(product, p->output_multiplier, p->output_shift) + p->output_offset;
    return tc_clamp_s8(out, p->activation);
}

#if TC_ISA_MVE
static void tc_mul_row_mve(const tc_mul_params *p, const int8_t *input1, int32_t step1,
                           const int8_t *input2, int32_t step2, int8_t *output, int32_t len)
{
    const int32x4_t a_fixed = vdupq_n_s32(input1[0] + p->input1_offset);
    const int32x4_t b_fixed = vdupq_n_s32(input2[0] + p->input2_offset);
    const int32x4_t lo = vdupq_n_s32(p->activation.min);
    const int32x4_t hi = vdupq_n_s32(p->activation.max);
    for (int32_t i = 0; i < len; i += 4) {
        const mve_pred16_t pred = vctp32q((uint32_t)(len - i));
        const int32x4_t a =
            step1 ? vaddq_n_s32(vldrbq_z_s32(input1 + i, pred), p->input1_offset) : a_fixed;
        const int32x4_t b =
            step2 ? vaddq_n_s32(vldrbq_z_s32(input2 + i, pred), p->input2_offset) : b_fixed;
        int32x4_t out = tc_requantize_x4(vmulq_s32(a, b), p->output_multiplier,
                                         p->output_shift);
        out = vminq_s32(vmaxq_s32(vaddq_n_s32(out, p->output_offset), lo), hi);
        vstrbq_p_s32(output + i, out, pred);
    }
}
#endif

#if TC_ISA_DSP
/* Four pairs at a time: offsets added with SXTAB16, products of the halfword lanes with
 * SMLABB/SMLATT (accumulating onto 0). */
static void tc_mul_row_dsp(const tc_mul_params *p, const int8_t *input1,
                           const int8_t *input2, int8_t *output, int32_t len)
{
    const uint32_t off1 = ((uint32_t)(uint16_t)p->input1_offset) * 0x10001u;
    const uint32_t off2 = ((uint32_t)(uint16_t)p->input2_offset) * 0x10001u;
    int32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        const uint32_t w1 = (uint32_t)tc_read_s32(input1 + i);
        const uint32_t w2 = (uint32_t)tc_read_s32(input2 + i);
        const uint32_t a02 = __sxtab16(off1, w1), a13 = __sxtab16(off1, tc_ror8(w1));
        const uint32_t b02 = __sxtab16(off2, w2), b13 = __sxtab16(off2, tc_ror8(w2));
        int8_t y[4];
        y[0] = tc_mul_output(p, __smlabb(a02, b02, 0));
        y[1] = tc_mul_output(p, __smlabb(a13, b13, 0));
        y[2] = tc_mul_output(p, __smlatt(a02, b02, 0));
        y[3] = tc_mul_output(p, __smlatt(a13, b13, 0));
        tc_write_s32(output + i, tc_pack_s8x4(y[0], y[1], y[2], y[3]));
    }
    for (; i < len; ++i) {
        output[i] = tc_mul_output(p, (input1[i] + p->input1_offset) *
                                         (input2[i] + p->input2_offset));
    }
}
#endif

static void tc_mul_row(const void *params, const int8_t *input1, int32_t step1,
                       const int8_t *input2, int32_t step2, int8_t *output, int32_t len)
{
    const tc_mul_params *p = (const tc_mul_params *)params;
#if TC_ISA_MVE
    tc_mul_row_mve(p, input1, step1, input2, step2, output, len);
#else
#if TC_ISA_DSP
    if (step1 && step2) {
        tc_mul_row_dsp(p, input1, input2, output, len);
        return;
    }
#endif
    for (int32_t i = 0; i < len; ++i) {
        const int32_t a = input1[i * step1] + p->input1_offset;
        const int32_t b = input2[i * step2] + p->input2_offset;
        output[i] = tc_mul_output(p, a * b);
    }
#endif
}

tc_status tc_elementwise_mul_s8(const tc_mul_params *params,
                                const tc_dims *input1_dims, const int8_t *input1,
                                const tc_dims *input2_dims, const int8_t *input2,
                                const tc_dims *output_dims, int8_t *output)
{
    return tc_ew_broadcast(params, tc_mul_row, input1_dims, input1, input2_dims, input2,
                           output_dims, output);
}
