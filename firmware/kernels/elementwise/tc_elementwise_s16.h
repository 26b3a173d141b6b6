/*
 * Private to the int16 MUL and power-of-two ADD/SUB kernels (the general int16 ADD/SUB
 * shares the int8 kernels' tc_add_sub_row.h): the arithmetic of one element pair, which is
 * the definition (portable C), and one broadcast run of it (the walk over broadcast runs is
 * tc_ew_broadcast's, shared with the int8 kernels: tc_elementwise_internal.h). Each input
 * element is read before the output element of the same index is written, so the output
 * may be an input of the output's shape (in place).
 *
 * The SIMD paths give the same bytes as the element functions:
 * - the scalar requantization is tc_ew_requantize: tc_requantize in the portable build,
 *   tc_requantize_fast (the same bits without a 64-bit division) in the SIMD builds;
 * - Helium: four lanes a pass (int16 loads widened to int32 lanes, tc_requantize_x4, which
 *   is tc_requantize bit for bit; VSTRH narrows) for MUL, eight int16 lanes
 *   for the power-of-two path (its rounding shift is VRSHL after nudging negative lanes
 *   down by one, as tc_requantize_x4 does, and its clamp follows a saturating VQADD/VQSUB:
 *   the activation range lies inside int16, so clamp(sat16(x)) = clamp(x));
 * - DSP: two int16 per word where both inputs advance: MUL's products by SMLABB/SMLATT
 *   (zero points 0, as LiteRT requires for int16), the power-of-two sum by QADD16/QSUB16
 *   and the clamp by SSUB16/SEL on both halfwords.
 */
#ifndef TC_ELEMENTWISE_S16_H
#define TC_ELEMENTWISE_S16_H

#include <stdint.h>

#include "tc_elementwise_internal.h"

static inline int16_t tc_clamp16(int32_t x, tc_activation act)
{
    x = x > act.max ? act.max : x;
    x = x < act.min ? act.min : x;
    return (int16_t)x;
}

/* gemmlowp's RoundingDivideByPOT (exponent 0..15: int16 and int32 agree there). */
static inline int32_t tc_rdbpot_s16(int32_t x, int32_t exponent)
{
    return tc_divide_by_power_of_two(x, exponent);
}

#if TC_ISA_DSP
/* Per halfword: clamp a word of two int16 to [lo, hi] (each repeated in both halves). */
static inline uint32_t tc_ew_clamp_s16x2(uint32_t v, uint32_t lo2, uint32_t hi2)
{
    (void)__ssub16(v, lo2); /* GE where v >= lo */
    v = __sel(v, lo2);
    (void)__ssub16(v, hi2); /* GE where v >= hi */
    return __sel(hi2, v);
}

