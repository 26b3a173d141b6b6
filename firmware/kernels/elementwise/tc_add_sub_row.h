/*
 * Private: one broadcast run of ADD or SUB (TFLite reference_integer_ops::AddFunc and
 * reference_ops::SubElementwise; SUB is ADD with the second rescaled input negated, which
 * is exact in integers), on int8 or int16 elements (`size` 1 or 2, a constant in each
 * caller; int16 is LiteRT's general int16 path: the same arithmetic with left_shift 15).
 * Portable C, plus a Helium variant (four lanes, int8 or int16 loads widened to int32) and
 * an Armv7E-M DSP variant of the int8 advancing/advancing case, all giving the same bytes
 * (the SIMD builds' scalar requantization is tc_requantize_fast: the same bits).
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

/* The output: requantized, plus the output offset (wrapping, as TFLite's int32), clamped to
 * the activation range (which lies inside the output type's). */
static inline int32_t tc_add_output(const tc_add_params *p, int32_t raw)
{
    const int32_t out = tc_add_wrap(tc_ew_requantize(raw, p->output_multiplier, p->output_shift),
                                    p->output_offset);
    return TC_CLAMP(out, p->activation.min, p->activation.max);
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

/* One ADD or SUB call: its parameters and what the DSP path derives from them once. */
typedef struct {
    const tc_add_params *p;
#if TC_ISA_DSP
    int narrow;
    tc_rq_narrow in1, in2, out;
#endif
} tc_add_sub_call;

#if TC_ISA_MVE
static inline int32x4_t tc_add_rescale_x4(int32x4_t x, int32_t offset, int32_t left_shift,
                                          int32_t multiplier, int32_t shift)
{
    x = vshlq_s32(vaddq_n_s32(x, offset), vdupq_n_s32(left_shift));
    return tc_requantize_x4(x, multiplier, shift);
}

static inline int32x4_t tc_add_load_x4(const void *p, int32_t i, mve_pred16_t pred,
                                       size_t size)
{
    return size == 1 ? vldrbq_z_s32((const int8_t *)p + i, pred)
                     : vldrhq_z_s32((const int16_t *)p + i, pred);
}

/* Four lanes at a time with tail predication; a repeated operand is rescaled once. */
static inline void tc_add_sub_row_mve(const tc_add_params *p, int32_t sign, const void *input1,
                                      int32_t step1, const void *input2, int32_t step2,
                                      void *output, int32_t len, size_t size)
{
    const int32x4_t a_fixed = vdupq_n_s32(tc_add_rescale1(p, tc_load_sized(input1, 0, size)));
    const int32x4_t b_fixed =
        vdupq_n_s32(sign * tc_add_rescale2(p, tc_load_sized(input2, 0, size)));
    const int32x4_t lo = vdupq_n_s32(p->activation.min);
    const int32x4_t hi = vdupq_n_s32(p->activation.max);
    for (int32_t i = 0; i < len; i += 4) {
        const mve_pred16_t pred = vctp32q((uint32_t)(len - i));
        int32x4_t a = a_fixed;
        int32x4_t b = b_fixed;
        if (step1) {
            a = tc_add_rescale_x4(tc_add_load_x4(input1, i, pred, size), p->input1_offset,
                                  p->left_shift, p->input1_multiplier, p->input1_shift);
        }
        if (step2) {
            b = tc_add_rescale_x4(tc_add_load_x4(input2, i, pred, size), p->input2_offset,
                                  p->left_shift, p->input2_multiplier, p->input2_shift);
            if (sign < 0) {
                b = vnegq_s32(b);
            }
        }
        int32x4_t out = tc_requantize_x4(vaddq_s32(a, b), p->output_multiplier,
                                         p->output_shift);
        out = vminq_s32(vmaxq_s32(vaddq_n_s32(out, p->output_offset), lo), hi);
        if (size == 1) {
            vstrbq_p_s32((int8_t *)output + i, out, pred);
        } else {
            vstrhq_p_s32((int16_t *)output + i, out, pred);
        }
    }
}
#endif

#if TC_ISA_DSP
/*
 * Four int8 at a time: one word load per input, offsets added to both halfword lanes with
 * SXTAB16, each lane shifted to 2 * ((in + offset) << 20) (|in + offset| <= 255, so the
 * lane's high bits fall off), the three requantizations tc_requantize_narrow_any's six
 * instructions each, SSAT to int8 and the activation clamp on the packed word. For
 * parameters within tc_rq_narrow's bounds (tc_add_sub_call.narrow: left shift 20, |each
 * rescaled input| < 2^28, their sum < 2^29), which TFLite's ADD parameters are.
 */
static inline int32_t tc_add_sub_narrow(const tc_add_sub_call *c, int32_t sign, int32_t a21,
                                        int32_t b21)
{
    const int32_t sum = tc_requantize_narrow_any(a21, &c->in1) +
                        sign * tc_requantize_narrow_any(b21, &c->in2);
    return __ssat(tc_requantize_narrow_any(sum * 2, &c->out), 8);
}

static void tc_add_sub_row_dsp(const tc_add_sub_call *c, int32_t sign, const int8_t *input1,
                               const int8_t *input2, int8_t *output, int32_t len)
{
    const tc_add_params *p = c->p;
    const uint32_t off1 = ((uint32_t)(uint16_t)p->input1_offset) * 0x10001u;
    const uint32_t off2 = ((uint32_t)(uint16_t)p->input2_offset) * 0x10001u;
    const uint32_t lo4 = tc_ew_dup_s8x4(p->activation.min);
    const uint32_t hi4 = tc_ew_dup_s8x4(p->activation.max);
    int32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        const uint32_t w1 = (uint32_t)tc_read_s32(input1 + i);
        const uint32_t w2 = (uint32_t)tc_read_s32(input2 + i);
        /* Lanes 0 and 2, then (rotated) lanes 1 and 3, each with its offset added. */
        const uint32_t a02 = __sxtab16(off1, w1), a13 = __sxtab16(off1, tc_ror8(w1));
        const uint32_t b02 = __sxtab16(off2, w2), b13 = __sxtab16(off2, tc_ror8(w2));
        const uint32_t hi = 0xFFFF0000u;
        const int32_t y0 =
            tc_add_sub_narrow(c, sign, (int32_t)(a02 << 21), (int32_t)(b02 << 21));
        const int32_t y1 =
            tc_add_sub_narrow(c, sign, (int32_t)(a13 << 21), (int32_t)(b13 << 21));
        const int32_t y2 =
            tc_add_sub_narrow(c, sign, (int32_t)((a02 & hi) << 5), (int32_t)((b02 & hi) << 5));
        const int32_t y3 =
            tc_add_sub_narrow(c, sign, (int32_t)((a13 & hi) << 5), (int32_t)((b13 & hi) << 5));
        tc_write_s32(output + i,
                     (int32_t)tc_ew_clamp_s8x4((uint32_t)tc_pack_s8x4(y0, y1, y2, y3), lo4, hi4));
    }
    for (; i < len; ++i) {
        output[i] = tc_add_output(p, tc_add_rescale1(p, input1[i]) +
                                         sign * tc_add_rescale2(p, input2[i]));
    }
}
#endif

