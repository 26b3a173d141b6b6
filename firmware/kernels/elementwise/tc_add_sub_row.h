/*
 * Private: one broadcast run of ADD or SUB (TFLite reference_integer_ops::AddFunc and
 * reference_ops::SubElementwise; SUB is ADD with the second rescaled input negated, which
 * is exact in integers). Portable C, plus Armv7E-M DSP and Helium variants of the
 * advancing/advancing case, all giving the same bytes.
 */
#ifndef TC_ADD_SUB_ROW_H
#define TC_ADD_SUB_ROW_H

#include "tc_elementwise_internal.h"

/* An input on the common scale: offset, shift left by 20, rescale (a multiplier < 1). */
static inline int32_t tc_add_rescale(int32_t x, int32_t offset, int32_t left_shift,
                                     int32_t multiplier, int32_t shift)
{
    return tc_ew_requantize((x + offset) * (1 << left_shift), multiplier, shift);
}

static inline int8_t tc_add_output(const tc_add_params *p, int32_t raw)
{
    const int32_t out =
        tc_ew_requantize(raw, p->output_multiplier, p->output_shift) + p->output_offset;
    return tc_clamp_s8(out, p->activation);
}

static inline int32_t tc_add_rescale1(const tc_add_params *p, int32_t x)
{
    return tc_add_rescale(x, p->input1_offset, p->left_shift, p->input1_multiplier,
                          p->input1_shift);
}

static inline int32_t tc_add_rescale2(const tc_add_params *p, int32_t x)
{
    return tc_add_rescale(x, p->input2_offset, p->left_shift, p->input2_multiplier,
                          p->input2_shift);
}

#if TC_ISA_MVE
static inline int32x4_t tc_add_rescale_x4(int32x4_t x, int32_t offset, int32_t left_shift,
                                          int32_t multiplier, int32_t shift)
{
    x = vshlq_s32(vaddq_n_s32(x, offset), vdupq_n_s32(left_shift));
    return tc_requantize_x4(x, multiplier, shift);
}

/* Four lanes at a time with tail predication; a repeated operand is rescaled once. */
static inline void tc_add_sub_row_mve(const tc_add_params *p, int32_t sign,
                                      const int8_t *input1, int32_t step1,
                                      const int8_t *input2, int32_t step2, int8_t *output,
                                      int32_t len)
{
    const int32x4_t a_fixed = vdupq_n_s32(tc_add_rescale1(p, input1[0]));
    const int32x4_t b_fixed = vdupq_n_s32(sign * tc_add_rescale2(p, input2[0]));
    const int32x4_t lo = vdupq_n_s32(p->activation.min);
    const int32x4_t hi = vdupq_n_s32(p->activation.max);
    for (int32_t i = 0; i < len; i += 4) {
        const mve_pred16_t pred = vctp32q((uint32_t)(len - i));
        int32x4_t a = a_fixed;
        int32x4_t b = b_fixed;
        if (step1) {
            a = tc_add_rescale_x4(vldrbq_z_s32(input1 + i, pred), p->input1_offset,
                                  p->left_shift, p->input1_multiplier, p->input1_shift);
        }
        if (step2) {
            b = tc_add_rescale_x4(vldrbq_z_s32(input2 + i, pred), p->input2_offset,
                                  p->left_shift, p->input2_multiplier, p->input2_shift);
            if (sign < 0) {
                b = vnegq_s32(b);
            }
        }
        int32x4_t out = tc_requantize_x4(vaddq_s32(a, b), p->output_multiplier,
                                         p->output_shift);
        out = vminq_s32(vmaxq_s32(vaddq_n_s32(out, p->output_offset), lo), hi);
        vstrbq_p_s32(output + i, out, pred);
    }
}
#endif

#if TC_ISA_DSP
/* Four int8 at a time: one word load, offsets added to both halfword lanes with SXTAB16
 * (the offsets are within int16), then the scalar requantization per element. */
static inline void tc_add_sub_row_dsp(const tc_add_params *p, int32_t sign,
                                      const int8_t *input1, const int8_t *input2,
                                      int8_t *output, int32_t len)
{
    const uint32_t off1 = ((uint32_t)(uint16_t)p->input1_offset) * 0x10001u;
    const uint32_t off2 = ((uint32_t)(uint16_t)p->input2_offset) * 0x10001u;
    int32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        const uint32_t w1 = (uint32_t)tc_read_s32(input1 + i);
        const uint32_t w2 = (uint32_t)tc_read_s32(input2 + i);
        /* Lanes 0 and 2, then (rotated) lanes 1 and 3, each with its offset added. */
        const uint32_t a02 = __sxtab16(off1, w1), a13 = __sxtab16(off1, tc_ror8(w1));
        const uint32_t b02 = __sxtab16(off2, w2), b13 = __sxtab16(off2, tc_ror8(w2));
        const int32_t a[4] = {(int16_t)a02, (int16_t)a13, (int16_t)(a02 >> 16),
                              (int16_t)(a13 >> 16)};
        const int32_t b[4] = {(int16_t)b02, (int16_t)b13, (int16_t)(b02 >> 16),
                              (int16_t)(b13 >> 16)};
        int8_t y[4];
        for (int k = 0; k < 4; ++k) {
            const int32_t ra = tc_ew_requantize(a[k] * (1 << p->left_shift),
                                             p->input1_multiplier, p->input1_shift);
            const int32_t rb = tc_ew_requantize(b[k] * (1 << p->left_shift),
                                             p->input2_multiplier, p->input2_shift);
            y[k] = tc_add_output(p, ra + sign * rb);
        }
        tc_write_s32(output + i, tc_pack_s8x4(y[0], y[1], y[2], y[3]));
    }
    for (; i < len; ++i) {
        output[i] = tc_add_output(p, tc_add_rescale1(p, input1[i]) +
                                         sign * tc_add_rescale2(p, input2[i]));
    }
}
#endif

/* Portable C: the repeated operand (step 0) is rescaled once for the whole run. */
static inline void tc_add_sub_row(const tc_add_params *p, int32_t sign, const int8_t *input1,
                                  int32_t step1, const int8_t *input2, int32_t step2,
                                  int8_t *output, int32_t len)
{
#if TC_ISA_MVE
    tc_add_sub_row_mve(p, sign, input1, step1, input2, step2, output, len);
    return;
#else
#if TC_ISA_DSP
    if (step1 && step2) {
        tc_add_sub_row_dsp(p, sign, input1, input2, output, len);
        return;
    }
#endif
    if (!step1) {
        const int32_t a = tc_add_rescale1(p, input1[0]);
        for (int32_t i = 0; i < len; ++i) {
            output[i] = tc_add_output(p, a + sign * tc_add_rescale2(p, input2[i]));
        }
    } else if (!step2) {
        const int32_t b = sign * tc_add_rescale2(p, input2[0]);
        for (int32_t i = 0; i < len; ++i) {
            output[i] = tc_add_output(p, tc_add_rescale1(p, input1[i]) + b);
        }
    } else {
        for (int32_t i = 0; i < len; ++i) {
            output[i] = tc_add_output(p, tc_add_rescale1(p, input1[i]) +
                                             sign * tc_add_rescale2(p, input2[i]));
        }
    }
#endif
}

#endif /* TC_ADD_SUB_ROW_H */
