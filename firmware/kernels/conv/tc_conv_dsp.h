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

#endif /* TC_CONV_DSP_H */
