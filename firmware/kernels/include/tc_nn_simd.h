/*
 * tinyconv int8 kernels: the SIMD helpers every kernel family shares (the role of
 * CMSIS-NN's arm_nn_support functions). Each block exists only for its ISA
 * (tc_nn_math_types.h); a kernel includes this header and calls the helpers inside its own
 * `#if TC_ISA_DSP` / `#if TC_ISA_MVE` branch.
 *
 * Armv7E-M DSP, as in CMSIS-NN: SXTB16 widens bytes 0 and 2 of a word to two int16 lanes,
 * SXTB16 with ROR #8 widens bytes 1 and 3, and SMLAD does two 16x16 MACs. Both operands
 * of a dot product are widened the same way ("even" lanes = elements 0 and 2 of a group
 * of four, "odd" lanes = elements 1 and 3), so lanes pair up exactly.
 */
#ifndef TC_NN_SIMD_H
#define TC_NN_SIMD_H

#include <stdint.h>

#include "tc_nn_math_types.h"
#include "tc_nn_support.h"

/* Unaligned 32-bit load: one LDR on cores with unaligned access. The builtin, because
 * -ffreestanding makes a plain memcpy an out-of-line call. */
static inline int32_t tc_read_s32(const void *p)
{
    int32_t v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

static inline void tc_write_s32(void *p, int32_t v)
{
    __builtin_memcpy(p, &v, sizeof v);
}

#if TC_ISA_DSP
#include <arm_acle.h>

/* Rotate right by 8 (GCC 12's arm_acle.h has no __ror); it folds into SXTAB16's ROR. */
static inline uint32_t tc_ror8(uint32_t w)
{
    return (w >> 8) | (w << 24);
}

/* Elements 1 and 3 of a group of four bytes, as two int16 lanes.
 * GCC 12's arm_acle.h has no __sxtb16_ror, hence the asm. */
static inline int32_t tc_sxtb16_odd(int32_t four_bytes)
{
    int32_t lanes;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(lanes) : "r"(four_bytes));
    return lanes;
}

static inline int32_t tc_sxtb16_even(int32_t four_bytes)
{
    return (int32_t)__sxtb16(four_bytes);
}

/* The same int16 value in both lanes, for __sadd16. */
static inline int32_t tc_dup16(int32_t v)
{
    return (int32_t)(((uint32_t)v & 0xFFFFu) | ((uint32_t)v << 16));
}

static inline int32_t tc_smlad(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)__smlad(a, b, acc);
}

static inline int32_t tc_sadd16(int32_t a, int32_t b)
{
    return (int32_t)__sadd16(a, b);
}

/*
 * acc[2 * c + p] += sum_k f_c[k] * (x_p[k] + offset) for two filter rows (c) and two input
 * rows (p): the inputs are widened once for both rows, so 16 MACs cost 4 loads, 8 SXTB16,
 * 4 SADD16 and 8 SMLAD.
 */
