/*
 * TRANSPOSE, int8, any permutation of up to 5 dimensions: TFLite's
 * reference_ops::Transpose (tc_transpose_internal.h).
 */
#include "tc_transpose_internal.h"

tc_status tc_transpose_s8(const tc_transpose_params *params, const int8_t *input,
                          int8_t *output)
{
    return tc_transpose_elements(params, input, output, sizeof(int8_t));
}
