/*
 * Private to the comparison kernels (EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER,
 * GREATER_EQUAL; TFLite comparisons.cc): the comparison of two values, and the row of the
 * int16 / int32 kernels, which compare the stored integers without rescaling
 * (reference_ops::ComparisonImpl, BroadcastComparison4DSlowImpl).
 */
#ifndef TC_COMPARISON_INTERNAL_H
#define TC_COMPARISON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc_math_broadcast.h"
#include "tc_nn_support.h"

static inline bool tc_compare(int32_t op, int32_t x, int32_t y)
{
    switch (op) {
    case TC_CMP_EQUAL: return x == y;
    case TC_CMP_NOT_EQUAL: return x != y;
    case TC_CMP_LESS: return x < y;
    case TC_CMP_LESS_EQUAL: return x <= y;
    case TC_CMP_GREATER: return x > y;
    default: return x >= y;
    }
}

/* One broadcast run of `len` outputs on elements of `size` bytes (2 or 4, a constant in
 * each caller). */
static inline void tc_cmp_row_integers(const void *params, const void *const *in,
                                       const int32_t *step, void *out, int32_t len,
                                       size_t size)
{
    const int32_t op = ((const tc_comparison_params *)params)->op;
    bool *o = (bool *)out;
    const int32_t sa = step[0], sb = step[1];
    for (int32_t j = 0; j < len; ++j) {
        o[j] = tc_compare(op, tc_load_sized(in[0], j * sa, size),
                          tc_load_sized(in[1], j * sb, size));
    }
}

/* The int16 / int32 kernel: `row` is tc_cmp_row_integers for its element size. */
static inline tc_status tc_comparison_integers(const tc_comparison_params *params,
                                               tc_bc_row_fn row, const tc_nd_dims *input1_dims,
                                               const void *input1,
                                               const tc_nd_dims *input2_dims,
                                               const void *input2,
                                               const tc_nd_dims *output_dims, bool *output,
                                               size_t size)
{
    if (params == NULL || params->op < TC_CMP_EQUAL || params->op > TC_CMP_GREATER_EQUAL) {
        TC_RETURN_ARG_ERROR();
    }
    return tc_bc_walk2(params, row, input1_dims, input1, input2_dims, input2, (int32_t)size,
                       output_dims, output, 1);
}

#endif /* TC_COMPARISON_INTERNAL_H */
