/*
 * tc_softmax_s8: TFLite's reference_ops::Softmax, int8 in, int8 out (zero point -128,
 * scale 1/256): out = round(256 * softmax) - 128. See tc_softmax_internal.h.
 */
#include "tc_softmax_internal.h"

tc_status tc_softmax_s8(const tc_softmax_params *params, int32_t num_rows, int32_t row_size,
                        const int8_t *input, int8_t *output)
{
    if (!tc_softmax_args_valid(params, num_rows, row_size, input, output)) {
        TC_RETURN_ARG_ERROR();
    }
    for (int32_t r = 0; r < num_rows; ++r) {
        tc_softmax_row(params, input + r * row_size, row_size, 8, output + r * row_size, NULL);
    }
    return TC_OK;
}
