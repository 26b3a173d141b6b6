/*
 * Private Armv7E-M DSP helpers of the convolution family (only included when
 * TC_CONV_DSP). The trick, as in CMSIS-NN: SXTB16 widens bytes 0 and 2 of a word to two
 * int16 lanes, SXTB16 with ROR #8 widens bytes 1 and 3, and SMLAD does two 16x16 MACs.
 * Both operands of a dot product are widened the same way ("even" lanes = elements
 * 0 and 2 of a group of four, "odd" lanes = elements 1 and 3), so lanes pair up exactly.
 */
#ifndef TC_CONV_DSP_H
#define TC_CONV_DSP_H

#include <arm_acle.h>

#include "tc_conv_internal.h"

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
        a00 += f0[k] * in0;
        a01 += f0[k] * in1;
        a10 += f1[k] * in0;
        a11 += f1[k] * in1;
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
        a00 += f0[k] * x0[k];
        a01 += f0[k] * x1[k];
        a10 += f1[k] * x0[k];
        a11 += f1[k] * x1[k];
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
        acc += f[k] * (x[k] + offset);
    }
    return acc;
}

#endif /* TC_CONV_DSP_H */