static inline void tc_dsp_mac_2x2(const int8_t *f0, const int8_t *f1, const int8_t *x0,
                                  const int8_t *x1, int32_t n, int32_t offset, int32_t acc[4])
{
    const int32_t offsets = tc_dup16(offset);
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const int32_t v0 = tc_read_s32(x0 + k), v1 = tc_read_s32(x1 + k);
        const int32_t x0e = tc_sadd16(tc_sxtb16_even(v0), offsets);
        const int32_t x0o = tc_sadd16(tc_sxtb16_odd(v0), offsets);
        const int32_t x1e = tc_sadd16(tc_sxtb16_even(v1), offsets);
        const int32_t x1o = tc_sadd16(tc_sxtb16_odd(v1), offsets);
        const int32_t w0 = tc_read_s32(f0 + k);
        const int32_t f0e = tc_sxtb16_even(w0), f0o = tc_sxtb16_odd(w0);
        a00 = tc_smlad(f0e, x0e, a00);
        a00 = tc_smlad(f0o, x0o, a00);
        a01 = tc_smlad(f0e, x1e, a01);
        a01 = tc_smlad(f0o, x1o, a01);
        const int32_t w1 = tc_read_s32(f1 + k);
        const int32_t f1e = tc_sxtb16_even(w1), f1o = tc_sxtb16_odd(w1);
        a10 = tc_smlad(f1e, x0e, a10);
        a10 = tc_smlad(f1o, x0o, a10);
        a11 = tc_smlad(f1e, x1e, a11);
        a11 = tc_smlad(f1o, x1o, a11);
    }
    for (; k < n; ++k) {
        const int32_t in0 = x0[k] + offset, in1 = x1[k] + offset;
        a00 = tc_add_wrap(a00, f0[k] * in0);
        a01 = tc_add_wrap(a01, f0[k] * in1);
        a10 = tc_add_wrap(a10, f1[k] * in0);
        a11 = tc_add_wrap(a11, f1[k] * in1);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/*
 * The same without the input offset (the caller adds offset * sum(f) once): 16 MACs cost
 * 4 loads, 8 SXTB16 and 8 SMLAD. Not inlined: in a function of its own the loop keeps its
 * values in registers, where inlined into a kernel's big loop nest GCC spills some.
 */
static __attribute__((noinline, unused)) void tc_dsp_mac_2x2_raw(const int8_t *f0,
                                                                const int8_t *f1,
                                                                const int8_t *x0,
                                                                const int8_t *x1, int32_t n,
                                                                int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int8_t *const end = x0 + (n & ~3);
    while (x0 < end) {
        const int32_t v0 = tc_read_s32(x0), v1 = tc_read_s32(x1);
        const int32_t w0 = tc_read_s32(f0), w1 = tc_read_s32(f1);
        x0 += 4;
        x1 += 4;
        f0 += 4;
        f1 += 4;
        const int32_t x0e = tc_sxtb16_even(v0), x1e = tc_sxtb16_even(v1);
        const int32_t f0e = tc_sxtb16_even(w0), f1e = tc_sxtb16_even(w1);
        a00 = tc_smlad(f0e, x0e, a00);
        a01 = tc_smlad(f0e, x1e, a01);
        a10 = tc_smlad(f1e, x0e, a10);
        a11 = tc_smlad(f1e, x1e, a11);
        const int32_t x0o = tc_sxtb16_odd(v0), x1o = tc_sxtb16_odd(v1);
        const int32_t f0o = tc_sxtb16_odd(w0), f1o = tc_sxtb16_odd(w1);
        a00 = tc_smlad(f0o, x0o, a00);
        a01 = tc_smlad(f0o, x1o, a01);
        a10 = tc_smlad(f1o, x0o, a10);
        a11 = tc_smlad(f1o, x1o, a11);
    }
    for (int32_t k = 0; k < (n & 3); ++k) {
        a00 = tc_add_wrap(a00, f0[k] * x0[k]);
        a01 = tc_add_wrap(a01, f0[k] * x1[k]);
        a10 = tc_add_wrap(a10, f1[k] * x0[k]);
        a11 = tc_add_wrap(a11, f1[k] * x1[k]);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* Sum of n filter bytes (two SMLADs against 1s per word). */
static inline int32_t tc_dsp_sum(const int8_t *f, int32_t n)
{
    const int32_t ones = 0x00010001;
    int32_t sum = 0;
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const int32_t w = tc_read_s32(f + k);
        sum = tc_smlad(tc_sxtb16_even(w), ones, sum);
        sum = tc_smlad(tc_sxtb16_odd(w), ones, sum);
    }
    for (; k < n; ++k) {
        sum += f[k];
    }
    return sum;
}

/* acc + sum_k f[k] * (x[k] + offset). */
static inline int32_t tc_dsp_mac_1x1(const int8_t *f, const int8_t *x, int32_t n,
                                     int32_t offset, int32_t acc)
{
    const int32_t offsets = tc_dup16(offset);
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const int32_t v = tc_read_s32(x + k), w = tc_read_s32(f + k);
        acc = tc_smlad(tc_sxtb16_even(w), tc_sadd16(tc_sxtb16_even(v), offsets), acc);
        acc = tc_smlad(tc_sxtb16_odd(w), tc_sadd16(tc_sxtb16_odd(v), offsets), acc);
    }
    for (; k < n; ++k) {
        acc = tc_add_wrap(acc, f[k] * (x[k] + offset));
    }
    return acc;
}
#endif /* TC_ISA_DSP */

#if TC_ISA_MVE
#include <arm_mve.h>

/*
 * acc[j] += sum_k a[k] * b_j[k] for one vector a against four (a filter row against four
 * im2col columns or pixels, or an input run against four filter rows); returns sum_k a[k]
 * (the filter sum the input offset needs). One load of a per four VMLADAVA; full vectors
 * first, then one tail under a VCTP predicate (lanes past the end load as 0 and add
 * nothing). Not inlined: in a function of its own the loop keeps its values in registers,
 * where GCC spills them inside the kernels' loop nests.
 */
static __attribute__((noinline, unused)) int32_t tc_mve_dot_1x4(const int8_t *a,
                                                                const int8_t *b0,
                                                                const int8_t *b1,
                                                                const int8_t *b2,
                                                                const int8_t *b3, int32_t n,
                                                                int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], sum = 0;
    int32_t k = 0;
    for (; k + 16 <= n; k += 16) {
        const int8x16_t v = vldrbq_s8(a + k);
        sum = vaddvaq_s8(sum, v);
        a0 = vmladavaq_s8(a0, v, vldrbq_s8(b0 + k));
        a1 = vmladavaq_s8(a1, v, vldrbq_s8(b1 + k));
        a2 = vmladavaq_s8(a2, v, vldrbq_s8(b2 + k));
        a3 = vmladavaq_s8(a3, v, vldrbq_s8(b3 + k));
    }
    if (k < n) {
        const mve_pred16_t tail = vctp8q((uint32_t)(n - k));
        const int8x16_t v = vldrbq_z_s8(a + k, tail);
        sum = vaddvaq_s8(sum, v);
        a0 = vmladavaq_s8(a0, v, vldrbq_z_s8(b0 + k, tail));
        a1 = vmladavaq_s8(a1, v, vldrbq_z_s8(b1 + k, tail));
        a2 = vmladavaq_s8(a2, v, vldrbq_z_s8(b2 + k, tail));
        a3 = vmladavaq_s8(a3, v, vldrbq_z_s8(b3 + k, tail));
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    return sum;
}

/* Sum of n bytes. */
static inline int32_t tc_mve_sum(const int8_t *f, int32_t n)
{
    int32_t sum = 0;
    for (int32_t k = 0; k < n; k += 16) {
        sum = vaddvaq_s8(sum, vldrbq_z_s8(f + k, vctp8q((uint32_t)(n - k))));
    }
    return sum;
}

/* TFLite's double-rounding requantization on four lanes. VQRDMULH is exactly gemmlowp's
 * SaturatingRoundingDoublingHighMul; VRSHL rounds halves up, so negative lanes are first
 * nudged down by one to make halves round away from zero like RoundingDivideByPOT. */
static inline int32x4_t tc_requantize_x4(int32x4_t acc, int32_t multiplier, int32_t shift)
{
#if defined(TC_SINGLE_ROUNDING)
    int32x4_t out;
    for (int i = 0; i < 4; ++i) {
        out[i] = tc_requantize(acc[i], multiplier, shift);
    }
    return out;
#else
    const int32_t left = shift > 0 ? (shift & 31) : 0; /* modulo 32, as tc_requantize */
    const int32_t right = shift > 0 ? 0 : -shift;
    int32x4_t x = vqrdmulhq_n_s32(vshlq_s32(acc, vdupq_n_s32(left)), multiplier);
    if (right > 0) {
        x = vqaddq_s32(x, vshrq_n_s32(x, 31));
        x = vrshlq_s32(x, vdupq_n_s32(-right));
    }
    return x;
#endif
}
#endif /* TC_ISA_MVE */

/*
 * gemmlowp's SaturatingRoundingDoublingHighMul for every multiplier but INT32_MIN, as a core
 * without a fast 64-bit division computes it: (a * b + nudge) / 2^31 truncated toward zero
 * with nudge = 2^30 or 1 - 2^30 by the product's sign equals floor((a * b + 2^30) / 2^31)
 * for every product (for ab = -m < 0: -floor((m + 2^30 - 1) / 2^31) =
 * -ceil((m - 2^30) / 2^31) = floor((2^30 - m) / 2^31)): one SMULL, an add with carry and a
 * 64-bit shift. Its one saturating case needs a = b = INT32_MIN, which callers exclude by
 * sending INT32_MIN multipliers to tc_requantize.
 */
static inline int32_t tc_rounding_high_mul(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + (1LL << 30)) >> 31);
}

