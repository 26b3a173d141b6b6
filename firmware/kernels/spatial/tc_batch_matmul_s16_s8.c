/*
 * BATCH_MATMUL, int16 LHS x int8 RHS: TFLite's
 * reference_ops::BatchMatMul<int8_t, int64_t, int16_t, int16_t>, the arithmetic of
 * tc_batch_matmul_s16 with int8 RHS elements.
 */
#include "tc_spatial_internal.h"

tc_status tc_batch_matmul_s16_s8(const tc_batch_matmul_params *params, const int16_t *lhs,
                                 const int8_t *rhs, int16_t *output)
{
    const tc_batch_matmul_params *p = params;
    const int32_t lhs_offset = p->lhs_offset;
    const int32_t rhs_offset = p->rhs_offset;
#define TC_ACC(acc, l, r) (acc) += (int64_t)((l) + lhs_offset) * ((r) + rhs_offset)
#define TC_FINISH(acc)                                                                   \
    (int16_t)TC_CLAMP(tc_requantize_s64((acc), p->quant.multiplier, p->quant.shift) +      \
                          p->output_offset,                                                \
                      p->activation.min, p->activation.max)
    TC_BATCH_MATMUL_LOOPS(int16_t, int8_t, int64_t, TC_ACC, TC_FINISH);
#undef TC_ACC
#undef TC_FINISH
    return TC_OK;
}
