/*
 * Private to the reduction kernels: the walk over a tc_reduce_shape that MEAN, SUM and
 * REDUCE_MAX share, for int8 and int16 (exactly one of the typed pointers is non-NULL;
 * each public kernel passes constants, so the compiler keeps one path).
 *
 * The output is visited in order. Where the innermost run is kept (reduced[3] == 1: e.g.
 * a global average pool, channels kept), four neighbouring outputs are accumulated at
 * once in registers, reading four contiguous input values per reduced position (then the
 * tail one by one); otherwise (reduced[3] > 1) each output sums a contiguous run of
 * reduced[3] values per position of the outer reduced runs. No scratch is needed.
 * Instructions on QEMU for a 1x8x8x64 global average pool plus a 1x64x64 last-axis mean
 * (whole firmware run): Cortex-M4 40.7k, Cortex-M55 36.8k (the former tc_mean_s8:
 * 42.3k and 37.3k).
 */
#ifndef TC_REDUCE_INTERNAL_H
#define TC_REDUCE_INTERNAL_H

#include <stdint.h>

#include "tc_nn_math_types.h"
#include "tc_nn_reduce.h"
#include "tc_nn_simd.h"
#include "tc_nn_support.h"

typedef enum { TC_REDUCE_SUM, TC_REDUCE_MAX } tc_reduce_kind;

/* Element strides of the kept and reduced runs; 0 for a shape with an extent below 1. */
static inline int tc_reduce_strides(const tc_reduce_shape *s, int32_t kept_stride[4],
                                    int32_t reduced_stride[4])
{
    int32_t stride = 1;
    for (int i = TC_REDUCE_RUNS - 1; i >= 0; --i) {
        if (s->kept[i] < 1 || s->reduced[i] < 1) {
            return 0;
        }
        reduced_stride[i] = stride;
        stride *= s->reduced[i];
        kept_stride[i] = stride;
        stride *= s->kept[i];
    }
    return 1;
}

static inline int32_t tc_reduce_load(const int8_t *in8, const int16_t *in16, int32_t i)
{
    return in8 != NULL ? (int32_t)in8[i] : (int32_t)in16[i];
}

static inline int32_t tc_reduce_step(tc_reduce_kind kind, int32_t acc, int32_t v)
{
    return kind == TC_REDUCE_SUM ? acc + v : (v > acc ? v : acc);
}

/* Every reduced position of the outer runs: `base` is the input index of the block's
 * first value at that position. */
#define TC_REDUCE_FOR_POSITIONS(s, rs, at, base)                                         \
    for (int32_t r0 = 0; r0 < (s)->reduced[0]; ++r0)                                     \
        for (int32_t r1 = 0; r1 < (s)->reduced[1]; ++r1)                                 \
            for (int32_t r2 = 0, base = (at) + r0 * (rs)[0] + r1 * (rs)[1];              \
                 r2 < (s)->reduced[2]; ++r2, base += (rs)[2])

/*
 * acc[l] (l < lanes, lanes 4 or 1) over every reduced position of the outputs whose first
 * input value is at `at`: the sum, or the maximum (started from the type's lowest value).
 */