/*
 * The narrow requantization: tc_requantize plus the output offset in five instructions
 * (LSL, SMMULR, two ADDs, ASR), where the accumulators and constants allow it:
 * |acc| < 2^30, no left shift, 0 <= multiplier, and |high| + |add| < 2^31 below
 * (high = floor((bound * m + 2^30) / 2^31), bound >= |acc|). Then, with m the multiplier
 * and e = -shift:
 * - SaturatingRoundingDoublingHighMul(acc, m) = floor((acc * m + 2^30) / 2^31)
 *   (tc_rounding_high_mul) = floor((2 acc * m + 2^31) / 2^32): SMMULR of 2 acc, which fits
 *   in int32;
 * - RoundingDivideByPOT(x, e), floor(x / 2^e) plus one where the remainder exceeds
 *   2^(e-1) - 1 (x >= 0) or 2^(e-1) (x < 0), is floor((x + 2^(e-1) - (x < 0)) / 2^e) for
 *   e >= 1, and x for e = 0;
 * - adding the output offset after the shift is adding offset * 2^e before it.
 * So out = (x + (x >> 31) + add) >> e with add = 2^(e-1) + offset * 2^e for e >= 1
 * (tc_requantize_narrow: the convolutions, whose layers the code generator checks,
 * tinyconv.quant.narrow_requantization setting tc_per_channel_quant_params.narrow, e in
 * [1, 31]), and out = (x + ((x >> 31) & nudge) + add) >> e with the nudge -1 for e >= 1,
 * 0 for e = 0, one instruction more (tc_requantize_narrow_any: the elementwise kernels,
 * whose accumulator bound is a constant of the op and whose input shifts are often 0;
 * they check per call with tc_rq_narrow_ok, e in [0, 31]). Both are bit for bit
 * tc_add_wrap(tc_requantize(acc, m, shift), offset). Under TC_SINGLE_ROUNDING (a build
 * option the generated model does not know) neither check passes.
 */
