/*
 * SOFTMAX, int16 in and out (zero points 0, output scale 2^-15): TFLite's
 * reference_ops::SoftmaxInt16, bit for bit. Per row:
 *   diff = tc_requantize(in - max, input_multiplier, input_left_shift) + 32767, saturated
 *          to int16 ([-65535, 0] of the input difference maps onto [-10, 0]);
 *   e    = lookup(diff, exp_lut)                   (Q0.15, LUT of 513 entries, below)
 *   sum  = sum(e) (int32), h = CLZ(sum), x = ((sum << (h - 1)) + 2^13) >> 14, recentred
 *          by -(2^15 + 2^16) and saturated;  r = lookup(x, one_over_one_plus_x_lut)
 *   out  = clamp((e * r + 2^(30 - h)) >> (31 - h), 0, 32767)
 * lookup: index 256 + (v >> 7), the low 7 bits interpolate between neighbours, rounded
 * (TFLite's generic_int16_table_lookup). The host builds both tables as LiteRT's Prepare
 * does (LUTPopulate in double) and passes them in flash.
 */
#include "tc_nn_elementwise.h"
#include "tc_nn_support.h"

static inline int16_t lookup(int32_t value, const int16_t *lut)
{
    const uint16_t index = (uint16_t)(256 + (value >> 7));
    const int16_t offset = (int16_t)(value & 0x7F);
    const int16_t base = lut[index];
    const int16_t slope = (int16_t)(lut[index + 1] - lut[index]);
    const int32_t delta = ((int32_t)slope * offset + 64) >> 7;
    return (int16_t)(base + delta);
}

static inline int32_t saturate16(int32_t v)
{
    return v < -32768 ? -32768 : (v > 32767 ? 32767 : v);
}

tc_status tc_softmax_s16(const tc_softmax_s16_params *params, int32_t num_rows,
                         int32_t row_size, const int16_t *input, int16_t *output)
{
    if (params == NULL || params->exp_lut == NULL || params->one_over_one_plus_x_lut == NULL ||
        num_rows < 0 || row_size < 1 || row_size > 65535) {
        TC_RETURN_ARG_ERROR();
    }
    for (int32_t r = 0; r < num_rows; ++r) {
        const int16_t *in = input + r * row_size;
        int16_t *out = output + r * row_size;
        int16_t max_in_row = INT16_MIN;
        for (int32_t j = 0; j < row_size; ++j) {
            max_in_row = in[j] > max_in_row ? in[j] : max_in_row;
        }
        /* The exps go to the output first (each in[j] is read before out[j] is written,
         * so the output may be the input's buffer), then are rescaled in place. */
        int32_t sum = 0;
        for (int32_t j = 0; j < row_size; ++j) {
            const int32_t scaled = tc_requantize(in[j] - max_in_row, params->input_multiplier,
                                                 params->input_left_shift);
            const int16_t e = lookup(saturate16(scaled + 32767), params->exp_lut);
            out[j] = e;
            sum += e;
        }
        const int32_t headroom_plus_one = __builtin_clz((uint32_t)sum);
        const int32_t shifted =
            (int32_t)((((int64_t)sum << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
        const int16_t reciprocal = lookup(saturate16(shifted - ((1 << 15) + (1 << 16))),
                                          params->one_over_one_plus_x_lut);
        const int32_t right_shift = 31 - headroom_plus_one;
        const int64_t round = (int64_t)1 << (right_shift - 1);
        for (int32_t j = 0; j < row_size; ++j) {
            const int32_t result = (int32_t)(((int64_t)out[j] * reciprocal + round) >> right_shift);
            out[j] = (int16_t)(result < 0 ? 0 : (result > 32767 ? 32767 : result));
        }
    }
    return TC_OK;
}