static inline void tc_reduce_block(const tc_reduce_shape *s, const int32_t rs[4],
                                   tc_reduce_kind kind, const int8_t *in8,
                                   const int16_t *in16, int32_t at, int32_t lanes,
                                   int32_t acc[4])
{
    const int32_t init = kind == TC_REDUCE_SUM ? 0 : (in8 != NULL ? INT8_MIN : INT16_MIN);
    int32_t a0 = init, a1 = init, a2 = init, a3 = init;
    const int32_t run = s->reduced[3];
    if (run > 1) {
        /* one output: a contiguous run of reduced values per position (int8 on the DSP
         * cores: a word at a time into four partial results, combined at the end; the
         * Helium build vectorizes the plain loop, which measures faster there) */
        TC_REDUCE_FOR_POSITIONS(s, rs, at, base) {
            int32_t r3 = 0;
            if (in8 != NULL && TC_ISA_DSP) {
                for (; r3 + 4 <= run; r3 += 4) {
                    const uint32_t v = (uint32_t)tc_read_s32(in8 + base + r3);
                    a0 = tc_reduce_step(kind, a0, (int8_t)v);
                    a1 = tc_reduce_step(kind, a1, (int8_t)(v >> 8));
                    a2 = tc_reduce_step(kind, a2, (int8_t)(v >> 16));
                    a3 = tc_reduce_step(kind, a3, (int8_t)(v >> 24));
                }
            }
            for (; r3 < run; ++r3) {
                a0 = tc_reduce_step(kind, a0, tc_reduce_load(in8, in16, base + r3));
            }
        }
        a0 = tc_reduce_step(kind, tc_reduce_step(kind, a0, a1), tc_reduce_step(kind, a2, a3));
    } else if (lanes == 4 && in8 != NULL && !TC_ISA_PORTABLE) {
        /* four neighbouring int8 kept values: one word read (unaligned access is fine on
         * the SIMD cores), sign-extended byte by byte */
        TC_REDUCE_FOR_POSITIONS(s, rs, at, base) {
            const uint32_t v = (uint32_t)tc_read_s32(in8 + base);
            a0 = tc_reduce_step(kind, a0, (int8_t)v);
            a1 = tc_reduce_step(kind, a1, (int8_t)(v >> 8));
            a2 = tc_reduce_step(kind, a2, (int8_t)(v >> 16));
            a3 = tc_reduce_step(kind, a3, (int8_t)(v >> 24));
        }
    } else if (lanes == 4) {
        /* four neighbouring kept values, contiguous */
        TC_REDUCE_FOR_POSITIONS(s, rs, at, base) {
            a0 = tc_reduce_step(kind, a0, tc_reduce_load(in8, in16, base));
            a1 = tc_reduce_step(kind, a1, tc_reduce_load(in8, in16, base + 1));
            a2 = tc_reduce_step(kind, a2, tc_reduce_load(in8, in16, base + 2));
            a3 = tc_reduce_step(kind, a3, tc_reduce_load(in8, in16, base + 3));
        }
    } else {
        TC_REDUCE_FOR_POSITIONS(s, rs, at, base) {
            a0 = tc_reduce_step(kind, a0, tc_reduce_load(in8, in16, base));
        }
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* The whole reduction; `sum` NULL for REDUCE_MAX (values pass through). */
static inline tc_status tc_reduce_run(const tc_reduce_shape *s,
                                      const tc_reduce_sum_params *sum, const int8_t *in8,
                                      const int16_t *in16, int8_t *out8, int16_t *out16)
{
    int32_t ks[4], rs[4];
    if ((in8 == NULL && in16 == NULL) || (out8 == NULL && out16 == NULL) ||
        !tc_reduce_strides(s, ks, rs)) {
        TC_RETURN_ARG_ERROR();
    }
    const tc_reduce_kind kind = sum != NULL ? TC_REDUCE_SUM : TC_REDUCE_MAX;
    const int32_t qmin = out8 != NULL ? INT8_MIN : INT16_MIN;
    const int32_t qmax = out8 != NULL ? INT8_MAX : INT16_MAX;
    const int32_t count = s->reduced[0] * s->reduced[1] * s->reduced[2] * s->reduced[3];
    /* sum - input_zp * count (the code generator checked count * 2^bits fits int32) */
    const int32_t offset_total = sum != NULL ? sum->input_offset * count : 0;
    int32_t acc[4];
    int32_t o = 0;
    for (int32_t k0 = 0; k0 < s->kept[0]; ++k0) {
        for (int32_t k1 = 0; k1 < s->kept[1]; ++k1) {
            for (int32_t k2 = 0; k2 < s->kept[2]; ++k2) {
                const int32_t base = k0 * ks[0] + k1 * ks[1] + k2 * ks[2];
                for (int32_t k3 = 0; k3 < s->kept[3];) {
                    const int32_t left = s->kept[3] - k3;
                    const int32_t lanes = s->reduced[3] == 1 && left >= 4 ? 4 : 1;
                    tc_reduce_block(s, rs, kind, in8, in16, base + k3 * ks[3], lanes, acc);
                    for (int32_t l = 0; l < lanes; ++l, ++o) {
                        int32_t y = acc[l];
                        if (sum != NULL) {
                            y = tc_add_wrap(tc_requantize(y + offset_total, sum->multiplier,
                                                          sum->shift),
                                            sum->output_offset);
                            y = TC_CLAMP(y, qmin, qmax);
                        }
                        if (out8 != NULL) {
                            out8[o] = (int8_t)y;
                        } else {
                            out16[o] = (int16_t)y;
                        }
                    }
                    k3 += lanes;
                }
            }
        }
    }
    return TC_OK;
}

#endif /* TC_REDUCE_INTERNAL_H */