typedef struct {
    int32_t multiplier;
    int32_t right; /* -shift, 0..31 */
    int32_t nudge; /* -1 where right > 0, else 0 */
    int32_t add;   /* 2^(right-1) (0 for right 0) + output_offset * 2^right */
} tc_rq_narrow;

static inline int tc_quant_narrow(const tc_per_channel_quant_params *quant)
{
#if defined(TC_SINGLE_ROUNDING)
    (void)quant;
    return 0;
#else
    return quant->narrow != 0;
#endif
}

/* The rule above for one (multiplier, shift, output offset) and a bound on |acc|, for
 * tc_requantize_narrow_any (shift in [-31, 0]). */
static inline int tc_rq_narrow_ok(int32_t multiplier, int32_t shift, int32_t output_offset,
                                  int32_t bound)
{
#if defined(TC_SINGLE_ROUNDING)
    (void)multiplier, (void)shift, (void)output_offset, (void)bound;
    return 0;
#else
    if (multiplier < 0 || shift > 0 || shift < -31 || bound < 0 || bound >= (1 << 30)) {
        return 0;
    }
    const int64_t high = ((int64_t)bound * multiplier + (1LL << 30)) >> 31;
    const int64_t add = (int64_t)output_offset * (1LL << -shift) +
                        (shift < 0 ? 1LL << (-shift - 1) : 0);
    return high + (add < 0 ? -add : add) < (1LL << 31);
#endif
}

static inline tc_rq_narrow tc_rq_narrow_of(int32_t multiplier, int32_t shift,
                                           int32_t output_offset)
{
    tc_rq_narrow rq;
    rq.multiplier = multiplier;
    rq.right = -shift;
    rq.nudge = shift < 0 ? -1 : 0;
    rq.add = (int32_t)((shift < 0 ? 1u << (-shift - 1) : 0u) +
                       ((uint32_t)output_offset << rq.right));
    return rq;
}

/* floor((a * b + 2^31) / 2^32): SMMULR where the core has it. */
static inline int32_t tc_mul_high_rounded(int32_t a, int32_t b)
{
#if TC_HAS_DSP_INSNS
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * b + (1LL << 31)) >> 32);
#endif
}

