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
/* Four lanes a pass, the tail under a VCTP predicate; a repeated operand is read from four
 * copies that do not advance (tc_ew_word_source), so the loop has no branches. */
static void tc_mul_row_mve(const tc_mul_params *params, const int8_t *input1, int32_t step1,
                           const int8_t *input2, int32_t step2, int8_t *output, int32_t len)
{
    const tc_mul_params p = *params; /* the byte stores could alias it */
    int8_t repeated1[4], repeated2[4];
    const int32_t advance1 = tc_ew_word_source(&input1, step1, repeated1);
    const int32_t advance2 = tc_ew_word_source(&input2, step2, repeated2);
    const int32x4_t lo = vdupq_n_s32(p.activation.min);
    const int32x4_t hi = vdupq_n_s32(p.activation.max);
    for (int32_t i = 0; i < len; i += 4) {
        const mve_pred16_t pred = vctp32q((uint32_t)(len - i));
        const int32x4_t a = vaddq_n_s32(vldrbq_z_s32(input1, pred), p.input1_offset);
        const int32x4_t b = vaddq_n_s32(vldrbq_z_s32(input2, pred), p.input2_offset);
        input1 += advance1;
        input2 += advance2;
        int32x4_t out = tc_requantize_x4(vmulq_s32(a, b), p.output_multiplier, p.output_shift);
        out = vminq_s32(vmaxq_s32(vaddq_n_s32(out, p.output_offset), lo), hi);
        vstrbq_p_s32(output + i, out, pred);
    }
}
#endif

/* One MUL call: its parameters and what the DSP path derives from them once. */
typedef struct {
    const tc_mul_params *p;
#if TC_ISA_DSP
    int narrow; /* the requantization within tc_rq_narrow's bounds */
    tc_rq_narrow out;
#endif
} tc_mul_call;

#if TC_ISA_DSP
/* Four pairs at a time (a repeated operand as in tc_mul_row_mve): offsets added with SXTAB16,
 * input 1 doubled (SADD16: |2 a| <= 510), products of the halfword lanes with
 * SMLABB/SMLATT onto 0, so 2 * product goes straight into tc_requantize_narrow_any;
 * SSAT to int8 and the activation clamp on the packed word. */
static void tc_mul_row_dsp(const tc_mul_call *c, const int8_t *input1, int32_t step1,
                           const int8_t *input2, int32_t step2, int8_t *output, int32_t len)
{
    int8_t repeated1[4], repeated2[4];
    const int32_t advance1 = tc_ew_word_source(&input1, step1, repeated1);
    const int32_t advance2 = tc_ew_word_source(&input2, step2, repeated2);
    const tc_mul_params *p = c->p;
    const tc_rq_narrow rq = c->out;
    const uint32_t off1 = ((uint32_t)(uint16_t)p->input1_offset) * 0x10001u;
    const uint32_t off2 = ((uint32_t)(uint16_t)p->input2_offset) * 0x10001u;
    const uint32_t lo4 = tc_ew_dup_s8x4(p->activation.min);
    const uint32_t hi4 = tc_ew_dup_s8x4(p->activation.max);
    int32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        const uint32_t w1 = (uint32_t)tc_read_s32(input1);
        const uint32_t w2 = (uint32_t)tc_read_s32(input2);
        input1 += advance1;
        input2 += advance2;
        uint32_t a02 = __sxtab16(off1, w1), a13 = __sxtab16(off1, tc_ror8(w1));
        a02 = __sadd16(a02, a02);
        a13 = __sadd16(a13, a13);
        const uint32_t b02 = __sxtab16(off2, w2), b13 = __sxtab16(off2, tc_ror8(w2));
        const int32_t y0 = __ssat(tc_requantize_narrow_any(__smlabb(a02, b02, 0), &rq), 8);
        const int32_t y1 = __ssat(tc_requantize_narrow_any(__smlabb(a13, b13, 0), &rq), 8);
        const int32_t y2 = __ssat(tc_requantize_narrow_any(__smlatt(a02, b02, 0), &rq), 8);
        const int32_t y3 = __ssat(tc_requantize_narrow_any(__smlatt(a13, b13, 0), &rq), 8);
        tc_write_s32(output + i,
                     (int32_t)tc_ew_clamp_s8x4((uint32_t)tc_pack_s8x4(y0, y1, y2, y3), lo4, hi4));
    }
    for (int32_t k = 0; i < len; ++i, ++k) {
        output[i] = tc_mul_output(p, (input1[k * step1] + p->input1_offset) *
                                         (input2[k * step2] + p->input2_offset));
    }
}
#endif

static void tc_mul_row(const void *call, const void *in1, int32_t step1, const void *in2,
                       int32_t step2, void *out, int32_t len)
{
    const tc_mul_call *c = (const tc_mul_call *)call;
    const int8_t *input1 = (const int8_t *)in1;
    const int8_t *input2 = (const int8_t *)in2;
    int8_t *output = (int8_t *)out;
    const tc_mul_params *p = c->p;
#if TC_ISA_MVE
    tc_mul_row_mve(p, input1, step1, input2, step2, output, len);
#else
#if TC_ISA_DSP
    if (c->narrow) {
        tc_mul_row_dsp(c, input1, step1, input2, step2, output, len);
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
    if (params == NULL) {
        TC_RETURN_ARG_ERROR();
    }
    tc_mul_call c;
    c.p = params;
#if TC_ISA_DSP
    /* |(in1 + offset1) * (in2 + offset2)| <= 255 * 255 */
    c.narrow = tc_rq_narrow_ok(params->output_multiplier, params->output_shift,
                           params->output_offset, 255 * 255);
    if (c.narrow) {
        c.out = tc_rq_narrow_of(params->output_multiplier, params->output_shift,
                            params->output_offset);
    }
#endif
    return tc_ew_broadcast(&c, tc_mul_row, input1_dims, input1, input2_dims, input2,
                           output_dims, output, sizeof(int8_t));
}
