/*
 * L2_NORMALIZATION, int8: LiteRT's reference_integer_ops::L2Normalization. Per row of
 * `depth` values:
 *   acc = sum of (x - input_zp)^2                                           (int32)
 *   (M, S) = GetInvSqrtQuantizedMultiplierExp(acc, reverse_shift -1): 1/sqrt(acc) as a
 *            Q0.31 multiplier and a shift, by Newton-Raphson in Q3.28
 *   out = clamp(MultiplyByQuantizedMultiplier(x - input_zp, M, S + 7), -128, 127)
 * (output scale 1/128, zero point 0). acc <= 1 (an all-zero row) gives M = INT32_MAX,
 * S = 0, as in LiteRT. The input is read twice, the output written once per value after
 * the row's sum, so the output may overwrite the input.
 */
#include "tc_nn_reduce.h"
#include "tc_nn_support.h"
#include "tc_inv_sqrt_internal.h"

tc_status tc_l2_normalization_s8(int32_t input_offset, int32_t rows, int32_t depth,
                                 const int8_t *input, int8_t *output)
{
    if (input == NULL || output == NULL || rows < 0 || depth < 1) {
        TC_RETURN_ARG_ERROR();
    }
    for (int32_t r = 0; r < rows; ++r, input += depth, output += depth) {
        int32_t acc = 0;
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t v = input[c] + input_offset;
            acc += v * v;
        }
        int32_t multiplier, shift;
        tc_inv_sqrt_multiplier(acc, &multiplier, &shift);
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t y = tc_requantize(input[c] + input_offset, multiplier, shift + 7);
            output[c] = (int8_t)TC_CLAMP(y, INT8_MIN, INT8_MAX);
        }
    }
    return TC_OK;
}