/* Shift in [-31, -1] (e >= 1): the five instructions. */
static inline int32_t tc_requantize_narrow(int32_t acc, const tc_rq_narrow *rq)
{
    const int32_t x = tc_mul_high_rounded(acc * 2, rq->multiplier);
    return (x + (x >> 31) + rq->add) >> rq->right;
}

/* Shift in [-31, 0], from 2 * acc (the elementwise kernels have it doubled for free). */
static inline int32_t tc_requantize_narrow_any(int32_t twice_acc, const tc_rq_narrow *rq)
{
    const int32_t x = tc_mul_high_rounded(twice_acc, rq->multiplier);
    return (x + ((x >> 31) & rq->nudge) + rq->add) >> rq->right;
}

/* -- the depthwise / pool / elementwise kernels' helpers ------------------------------ */

/* Four int8 values as one little-endian word, for a single tc_write_s32. */
static inline int32_t tc_pack_s8x4(int32_t b0, int32_t b1, int32_t b2, int32_t b3)
{
    return (int32_t)(((uint32_t)(uint8_t)b0) | ((uint32_t)(uint8_t)b1 << 8) |
                     ((uint32_t)(uint8_t)b2 << 16) | ((uint32_t)(uint8_t)b3 << 24));
}

#if TC_ISA_DSP
/* offsets + elements 1 and 3 of a word, as two int16 lanes (SXTAB16 with ROR #8). */
static inline int32_t tc_sxtab16_odd(int32_t offsets, int32_t four_bytes)
{
    int32_t lanes;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(lanes) : "r"(offsets), "r"(four_bytes));
    return lanes;
}

/* offsets + elements 0 and 2 of a word, as two int16 lanes. */
static inline int32_t tc_sxtab16_even(int32_t offsets, int32_t four_bytes)
{
    return (int32_t)__sxtab16(offsets, four_bytes);
}
#endif

/* tc_requantize, bit for bit, with tc_rounding_high_mul (INT32_MIN multipliers, which a
 * negative scale rounding to -2^31 would give, go to tc_requantize). */
static __attribute__((noinline, cold, unused)) int32_t tc_requantize_cold(int32_t acc,
                                                                          int32_t multiplier,
                                                                          int32_t shift)
{
    return tc_requantize(acc, multiplier, shift);
}

static inline int32_t tc_requantize_fast(int32_t acc, int32_t multiplier, int32_t shift)
{
#if defined(TC_SINGLE_ROUNDING)
    return tc_requantize(acc, multiplier, shift);
#else
    if (multiplier == INT32_MIN) {
        return tc_requantize_cold(acc, multiplier, shift);
    }
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)acc << (left_shift & 31));
    return tc_divide_by_power_of_two(tc_rounding_high_mul(shifted, multiplier), right_shift);
#endif
}

#if TC_ISA_MVE
/*
 * tc_requantize on four lanes with per-lane multipliers and shifts (per-channel
 * quantization), bit for bit: the left shift wraps and is taken modulo 32 as in
 * tc_requantize; VQRDMULH is SaturatingRoundingDoublingHighMul exactly; VRSHL rounds halves
 * up, so lanes with a right shift are first nudged down by one where negative (as in
 * tc_requantize_x4), lanes without one are left alone.
 */
static inline int32x4_t tc_requantize_x4_pc(int32x4_t acc, int32x4_t multiplier,
                                            int32x4_t shift)
{
#if defined(TC_SINGLE_ROUNDING)
    int32x4_t out;
    for (int i = 0; i < 4; ++i) {
        out[i] = tc_requantize(acc[i], multiplier[i], shift[i]);
    }
    return out;
#else
    const int32x4_t left = vandq_s32(vmaxq_s32(shift, vdupq_n_s32(0)), vdupq_n_s32(31));
    const int32x4_t right = vminq_s32(shift, vdupq_n_s32(0)); /* -(right shift) */
    int32x4_t x = vqrdmulhq_s32(vshlq_s32(acc, left), multiplier);
    const mve_pred16_t shifting = vcmpltq_n_s32(shift, 0);
    x = vqaddq_m_s32(x, x, vshrq_n_s32(x, 31), shifting);
    return vrshlq_s32(x, right);
#endif
}
#endif /* TC_ISA_MVE */

#endif /* TC_NN_SIMD_H */
