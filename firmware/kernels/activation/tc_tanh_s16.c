/*
 * TANH, int16 (zero points 0, output scale 2^-15): TFLite's reference_integer_ops::Tanh
 * for int16, bit for bit, from the sigmoid table (tanh(x) = 2 sigmoid(2x) - 1):
 *   d = (in * input_multiplier + round) >> input_left_shift
 *   |d| >> 8 indexes tc_sigmoid_table_uint16, the low 8 bits interpolate; the result is
 *   recentred, mirrored for negative d and rounded to Q0.15.
 */
#include "tc_nn_elementwise.h"
#include "tc_sigmoid_table_s16.h"

tc_status tc_tanh_s16(const tc_sigmoid_s16_params *params, int32_t size,
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
        const uint32_t uh = a >> 8;
        int32_t result;
        if (uh >= 255) {
            result = 0xFFFF << 8;
        } else {
            const uint32_t ua = tc_sigmoid_table_uint16[uh], ub = tc_sigmoid_table_uint16[uh + 1];
            result = (int32_t)((ua << 8) + (a & 0xFFu) * (ub - ua));
        }
        result = d >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;
        output[i] = (int16_t)(result >> 8);
    }
    return TC_OK;
}
