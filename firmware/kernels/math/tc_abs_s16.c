/*
 * tc_abs_s16: ABS on int16 (TFLite elementwise.cc: AbsEvalQuantized<int16_t>, and
 * AbsInt16EvalImpl for int16 without quantization). Zero points are 0 (LiteRT requires it):
 *   mode 0: out = (int16)|in|                     (no quantization: |-32768| wraps)
 *   mode 1: out = clamp(|in|, -32768, 32767)      (equal scales)
 *   mode 2: out = clamp(MBQM(|in|, multiplier, shift), -32768, 32767)
 */
#include "tc_nn_math.h"
#include "tc_nn_support.h"

tc_status tc_abs_s16(const tc_abs_params *params, int32_t size, const int16_t *input,
                     int16_t *output)
{
    if (params == NULL || input == NULL || output == NULL || size < 0 || params->mode < 0 ||
        params->mode > 2) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t mode = params->mode;
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v = input[i] < 0 ? -(int32_t)input[i] : input[i];
        if (mode == 0) {
            output[i] = (int16_t)(uint16_t)v;
        } else {
            const int32_t r = mode == 1 ? v : tc_requantize(v, params->multiplier, params->shift);
            output[i] = (int16_t)TC_CLAMP(r, -32768, 32767);
        }
    }
    return TC_OK;
}
