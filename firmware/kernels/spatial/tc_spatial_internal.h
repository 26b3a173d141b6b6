/*
 * Private helpers of the spatial family (resize, transpose convolution, batch matmul).
 */
#ifndef TC_SPATIAL_INTERNAL_H
#define TC_SPATIAL_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "tc_nn_simd.h"
#include "tc_nn_spatial.h"
#include "tc_nn_support.h"

/*
 * TFLite's MultiplyByQuantizedMultiplier(int64_t x, int32_t multiplier, int shift), used by
 * its 16x8 kernels: the Q31 multiplier rounded to Q15 (saturating at 0x7FFF), then one
 * rounding shift: (x * m15 + 2^(14 - shift)) >> (15 - shift). The code generator keeps
 * shift <= 14 and |x| * 2^15 inside int64.
 */
static inline int32_t tc_requantize_s64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? ((int64_t)multiplier + (1 << 15)) >> 16
                                                    : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    /* An arithmetic shift of a negative int64: what TFLite's build (and GCC) computes. */
    return (int32_t)((x * reduced + round) >> total_shift);
}

/* int64 scratch at a 4-byte aligned address (the planner's alignment): no 8-byte access. */
static inline int64_t tc_load_s64(const void *p)
{
    int64_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

static inline void tc_store_s64(void *p, int64_t v)
{
    __builtin_memcpy(p, &v, sizeof(v));
}

/*
 * sum_c w[c] * (x[c] + offset) over n int8 pairs, in int32 arithmetic that wraps (as
 * TFLite's int32 sums do; the sums are equal modulo 2^32 whatever the order). DSP: two
 * SMLADs per four pairs (the offset added to the widened x lanes, |x + offset| <= 255).
 */
static inline uint32_t tc_spatial_dot_s8(const int8_t *w, const int8_t *x, int32_t n,
                                         int32_t offset)
{
#if TC_ISA_DSP
    return (uint32_t)tc_dsp_mac_1x1(w, x, n, offset, 0);
#else
    uint32_t sum = 0;
    for (int32_t c = 0; c < n; ++c) {
        sum += (uint32_t)((x[c] + offset) * w[c]);
    }
    return sum;
#endif
}

/*
 * TFLite's ComputeInterpolationValuesInteger: the sample point of output index `value` in
 * 10-bit fixed point, its lower and upper input indices (C division truncates toward zero,
 * as TFLite's int32 division).
 */
static inline void tc_bilinear_point(int32_t value, int32_t scale_10, int32_t half_pixel,
                                     int32_t input_size, int32_t *scaled, int32_t *lower,
                                     int32_t *upper)
{
    const int32_t s = half_pixel ? value * scale_10 + scale_10 / 2 - (1 << 9)
                                 : value * scale_10;
    const int32_t lo = s / (1 << 10);
    const int32_t hi = (s + (1 << 10) - 1) / (1 << 10);
    *scaled = s;
    *lower = lo > 0 ? lo : 0;
    *upper = hi < input_size - 1 ? hi : input_size - 1;
}

/* Nearest neighbour, any element size: every output pixel copies one input pixel. */
static inline tc_status tc_resize_nearest_bytes(const tc_resize_nearest_params *params,
                                                const tc_dims *input_dims, const void *input,
                                                const tc_dims *output_dims, void *output,
                                                size_t element)
{
    if (input_dims->n != output_dims->n || input_dims->c != output_dims->c) {
        TC_RETURN_ARG_ERROR();
    }
    const size_t pixel = (size_t)input_dims->c * element;
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    for (int32_t b = 0; b < output_dims->n; ++b) {
        const uint8_t *in_batch = in + (size_t)b * input_dims->h * input_dims->w * pixel;
        for (int32_t y = 0; y < output_dims->h; ++y) {
            const int32_t row = params->rows[y];
            if (row < 0 || row >= input_dims->h) {
                TC_RETURN_ARG_ERROR();
            }
            const uint8_t *in_row = in_batch + (size_t)row * input_dims->w * pixel;
            for (int32_t x = 0; x < output_dims->w; ++x) {
                const int32_t col = params->cols[x];
                if (col < 0 || col >= input_dims->w) {
                    TC_RETURN_ARG_ERROR();
                }
                memcpy(out, in_row + (size_t)col * pixel, pixel);
                out += pixel;
            }
        }
    }
    return TC_OK;
}

/* The checks every resize_bilinear kernel makes on its arguments. */
static inline int tc_bilinear_args_ok(const tc_resize_bilinear_params *params,
                                      const tc_dims *input_dims, const tc_dims *output_dims)
{
    return input_dims->n == output_dims->n && input_dims->c == output_dims->c &&
           params->scale_h >= 0 && params->scale_w >= 0;
}

#endif /* TC_SPATIAL_INTERNAL_H */

/*
 * The loops of the batch_matmul kernels (tc_nn_spatial.h describes the strides): for every
 * output batch (b0, b1, b2), row i and column j, ACCUMULATE(acc, l, r) adds one product of
 * the LHS element l and RHS element r to `acc` (of type ACC_T, zero at the start), then
 * `*output++ = FINISH(acc)`. The output is written in row-major order.
 */
#define TC_BATCH_MATMUL_LOOPS(LHS_T, RHS_T, ACC_T, ACCUMULATE, FINISH)                      \
    do {                                                                                   \
        if (p->rows < 0 || p->cols < 0 || p->depth < 0) {                                  \
            TC_RETURN_ARG_ERROR();                                                         \
        }                                                                                  \
        for (int32_t b0 = 0; b0 < p->batch[0]; ++b0) {                                     \
            for (int32_t b1 = 0; b1 < p->batch[1]; ++b1) {                                 \
                for (int32_t b2 = 0; b2 < p->batch[2]; ++b2) {                             \
                    const LHS_T *l_mat = lhs + b0 * p->lhs_batch_stride[0] +               \
                                         b1 * p->lhs_batch_stride[1] +                     \
                                         b2 * p->lhs_batch_stride[2];                      \
                    const RHS_T *r_mat = rhs + b0 * p->rhs_batch_stride[0] +               \
                                         b1 * p->rhs_batch_stride[1] +                     \
                                         b2 * p->rhs_batch_stride[2];                      \
                    for (int32_t i = 0; i < p->rows; ++i) {                                \
                        const LHS_T *l_row = l_mat + i * p->lhs_row_stride;                \
                        for (int32_t j = 0; j < p->cols; ++j) {                            \
                            const RHS_T *r_col = r_mat + j * p->rhs_col_stride;            \
                            ACC_T acc = 0;                                                 \
                            for (int32_t k = 0; k < p->depth; ++k) {                       \
                                ACCUMULATE(acc, l_row[k * p->lhs_depth_stride],            \
                                           r_col[k * p->rhs_depth_stride]);                \
                            }                                                              \
                            *output++ = FINISH(acc);                                       \
                        }                                                                  \
                    }                                                                      \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
    } while (0)
