/*
 * TRANSPOSE, int16, any permutation of up to 5 dimensions: TFLite's
 * reference_ops::Transpose on 2-byte elements (tc_transpose_internal.h).
 */
#include "tc_transpose_internal.h"

tc_status tc_transpose_s16(const tc_transpose_params *params, const int16_t *input,
                           int16_t *output)
{
    return tc_transpose_elements(params, input, output, sizeof(int16_t));
}
