/*
 * tc_softmax_s8_s16: TFLite's reference_ops::Softmax, int8 in, int16 out:
 * out = round(65536 * softmax) - 32768 (zero point -32768, scale 1/65536).
 */
#include "tc_softmax_internal.h"

tc_status tc_softmax_s8_s16(const tc_softmax_params *params, int32_t num_rows,
                            int32_t row_size, const int8_t *input, int16_t *output)
{
    if (!tc_softmax_args_valid(params, num_rows, row_size, input, output)) {
        TC_RETURN_ARG_ERROR();
    }
    for (int32_t r = 0; r < num_rows; ++r) {
        tc_softmax_row(params, input + r * row_size, row_size, 16, NULL, output + r * row_size);
    }
    return TC_OK;
}
