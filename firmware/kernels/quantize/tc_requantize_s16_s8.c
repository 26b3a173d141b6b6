/*
 * QUANTIZE (int16_t -> int8_t): TFLite's reference_ops::Requantize (quantize.cc), see
 * tc_requantize_s16_internal.h. In place allowed when the element sizes match.
 */
#include "tc_requantize_s16_internal.h"

tc_status tc_requantize_s16_s8(const tc_requantize_params *params, int32_t size,
                           const int16_t *input, int8_t *output)
{
    if (params == NULL || input == NULL || output == NULL || size < 0) {
        TC_RETURN_ARG_ERROR();
    }
    const tc_requantize_params p = *params;
    TC_REQUANTIZE_LOOP(p, size, input, output, int8_t);
    return TC_OK;
}
