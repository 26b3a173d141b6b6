/*
 * LOGISTIC, int16 (zero points 0, output scale 2^-15): TFLite's reference_integer_ops::
 * Logistic for int16, bit for bit:
 *   d = (in * input_multiplier + round) >> input_left_shift     (input in units of 1/3/4096)
 *   |d| >> 9 indexes tc_sigmoid_table_uint16, the low 9 bits interpolate linearly;
 *   negative d mirrors (sigmoid(-x) = 1 - sigmoid(x)); the Q0.25 result is rounded to Q0.15.
 */
#include "tc_nn_elementwise.h"
#include "tc_sigmoid_table_s16.h"

tc_status tc_logistic_s16(const tc_sigmoid_s16_params *params, int32_t size,
                          const int16_t *input, int16_t *output)
{
    if (params == NULL || input == NULL || output == NULL || size < 0 ||
        params->input_left_shift < 0 || params->input_left_shift > 31) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t multiplier = params->input_multiplier, shift = params->input_left_shift;
    const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    for (int32_t i = 0; i < size; ++i) {
        const int32_t d = (int32_t)(((int64_t)input[i] * multiplier + round) >> shift);
        const uint32_t a = d < 0 ? 0u - (uint32_t)d : (uint32_t)d;
        const uint32_t uh = a >> 9;
        uint32_t result;
        if (uh >= 255) {
            result = 0x7FFFu << 10;
        } else {
            const uint32_t ua = tc_sigmoid_table_uint16[uh], ub = tc_sigmoid_table_uint16[uh + 1];
            result = (ua << 9) + (a & 0x1FFu) * (ub - ua);
        }
        result = d >= 0 ? result + (1u << 9) : (1u << 25) - result + (1u << 9) - 1u;
        output[i] = (int16_t)(result >> 10);
    }
    return TC_OK;
}