/* Portable C: the repeated operand (step 0) is rescaled once for the whole run. */
static inline void tc_add_sub_row(const void *call, int32_t sign, const void *input1,
                                  int32_t step1, const void *input2, int32_t step2,
                                  void *output, int32_t len, size_t size)
{
    const tc_add_sub_call *c = (const tc_add_sub_call *)call;
    const tc_add_params *p = c->p;
#if TC_ISA_MVE
    tc_add_sub_row_mve(p, sign, input1, step1, input2, step2, output, len, size);
    return;
#else
#if TC_ISA_DSP
    if (size == 1 && step1 && step2 && c->narrow) {
        tc_add_sub_row_dsp(c, sign, (const int8_t *)input1, (const int8_t *)input2,
                           (int8_t *)output, len);
        return;
    }
#endif
    if (!step1) {
        const int32_t a = tc_add_rescale1(p, tc_load_sized(input1, 0, size));
        for (int32_t i = 0; i < len; ++i) {
            const int32_t b = sign * tc_add_rescale2(p, tc_load_sized(input2, i, size));
            tc_store_sized(output, i, tc_add_output(p, a + b), size);
        }
    } else if (!step2) {
        const int32_t b = sign * tc_add_rescale2(p, tc_load_sized(input2, 0, size));
        for (int32_t i = 0; i < len; ++i) {
            const int32_t a = tc_add_rescale1(p, tc_load_sized(input1, i, size));
            tc_store_sized(output, i, tc_add_output(p, a + b), size);
        }
    } else {
        for (int32_t i = 0; i < len; ++i) {
            const int32_t raw = tc_add_rescale1(p, tc_load_sized(input1, i, size)) +
                                sign * tc_add_rescale2(p, tc_load_sized(input2, i, size));
            tc_store_sized(output, i, tc_add_output(p, raw), size);
        }
    }
#endif
}

/* The kernel of ADD and SUB: `row` calls tc_add_sub_row with the sign of input 2 (1 or -1)
 * as a constant. */
static inline tc_status tc_add_sub(const tc_add_params *params, tc_ew_row_fn row,
                                   const tc_dims *input1_dims, const void *input1,
                                   const tc_dims *input2_dims, const void *input2,
                                   const tc_dims *output_dims, void *output, size_t size)
{
    if (params == NULL) {
        TC_RETURN_ARG_ERROR();
    }
    tc_add_sub_call c;
    c.p = params;
#if TC_ISA_DSP
    const int32_t rescaled = 1 << 28; /* |(in + offset) << 20| < 2^28 */
    c.narrow = params->left_shift == 20 &&
               tc_rq_narrow_ok(params->input1_multiplier, params->input1_shift, 0, rescaled) &&
               tc_rq_narrow_ok(params->input2_multiplier, params->input2_shift, 0, rescaled) &&
               tc_rq_narrow_ok(params->output_multiplier, params->output_shift,
                           params->output_offset, 2 * rescaled);
    if (c.narrow) {
        c.in1 = tc_rq_narrow_of(params->input1_multiplier, params->input1_shift, 0);
        c.in2 = tc_rq_narrow_of(params->input2_multiplier, params->input2_shift, 0);
        c.out = tc_rq_narrow_of(params->output_multiplier, params->output_shift,
                            params->output_offset);
    }
#endif
    return tc_ew_broadcast(&c, row, input1_dims, input1, input2_dims, input2,
                           output_dims, output, size);
}

#endif /* TC_ADD_SUB_ROW_H */
