/*
 * TRANSPOSE_CONV 16x8: int16 activations (zero point 0), int8 per-channel weights, int64
 * bias: TFLite's reference_integer_ops::TransposeConv<int64_t>, bit for bit (the walk:
 * tc_transpose_conv_internal.h).
 *
 *   acc[b, oy, ox, o] += sum_c in[b, y, x, c] * w[o, fy, fx, c]
 * into int64 accumulators (LiteRT's int64 scratch tensor), then
 *   out = clamp(requantize_s64(acc + bias[o], multiplier[o], shift[o]))
 * with TFLite's 64-bit MultiplyByQuantizedMultiplier (tc_requantize_s64); no output offset
 * (LiteRT's int16 kernel adds none: the zero points are 0).
 */
#include "tc_transpose_conv_internal.h"

static inline void tap_s16(const tc_conv_params *params, const void *input, const int8_t *w,
                           int32_t in_c, int32_t out_c, int32_t tap_stride, uint8_t *acc)
{
    (void)params;
    const int16_t *in = (const int16_t *)input;
    for (int32_t o = 0; o < out_c; ++o) {
        int64_t sum = 0;
        for (int32_t c = 0; c < in_c; ++c) {
            sum += (int32_t)in[c] * w[c];
        }
        uint8_t *slot = acc + (size_t)o * sizeof(int64_t);
        tc_store_s64(slot, tc_load_s64(slot) + sum);
        w += tap_stride;
    }
}

static inline void finish_s16(const tc_conv_params *params,
                              const tc_per_channel_quant_params *quant, const uint8_t *acc,
                              const void *bias, int32_t o, void *output, int32_t index)
{
    int64_t total = tc_load_s64(acc);
    if (bias != NULL) {
        total += tc_load_s64((const int64_t *)bias + o);
    }
    const int32_t scaled = tc_requantize_s64(total, quant->multiplier[o], quant->shift[o]);
    ((int16_t *)output)[index] =
        (int16_t)TC_CLAMP(scaled, params->activation.min, params->activation.max);
}

tc_status tc_transpose_conv_s16(const tc_context *ctx, const tc_conv_params *params,
                                const tc_per_channel_quant_params *quant,
                                const tc_dims *input_dims, const int16_t *input,
                                const tc_dims *filter_dims, const int8_t *filter,
                                const tc_dims *bias_dims, const int64_t *bias,
                                const tc_dims *output_dims, int16_t *output)
{
    (void)bias_dims;
    return tc_transpose_conv_walk(ctx, params, quant, input_dims, input, sizeof(int16_t),
                                  filter_dims, filter, bias, output_dims, output,
                                  sizeof(int64_t),
                                  tc_transpose_conv_s16_get_buffer_size(output_dims), tap_s16,
                                  finish_s16);
}
