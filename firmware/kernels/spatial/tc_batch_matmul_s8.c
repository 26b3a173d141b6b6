/*
 * BATCH_MATMUL, int8: TFLite's reference_ops::BatchMatMul<int8_t, int32_t>, bit for bit.
 *   acc = sum_k (lhs(i, k) + lhs_offset) * (rhs(k, j) + rhs_offset)     (int32, wrapping)
 *   out = clamp(requantize(acc, multiplier, shift) + output_offset)
 * with the per-tensor multiplier of LiteRT's Prepare (s_lhs * s_rhs in float, divided by
 * s_out in double, QuantizeMultiplier) and TFLite's double-rounding MultiplyByQuantizedMultiplier. The
 * batch dimensions broadcast through zero strides (tc_batch_matmul_params). Where both
 * operands are contiguous along the depth, the DSP and Helium builds take SIMD dot products
 * (SMLAD; VMLADAVA over four columns) and add the offsets' terms afterwards.
 */
#include "tc_spatial_internal.h"

#define TC_ACC(acc, l, r) (acc) += (uint32_t)(((l) + lhs_offset) * ((r) + rhs_offset))
#define TC_FINISH(acc)                                                                   \
    tc_clamp_s8(tc_add_wrap(tc_requantize((int32_t)(acc), p->quant.multiplier,             \
                                          p->quant.shift),                                 \
                            p->output_offset),                                             \
                p->activation)

tc_status tc_batch_matmul_s8(const tc_batch_matmul_params *params, const int8_t *lhs,
                             const int8_t *rhs, int8_t *output)
{
    const tc_batch_matmul_params *p = params;
    const int32_t lhs_offset = p->lhs_offset;
    const int32_t rhs_offset = p->rhs_offset;
#if !TC_ISA_PORTABLE
    if (p->lhs_depth_stride == 1 && p->rhs_depth_stride == 1 && p->rows >= 0 &&
        p->cols >= 0 && p->depth >= 0) {
        /* Both operands contiguous along the depth (the LHS without adj_x, the RHS with
         * adj_y or constant, which the code generator stores transposed):
         *   sum (l + lo)(r + ro) = sum l*r + ro * sum l + lo * sum r + depth * lo * ro,
         * in uint32 (wrapping, equal to TFLite's int32 sums modulo 2^32). */
        const uint32_t lo = (uint32_t)lhs_offset;
        const uint32_t ro = (uint32_t)rhs_offset;
        for (int32_t b0 = 0; b0 < p->batch[0]; ++b0) {
            for (int32_t b1 = 0; b1 < p->batch[1]; ++b1) {
                for (int32_t b2 = 0; b2 < p->batch[2]; ++b2) {
                    const int8_t *l_mat = lhs + b0 * p->lhs_batch_stride[0] +
                                          b1 * p->lhs_batch_stride[1] +
                                          b2 * p->lhs_batch_stride[2];
                    const int8_t *r_mat = rhs + b0 * p->rhs_batch_stride[0] +
                                          b1 * p->rhs_batch_stride[1] +
                                          b2 * p->rhs_batch_stride[2];
                    for (int32_t i = 0; i < p->rows; ++i) {
                        const int8_t *l_row = l_mat + i * p->lhs_row_stride;
#if TC_ISA_DSP
                        const uint32_t l_sum = (uint32_t)tc_dsp_sum(l_row, p->depth);
#endif
                        int32_t j = 0;
#if TC_ISA_MVE
                        const uint32_t l_sum = (uint32_t)tc_mve_sum(l_row, p->depth);
                        const uint32_t constant = (uint32_t)p->depth * lo * ro;
                        for (; j + 4 <= p->cols; j += 4) {
                            const int8_t *r0 = r_mat + j * p->rhs_col_stride;
                            int32_t dots[4] = {0, 0, 0, 0};
                            (void)tc_mve_dot_1x4(l_row, r0, r0 + p->rhs_col_stride,
                                                 r0 + 2 * p->rhs_col_stride,
                                                 r0 + 3 * p->rhs_col_stride, p->depth, dots);
                            for (int32_t q = 0; q < 4; ++q) {
                                const uint32_t r_sum = (uint32_t)tc_mve_sum(
                                    r0 + q * p->rhs_col_stride, p->depth);
                                const uint32_t acc = (uint32_t)dots[q] + ro * l_sum +
                                                     lo * r_sum + constant;
                                *output++ = TC_FINISH(acc);
                            }
                        }
#endif
                        for (; j < p->cols; ++j) {
                            const int8_t *r_col = r_mat + j * p->rhs_col_stride;
                            /* sum r * (l + lo), then + ro * (sum l + depth * lo) */
                            const uint32_t acc = tc_spatial_dot_s8(r_col, l_row, p->depth,
                                                                   lhs_offset) +
                                                 ro * (l_sum + (uint32_t)p->depth * lo);
                            *output++ = TC_FINISH(acc);
                        }
                    }
                }
            }
        }
        return TC_OK;
    }
#endif
    TC_BATCH_MATMUL_LOOPS(int8_t, int8_t, uint32_t, TC_ACC, TC_FINISH);
#undef TC_ACC
#undef TC_FINISH
    return TC_OK;
}