static inline uint32_t tc_pack_s16x2(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

static inline uint32_t tc_dup_s16x2(int32_t v)
{
    return tc_pack_s16x2(v, v);
}
#endif

/* -- ADD / SUB, power-of-two scales ------------------------------------------------------ */

/*
 * LiteRT's pot_scale_int16 path (every scale a power of two, zero points 0):
 *   out = clamp(RoundingDivideByPOT(in1, -input1_shift) + sign * RoundingDivideByPOT(in2,
 *                                                                       -input2_shift))
 * (the clamp includes int16 saturation; shifts in [-15, 0], checked by the kernels).
 */
static inline int16_t tc_add_sub_pot_s16_element(const tc_add_pot_params *p, int32_t sign,
                                                 int32_t a, int32_t b)
{
    const int32_t x1 = tc_rdbpot_s16(a, -p->input1_shift);
    const int32_t x2 = tc_rdbpot_s16(b, -p->input2_shift);
    return tc_clamp16(x1 + sign * x2, p->activation);
}

#if TC_ISA_MVE
/* RoundingDivideByPOT on eight int16 lanes (exponent 0..15): negative lanes nudged down by
 * one (saturating: -32768 stays, which divides exactly), then VRSHL's round half up. */
static inline int16x8_t tc_rdbpot_s16x8(int16x8_t x, int32_t exponent)
{
    if (exponent == 0) {
        return x;
    }
    x = vqaddq_s16(x, vshrq_n_s16(x, 15));
    return vrshlq_s16(x, vdupq_n_s16((int16_t)-exponent));
}
#endif

#if TC_ISA_DSP
/* Both halfwords of a word through RoundingDivideByPOT. */
static inline uint32_t tc_rdbpot_s16x2(uint32_t w, int32_t exponent)
{
    if (exponent == 0) {
        return w;
    }
    return tc_pack_s16x2(tc_rdbpot_s16((int16_t)w, exponent),
                         tc_rdbpot_s16((int32_t)w >> 16, exponent));
}
#endif

static inline void tc_add_sub_pot_s16_row(const tc_add_pot_params *p, int32_t sign,
                                          const int16_t *input1, int32_t step1,
                                          const int16_t *input2, int32_t step2,
                                          int16_t *output, int32_t len)
{
    int32_t i = 0;
#if TC_ISA_MVE
    const int32_t e1 = -p->input1_shift, e2 = -p->input2_shift;
    const int16x8_t lo = vdupq_n_s16((int16_t)p->activation.min);
    const int16x8_t hi = vdupq_n_s16((int16_t)p->activation.max);
    const int16x8_t a_fixed = tc_rdbpot_s16x8(vdupq_n_s16(input1[0]), e1);
    const int16x8_t b_fixed = tc_rdbpot_s16x8(vdupq_n_s16(input2[0]), e2);
    for (; i < len; i += 8) {
        const mve_pred16_t pred = vctp16q((uint32_t)(len - i));
        const int16x8_t a =
            step1 ? tc_rdbpot_s16x8(vldrhq_z_s16(input1 + i, pred), e1) : a_fixed;
        const int16x8_t b =
            step2 ? tc_rdbpot_s16x8(vldrhq_z_s16(input2 + i, pred), e2) : b_fixed;
        const int16x8_t sum = sign > 0 ? vqaddq_s16(a, b) : vqsubq_s16(a, b);
        vstrhq_p_s16(output + i, vminq_s16(vmaxq_s16(sum, lo), hi), pred);
    }
#elif TC_ISA_DSP
    if (step1 && step2) {
        const int32_t e1 = -p->input1_shift, e2 = -p->input2_shift;
        const uint32_t lo2 = tc_dup_s16x2(p->activation.min);
        const uint32_t hi2 = tc_dup_s16x2(p->activation.max);
        for (; i + 2 <= len; i += 2) {
            const uint32_t a = tc_rdbpot_s16x2((uint32_t)tc_read_s32(input1 + i), e1);
            const uint32_t b = tc_rdbpot_s16x2((uint32_t)tc_read_s32(input2 + i), e2);
            const uint32_t sum = sign > 0 ? __qadd16(a, b) : __qsub16(a, b);
            tc_write_s32(output + i, (int32_t)tc_ew_clamp_s16x2(sum, lo2, hi2));
        }
    }
#endif
    for (; i < len; ++i) {
        output[i] = tc_add_sub_pot_s16_element(p, sign, input1[i * step1], input2[i * step2]);
    }
}

/* -- MUL ---------------------------------------------------------------------------------- */

/*
 * LiteRT's reference_integer_ops::Mul / BroadcastMul6DSlow for int16 (zero points 0, which
 * LiteRT requires; the offsets are applied all the same):
 *   out = clamp(requantize((in1 + input1_offset) * (in2 + input2_offset)) + output_offset)
 * The product of two int16 fits in int32.
 */
static inline int16_t tc_mul_s16_element(const tc_mul_params *p, int32_t a, int32_t b)
{
    const int32_t y = tc_ew_requantize((a + p->input1_offset) * (b + p->input2_offset),
                                       p->output_multiplier, p->output_shift);
    return tc_clamp16(tc_add_wrap(y, p->output_offset), p->activation);
}

static inline void tc_mul_s16_row(const tc_mul_params *p, const int16_t *input1,
                                  int32_t step1, const int16_t *input2, int32_t step2,
                                  int16_t *output, int32_t len)
{
    int32_t i = 0;
#if TC_ISA_MVE
    const int32x4_t lo = vdupq_n_s32(p->activation.min);
    const int32x4_t hi = vdupq_n_s32(p->activation.max);
    const int32x4_t a_fixed = vdupq_n_s32(input1[0] + p->input1_offset);
    const int32x4_t b_fixed = vdupq_n_s32(input2[0] + p->input2_offset);
    for (; i < len; i += 4) {
        const mve_pred16_t pred = vctp32q((uint32_t)(len - i));
        const int32x4_t a =
            step1 ? vaddq_n_s32(vldrhq_z_s32(input1 + i, pred), p->input1_offset) : a_fixed;
        const int32x4_t b =
            step2 ? vaddq_n_s32(vldrhq_z_s32(input2 + i, pred), p->input2_offset) : b_fixed;
        int32x4_t out =
            tc_requantize_x4(vmulq_s32(a, b), p->output_multiplier, p->output_shift);
        out = vminq_s32(vmaxq_s32(vaddq_n_s32(out, p->output_offset), lo), hi);
        vstrhq_p_s32(output + i, out, pred);
    }
#elif TC_ISA_DSP
    if (step1 && step2 && p->input1_offset == 0 && p->input2_offset == 0) {
        for (; i + 2 <= len; i += 2) {
            const int32_t a = tc_read_s32(input1 + i), b = tc_read_s32(input2 + i);
            const int32_t y0 = tc_ew_requantize(__smlabb(a, b, 0), p->output_multiplier,
                                                p->output_shift);
            const int32_t y1 = tc_ew_requantize(__smlatt(a, b, 0), p->output_multiplier,
                                                p->output_shift);
            tc_write_s32(output + i,
                         (int32_t)tc_pack_s16x2(
                             tc_clamp16(tc_add_wrap(y0, p->output_offset), p->activation),
                             tc_clamp16(tc_add_wrap(y1, p->output_offset), p->activation)));
        }
    }
#endif
    for (; i < len; ++i) {
        output[i] = tc_mul_s16_element(p, input1[i * step1], input2[i * step2]);
    }
}

#endif /* TC_ELEMENTWISE_S16_H */
